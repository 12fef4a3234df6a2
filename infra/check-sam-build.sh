#!/usr/bin/env bash
# Runs `sam build` for every function with cargo-lambda, outside the per-commit CI path
# (about 20 minutes on 2 cores). Installs aws-sam-cli, cfn-lint and cargo-lambda (with zig,
# from PyPI) into a venv of their own. The template builds arm64, which needs the aarch64 Rust
# target (from rustup's servers, not a package registry). ARCH=arm64 builds exactly that and
# fails when the target is missing; ARCH=x86_64 builds a copy of the template for x86_64 (same
# build method, paths and binaries, but not what is deployed). Unset: arm64 if the target is
# installed, else the x86_64 copy, and it says so in its last line.
#
#   bash infra/check-sam-build.sh              ARCH=arm64 bash infra/check-sam-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
template=infra/template.yaml
have_arm64() { rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; }
arch="${ARCH:-}"
case "$arch" in
  arm64)
    have_arm64 || {
      echo "ARCH=arm64, but the aarch64-unknown-linux-gnu Rust target is not installed" >&2
      echo "(rustup target add aarch64-unknown-linux-gnu); nothing was built" >&2
      exit 2
    } ;;
  x86_64) ;;
  "") if have_arm64; then arch=arm64; else arch=x86_64
        echo "aarch64-unknown-linux-gnu is not installed: building an x86_64 copy of the template"
      fi ;;
  *) echo "ARCH must be arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
if [ "$arch" = x86_64 ]; then
  template=infra/.template.x86_64.yaml
  sed 's/Architectures: \[arm64\]/Architectures: [x86_64]/' infra/template.yaml >"$template"
  trap 'rm -f infra/.template.x86_64.yaml' EXIT
fi
venv="${TMPDIR:-/tmp}/veloconnect-infra-venv"
[ -x "$venv/bin/sam" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements.txt
}
[ -x "$venv/bin/cargo-lambda" ] ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/build-requirements.txt
export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0

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
if [ "$arch" = x86_64 ]; then
  echo "built for x86_64, not the arm64 the template deploys: arm64 is unchecked here"
fi
exit $missing
