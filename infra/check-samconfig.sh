#!/usr/bin/env bash
# Which template each sam command resolves from samconfig.toml, asked of the SAM CLI itself:
# build and validate must read infra/template.yaml; deploy and local must use what build wrote
# (.aws-sam/build/template.yaml). With the source template, deploy would zip the repository root
# (CodeUri ../: target/, .git, .local with the local admin's password) and a clean clone has no
# bootstrap to ship.
#   bash infra/check-samconfig.sh [path/to/sam]
# Runs in a scratch folder with stand-in templates. Every AWS call goes to a closed loopback port
# and fails there; only the "Using SAM Template at" line is read.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
sam="${1:-sam}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/infra" "$work/.aws-sam/build"
cp "$repo/samconfig.toml" "$work/"
stand_in='AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Topic:
    Type: AWS::SNS::Topic
'
printf '%s' "$stand_in" >"$work/infra/template.yaml"
printf '%s' "$stand_in" >"$work/.aws-sam/build/template.yaml"
export SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=stand-in AWS_SECRET_ACCESS_KEY=stand-in \
  AWS_DEFAULT_REGION=eu-west-1 AWS_ENDPOINT_URL=http://127.0.0.1:9 DOCKER_HOST=unix:///nonexistent
failed=0
check() { # expected path (relative to the scratch folder), then the sam arguments
  local want="$1"; shift
  local got
  got="$(cd "$work" && timeout 120 "$sam" "$@" --debug 2>&1 | sed -n 's/.*Using SAM Template at //p' | head -1 || true)"
  if [ "$got" = "$work/$want" ]; then echo "  ok   sam $* uses $want"
  else echo "  FAIL sam $* uses ${got:-no template it named}, not $want"; failed=1; fi
}
check infra/template.yaml validate
check .aws-sam/build/template.yaml deploy --no-execute-changeset
check .aws-sam/build/template.yaml local start-api
check .aws-sam/build/template.yaml local invoke Topic
# Production (samconfig's [prod]): the same promise.
check infra/template.yaml validate --config-env prod
check .aws-sam/build/template.yaml deploy --no-execute-changeset --config-env prod
# Last: they write .aws-sam/build from the stand-in.
check infra/template.yaml build --config-env prod
check infra/template.yaml build
exit "$failed"
