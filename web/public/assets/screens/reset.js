// The reset page (`/reset#token=…`, from the reset email): whose account the link opens, a new
// password with the rules shown live, then the sign-in page with the address filled. It never
// signs in with the password itself: the sign-in page is the one place that handles what a
// sign-in may ask next (docs/rules.md, rule 13).
import { useState } from '../vendor/hooks.js';
import { html, ErrorBox, Link } from '../ui.js';
import { s, fmt } from '../strings.js';
import { previewPasswordReset, confirmPasswordReset } from '../api.js';
import { useLinkPreview, meets, NewPassword } from './password.js';

export function Reset({ onDone }) {
  const { token, found: account, state, setState, load } = useLinkPreview(previewPasswordReset);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [pwErrors, setPwErrors] = useState([]);

  const card = (title, body, action) => html`<main class="center" id="main"><div class="card narrow">
    <h1>${title}</h1><p>${body}</p>${action}
  </div></main>`;
  if (state === 'loading') return html`<main class="center" id="main"><p class="boot">${s.loading}</p></main>`;
  if (state === 'unavailable') {
    return card(s.reset.unavailableTitle, s.errors.unavailable,
      html`<button class="primary" type="button" onClick=${load}>${s.accept.retry}</button>`);
  }
  if (state === 'used') return card(s.reset.usedTitle, s.reset.used, html`<p><${Link} href="/">${s.reset.goSignIn}<//></p>`);
  if (state === 'unusable') return card(s.reset.unusableTitle, s.reset.unusable, html`<p><${Link} href="/?forgot=1">${s.reset.askAgain}<//></p>`);

  const ok = meets(account.passwordPolicy, password);
  const submit = async (e) => {
    e.preventDefault();
    if (!ok || busy) return;
    setBusy(true); setError(null); setPwErrors([]);
    // One key for this click and its retries: a retry of a reset that went through answers
    // its first success instead of "link already used".
    const idempotencyKey = crypto.randomUUID();
    try {
      const done = await confirmPasswordReset({ token, password }, { idempotencyKey });
      // Every session is refused up to the end of the reset's second (Cognito stamps tokens in
      // whole seconds), so the sign-in page opens past it and a quick sign-in is not refused.
      await new Promise((r) => setTimeout(r, 1100));
      onDone(done.signIn.username);
    } catch (err) {
      if (err.type === 'reset-link-used') { setState('used'); return; }
      if (err.status === 404) { setState('unusable'); return; }
      if (err.field('password').length) setPwErrors(err.field('password'));
      else setError(err);
      setBusy(false);
    }
  };

  return html`<main class="center" id="main">
    <form class="card narrow" onSubmit=${submit} aria-labelledby="reset-title">
      <h1 id="reset-title">${s.reset.title}</h1>
      <p>${s.reset.intro(account.companyName)}</p>
      <dl class="facts">
        <dt>${s.reset.account}</dt><dd>${account.email}</dd>
        <dt>${s.accept.expires}</dt><dd>${fmt.dateTime(account.expiresAt)} (${fmt.zone()})</dd>
      </dl>
      <${ErrorBox} error=${error} />
      <input type="email" name="username" autocomplete="username" value=${account.email} hidden readonly />
      <${NewPassword} label=${s.reset.password} policy=${account.passwordPolicy} value=${password} errors=${pwErrors}
        onInput=${(v) => { setPassword(v); setPwErrors([]); }} />
      <p class="hint">${s.reset.sessionsEnd}</p>
      <button class="primary wide" type="submit" disabled=${busy || !ok} aria-disabled=${!ok}>${busy ? s.reset.busy : s.reset.submit}</button>
    </form>
  </main>`;
}
