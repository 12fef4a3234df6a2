import { useEffect, useState, useRef } from '../vendor/hooks.js';
import { html, Link, navigate, ErrorBox, Confirm, useNotify, StatusBadge, messageOf, Menu, ExportButton, downloadCsv } from '../ui.js';
import { s, roles, statuses, availabilities, fmt } from '../strings.js';
import { config } from '../session.js';
import { listInvites, listUsers, getUser, getTenant, resendInvite, revokeInvite, quickEdit, exportUsers } from '../api.js';
import { InviteDialog } from './invite.js';
import { useTeamNames, TeamOptions } from './teams.js';

const USER_STATUSES = ['active', 'suspended', 'deleted'];
const DEFAULT_STATUSES = ['active', 'invited', 'expired', 'suspended'];
const PAGE = 25;
// How often the presence column refreshes itself while the page is visible.
export const PRESENCE_EVERY = 30000;

/** The filters are the URL's query, so a view can be shared and survives a reload. */
function filtersOf(query, isAdmin) {
  const allowed = isAdmin ? Object.keys(statuses) : USER_STATUSES;
  const raw = query.get('status');
  const st = (raw === null ? DEFAULT_STATUSES : raw.split(',')).filter((x) => allowed.includes(x));
  const one = (k, ok) => (ok.includes(query.get(k)) ? query.get(k) : '');
  return {
    statuses: st, role: query.get('role') || '', team: query.get('team') || '', q: query.get('q') || '',
    presence: one('presence', ['online', 'offline']), availability: one('availability', Object.keys(availabilities)), sort: one('sort', ['lastActive']),
  };
}

function urlOf(f) {
  const q = new URLSearchParams();
  const same = f.statuses.length === DEFAULT_STATUSES.length && DEFAULT_STATUSES.every((x) => f.statuses.includes(x));
  if (!same) q.set('status', f.statuses.join(','));
  if (f.role) q.set('role', f.role);
  if (f.team) q.set('team', f.team);
  for (const k of ['q', 'presence', 'availability', 'sort']) if (f[k]) q.set(k, f[k]);
  const qs = q.toString();
  return `/settings/company/users${qs ? `?${qs}` : ''}`;
}

/** Users and invites are two lists in the API; each keeps its own cursor here. */
function sourcesFor(f, isAdmin) {
  const out = [];
  // Presence, availability and the activity order are users' alone: invites have none.
  const usersOnly = f.presence || f.availability || f.sort;
  if (isAdmin && !usersOnly && f.statuses.includes('invited')) out.push({ kind: 'invite', status: 'pending' });
  if (isAdmin && !usersOnly && f.statuses.includes('expired')) out.push({ kind: 'invite', status: 'expired' });
  const us = f.statuses.filter((x) => USER_STATUSES.includes(x));
  if (us.length) out.push({ kind: 'user', status: us.join(',') });
  return out.map((x) => ({ ...x, cursor: null, done: false }));
}

async function fetchPage(src, f) {
  const query = { status: src.status, role: f.role, team: f.team, q: f.q, limit: src.limit || PAGE, cursor: src.cursor };
  if (src.kind === 'invite') {
    const page = await listInvites(query);
    return { rows: page.invites.map((i) => inviteRow(i, src.status)), next: page.nextCursor };
  }
  const page = await listUsers({ ...query, presence: f.presence, availability: f.availability, sort: f.sort });
  return { rows: page.users.map(userRow), next: page.nextCursor };
}

const inviteRow = (i, list) => ({ kind: 'invite', key: `i-${i.id}`, id: i.id, name: i.name, email: i.email, role: i.role, team: i.team, status: list === 'pending' ? 'invited' : 'expired', invite: i });
const userRow = (u) => ({ kind: 'user', key: `u-${u.id}`, id: u.id, name: u.displayName || u.name, email: u.email, role: u.role, team: u.team, status: u.status, user: u });

