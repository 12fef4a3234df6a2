#!/usr/bin/env bash
# SCIM conformance from outside: scim2-tester (tests/scim/check.py, pinned in
# tests/scim/requirements.txt) against the local API's /scim/v2 with an integration token of the
# demo company holding the scim scope. Fails on any ERROR or CRITICAL result.
#
# usage: bash tests/scim/run.sh
# Starts its own local API (and emulator) on a free port and stops them, by pid, on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${SCIM_VENV:-.local/scim-venv}"
mkdir -p .local
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import scim2_tester' 2>/dev/null; then
  echo "scim: installing scim2-tester into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/scim/requirements.txt
fi
. tests/local-run.sh
local_run scim "$venv/bin/python"
scim_token=$(integration_token "$venv/bin/python" "Conformance" scim)
"$venv/bin/python" tests/scim/check.py "http://127.0.0.1:$port/scim/v2" "$scim_token"
