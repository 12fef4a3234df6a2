import { useState } from '../vendor/hooks.js';
import { html, ErrorBox, Link } from '../ui.js';
import { s, roles, fmt } from '../strings.js';
import { signIn } from '../session.js';
import { previewInvite, acceptInvite } from '../api.js';
import { useLinkPreview, meets, NewPassword } from './password.js';

export function Accept({ onJoined }) {
  const { token, found: invite, state, setState, load } = useLinkPreview(previewInvite);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [pwErrors, setPwErrors] = useState([]);

  if (state === 'loading') return html`<main class="center" id="main"><p class="boot">${s.loading}</p></main>`;
  if (state === 'unavailable') {
    return html`<main class="center" id="main"><div class="card narrow">
      <h1>${s.accept.unusableTitle.replace('can’t', 'couldn’t')}</h1>
      <p>${s.errors.unavailable}</p>
      <button class="primary" type="button" onClick=${load}>${s.accept.retry}</button>
    </div></main>`;
  }
  if (state === 'unusable') {
    return html`<main class="center" id="main"><div class="card narrow">
      <h1>${s.accept.unusableTitle}</h1>
      <p>${s.accept.unusable}</p>
      <p><${Link} href="/">${s.accept.goSignIn}<//></p>
    </div></main>`;
  }

  const ok = meets(invite.passwordPolicy, password);

  const submit = async (e) => {
    e.preventDefault();
    if (!ok || busy) return;
    setBusy(true); setError(null); setPwErrors([]);
    let waited = false;
    // One key for this click, kept across its retries: a retry of an accept that went through
    // answers its first success instead of "link already used".
    const idempotencyKey = crypto.randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        const done = await acceptInvite({ token, password }, { idempotencyKey });
        await signIn(done.signIn.username, password);
        onJoined();
        return;
      } catch (err) {
        if (err.type === 'accept-in-progress' && attempt < 5) {
          // Another click or tab is accepting this link; wait, then look again.
          waited = true;
          setError(s.accept.inProgress);
          await new Promise((r) => setTimeout(r, (err.body.retryAfter || 2) * 1000));
          continue;
        }
        if (err.status === 404 || err.type === 'invite-link-invalid') {
          // If it was our own second click that finished the accept, the password works.
          if (waited && await signIn(invite.email, password).then(() => true, () => false)) { onJoined(); return; }
          setState('unusable');
          return;
        }
        if (err.field('password').length) setPwErrors(err.field('password'));
        else setError(err);
        setBusy(false);
        return;
      }
    }
  };

  const role = roles[invite.role];
  return html`<main class="center" id="main">
    <form class="card narrow" onSubmit=${submit} aria-labelledby="accept-title">
      <h1 id="accept-title">${s.accept.title(invite.companyName)}</h1>
      <p>${s.accept.invitedBy(invite.invitedBy?.name, invite.companyName)}</p>
      <dl class="facts">
        <dt>${s.accept.email}</dt><dd>${invite.email}</dd>
        <dt>${s.accept.as}</dt><dd><strong>${role.label}</strong> — ${role.can}</dd>
        ${invite.team && html`<dt>${s.accept.team}</dt><dd>${invite.team}</dd>`}
        <dt>${s.accept.expires}</dt><dd>${fmt.dateTime(invite.expiresAt)} (${fmt.zone()})</dd>
      </dl>
      ${typeof error === 'string' ? html`<p class="info" role="status">${error}</p>` : html`<${ErrorBox} error=${error} />`}
      <input type="email" name="username" autocomplete="username" value=${invite.email} hidden readonly />
      <${NewPassword} label=${s.accept.password} policy=${invite.passwordPolicy} value=${password} errors=${pwErrors}
        onInput=${(v) => { setPassword(v); setPwErrors([]); }} />
      <button class="primary wide" type="submit" disabled=${busy || !ok} aria-disabled=${!ok}>${busy ? s.accept.busy : s.accept.submit}</button>
    </form>
  </main>`;
}
