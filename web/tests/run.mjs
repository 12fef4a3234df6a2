// The console in a real browser (Debian's Chromium, driven by playwright-core) against the real
// local run (`cargo run -p harness --bin local-api`, emulator included): the whole journey of an
// admin and an invitee, an accessibility scan of every screen, screenshots of each, every API
// exchange checked against infra/openapi.yaml, and the time to the Users table.
//   node web/tests/run.mjs        (CHROMIUM=/path/to/chromium to use another build)
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { loadSpec, checkExchange } from './openapi.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const shots = join(repo, 'web/screenshots');
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const spec = loadSpec(join(repo, 'infra/openapi.yaml'));

const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);
const failures = [];
function check(ok, what) {
  if (!ok) { failures.push(what); console.log(`  FAIL ${what}`); } else console.log(`  ok   ${what}`);
}

function freePort() {
  return new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}

// ---- the local run, exactly as a newcomer starts it (the starter plan: 5 seats).
const apiPort = await freePort();
const consolePort = await freePort();
const server = spawn('cargo', ['run', '-q', '-p', 'harness', '--bin', 'local-api'], {
  cwd: repo, env: { ...process.env, LOCAL_API_PORT: String(apiPort), LOCAL_CONSOLE_PORT: String(consolePort), DEMO_TIER: 'starter' },
  stdio: ['ignore', 'pipe', 'inherit'], detached: true,
});
let out = '';
const ready = new Promise((res, rej) => {
  server.stdout.on('data', (d) => { out += d; if (/Ctrl-C stops/.test(out)) res(); });
  server.on('exit', (code) => rej(new Error(`local-api exited with ${code}:\n${out}`)));
});
const stop = () => { try { process.kill(-server.pid, 'SIGINT'); } catch {} };
process.on('exit', stop);
await ready;
const appUrl = out.match(/Open (http:\/\/127\.0\.0\.1:\d+)\//)[1];
const motoUrl = out.match(/AWS emulator \(moto\) on (http:\/\/[^,\s]+)/)[1];
const adminEmail = out.match(/sign in as (\S+) \/ (\S+)/)[1];
const adminPassword = out.match(/sign in as (\S+) \/ (\S+)/)[2];
const apiUrl = `http://127.0.0.1:${apiPort}`;
log(`local run up: console ${appUrl}, api ${apiUrl}, emulator ${motoUrl}`);

async function mailTo(address) {
  const data = await (await fetch(`${motoUrl}/moto-api/data.json`)).json();
  const all = Object.values(data).flatMap((svc) => svc.Message || []);
  const mine = all.filter((m) => (m.destinations?.ToAddresses || []).some((a) => a.toLowerCase() === address.toLowerCase()));
  return mine[mine.length - 1];
}

// ---- the browser
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const exchanges = [];
const pending = [];
const consoleProblems = [];
async function newPage(name, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/Paris' });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleProblems.push(`${name}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleProblems.push(`${name}: ${e.message}`));
  page.on('response', (res) => {
    const req = res.request();
    if (!req.url().startsWith(apiUrl) || req.method() === 'OPTIONS' || res.headers()['x-injected-by-test']) return;
    pending.push((async () => {
      let requestBody;
      try { requestBody = req.postData() ? JSON.parse(req.postData()) : undefined; } catch { requestBody = req.postData(); }
      let responseBody;
      const contentType = res.headers()['content-type'] || '';
      try { responseBody = contentType.includes('json') ? await res.json() : undefined; } catch { responseBody = undefined; }
      exchanges.push({ method: req.method(), url: req.url(), status: res.status(), requestBody, responseBody, contentType, auth: req.headers().authorization || '' });
    })());
  });
  return page;
}

const scanned = [];
async function screen(page, name, { axe = true } = {}) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  if (!axe) return;
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  scanned.push(name);
  check(bad.length === 0, `axe: ${name} has no serious or critical findings${bad.length ? ` (${bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('; ')})` : ''}`);
}
/** Waits (up to 5 s) for a locator's text to start with `text`, then records the check. */
async function expectText(locator, text, what) {
  const starts = new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  const ok = await locator.filter({ hasText: starts }).first().waitFor({ timeout: 5000 }).then(() => true, () => false);
  const got = ok ? '' : await locator.first().innerText().catch(() => '(absent)');
  check(ok, `${what}${ok ? '' : ` (saw “${got}”)`}`);
}
/** Elements reaching past the viewport's sides (a table cell pushed out counts; hidden and
 * screen-reader-only ones do not), as "tag.class right-edge", at most five. */
async function overflowing(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')].filter((e) => {
      if (e.closest('.visually-hidden, .sr-only, .skip, dialog:not([open])')) return false;
      const st = getComputedStyle(e);
      if (st.display === 'none' || st.visibility === 'hidden') return false;
      const r = e.getBoundingClientRect();
      return r.width > 1 && r.height > 1 && (r.right > w + 0.5 || r.left < -0.5);
    }).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);
  });
}
/** Holds the API's answers to requests `match` picks until `go` has run and the screen has been
 * looked at: its loading state must show meanwhile, inside what is waiting. */
async function whileHeld(page, match, go, what, shot) {
  let release;
  const held = new Promise((r) => { release = r; });
  const hold = async (route) => { await held; await route.continue().catch(() => {}); };
  await page.route(match, hold);
  await go();
  const seen = await page.locator('.loading-row').first().waitFor({ timeout: 5000 }).then(() => true, () => false);
  check(seen, `${what}: a loading state shows before the data arrives`);
  check(await page.locator('[aria-busy=true]').count() >= 1, `${what}: and what is loading is marked busy`);
  await screen(page, shot);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await screen(page, `${shot}-phone`);
  await page.setViewportSize(size);
  release();
  await page.locator('.loading-row').first().waitFor({ state: 'detached', timeout: 10_000 });
  await page.unroute(match, hold);
}
/** An authenticator app's code (RFC 6238: HMAC-SHA-1, 30 s, 6 digits) for a base32 secret, at
 * `step` steps from now. Near a step's end it waits for the next: moto takes only the current. */
function totpAt(secret, t) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = createHmac('sha1', key).update(msg).digest();
  const at = mac[19] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
async function totp(secret) {
  if ((Date.now() / 1000) % 30 > 25) await new Promise((r) => setTimeout(r, 6000));
  return totpAt(secret, Date.now() / 1000);
}
function wrongCode(secret) {
  const now = Date.now() / 1000;
  const near = [-30, 0, 30].map((d) => totpAt(secret, now + d));
  return ['123456', '654321', '111111'].find((c) => !near.includes(c));
}
const rows = (page) => page.locator('table.users tbody tr:not(.loading-row)');
const rowFor = (page, email) => page.locator(`table.users tbody tr[data-email="${email}"]`);
const notice = (page) => page.locator('.notices .notice').last();

