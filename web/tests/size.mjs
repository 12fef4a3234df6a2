// What the console ships to a browser, gzipped as a CDN would serve it: JavaScript, CSS, HTML.
// Fails when the JavaScript passes its budget of 61 KB gzipped. It was 40 KB until two-step
// verification (issue 26, part 4) took it from 38.4 to 44.8 KB: the vendored QR encoder
// (lean-qr's nano build, 2.0 KB) and the set-up, code step and Security screens (4.4 KB); 46 KB
// until the team view's first part (issue 28: presence, availability, chat capacity and the
// Company screen) took it from 45.7 to 48.9 KB; 50 KB until the quick edit and the availability
// menu (issue 28 item 4) took it to 50.6 KB; 52 KB until the exports and a review's fixes to
// the quick edit (rows measured against what the edit began with, refused rows read again)
// took it to 52.0 KB; 53 KB until the Teams section and the team pickers (issue 28 item 5:
// a new screen module of 2.0 KB and its strings) took it to 55.2 KB; 56 KB until Settings ›
// Integrations (issue 29 items 7 and 8: a screen module of 1.7 KB, its strings and the link,
// 2.1 KB in all) took it to 57.4 KB; 58 KB until directory sync's first console part (issue 30:
// the token's scopes, the SCIM base URL, the Directory mark, two audit sentences) took it to
// 58.0 KB, with its own screen to come. Each screen costs about 2 KB gzipped: the budget now
// tracks what the console is, and stripping comments at publish time (6.5 KB) is the next lever.
//   node web/tests/size.mjs
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname, extname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../public');
const BUDGET_JS = 61 * 1024;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
})(root);

const totals = {};
const rows = files.map((p) => {
  const raw = readFileSync(p);
  const gz = gzipSync(raw, { level: 9 }).length;
  const kind = extname(p).slice(1);
  totals[kind] = totals[kind] || { raw: 0, gz: 0, files: 0 };
  totals[kind].raw += raw.length; totals[kind].gz += gz; totals[kind].files += 1;
  return [relative(root, p), raw.length, gz];
}).sort((a, b) => b[2] - a[2]);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const [name, raw, gz] of rows) console.log(`${name.padEnd(32)} ${kb(raw).padStart(9)} ${kb(gz).padStart(9)} gz`);
console.log('');
for (const [kind, t] of Object.entries(totals)) console.log(`${kind.toUpperCase().padEnd(5)} ${String(t.files).padStart(2)} files ${kb(t.raw).padStart(9)} raw ${kb(t.gz).padStart(9)} gzipped`);
const js = totals.js ? totals.js.gz : 0;
if (js > BUDGET_JS) { console.log(`\nJavaScript is ${kb(js)} gzipped, over the ${kb(BUDGET_JS)} budget`); process.exit(1); }
console.log(`\nJavaScript ${kb(js)} gzipped, within the ${kb(BUDGET_JS)} budget`);
