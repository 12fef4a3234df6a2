// The shell: who is signed in, the navigation, and which screen the path names.
import { useEffect, useState, useCallback, useRef } from './vendor/hooks.js';
import { html, useRoute, Link, navigate, onRouteChange, Notify, Notices, messageOf, AvailabilityMenu } from './ui.js';
import { s, roles, availabilities } from './strings.js';
import { refresh, signedIn, signOut, onSignOut } from './session.js';
import { getMe, setMyAvailability } from './api.js';
import { SignIn } from './screens/signin.js';
import { Accept } from './screens/accept.js';
import { Reset } from './screens/reset.js';
import { Users } from './screens/users.js';
import { UserPage } from './screens/user.js';
import { Audit } from './screens/audit.js';
import { Profile } from './screens/profile.js';
import { Home } from './screens/home.js';
import { Security } from './screens/security.js';
import { Company } from './screens/company.js';
import { Integrations } from './screens/integrations.js';
import { Directory } from './screens/directory.js';

export function App() {
  const route = useRoute();
  const [me, setMe] = useState(null);
  const [state, setState] = useState('starting'); // starting | out | in
  const [reason, setReason] = useState(null);
  // The address the sign-in form starts with (after a reset: the account's).
  const [signInAs, setSignInAs] = useState('');
  const [notices, setNotices] = useState([]);

  // One notice at a time: the newest replaces the one before, so they never pile up. A new
  // screen starts without one (a notice about the last screen's action would be out of place);
  // an action that moves to another screen says what happened after it moved.
  const notify = useCallback((text, kind) => {
    const id = Math.random().toString(36).slice(2);
    setNotices([{ id, text, kind }]);
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), 8000);
  }, []);
  const dismiss = (id) => setNotices((n) => n.filter((x) => x.id !== id));
  const shownPath = useRef(location.pathname);
  useEffect(() => onRouteChange(() => {
    // Filters change only the query: the screen, and its notice, stay.
    if (location.pathname !== shownPath.current) { shownPath.current = location.pathname; setNotices([]); }
  }), []);

  const loadMe = useCallback(async () => {
    try {
      setMe(await getMe());
      setState('in');
    } catch (e) {
      if (!signedIn()) { setState('out'); return; }
      setReason(e);
      setState('out');
    }
  }, []);

  useEffect(() => onSignOut((why) => { setMe(null); setReason(why); setState('out'); }), []);
  useEffect(() => {
    if (route.path === '/accept' || route.path === '/reset') { setState('out'); return; }
    refresh().then((ok) => (ok ? loadMe() : setState('out')));
  }, []);

  // Every screen change re-reads the caller, so a role changed by an admin shows on the next page.
  useEffect(() => { if (state === 'in') getMe().then(setMe, () => {}); }, [route.path]);

  if (route.path === '/accept') {
    return html`<${Notify.Provider} value=${notify}>
      <${Notices} items=${notices} dismiss=${dismiss} />
      <${Accept} onJoined=${async () => { await loadMe(); navigate('/'); notify(s.home.joined); }} />
    <//>`;
  }
  if (route.path === '/reset') {
    return html`<${Reset} onDone=${(username) => { setSignInAs(username); setReason('passwordSet'); setState('out'); navigate('/', { replace: true }); }} />`;
  }
  if (state === 'starting') return html`<p class="boot">${s.loading}</p>`;
  if (state === 'out' || !me) {
    return html`<${SignIn} reason=${reason} email=${signInAs} forgot=${route.query.get('forgot') === '1'}
      onSignedIn=${() => { setReason(null); loadMe(); }} />`;
  }

  const isAdmin = me.permissions.includes('users.invite');
  const page = screen(route, me, isAdmin, (u) => setMe((cur) => ({ ...cur, ...u })));
  return html`<${Notify.Provider} value=${notify}>
    <a class="skip" href="#main">${s.skip}</a>
    <header class="top">
      <${Link} class="brand" href="/">${s.appName}<//>
      <nav aria-label="Main">
        <${Link} href="/" aria-current=${route.path === '/' ? 'page' : undefined}>${s.nav.home}<//>
        <span class="nav-group" aria-hidden="true">${s.nav.settings} ›</span>
        <${Link} href="/settings/company/users" aria-current=${route.path.startsWith('/settings/company/users') ? 'page' : undefined}>${s.nav.users}<//>
        ${me.permissions.includes('audit.read') && html`<${Link} href="/settings/audit" aria-current=${route.path === '/settings/audit' ? 'page' : undefined}>${s.nav.audit}<//>`}
        ${isAdmin && html`<${Link} href="/settings/company" aria-current=${route.path === '/settings/company' ? 'page' : undefined}>${s.nav.companyShort}<//>`}
        ${isAdmin && html`<${Link} href="/settings/security" aria-current=${route.path === '/settings/security' ? 'page' : undefined}>${s.nav.security}<//>`}
        ${isAdmin && html`<${Link} href="/settings/integrations" aria-current=${route.path === '/settings/integrations' ? 'page' : undefined}>${s.nav.integrations}<//>`}
        ${isAdmin && html`<${Link} href="/settings/directory-sync" aria-current=${route.path === '/settings/directory-sync' ? 'page' : undefined}>${s.nav.directory}<//>`}
      </nav>
      <div class="who">
        <${AvailabilityMenu} value=${me.availability} label=${s.status.label} cls="status-pick" onPick=${async (a) => {
          try { const u = await setMyAvailability({ availability: a }); setMe((m) => ({ ...m, ...u })); notify(s.status.changed(availabilities[a])); } catch (err) { notify(messageOf(err), 'bad'); }
        }} />
        <${Link} href="/profile" aria-current=${route.path === '/profile' ? 'page' : undefined}>${me.name} · ${roles[me.role].label}<//>
        <button type="button" class="link" onClick=${() => signOut()}>${s.nav.signOut}</button>
      </div>
    </header>
    <main id="main" tabindex="-1"><${Notices} items=${notices} dismiss=${dismiss} />${page}</main>
  <//>`;
}

function screen(route, me, isAdmin, onMe) {
  const p = route.path;
  if (p === '/' ) return html`<${Home} me=${me} />`;
  if (p === '/settings/company/users') return html`<${Users} me=${me} isAdmin=${isAdmin} query=${route.query} />`;
  const m = p.match(/^\/settings\/company\/users\/([^/]+)$/);
  if (m) return html`<${UserPage} me=${me} isAdmin=${isAdmin} onMe=${onMe} id=${decodeURIComponent(m[1])} key=${m[1]} />`;
  if (p === '/settings/audit' && me.permissions.includes('audit.read')) return html`<${Audit} query=${route.query} />`;
  if (p === '/settings/security' && isAdmin) return html`<${Security} me=${me} />`;
  if (p === '/settings/company' && isAdmin) return html`<${Company} />`;
  if (p === '/settings/integrations' && isAdmin) return html`<${Integrations} query=${route.query} />`;
  if (p === '/settings/directory-sync' && isAdmin) return html`<${Directory} />`;
  if (p === '/profile') return html`<${Profile} me=${me} />`;
  return html`<section class="page"><h1>Not found</h1><p><${Link} href="/">${s.nav.home}<//></p></section>`;
}
