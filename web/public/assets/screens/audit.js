import { useEffect, useState, useRef } from '../vendor/hooks.js';
import { html, navigate, ErrorBox, ExportButton, downloadCsv } from '../ui.js';
import { s, roles, availabilities, fmt } from '../strings.js';
import { listUsers, listAudit, exportAudit } from '../api.js';

const PAGE = 50;

const who = (a) => (a ? a.name || a.email || (a.id === 'system' ? 'VeloConnect' : a.id) : 'Someone');
const role = (r) => (roles[r] ? roles[r].label.toLowerCase() : r);

/** One entry as a sentence a person reads. */
export function sentence(e) {
  const actor = who(e.actor);
  const target = e.target?.label || e.target?.id || '';
  const b = e.before || {};
  const a = e.after || {};
  switch (e.action) {
    case 'invite.created': return `${actor} invited ${target} (${a.email || ''}) as ${role(a.role)}${a.team ? ` in team ${a.team}` : ''}`;
    case 'invite.resent': return `${actor} resent the invite to ${target}`;
    case 'invite.revoked': return `${actor} revoked the invite for ${target}`;
    case 'invite.expired': return `The invite for ${target} expired`;
    case 'invite.accepted': return `${target} accepted the invite and joined as ${role(a.role || b.role)}`;
    case 'user.roleChanged': {
      const parts = [];
      if (b.role !== a.role) parts.push(`role from ${role(b.role)} to ${role(a.role)}`);
      if ((b.team || null) !== (a.team || null)) parts.push(a.team ? `team from ${b.team || 'none'} to ${a.team}` : `team from ${b.team} to none`);
      if (b.maxChats !== a.maxChats) parts.push(`max chats from ${b.maxChats} to ${a.maxChats}`);
      if (a.availability && b.availability !== a.availability) parts.push(`availability to ${availabilities[a.availability] || a.availability}`);
      return `${actor} changed ${target}’s ${parts.join(' and ') || 'role'}`;
    }
    case 'user.maxChatsChanged': return `${actor} changed ${target}’s max chats from ${b.maxChats} to ${a.maxChats}`;
    case 'user.availabilityChanged': return `${actor} set ${target} to ${availabilities[a.availability] || a.availability}`;
    case 'users.exported': return `${actor} exported the users list as CSV`;
    case 'audit.exported': return `${actor} exported the audit log as CSV`;
    case 'tenant.maxChatsChanged': return `${actor} changed the max chats for people who join from ${b.defaultMaxChats} to ${a.defaultMaxChats}`;
    case 'user.suspended': return `${actor} suspended ${target}`;
    case 'user.reactivated': return `${actor} reactivated ${target}`;
    case 'user.deleted': return `${actor} deleted ${target}`;
    case 'user.passwordChanged': return `${actor} changed their password`;
    case 'user.passwordResetSent': return `${actor} sent ${target} a password reset link`;
    case 'user.passwordReset': return `${actor} set a new password from a reset link`;
    case 'user.signedOut': return e.actor.id === e.target.id ? `${actor} signed out everywhere` : `${actor} signed ${target} out of every device`;
    case 'user.mfaEnabled': return `${actor} turned on two-step verification`;
    case 'user.mfaDisabled': return `${actor} turned off two-step verification`;
    case 'user.mfaReset': return `${actor} reset ${target}’s two-step verification`;
    case 'tenant.mfaPolicyChanged': return a.mfaPolicy === 'admins' ? `${actor} required two-step verification for admins` : `${actor} made two-step verification optional`;
    case 'tenant.created': return `${actor} created the company ${target}`;
    case 'tenant.tierChanged': return `${actor} changed the plan from ${b.tier} to ${a.tier}`;
    case 'integration.created': return `${actor} made the integration token ${target}`;
    case 'integration.revoked': return `${actor} revoked the integration token ${target}`;
    case 'tenant.groupMappingsChanged': return `${actor} changed the directory’s group mappings (${(a.groupMappings || []).length} now)`;
    case 'user.updated': case 'invite.updated': return b.name !== a.name ? `${actor} renamed ${target} to ${a.name}` : `${actor} updated ${target}’s directory link`;
    default: return `${actor}: ${e.action} ${target}`;
  }
}