let median = 0;
let times = [0];
const pages = [];
async function journey() {
// 1. The admin signs in.
log('admin signs in');
const admin = await newPage('admin');
pages.push(admin);
await admin.goto(`${appUrl}/`);
await admin.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await screen(admin, '01-sign-in');
await admin.getByLabel('Email').fill(adminEmail);
await admin.getByLabel('Password').fill('wrong-Password-1');
await admin.getByRole('button', { name: 'Sign in' }).click();
await admin.getByRole('alert').filter({ hasText: 'don’t match' }).waitFor();
check(true, 'a wrong password is refused with a message');
await admin.getByLabel('Password').fill(adminPassword);
await admin.getByRole('button', { name: 'Sign in' }).click();
await admin.getByRole('heading', { name: 'Welcome, Demo Admin' }).waitFor();
await screen(admin, '02-dashboard');
check(await admin.evaluate(() => localStorage.length) === 0, 'nothing is kept in localStorage');

// 2. Users: the table, the seats, the filters in the URL.
await admin.getByRole('link', { name: 'Users', exact: true }).click();
await rows(admin).first().waitFor();
await expectText(admin.locator('.seat-meter'), '1 of 5 seats used (pending invites included)', 'seats shown beside the Invite button');
check(await rows(admin).count() === 1, 'the users table lists the admin');
await expectText(rows(admin).first().locator('.last-active'), 'Online now', 'the admin, who is using it, shows as online now');
await screen(admin, '03-users');

// A refused token (401 invalid_token, as for one that expired in flight) gets one refresh of
// the token and one retry; the admin stays signed in. A 403 is a role refusal: no refresh,
// and the session goes on.
const cognitoUrl = (await (await fetch(`${appUrl}/config.json`)).json()).cognitoEndpoint;
const isRefresh = (req) => req.url().startsWith(cognitoUrl) && (req.postData() || '').includes('REFRESH_TOKEN_AUTH');
let refreshes = 0;
admin.on('request', (r) => { if (isRefresh(r)) refreshes += 1; });
let forbidden = 0;
await admin.route(`${apiUrl}/me`, (route) => {
  if (route.request().method() !== 'GET' || forbidden > 0) return route.continue();
  forbidden += 1;
  return route.fulfill({ status: 401, contentType: 'application/problem+json', headers: { 'access-control-allow-origin': appUrl, 'x-injected-by-test': '1', 'www-authenticate': 'Bearer error="invalid_token"' }, body: JSON.stringify({ type: 'https://veloconnect.io/problems/unauthorized', title: 'Sign-in required', status: 401, detail: 'The access token was refused.' }) });
});
// The retry is the first GET /me the gateway really answers after the injected 401.
const retried = admin.waitForResponse((r) => r.url() === `${apiUrl}/me` && r.request().method() === 'GET' && !r.headers()['x-injected-by-test'], { timeout: 10_000 }).catch(() => null);
await admin.getByRole('link', { name: 'Dashboard' }).click();
check((await retried)?.status() === 200, 'the retried request is answered');
check(forbidden === 1 && refreshes === 1, `a refused token gets one refresh and a retry (401s ${forbidden}, refreshes ${refreshes})`);
check(await admin.getByRole('heading', { name: 'Welcome, Demo Admin' }).count() === 1, 'and the admin stays signed in');
await admin.unroute(`${apiUrl}/me`);
let roleRefusals = 0;
const usersList = (url) => url.href.startsWith(`${apiUrl}/users`) && new URL(url).pathname === '/users';
await admin.route(usersList, (route) => {
  if (route.request().method() !== 'GET' || roleRefusals > 0) return route.continue();
  roleRefusals += 1;
  return route.fulfill({ status: 403, contentType: 'application/problem+json', headers: { 'access-control-allow-origin': appUrl, 'x-injected-by-test': '1' }, body: JSON.stringify({ type: 'https://veloconnect.io/problems/forbidden', title: 'Not allowed for your role', status: 403, detail: 'Your role may not list users.' }) });
});
const refused403 = admin.waitForResponse((r) => r.headers()['x-injected-by-test'] === '1' && r.status() === 403, { timeout: 10_000 }).catch(() => null);
await admin.getByRole('link', { name: 'Users', exact: true }).click();
check((await refused403) !== null, 'the injected 403 was answered to the console');
// Said as "not allowed", in the API's words, where the list would be.
const notAllowed = await admin.getByRole('alert').filter({ hasText: 'Your role may not list users.' }).first().waitFor({ timeout: 5_000 }).then(() => true, () => false);
check(notAllowed, 'a 403 is shown as not allowed, in the API\'s words');
await screen(admin, '03b-users-forbidden');
await admin.getByRole('link', { name: 'Dashboard' }).click();
await admin.getByRole('heading', { name: 'Welcome, Demo Admin' }).waitFor();
check(roleRefusals === 1 && refreshes === 1, `a 403 is a role refusal: no refresh, no retry (403s ${roleRefusals}, refreshes ${refreshes})`);
check(await admin.getByRole('button', { name: 'Sign out' }).count() === 1, 'and a 403 does not sign anyone out');
await admin.unroute(usersList);
await admin.getByRole('link', { name: 'Users', exact: true }).click();
await rows(admin).first().waitFor();

// 3. Invite two people in one batch; a bad row first, so nothing is sent.
log('admin invites two people, one bad row first');
const annEmail = 'ann.agent@demo.veloconnect.test';
const bobEmail = 'bob.ray@demo.veloconnect.test';
await admin.getByRole('button', { name: 'Invite user' }).click();
const dialog = admin.getByRole('dialog', { name: 'Invite users' });
await dialog.waitFor();
await dialog.getByLabel('Email').nth(0).fill('ann.agent@');
await dialog.getByLabel('Name').nth(0).fill('Ann Agent');
await dialog.getByRole('button', { name: 'Add another person' }).click();
await dialog.getByLabel('Email').nth(1).fill(bobEmail);
await dialog.getByLabel('Name').nth(1).fill('Bob Ray');
await dialog.getByLabel('Team (optional)').nth(1).fill('Support');
await dialog.getByRole('button', { name: 'Send 2 invites' }).click();
await dialog.locator('.field.invalid').first().waitFor();
check(await dialog.getByRole('alert').first().innerText() === 'Nothing was sent. Fix the marked fields and send again.', 'a bad row: the batch is refused as a whole');
check(await dialog.locator('.field.invalid input[type=email]').count() === 1, 'the bad email is marked at its field');
check((await mailTo(bobEmail)) === undefined, 'nothing was emailed for the refused batch');
await screen(admin, '04-invite-dialog-error');
await dialog.getByLabel('Email').nth(0).fill(annEmail);
await dialog.getByRole('button', { name: 'Send 2 invites' }).click();
await notice(admin).filter({ hasText: '2 invites sent.' }).waitFor();
await rowFor(admin, annEmail).waitFor();
check(await rowFor(admin, annEmail).locator('.badge').first().innerText() === 'Invited', 'the invitee is in the list as Invited');
await expectText(admin.locator('.seat-meter'), '3 of 5 seats used (pending invites included)', 'pending invites take seats');
await screen(admin, '05-users-with-invites');

// 4. The email is read back from the emulator; its link opens in a fresh browser.
log('the invitee opens the link from the email');
const mail = await mailTo(annEmail);
const link = mail && (mail.body.match(/href="([^"]+accept#token=[^"]+)"/) || [])[1];
check(Boolean(link) && link.startsWith(`${appUrl}/accept#token=`), 'the email links to the console’s accept page');
// The email itself, as the emulator received it, in the browser at desktop and phone widths.
async function lookAtEmail(mail, name, acceptLink, { button: buttonName = 'Set your password and join', expiry = /expires in 7 days, on \w+day, \d+ \w+ \d{4} at \d\d:\d\d CET \(Europe\/Paris\)/ } = {}) {
  check(Buffer.byteLength(mail.body, 'utf8') < 20 * 1024, `${name}: the HTML part is under 20 KB (${Buffer.byteLength(mail.body, 'utf8')} bytes)`);
  check(!/<script|<link|@import|url\(/i.test(mail.body), `${name}: no script, external CSS or image`);
  for (const [label, width] of [['desktop', 1000], ['phone', 390]]) {
    const context = await browser.newContext({ viewport: { width, height: 700 }, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.setContent(mail.body, { waitUntil: 'load' });
    const button = page.getByRole('link', { name: buttonName });
    check(await button.getAttribute('href') === acceptLink, `${name} (${label}): the button carries the email's link`);
    const box = await button.boundingBox();
    check(box && box.height >= 40 && box.x >= 0 && box.x + box.width <= width, `${name} (${label}): the button is big and on screen (${box && `${Math.round(box.width)}×${Math.round(box.height)}`})`);
    check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${name} (${label}): nothing scrolls sideways`);
    await page.screenshot({ path: join(shots, `${name}-${label}.png`), fullPage: true });
    await context.close();
  }
  check(mail.text.includes(acceptLink), `${name}: the text part carries the same link`);
  check(expiry.test(mail.text), `${name}: its time (an expiry, or when) is in the requester's time zone, named`);
}
await lookAtEmail(mail, '19-invite-email', link.replace(/&amp;/g, '&'));
check(mail.source === `"Demo Admin via VeloConnect" <${mail.source.match(/<([^>]+)>$/)?.[1]}>` && (mail.reply_to || []).includes(adminEmail), 'the email comes from the admin via VeloConnect and replies go to the admin');
// The text part as sent, the one-time token left out.
writeFileSync(join(shots, '19-invite-email.txt'), mail.text.replace(/#token=[^\s]+/g, '#token=…'));

const ann = await newPage('invitee');
pages.push(ann);
await ann.goto(link.replace(/&amp;/g, '&'));
await ann.getByRole('heading', { name: 'Join Demo Company on VeloConnect' }).waitFor();
check(!ann.url().includes('token'), 'the token is taken out of the address bar');
check((await ann.locator('main').innerText()).includes('Demo Admin invited you to join Demo Company.'), 'the preview names the inviter and company');
check((await ann.locator('.facts').innerText()).includes('Agent'), 'the preview shows the role');
const pw = ann.getByLabel('Choose a password');
await pw.fill('weak');
check(await ann.locator('.hints li.unmet').count() >= 3, 'a weak password shows the unmet rules');
check(await ann.getByRole('button', { name: 'Set password and join' }).isDisabled(), 'a weak password cannot be sent');
await screen(ann, '06-accept-weak-password');
await pw.fill('Ann-Strong-Passw0rd');
check(await ann.locator('.hints li.unmet').count() === 0, 'a strong password meets every rule');
await ann.getByRole('button', { name: 'Set password and join' }).click();
await ann.getByRole('heading', { name: 'Welcome, Ann Agent' }).waitFor();
check(true, 'accept signs the new agent in and lands on the dashboard');
await screen(ann, '07-agent-dashboard');
await ann.getByRole('link', { name: 'Users', exact: true }).click();
await rows(ann).first().waitFor();
check(await rows(ann).count() === 1 && await rows(ann).first().getAttribute('data-email') === annEmail, 'the agent sees only themselves');
check(await ann.getByRole('button', { name: 'Invite user' }).count() === 0, 'the agent is not offered Invite');
await screen(ann, '08-agent-users');

// 5. The admin changes the agent's role and team; the agent's next page shows it.
log('admin changes the role');
await admin.reload();
await rowFor(admin, annEmail).waitFor();
check(await rowFor(admin, annEmail).locator('.badge').first().innerText() === 'Active', 'the accepted invite is an active user');
await rowFor(admin, annEmail).getByRole('link', { name: 'Ann Agent', exact: true }).click();
await admin.getByRole('heading', { name: 'Ann Agent' }).waitFor();
await admin.getByLabel('Role').selectOption('supervisor');
await admin.getByLabel('Team').fill('Support');
await admin.getByRole('button', { name: 'Save changes' }).click();
await notice(admin).filter({ hasText: 'Changes saved' }).waitFor();
await expectText(admin.locator('.facts dd').nth(5), 'Online now', 'the user page says when Ann was last active');
await screen(admin, '09-user-detail');
await ann.getByRole('link', { name: /Ann Agent ·/ }).click();
await ann.getByRole('heading', { name: 'Your profile' }).waitFor();
await expectText(ann.locator('.facts dd').nth(1), `Supervisor — ${'Everything an agent can do'}`, 'the agent’s next page shows the new role');
await screen(ann, '10-profile');

// A stale edit: a second admin tab changed the user meanwhile; the conflict says who.
const admin2 = await admin.context().newPage();
await admin2.goto(admin.url());
// A new tab has its own session storage, so it asks to sign in.
await admin2.getByRole('heading', { name: 'Ann Agent' }).or(admin2.getByRole('heading', { name: 'Sign in to VeloConnect' })).waitFor();
if (await admin2.getByRole('heading', { name: 'Sign in to VeloConnect' }).count()) {
  await admin2.getByLabel('Email').fill(adminEmail);
  await admin2.getByLabel('Password').fill(adminPassword);
  await admin2.getByRole('button', { name: 'Sign in' }).click();
  await admin2.getByRole('heading', { name: 'Ann Agent' }).waitFor();
}
await admin2.getByLabel('Team').fill('Sales');
await admin2.getByRole('button', { name: 'Save changes' }).click();
await notice(admin2).filter({ hasText: 'Changes saved' }).waitFor();
await admin2.close();
await admin.getByLabel('Role').selectOption('agent');
await admin.getByRole('button', { name: 'Save changes' }).click();
await admin.locator('.warn[role=alert]').waitFor();
check((await admin.locator('.warn[role=alert]').innerText()).startsWith('Demo Admin changed this user'), 'a version conflict says who changed the user');
check(await admin.getByLabel('Team').inputValue() === 'Sales', 'and reloads their current details');

// 5b. Sessions: an admin signs the agent out of every device (a lost laptop) without
// suspending them; the agent's next request ends on the sign-in screen saying an admin did it,
// and they sign in again. Then the agent signs out everywhere from the profile.
log('sessions: sign out of all devices, sign out everywhere, change password');
let annPassword = 'Ann-Strong-Passw0rd';
const signInAgain = async (page) => {
  // The sign-out refuses every token of its own second, so a new session starts after it.
  await page.waitForTimeout(1100);
  await page.getByLabel('Email').fill(annEmail);
  await page.getByLabel('Password').fill(annPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: /Ann Agent ·/ }).waitFor();
};
await admin.getByRole('button', { name: 'Sign out of all devices' }).click();
const so = admin.getByRole('dialog', { name: 'Sign Ann Agent out of all devices?' });
await so.waitFor();
await screen(admin, '10b-sign-out-confirm');
await so.getByRole('button', { name: 'Sign out of all devices' }).click();
await notice(admin).filter({ hasText: 'Ann Agent is signed out of every device.' }).waitFor();
check(await admin.locator('.page-head .badge').innerText() === 'Active', 'signed out of all devices, still active');
await ann.getByRole('link', { name: 'Dashboard' }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await expectText(ann.locator('.info'), 'You were signed out by an admin. Sign in again to continue.', 'the agent is told an admin signed them out');
await screen(ann, '10c-signed-out-by-admin');
await signInAgain(ann);
check(true, 'and signs in again with their password');
await ann.getByRole('link', { name: /Ann Agent ·/ }).click();
await ann.getByRole('heading', { name: 'Your profile' }).waitFor();
await ann.getByRole('button', { name: 'Sign out everywhere' }).click();
const se = ann.getByRole('dialog', { name: 'Sign out everywhere?' });
await se.waitFor();
await screen(ann, '10d-sign-out-everywhere');
await se.getByRole('button', { name: 'Sign out everywhere' }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await expectText(ann.locator('.info'), 'You signed out of every device. Sign in again to continue.', 'signing out everywhere ends this session too, and says so');
await signInAgain(ann);
// Changing the password from the profile: a wrong current one is named on its field; the right
// one changes it, ends every other session, and this one goes on (signed in again with it).
await ann.getByRole('link', { name: /Ann Agent ·/ }).click();
await ann.getByRole('heading', { name: 'Your profile' }).waitFor();
await ann.getByLabel('Current password').fill('Not-Her-Passw0rd!');
await ann.getByLabel('New password').fill('Ann-Newer-Passw0rd-2');
await ann.getByRole('button', { name: 'Change password' }).click();
await expectText(ann.locator('.field.invalid'), 'Current password', 'a wrong current password is named on its field');
await screen(ann, '10e-change-password-wrong');
await ann.getByLabel('Current password').fill(annPassword);
await ann.getByRole('button', { name: 'Change password' }).click();
await notice(ann).filter({ hasText: 'Password changed.' }).waitFor();
annPassword = 'Ann-Newer-Passw0rd-2';
await ann.getByRole('link', { name: 'Dashboard' }).click();
await ann.getByRole('heading', { name: /Welcome, Ann Agent/ }).waitFor();
check(true, 'the password is changed and this session goes on with it');

// 5c. A forgotten password (rule 13). The admin sends Ann a reset from her page; Ann, signed
// out elsewhere, asks for one herself from the sign-in page ("Forgot password?"), opens the
// newest link, sees whose account it is and the rules live, sets a new password, and lands on
// sign-in with her address filled. Every session she had ends; the used link says so.
log('forgotten password: admin reset, forgot form, reset page');
await admin.getByRole('button', { name: 'Send password reset' }).click();
const resetDialog = admin.getByRole('dialog', { name: 'Send Ann Agent a password reset?' });
await resetDialog.waitFor();
await screen(admin, '10f-send-reset-confirm');
await resetDialog.getByRole('button', { name: 'Send password reset' }).click();
await notice(admin).filter({ hasText: `A password reset link was sent to ${annEmail}.` }).waitFor();
const adminReset = await mailTo(annEmail);
check(/Demo Admin sent you a link to set a new VeloConnect password/.test(adminReset.subject), 'the admin’s reset email says who sent it');
const forgetful = await newPage('forgetful');
pages.push(forgetful);
await forgetful.goto(appUrl);
await forgetful.getByRole('button', { name: 'Forgot password?' }).click();
await forgetful.getByRole('heading', { name: 'Reset your password' }).waitFor();
await forgetful.getByLabel('Email').fill(annEmail);
await screen(forgetful, '10g-forgot');
await forgetful.setViewportSize({ width: 390, height: 844 });
await screen(forgetful, '10g-forgot-phone');
await forgetful.setViewportSize({ width: 1280, height: 860 });
await forgetful.getByRole('button', { name: 'Send reset link' }).click();
await forgetful.getByRole('heading', { name: 'Check your email' }).waitFor();
await expectText(forgetful.locator('[role=status]'), `If ${annEmail} belongs to an active VeloConnect account`, 'the form answers without saying whether the account exists');
await screen(forgetful, '10h-forgot-sent');
// An address nobody has gets the very same words.
await forgetful.getByRole('button', { name: 'Back to sign in' }).click();
await forgetful.getByRole('button', { name: 'Forgot password?' }).click();
await forgetful.getByLabel('Email').fill('nobody-here@example.com');
await forgetful.getByRole('button', { name: 'Send reset link' }).click();
await expectText(forgetful.locator('[role=status]'), 'If nobody-here@example.com belongs to an active VeloConnect account', 'and an unknown address reads the same');
const resetMail = await mailTo(annEmail);
check(resetMail.subject === 'Set a new VeloConnect password', 'the reset email arrived');
const resetLink = (resetMail.body.match(/href="([^"]+reset#token=[^"]+)"/) || [])[1]?.replace(/&amp;/g, '&');
check(Boolean(resetLink) && resetLink.startsWith(`${appUrl}/reset#token=`), 'its link opens the console’s reset page');
await lookAtEmail(resetMail, '20-reset-email', resetLink, { button: 'Set a new password', expiry: /expires in 1 hour, on \w+day, \d+ \w+ \d{4} at \d\d:\d\d CET \(Europe\/Paris\)/ });
writeFileSync(join(shots, '20-reset-email.txt'), resetMail.text.replace(/#token=[^\s]+/g, '#token=…'));
await forgetful.goto(resetLink);
await forgetful.getByRole('heading', { name: 'Set a new password' }).waitFor();
await expectText(forgetful.locator('.facts dd').first(), annEmail, 'the reset page says whose account');
check(!(await forgetful.evaluate(() => location.hash)), 'the token leaves the address bar');
await forgetful.getByLabel('New password', { exact: true }).fill('short');
await screen(forgetful, '10i-reset');
await forgetful.setViewportSize({ width: 390, height: 844 });
await screen(forgetful, '10i-reset-phone');
check(await forgetful.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the reset page at phone width: the address wraps, nothing scrolls sideways');
check(await forgetful.getByRole('button', { name: 'Set new password' }).isDisabled(), 'a password that breaks a rule can’t be sent');
annPassword = 'Ann-Reset-Passw0rd-3';
await forgetful.getByLabel('New password', { exact: true }).fill(annPassword);
await forgetful.getByRole('button', { name: 'Set new password' }).click();
await forgetful.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await expectText(forgetful.locator('.info'), 'Your new password is set', 'the reset lands on sign-in and says so');
check(await forgetful.getByLabel('Email').inputValue() === annEmail.toLowerCase(), 'with the account’s address filled in');
await screen(forgetful, '10j-reset-done-phone');
await forgetful.getByLabel('Password').fill(annPassword);
await forgetful.getByRole('button', { name: 'Sign in' }).click();
await forgetful.getByRole('heading', { name: /Welcome, Ann Agent/ }).waitFor();
check(true, 'and the new password signs in');
await forgetful.goto(resetLink);
await forgetful.getByRole('heading', { name: 'This link was already used' }).waitFor();
check(true, 'the used link says it was used');
// Ann's other tab is on the dashboard: its next page is refused and it signs in again.
await ann.getByRole('link', { name: /Ann Agent ·/ }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
check(true, 'the reset ended Ann’s other session');
await signInAgain(ann);

// 5d. Two-step verification (rule 14). Ann sets it up on her profile with a real code from the
// QR's key; her next sign-in asks for a code, and a wrong one says so. The admin sees it on her
// page and resets it (a lost phone); she signs in with her password alone. The admin then
// requires it for admins in Settings › Security: refused until they have it themselves; once
// set up, saved. Then back to optional and off, as the rest of the journey signs in without.
log('two-step verification: set-up, the code at sign-in, an admin reset, the policy');
const setUpMfa = async (page, name) => {
  await page.getByRole('button', { name: 'Set up two-step verification' }).click();
  await page.locator('svg.qr').waitFor();
  const key = (await page.locator('code.secret').innerText()).replace(/\s/g, '');
  await page.getByLabel('6-digit code').fill(wrongCode(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expectText(page.locator('.field.invalid'), '6-digit code', 'a wrong first code is named on its field');
  if (name) await screen(page, name);
  await page.getByLabel('6-digit code').fill(await totp(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await notice(page).filter({ hasText: 'Two-step verification is on.' }).waitFor();
  return key;
};
await ann.getByRole('link', { name: /Ann Agent ·/ }).click();
await ann.getByRole('heading', { name: 'Your profile' }).waitFor();
const annKey = await setUpMfa(ann, '10k-mfa-setup');
check(await ann.locator('#mfa-title .badge').innerText() === 'On', 'the profile says two-step verification is on');
await ann.getByRole('button', { name: 'Sign out', exact: true }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await ann.getByLabel('Email').fill(annEmail);
await ann.getByLabel('Password').fill(annPassword);
await ann.getByRole('button', { name: 'Sign in' }).click();
await ann.getByRole('heading', { name: 'Enter your code' }).waitFor();
check(true, 'the password alone leads to the code step');
await ann.getByLabel('6-digit code').fill(wrongCode(annKey));
await ann.getByRole('button', { name: 'Verify' }).click();
await expectText(ann.locator('.error-box'), 'That code isn’t right', 'a wrong code at sign-in says so');
await screen(ann, '10l-sign-in-code');
await ann.getByLabel('6-digit code').fill(await totp(annKey));
await ann.getByRole('button', { name: 'Verify' }).click();
await ann.getByRole('link', { name: /Ann Agent ·/ }).waitFor();
check(true, 'the password and a real code sign in');
await admin.reload();
await admin.getByRole('button', { name: 'Reset two-step verification' }).click();
const mr = admin.getByRole('dialog', { name: 'Reset two-step verification for Ann Agent?' });
await mr.waitFor();
await screen(admin, '10m-mfa-reset-confirm');
await mr.getByRole('button', { name: 'Reset two-step verification' }).click();
await notice(admin).filter({ hasText: 'Two-step verification is off for Ann Agent' }).waitFor();
check(true, 'an admin resets a user’s two-step verification');
// Ann is told, from the admin, when it happened (in the admin's zone) and what to do.
const mfaMail = await mailTo(annEmail);
check(mfaMail.subject === 'Demo Admin reset two-step verification on your VeloConnect account', 'the reset notice arrived');
await lookAtEmail(mfaMail, '21-two-step-reset-email', `${appUrl}/`, { button: 'Sign in', expiry: /on \w+day, \d+ \w+ \d{4} at \d\d:\d\d CET \(Europe\/Paris\), and signed you out on every device/ });
check((mfaMail.reply_to || []).includes(adminEmail), 'replies to the notice reach the admin who did it');
writeFileSync(join(shots, '21-two-step-reset-email.txt'), mfaMail.text.replaceAll(appUrl, 'APP_URL'));
await ann.getByRole('link', { name: 'Dashboard' }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
await expectText(ann.locator('.info'), 'You were signed out by an admin.', 'the reset ended Ann’s session, and she is told an admin did it');
await signInAgain(ann);
check(true, 'and she signs in with her password alone');
const annPage = admin.url();
await admin.getByRole('link', { name: 'Security' }).click();
await admin.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
await admin.getByLabel(/Require it for admins/).check();
await admin.getByRole('button', { name: 'Save' }).click();
await expectText(admin.locator('.error-box'), 'Turn on two-step verification on your own profile', 'requiring it without having it is refused, with the way to set it up');
await screen(admin, '10n-security-refused');
await admin.locator('.error-box').getByRole('link', { name: 'Set up two-step verification' }).click();
await admin.getByRole('heading', { name: 'Your profile' }).waitFor();
const adminKey = await setUpMfa(admin);
await admin.getByRole('link', { name: 'Security' }).click();
await admin.getByLabel(/Require it for admins/).check();
await admin.getByRole('button', { name: 'Save' }).click();
await notice(admin).filter({ hasText: 'Admins now need two-step verification' }).waitFor();
await screen(admin, '10o-security-required');
await admin.getByLabel(/Everyone chooses/).check();
await admin.getByRole('button', { name: 'Save' }).click();
await notice(admin).filter({ hasText: 'now each person’s choice' }).waitFor();
await admin.getByRole('link', { name: /Demo Admin ·/ }).click();
await admin.getByRole('button', { name: 'Turn off' }).click();
await admin.getByLabel('Your password').fill(adminPassword);
await admin.getByLabel('6-digit code').fill(await totp(adminKey));
await admin.getByRole('button', { name: 'Turn off' }).click();
await notice(admin).filter({ hasText: 'Two-step verification is off.' }).waitFor();
check(true, 'the policy is saved once the admin has it, and turning it off takes the password and a code');
await admin.goto(annPage);
await admin.getByRole('button', { name: 'Suspend' }).waitFor();

// 6. Suspend; the agent's next request ends in the sign-in screen.
log('admin suspends the agent');
await admin.getByRole('button', { name: 'Suspend' }).click();
const sd = admin.getByRole('dialog', { name: 'Suspend Ann Agent?' });
await sd.waitFor();
await screen(admin, '11-suspend-confirm');
// The suspend reaches the API and commits, but its answer is lost on the way back (a 503
// "couldn't confirm" in its place): the console sends it again with the same Idempotency-Key
// and gets the first answer, replayed, instead of doing it twice (rule 11).
const suspendKeys = [];
let lostOnce = false;
await admin.route(/\/users\/[^/]+\/suspend$/, async (route) => {
  suspendKeys.push(route.request().headers()['idempotency-key']);
  const res = await route.fetch();
  if (lostOnce) return route.fulfill({ response: res });
  lostOnce = true;
  return route.fulfill({ status: 503, contentType: 'application/problem+json', headers: { 'access-control-allow-origin': appUrl, 'access-control-expose-headers': 'retry-after', 'retry-after': '1' },
    body: JSON.stringify({ type: 'https://veloconnect.io/problems/outcome-unknown', title: 'Couldn’t confirm', status: 503, detail: 'injected by the test' }) });
});
const replay = admin.waitForResponse((r) => /\/suspend$/.test(r.url()) && r.status() === 200);
await sd.getByRole('button', { name: 'Suspend' }).click();
await notice(admin).filter({ hasText: 'Ann Agent is suspended.' }).waitFor();
const replayed = await replay;
await admin.unroute(/\/users\/[^/]+\/suspend$/);
check(suspendKeys.length === 2 && /^[0-9a-f-]{36}$/.test(suspendKeys[0]) && suspendKeys[0] === suspendKeys[1], `a lost answer is retried with the same Idempotency-Key (${suspendKeys.length} sends)`);
check((await replayed.allHeaders())['idempotent-replayed'] === 'true', 'the retry gets the first answer, replayed, not a second suspension');
await ann.getByRole('link', { name: 'Users', exact: true }).click();
await ann.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
check((await ann.locator('.info').innerText()).includes('session has ended'), 'the suspended agent is sent to sign-in with a reason');
await ann.getByLabel('Email').fill(annEmail);
await ann.getByLabel('Password').fill(annPassword);
await ann.getByRole('button', { name: 'Sign in' }).click();
await ann.getByRole('alert').filter({ hasText: 'suspended' }).waitFor();
check(true, 'a suspended user cannot sign in, and is told why');

// 7. Seats: a batch past the limit shows the seat problem; at the limit, the pricing link.
log('seats run out');
await admin.getByRole('link', { name: 'Back to Users' }).click();
await rows(admin).first().waitFor();
await expectText(admin.locator('.seat-meter'), '2 of 5 seats used (pending invites included)', 'a suspended user frees a seat');
await admin.getByRole('button', { name: 'Invite user' }).click();
const d2 = admin.getByRole('dialog', { name: 'Invite users' });
await d2.getByRole('button', { name: 'Paste a list' }).click();
await d2.getByLabel('One person per line: email, name').fill('carol@demo.veloconnect.test, Carol Chen\ndave@demo.veloconnect.test, Dave Diaz\nerin@demo.veloconnect.test, Erin Eze\nfrank@demo.veloconnect.test, Frank Fox');
await d2.getByRole('button', { name: 'Add these people' }).click();
check(await d2.getByLabel('Email').count() === 4, 'a pasted list becomes one row per person');
await d2.getByRole('button', { name: 'Send 4 invites' }).click();
await d2.getByRole('alert').filter({ hasText: 'seats' }).waitFor();
const seatText = await d2.getByRole('alert').first().innerText();
check(seatText.includes('You asked for 4 seats, but only 3 are free on your plan (limit 5)') && await d2.getByRole('link', { name: 'See pricing' }).count() === 1, 'a seat-limit problem shows requested, free, limit and the pricing link');
await screen(admin, '12-invite-seat-limit');
await d2.getByRole('button', { name: 'Remove row 4' }).click();
await d2.getByRole('button', { name: 'Send 3 invites' }).click();
await notice(admin).filter({ hasText: '3 invites sent.' }).waitFor();
await admin.locator('#seat-full').waitFor();
check(await admin.getByRole('button', { name: 'Invite user' }).isDisabled(), 'at the limit, Invite is disabled');
check(await admin.locator('#seat-full a').getAttribute('href') === 'https://veloconnect.io/pricing', 'at the limit, the pricing link is shown');
await screen(admin, '13-users-at-seat-limit');

// 8. Invite rows: resend too soon says how long to wait; revoke frees the seat.
log('resend and revoke');
// Dave's invite went out seconds ago (the batch above), so this resend is always within its minute.
await rowFor(admin, 'dave@demo.veloconnect.test').getByRole('button', { name: 'Actions for Dave Diaz' }).click();
await screen(admin, '14-invite-row-menu');
await admin.getByRole('menuitem', { name: 'Resend invite' }).click();
await notice(admin).filter({ hasText: 'You can resend it in' }).waitFor();
check(true, 'a resend within the minute shows the wait from the answer');
await rowFor(admin, 'carol@demo.veloconnect.test').getByRole('button', { name: 'Actions for Carol Chen' }).click();
await admin.getByRole('menuitem', { name: 'Revoke invite' }).click();
const rd = admin.getByRole('dialog', { name: 'Revoke the invite for Carol Chen?' });
await rd.getByRole('button', { name: 'Revoke invite' }).click();
await notice(admin).filter({ hasText: 'The invite for Carol Chen was revoked.' }).waitFor();
check(await rowFor(admin, 'carol@demo.veloconnect.test').count() === 0, 'a revoked invite leaves the list');
await expectText(admin.locator('.seat-meter'), '4 of 5 seats used (pending invites included)', 'revoking frees the seat');

// 8a. Notices: one at a time, in the page's flow (over nothing), gone on another screen.
log('notices');
check(await admin.locator('.notices .notice').count() === 1, 'one notice at a time: the revoke replaced the resend\'s');
const covered = await admin.evaluate(() => {
  const n = document.querySelector('.notices .notice').getBoundingClientRect();
  return [...document.querySelectorAll('button, a, input, select, summary')].filter((b) => !b.closest('.notices')).filter((b) => {
    const r = b.getBoundingClientRect();
    return r.width && r.height && r.left < n.right && n.left < r.right && r.top < n.bottom && n.top < r.bottom;
  }).map((b) => b.textContent.trim() || b.getAttribute('aria-label'));
});
check(covered.length === 0, `the notice covers no control${covered.length ? ` (${covered.join(', ')})` : ''}`);
check(await admin.locator('.notices[role=status][aria-live=polite]').count() === 1, 'notices are a polite live region');
await screen(admin, '24-notice');
await admin.setViewportSize({ width: 390, height: 844 });
await screen(admin, '24-notice-phone');
await admin.setViewportSize({ width: 1280, height: 860 });
await admin.getByRole('link', { name: 'Audit log' }).click();
await admin.locator('ol.audit li:not(.loading-row)').first().waitFor();
check(await admin.locator('.notices .notice').count() === 0, 'a notice from the Users screen is gone on the audit log');

// 8b'. Loading states: the API's answer held back; each screen says it is loading meanwhile.
log('loading states');
await whileHeld(admin, (url) => url.href.startsWith(apiUrl) && url.pathname === '/users',
  () => admin.getByRole('link', { name: 'Users', exact: true }).click(), 'the Users table', '25-users-loading');
await expectText(admin.locator('.seat-meter'), '4 of 5 seats used', 'the seat meter fills in');
await whileHeld(admin, (url) => url.href.startsWith(apiUrl) && url.pathname.startsWith('/users/'),
  () => rowFor(admin, adminEmail).getByRole('link', { name: 'Demo Admin', exact: true }).click(), 'a user\'s page', '25-user-loading');
await whileHeld(admin, (url) => url.href.startsWith(apiUrl) && url.pathname === '/audit',
  () => admin.getByRole('link', { name: 'Audit log' }).click(), 'the audit log', '25-audit-loading');
await admin.getByRole('link', { name: 'Users', exact: true }).click();
await rows(admin).first().waitFor();

// 8b. An invite that will never arrive says so: SES's mailbox simulator bounces it, and the
// local run hands SES's event to the mail-events function within a second (docs/rules.md 15).
log('an invite that bounces');
const bounceEmail = 'bounce+console@simulator.amazonses.com';
await admin.getByRole('button', { name: 'Invite user' }).click();
const bd = admin.getByRole('dialog', { name: 'Invite users' });
await bd.getByLabel('Email').nth(0).fill(bounceEmail);
await bd.getByLabel('Name').nth(0).fill('Nobody Home');
await bd.getByRole('button', { name: 'Send invite' }).click();
await notice(admin).filter({ hasText: 'Invite sent.' }).waitFor();
let bounced = false;
for (let i = 0; i < 20 && !bounced; i++) {
  await admin.waitForTimeout(500);
  await admin.reload();
  await rowFor(admin, bounceEmail).waitFor();
  bounced = await rowFor(admin, bounceEmail).locator('.badge.failed').count() === 1;
}
check(bounced, 'a bounced invite is marked in the list within seconds');
await expectText(rowFor(admin, bounceEmail).locator('.badge.failed'), 'Email bounced', 'the badge says it bounced');
await expectText(rowFor(admin, bounceEmail).locator('.delivery-detail'), 'The mailbox does not exist. (5.1.1)', 'and why, in a sentence');
await screen(admin, '14b-invite-bounced');
await admin.setViewportSize({ width: 390, height: 844 });
check(await admin.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the bounced row at phone width: nothing scrolls sideways');
await screen(admin, '14c-invite-bounced-phone');
await admin.setViewportSize({ width: 1280, height: 860 });

// 9. Filters live in the URL and survive a reload.
await admin.getByLabel('Role').selectOption('agent');
await admin.getByLabel('Search name or email').fill('bob');
await admin.waitForURL(/q=bob/);
await admin.waitForFunction(() => document.querySelectorAll('table.users tbody tr:not(.loading-row)').length === 1);
const filtered = admin.url();
check(filtered.includes('role=agent') && filtered.includes('q=bob'), 'filters are kept in the URL');
await admin.reload();
await rowFor(admin, bobEmail).waitFor();
check(await rows(admin).count() === 1 && await admin.getByLabel('Search name or email').inputValue() === 'bob', 'a filtered view survives reload');
await admin.getByRole('button', { name: 'Clear filters' }).click();

// 10. Delete, behind the guide's confirmation.
log('delete');
await rowFor(admin, annEmail).getByRole('link', { name: 'Ann Agent', exact: true }).click();
await admin.getByRole('button', { name: 'Delete user' }).click();
const dd = admin.getByRole('dialog', { name: 'Delete Ann Agent permanently?' });
const ddText = await dd.innerText();
check(['permanent', 'contacts and conversations stay', 'seat is freed', 'invited again'].every((x) => ddText.includes(x)), 'the delete confirmation says what the guide says');
await screen(admin, '15-delete-confirm');
await dd.getByRole('button', { name: 'Delete user' }).click();
await notice(admin).filter({ hasText: 'Ann Agent was deleted.' }).waitFor();
await admin.goto(`${appUrl}/settings/company/users?status=deleted`);
await rowFor(admin, annEmail).waitFor();
check((await rowFor(admin, annEmail).innerText()).includes('Ann Agent (deleted)'), 'the deleted user shows under the Deleted filter');

// 11. The audit log tells every step as a sentence.
log('audit log');
await admin.getByRole('link', { name: 'Audit log' }).click();
await admin.locator('ol.audit li:not(.loading-row)').first().waitFor();
const auditText = await admin.locator('ol.audit').innerText();
for (const sentence of [
  'Demo Admin invited Ann Agent', 'Ann Agent accepted the invite and joined as agent',
  'Demo Admin changed Ann Agent’s role from agent to supervisor and team from none to Support',
  'Demo Admin signed Ann Agent out of every device', 'Ann Agent signed out everywhere',
  'Demo Admin suspended Ann Agent', 'Demo Admin revoked the invite for Carol Chen', 'Demo Admin deleted Ann Agent',
]) check(auditText.includes(sentence), `audit: “${sentence}”`);
await screen(admin, '16-audit');
await admin.getByLabel('Action').selectOption('user.suspended');
await admin.waitForFunction(() => document.querySelectorAll('ol.audit li:not(.loading-row)').length === 1);
check(admin.url().includes('action=user.suspended'), 'audit filters are kept in the URL');

// 11b. The bounced invitee joins anyway (the link reached them some other way); a reset sent
// to the same dead mailbox is marked on their row and their page.
log('a reset email that bounces');
const bounceLink = ((await mailTo(bounceEmail)).body.match(/accept#token=([^"&]+)/) || [])[1];
const joined = await fetch(`${apiUrl}/invites/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: bounceLink, password: 'Nobody-Home-Passw0rd!' }) });
check(joined.status === 201, `the bounced invite's link still works (${joined.status})`);
await admin.goto(`${appUrl}/settings/company/users`);
await rowFor(admin, bounceEmail).getByRole('link', { name: 'Nobody Home', exact: true }).click();
await admin.getByRole('button', { name: 'Send password reset' }).click();
await admin.getByRole('dialog', { name: 'Send Nobody Home a password reset?' }).getByRole('button', { name: 'Send password reset' }).click();
await notice(admin).filter({ hasText: `A password reset link was sent to ${bounceEmail}.` }).waitFor();
let problem = false;
for (let i = 0; i < 20 && !problem; i++) {
  await admin.waitForTimeout(500);
  await admin.reload();
  await admin.getByRole('heading', { name: 'Nobody Home' }).waitFor();
  problem = await admin.locator('dd.email-problem').count() === 1;
}
check(problem, 'the user page shows the reset email bounced');
await expectText(admin.locator('dd.email-problem'), 'The mailbox does not exist. (5.1.1)', 'and why');
await screen(admin, '15b-user-email-problem');
await admin.goto(`${appUrl}/settings/company/users`);
await expectText(rowFor(admin, bounceEmail).locator('.badge.failed'), 'Last email not delivered', 'the Users list marks the user too');
// Their seat back for the steps below.
await rowFor(admin, bounceEmail).getByRole('link', { name: 'Nobody Home', exact: true }).click();
await admin.getByRole('button', { name: 'Delete user' }).click();
await admin.getByRole('dialog', { name: 'Delete Nobody Home permanently?' }).getByRole('button', { name: 'Delete user' }).click();
await notice(admin).filter({ hasText: 'Nobody Home was deleted.' }).waitFor();

// 12. Keyboard only: the invite dialog opens, keeps focus inside, and Escape closes it.
log('keyboard');
await admin.goto(`${appUrl}/settings/company/users`);
await rows(admin).first().waitFor();
await admin.keyboard.press('Tab');
check(await admin.evaluate(() => document.activeElement.textContent) === 'Skip to content', 'the first Tab reaches “Skip to content”');
// Free a seat so Invite is enabled, then open it from the keyboard.
await rowFor(admin, 'dave@demo.veloconnect.test').getByRole('button', { name: 'Actions for Dave Diaz' }).focus();
await admin.keyboard.press('Enter');
await admin.keyboard.press('ArrowDown');
check(await admin.evaluate(() => document.activeElement.textContent) === 'Revoke invite', 'arrow keys move through a row menu');
await admin.keyboard.press('Enter');
await admin.keyboard.press('Enter');
await notice(admin).filter({ hasText: 'Dave Diaz was revoked' }).waitFor();
const inviteButton = admin.getByRole('button', { name: 'Invite user' });
await inviteButton.focus();
await admin.keyboard.press('Enter');
await admin.getByRole('dialog', { name: 'Invite users' }).waitFor();
let inside = true;
for (let i = 0; i < 14; i++) {
  await admin.keyboard.press('Tab');
  inside = inside && await admin.evaluate(() => Boolean(document.activeElement.closest('dialog')));
}
check(inside, 'Tab stays inside the open dialog');
await admin.keyboard.press('Escape');
await admin.getByRole('dialog').waitFor({ state: 'detached' });
check(await admin.evaluate(() => document.activeElement.textContent) === 'Invite user', 'Escape closes the dialog and focus returns to its button');

// 13. Every unusable link shows the same calm page.
log('unusable links');
const stranger = await newPage('stranger');
await stranger.goto(`${appUrl}/accept#token=not-a-real-token`);
await stranger.getByRole('heading', { name: 'This invite link can’t be used' }).waitFor();
await screen(stranger, '17-accept-unusable');
await stranger.goto('about:blank');
await stranger.goto(link.replace(/&amp;/g, '&'));
await stranger.getByRole('heading', { name: 'This invite link can’t be used' }).waitFor();
check(true, 'a used link shows the same page as a made-up one');

// 14. A phone-sized view of the Users screen.
// Here the pool's answer to sign-in says the access token lives 12 s (rewritten on the way), so
// the refresh the console schedules before expiry happens within the test; the next request
// carries the new token.
const phone = await newPage('phone', { width: 390, height: 844 });
await phone.route(cognitoUrl, async (route) => {
  if (!(route.request().postData() || '').includes('USER_PASSWORD_AUTH')) return route.continue();
  const res = await route.fetch();
  const body = await res.json();
  if (body.AuthenticationResult) body.AuthenticationResult.ExpiresIn = 12;
  return route.fulfill({ response: res, json: body });
});
let phoneRefreshes = 0;
let phoneToken = '';
// The bearer each API request carries, read as it leaves (a response body need never arrive).
phone.on('request', (r) => {
  if (isRefresh(r)) phoneRefreshes += 1;
  if (r.url().startsWith(apiUrl) && r.headers().authorization) phoneToken = r.headers().authorization;
});
await phone.goto(`${appUrl}/`);
await phone.getByLabel('Email').fill(adminEmail);
await phone.getByLabel('Password').fill(adminPassword);
await phone.getByRole('button', { name: 'Sign in' }).click();
await phone.getByRole('heading', { name: 'Welcome, Demo Admin' }).waitFor();
await phone.getByRole('link', { name: 'Users', exact: true }).click();
await rows(phone).first().waitFor();
await screen(phone, '18-users-phone');
const tokenBefore = phoneToken;
check(tokenBefore.startsWith('Bearer '), 'the phone\'s API requests carry a bearer token');
check(phoneRefreshes === 0, 'no refresh while the token is fresh');
// Waits for the pool's answer, not only the request: a request sent before the answer is
// handled rightly carries the old token.
await phone.waitForResponse((r) => isRefresh(r.request()), { timeout: 10_000 }).catch(() => {});
await phone.waitForTimeout(100);
check(phoneRefreshes === 1, 'the access token is refreshed before it expires');
const nextCall = phone.waitForRequest((r) => r.url().startsWith(apiUrl) && r.method() !== 'OPTIONS', { timeout: 10_000 });
await phone.getByRole('link', { name: 'Dashboard' }).click();
const tokenAfter = (await nextCall).headers().authorization || '';
await phone.getByRole('heading', { name: 'Welcome, Demo Admin' }).waitFor();
check(tokenAfter.startsWith('Bearer ') && tokenAfter !== tokenBefore, 'the next request carries the refreshed token');

// 15. Sign out revokes the refresh token at the pool and forgets it here.
const saved = JSON.parse(await admin.evaluate(() => sessionStorage.getItem('veloconnect.session')));
await admin.getByRole('button', { name: 'Sign out' }).click();
await admin.getByRole('heading', { name: 'Sign in to VeloConnect' }).waitFor();
check(await admin.evaluate(() => sessionStorage.length) === 0, 'sign out forgets the refresh token');
const cfg = await (await fetch(`${appUrl}/config.json`)).json();
const reuse = await fetch(cfg.cognitoEndpoint, {
  method: 'POST',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
  body: JSON.stringify({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: cfg.userPoolClientId, AuthParameters: { REFRESH_TOKEN: saved.refreshToken } }),
});
check(reuse.status === 400 && (await reuse.json()).__type.includes('NotAuthorized'), 'a signed-out refresh token is refused by the pool');

// 16. Time from navigation to the Users table with data (a signed-in tab, reloaded).
times = [];
for (let i = 0; i < 7; i++) {
  const t0 = Date.now();
  await phone.goto(`${appUrl}/settings/company/users`);
  await rows(phone).first().waitFor();
  times.push(Date.now() - t0);
}
times.sort((a, b) => a - b);
median = times[Math.floor(times.length / 2)];

// 17. Long names and addresses at 320 px: the accept page, the Users list, the user page.
log('long addresses at 320 px');
const longEmail = 'maximiliana.featherstonehaugh-wolfeschlegelsteinhausen@demo.veloconnect.test';
const longName = 'Maximiliana Featherstonehaugh-Wolfeschlegelsteinhausenberger';
await phone.setViewportSize({ width: 320, height: 720 });
await phone.getByRole('button', { name: 'Invite user' }).click();
const ld = phone.getByRole('dialog', { name: 'Invite users' });
await ld.getByLabel('Email').nth(0).fill(longEmail);
await ld.getByLabel('Name').nth(0).fill(longName);
await ld.getByRole('button', { name: 'Send invite' }).click();
await notice(phone).filter({ hasText: 'Invite sent.' }).waitFor();
const longLink = ((await mailTo(longEmail)).body.match(/href="([^"]+accept#token=[^"]+)"/) || [])[1];
const narrow = await newPage('narrow', { width: 320, height: 720 });
pages.push(narrow);
await narrow.goto(longLink.replace(/&amp;/g, '&'));
await narrow.getByRole('heading', { name: 'Join Demo Company on VeloConnect' }).waitFor();
let wide = await overflowing(narrow);
check(wide.length === 0, `the accept page at 320 px: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(narrow, '23-accept-long-address-320');
await narrow.getByLabel('Choose a password').fill('Long-Address-Passw0rd');
await narrow.getByRole('button', { name: 'Set password and join' }).click();
await narrow.getByRole('heading', { name: /^Welcome, / }).waitFor();
await phone.reload();
await rowFor(phone, longEmail).waitFor();
wide = await overflowing(phone);
check(wide.length === 0, `the Users list at 320 px: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(phone, '23-users-long-address-320');
await rowFor(phone, longEmail).getByRole('link', { name: longName, exact: true }).click();
await phone.getByRole('heading', { name: longName }).waitFor();
wide = await overflowing(phone);
check(wide.length === 0, `the user page at 320 px: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(phone, '23-user-long-address-320');

// 18. The team view (issue 28, part 1): availability from the top bar, the Online / Offline
// switch and the activity order, the presence column refreshing itself only while visible, an
// admin setting a user's availability and capacity, and the company's default.
log('team view');
const boss = phone; // the admin's tab still signed in (the first one signed out above)
await boss.setViewportSize({ width: 1280, height: 860 });
// The status menu, by keyboard: open it, arrow down to the third choice, Enter.
await narrow.getByRole('button', { name: 'Your availability: Available' }).focus();
await narrow.keyboard.press('Enter');
await narrow.keyboard.press('ArrowDown');
await narrow.keyboard.press('ArrowDown');
check(await narrow.evaluate(() => document.activeElement?.textContent) === 'Do not disturb', 'the status menu takes the arrow keys, and sends nothing until a choice');
await narrow.keyboard.press('Enter');
await notice(narrow).filter({ hasText: 'You are now Do not disturb.' }).waitFor();
check(await narrow.locator('.status-pick .dot.dnd').count() === 1, 'an agent sets their own availability from the top bar, and the dot follows');
await screen(narrow, '26-status-menu-320');
await boss.goto(`${appUrl}/settings/company/users`);
await rows(boss).first().waitFor();
await boss.getByRole('radio', { name: 'Online' }).check();
await boss.waitForURL(/presence=online/);
await rowFor(boss, longEmail).waitFor();
check(await boss.locator('table.users tr.invite').first().waitFor({ state: 'detached', timeout: 5000 }).then(() => true, () => false), 'the Online view lists people, not invites');
await expectText(rowFor(boss, longEmail).locator('.last-active'), 'Online now', 'someone who just made a request is online');
check(await rowFor(boss, longEmail).locator('.avail.dnd').innerText() === 'Do not disturb', 'their availability is in their row');
await screen(boss, '26-users-online');
await boss.setViewportSize({ width: 390, height: 844 });
wide = await overflowing(boss);
check(wide.length === 0, `the Online view on a phone: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(boss, '26-users-online-phone');
await boss.setViewportSize({ width: 1280, height: 860 });
await boss.getByRole('radio', { name: 'Offline' }).check();
await boss.waitForURL(/presence=offline/);
check(await rowFor(boss, longEmail).waitFor({ state: 'detached', timeout: 5000 }).then(() => true, () => false), 'the Offline view leaves out who is online');
await boss.getByRole('radio', { name: 'Everyone' }).check();
await boss.getByLabel('Sort by').selectOption('lastActive');
await boss.waitForURL(/sort=lastActive/);
await rowFor(boss, longEmail).waitFor();
const lastActives = await boss.locator('table.users tbody tr.user').evaluateAll((trs) => trs.map((tr) => tr.querySelector('.last-active')?.textContent || ''));
check(lastActives.length >= 2 && lastActives.findIndex((x) => x.startsWith('Never')) === -1 || lastActives.findLastIndex((x) => !x.startsWith('Never')) < lastActives.findIndex((x) => x.startsWith('Never')), 'sorted by last activity: anyone never signed in comes last');

// The presence column refreshes itself every 30 s (timers on a controlled clock), in place,
// not while the tab is hidden, and at once when it is shown again.
await boss.clock.install();
await boss.reload();
await rowFor(boss, longEmail).waitFor();
const listCalls = () => exchanges.filter((x) => x.method === 'GET' && new URL(x.url).pathname === '/users').length;
const settle = () => boss.waitForTimeout(600);
await settle();
let before = listCalls();
const firstRow = await rows(boss).first().getAttribute('data-email');
await boss.clock.fastForward(30000);
await settle();
check(listCalls() === before + 1, `after 30 s the list is read again by itself (${listCalls() - before} reads)`);
check(await rows(boss).first().getAttribute('data-email') === firstRow && await boss.locator('.loading-row').count() === 0, 'in place: same rows, same order, no loading row');
await boss.evaluate(() => { Object.defineProperty(document, 'hidden', { value: true, configurable: true }); });
before = listCalls();
await boss.clock.fastForward(60000);
await settle();
check(listCalls() === before, 'a hidden tab reads nothing');
await boss.evaluate(() => { Object.defineProperty(document, 'hidden', { value: false, configurable: true }); document.dispatchEvent(new Event('visibilitychange')); });
await settle();
check(listCalls() === before + 1, 'shown again, it reads at once');

// An admin sets a user's availability (at once) and capacity (with Save).
await rowFor(boss, longEmail).getByRole('link', { name: longName, exact: true }).click();
await boss.getByRole('heading', { name: longName }).waitFor();
await boss.getByRole('button', { name: `Availability of ${longName}: Do not disturb` }).click();
await boss.getByRole('menuitemradio', { name: 'Away' }).click();
await notice(boss).filter({ hasText: 'is now Away.' }).waitFor();
await expectText(boss.locator('dd.availability'), 'Away', 'the user page shows the availability an admin set, and who set it');
check((await boss.locator('dd.availability').innerText()).includes('Set by Demo Admin'), 'who set it is named');
const maxChats = boss.getByLabel('Max chats at once');
await maxChats.fill('0');
const puts = () => exchanges.filter((x) => x.method === 'PUT').length;
const putsBefore = puts();
await boss.getByRole('button', { name: 'Save changes' }).click();
await settle();
check(puts() === putsBefore && await maxChats.evaluate((el) => !el.validity.valid), 'a capacity of 0 is stopped in the form, nothing sent');
await maxChats.fill('8');
await boss.getByRole('button', { name: 'Save changes' }).click();
await notice(boss).filter({ hasText: 'Changes saved' }).waitFor();
await expectText(boss.locator('.facts dd').nth(7), '8', 'the saved capacity is shown');
await screen(boss, '27-user-availability-capacity');

// The company's default for people who join.
await boss.getByRole('link', { name: 'Company', exact: true }).click();
await boss.getByRole('heading', { name: 'Company information' }).waitFor();
const def = boss.getByLabel('Max chats for people who join');
check(await def.inputValue() === '3', 'the default starts at 3');
await def.fill('5');
await boss.getByRole('button', { name: 'Save' }).click();
await notice(boss).filter({ hasText: 'can take 5 chats at once' }).waitFor();
check(true, 'an admin sets the company default');
await screen(boss, '28-company');
await boss.setViewportSize({ width: 390, height: 844 });
await screen(boss, '28-company-phone');
await boss.setViewportSize({ width: 1280, height: 860 });

// Quick edit (issue 28, item 4) by keyboard: a third person joins, then one save changes three
// rows; a save that would leave no admin is refused, row by row, and saves nothing.
const quinnEmail = 'quinn.quick@demo.veloconnect.test';
await boss.getByRole('link', { name: 'Users', exact: true }).click();
await boss.getByRole('button', { name: 'Invite user' }).click();
const qd = boss.getByRole('dialog', { name: 'Invite users' });
await qd.getByLabel('Email').nth(0).fill(quinnEmail);
await qd.getByLabel('Name').nth(0).fill('Quinn Quick');
await qd.getByRole('button', { name: 'Send invite' }).click();
await notice(boss).filter({ hasText: 'Invite sent.' }).waitFor();
const quinn = await newPage('quinn');
pages.push(quinn);
await quinn.goto(((await mailTo(quinnEmail)).body.match(/href="([^"]+accept#token=[^"]+)"/) || [])[1].replace(/&amp;/g, '&'));
await quinn.getByLabel('Choose a password').fill('Quinn-Quick-Passw0rd');
await quinn.getByRole('button', { name: 'Set password and join' }).click();
await quinn.getByRole('heading', { name: /^Welcome, / }).waitFor();
await boss.reload();
await rowFor(boss, quinnEmail).waitFor();
await boss.getByRole('button', { name: 'Edit several' }).click();
const qf = (what, name) => boss.getByLabel(`${what} for ${name}`, { exact: true });
const patches = () => exchanges.filter((x) => x.method === 'PATCH');
// Refused: the only admin made a supervisor, beside a change that would have been fine.
await qf('Role', 'Demo Admin').focus();
await boss.keyboard.press('ArrowUp');
check(await qf('Role', 'Demo Admin').inputValue() === 'supervisor', 'the arrow key picks a role in the row');
await qf('Max chats', 'Quinn Quick').focus();
await boss.keyboard.press('Control+A');
await boss.keyboard.type('6');
await boss.getByRole('button', { name: 'Save 2 changes' }).focus();
await boss.keyboard.press('Enter');
await rowFor(boss, adminEmail).locator('.row-error').waitFor();
check((await rowFor(boss, adminEmail).locator('.row-error').innerText()).includes('without an active admin'), 'a refused quick edit says why beside the row it refused');
check(await rowFor(boss, quinnEmail).locator('.row-error').count() === 0, 'and only beside that row');
const refusedPatch = patches().at(-1);
check(refusedPatch?.status === 409 && refusedPatch.responseBody?.type?.endsWith('/rows-refused'), 'the API refused the whole batch (409 rows-refused)');
await screen(boss, '29-quick-edit-refused');
// Fixed, and three rows changed: all saved in one request.
await qf('Role', 'Demo Admin').focus();
await boss.keyboard.press('ArrowDown');
await qf('Team', longName).focus();
await boss.keyboard.type('Night');
await qf('Role', 'Quinn Quick').focus();
await boss.keyboard.press('ArrowDown');
await boss.keyboard.press('Tab');
await boss.keyboard.type('Night');
await boss.keyboard.press('Tab');
check(await boss.evaluate(() => document.activeElement?.getAttribute('aria-label')) === 'Availability for Quinn Quick', 'Tab moves from cell to cell along the row');
await boss.keyboard.press('ArrowDown');
await qf('Max chats', 'Demo Admin').focus();
await boss.keyboard.press('Control+A');
await boss.keyboard.type('4');
const patchesBefore = patches().length;
await boss.getByRole('button', { name: 'Save 3 changes' }).focus();
await boss.keyboard.press('Enter');
await notice(boss).filter({ hasText: '3 users saved.' }).waitFor();
check(patches().length === patchesBefore + 1 && patches().at(-1).status === 200, 'three rows saved by one request');
const quinnRow = rowFor(boss, quinnEmail);
check(await quinnRow.locator('td').nth(1).innerText() === 'Supervisor' && await quinnRow.locator('td').nth(2).innerText() === 'Night', 'the saved rows show what was saved');
check((await quinnRow.locator('.avail').innerText()) === 'Away', 'availability saved with them');
await screen(boss, '29-quick-edit-saved');
await boss.getByRole('button', { name: 'Edit several' }).click();
await screen(boss, '29-quick-edit');
await boss.setViewportSize({ width: 390, height: 844 });
await screen(boss, '29-quick-edit-phone');
await boss.setViewportSize({ width: 1280, height: 860 });
await boss.getByRole('button', { name: 'Cancel' }).click();

// Export (issue 28, item 6): the Users list and the audit log as CSV files, checked as saved.
async function exported(page, what) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const text = readFileSync(await download.path(), 'utf8');
  check(text.startsWith('\ufeff') && text.includes('\r\n'), `${what}: UTF-8 with a byte-order mark, CRLF rows (${download.suggestedFilename()})`);
  return text.replace(/^\ufeff/, '').split('\r\n').filter(Boolean);
}
const userLines = await exported(boss, 'the users export');
const shownUsers = await boss.locator('table.users tbody tr.user').count();
check(userLines[0].startsWith('id,name,email,role,team,status,availability,maxChats') && userLines.length - 1 === shownUsers,
  `the users export holds every user the list shows (${userLines.length - 1} rows, ${shownUsers} shown)`);
check(userLines.some((l) => l.includes('Quinn Quick') && l.includes('supervisor') && l.includes('Night')), 'the file holds what the quick edit saved');
await boss.getByRole('link', { name: 'Audit log' }).click();
await boss.locator('ol.audit li:not(.loading-row)').first().waitFor();
const auditLines = await exported(boss, 'the audit export');
check(auditLines[0].startsWith('at,action,actorId') && auditLines.some((l) => l.includes('users.exported')), 'the audit export holds the log, the users export included');
await screen(boss, '30-audit-export');

// Teams (issue 28, item 5): the Teams section counts the people the quick edit put in Night;
// a rename moves them all, the supervisor among them sees it on their next read, and the
// pickers offer the team by its new name.
await boss.getByRole('link', { name: 'Company', exact: true }).click();
const teamsCard = boss.locator('section.card', { has: boss.getByRole('heading', { name: 'Teams' }) });
const nightRow = teamsCard.getByRole('row', { name: /^Night/ });
await nightRow.waitFor();
check((await nightRow.locator('td').first().innerText()) === '2' && (await nightRow.innerText()).includes('1 supervisor'), 'the Teams section counts Night\'s two people by role');
await screen(boss, '31-teams');
await nightRow.getByRole('button', { name: 'Rename Night' }).click();
const renameDialog = boss.getByRole('dialog', { name: 'Rename Night' });
await renameDialog.getByLabel('New name').fill('Late');
await screen(boss, '31-teams-rename');
await renameDialog.getByRole('button', { name: 'Rename' }).click();
await notice(boss).filter({ hasText: 'Night is now Late (2 people moved).' }).waitFor();
await teamsCard.getByRole('row', { name: /^Late/ }).waitFor();
check(await teamsCard.getByRole('row', { name: /^Night/ }).count() === 0, 'renamed: Night is gone, Late has its people');
const renamePost = exchanges.filter((x) => x.method === 'POST' && new URL(x.url).pathname === '/teams/rename').at(-1);
check(renamePost?.status === 200 && renamePost.responseBody?.members === 2, 'one request moved both');
await boss.setViewportSize({ width: 390, height: 844 });
wide = await overflowing(boss);
check(wide.length === 0, `the Teams section on a phone: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(boss, '31-teams-phone');
await boss.setViewportSize({ width: 1280, height: 860 });
await quinn.goto(`${appUrl}/settings/company/users`);
await rowFor(quinn, longEmail).waitFor();
check(await rowFor(quinn, longEmail).locator('td').nth(2).innerText() === 'Late', 'the supervisor\'s own list shows their team under its new name');
await boss.getByRole('link', { name: 'Users', exact: true }).click();
await boss.getByRole('button', { name: 'Invite user' }).click();
const pick = boss.getByRole('dialog', { name: 'Invite users' });
await pick.getByLabel('Team').first().waitFor();
await boss.waitForFunction(() => [...document.querySelectorAll('#invite-teams option')].some((o) => o.value === 'Late'));
check(await pick.getByLabel('Team').first().getAttribute('list') === 'invite-teams', 'the invite dialog\'s team field offers the company\'s teams (Late among them)');
await pick.getByRole('button', { name: 'Cancel' }).click();
// An admin setting their own availability on their user page: the top bar follows at once.
await rowFor(boss, adminEmail).getByRole('link', { name: 'Demo Admin', exact: true }).click();
await boss.getByRole('heading', { name: 'Demo Admin' }).waitFor();
await boss.getByRole('button', { name: /^Availability of Demo Admin: / }).click();
const other = (await boss.getByRole('menuitemradio', { checked: false }).first().innerText()).trim();
await boss.getByRole('menuitemradio', { name: other }).click();
await boss.getByRole('button', { name: `Your availability: ${other}` }).waitFor({ timeout: 5000 }).then(() => check(true, `the top bar follows an admin's own availability set on their page (now ${other})`), () => check(false, 'the top bar follows an admin\'s own availability set on their page'));

// Integrations (issue 29 items 7 and 8): an admin makes a token for the company's own system,
// shown once; the system reads GET /events with it (from Node, as it would), which the list
// shows as its last use; revoked, the token is refused at its next request. Agents and
// supervisors have no such page.
log('integrations');
await boss.getByRole('link', { name: 'Integrations', exact: true }).click();
await boss.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
await expectText(boss.locator('main .empty'), 'No integration tokens yet.', 'no tokens at first, and the page says so');
await boss.getByRole('button', { name: 'Create token' }).click();
const made = boss.getByRole('dialog');
await made.getByLabel('Name').fill('   ');
await made.getByRole('button', { name: 'Create token' }).click();
await made.locator('.field-error').waitFor();
check(await made.getByLabel('Name').getAttribute('aria-invalid') === 'true', `a blank name is refused by the API, and the Name field says why (“${await made.locator('.field-error').innerText()}”)`);
check(await made.getByRole('checkbox', { name: 'Read events' }).isChecked(), 'the one scope, Read events, is ticked');
await made.getByLabel('Name').fill('Warehouse sync');
await made.getByRole('button', { name: 'Create token' }).click();
const tokenField = made.getByLabel('Token');
await tokenField.waitFor();
const token = await tokenField.inputValue();
check(/^vc_[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/.test(token), 'the new token is shown, whole');
check(await tokenField.evaluate((el) => el.readOnly && document.activeElement === el && el.selectionEnd - el.selectionStart === el.value.length), 'in a read-only field, selected for copying');
check((await made.innerText()).includes('This is the only time it is shown.') && await made.getByRole('button', { name: 'Copy' }).count() === 1, 'with a Copy button and the warning that it is shown only now');
await made.getByRole('button', { name: 'Copy' }).click();
await screen(boss, '32-integrations-token');
await made.getByRole('button', { name: 'Done' }).click();
const tokenRow = boss.getByRole('row', { name: /^Warehouse sync/ });
await tokenRow.waitFor();
let rowText = await tokenRow.innerText();
check(rowText.includes('Read events') && rowText.includes('by Demo Admin') && rowText.includes('Never') && rowText.includes('Active'), `the list shows it: its scope in words, who made it, never used, active (${rowText.replace(/\s+/g, ' ')})`);
check(!(await boss.content()).includes(token.split('.')[1]), 'once the dialog is closed, the token\'s secret is nowhere in the page');
await screen(boss, '32-integrations');
const readEvents = async () => {
  const res = await fetch(`${apiUrl}/events`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => undefined);
  exchanges.push({ method: 'GET', url: `${apiUrl}/events`, status: res.status, responseBody: body, contentType: res.headers.get('content-type') || '', auth: 'Bearer vc_…' });
  return { status: res.status, body };
};
const read = await readEvents();
check(read.status === 200 && Array.isArray(read.body?.events), `the company's system reads GET /events with the token (${read.status}, ${read.body?.events?.length} events)`);
await boss.reload();
await tokenRow.waitFor();
rowText = await tokenRow.innerText();
check(!rowText.includes('Never'), `reloaded, the list shows when the token was last used (${rowText.replace(/\s+/g, ' ')})`);
await boss.setViewportSize({ width: 390, height: 844 });
wide = await overflowing(boss);
check(wide.length === 0, `the Integrations page on a phone: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await boss.setViewportSize({ width: 1280, height: 860 });
await tokenRow.getByRole('button', { name: 'Revoke Warehouse sync' }).click();
const revokeDialog = boss.getByRole('dialog', { name: 'Revoke Warehouse sync?' });
check((await revokeDialog.innerText()).includes('Systems using it stop at their next request.'), 'revoking asks first, and says what it stops');
await revokeDialog.getByRole('button', { name: 'Revoke' }).click();
await notice(boss).filter({ hasText: 'Warehouse sync is revoked.' }).waitFor();
await expectText(tokenRow.locator('td').nth(3), 'Revoked', 'the row says Revoked, when and by whom');
check((await tokenRow.locator('td').nth(3).innerText()).includes('by Demo Admin') && await tokenRow.getByRole('button').count() === 0, 'and offers no Revoke any more');
const refused = await readEvents();
check(refused.status === 401, `the revoked token is refused at its next request (${refused.status})`);
await boss.setViewportSize({ width: 390, height: 844 });
wide = await overflowing(boss);
check(wide.length === 0, `a revoked token on a phone: nothing reaches past the screen${wide.length ? ` (${wide.join('; ')})` : ''}`);
await screen(boss, '32-integrations-phone');
await boss.setViewportSize({ width: 1280, height: 860 });
// Directory sync (issue 30): a token with the scim scope shows the SCIM base URL to paste into
// the identity provider; the provider (Node, as Okta would) creates a person, whom the Users list
// marks as the directory's.
log('directory sync');
await boss.getByRole('button', { name: 'Create token' }).click();
const scimDialog = boss.getByRole('dialog');
await scimDialog.getByLabel('Name').fill('Okta');
await scimDialog.getByRole('checkbox', { name: 'Read events' }).uncheck();
await scimDialog.getByRole('button', { name: 'Create token' }).click();
check(await scimDialog.getByLabel('Token').count() === 0 && await scimDialog.getByRole('checkbox', { name: 'Read events' }).evaluate((el) => !el.validity.valid), 'a token with no scope is not made: the form asks for one');
await scimDialog.getByRole('checkbox', { name: 'Directory sync (SCIM)' }).check();
await scimDialog.getByRole('button', { name: 'Create token' }).click();
await scimDialog.getByLabel('Token').waitFor();
const scimToken = await scimDialog.getByLabel('Token').inputValue();
const scimUrl = await scimDialog.getByLabel(/SCIM base URL/).inputValue();
check(scimUrl === `${apiUrl}/scim/v2`, `the dialog shows the SCIM base URL to paste into the identity provider (${scimUrl})`);
await screen(boss, '33-directory-token');
await scimDialog.getByRole('button', { name: 'Done' }).click();
const scimRow = boss.getByRole('row', { name: /^Okta/ });
await scimRow.waitFor();
check((await scimRow.innerText()).includes('Directory sync (SCIM)') && !(await scimRow.innerText()).includes('Read events'), 'the list names its one scope');
const provisioned = `grace.${Date.now()}@example.com`;
const provision = async () => {
  const res = await fetch(`${scimUrl}/Users`, { method: 'POST', headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: provisioned, name: { givenName: 'Grace', familyName: 'Hopper' } }) });
  const body = await res.json().catch(() => undefined);
  exchanges.push({ method: 'POST', url: `${scimUrl}/Users`, status: res.status, responseBody: body, contentType: res.headers.get('content-type') || '', auth: 'Bearer vc_…' });
  return { status: res.status, body };
};
await boss.getByRole('link', { name: 'Users', exact: true }).click();
await boss.locator('.seat-meter').filter({ hasText: / of 5 seats/ }).waitFor();
const meter = await boss.locator('.seat-meter').innerText();
let created = await provision();
if (meter.startsWith('5 of 5')) {
  // The plan is full: the provider is told so, in SCIM's form. It unassigns someone (not the
  // admin, nor the two people the steps below sign in as): their seat is free, and the retry fits.
  check(created.status === 409 && created.body?.detail?.includes('5 seats') && created.body.detail.includes('https://veloconnect.io/pricing'), `with every seat taken the provider hears the limit and the pricing page (${created.status}: ${created.body?.detail})`);
  const scimCall = async (method, path, body) => {
    const res = await fetch(`${scimUrl}${path}`, { method, headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' }, body: body && JSON.stringify(body) });
    const json = await res.json().catch(() => undefined);
    exchanges.push({ method, url: `${scimUrl}${path.split('?')[0]}`, status: res.status, responseBody: json, contentType: res.headers.get('content-type') || '', auth: 'Bearer vc_…' });
    return json;
  };
  const everyone = await scimCall('GET', '/Users?count=100');
  const leaving = everyone.Resources.find((r) => r.active && ![adminEmail, longEmail, quinnEmail].includes(r.userName));
  const gone = leaving && await scimCall('PATCH', `/Users/${leaving.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
  check(gone?.active === false, `the provider unassigns ${leaving?.userName}: a seat is free`);
  created = await provision();
}
check(created.status === 201, `the identity provider creates a person through SCIM (${created.status}; the seats were “${meter}”)`);
await boss.reload();
const gracesRow = boss.locator(`tr[data-email="${provisioned}"]`);
await gracesRow.waitFor();
check(await gracesRow.locator('.managed-mark').innerText() === 'Directory', 'the Users list marks the invited person as the directory\'s');
check(await boss.locator('tr[data-email] .managed-mark').count() === 1, 'and nobody else');
await screen(boss, '33-users-directory');
await boss.getByRole('link', { name: 'Audit log' }).click();
const byDirectory = await boss.getByText('Directory sync invited Grace Hopper').first().waitFor({ timeout: 5000 }).then(() => true, () => false);
check(byDirectory, 'the audit log says Directory sync invited them');
// Settings › Directory sync: the provider pushes a group holding Grace; the admin maps it to a
// team, and saving moves her at once. A mapping that gives nothing says so on its row.
const scimSend = async (method, path, body) => {
  const res = await fetch(`${scimUrl}${path}`, { method, headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' }, body: body && JSON.stringify(body) });
  const json = await res.json().catch(() => undefined);
  exchanges.push({ method, url: `${scimUrl}${path.split('?')[0]}`, status: res.status, responseBody: json, contentType: res.headers.get('content-type') || '', auth: 'Bearer vc_…' });
  return { status: res.status, body: json };
};
const night = `Night shift ${Date.now()}`;
const pushed = await scimSend('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: night, members: [{ value: created.body.id }] });
check(pushed.status === 201, `the provider pushes a group holding Grace (${pushed.status})`);
await boss.getByRole('link', { name: 'Directory sync' }).click();
await boss.getByRole('heading', { name: 'Directory sync', level: 1 }).waitFor();
check(await boss.getByLabel('SCIM base URL').inputValue() === scimUrl, 'Directory sync shows the SCIM base URL');
await boss.getByText(/^Okta: last request/).waitFor();
check(await boss.getByText(/Last change .*: Directory sync /).count() === 1, 'and the token\'s last request and last change, from the audit log');
check(await boss.getByText(`${night}: 1 member`, { exact: true }).count() === 1, 'the pushed group with its members, not mapped yet');
await boss.getByRole('button', { name: 'Add mapping' }).click();
await boss.getByLabel('Group of mapping 1').fill(night);
await boss.getByLabel('Team of mapping 1').fill('Nights');
await boss.getByRole('button', { name: 'Add mapping' }).click();
await boss.getByLabel('Group of mapping 2').fill('Day shift');
await boss.getByRole('button', { name: 'Save mappings' }).click();
await boss.locator('.field-error').filter({ hasText: 'needs a role, a team, or both' }).waitFor();
check(await boss.getByLabel('Group of mapping 2').getAttribute('aria-invalid') === 'true', 'a mapping that gives nothing is refused on its own row, and nothing is saved');
await screen(boss, '34-directory-sync-refused');
await boss.getByRole('button', { name: 'Remove mapping 2' }).click();
await boss.getByRole('button', { name: 'Save mappings' }).click();
await boss.getByText('Mappings saved. 1 person moved.').waitFor();
check(await boss.getByText(`${night}: 1 member · mapped`, { exact: true }).count() === 1, 'saving moves the group\'s member at once and marks the group mapped');
await screen(boss, '34-directory-sync');
await boss.getByRole('link', { name: 'Connect a provider (new token)' }).click();
const connect = boss.getByRole('dialog');
await connect.getByLabel('Name').waitFor();
check(await connect.getByRole('checkbox', { name: 'Directory sync (SCIM)' }).isChecked() && !(await connect.getByRole('checkbox', { name: 'Read events' }).isChecked()), 'Connect a provider opens the token dialog with only directory sync ticked');
await connect.getByRole('button', { name: 'Cancel' }).click();
await boss.goBack();
await boss.getByRole('heading', { name: 'Directory sync', level: 1 }).waitFor();
await boss.getByRole('link', { name: 'Users', exact: true }).click();
await gracesRow.waitFor();
check((await gracesRow.innerText()).includes('Nights'), 'the Users list shows Grace in the mapped team');
await boss.getByRole('link', { name: 'Audit log' }).click();
check(await boss.getByText(/changed the directory’s group mappings \(1 now\)/).first().waitFor({ timeout: 5000 }).then(() => true, () => false), 'the audit log says who changed the mappings');
await boss.getByRole('link', { name: 'Integrations', exact: true }).click();
await boss.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
for (const [p, who] of [[narrow, 'an agent'], [quinn, 'a supervisor']]) {
  for (const [path, name] of [['/settings/integrations', 'Integrations'], ['/settings/directory-sync', 'Directory sync']]) {
    await p.goto(`${appUrl}${path}`);
    await p.getByRole('heading', { name: 'Not found' }).waitFor();
    check(await p.getByRole('link', { name }).count() === 0 && await p.getByRole('link', { name: 'Users', exact: true }).count() === 1, `${who} has no ${name} link, and no such page`);
  }
}
}
try {
  await journey();
} catch (e) {
  failures.push(`the journey stopped: ${e.message.split('\n')[0]}`);
  console.log(e);
  for (const [i, p] of pages.entries()) await p.screenshot({ path: join(shots, `failure-${i}.png`), fullPage: true }).catch(() => {});
}

// ---- the contract, tokens, and the page's own errors
await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 5000))]);
// Exchanges still arriving after the wait are left out of the count as well as the check.
const checked = exchanges.slice();
const contract = checked.flatMap((ex) => checkExchange(spec, ex));
check(contract.length === 0, `every one of ${checked.length} API exchanges matches infra/openapi.yaml${contract.length ? `:\n    ${[...new Set(contract)].slice(0, 20).join('\n    ')}` : ''}`);
check(checked.every((ex) => !/eyJ/.test(ex.url)), 'no token ever appears in a URL');
check(consoleProblems.length === 0, `no script errors or CSP refusals in the page${consoleProblems.length ? `:\n    ${consoleProblems.slice(0, 10).join('\n    ')}` : ''}`);

await browser.close();
stop();
const summary = { screens: scanned, exchanges: checked.length, usersTableMs: { median, min: times[0], max: times[times.length - 1] }, seconds: (Date.now() - started) / 1000 };
writeFileSync(join(shots, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
log(`time to the Users table with data: median ${median} ms (min ${times[0]}, max ${times[times.length - 1]}, 7 loads)`);
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
log(`browser suite passed: ${scanned.length} screens scanned, ${checked.length} API exchanges checked`);
process.exit(0);
