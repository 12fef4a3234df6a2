import { useEffect, useRef, useState } from '../vendor/hooks.js';
import { html, Dialog, Confirm, Field, ErrorBox, StatusBadge, useNotify } from '../ui.js';
import { s, fmt } from '../strings.js';
import { listIntegrations, createIntegration, revokeIntegration } from '../api.js';
import { scimBaseUrl } from '../session.js';

const t = s.integrations;
const by = (at, p) => t.by(fmt.date(at), p.name || p.id);

/** Settings › Integrations (admins): tokens for the company's own systems (events) and its identity provider (SCIM). */
export function Integrations({ query }) {
  // Directory sync's "Connect a provider" opens the dialog with only its scope ticked.
  const only = query?.get('new');
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [acting, setActing] = useState(only ? 1 : null); // 1: making a token; else the token to revoke
  const [made, setMade] = useState(null); // the new token: its text is shown this once
  const notify = useNotify();
  const field = useRef(null);
  const load = () => listIntegrations().then((d) => setList(d.integrations), setError);
  useEffect(() => { load(); }, []);
  useEffect(() => { if (made) field.current.select(); }, [made]);
  const close = () => { setActing(null); setMade(null); setError(null); };
  const create = async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    f.go.disabled = true; // a click makes a token: no second one
    const scopes = Object.keys(t.scope).filter((k) => f[k].checked);
    if (!scopes.length) { f[Object.keys(t.scope)[0]].setCustomValidity(t.pickOne); f[Object.keys(t.scope)[0]].reportValidity(); f.go.disabled = false; return; }
    try { setMade(await createIntegration({ name: f.n.value, scopes })); load(); } catch (err) { setError(err); f.go.disabled = false; }
  };
  const errs = error?.field?.('name') || [];
  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span aria-current="page">${s.nav.integrations}</span></nav>
    <div class="page-head"><h1>${s.nav.integrations}</h1><button type="button" class="primary" onClick=${() => setActing(1)}>${t.create}</button></div>
    <p>${t.intro}</p>
    ${!list && !error && html`<p class="boot">${s.loading}</p>`}
    <${ErrorBox} error=${!acting && error} />
    ${list && (list.length ? html`<div class="table-wrap"><table class="tokens">
      <thead><tr>${t.cols.map((c) => html`<th scope="col">${c}</th>`)}<th><span class="visually-hidden">${s.users.cols.actions}</span></th></tr></thead>
      <tbody>${list.map((i) => html`<tr key=${i.id} class=${i.status}>
        <th scope="row">${i.name}</th>
        <td>${i.scopes.map((x) => t.scope[x] || x).join(', ')}</td>
        <td data-label=${t.cols[2]}>${by(i.createdAt, i.createdBy)}</td>
        <td data-label=${t.cols[3]}>${i.lastUsedAt ? fmt.dateTime(i.lastUsedAt) : t.never}</td>
        <td>${i.revokedAt ? t.revoked(by(i.revokedAt, i.revokedBy)) : html`<${StatusBadge} status="active" />`}</td>
        <td class="row-actions">${!i.revokedAt && html`<button type="button" class="small danger" aria-label=${t.revokeLabel(i.name)} onClick=${() => setActing(i)}>${t.revoke}</button>`}</td>
      </tr>`)}</tbody>
    </table></div>` : html`<p class="empty card">${t.none}</p>`)}
    <p class="hint">${t.bus}</p>
    ${acting?.id && html`<${Confirm} title=${t.revokeTitle(acting.name)} body=${t.revokeBody} confirm=${t.revoke} danger onClose=${close}
      onConfirm=${async () => { await revokeIntegration(acting.id); notify(t.gone(acting.name)); load(); }} />`}
    ${acting === 1 && html`<${Dialog} title=${made ? made.name : t.create} onClose=${close}>${made ? html`<p class="warn">${t.once}</p>
      <${Field} label=${t.token}>${(a) => html`<div class="with-button"><input ...${a} ref=${field} class="token" readonly value=${made.token} />
        <button type="button" onClick=${() => { field.current.select(); navigator.clipboard?.writeText(made.token).catch(() => {}); }}>${t.copy}</button></div>`}<//>
      ${made.scopes.includes('scim') && html`<${Field} label=${t.scimUrl}>${(a) => html`<input ...${a} class="token" readonly value=${scimBaseUrl()} />`}<//>`}
      <div class="actions"><button type="button" class="primary" onClick=${close}>${t.done}</button></div>`
    : html`<form onSubmit=${create}>
      ${!errs.length && html`<${ErrorBox} error=${error} />`}
      <${Field} label=${t.cols[0]} errors=${errs}>${(a) => html`<input ...${a} name="n" maxlength="64" required autofocus />`}<//>
      <fieldset><legend>${t.scopes}</legend>${Object.keys(t.scope).map((k, i) => html`<label class="choice"><input type="checkbox" name=${k} checked=${only ? k === only : i === 0} onChange=${(e) => e.target.form[Object.keys(t.scope)[0]].setCustomValidity('')} /> ${t.scope[k]}</label>`)}</fieldset>
      <div class="actions"><button type="button" onClick=${close}>${s.dialog.cancel}</button><button name="go" class="primary">${t.create}</button></div>
    </form>`}<//>`}
  </section>`;
}
