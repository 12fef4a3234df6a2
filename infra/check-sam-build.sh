#!/usr/bin/env bash
# Runs `sam build` for every function with cargo-lambda, outside the per-commit CI path
# (about 20 minutes on 2 cores). Installs aws-sam-cli, cfn-lint and cargo-lambda (with zig,
# from PyPI) into a venv of their own. The template builds arm64; when the aarch64 Rust target
# is not installed (it comes from rustup's servers, not a package registry), it builds a copy
# of the template for x86_64 instead, which checks the same build method, paths and binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/veloconnect-infra-venv"
[ -x "$venv/bin/sam" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements.txt
}
[ -x "$venv/bin/cargo-lambda" ] ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/build-requirements.txt
export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0

template=infra/template.yaml
if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  echo "aarch64-unknown-linux-gnu is not installed: building an x86_64 copy of the template"
  template=infra/.template.x86_64.yaml
  sed 's/Architectures: \[arm64\]/Architectures: [x86_64]/' infra/template.yaml >"$template"
  trap 'rm -f infra/.template.x86_64.yaml' EXIT
fi
out="${TMPDIR:-/tmp}/veloconnect-sam-build"
rm -rf "$out"
sam build --template-file "$template" --build-dir "$out" --beta-features

# Every function in the template must come out as an executable bootstrap.
missing=0
for fn in $(grep -oE '^  [A-Za-z]+Function:' infra/template.yaml | tr -d ' :'); do
  if [ -x "$out/$fn/bootstrap" ]; then
    printf '%-24s %s\n' "$fn" "$(du -h "$out/$fn/bootstrap" | cut -f1)"
  else
    echo "$fn: no bootstrap"; missing=1
  fi
done
exit $missing
