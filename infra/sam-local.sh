#!/usr/bin/env bash
# The API under `sam local start-api`: the template's routes and every function's settings (each
# function checks the caller's token itself), each function in a Lambda container (the Runtime Interface Emulator
# the SAM CLI bundles), against the local AWS emulator seeded as `local-api` seeds it.
#
#   bash infra/sam-local.sh            stays in the foreground; Ctrl-C stops all it started
#   SAM_LOCAL_PORT=3001                where the API listens (127.0.0.1)
#   SAM_LOCAL_REBUILD_IMAGE=1          build the stand-in base image again (see below)
#   DEBIAN_MIRROR=http://...           where debootstrap fetches it from (deb.debian.org)
#
# Two cases, detected:
# - Docker can pull images (a laptop): `sam build` (cargo-lambda, the real template, arm64)
#   and the real Lambda base image, as the README's sam local steps say.
# - It can't (these machines: no registry but the package ones): as root, Docker comes from
#   Debian's docker.io, started here and stopped on exit with what it changed (bridge,
#   iptables rules, ip_forward) put back. The base image SAM expects for provided.al2023 on
#   x86_64 is built once from Debian's own packages (debootstrap) and kept under that name.
#   The template SAM runs is generated from infra/template.yaml (x86_64, each function's
#   CodeUri at its binary from the normal cargo build), never kept by hand. Debian's glibc is
#   newer than Amazon Linux 2023's (2.34), so every binary is checked to need no newer one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work="$root/.local/sam-local"
port="${SAM_LOCAL_PORT:-3001}"
image=public.ecr.aws/lambda/provided:al2023-x86_64
venv="${TMPDIR:-/tmp}/veloconnect-infra-venv"
# Every function the template names (its Metadata's Binary), so a new function cannot be left out
# of the build: a CodeUri pointing at a folder that was never made stops sam local's warm start.
mapfile -t functions < <(sed -nE 's/^[[:space:]]+Binary: ([a-z-]+)[[:space:]]*$/\1/p' infra/template.yaml)
[ "${#functions[@]}" -gt 0 ] || { echo "sam-local: no Binary in infra/template.yaml" >&2; exit 1; }
log() { echo "sam-local: $*" >&2; }
die() { log "$*"; exit 1; }

pids=()
started_dockerd=""
state="$work/host-state"
cleanup() {
  set +e
  rm -f "$work/ready"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$started_dockerd" ]; then
    # SAM stops its containers; anything left is ours to remove before the daemon goes.
    docker ps -aq --filter label=sam.cli.container.type 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.25; done
    iptables-restore <"$state/iptables" 2>/dev/null
    [ -s "$state/ip6tables" ] && ip6tables-restore <"$state/ip6tables" 2>/dev/null
    sysctl -qw net.ipv4.ip_forward="$(cat "$state/ip_forward")" 2>/dev/null
    ip link show docker0 >/dev/null 2>&1 && ip link delete docker0
    log "stopped the Docker daemon it started; bridge, iptables rules and ip_forward restored"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- Docker
mkdir -p "$work"
rm -f "$work/ready"
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "Docker is not running and starting it needs root"
  if ! command -v dockerd >/dev/null; then
    log "installing Debian's docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >"$work/apt.log" 2>&1 ||
      { apt-get update -qq >>"$work/apt.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >>"$work/apt.log" 2>&1; } ||
      { cat "$work/apt.log" >&2; die "could not install docker.io"; }
  fi
  mkdir -p "$state"
  # Named tables are dumped even when empty, so restoring them also removes what dockerd adds
  # to a machine that had no rules at all.
  { iptables-save -t filter && iptables-save -t nat; } >"$state/iptables"
  { ip6tables-save -t filter && ip6tables-save -t nat; } >"$state/ip6tables" 2>/dev/null || : >"$state/ip6tables"
  sysctl -n net.ipv4.ip_forward >"$state/ip_forward"
  dockerd --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; die "dockerd did not start (log above)"; }
  log "started dockerd (pid $started_dockerd)"
fi

[ -x "$venv/bin/sam" ] || {
  log "installing the SAM CLI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements.txt
}
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}"
sam="$venv/bin/sam"

