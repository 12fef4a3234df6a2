import { useState } from '../vendor/hooks.js';
import { html, Field, ErrorBox } from '../ui.js';
import { s } from '../strings.js';
import { signIn } from '../session.js';

function reasonText(reason) {
  if (!reason) return null;
  if (reason === 'expired') return s.signIn.expired;
  if (reason === 'signedOut') return s.signIn.signedOut;
  if (reason === 'signedOutByAdmin') return s.signIn.signedOutByAdmin;
  if (reason === 'signedOutEverywhere') return s.signIn.signedOutEverywhere;
  if (reason.status === 0) return s.signIn.unreachable;
  return reason.body?.detail || s.signIn.expired;
}

function signInError(e) {
  if (e.status === 0) return s.signIn.unreachable;
  if (/disabled/i.test(e.message)) return s.signIn.disabled;
  if (e.code === 'TooManyRequestsException' || e.code === 'LimitExceededException') return s.signIn.tooMany;
  return s.signIn.wrong;
}

export function SignIn({ reason, onSignedIn }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try { await signIn(email, password); onSignedIn(); } catch (err) { setError(signInError(err)); setBusy(false); }
  };
  const why = reasonText(reason);
  return html`<main class="center" id="main">
    <form class="card narrow" onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">${s.signIn.title}</h1>
      ${why && html`<p class="info" role="status">${why}</p>`}
      <${ErrorBox}>${error}<//>
      <${Field} label=${s.signIn.email}>${(a) => html`<input ...${a} type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} />`}<//>
      <${Field} label=${s.signIn.password}>${(a) => html`<input ...${a} type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} />`}<//>
      <button class="primary wide" type="submit" disabled=${busy}>${busy ? s.signIn.busy : s.signIn.submit}</button>
    </form>
  </main>`;
}
