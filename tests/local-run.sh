# Sourced by the scripts that drive a local API from outside (tests/fuzz/run.sh,
# tests/scim/run.sh): `local_run NAME PYTHON` builds and starts local-api (and its emulator) on a
# free port, stops it by pid on exit, and sets `port` and `token` (the demo admin's access
# token, signed in through the emulator's Cognito with PYTHON). Its log: .local/NAME-api.log.
local_run() {
  local name=$1 python=$2
  mkdir -p .local
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local stack=".local/stack.json" before now
  before=$(stat -c %Y "$stack" 2>/dev/null || echo 0)
  cargo build --quiet -p harness --bin local-api
  # The console's port too: two local runs at once (a fuzz beside a browser suite or CI's own)
  # would otherwise both want 5173.
  local console_port
  console_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  LOCAL_API_PORT=$port LOCAL_CONSOLE_PORT=$console_port ./target/debug/local-api > ".local/$name-api.log" 2>&1 &
  api=$!
  trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    now=$(stat -c %Y "$stack" 2>/dev/null || echo 0)
    if [ "$now" -gt "$before" ] && grep -q "\"apiUrl\": \"http://127.0.0.1:$port\"" "$stack"; then break; fi
    kill -0 $api 2>/dev/null || { cat ".local/$name-api.log"; echo "$name: the local API exited"; exit 1; }
    sleep 1
  done
  token=$("$python" - <<'PY'
import json, urllib.request
s = json.load(open(".local/stack.json"))
req = urllib.request.Request(
    s["awsEndpoint"],
    data=json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": s["userPoolClientId"],
                     "AuthParameters": {"USERNAME": s["adminEmail"], "PASSWORD": s["adminPassword"]}}).encode(),
    headers={"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"})
print(json.load(urllib.request.urlopen(req))["AuthenticationResult"]["AccessToken"])
PY
)
}

# `integration_token PYTHON NAME SCOPE`: a new integration token of the demo company, made by
# its admin (`token`) through the running local API.
integration_token() {
  API="http://127.0.0.1:$port" TOKEN="$token" NAME=$2 SCOPE=$3 "$1" - <<'PY'
import json, os, urllib.request
req = urllib.request.Request(
    os.environ["API"] + "/integrations",
    data=json.dumps({"name": os.environ["NAME"], "scopes": [os.environ["SCOPE"]]}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["TOKEN"]})
print(json.load(urllib.request.urlopen(req))["token"])
PY
}
