"""The same requests through the in-process gateway (`local-api`) and through `sam local` (the
template's own HTTP API, each function in its Lambda container), both in front of the one
emulator and user pool that infra/sam-local.sh seeds: every refused credential on one route of
every function, the public routes' refusals, an unknown path, a wrong method, a preflight and
a body over API Gateway's payload limit. Any difference in status, content type, problem
`type`, `WWW-Authenticate` or `Allow` fails, except the ones listed in SAM_LOCAL_DIFFERS: what
sam local does differently from AWS itself, each with the AWS document that says what AWS does
(and which the in-process gateway follows). A listed difference that stops differing fails
too, so the list stays true.

    python3 infra/differential.py http://127.0.0.1:3100 http://127.0.0.1:3001 [-v]

(-v prints what each case got from both.)

(CI runs it while infra/sam-local.sh is up: its seeding `local-api` listens on 3100.)
"""
import json
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
STACK = json.loads((ROOT / ".local" / "stack.json").read_text())
LOCAL, SAM = (a.rstrip("/") for a in sys.argv[1:3])
VERBOSE = "-v" in sys.argv[3:]
ORIGIN = STACK["appUrl"]

# What AWS itself settles, and how sam local differs from it. Keyed by case name; the value is
# (what sam local answers instead, the document that says what AWS answers).
SAM_LOCAL_DIFFERS = {
    "preflight": (
        "200 with no body and, here, no Access-Control-Allow-Origin for every OPTIONS "
        "(samcli/local/apigw/local_apigw_service.py answers them itself, whatever their headers, "
        "and cannot resolve the template's !If origin)",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html: "
        "API Gateway answers the preflight itself, before any route; the in-process gateway "
        "answers 204 with the configured headers (tests/src/server.rs)",
    ),
    "body over Lambda's 6 MB invoke limit": (
        '500 {"message":"Internal server error"}: the same status (the emulator refuses the invoke too), in '
        "samcli's own words (samcli/local/apigw/service_error_responses.py)",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html: "
        'an HTTP API answers a failed Lambda invocation 500 {"message":"Internal Server Error"}; '
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 6 MB per synchronous invoke",
    ),
    "body over 10 MB": (
        "no payload limit of its own: the request goes on, and the emulator refuses the invoke (over 6 MB) with a 500",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html: "
        "payload size 10 MB, not adjustable; the in-process gateway answers 413 "
        '{"message":"Request Entity Too Large"} (tests/src/gateway.rs)',
    ),
}

# Refused credentials: the Authorization header each sends (None: no header).
def credentials():
    sub = "00000000-0000-0000-0000-000000000000"
    issuer, client = STACK["tokenIssuer"], STACK["userPoolClientId"]

    def mint(kind):
        out = subprocess.run([STACK["python"], str(ROOT / "tests/moto/mint_token.py"), kind, issuer, client, sub],
                             check=True, capture_output=True, text=True)
        return "Bearer " + out.stdout.strip()

    creds = {
        "missing": None,
        "not a JWT": "Bearer not-a-jwt",
        # Integration tokens (GET /events only; docs/rules.md rule 21): one nobody has, one
        # that is not even of the shape.
        "an integration token nobody has": "Bearer vc_" + "0" * 32 + "." + "A" * 43,
        "a garbled integration token": "Bearer vc_nope",
        "another scheme": "Basic YWRtaW46cGFzc3dvcmQ=",
        "empty bearer": "Bearer ",
    }
    for kind in ["expired", "no-exp", "id-token", "other-client", "other-pool", "forged-key", "alg-none",
                 "hs256"]:
        creds[kind] = mint(kind)
    return creds


CREDENTIAL_KINDS = ["not a JWT", "an integration token nobody has", "a garbled integration token",
                    "empty bearer", "expired", "no-exp", "id-token",
                    "other-client", "other-pool", "forged-key", "alg-none", "hs256"]
UNAUTHORIZED = "https://veloconnect.io/problems/unauthorized"


def admin_token():
    idp = boto3.client("cognito-idp", endpoint_url=STACK["awsEndpoint"], region_name=STACK["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    r = idp.initiate_auth(ClientId=STACK["userPoolClientId"], AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": STACK["adminEmail"], "PASSWORD": STACK["adminPassword"]})
    return r["AuthenticationResult"]["AccessToken"]


def send(base, method, path, headers, body):
    req = urllib.request.Request(base + path, data=body, method=method)
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, ConnectionError) as e:
        return 0, {}, str(e).encode()


