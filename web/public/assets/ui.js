// Small shared pieces: the html tag, routing, dialogs, fields, notices.
import { h, createContext } from './vendor/preact.js';
import { useEffect, useLayoutEffect, useRef, useState, useContext } from './vendor/hooks.js';
import htm from './vendor/htm.js';
import { s, statuses, availabilities } from './strings.js';

export const html = htm.bind(h);

// ---- routing: the path and query are the state, so a view can be shared and survives reload.
const routeListeners = new Set();
export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  routeListeners.forEach((fn) => fn());
}
window.addEventListener('popstate', () => routeListeners.forEach((fn) => fn()));
/** Calls `fn` on every change of the address (navigate, Back, Forward); returns the unsubscribe. */
export function onRouteChange(fn) { routeListeners.add(fn); return () => routeListeners.delete(fn); }
export function useRoute() {
  const [, tick] = useState(0);
  useEffect(() => onRouteChange(() => tick((n) => n + 1)), []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}
export function Link({ href, children, ...rest }) {
  const go = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${go} ...${rest}>${children}</a>`;
}

// ---- notices: one polite live region for what just happened, in the page's flow at its top
// (never over the page, so never over an action), one at a time, cleared when the screen changes.
export const Notify = createContext(() => {});
export function useNotify() { return useContext(Notify); }
export function Notices({ items, dismiss }) {
  return html`<div class="notices" role="status" aria-live="polite">
    ${items.map((n) => html`<div class=${`notice ${n.kind || ''}`} key=${n.id}>
      <span>${n.text}</span>
      <button type="button" class="link" onClick=${() => dismiss(n.id)} aria-label=${s.dialog.close}>×</button>
    </div>`)}
  </div>`;
}

/** An error shown where it happened; `assertive` so a screen reader hears it at once. */
export function ErrorBox({ error, children }) {
  if (!error && !children) return null;
  if (!children && error.type === 'mfa-required') {
    return html`<div class="error-box" role="alert">${s.mfa.required} <${Link} href="/profile#mfa">${s.mfa.goSetUp}<//></div>`;
  }
  return html`<div class="error-box" role="alert">${children || messageOf(error)}</div>`;
}

export function messageOf(e) {
  if (!e) return '';
  if (e.status === 0) return s.errors.unreachable;
  if (e.status === 503) return e.type === 'outcome-unknown' ? s.errors.unconfirmed : s.errors.unavailable;
  if (e.status === 403) return e.body.detail || s.errors.forbidden;
  return e.body.detail || e.body.title || e.message || s.errors.generic;
}

// ---- dialogs: the native modal <dialog> makes the rest of the page inert (focus stays inside)
// and closes on Escape.
export function Dialog({ title, onClose, children, wide }) {
  const ref = useRef(null);
  const opener = useRef(document.activeElement);
  useLayoutEffect(() => {
    const d = ref.current;
    d.showModal();
    const focusable = d.querySelector('[autofocus]') || d.querySelector('input, select, textarea, button:not(.dialog-x)');
    if (focusable) focusable.focus();
    // Close before giving focus back: while the modal is open, everything outside it is inert.
    return () => { if (d.open) d.close(); if (opener.current && opener.current.focus) opener.current.focus(); };
  }, []);
  const cancel = (e) => { e.preventDefault(); onClose(); };
  // A modal dialog makes the page inert, but Tab can still leave for the browser's own UI;
  // keep it cycling inside.
  const trap = (e) => {
    if (e.key !== 'Tab') return;
    const all = [...ref.current.querySelectorAll('a[href], button:not(:disabled), input:not([hidden]), select, textarea')]
      .filter((el) => el.offsetParent !== null);
    if (!all.length) return;
    const [first, last] = [all[0], all[all.length - 1]];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  };
  return html`<dialog ref=${ref} class=${wide ? 'wide' : ''} aria-labelledby="dialog-title" onCancel=${cancel} onKeyDown=${trap}>
    <div class="dialog-head">
      <h2 id="dialog-title">${title}</h2>
      <button type="button" class="dialog-x link" aria-label=${s.dialog.close} onClick=${onClose}>×</button>
    </div>
    ${children}
  </dialog>`;
}

