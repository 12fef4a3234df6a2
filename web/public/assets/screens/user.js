import { useEffect, useState } from '../vendor/hooks.js';
import { html, Link, navigate, Field, ErrorBox, Confirm, useNotify, StatusBadge, AvailabilityMenu } from '../ui.js';
import { s, roles, availabilities, fmt } from '../strings.js';
import { useTeamNames, TeamOptions } from './teams.js';
import { listAudit, getUser, changeRole, setUserAvailability, suspendUser, reactivateUser, deleteUser, signOutUser, sendPasswordReset, resetUserMfa } from '../api.js';

/** Who last changed a user, from the audit log (admins read it), for a conflict's message. */
async function lastChangedBy(id) {
  try {
    const page = await listAudit({ target: id, limit: 1 });
    const e = page.entries[0];
    return e && (e.actor.name || e.actor.email);
  } catch { return null; }
}

export function UserPage({ me, isAdmin, id, onMe }) {
  const [user, setUser] = useState(null);
  const [error, setError] = useState(null);
  const [form, setForm] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const notify = useNotify();
  const teamNames = useTeamNames(isAdmin);

  const show = (u) => { setUser(u); setForm({ role: u.role, team: u.team || '', maxChats: String(u.maxChats) }); };
  const load = () => getUser(id).then(show, setError);
  useEffect(() => { load(); }, [id]);

  if (error) return html`<section class="page"><p><${Link} href="/settings/company/users">← ${s.user.back}<//></p><${ErrorBox}>${error.status === 404 ? s.user.notFound : undefined}<//>${error.status !== 404 && html`<${ErrorBox} error=${error} />`}</section>`;
  if (!user) return html`<section class="page" aria-busy="true"><p><${Link} href="/settings/company/users">← ${s.user.back}<//></p><p class="loading-row"><span class="spinner" aria-hidden="true"></span>${s.user.loading}</p></section>`;

  const self = user.id === me.id;
  const live = user.status !== 'deleted';
  const changed = form.role !== user.role || (form.team.trim() || null) !== (user.team || null) || form.maxChats !== String(user.maxChats);
  const save = async (e) => {
    e.preventDefault();
    setBusy(true); setSaveError(null); setConflict(null);
    try {
      // A capacity that isn't a whole number goes as typed: the API's 400 names the field.
      const n = Number(form.maxChats);
      const u = await changeRole(id, { role: form.role, team: form.team.trim() || null, maxChats: form.maxChats.trim() === '' ? form.maxChats : n, version: user.version });
      show(u);
      notify(s.user.saved);
    } catch (err) {
      if (err.type === 'version-conflict') {
        // The message says "here are their current details": show it with them, not before.
        const [who] = await Promise.all([lastChangedBy(id), load()]);
        setConflict(s.user.conflict(who));
      } else setSaveError(err);
    } finally { setBusy(false); }
  };
  const sendReset = async () => {
    await sendPasswordReset(id, { timeZone: fmt.zone() });
    notify(s.user.resetSent(user.email));
  };
  // Availability is not part of the version: it is set at once, not with "Save changes".
  const setAvailability = async (a) => {
    try {
      const u = await setUserAvailability(id, { availability: a });
      // Functional: a Save answered meanwhile keeps its version.
      setUser((cur) => ({ ...cur, availability: u.availability, availabilitySetAt: u.availabilitySetAt, availabilitySetBy: u.availabilitySetBy }));
      // An admin's own: the top bar's status follows at once.
      if (id === me.id) onMe?.(u);
      notify(s.user.availabilitySet(user.name, availabilities[a]));
    } catch (err) { setSaveError(err); }
  };
  const act = (verb) => async () => {
    // The reset's email says when, in the admin's zone (as the password reset's does).
    const u = verb === 'mfaReset' ? await resetUserMfa(id, { timeZone: fmt.zone() })
      : await { suspend: suspendUser, reactivate: reactivateUser, delete: deleteUser, signOut: signOutUser }[verb](id);
    if (verb === 'delete') { navigate('/settings/company/users'); notify(s.user.deleted(user.name)); return; }
    show(u);
    notify({ suspend: s.user.suspended, reactivate: s.user.reactivated, signOut: s.user.signedOut, mfaReset: s.user.mfaWasReset }[verb](user.name, verb === 'mfaReset' && user.mfa && u.status === 'active'));
  };

  return html`<section class="page">
    <p><${Link} href="/settings/company/users">← ${s.user.back}<//></p>
    <div class="page-head"><h1>${user.displayName || user.name}</h1><${StatusBadge} status=${user.status} /></div>
    <div class="columns">
      <div class="card">
        <h2>${s.user.details}</h2>
        <dl class="facts">
          <dt>${s.users.cols.email}</dt><dd>${user.email}</dd>
          <dt>${s.user.role}</dt><dd>${roles[user.role].label}</dd>
          <dt>${s.user.team}</dt><dd>${user.team || s.user.noTeam}</dd>
          <dt>${s.user.created}</dt><dd>${fmt.dateTime(user.createdAt)}</dd>
          <dt>${s.user.updated}</dt><dd>${fmt.dateTime(user.updatedAt)}</dd>
          ${user.status !== 'deleted' && html`<dt>${s.user.lastActive}</dt><dd title=${user.lastActiveAt ? fmt.dateTime(user.lastActiveAt) : undefined}>${fmt.lastActive(user.lastActiveAt, user.online)}</dd>`}
          ${user.status === 'active' && html`<dt>${s.user.availability}</dt><dd class="availability">${availabilities[user.availability]}${user.availabilitySetBy && html`<br /><span class="hint">${s.user.setBy(user.availabilitySetBy.name, fmt.relative(user.availabilitySetAt))}</span>`}</dd>`}
          ${user.status !== 'deleted' && html`<dt>${s.user.maxChats}</dt><dd>${user.maxChats}</dd>`}
          ${user.status !== 'deleted' && html`<dt>${s.mfa.title}</dt><dd>${user.mfa ? s.mfa.on : s.mfa.off}</dd>`}
          ${user.emailProblem && html`<dt>${s.users.emailProblem}</dt><dd class="email-problem">${user.emailProblem}</dd>`}
        </dl>
      </div>
      ${isAdmin && live && html`<form class="card" onSubmit=${save} aria-labelledby="access-title">
        <h2 id="access-title">${s.user.manage}</h2>
        ${conflict && html`<p class="warn" role="alert">${conflict}</p>`}
        <${ErrorBox} error=${saveError} />
        <${Field} label=${s.user.role}>${(a) => html`<select ...${a} value=${form.role} onChange=${(e) => setForm({ ...form, role: e.target.value })}>
          ${Object.keys(roles).map((k) => html`<option value=${k}>${roles[k].label}</option>`)}</select>`}<//>
        <p class="hint">${roles[form.role].can}</p>
        <${Field} label=${s.user.team} hint=${s.user.teamHint}>${(a) => html`<input ...${a} maxlength="64" list="user-teams" value=${form.team} onInput=${(e) => setForm({ ...form, team: e.target.value })} />`}<//>
        <${TeamOptions} id="user-teams" names=${teamNames} />
        <${Field} label=${s.user.maxChats} hint=${s.user.maxChatsHint} errors=${(saveError?.body?.errors || []).filter((x) => x.field === 'maxChats').map((x) => x.message)}>${(a) => html`<input ...${a} type="number" min="1" max="50" step="1" inputmode="numeric" value=${form.maxChats} onInput=${(e) => setForm({ ...form, maxChats: e.target.value })} />`}<//>
        ${user.status === 'active' && html`<div class="field"><span class="label">${s.user.availability}</span>
          <${AvailabilityMenu} value=${user.availability} label=${s.user.availabilityOf(user.name)} onPick=${setAvailability} />
          <div class="hint">${s.user.availabilityHint}</div></div>`}
        <div class="actions"><button type="submit" class="primary" disabled=${busy || !changed}>${s.user.save}</button></div>
        ${!self && html`<div class="actions split">
          ${user.status === 'active'
            ? html`<button type="button" onClick=${() => setConfirm({ title: s.user.suspendTitle(user.name), body: s.user.suspendBody, confirm: s.user.suspend, danger: true, onConfirm: act('suspend') })}>${s.user.suspend}</button>`
            : html`<button type="button" onClick=${() => act('reactivate')().catch(setSaveError)}>${s.user.reactivate}</button>`}
          ${user.status === 'active' && html`<button type="button" onClick=${() => setConfirm({ title: s.user.signOutTitle(user.name), body: s.user.signOutBody, confirm: s.user.signOut, onConfirm: act('signOut') })}>${s.user.signOut}</button>`}
          ${user.status === 'active' && html`<button type="button" onClick=${() => setConfirm({ title: s.user.resetTitle(user.name), body: s.user.resetBody(user.email), confirm: s.user.reset, onConfirm: sendReset })}>${s.user.reset}</button>`}
          ${html`<button type="button" onClick=${() => setConfirm({ title: s.user.mfaResetTitle(user.name), body: s.user.mfaResetBody, confirm: s.user.mfaReset, onConfirm: act('mfaReset') })}>${s.user.mfaReset}</button>`}
          <button type="button" class="danger" onClick=${() => setConfirm({ title: s.user.deleteTitle(user.name), body: s.user.deleteBody, confirm: s.user.delete, danger: true, onConfirm: act('delete') })}>${s.user.delete}</button>
        </div>`}
      </form>`}
      ${!isAdmin && html`<p class="hint">${s.user.readOnly}</p>`}
    </div>
    ${confirm && html`<${Confirm} ...${confirm} onClose=${() => setConfirm(null)} />`}
  </section>`;
}