def observed(answer):
    """What must agree between the gateways."""
    status, headers, body = answer
    h = {k.lower(): v for k, v in headers.items()}
    ctype = h.get("content-type", "").split(";")[0].strip()
    kind = None
    try:
        parsed = json.loads(body or b"null")
        if isinstance(parsed, dict):
            kind = parsed.get("type") or (f"message: {parsed['message']}" if "message" in parsed else None)
    except ValueError:
        pass
    return {
        "status": status,
        "content-type": ctype,
        "type": kind,
        "www-authenticate": h.get("www-authenticate"),
        "allow": h.get("allow"),
        "access-control-allow-origin": h.get("access-control-allow-origin"),
    }


def make_token(admin, name, scope):
    """An integration token made through local-api (one store for both gateways)."""
    status, _, body = send(LOCAL, "POST", "/integrations",
                           {"content-type": "application/json", "authorization": f"Bearer {admin}"},
                           json.dumps({"name": name, "scopes": [scope]}).encode())
    assert status == 201, (status, body)
    return json.loads(body)


def integration_tokens(admin):
    """Two integration tokens with events:read: one kept, one revoked at once."""
    kept, revoked = make_token(admin, "differential", "events:read"), make_token(admin, "differential, revoked", "events:read")
    status, _, _ = send(LOCAL, "DELETE", f"/integrations/{revoked['id']}", {"authorization": f"Bearer {admin}"}, None)
    assert status == 200, status
    return kept["token"], revoked["token"]