export function Confirm({ title, body, confirm, danger, onConfirm, onClose }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const go = async () => {
    setBusy(true); setError(null);
    try { await onConfirm(); onClose(); } catch (e) { setError(e); setBusy(false); }
  };
  return html`<${Dialog} title=${title} onClose=${onClose}>
    ${Array.isArray(body) ? html`<ul class="plain">${body.map((b) => html`<li>${b}</li>`)}</ul>` : html`<p>${body}</p>`}
    <${ErrorBox} error=${error} />
    <div class="actions">
      <button type="button" onClick=${onClose}>${s.dialog.cancel}</button>
      <button type="button" class=${danger ? 'danger' : 'primary'} disabled=${busy} onClick=${go} autofocus>${confirm}</button>
    </div>
  <//>`;
}

let fieldSeq = 0;
/** A labelled input with its errors announced and tied to it. */
export function Field({ label, errors = [], hint, children, id }) {
  const fid = useRef(id || `f${++fieldSeq}`).current;
  const described = [hint ? `${fid}-hint` : '', errors.length ? `${fid}-err` : ''].filter(Boolean).join(' ') || undefined;
  const control = children({ id: fid, 'aria-describedby': described, 'aria-invalid': errors.length ? 'true' : undefined });
  return html`<div class=${`field ${errors.length ? 'invalid' : ''}`}>
    <label for=${fid}>${label}</label>
    ${control}
    ${hint && html`<div class="hint" id=${`${fid}-hint`}>${hint}</div>`}
    ${errors.length ? html`<div class="field-error" id=${`${fid}-err`}>${errors.join('; ')}</div>` : null}
  </div>`;
}

export function StatusBadge({ status }) {
  return html`<span class=${`badge ${status}`}>${statuses[status] || status}</span>`;
}

/** A menu: a button that opens a list of actions (a row's, the availability picker); Escape or a click elsewhere closes it. */
export function Menu({ label, items, text = '⋯', cls = 'small', checked }) {
  const [open, setOpen] = useState(false);
  const ref = useRef(null);
  // Focus moves into the menu as it renders, so a key pressed right after opening lands in it.
  useLayoutEffect(() => {
    if (!open) return undefined;
    ref.current.querySelector('[role^=menuitem]').focus();
    const away = (e) => { if (!ref.current.contains(e.target)) setOpen(false); };
    document.addEventListener('click', away);
    return () => document.removeEventListener('click', away);
  }, [open]);
  const key = (e) => {
    const list = [...ref.current.querySelectorAll('[role^=menuitem]')];
    const i = list.indexOf(document.activeElement);
    if (e.key === 'Escape') { setOpen(false); ref.current.querySelector('button').focus(); }
    if (e.key === 'ArrowDown') { e.preventDefault(); list[(i + 1) % list.length].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); list[(i - 1 + list.length) % list.length].focus(); }
  };
  return html`<div class="menu" ref=${ref} onKeyDown=${key}>
    <button type="button" class=${cls} aria-haspopup="menu" aria-expanded=${open} aria-label=${label} onClick=${() => setOpen(!open)}>${text}</button>
    ${open && html`<ul role="menu" aria-label=${label}>
      ${items.map(([text, act], i) => html`<li role="none"><button type="button" role=${checked === undefined ? 'menuitem' : 'menuitemradio'} aria-checked=${checked === undefined ? undefined : String(i === checked)} onClick=${() => { setOpen(false); act(); }}>${text}</button></li>`)}
    </ul>`}
  </div>`;
}

/** Who takes new conversations: a menu, so arrow keys move within it and only a choice sends. */
export function AvailabilityMenu({ value, label, onPick, cls }) {
  return html`<${Menu} label=${`${label}: ${availabilities[value]}`} cls=${cls}
    text=${html`<span class=${`dot ${value}`} aria-hidden="true"></span>${availabilities[value]} ▾`}
    checked=${Object.keys(availabilities).indexOf(value)}
    items=${Object.keys(availabilities).map((k) => [availabilities[k], () => onPick(k)])} />`;
}

/** Fetches every part of an export and saves them as one file: the parts are the only copy
 * the browser holds (a Blob of Blobs), never a list of rows beside the file. */
export async function downloadCsv(call, query, name) {
  const parts = [];
  let cursor = null;
  do {
    const { blob, next } = await call({ ...query, cursor });
    parts.push(blob);
    cursor = next;
  } while (cursor);
  const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** A button that runs an export, busy while it runs, saying what failed where it is. */
export function ExportButton({ run }) {
  const [busy, setBusy] = useState(false);
  const notify = useNotify();
  const go = async () => {
    setBusy(true);
    try { await run(); } catch (e) { notify(messageOf(e), 'bad'); }
    setBusy(false);
  };
  return html`<button type="button" onClick=${go} disabled=${busy} aria-busy=${busy}>${busy ? s.export.busy : s.export.label}</button>`;
}
