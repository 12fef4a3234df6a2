import { useEffect, useState } from '../vendor/hooks.js';
import { html, Dialog, Field, ErrorBox, useNotify } from '../ui.js';
import { s, fmt } from '../strings.js';
import { listTeams, renameTeam, mergeTeams } from '../api.js';

/** The company's team names for the team pickers: read when the picker mounts (`on`: the
 * caller may read teams), so a rename shows on the next dialog or page. */
let cached = null; // { at, names }: one read serves the pickers for a minute (it reads the whole company)
export function useTeamNames(on) {
  const [names, setNames] = useState(cached?.names || []);
  useEffect(() => {
    if (!on || (cached && Date.now() - cached.at < 60000)) return undefined;
    let live = true;
    listTeams().then((r) => {
      cached = { at: Date.now(), names: r.teams.map((t) => t.name).filter(Boolean) };
      if (live) setNames(cached.names);
    }, () => {});
    return () => { live = false; };
  }, [on]);
  return names;
}

/** A picker's suggestions: typing a new name still works. */
export function TeamOptions({ id, names }) {
  return html`<datalist id=${id}>${names.map((n) => html`<option value=${n} />`)}</datalist>`;
}

/** Settings › Company information › Teams (admins): each team's people, renamed or merged whole. */
export function Teams() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [acting, setActing] = useState(null);
  const notify = useNotify();
  const load = () => listTeams().then((d) => { setData(d); setError(null); }, setError);
  useEffect(() => { load(); }, []);
  const [finishing, setFinishing] = useState(false);
  const done = (r) => {
    cached = null;
    setActing(null);
    notify(s.teams.moved(r));
    load();
  };
  // A move its request left unfinished (a big team, a timeout): the same move sent again ends it.
  const finish = async () => {
    const m = data.moving;
    setFinishing(true);
    try {
      done(await (m.kind === 'rename' ? renameTeam({ from: m.from, to: m.to }) : mergeTeams({ from: m.from, into: m.to })));
    } catch (e) { setError(e); }
    setFinishing(false);
  };
  const named = data ? data.teams.filter((t) => t.name) : [];
  return html`<section class="card" aria-labelledby="teams-title">
    <h2 id="teams-title">${s.teams.title}</h2>
    <p class="hint">${s.teams.intro}</p>
    ${!data && !error && html`<p class="boot">${s.loading}</p>`}
    <${ErrorBox} error=${!acting && error} />
    ${data?.moving && html`<div class="warn"><span role="status">${s.teams.moving(data.moving)}</span>
      <button type="button" class="small" disabled=${finishing} onClick=${finish}>${s.teams.finish}</button></div>`}
    ${data && (named.length === 0 ? html`<p>${s.teams.none}</p>` : html`<div class="table-wrap"><table class="teams">
      <caption class="visually-hidden">${s.teams.title}</caption>
      <thead><tr><th scope="col">${s.teams.team}</th><th scope="col">${s.teams.members}</th><th scope="col">${s.teams.roles}</th>
        <th scope="col">${s.teams.suspended}</th><th scope="col">${s.teams.invited}</th><th scope="col"><span class="visually-hidden">${s.users.cols.actions}</span></th></tr></thead>
      <tbody>${data.teams.map((t) => html`<tr key=${t.name ?? ''}>
        <th scope="row">${t.name ?? html`<span class="muted">${s.teams.noTeam}</span>`}<div class="sub narrow-only">${s.teams.byRole(t.byRole)}</div></th>
        <td>${fmt.number(t.members)}</td>
        <td>${s.teams.byRole(t.byRole)}</td>
        <td>${fmt.number(t.byStatus.suspended)}</td>
        <td>${fmt.number(t.invited)}</td>
        <td class="row-actions">${t.name && html`
          <button type="button" class="small" aria-label=${s.teams.renameLabel(t.name)} onClick=${() => setActing({ kind: 'rename', team: t })}>${s.teams.rename}</button>
          ${named.length > 1 && html`<button type="button" class="small" aria-label=${s.teams.mergeLabel(t.name)} onClick=${() => setActing({ kind: 'merge', team: t })}>${s.teams.merge}</button>`}`}</td>
      </tr>`)}</tbody>
    </table></div>`)}
    ${acting && html`<${MoveDialog} key=${`${acting.kind}:${acting.team.name}`} kind=${acting.kind} team=${acting.team} others=${named.filter((x) => x.name !== acting.team.name)}
      onDone=${done} onSwitch=${(into) => setActing({ kind: 'merge', team: acting.team, into: into.trim() })} into=${acting.into} onClose=${() => setActing(null)} />`}
  </section>`;
}

/** Rename a team (a name no team has) or merge it into another; a rename to a taken name offers the merge. */
function MoveDialog({ kind, team, others, into, onDone, onSwitch, onClose }) {
  const [name, setName] = useState(kind === 'rename' ? team.name : (into || others[0]?.name || ''));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const r = kind === 'rename'
        ? await renameTeam({ from: team.name, to: name.trim() })
        : await mergeTeams({ from: team.name, into: name.trim() });
      onDone(r);
    } catch (err) { setError(err); setBusy(false); }
  };
  const field = kind === 'rename' ? 'to' : 'into';
  const errs = (error?.body?.errors || []).filter((x) => x.field === field).map((x) => x.message);
  const taken = error?.body?.type?.endsWith('/team-exists');
  const count = s.teams.people(team.members, team.invited);
  return html`<${Dialog} title=${kind === 'rename' ? s.teams.renameTitle(team.name) : s.teams.mergeTitle(team.name)} onClose=${onClose}>
    <form onSubmit=${go}>
      <p>${kind === 'rename' ? s.teams.renameBody(count) : s.teams.mergeBody(count)}</p>
      ${!errs.length && html`<${ErrorBox} error=${error} />`}
      ${taken && html`<p><button type="button" onClick=${() => onSwitch(name.trim())}>${s.teams.mergeInstead(team.name, name.trim())}</button></p>`}
      ${kind === 'rename'
    ? html`<${Field} label=${s.teams.newName} errors=${errs}>${(a) => html`<input ...${a} maxlength="64" value=${name} onInput=${(e) => setName(e.target.value)} autofocus />`}<//>`
    : html`<${Field} label=${s.teams.into} errors=${errs}>${(a) => html`<select ...${a} value=${name} onChange=${(e) => setName(e.target.value)}>
        ${others.map((o) => html`<option value=${o.name}>${o.name}</option>`)}</select>`}<//>`}
      <div class="actions">
        <button type="button" onClick=${onClose}>${s.dialog.cancel}</button>
        <button type="submit" class="primary" disabled=${busy || (kind === 'rename' && (name.trim() === '' || name.trim() === team.name))}>${kind === 'rename' ? s.teams.renameGo : s.teams.mergeGo}</button>
      </div>
    </form>
  <//>`;
}