cargo build --quiet -p harness --bin local-api

# ---------------------------------------------------------------- which case
real_image=""
if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${SAM_LOCAL_REBUILD_IMAGE:-}" ]; then
  [ "$(docker image inspect -f '{{index .Config.Labels "veloconnect.stand-in"}}' "$image")" = yes ] || real_image=1
elif [ -z "${SAM_LOCAL_REBUILD_IMAGE:-}" ] && timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
  real_image=1
fi

if [ -n "$real_image" ]; then
  log "the real Lambda base image is here: sam build (cargo-lambda) and the built template"
  "$sam" build
  template="$root/.aws-sam/build/template.yaml"
else
  # ------------------------------------------------------------ stand-in base image
  if [ -n "${SAM_LOCAL_REBUILD_IMAGE:-}" ] || ! docker image inspect "$image" >/dev/null 2>&1; then
    # The image and SAM's derived `-rapid-` images built on top of it.
    { docker images --format '{{.Repository}}:{{.Tag}}' |
        grep -E '^public\.ecr\.aws/lambda/provided:(al2023-x86_64|.*rapid.*)$' || true; } |
      xargs -r docker rmi -f >/dev/null
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/veloconnect-rootfs.XXXXXX")
    log "building the stand-in for $image from Debian's packages (debootstrap, about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
      { rm -rf "$rootfs"; tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    tar -C "$rootfs" -c . | docker import --change 'LABEL veloconnect.stand-in=yes' - "$image" >/dev/null
    rm -rf "$rootfs"
  fi

  # ------------------------------------------------------------ binaries and the template
  log "cargo build (the functions, as the tests build them)"
  cargo build --quiet $(printf -- '--bin %s ' "${functions[@]}")
  newest="2.34"
  for f in "${functions[@]}"; do
    need=$(objdump -T "target/debug/$f" | grep -oE 'GLIBC_[0-9.]+' | sed 's/GLIBC_//' | sort -uV | tail -1)
    if [ "$(printf '%s\n%s\n' "$need" "$newest" | sort -V | tail -1)" != "$newest" ]; then
      die "$f needs glibc $need; Amazon Linux 2023 has $newest, so it would not start on Lambda"
    fi
    mkdir -p "$work/fn/$f"
    ln -f "target/debug/$f" "$work/fn/$f/bootstrap"
  done
  log "every function needs glibc <= $newest (Amazon Linux 2023's)"
  template="$work/template.yaml"
  python3 - "$root/infra/template.yaml" "$template" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
lines, binary = [], None
for line in open(src):
    m = re.match(r"\s+Binary: (\S+)", line)
    if m:
        binary = m.group(1)
    if line.strip() == "CodeUri: ../":
        if binary is None:
            sys.exit("a CodeUri before its function's Binary")
        line = line.replace("../", f"fn/{binary}")
        binary = None
    lines.append(line.replace("Architectures: [arm64]", "Architectures: [x86_64]"))
open(out, "w").write("# Generated by infra/sam-local.sh from infra/template.yaml; do not edit.\n" + "".join(lines))
PY
fi

# The bridge's address. A daemon's first start can leave the default network's IPAM config
# without a gateway (seen on a fresh machine: the emulator got an empty host); docker0 itself
# has the address from the moment the daemon creates it.
bridge_ip=""
for _ in $(seq 1 20); do
  bridge_ip=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
  [ -n "$bridge_ip" ] || bridge_ip=$(ip -4 -o addr show docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
  [ -n "$bridge_ip" ] && break
  sleep 0.5
done
[ -n "$bridge_ip" ] || die "Docker's bridge (docker0) has no IPv4 address"
log "Docker's bridge is at $bridge_ip"

# ---------------------------------------------------------------- emulator and seed
# local-api starts the emulator (installing it first if this machine's Python lacks it) on the
# bridge's address, so the containers reach it, and nothing outside this machine does.
rm -f .local/stack.json .local/sam-env.json
MOTO_HOST="$bridge_ip" LOCAL_API_PORT="${SAM_LOCAL_SEED_PORT:-3100}" \
  LOCAL_CONSOLE_PORT="${SAM_LOCAL_CONSOLE_PORT:-5180}" target/debug/local-api >"$work/local-api.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  [ -s .local/sam-env.json ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.5
done
[ -s .local/sam-env.json ] || { cat "$work/local-api.log" >&2; die "the emulator was not seeded"; }
python=$(python3 -c 'import json; print(json.load(open(".local/stack.json"))["python"])')
moto=$("$python" -c 'import json; print(json.load(open(".local/stack.json"))["awsEndpoint"])')

# ---------------------------------------------------------------- sam local
region=$(python3 -c 'import json; print(json.load(open(".local/stack.json"))["region"])')
log "sam local start-api on 127.0.0.1:$port (warm containers start first)"
# The region is the emulator's: sam local sets AWS_REGION itself and ignores it in env-vars.
"$sam" local start-api --template "$template" --env-vars .local/sam-env.json --region "$region" \
  --warm-containers EAGER --skip-pull-image --add-host "host.docker.internal:$bridge_ip" \
  --host 127.0.0.1 --port "$port" >"$work/sam.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/me" || true)
  [ "$code" = 401 ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { tail -40 "$work/sam.log" >&2; die "sam local start-api exited"; }
  sleep 0.5
done
[ "$code" = 401 ] || { tail -40 "$work/sam.log" >&2; die "the API did not come up (GET /me answered $code)"; }
# The function EventBridge invokes, in its container with the template's settings, given the
# event SES publishes (README, "Mail that arrives"): its ids are no one's here, so the answer
# is `stale`, after the conditional update and the read behind it reached the emulator.
log "sam local invoke MailEventsFunction -e infra/events/mail-events-bounce.json"
invoked=$("$sam" local invoke MailEventsFunction --template "$template" --env-vars .local/sam-env.json \
  --region "$region" --skip-pull-image --add-host "host.docker.internal:$bridge_ip" \
  -e "$root/infra/events/mail-events-bounce.json" 2>"$work/invoke.log" | tail -1)
case "${invoked// /}" in
  *'"result":"stale"'*) log "mail-events answered $invoked" ;;
  *) tail -30 "$work/invoke.log" >&2; die "mail-events answered ${invoked:-nothing}, not stale" ;;
