import { useState } from '../vendor/hooks.js';
import { html, Field, ErrorBox } from '../ui.js';
import { s, fmt } from '../strings.js';
import { signIn, answerCode } from '../session.js';
import { requestPasswordReset } from '../api.js';

function reasonText(reason) {
  if (!reason) return null;
  if (reason === 'expired') return s.signIn.expired;
  if (reason === 'signedOut') return s.signIn.signedOut;
  if (reason === 'signedOutByAdmin') return s.signIn.signedOutByAdmin;
  if (reason === 'signedOutEverywhere') return s.signIn.signedOutEverywhere;
  if (reason === 'passwordSet') return s.signIn.passwordSet;
  if (reason === 'passwordChanged') return s.signIn.passwordChanged;
  if (reason.status === 0) return s.signIn.unreachable;
  return reason.body?.detail || s.signIn.expired;
}

function signInError(e) {
  if (e.status === 0) return s.signIn.unreachable;
  if (/disabled/i.test(e.message)) return s.signIn.disabled;
  if (e.code === 'TooManyRequestsException' || e.code === 'LimitExceededException') return s.signIn.tooMany;
  return s.signIn.wrong;
}

/** The sign-in page, and its "Forgot password?" form (`?forgot=1` opens it). */
export function SignIn({ reason, onSignedIn, email: given = '', forgot: startForgot = false }) {
  const [email, setEmail] = useState(given);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [forgot, setForgot] = useState(startForgot);
  const [challenge, setChallenge] = useState(null);
  if (challenge) return html`<${CodeStep} challenge=${challenge} onSignedIn=${onSignedIn} onBack=${() => { setChallenge(null); setPassword(''); setBusy(false); }} />`;
  if (forgot) return html`<${Forgot} email=${email} onBack=${(typed) => { setEmail(typed); setForgot(false); }} />`;
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const asked = await signIn(email, password);
      if (asked) setChallenge(asked); else onSignedIn();
    } catch (err) { setError(signInError(err)); setBusy(false); }
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
      <p class="below"><button type="button" class="link" onClick=${() => setForgot(true)}>${s.signIn.forgot}</button></p>
    </form>
  </main>`;
}

/** "Forgot password?": one address in, the same words out whoever it belongs to (rule 13). */
function Forgot({ email: given, onBack }) {
  const [email, setEmail] = useState(given);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      await requestPasswordReset({ email: email.trim(), timeZone: fmt.zone() }, { idempotencyKey: crypto.randomUUID() });
      setSent(email.trim());
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  if (sent) {
    return html`<main class="center" id="main"><div class="card narrow" aria-labelledby="forgot-title">
      <h1 id="forgot-title">${s.forgot.sentTitle}</h1>
      <p role="status">${s.forgot.sent(sent)}</p>
      <p class="hint">${s.forgot.spam}</p>
      <p><button type="button" class="link" onClick=${() => onBack(sent)}>${s.forgot.back}</button></p>
    </div></main>`;
  }
  return html`<main class="center" id="main">
    <form class="card narrow" onSubmit=${submit} aria-labelledby="forgot-title">
      <h1 id="forgot-title">${s.forgot.title}</h1>
      <p>${s.forgot.intro}</p>
      <${ErrorBox} error=${error} />
      <${Field} label=${s.forgot.email} errors=${error?.field ? error.field('email') : []}>${(a) => html`<input ...${a} type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} />`}<//>
      <button class="primary wide" type="submit" disabled=${busy}>${busy ? s.forgot.busy : s.forgot.submit}</button>
      <p class="below"><button type="button" class="link" onClick=${() => onBack(email)}>${s.forgot.back}</button></p>
    </form>
  </main>`;
}

function codeError(e) {
  if (e.status === 0) return s.signIn.unreachable;
  if (e.code === 'CodeMismatchException' || e.code === 'ExpiredCodeException') return s.code.wrong;
  if (e.code === 'TooManyRequestsException' || e.code === 'LimitExceededException' || e.code === 'TooManyFailedAttemptsException') return s.code.tooMany;
  // Cognito refuses the sign-in's session once it is too old or used up: start again.
  if (e.code === 'NotAuthorizedException') return s.code.expired;
  return s.signIn.wrong;
}

/** The second step, when the account has two-step verification on. */
function CodeStep({ challenge, onSignedIn, onBack }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try { await answerCode(challenge, code); onSignedIn(); } catch (err) { setError(codeError(err)); setCode(''); setBusy(false); }
  };
  return html`<main class="center" id="main">
    <form class="card narrow" onSubmit=${submit} aria-labelledby="code-title">
      <h1 id="code-title">${s.code.title}</h1>
      <p>${s.code.intro(challenge.username)}</p>
      <${ErrorBox}>${error}<//>
      <${Field} label=${s.code.label}>${(a) => html`<input ...${a} class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus value=${code} onInput=${(e) => setCode(e.target.value)} />`}<//>
      <button class="primary wide" type="submit" disabled=${busy}>${busy ? s.signIn.busy : s.code.submit}</button>
      <p class="below"><button type="button" class="link" onClick=${onBack}>${s.code.back}</button></p>
    </form>
  </main>`;
}
