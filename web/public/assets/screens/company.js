import { useEffect, useState } from '../vendor/hooks.js';
import { html, ErrorBox, Field, useNotify } from '../ui.js';
import { s, fmt } from '../strings.js';
import { getTenant, setDefaultMaxChats } from '../api.js';
import { Teams } from './teams.js';

/** Settings › Company information (admins): the plan, what people who join start with, the teams. */
export function Company() {
  const [tenant, setTenant] = useState(null);
  const [max, setMax] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const notify = useNotify();
  const show = (t) => { setTenant(t); setMax(String(t.defaultMaxChats)); };
  useEffect(() => { getTenant().then(show, setError); }, []);
  const save = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const t = await setDefaultMaxChats({ maxChats: max.trim() === '' ? max : Number(max) });
      show(t);
      notify(s.company.saved(t.defaultMaxChats));
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const errs = (error?.body?.errors || []).filter((x) => x.field === 'maxChats').map((x) => x.message);
  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span aria-current="page">${s.nav.company}</span></nav>
    <h1>${s.company.title}</h1>
    ${!tenant && !error && html`<p class="boot">${s.loading}</p>`}
    ${!tenant && html`<${ErrorBox} error=${error} />`}
    ${tenant && html`<dl class="facts card"><dt>${s.company.plan}</dt><dd>${tenant.tier[0].toUpperCase() + tenant.tier.slice(1)}</dd>
      <dt>${s.company.seats}</dt><dd>${s.users.seats(fmt.number(tenant.seatsUsed), fmt.number(tenant.seatLimit))}</dd></dl>
    <form class="card" onSubmit=${save} aria-labelledby="capacity-title">
      <h2 id="capacity-title">${s.company.capacity}</h2>
      ${!errs.length && html`<${ErrorBox} error=${error} />`}
      <${Field} label=${s.company.maxChats} hint=${s.company.maxChatsHint} errors=${errs}>${(a) => html`<input ...${a} type="number" min="1" max="50" step="1" inputmode="numeric" value=${max} onInput=${(e) => setMax(e.target.value)} />`}<//>
      <div class="actions"><button type="submit" class="primary" disabled=${busy || max === String(tenant.defaultMaxChats)}>${s.company.save}</button></div>
    </form>
    <${Teams} />`}
  </section>`;
}
