import { useEffect, useState } from '../vendor/hooks.js';
import { html, ErrorBox, Link, useNotify } from '../ui.js';
import { s } from '../strings.js';
import { getTenant, setMfaPolicy } from '../api.js';

/** Settings › Security (admins): whom the company requires to have two-step verification. */
export function Security({ me }) {
  const [tenant, setTenant] = useState(null);
  const [choice, setChoice] = useState('off');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const notify = useNotify();
  useEffect(() => { getTenant().then((t) => { setTenant(t); setChoice(t.mfaPolicy); }, setError); }, []);
  const save = async (e) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const t = await setMfaPolicy({ policy: choice });
      setTenant(t);
      notify(t.mfaPolicy === 'admins' ? s.security.nowRequired : s.security.nowOptional);
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const option = (value, label, hint) => html`<label class="choice">
    <input type="radio" name="mfa-policy" value=${value} checked=${choice === value} onChange=${() => setChoice(value)} />
    <span><strong>${label}</strong><br /><span class="hint">${hint}</span></span></label>`;
  return html`<section class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><span>${s.nav.settings}</span> › <span aria-current="page">${s.nav.security}</span></nav>
    <h1>${s.security.title}</h1>
    ${!tenant && !error && html`<p class="boot">${s.loading}</p>`}
    ${!tenant && html`<${ErrorBox} error=${error} />`}
    ${tenant && html`<form class="card" onSubmit=${save} aria-labelledby="policy-title">
      <h2 id="policy-title">${s.mfa.title}</h2>
      ${error && error.type === 'mfa-not-set-up'
        ? html`<div class="error-box" role="alert">${error.body.detail} <${Link} href="/profile#mfa">${s.mfa.setUp}<//></div>`
        : html`<${ErrorBox} error=${error} />`}
      <fieldset class="choices"><legend class="sr-only">${s.security.legend}</legend>
        ${option('off', s.security.off, s.security.offHint)}
        ${option('admins', s.security.admins, me.mfa ? s.security.adminsHint : s.security.adminsYouFirst)}
      </fieldset>
      <div class="actions"><button type="submit" class="primary" disabled=${busy || choice === tenant.mfaPolicy}>${s.security.save}</button></div>
    </form>`}
  </section>`;
}
