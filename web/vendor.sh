#!/usr/bin/env bash
# Copies the console's runtime libraries (Preact, its hooks, htm, lean-qr's nano encoder for the
# two-step set-up's QR code) from the npm registry, at the
# versions package-lock.json pins, into public/assets/vendor/. The browser loads them as plain
# ES modules, so the one bare import ("preact" inside hooks) is pointed at the file beside it;
# nothing else is changed. The copies are committed, so running the console needs no npm.
#   bash web/vendor.sh          refresh the copies
#   bash web/vendor.sh --check  fail if the committed copies differ from what the lock gives
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/preact ] || npm ci --no-audit --no-fund --loglevel=error
out=public/assets/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp node_modules/preact/dist/preact.mjs "$tmp/preact.js"
sed 's#from"preact"#from"./preact.js"#' node_modules/preact/hooks/dist/hooks.mjs >"$tmp/hooks.js"
cp node_modules/htm/dist/htm.mjs "$tmp/htm.js"
cp node_modules/lean-qr/nano.mjs "$tmp/qr.js"
grep -q 'from"./preact.js"' "$tmp/hooks.js" || { echo "vendor.sh: hooks no longer imports \"preact\" as expected" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then
  diff -r "$tmp" "$out" >/dev/null || { echo "vendor.sh: $out differs from package-lock.json's versions; run bash web/vendor.sh" >&2; exit 1; }
  echo "vendor.sh: $out matches package-lock.json"
else
  mkdir -p "$out" && rm -f "$out"/*.js && cp "$tmp"/*.js "$out"/
  echo "vendor.sh: wrote $(ls "$out" | tr '\n' ' ')"
fi
