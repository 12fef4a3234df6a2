import { useEffect, useState, useRef } from '../vendor/hooks.js';
import { html, Field, ErrorBox, Link } from '../ui.js';
import { s, roles, fmt } from '../strings.js';
import { signIn } from '../session.js';
import { previewInvite, acceptInvite } from '../api.js';

// The checks behind each rule id the API names in `passwordPolicy.rules`.
const checks = {
  minLength: (pw, p) => [...pw].length >= p.minLength,
  maxLength: (pw, p) => [...pw].length <= (p.maxLength || 256),
  lowercase: (pw) => /[a-z]/.test(pw),
  uppercase: (pw) => /[A-Z]/.test(pw),
  digit: (pw) => /[0-9]/.test(pw),
  symbol: (pw) => /[!-/:-@[-`{-~]/.test(pw),
  noEdgeSpace: (pw) => !/^\s|\s$/.test(pw),
};
// A hint reads as a requirement ("at least 12 characters"), not as a refusal.
const hint = (rule, message) => s.accept.ruleHints[rule] || message.replace(/^must (be |contain )?/, '').replace(/^./, (c) => c.toUpperCase());

/** Reads the token from the fragment once and removes it from the address bar and history. */
function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  if (location.hash) history.replaceState(null, '', location.pathname);
  return token;
}

export function Accept({ onJoined }) {
  const token = useRef(null);
  if (token.current === null) token.current = takeToken();
  const [invite, setInvite] = useState(null);
  const [state, setState] = useState('loading'); // loading | ready | unusable | unavailable
  const [password, setPassword] = useState('');
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [pwErrors, setPwErrors] = useState([]);

  const load = () => {
    setState('loading');
    if (!token.current) { setState('unusable'); return; }
    previewInvite({ token: token.current })
      .then((p) => { setInvite(p); setState('ready'); },
        (e) => setState(e.status === 0 || e.status >= 500 ? 'unavailable' : 'unusable'));
  };
  useEffect(load, []);

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

  const policy = invite.passwordPolicy;
  const rules = (policy.rules || []).filter((r) => r.rule !== 'maxLength' || [...password].length > 200);
  const ok = (policy.rules || []).every((r) => !checks[r.rule] || checks[r.rule](password, policy));

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
        const done = await acceptInvite({ token: token.current, password }, { idempotencyKey });
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
      <${Field} label=${s.accept.password} errors=${pwErrors}>${(a) => html`<div class="with-button">
        <input ...${a} type=${show ? 'text' : 'password'} autocomplete="new-password" required value=${password}
          aria-describedby=${[a['aria-describedby'], 'pw-hints'].filter(Boolean).join(' ')}
          onInput=${(e) => { setPassword(e.target.value); setPwErrors([]); }} />
        <button type="button" class="ghost" aria-pressed=${show} onClick=${() => setShow(!show)}>${show ? s.accept.hide : s.accept.show}</button>
      </div>`}<//>
      <div id="pw-hints" class="hints" aria-live="polite">
        <span class="visually-hidden">${s.accept.hintsTitle}:</span>
        <ul>${rules.map((r) => {
          const met = checks[r.rule] ? checks[r.rule](password, policy) : true;
          return html`<li key=${r.rule} class=${met ? 'met' : 'unmet'} data-rule=${r.rule}>
            <span aria-hidden="true">${met ? '✓' : '○'}</span> ${hint(r.rule, r.message)}<span class="visually-hidden">${met ? ' — done' : ' — not yet'}</span>
          </li>`;
        })}</ul>
      </div>
      <button class="primary wide" type="submit" disabled=${busy || !ok} aria-disabled=${!ok}>${busy ? s.accept.busy : s.accept.submit}</button>
    </form>
  </main>`;
}