esac
# The function the audit stream's event source mapping invokes, given a batch of one
# company's events item: one PutEvents on the emulator's bus, nothing failed.
log "sam local invoke PublishEventsFunction -e infra/events/publish-events.json"
invoked=$("$sam" local invoke PublishEventsFunction --template "$template" --env-vars .local/sam-env.json \
  --region "$region" --skip-pull-image --add-host "host.docker.internal:$bridge_ip" \
  -e "$root/infra/events/publish-events.json" 2>"$work/invoke.log" | tail -1)
case "${invoked// /}" in
  *'"batchItemFailures":[]'*) log "publish-events answered $invoked" ;;
  *) tail -30 "$work/invoke.log" >&2; die "publish-events answered ${invoked:-nothing}, not an empty batchItemFailures" ;;
esac
admin=$(python3 -c 'import json; s=json.load(open(".local/stack.json")); print(s["adminEmail"], "/", s["adminPassword"])')
cat <<EOF

VeloConnect directory API under sam local on http://127.0.0.1:$port
(each function in its Lambda container, checking the caller's token itself on every route but the two invite ones)
AWS emulator (moto) on $moto; seeded demo admin $admin
Get a token: $python tests/moto/get_token.py (reads .local/stack.json)
The journey through it: $python infra/sam-local-journey.py http://127.0.0.1:$port
Logs: $work/sam.log. Ctrl-C stops everything this started.
EOF
touch "$work/ready"
wait "${pids[-1]}"
