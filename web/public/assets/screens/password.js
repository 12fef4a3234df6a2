// What the accept and reset pages share: the link's token taken from the fragment, and the new
// password field with the policy's rules shown live as the user types.
import { useEffect, useRef, useState } from '../vendor/hooks.js';
import { html, Field } from '../ui.js';
import { s } from '../strings.js';

// The checks behind each rule id the API names in `passwordPolicy.rules`.
const checks = {
  minLength: (pw, p) => [...pw].length >= p.minLength,
  maxLength: (pw, p) => [...pw].length <= (p.maxLength || 256),
  lowercase: (pw) => /[a-z]/.test(pw),
  uppercase: (pw) => /[A-Z]/.test(pw),
  digit: (pw) => /[0-9]/.test(pw),
  symbol: (pw) => /[!-/:-@[-`{-~]/.test(pw),
  noEdgeSpace: (pw) => !/^\s|\s$/.test(pw),
};
// A hint reads as a requirement ("at least 12 characters"), not as a refusal.
const hint = (rule, message) => s.accept.ruleHints[rule] || message.replace(/^must (be |contain )?/, '').replace(/^./, (c) => c.toUpperCase());

/** Reads the token from the fragment once and removes it from the address bar and history. */
export function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  if (location.hash) history.replaceState(null, '', location.pathname);
  return token;
}

/**
 * A link page's first step: take the token, ask `preview` what it opens. `state` is loading,
 * ready (with `found`), used (the link already did its job: a 409), unusable (any other refusal,
 * or no token), or unavailable (nothing answered: `load` tries again).
 */
export function useLinkPreview(preview) {
  const token = useRef(null);
  if (token.current === null) token.current = takeToken();
  const [found, setFound] = useState(null);
  const [state, setState] = useState('loading');
  const load = () => {
    setState('loading');
    if (!token.current) { setState('unusable'); return; }
    preview({ token: token.current })
      .then((p) => { setFound(p); setState('ready'); },
        (e) => setState(e.status === 0 || e.status >= 500 ? 'unavailable' : e.status === 409 ? 'used' : 'unusable'));
  };
  useEffect(load, []);
  return { token: token.current, found, state, setState, load };
}

/** Whether `password` meets every rule of `policy`. */
export function meets(policy, password) {
  return (policy.rules || []).every((r) => !checks[r.rule] || checks[r.rule](password, policy));
}

/** The new password, with a show/hide toggle and each rule ticked as it is met. */
export function NewPassword({ label, policy, value, onInput, errors }) {
  const [show, setShow] = useState(false);
  const rules = (policy.rules || []).filter((r) => r.rule !== 'maxLength' || [...value].length > 200);
  return html`
    <${Field} label=${label} errors=${errors}>${(a) => html`<div class="with-button">
      <input ...${a} type=${show ? 'text' : 'password'} autocomplete="new-password" required value=${value}
        aria-describedby=${[a['aria-describedby'], 'pw-hints'].filter(Boolean).join(' ')}
        onInput=${(e) => onInput(e.target.value)} />
      <button type="button" class="ghost" aria-pressed=${show} onClick=${() => setShow(!show)}>${show ? s.accept.hide : s.accept.show}</button>
    </div>`}<//>
    <div id="pw-hints" class="hints" aria-live="polite">
      <span class="visually-hidden">${s.accept.hintsTitle}:</span>
      <ul>${rules.map((r) => {
        const met = checks[r.rule] ? checks[r.rule](value, policy) : true;
        return html`<li key=${r.rule} class=${met ? 'met' : 'unmet'} data-rule=${r.rule}>
          <span aria-hidden="true">${met ? '✓' : '○'}</span> ${hint(r.rule, r.message)}<span class="visually-hidden">${met ? ' — done' : ' — not yet'}</span>
        </li>`;
      })}</ul>
    </div>`;
}
