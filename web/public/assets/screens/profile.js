import { useState } from '../vendor/hooks.js';
import { html, Confirm } from '../ui.js';
import { s, roles, permissions, visibility, statuses } from '../strings.js';
import { signOutEverywhere } from '../api.js';
import { signOut } from '../session.js';

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
    <div class="card">
      <h2>${s.profile.sessions}</h2>
      <p class="hint">${s.profile.sessionsHint}</p>
      <div class="actions"><button type="button" onClick=${() => setConfirm(true)}>${s.profile.signOutEverywhere}</button></div>
    </div>
    ${confirm && html`<${Confirm} title=${s.profile.signOutTitle} body=${s.profile.signOutBody} confirm=${s.profile.signOutEverywhere} onConfirm=${everywhere} onClose=${() => setConfirm(false)} />`}
  </section>`;
}
