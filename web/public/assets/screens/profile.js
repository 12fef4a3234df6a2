import { useState } from '../vendor/hooks.js';
import { html, Confirm, Field, ErrorBox, useNotify } from '../ui.js';
import { s, roles, permissions, visibility, statuses } from '../strings.js';
import { signOutEverywhere, changePassword, setUpMfa, turnOnMfa, turnOffMfa } from '../api.js';
import { generate } from '../vendor/qr.js';
import { signIn, signOut } from '../session.js';

/** Changing the password ends every session, this one too: it signs in again with the new one
 * once past the sign-out's second (a token from that second is refused). */
function PasswordCard({ me }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const notify = useNotify();
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      await changePassword({ currentPassword: current, newPassword: next });
      await new Promise((r) => setTimeout(r, 1100));
      // With two-step verification on, the new sign-in needs a code: the sign-in page asks.
      if (await signIn(me.email, next)) { await signOut('passwordChanged'); return; }
      setCurrent(''); setNext('');
      notify(s.profile.changed);
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fieldErrors = (name) => (error && error.field ? error.field(name) : []);
  const other = error && !fieldErrors('currentPassword').length && !fieldErrors('newPassword').length;
  return html`<form class="card" onSubmit=${submit} aria-labelledby="password-title">
    <h2 id="password-title">${s.profile.password}</h2>
    ${other && html`<${ErrorBox} error=${error} />`}
    <${Field} label=${s.profile.current} errors=${fieldErrors('currentPassword')}>${(a) => html`<input ...${a} type="password" autocomplete="current-password" required value=${current} onInput=${(e) => setCurrent(e.target.value)} />`}<//>
    <${Field} label=${s.profile.next} hint=${s.profile.nextHint} errors=${fieldErrors('newPassword')}>${(a) => html`<input ...${a} type="password" autocomplete="new-password" required value=${next} onInput=${(e) => setNext(e.target.value)} />`}<//>
    <div class="actions"><button type="submit" class="primary" disabled=${busy}>${busy ? s.profile.changing : s.profile.change}</button></div>
  </form>`;
}

/** The key URI as a QR code an authenticator app scans: dark modules as one SVG path, with
 * the 4-module quiet zone the standard asks for. */
function QrCode({ text }) {
  const code = generate(text);
  let d = '';
  for (let y = 0; y < code.size; y++) for (let x = 0; x < code.size; x++) if (code.get(x, y)) d += `M${x + 4} ${y + 4}h1v1h-1z`;
  const n = code.size + 8;
  return html`<svg class="qr" viewBox=${`0 0 ${n} ${n}`} role="img" aria-label=${s.mfa.qrLabel} shape-rendering="crispEdges">
    <rect width=${n} height=${n} fill="#fff" /><path d=${d} fill="#000" /></svg>`;
}

const fieldErrors = (error, name) => (error && error.field ? error.field(name) : []);

/** Two-step verification: set up with a QR code and a first code; off with the password and
 * a current code. The API reads Cognito back, so what this shows is what Cognito enforces. */
