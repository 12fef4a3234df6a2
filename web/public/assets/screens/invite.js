import { useState } from '../vendor/hooks.js';
import { html, Dialog, Field, ErrorBox } from '../ui.js';
import { s, roles } from '../strings.js';
import { config } from '../session.js';
import { createInvites } from '../api.js';
import { useTeamNames, TeamOptions } from './teams.js';

const MAX = 25;
const blank = (role = 'agent') => ({ email: '', name: '', role, team: '' });

/** "email, name" per line (a tab or semicolon works too); the lines that don't parse are named. */
function parseList(text, role) {
  const rows = [];
  const bad = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const m = line.match(/^\s*<?([^\s,;<>\t]+@[^\s,;<>\t]+?)>?\s*[,;\t]\s*(.+?)\s*$/) || line.match(/^\s*(.+?)\s*<([^\s<>]+@[^\s<>]+)>\s*$/);
    if (!m) { bad.push(i + 1); return; }
    const [email, name] = m[1].includes('@') ? [m[1], m[2]] : [m[2], m[1]];
    rows.push({ email, name, role, team: '' });
  });
  return { rows, bad };
}

export function InviteDialog({ tenant, onClose, onSent }) {
  const [rows, setRows] = useState([blank()]);
  const teamNames = useTeamNames(true);
  const [pasting, setPasting] = useState(false);
  const [pasteText, setPasteText] = useState('');
  const [pasteRole, setPasteRole] = useState('agent');
  const [pasteBad, setPasteBad] = useState([]);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);

  const edit = (i, patch) => { setRows(rows.map((r, j) => (i === j ? { ...r, ...patch } : r))); };
  const errs = (i, field) => (problem ? problem.field(`invites/${i}/${field}`) : []);
  const applyPaste = () => {
    const { rows: got, bad } = parseList(pasteText, pasteRole);
    setPasteBad(bad);
    const kept = rows.filter((r) => r.email.trim() || r.name.trim());
    const all = [...kept, ...got].slice(0, MAX);
    if (got.length) { setRows(all.length ? all : [blank()]); if (!bad.length) { setPasting(false); setPasteText(''); } }
  };

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true); setProblem(null);
    try {
      const invites = rows.map((r) => ({ email: r.email.trim(), name: r.name.trim(), role: r.role, ...(r.team.trim() ? { team: r.team.trim() } : {}) }));
      // The email writes the link's expiry in the inviter's time zone; a zone the API's database
      // lacks only costs that, so the invite goes again in UTC rather than failing.
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const send = (body) => createInvites(body);
      const res = await send(timeZone ? { invites, timeZone } : { invites }).catch((err) => {
        if (timeZone && err.field?.('timeZone').length) return send({ invites });
        throw err;
      });
      onSent(res.invites.length, res.deliveryFailures || 0);
      onClose();
    } catch (err) {
      setProblem(err);
      setBusy(false);
    }
  };

  const seatProblem = problem && problem.type === 'seat-limit';
  const general = problem && !seatProblem && !(problem.body.errors || []).some((x) => x.field.startsWith('invites/'));
  return html`<${Dialog} title=${s.inviteDialog.title} onClose=${onClose} wide>
    <form onSubmit=${submit} novalidate>
      ${problem && html`<div class="error-box" role="alert">
        ${seatProblem ? html`${s.inviteDialog.seatLimit(problem.body)} <a href=${problem.body.pricingUrl || config().pricingUrl} target="_blank" rel="noopener">${s.users.pricing}</a>`
          : general ? html`<${ErrorBox} error=${problem} />` : s.inviteDialog.allOrNothing}
      </div>`}
      <ol class="invite-rows">
        ${rows.map((r, i) => html`<li key=${i} class="invite-row">
          <${Field} label=${s.inviteDialog.email} errors=${errs(i, 'email')}>${(a) => html`<input ...${a} type="email" autocomplete="off" required value=${r.email} onInput=${(e) => edit(i, { email: e.target.value })} />`}<//>
          <${Field} label=${s.inviteDialog.name} errors=${errs(i, 'name')}>${(a) => html`<input ...${a} required maxlength="100" value=${r.name} onInput=${(e) => edit(i, { name: e.target.value })} />`}<//>
          <${Field} label=${s.inviteDialog.role} errors=${errs(i, 'role')}>${(a) => html`<select ...${a} value=${r.role} onChange=${(e) => edit(i, { role: e.target.value })}>
            ${Object.keys(roles).map((k) => html`<option value=${k}>${roles[k].label}</option>`)}</select>`}<//>
          <${Field} label=${s.inviteDialog.team} errors=${errs(i, 'team')}>${(a) => html`<input ...${a} maxlength="64" list="invite-teams" value=${r.team} onInput=${(e) => edit(i, { team: e.target.value })} />`}<//>
          ${rows.length > 1 && html`<button type="button" class="link remove" aria-label=${s.inviteDialog.remove(i + 1)} onClick=${() => setRows(rows.filter((_, j) => j !== i))}>×</button>`}
        </li>`)}
      </ol>
      <${TeamOptions} id="invite-teams" names=${teamNames} />
      <div class="row-tools">
        <button type="button" disabled=${rows.length >= MAX} onClick=${() => setRows([...rows, blank(rows[rows.length - 1].role)])}>${s.inviteDialog.add}</button>
        <button type="button" aria-expanded=${pasting} onClick=${() => setPasting(!pasting)}>${s.inviteDialog.paste}</button>
        <span class="hint">${s.inviteDialog.max}</span>
      </div>
      ${pasting && html`<div class="paste">
        <${Field} label=${s.inviteDialog.pasteLabel} errors=${pasteBad.map((n) => s.inviteDialog.pasteBad(n))}>${(a) => html`<textarea ...${a} rows="5" value=${pasteText} onInput=${(e) => setPasteText(e.target.value)}></textarea>`}<//>
        <${Field} label=${s.inviteDialog.pasteRole}>${(a) => html`<select ...${a} value=${pasteRole} onChange=${(e) => setPasteRole(e.target.value)}>
          ${Object.keys(roles).map((k) => html`<option value=${k}>${roles[k].label}</option>`)}</select>`}<//>
        <button type="button" onClick=${applyPaste}>${s.inviteDialog.pasteApply}</button>
      </div>`}
      <div class="actions">
        ${tenant && html`<span class="hint">${s.users.seats(tenant.seatsUsed, tenant.seatLimit)}</span>`}
        <button type="button" onClick=${onClose}>${s.dialog.cancel}</button>
        <button type="submit" class="primary" disabled=${busy}>${busy ? s.inviteDialog.busy : s.inviteDialog.submit(rows.length)}</button>
      </div>
    </form>
  <//>`;
}
