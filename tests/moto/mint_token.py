#!/usr/bin/env python3
"""Mints the refused credentials of the authorization matrix (tests and the gateway
differential check): tokens that look like the emulator's Cognito ones but must be refused.

    python3 tests/moto/mint_token.py KIND ISSUER CLIENT_ID SUB

KIND: valid | expired | no-exp | id-token | other-client | other-pool | forged-key | alg-none |
hs256. `valid` is the control: the pool's own kind of token, which must be accepted.
Signed with the emulator's own private key (moto's, the one its JWKS publishes as "dummy"),
except forged-key (a fresh RSA key under the same kid), alg-none and hs256. Prints the token.
Loopback only: it reads moto's bundled key file and talks to nobody.
"""
import base64
import json
import sys
import time
import uuid

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def main():
    kind, issuer, client_id, sub = sys.argv[1:5]
    now = int(time.time())
    claims = {"iss": issuer, "sub": sub, "client_id": client_id, "token_use": "access",
              "iat": now - 60, "auth_time": now - 60, "exp": now + 3600, "jti": str(uuid.uuid4()),
              "username": sub}
    header = {"kid": "dummy", "alg": "RS256"}
    key = jwk.RSAKey.import_key(load_resource("moto.cognitoidp.models", "resources/jwks-private.json"))
    if kind == "valid":
        pass
    elif kind == "expired":
        claims["iat"], claims["exp"] = now - 7200, now - 3600
    elif kind == "no-exp":
        del claims["exp"]
    elif kind == "id-token":
        claims["token_use"] = "id"
        claims["aud"] = claims.pop("client_id")
    elif kind == "other-client":
        claims["client_id"] = "someone-elses-client"
    elif kind == "other-pool":
        claims["iss"] = issuer.rsplit("_", 1)[0] + "_SomeoneElsesPool"
    elif kind == "forged-key":
        key = jwk.RSAKey.generate_key(2048)
    elif kind == "alg-none":
        print(f"{b64({'alg': 'none', 'kid': 'dummy'})}.{b64(claims)}.")
        return
    elif kind == "hs256":
        hs = jwk.OctKey.import_key(b"a shared secret anyone could guess")
        print(jwt.encode({"alg": "HS256", "kid": "dummy"}, claims, hs, algorithms=["HS256"]))
        return
    else:
        sys.exit(f"unknown kind {kind!r}")
    print(jwt.encode(header, claims, key))


if __name__ == "__main__":
    main()