// Dates in the filter are the browser's local days; the API takes instants.
const dayStart = (d) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);
const dayEnd = (d) => (d ? new Date(`${d}T23:59:59.999`).toISOString() : undefined);

export function Audit({ query }) {
  const f = { action: query.get('action') || '', actor: query.get('actor') || '', target: query.get('target') || '', from: query.get('from') || '', to: query.get('to') || '' };
  const fkey = JSON.stringify(f);
  const [entries, setEntries] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [people, setPeople] = useState([]);
  const gen = useRef(0);

  useEffect(() => {
    listUsers({ status: 'active,suspended,deleted', limit: 200 }).then((p) => setPeople(p.users), () => {});
  }, []);
  const load = async (after) => {
    const mine = ++gen.current;
    setLoading(true); setError(null);
    try {
      const page = await listAudit({ action: f.action, actor: f.actor, target: f.target, from: dayStart(f.from), to: dayEnd(f.to), limit: PAGE, cursor: after });
      if (mine !== gen.current) return;
      setEntries((x) => (after ? [...x, ...page.entries] : page.entries));
      setCursor(page.nextCursor);
    } catch (e) { if (mine === gen.current) setError(e); } finally { if (mine === gen.current) setLoading(false); }
  };
  useEffect(() => { load(null); }, [fkey]);

  const set = (patch) => {
    const q = new URLSearchParams(Object.entries({ ...f, ...patch }).filter(([, v]) => v));
    navigate(`/settings/audit${[...q].length ? `?${q}` : ''}`);
  };
  const personSelect = (key, label, any) => html`<label class="inline">${label}
    <select value=${f[key]} onChange=${(e) => set({ [key]: e.target.value })}>
      <option value="">${any}</option>
      ${people.map((p) => html`<option value=${p.id}>${p.displayName || p.name}</option>`)}
      ${f[key] && !people.some((p) => p.id === f[key]) && html`<option value=${f[key]}>${f[key]}</option>`}
    </select></label>`;

  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span aria-current="page">${s.nav.audit}</span></nav>
    <h1>${s.audit.title}</h1>
    <form class="filters" role="search" aria-label=${s.users.filters} onSubmit=${(e) => e.preventDefault()}>
      <label class="inline">${s.audit.action}
        <select value=${f.action} onChange=${(e) => set({ action: e.target.value })}>
          <option value="">${s.audit.anyAction}</option>
          ${Object.entries(s.audit.actions).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select></label>
      ${personSelect('actor', s.audit.actor, s.audit.anyone)}
      ${personSelect('target', s.audit.target, s.audit.anything)}
      <label class="inline">${s.audit.from}<input type="date" value=${f.from} onChange=${(e) => set({ from: e.target.value })} /></label>
      <label class="inline">${s.audit.to}<input type="date" value=${f.to} onChange=${(e) => set({ to: e.target.value })} /></label>
      ${Object.values(f).some(Boolean) && html`<button type="button" class="link" onClick=${() => navigate('/settings/audit')}>${s.users.clear}</button>`}
    </form>
    <div class="qe-bar"><${ExportButton} run=${() => downloadCsv(exportAudit, { action: f.action, actor: f.actor, target: f.target, from: dayStart(f.from), to: dayEnd(f.to) }, `audit-${new Date().toISOString().slice(0, 10)}.csv`)} /></div>
    <${ErrorBox} error=${error} />
    <ol class="audit" aria-busy=${loading}>
      ${loading && entries.length === 0 && html`<li class="loading-row"><span class="spinner" aria-hidden="true"></span>${s.audit.loading}</li>`}
      ${entries.map((e) => html`<li key=${e.id}>
        <time datetime=${e.at}>${fmt.dateTime(e.at)}</time>
        <span class="sentence">${sentence(e)}</span>
        <span class="action-tag">${s.audit.actions[e.action] || e.action}</span>
      </li>`)}
    </ol>
    ${!loading && !error && entries.length === 0 && html`<p class="empty">${s.audit.empty}</p>`}
    ${cursor && html`<p class="more"><button type="button" disabled=${loading} onClick=${() => load(cursor)}>${loading ? s.users.loadingMore : s.users.more}</button></p>`}
  </section>`;
}
