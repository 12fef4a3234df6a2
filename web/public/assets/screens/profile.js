import { html } from '../ui.js';
import { s, roles, permissions, visibility, statuses } from '../strings.js';

export function Profile({ me }) {
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
  </section>`;
}
