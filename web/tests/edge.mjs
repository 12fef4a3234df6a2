// The CloudFront Function in infra/template.yaml (ConsolePages) decides which object a path
// serves on AWS; tests/src/web.rs decides it for the local run. Both must agree: a path whose
// last segment has no extension is the single page, any file path is itself. This runs the
// template's own code on the paths the console uses.
//   node web/tests/edge.mjs
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const template = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../infra/template.yaml'), 'utf8');
const block = template.match(/\n  ConsolePages:\n[\s\S]*?\n {6}FunctionCode: \|\n((?: {8}.*\n|\n)+)/);
if (!block) { console.error('ConsolePages.FunctionCode not found in infra/template.yaml'); process.exit(1); }
const code = block[1].replace(/^ {8}/gm, '');
const handler = new Function(`${code}; return handler;`)();

const cases = [
  ['/', '/index.html'],
  ['/accept', '/index.html'],
  ['/reset', '/index.html'],
  ['/settings/company/users', '/index.html'],
  ['/users/u_123', '/index.html'],
  ['/audit', '/index.html'],
  ['/profile', '/index.html'],
  ['/index.html', '/index.html'],
  ['/config.json', '/config.json'],
  ['/assets/0123abcd4567/main.js', '/assets/0123abcd4567/main.js'],
  ['/assets/0123abcd4567/vendor/preact.js', '/assets/0123abcd4567/vendor/preact.js'],
  ['/assets/0123abcd4567/app.css', '/assets/0123abcd4567/app.css'],
  ['/favicon.ico', '/favicon.ico'],
];
let failed = 0;
for (const [uri, want] of cases) {
  // CloudFront gives the function the path without the query string; the headers stay as sent.
  const request = { uri, querystring: { status: { value: 'active' } }, headers: { host: { value: 'd111.cloudfront.net' } } };
  const got = await handler({ version: '1.0', request });
  const ok = got === request && got.uri === want && got.querystring.status.value === 'active';
  if (!ok) failed += 1;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${uri} -> ${got && got.uri} (want ${want})`);
}
if (failed) { console.error(`${failed} path(s) served the wrong object`); process.exit(1); }
console.log(`edge function: ${cases.length} paths served as the local console serves them`);