function MfaCard({ me }) {
  const [on, setOn] = useState(me.mfa);
  const [step, setStep] = useState(null); // null | { secret, uri } | 'off'
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const notify = useNotify();
  const run = (fn) => async (e) => {
    if (e) e.preventDefault();
    setBusy(true); setError(null);
    try { await fn(); } catch (err) { setError(err); }
    setBusy(false);
  };
  const begin = run(async () => { const r = await setUpMfa(); setStep({ secret: r.secretCode, uri: r.otpauthUri }); setCode(''); });
  const finish = run(async () => { const u = await turnOnMfa({ code }); setOn(u.mfa); setStep(null); notify(u.mfa ? s.mfa.turnedOn : s.mfa.notOn); });
  const off = run(async () => { const u = await turnOffMfa({ password, code }); setOn(u.mfa); setStep(null); setPassword(''); notify(s.mfa.turnedOff); });
  const cancel = () => { setStep(null); setError(null); setCode(''); setPassword(''); };
  const other = error && !fieldErrors(error, 'code').length && !fieldErrors(error, 'password').length;
  const codeField = html`<${Field} label=${s.code.label} errors=${fieldErrors(error, 'code')}>${(a) => html`<input ...${a} class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required value=${code} onInput=${(e) => setCode(e.target.value)} />`}<//>`;
  return html`<div class="card" id="mfa" aria-labelledby="mfa-title">
    <h2 id="mfa-title">${s.mfa.title} <span class=${`badge ${on ? 'active' : 'muted'}`}>${on ? s.mfa.on : s.mfa.off}</span></h2>
    <p class="hint">${on ? s.mfa.onHint : s.mfa.offHint}</p>
    ${other && html`<${ErrorBox} error=${error} />`}
    ${step === null && html`<div class="actions">${on
      ? html`<button type="button" onClick=${() => { setStep('off'); setCode(''); }}>${s.mfa.turnOff}</button>`
      : html`<button type="button" class="primary" disabled=${busy} onClick=${() => begin()}>${s.mfa.setUp}</button>`}</div>`}
    ${step && step !== 'off' && html`<form onSubmit=${finish}>
      <ol class="steps">
        <li>${s.mfa.scan}</li>
        <li>${s.mfa.enter}</li>
      </ol>
      <div class="qr-box"><${QrCode} text=${step.uri} />
        <p class="hint">${s.mfa.cantScan}<br /><code class="secret">${step.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p></div>
      ${codeField}
      <div class="actions"><button type="submit" class="primary" disabled=${busy}>${s.mfa.turnOn}</button><button type="button" onClick=${cancel}>${s.dialog.cancel}</button></div>
    </form>`}
    ${step === 'off' && html`<form onSubmit=${off}>
      <p>${s.mfa.offIntro}</p>
      <${Field} label=${s.mfa.password} errors=${fieldErrors(error, 'password')}>${(a) => html`<input ...${a} type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} />`}<//>
      ${codeField}
      <div class="actions"><button type="submit" class="danger" disabled=${busy}>${s.mfa.turnOff}</button><button type="button" onClick=${cancel}>${s.dialog.cancel}</button></div>
    </form>`}
  </div>`;
}

export function Profile({ me }) {
  const [confirm, setConfirm] = useState(false);
  // Every session ends, this one too: the server has revoked them all, so this browser only
  // forgets its tokens and shows the sign-in page saying why.
  const everywhere = async () => { await signOutEverywhere(); await signOut('signedOutEverywhere'); };
  return html`<section class="page">
    <h1>${s.profile.title}</h1>
    <div class="card">
      <h2>${me.name}</h2>
      <dl class="facts">
        <dt>${s.profile.email}</dt><dd>${me.email}</dd>
        <dt>${s.profile.role}</dt><dd>${roles[me.role].label} — ${roles[me.role].can}</dd>
        <dt>${s.profile.team}</dt><dd>${me.team || s.profile.noTeam}</dd>
        <dt>${s.profile.status}</dt><dd>${statuses[me.status]}</dd>
        <dt>${s.profile.sees}</dt><dd>${visibility[me.visibility]}</dd>
      </dl>
      <h3>${s.profile.permissions}</h3>
      <ul class="checks">${me.permissions.map((p) => html`<li key=${p}>${permissions[p] || p}</li>`)}</ul>
    </div>
    <${PasswordCard} me=${me} />
    <${MfaCard} me=${me} />
    <div class="card">
      <h2>${s.profile.sessions}</h2>
      <p class="hint">${s.profile.sessionsHint}</p>
      <div class="actions"><button type="button" onClick=${() => setConfirm(true)}>${s.profile.signOutEverywhere}</button></div>
    </div>
    ${confirm && html`<${Confirm} title=${s.profile.signOutTitle} body=${s.profile.signOutBody} confirm=${s.profile.signOutEverywhere} onConfirm=${everywhere} onClose=${() => setConfirm(false)} />`}
  </section>`;
}