def cases(admin):
    """(name, method, path, headers, body): one route per function, each refusal kind."""
    routes = {
        "invite": ("POST", "/invites", {"email": "diff@example.com", "name": "Diff", "role": "agent"}),
        "list": ("GET", "/users", None),
        "change-role": ("PUT", "/users/nobody/role", {"role": "agent"}),
        "suspend": ("POST", "/users/nobody/suspend", None),
        "delete": ("DELETE", "/users/nobody", None),
        "audit": ("GET", "/audit", None),
        "events": ("GET", "/events", None),
        "reset-password": ("POST", "/users/nobody/password-reset", None),
        "scim": ("GET", "/scim/v2/Users", None),
    }
    out = []
    for cred_name, auth in credentials().items():
        for fn, (method, path, body) in routes.items():
            headers = {"content-type": "application/json"} if body is not None else {}
            if auth is not None:
                headers["authorization"] = auth
            out.append((f"{fn}: {cred_name}", method, path, headers, body))
    json_h = {"content-type": "application/json"}
    bearer = {"authorization": f"Bearer {admin}"}
    kept, revoked = integration_tokens(admin)
    scim = {"authorization": "Bearer " + make_token(admin, "differential directory sync", "scim")["token"],
            "content-type": "application/scim+json"}
    out += [
        # Directory sync (docs/rules.md rule 22): the scim function in its container.
        ("scim: the list", "GET", "/scim/v2/Users?count=1", scim, None),
        ("scim: a resource type", "GET", "/scim/v2/ResourceTypes/User", scim, None),
        ("scim: an events token", "GET", "/scim/v2/Users", {"authorization": f"Bearer {kept}"}, None),
        ("scim: not a filter", "GET", "/scim/v2/Users?filter=userName%20eq", scim, None),
        ("scim: nobody", "PATCH", "/scim/v2/Users/nobody", scim,
         {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": False}]}),
        ("scim: not a resource", "POST", "/scim/v2/Users", scim, {"schemas": []}),
        ("scim: the groups", "GET", "/scim/v2/Groups?count=1", scim, None),
        ("scim: a group without a name", "POST", "/scim/v2/Groups", scim, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}),
        ("scim: no such group", "DELETE", "/scim/v2/Groups/nobody", scim, None),
        ("scim: an unknown path", "GET", "/scim/v2/Printers", scim, None),
        ("directory sync: the group mappings", "GET", "/tenant/group-mappings", bearer, None),
        ("directory sync: a mapping that gives nothing", "PUT", "/tenant/group-mappings", {**bearer, **json_h}, {"mappings": [{"group": "Support"}]}),
        ("scim: a wrong method", "DELETE", "/scim/v2/Schemas", scim, None),
        ("events: an integration token", "GET", "/events?limit=5", {"authorization": f"Bearer {kept}"}, None),
        ("events: a revoked integration token", "GET", "/events", {"authorization": f"Bearer {revoked}"}, None),
        ("an integration token on a user route", "GET", "/users", {"authorization": f"Bearer {kept}"}, None),
        ("events: an admin", "GET", "/events?types=user.deleted", bearer, None),
        ("events: not a cursor", "GET", "/events?after=x", bearer, None),
        ("accept: junk link", "POST", "/invites/preview", json_h, {"token": "junk"}),
        ("accept: no body", "POST", "/invites/accept", json_h, None),
        ("accept: short password", "POST", "/invites/accept", json_h, {"token": "x" * 43, "password": "short"}),
        ("reset: unknown address", "POST", "/password-resets", json_h, {"email": "nobody@example.com"}),
        ("reset: not an address", "POST", "/password-resets", json_h, {"email": "nope"}),
        ("reset: junk link", "POST", "/password-resets/preview", json_h, {"token": "junk"}),
        ("reset: a link nobody has", "POST", "/password-resets/confirm", json_h,
         {"token": "nobody." + "A" * 43, "password": "Correct-Horse-42!"}),
        ("two-step: not a code", "POST", "/me/mfa", {**json_h, **bearer}, {"code": "x"}),
        ("two-step: not a policy", "PUT", "/tenant/mfa-policy", {**json_h, **bearer}, {"policy": "all"}),
        ("two-step: off without a password", "POST", "/me/mfa/disable", {**json_h, **bearer}, {"code": "123456"}),
        ("availability: not one of three", "PUT", "/me/availability", {**json_h, **bearer}, {"availability": "busy"}),
        ("capacity: out of range", "PUT", "/tenant/max-chats", {**json_h, **bearer}, {"maxChats": 0}),
        ("list: not a presence", "GET", "/users?presence=away&sort=lastActive", bearer, None),
        ("teams: the counts", "GET", "/teams", bearer, None),
        ("teams: a rename to the same name", "POST", "/teams/rename", {**json_h, **bearer}, {"from": "A", "to": "A"}),
        ("a valid token", "GET", "/me", bearer, None),
        ("a role refusal's neighbour: a user that isn't there", "GET", "/users/nobody", bearer, None),
        ("unknown path", "GET", "/nowhere", bearer, None),
        ("unknown path, no token", "POST", "/users/nobody/promote", {}, None),
        ("wrong method", "PATCH", "/invites", bearer, None),
        ("wrong method on a parameter path", "GET", "/users/nobody/role", {}, None),
        ("preflight", "OPTIONS", "/invites",
         {"origin": ORIGIN, "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type"}, None),
        ("body over Lambda's 6 MB invoke limit", "POST", "/invites", {**json_h, **bearer}, b"x" * (7 * 1024 * 1024)),
        ("body over 10 MB", "POST", "/invites", {**json_h, **bearer}, b"x" * (10 * 1024 * 1024 + 1)),
    ]
    return out


def main():
    admin = admin_token()
    started = time.monotonic()
    differ, stale, same = [], [], 0
    for name, method, path, headers, body in cases(admin):
        data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
        local = observed(send(LOCAL, method, path, headers, data))
        sam = observed(send(SAM, method, path, headers, data))
        if VERBOSE:
            print(f"  {name} ({method} {path}): local-api {local}; sam local {sam}")
        known = SAM_LOCAL_DIFFERS.get(name)
        if local == sam:
            same += 1
            if known:
                stale.append(f"{name}: listed as differing under sam local, but both answer {local}")
        elif known:
            print(f"  known: {name}: local {local['status']}, sam local {sam['status']} ({known[0]}); AWS: {known[1]}")
        else:
            differ.append(f"{name} ({method} {path}):\n      local-api {local}\n      sam local {sam}")
        # Not only the same: the answer a refused credential must be (RFC 6750, section 3).
        if name.endswith(": missing") or name.endswith(": another scheme"):
            wanted = "Bearer"
        elif any(name.endswith(": " + c) for c in CREDENTIAL_KINDS) or name in (
                "events: a revoked integration token", "an integration token on a user route"):
            wanted = 'Bearer error="invalid_token"'
        else:
            wanted = None
        # Directory sync's routes answer the same 401 as a SCIM error document (rule 12).
        scim_route = path.startswith("/scim/")
        want = (401, "application/scim+json", None, wanted) if scim_route else (
            401, "application/problem+json", UNAUTHORIZED, wanted)
        if wanted and (local["status"], local["content-type"], local["type"], local["www-authenticate"]) != want:
            differ.append(f"{name}: not the 401 {'SCIM error' if scim_route else 'problem'} with WWW-Authenticate: {wanted}: {local}")
    took = time.monotonic() - started
    print(f"differential: {same} of {same + len(differ) + len(SAM_LOCAL_DIFFERS) - len(stale)} cases answer the same "
          f"under local-api and sam local, {len(SAM_LOCAL_DIFFERS) - len(stale)} known sam local differences, "
          f"{took:.1f} s")
    for d in differ + stale:
        print(f"  DIFFERS: {d}")
    return 1 if differ or stale else 0


if __name__ == "__main__":
    sys.exit(main())
