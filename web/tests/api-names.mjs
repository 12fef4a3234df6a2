// The console names the API's operations in one place, web/public/assets/api.js, each function
// by its operationId in infra/openapi.yaml. This calls every one of them in Node against a stub
// `fetch` (no browser, no local run) and checks that its name is an operationId of the spec, that
// it sends that operation's method to its path (path parameters encoded), passes the query, body
// and Idempotency-Key through, and sends the token exactly where the spec wants one; that every
// operation of the spec has its function; and that no other console file names an API path.
//   node web/tests/api-names.mjs [spec.yaml]
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from './openapi.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const assets = join(repo, 'web/public/assets');
const spec = loadSpec(process.argv[2] || join(repo, 'infra/openapi.yaml'));
const failures = [];
const fail = (what) => { failures.push(what); console.log(`  FAIL ${what}`); };

// ---- the spec's operations, by operationId
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const ops = new Map();
for (const [path, item] of Object.entries(spec.paths)) {
  for (const m of METHODS) {
    const op = item[m];
    if (!op) continue;
    if (!op.operationId) { fail(`${m.toUpperCase()} ${path} has no operationId in the spec`); continue; }
    if (ops.has(op.operationId)) fail(`operationId ${op.operationId} is used twice in the spec`);
    // Directory sync's routes take only an integration token: identity providers call them, the console never does.
    const machine = Array.isArray(op.security) && op.security.length > 0 && op.security.every((x) => Object.keys(x).join() === 'integrationToken');
    ops.set(op.operationId, { method: m.toUpperCase(), path, op, public: Array.isArray(op.security) && op.security.length === 0, machine });
  }
}

// ---- a browser's globals, enough for session.js: a stub fetch that records each request
const API = 'http://api.test';
const COGNITO = 'http://cognito.test/';
const sent = [];
const store = new Map();
globalThis.sessionStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
globalThis.fetch = async (url, init = {}) => {
  const json = (body) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  if (url === COGNITO) return json({ AuthenticationResult: { AccessToken: 'probe-token', ExpiresIn: 3600 } });
  sent.push({ url, method: init.method, headers: init.headers || {}, body: init.body });
  return json({});
};
const session = await import(join(assets, 'session.js'));
const api = await import(join(assets, 'api.js'));
session.configure({ apiUrl: `${API}/`, cognitoEndpoint: COGNITO, userPoolClientId: 'probe' });
await session.signIn('probe@example.com', 'probe'); // so a call that should not send the token has one to leave out

// ---- every exported function against its operation
const ID = 'u/1 ?#%'; // a path parameter every character of which needs encoding
const KEY = 'probe-key';
for (const [name, fn] of Object.entries(api)) {
  const o = ops.get(name);
  if (typeof fn !== 'function') { fail(`api.js exports ${name}, which is not a function`); continue; }
  if (!o) { fail(`api.js exports ${name}, which is no operationId in the spec`); continue; }
  const params = (o.op.parameters || []).map((p) => (p.$ref ? p.$ref.split('/').reduce((x, k) => (k === '#' ? spec : x[k]), null) : p));
  const pathParams = o.path.match(/\{[^}]+\}/g) || [];
  const hasQuery = params.some((p) => p.in === 'query');
  const hasBody = Boolean(o.op.requestBody);
  // The arguments, in api.js's order: path parameters, then the query or the body, then options.
  const args = pathParams.map(() => ID);
  if (hasBody) args.push({ probe: true });
  else if (hasQuery) args.push({ limit: 7 });
  args.push({ idempotencyKey: KEY });
  sent.length = 0;
  await fn(...args).catch((e) => fail(`${name} threw ${e.message}`));
  const what = `${name} (${o.method} ${o.path})`;
  if (sent.length !== 1) { fail(`${what}: sent ${sent.length} requests`); continue; }
  const [req] = sent;
  const want = API + o.path.replace(/\{[^}]+\}/g, encodeURIComponent(ID));
  const [path, query = ''] = req.url.split('?');
  const errs = [];
  if (req.method !== o.method) errs.push(`method ${req.method}`);
  if (path !== want) errs.push(`path ${path.slice(API.length)}, not ${want.slice(API.length)}`);
  if (hasQuery && !hasBody && query !== 'limit=7') errs.push(`query "${query}" instead of limit=7`);
  if (!hasQuery && query) errs.push(`query "${query}" the spec doesn't take`);
  if (hasBody !== (req.body !== undefined) || (hasBody && req.body !== '{"probe":true}')) errs.push(`body ${req.body}`);
  if (o.method !== 'GET' && req.headers['idempotency-key'] !== KEY) errs.push('the Idempotency-Key passed in was not sent');
  const token = req.headers.authorization === 'Bearer probe-token';
  if (o.public === token) errs.push(o.public ? 'sends the token to a public route' : 'sends no token');
  if (errs.length) fail(`${what}: ${errs.join('; ')}`);
  else console.log(`  ok   ${name} -> ${o.method} ${o.path}`);
}
const machines = [...ops].filter(([, o]) => o.machine).map(([n]) => n);
for (const [name, o] of ops) if (!(name in api) && !o.machine) fail(`operation ${name} has no function in api.js`);
for (const name of machines) if (name in api) fail(`api.js calls ${name}, which only an integration token may call`);
console.log(`  ok   ${machines.length} operations for integration tokens only (SCIM) are not the console's`);
await session.signOut('expired'); // stops the refresh timer

// ---- no other console file names an API path or calls the transport itself
const prefixes = [...new Set(Object.keys(spec.paths).map((p) => p.split('/')[1]))];
const literal = new RegExp(`['"\`]/(${prefixes.join('|')})(?=[/'"\`?$])`);
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'vendor') walk(p); } else if (e.name.endsWith('.js') && e.name !== 'api.js' && e.name !== 'session.js') files.push(p);
  }
})(assets);
const before = failures.length;
for (const f of files) {
  const rel = relative(repo, f);
  readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
    if (literal.test(line)) fail(`${rel}:${i + 1} names an API path: ${line.trim()}`);
    if (/\bapi\(/.test(line) || /import\s*\{[^}]*\bapi\b[^}]*\}\s*from\s*'[./]*session\.js'/.test(line)) fail(`${rel}:${i + 1} calls session.js's api() itself: ${line.trim()}`);
  });
}
console.log(`  ${failures.length > before ? 'FAIL' : 'ok  '} ${files.length} other console files name no API path (${prefixes.map((p) => `/${p}`).join(', ')}) and call no api()`);

if (failures.length) { console.log(`\n${failures.length} check(s) failed`); process.exit(1); }
console.log(`api.js: ${Object.keys(api).length} functions, one per operationId of the spec`);
