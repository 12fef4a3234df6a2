import { useEffect, useState } from '../vendor/hooks.js';
import { html, Link, ErrorBox, Field, useNotify } from '../ui.js';
import { s, roles, fmt } from '../strings.js';
import { getGroupMappings, setGroupMappings, listIntegrations, listAudit } from '../api.js';
import { scimBaseUrl } from '../session.js';
import { sentence } from './audit.js';

const t = s.directory;
const blank = () => ({ group: '', role: '', team: '' });

/** Settings › Directory sync (admins): the SCIM connection, the group mappings, the last sync. */
export function Directory() {
  const [data, setData] = useState(null);
  const [rows, setRows] = useState([]);
  const [links, setLinks] = useState(null); // the scim tokens, each with its last change
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const notify = useNotify();
  const show = (d) => { setData(d); setRows(d.mappings.map((m) => ({ group: m.group, role: m.role || '', team: m.team || '' }))); };
  useEffect(() => {
    getGroupMappings().then(show, setError);
    listIntegrations().then(async (d) => {
      const live = d.integrations.filter((i) => i.scopes.includes('scim') && !i.revokedAt);
      setLinks(await Promise.all(live.map(async (i) => ({ ...i, last: (await listAudit({ actor: `scim-${i.id}`, limit: 1 })).entries[0] }))));
    }, setError);
  }, []);
  const edit = (i, k) => (e) => setRows(rows.map((r, j) => (j === i ? { ...r, [k]: e.target.value } : r)));
  const save = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    const mappings = rows.filter((r) => r.group.trim() || r.role || r.team.trim())
      .map((r) => ({ group: r.group, ...(r.role && { role: r.role }), ...(r.team.trim() && { team: r.team }) }));
    try {
      const d = await setGroupMappings({ mappings, version: data.version });
      show(d);
      notify(t.saved(d.moved));
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const errs = (i, k) => (error?.body?.errors || []).filter((x) => x.field === `mappings/${i}${k ? `/${k}` : ''}`).map((x) => x.message);
  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span aria-current="page">${s.nav.directory}</span></nav>
    <h1>${s.nav.directory}</h1>
    <p>${t.intro}</p>
    <div class="card">
      <h2>${t.connection}</h2>
      <${Field} label=${t.url}>${(a) => html`<input ...${a} class="token" readonly value=${scimBaseUrl()} />`}<//>
      ${links && (links.length ? html`<ul class="links">${links.map((l) => html`<li key=${l.id}><strong>${l.name}</strong>: ${l.lastUsedAt ? t.used(fmt.dateTime(l.lastUsedAt)) : t.unused}${l.last && html`<br /><span class="hint">${t.last(fmt.dateTime(l.last.at), sentence(l.last))}</span>`}</li>`)}</ul>`
        : html`<p class="empty">${t.noToken}</p>`)}
      <p><${Link} class="button" href="/settings/integrations?new=scim">${t.connect}<//> <${Link} href="/settings/integrations">${t.manage}<//></p>
    </div>
    ${!data && !error && html`<p class="boot">${s.loading}</p>`}
    ${!data && html`<${ErrorBox} error=${error} />`}
    ${data && html`<form class="card" onSubmit=${save} aria-labelledby="map-title">
      <h2 id="map-title">${t.mappings}</h2>
      <p class="hint">${t.rule}</p>
      <${ErrorBox} error=${error && !(error.body?.errors || []).some((x) => x.field.startsWith('mappings/')) && error} />
      <datalist id="known-groups">${data.groups.map((g) => html`<option value=${g.displayName} />`)}</datalist>
      <div class="table-wrap"><table class="mappings">
        <thead><tr>${t.cols.map((c) => html`<th scope="col">${c}</th>`)}<th><span class="visually-hidden">${s.users.cols.actions}</span></th></tr></thead>
        <tbody>${rows.map((r, i) => html`<tr key=${i}>
          <td><input aria-label=${t.groupOf(i + 1)} list="known-groups" maxlength="256" value=${r.group} onInput=${edit(i, 'group')} aria-invalid=${errs(i, 'group').length || errs(i).length ? 'true' : undefined} />
            ${[...errs(i, 'group'), ...errs(i)].map((m) => html`<div class="field-error">${m}</div>`)}</td>
          <td><select aria-label=${t.roleOf(i + 1)} value=${r.role} onChange=${edit(i, 'role')}><option value="">${t.keep}</option>${Object.keys(roles).map((k) => html`<option value=${k}>${roles[k].label}</option>`)}</select></td>
          <td><input aria-label=${t.teamOf(i + 1)} maxlength="64" placeholder=${t.keep} value=${r.team} onInput=${edit(i, 'team')} />${errs(i, 'team').map((m) => html`<div class="field-error">${m}</div>`)}</td>
          <td class="row-actions"><button type="button" class="small" aria-label=${t.removeOf(i + 1)} onClick=${() => setRows(rows.filter((_, j) => j !== i))}>${t.remove}</button></td>
        </tr>`)}</tbody>
      </table></div>
      <div class="actions"><button type="button" onClick=${() => setRows([...rows, blank()])}>${t.add}</button><button type="submit" class="primary" disabled=${busy}>${t.save}</button></div>
    </form>
    <div class="card">
      <h2>${t.groups}</h2>
      ${data.groups.length ? html`<ul class="links">${data.groups.map((g) => html`<li key=${g.id}>${g.displayName}: ${t.members(g.members)}${g.mapped ? ` · ${t.mapped}` : ''}</li>`)}</ul>` : html`<p class="empty">${t.noGroups}</p>`}
    </div>`}
  </section>`;
}
