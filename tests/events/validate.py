#!/usr/bin/env python3
"""Checks event documents against docs/events/<type>.json.

Usage: validate.py [events.json]   (a JSON array; stdin when no file is named)

Each item is an EventBridge envelope (`detail-type`, `source`, `detail`) or a bare document
(`type`). Exit 0: all valid; 1: some document or schema is wrong; 2: a type has no schema.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "events"
SOURCE = "veloconnect.directory"
V = jsonschema.Draft202012Validator

# The 29 published types, as shared/src/domain/event.rs PUBLISHED lists them: a type that
# loses its schema file must fail here, not just go unchecked.
TYPES = """tenant.created tenant.tierChanged tenant.mfaPolicyChanged tenant.maxChatsChanged
invite.created invite.resent invite.revoked invite.expired invite.accepted user.roleChanged
user.maxChatsChanged user.availabilityChanged user.suspended user.reactivated user.deleted
user.signedOut user.passwordChanged user.passwordResetSent user.passwordReset user.mfaEnabled
user.mfaDisabled user.mfaReset team.renamed team.merged integration.created integration.revoked
user.updated invite.updated tenant.groupMappingsChanged""".split()


def main() -> int:
    failed = False
    schemas = {p.name[: -len(".json")]: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
    for name, schema in schemas.items():
        try:
            V.check_schema(schema)
        except jsonschema.SchemaError as e:
            print(f"schema {name}.json: {e.message} at {'/'.join(map(str, e.path)) or '/'}")
            failed = True
    for t in TYPES:
        if t not in schemas:
            print(f"schema {t}.json: missing")
            failed = True
    if failed:
        # a broken schema would raise mid-check or pass what it should refuse
        return 1
    # Registered by $id, so "common.json#/$defs/..." resolves against the type file's $id
    # exactly as it would for a consumer fetching them from veloconnect.io.
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )

    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    events = json.loads(text)
    unknown = False
    for e in events:
        if "detail" in e:
            doc, kind = e["detail"], e.get("detail-type")
            if e.get("source") != SOURCE:
                print(f"{kind} {doc.get('id')}: source is {e.get('source')!r}, not {SOURCE}")
                failed = True
            if kind != doc.get("type"):
                # a rule matching on detail-type would route it as something it is not
                print(f"{kind} {doc.get('id')}: detail-type differs from detail.type {doc.get('type')!r}")
                failed = True
        else:
            doc, kind = e, e.get("type")
        if kind not in TYPES or kind not in schemas:
            print(f"{kind} {doc.get('id')}: unknown type")
            unknown = True
            continue
        v = V(schemas[kind], registry=registry, format_checker=V.FORMAT_CHECKER)
        for err in sorted(v.iter_errors(doc), key=lambda x: list(x.path)):
            where = "/" + "/".join(map(str, err.path))
            print(f"{kind} {doc.get('id')}: {err.message} at {where}")
            failed = True
    if unknown:
        return 2
    if failed:
        return 1
    print(f"{len(events)} events valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
