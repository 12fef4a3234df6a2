import { useState } from '../vendor/hooks.js';
import { html, Confirm, Field, ErrorBox, useNotify } from '../ui.js';
import { s, roles, permissions, visibility, statuses } from '../strings.js';
import { signOutEverywhere, changePassword } from '../api.js';
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
      await signIn(me.email, next);
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
    <div class="card">
      <h2>${s.profile.sessions}</h2>
      <p class="hint">${s.profile.sessionsHint}</p>
      <div class="actions"><button type="button" onClick=${() => setConfirm(true)}>${s.profile.signOutEverywhere}</button></div>
    </div>
    ${confirm && html`<${Confirm} title=${s.profile.signOutTitle} body=${s.profile.signOutBody} confirm=${s.profile.signOutEverywhere} onConfirm=${everywhere} onClose=${() => setConfirm(false)} />`}
  </section>`;
}