export function Users({ me, isAdmin, query }) {
  const f = filtersOf(query, isAdmin);
  const fkey = urlOf(f);
  const [rows, setRows] = useState([]);
  const [sources, setSources] = useState([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [tenant, setTenant] = useState(null);
  const [inviting, setInviting] = useState(false);
  const [confirm, setConfirm] = useState(null);
  const [search, setSearch] = useState(f.q);
  const notify = useNotify();
  const teamNames = useTeamNames(me.role !== 'agent');
  const gen = useRef(0);
  // Quick edit: the values typed per user id, and what a refusal said per user id.
  const [qe, setQe] = useState(null);
  const [refused, setRefused] = useState({});
  const [qeError, setQeError] = useState(null);
  const [saving, setSaving] = useState(false);

  const loadTenant = () => { if (isAdmin) getTenant().then(setTenant, () => {}); };
  useEffect(loadTenant, []);

  const load = async (srcs, append) => {
    const mine = ++gen.current;
    setLoading(true); setError(null);
    try {
      const pages = await Promise.all(srcs.map((src) => (src.done ? { rows: [], next: null } : fetchPage(src, f))));
      if (mine !== gen.current) return;
      const got = pages.flatMap((p) => p.rows);
      setRows((r) => (append ? [...r, ...got] : got));
      setSources(srcs.map((src, i) => ({ ...src, cursor: pages[i].next, done: src.done || !pages[i].next })));
    } catch (e) {
      if (mine === gen.current) setError(e);
    } finally {
      if (mine === gen.current) setLoading(false);
    }
  };
  // The presence column refreshes itself in place (same rows, same order: no jump under the
  // reader's eyes), only while the page is visible, and at once when it becomes visible again.
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const editingRef = useRef(false);
  editingRef.current = qe !== null;
  useEffect(() => {
    let gone = false;
    const refresh = async () => {
      const n = rowsRef.current.filter((r) => r.kind === 'user').length;
      // Not under a quick edit: its rows carry the versions the edit was started at.
      if (document.hidden || n === 0 || editingRef.current) return;
      const src = sourcesFor(f, isAdmin).find((x) => x.kind === 'user');
      if (!src) return;
      const mine = gen.current;
      try {
        // The same list from its start, as far as is shown.
        const page = await fetchPage({ ...src, limit: Math.min(n + PAGE, 1000) }, f);
        // A filter changed, more rows loaded or the screen left meanwhile: this is stale.
        if (gone || mine !== gen.current) return;
        const byId = new Map(page.rows.map((r) => [r.id, r]));
        // Only a whole list says that a missing row left the Online / Offline side it was on.
        const whole = page.next === null;
        setRows((rs) => rs.map((r) => (r.kind !== 'user' ? r : byId.get(r.id)
          || (f.presence && whole ? userRow({ ...r.user, online: f.presence === 'offline' }) : r))));
      } catch { /* the next tick tries again; the rows shown stay */ }
    };
    const timer = setInterval(refresh, PRESENCE_EVERY);
    const shown = () => { if (!document.hidden) refresh(); };
    document.addEventListener('visibilitychange', shown);
    return () => { gone = true; clearInterval(timer); document.removeEventListener('visibilitychange', shown); };
  }, [fkey]);

  // The box follows the URL only when the URL's search changed from elsewhere (Clear, Back):
  // a filter picked while typing must not wipe what was typed, nor the typing drop the filter.
  const latest = useRef(f);
  latest.current = f;
  const wrote = useRef(f.q);
  useEffect(() => {
    if (f.q !== wrote.current) { wrote.current = f.q; setSearch(f.q); }
    load(sourcesFor(f, isAdmin), false);
  }, [fkey]);

  // The search box updates the URL once typing pauses.
  useEffect(() => {
    if (search.trim() === latest.current.q) return undefined;
    const t = setTimeout(() => {
      wrote.current = search.trim();
      navigate(urlOf({ ...latest.current, q: search.trim() }), { replace: true });
    }, 300);
    return () => clearTimeout(t);
  }, [search]);

  const set = (patch) => navigate(urlOf({ ...f, ...patch }));
  const editable = (r) => r.kind === 'user' && r.status !== 'deleted';
  const valuesOf = (u) => ({ role: u.role, team: u.team || '', availability: u.availability, maxChats: String(u.maxChats) });
  // Each row's values and version as the edit began: what a change is measured against and
  // sent with, whatever the list shows meanwhile.
  const base = (u) => ({ ...valuesOf(u), was: valuesOf(u), version: u.version });
  const startEdit = () => { setQe(Object.fromEntries(rows.filter(editable).map((r) => [r.id, base(r.user)]))); setRefused({}); setQeError(null); };
  const stopEdit = () => { setQe(null); setRefused({}); setQeError(null); };
  // A new filter is a new list: an edit begun on the old one ends rather than send its values
  // against rows it never showed.
  useEffect(stopEdit, [fkey]);
  const typed = (id, field, value) => setQe((q) => ({ ...q, [id]: { ...q[id], [field]: value } }));
  // Only what moved, per row; each row carries the version it was read at.
  const changes = qe ? Object.entries(qe).flatMap(([id, now]) => {
    const was = now.was; const c = { id, version: now.version };
    if (now.role !== was.role) c.role = now.role;
    if (now.team.trim() !== was.team) c.team = now.team.trim() || null;
    if (now.availability !== was.availability) c.availability = now.availability;
    if (now.maxChats !== was.maxChats) c.maxChats = now.maxChats.trim() === '' ? now.maxChats : Number(now.maxChats);
    return Object.keys(c).length > 2 ? [c] : [];
  }) : [];
  const saveEdit = async () => {
    if (changes.length === 0) { stopEdit(); return; }
    if (changes.length > 25) { setQeError({ status: 400, body: { detail: s.users.qe.tooMany(changes.length) } }); return; }
    setSaving(true); setQeError(null); setRefused({});
    try {
      const { users } = await quickEdit({ changes });
      const byId = new Map(users.map((u) => [u.id, userRow(u)]));
      setRows((rs) => rs.map((r) => byId.get(r.id) || r));
      notify(s.users.qe.saved(users.length));
      stopEdit();
    } catch (e) {
      // Each refused row says why beside its name; nothing was saved.
      const why = {};
      for (const x of e.body?.rows || []) why[changes[x.index].id] = x.detail;
      for (const x of e.body?.errors || []) {
        const m = /^changes\/(\d+)\//.exec(x.field);
        if (m) why[changes[Number(m[1])].id] = `${x.field.split('/')[2] || ''} ${x.message}`.trim();
      }
      setRefused(why);
      setQeError(e);
      // A row someone changed meanwhile: show it as it is now and measure the edit against
      // that, keeping what was typed, so saving again is a real choice, not the same refusal.
      const stale = (e.body?.rows || []).filter((x) => x.problem === 'version-conflict').map((x) => changes[x.index].id);
      for (const u of await Promise.all(stale.map((id) => getUser(id).catch(() => null)))) {
        if (!u) continue;
        setRows((rs) => rs.map((r) => (r.id === u.id ? userRow(u) : r)));
        setQe((q) => (q && q[u.id] ? { ...q, [u.id]: { ...q[u.id], was: valuesOf(u), version: u.version } } : q));
      }
    } finally { setSaving(false); }
  };
  const toggle = (st) => set({ statuses: f.statuses.includes(st) ? f.statuses.filter((x) => x !== st) : [...f.statuses, st] });
  const more = sources.some((x) => !x.done);
  const full = tenant && tenant.seatsFree <= 0;
  // The company's teams (a supervisor's own), with any the loaded rows carry.
  const teams = [...new Set([...teamNames, ...rows.map((r) => r.team).filter(Boolean)])].sort();

  const resend = async (row) => {
    try {
      const inv = await resendInvite(row.id);
      setRows((rs) => rs.map((r) => (r.key === row.key ? inviteRow(inv, 'pending') : r)));
      notify(s.users.resent(row.email));
      loadTenant();
    } catch (e) {
      notify(e.status === 429 ? s.users.wait(e.body.retryAfter || 60) : messageOf(e), 'bad');
    }
  };
  const revoke = (row) => setConfirm({
    title: s.users.revokeTitle(row.name), body: s.users.revokeBody, confirm: s.users.revoke, danger: true,
    onConfirm: async () => {
      await revokeInvite(row.id);
      setRows((rs) => rs.filter((r) => r.key !== row.key));
      notify(s.users.revoked(row.name));
      loadTenant();
    },
  });

  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span>${s.nav.company}</span> › <span aria-current="page">${s.nav.users}</span></nav>
    <div class="page-head">
      <h1>${s.users.title}</h1>
      ${isAdmin && html`<div class="seats">
        ${tenant ? html`<span class=${`seat-meter ${full ? 'full' : ''}`}>${s.users.seats(fmt.number(tenant.seatsUsed), fmt.number(tenant.seatLimit))}</span>`
    : html`<span class="seat-meter loading">${s.users.seatsLoading}</span>`}
        <button type="button" class="primary" disabled=${full} aria-describedby=${full ? 'seat-full' : undefined} onClick=${() => setInviting(true)}>${s.users.invite}</button>
      </div>`}
    </div>
    ${full && html`<p class="warn" id="seat-full">${s.users.atLimit(tenant.seatLimit)} <a href=${tenant.pricingUrl || config().pricingUrl} target="_blank" rel="noopener">${s.users.pricing}</a></p>`}

    <form class="filters" role="search" aria-label=${s.users.filters} onSubmit=${(e) => e.preventDefault()}>
      <fieldset class="chips">
        <legend>${s.users.status}</legend>
        ${Object.keys(statuses).filter((st) => isAdmin || USER_STATUSES.includes(st)).map((st) => html`<label class="chip" key=${st}>
          <input type="checkbox" checked=${f.statuses.includes(st)} onChange=${() => toggle(st)} /> ${statuses[st]}
        </label>`)}
      </fieldset>
      <label class="inline">${s.users.role}
        <select value=${f.role} onChange=${(e) => set({ role: e.target.value })}>
          <option value="">${s.users.anyRole}</option>
          ${Object.keys(roles).map((r) => html`<option value=${r}>${roles[r].label}</option>`)}
        </select>
      </label>
      <label class="inline">${s.users.team}
        <input list="teams" value=${f.team} placeholder=${s.users.anyTeam} onChange=${(e) => set({ team: e.target.value.trim() })} />
        <${TeamOptions} id="teams" names=${teams} />
      </label>
      <fieldset class="chips presence">
        <legend>${s.users.presence}</legend>
        ${[['', s.users.everyone], ['online', s.users.online], ['offline', s.users.offline]].map(([v, label]) => html`<label class="chip" key=${v}>
          <input type="radio" name="presence" checked=${f.presence === v} onChange=${() => set({ presence: v })} /> ${label}
        </label>`)}
      </fieldset>
      <label class="inline">${s.users.availability}
        <select value=${f.availability} onChange=${(e) => set({ availability: e.target.value })}>
          <option value="">${s.users.anyAvailability}</option>
          ${Object.keys(availabilities).map((a) => html`<option value=${a}>${availabilities[a]}</option>`)}
        </select>
      </label>
      <label class="inline">${s.users.sort}
        <select value=${f.sort} onChange=${(e) => set({ sort: e.target.value })}>
          <option value="">${s.users.byName}</option><option value="lastActive">${s.users.byActivity}</option>
        </select>
      </label>
      <label class="inline grow">${s.users.search}
        <input type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      </label>
      ${fkey !== '/settings/company/users' && html`<button type="button" class="link" onClick=${() => { setSearch(''); navigate('/settings/company/users'); }}>${s.users.clear}</button>`}
    </form>

    <${ErrorBox} error=${error} />
    <div class="qe-bar">${qe === null
      ? html`${isAdmin && html`<button type="button" onClick=${startEdit} disabled=${!rows.some(editable)}>${s.users.qe.start}</button>`}
        <${ExportButton} run=${() => {
          const us = f.statuses.filter((x) => USER_STATUSES.includes(x));
          return downloadCsv(exportUsers, { status: (us.length ? us : USER_STATUSES).join(','), role: f.role, team: f.team, q: f.q, presence: f.presence, availability: f.availability, sort: f.sort }, `users-${new Date().toISOString().slice(0, 10)}.csv`);
        }} />`
      : html`<button type="button" class="primary" disabled=${saving} onClick=${saveEdit}>${s.users.qe.save(changes.length)}</button>
        <button type="button" onClick=${stopEdit}>${s.users.qe.cancel}</button><span class="hint">${s.users.qe.hint}</span>`}</div>
    ${qe !== null && html`<${ErrorBox} error=${qeError} />`}
    <div class="table-wrap">
      <table class="users" aria-busy=${loading}>
        <thead><tr>
          <th scope="col">${s.users.cols.name}</th><th scope="col">${s.users.cols.email}</th><th scope="col">${s.users.cols.role}</th>
          <th scope="col">${s.users.cols.team}</th><th scope="col">${s.users.cols.status}</th><th scope="col"><span class="visually-hidden">${s.users.cols.actions}</span></th>
        </tr></thead>
        <tbody>
          ${loading && rows.length === 0 && html`<tr class="loading-row"><td colspan="6"><span class="spinner" aria-hidden="true"></span>${s.users.loading}</td></tr>`}
          ${rows.map((r) => html`<${Row} key=${r.key} row=${r} me=${me} isAdmin=${isAdmin} onResend=${resend} onRevoke=${revoke}
            edit=${qe && qe[r.id]} onType=${(field, v) => typed(r.id, field, v)} refusal=${refused[r.id]} />`)}
        </tbody>
      </table>
      ${!loading && !error && rows.length === 0 && html`<p class="empty">${s.users.empty}</p>`}
    </div>
    ${more && html`<p class="more"><button type="button" disabled=${loading} onClick=${() => load(sources, true)}>${loading ? s.users.loadingMore : s.users.more}</button></p>`}
    ${inviting && html`<${InviteDialog} tenant=${tenant} onClose=${() => setInviting(false)}
      onSent=${(n, failed) => { notify(s.inviteDialog.sent(n) + (failed ? ` ${s.inviteDialog.someFailed(failed)}` : ''), failed ? 'bad' : ''); loadTenant(); load(sourcesFor(f, isAdmin), false); }} />`}
    ${confirm && html`<${Confirm} ...${confirm} onClose=${() => setConfirm(null)} />`}
  </section>`;
}

function Row({ row, me, isAdmin, onResend, onRevoke, edit, onType, refusal }) {
  const href = `/settings/company/users/${encodeURIComponent(row.id)}`;
  const open = row.kind === 'user' && !edit ? (e) => { if (!e.target.closest('a,button')) navigate(href); } : undefined;
  const inv = row.invite;
  if (edit) {
    const err = `qe-err-${row.id}`;
    const field = (name) => ({ 'aria-label': s.users.qe.field(s.users.qe.fields[name], row.name), 'aria-invalid': refusal ? 'true' : undefined, 'aria-describedby': refusal ? err : undefined });
    return html`<tr class=${`user qe ${refusal ? 'refused' : ''}`} data-email=${row.email}>
      <th scope="row">${row.name}${refusal && html`<div class="row-error" id=${err}>${refusal}</div>`}</th>
      <td>${row.email}</td>
      <td><select ...${field('role')} value=${edit.role} onChange=${(e) => onType('role', e.target.value)}>${Object.keys(roles).map((k) => html`<option value=${k}>${roles[k].label}</option>`)}</select></td>
      <td><input ...${field('team')} list="teams" maxlength="64" value=${edit.team} onInput=${(e) => onType('team', e.target.value)} /></td>
      <td>${row.status === 'active' && html`<select ...${field('availability')} value=${edit.availability} onChange=${(e) => onType('availability', e.target.value)}>${Object.keys(availabilities).map((k) => html`<option value=${k}>${availabilities[k]}</option>`)}</select>`}
        <input ...${field('maxChats')} type="number" min="1" max="50" inputmode="numeric" value=${edit.maxChats} onInput=${(e) => onType('maxChats', e.target.value)} /></td>
      <td></td>
    </tr>`;
  }
  return html`<tr class=${`${row.kind} ${row.status}`} onClick=${open} data-email=${row.email}>
    <th scope="row">${row.kind === 'user' ? html`<${Link} href=${href}>${row.name}<//>` : row.name}${row.id === me.id ? html` <span class="you">(${s.users.you})</span>` : ''}${(row.user || inv)?.managed && html` <span class="managed-mark" title=${s.users.managedTitle}>${s.users.managed}</span>`}
      <div class="sub narrow-only">${row.email}</div>
      <div class="sub narrowest-only">${roles[row.role].label}${row.team ? ` · ${row.team}` : ''}</div></th>
    <td>${row.email}</td>
    <td>${roles[row.role].label}</td>
    <td>${row.team || '—'}</td>
    <td>
      <${StatusBadge} status=${row.status} />
      ${row.kind === 'user' && row.status !== 'deleted' && html`<div class="sub last-active">${row.user.online && html`<span class="dot online" aria-hidden="true"></span>`}${fmt.lastActive(row.user.lastActiveAt, row.user.online)}${row.user.availability !== 'available' && html` · <span class=${`avail ${row.user.availability}`}>${availabilities[row.user.availability]}</span>`}${row.user.mfa && html` · <span class="mfa-mark" title=${s.mfa.title}>${s.mfa.short}</span>`}${row.user.emailProblem && html`<br /><span class="badge failed" title=${row.user.emailProblem}>${s.users.emailProblem}</span>`}</div>`}
      ${inv && html`<div class="sub">
        ${s.users.sent(fmt.date(inv.sentAt))} · ${row.status === 'expired' ? s.users.expiredOn(fmt.date(inv.expiresAt)) : s.users.expiresOn(fmt.dateTime(inv.expiresAt))}
        ${inv.invitedBy?.name && html`<br />${s.users.invitedBy(inv.invitedBy.name)}`}
        ${['failed', 'bounced', 'complained'].includes(inv.delivery) && html`<br /><span class="badge failed">${s.users.delivery[inv.delivery]}</span>${inv.deliveryDetail && html` <span class="delivery-detail">${inv.deliveryDetail}</span>`}`}
        ${inv.delivery === 'delivered' && html` · <span class="delivered">${s.users.delivery.delivered}</span>`}
      </div>`}
    </td>
    <td class="row-actions">${row.kind === 'invite' && isAdmin
      ? html`<${Menu} label=${s.users.menu(row.name)} items=${[[s.users.resend, () => onResend(row)], [s.users.revoke, () => onRevoke(row)]]} />`
      : row.kind === 'user' && html`<${Link} href=${href} class="button small" aria-label=${`${s.users.open} ${row.name}`}>${s.users.open}<//>`}</td>
  </tr>`;
}
