"""The journey of tests/tests/journey.rs, over HTTP against a running API: an admin invites a
supervisor, the email arrives in the emulator, the invitee previews and accepts, signs in
with Cognito, reads /me, the admin lists and suspends them, and the suspended user's token and
password are refused. Run after `bash infra/sam-local.sh` is up (CI does; it reads the seeded
stack from .local/stack.json):

    python3 infra/sam-local-journey.py http://127.0.0.1:3001

Exits non-zero at the first step that goes wrong, saying which.
"""
import json
import pathlib
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3

API = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:3001"
STACK = json.loads((pathlib.Path(__file__).resolve().parent.parent / ".local" / "stack.json").read_text())
PASSWORD = "Correct-Horse-42!"
idp = boto3.client(
    "cognito-idp",
    endpoint_url=STACK["awsEndpoint"],
    region_name=STACK["region"],
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)


def step(what):
    print(f"  {what}", flush=True)


def call(method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"null")
        except ValueError:
            return e.code, raw.decode(errors="replace")


def expect(got, status, what):
    if got[0] != status:
        sys.exit(f"FAILED: {what}: expected {status}, got {got[0]} {got[1]}")
    return got[1]


def sign_in(email, password):
    out = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=STACK["userPoolClientId"],
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return out["AuthenticationResult"]["AccessToken"]


def invite_token(email):
    for _ in range(50):
        with urllib.request.urlopen(STACK["awsEndpoint"] + "/moto-api/data.json", timeout=10) as r:
            data = json.load(r)
        for service in data.values():
            for m in reversed(service.get("Message", []) if isinstance(service, dict) else []):
                if email in m.get("destinations", {}).get("ToAddresses", []):
                    found = re.search(r"#token=([A-Za-z0-9._-]+)", m.get("body", ""))
                    if found:
                        return m, found.group(1)
        time.sleep(0.2)
    sys.exit(f"FAILED: no invite email to {email} in the emulator")


def main():
    print(f"journey through {API}")
    admin = sign_in(STACK["adminEmail"], STACK["adminPassword"])
    for token, what in [(None, "no token"), ("not.a.token", "a forged token")]:
        body = expect(call("GET", "/me", token), 401, f"{what}: the function refuses")
        if not isinstance(body, dict) or not str(body.get("type", "")).endswith("/unauthorized"):
            sys.exit(f"FAILED: {what} got a 401 that is not our problem: {body}")
    step("no token and a forged one: 401 problems")

    addr = f"sup-{uuid.uuid4().hex[:10]}@example.test"
    inv = expect(
        call("POST", "/invites", admin, {"email": addr, "name": "Sam <Sup>", "role": "supervisor", "team": "Sales"}),
        201,
        "invite",
    )
    if (inv["status"], inv["delivery"]) != ("pending", "sent"):
        sys.exit(f"FAILED: invite answered {inv}")
    step(f"invited {addr}: pending, email sent")

    mail, token = invite_token(addr)
    if "Sam &#60;Sup&#62;" not in mail["body"] or "<Sup>" in mail["body"]:
        sys.exit("FAILED: the email does not escape the invitee's name")
    if not mail["source"].startswith('"Demo Admin via VeloConnect" <') or mail.get("reply_to") != [STACK["adminEmail"]]:
        sys.exit(f"FAILED: the email's From ({mail['source']}) or Reply-To ({mail.get('reply_to')}) is not the admin via VeloConnect, replying to the admin")
    if f"{STACK['appUrl']}/accept#token=" not in mail["body"]:
        sys.exit("FAILED: the email's link is not the accept page's")
    step("the email in the emulator: escaped name, from the verified sender, replies to the admin, accept link with the token")

    pv = expect(call("POST", "/invites/preview", body={"token": token}), 200, "preview")
    if (pv["email"], pv["role"], pv["team"]) != (addr, "supervisor", "Sales"):
        sys.exit(f"FAILED: preview answered {pv}")
    acc = expect(call("POST", "/invites/accept", body={"token": token, "password": PASSWORD}), 201, "accept")
    user_id = acc["userId"]
    expect(call("POST", "/invites/accept", body={"token": token, "password": PASSWORD}), 404, "a used link")
    step(f"previewed and accepted: user {user_id}; the link is then refused")

    member = sign_in(addr, PASSWORD)
    me = expect(call("GET", "/me", member), 200, "/me")
    if (me["id"], me["role"], me["team"], me["visibility"]) != (user_id, "supervisor", "Sales", "team"):
        sys.exit(f"FAILED: /me answered {me}")
    step("signed in with Cognito; /me says supervisor of Sales")

    users = expect(call("GET", "/users", admin), 200, "list")["users"]
    if [u["status"] for u in users if u["id"] == user_id] != ["active"]:
        sys.exit(f"FAILED: the list does not show the new user active: {users}")
    expect(call("GET", "/users", member), 200, "a supervisor's list")
    step("the admin's list shows them active")

    sus = expect(call("POST", f"/users/{user_id}/suspend", admin), 200, "suspend")
    if sus["status"] != "suspended":
        sys.exit(f"FAILED: suspend answered {sus}")
    expect(call("GET", "/me", member), 401, "the suspended user's still-valid token")
    try:
        sign_in(addr, PASSWORD)
        sys.exit("FAILED: a suspended user signed in")
    except idp.exceptions.NotAuthorizedException:
        pass
    step("suspended: their token is refused, and so is their password")
    print("journey passed")


if __name__ == "__main__":
    main()
