import { html, Link } from '../ui.js';
import { s, roles } from '../strings.js';

export function Home({ me }) {
  return html`<section class="page">
    <h1>${s.home.welcome(me.name)}</h1>
    <p>${s.home.role(roles[me.role].label)} ${roles[me.role].can}</p>
    <ul class="tiles">
      <li><${Link} href="/settings/company/users">${s.home.usersLink}<//></li>
      <li><${Link} href="/profile">${s.home.profileLink}<//></li>
      ${me.permissions.includes('audit.read') && html`<li><${Link} href="/settings/audit">${s.home.auditLink}<//></li>`}
    </ul>
  </section>`;
}
