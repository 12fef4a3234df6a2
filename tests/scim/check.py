#!/usr/bin/env python3
"""Runs scim2-tester (pinned in tests/scim/requirements.txt) against a SCIM root.

Usage: check.py BASE_URL TOKEN   (BASE_URL like http://127.0.0.1:3000/scim/v2)

Every check of the resource types the server advertises (discovery, create, read, the
`attributes` projections, replace, delete, PATCH add/replace/remove of each writable attribute)
runs; exit 1 if any is an ERROR or CRITICAL. Each result is printed.

One change to what the checker sends, and only to its values: it fills `userName` with a random
UUID, and VeloConnect's `userName` is the address the person signs in with (an email address,
docs/rules.md rule 22), so it would refuse every created user with 400 invalidValue. The
checker has no setting for this; its value generator is wrapped to give a unique address for
`userName` and the same values as before for everything else. No check is skipped or altered.
"""
import sys
import uuid
from collections import Counter

import httpx2
import scim2_tester.filling as filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

_generated = filling.get_random_example_value


def _value(path):
    if str(path).split(":")[-1].split(".")[-1].lower() == "username":
        return f"scim-{uuid.uuid4().hex}@example.test"
    return _generated(path)


filling.get_random_example_value = _value

FAILED = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    for r in results:
        where = f" {r.resource_type}" if r.resource_type else ""
        reason = f": {r.reason}" if r.reason else ""
        print(f"  {r.status.name:<10}{where} {r.title}{reason}")
    counts = Counter(r.status.name for r in results)
    print("scim2-tester: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if not results:
        print("scim2-tester: no check ran")
        return 1
    return 1 if any(r.status in FAILED for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
