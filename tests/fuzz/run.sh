#!/usr/bin/env bash
# The contract fuzz: schemathesis (pinned in tests/fuzz/requirements.txt) drives the local API
# from infra/openapi.yaml, signed in as the demo admin, and fails on any 5xx other than a 503
# problem, a status or content type the description does not list, a response that does not
# match its schema, a schema-violating request that is accepted, an undeclared method answered
# without 405 + Allow, and a route that ignores its authentication.
#
# usage: bash tests/fuzz/run.sh [EXAMPLES_PER_OPERATION]   (default 150; 54 operations, the 13
# SCIM ones at most 60 each)
# Starts its own local API (and emulator) on a free port and stops them, by pid, on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
examples="${1:-150}"
# The SCIM pass is paced under its token's throttle (600 a minute), so it takes fewer.
scim_examples=$(( examples < 60 ? examples : 60 ))
shift || true
FUZZ_ARGS=("$@")
venv="${FUZZ_VENV:-.local/fuzz-venv}"
mkdir -p .local
if [ ! -x "$venv/bin/st" ]; then
  echo "fuzz: installing schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/fuzz/requirements.txt
fi

. tests/local-run.sh
local_run fuzz "$venv/bin/python"
# positive_data_acceptance is left out: the description can't state every business rule a
# schema-valid request may break (password classes, unknown ids, seats, duplicate emails).
# not_a_server_error is replaced by the hook that allows a 503 problem.
# Three passes. The public link routes (an invite's, a password reset's) are throttled at 10 a
# second (burst 20) like the
# template's stage, so they run apart at a rate under it: faster, most of their cases would
# only meet the gateway's 429. `POST /me/sign-out` ends the session the fuzz signs its requests
# with, so it runs alone, after every other operation (its later examples then meet the 401 a
# signed-out session gets, which the description lists too).
auth="$token"
fuzz() {
  SCHEMATHESIS_HOOKS=hooks PYTHONPATH=tests/fuzz "$venv/bin/st" run infra/openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $auth" \
    --checks all \
    --exclude-checks not_a_server_error,positive_data_acceptance \
    --seed "${FUZZ_SEED:-20261123}" \
    --workers 1 \
    --no-color "$@"
}
public=(previewInvite acceptInvite requestPasswordReset previewPasswordReset confirmPasswordReset)
scim=(scimServiceProviderConfig scimResourceTypes scimResourceType scimSchemas scimSchema
  scimListUsers scimSearchUsers scimSearch scimCreateUser scimGetUser scimReplaceUser scimPatchUser scimDeleteUser
  scimListGroups scimSearchGroups scimCreateGroup scimGetGroup scimReplaceGroup scimPatchGroup scimDeleteGroup)
fuzz --max-examples "$examples" --exclude-operation-id signOutEverywhere \
  "${public[@]/#/--exclude-operation-id=}" "${scim[@]/#/--exclude-operation-id=}" "${FUZZ_ARGS[@]}"
fuzz --max-examples "$examples" "${public[@]/#/--include-operation-id=}" \
  --rate-limit 8/s "${FUZZ_ARGS[@]}"
# Directory sync's routes (rule 22) take an integration token with the scim scope, not the
# admin's sign-in: their own pass, under the token's 600 requests a minute. The others
# leave them out.
auth=$(integration_token "$venv/bin/python" "Fuzz directory sync" scim)
fuzz --max-examples "$scim_examples" "${scim[@]/#/--include-operation-id=}" --rate-limit 9/s \
  "${FUZZ_ARGS[@]}"
auth="$token"
fuzz --max-examples 20 --include-operation-id signOutEverywhere "${FUZZ_ARGS[@]}"
