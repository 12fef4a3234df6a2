#!/usr/bin/env python3
"""Publish the web console (web/public) to a deployed stack, after `sam deploy`.

    python3 infra/publish-console.py --stack veloconnect-directory-dev [--region eu-west-1]

Reads the stack's outputs, writes /config.json from them (the API URL, the region's Cognito
endpoint, the app client, the pricing link), and uploads the files to the stack's console bucket:
the assets under assets/<content hash>/ with a year's immutable cache, and index.html (pointing
at that folder) and config.json with no-cache, so a deploy shows at once and a browser never mixes
two versions' modules. Older asset folders stay, so a tab opened before the deploy keeps working.

Needs boto3 (it comes with aws-sam-cli) and the same credentials as `sam deploy`. It honours
AWS_ENDPOINT_URL, which is how the test runs it against the local emulator.
"""

import argparse
import hashlib
import json
import mimetypes
import os
import pathlib
import sys

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent / "web" / "public"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
NEEDED = ("ApiUrl", "UserPoolClientId", "ConsoleBucketName", "ConsoleUrl", "PricingUrl")


def content_type(path):
    return TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def asset_files(root):
    return sorted(p for p in (root / "assets").rglob("*") if p.is_file() and not p.name.startswith("."))


def version(root):
    """A hash of every asset's path and bytes: unchanged files keep their URLs and cache."""
    h = hashlib.sha256()
    for p in asset_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def page(root, ver):
    html = (root / "index.html").read_text()
    if html.count('"/assets/') < 2:
        raise SystemExit("index.html no longer links /assets/app.css and /assets/main.js; update this script")
    return html.replace('"/assets/', f'"/assets/{ver}/')


def stack_outputs(cfn, stack):
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except cfn.exceptions.ClientError as e:
        raise SystemExit(f"stack {stack}: {e.response['Error']['Message']}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    missing = [k for k in NEEDED if k not in outputs]
    if missing:
        raise SystemExit(f"stack {stack} has no output {', '.join(missing)}: deploy infra/template.yaml first")
    return outputs


def runtime_config(outputs, region):
    return {
        "apiUrl": outputs["ApiUrl"],
        "region": region,
        "cognitoEndpoint": f"https://cognito-idp.{region}.amazonaws.com/",
        "userPoolClientId": outputs["UserPoolClientId"],
        "pricingUrl": outputs["PricingUrl"],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stack", required=True, help="the stack sam deploy created")
    ap.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    args = ap.parse_args(argv)

    # Older botocore reads only AWS_DEFAULT_REGION; Lambda and the SDKs also set AWS_REGION.
    session = boto3.session.Session(region_name=args.region or os.environ.get("AWS_REGION"))
    region = session.region_name
    if not region:
        raise SystemExit("no region: pass --region or set AWS_REGION")
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    s3 = session.client("s3")
    bucket = outputs["ConsoleBucketName"]
    ver = version(ROOT)

    files = asset_files(ROOT)
    for p in files:
        key = f"assets/{ver}/{p.relative_to(ROOT / 'assets').as_posix()}"
        s3.put_object(Bucket=bucket, Key=key, Body=p.read_bytes(), ContentType=content_type(p), CacheControl=IMMUTABLE)
    # The page goes last: until it is replaced, browsers keep loading the previous assets.
    config = json.dumps(runtime_config(outputs, region), indent=2).encode()
    s3.put_object(Bucket=bucket, Key="config.json", Body=config, ContentType="application/json", CacheControl=NO_CACHE)
    s3.put_object(Bucket=bucket, Key="index.html", Body=page(ROOT, ver).encode(), ContentType=TYPES[".html"], CacheControl=NO_CACHE)
    print(f"published {len(files)} assets as version {ver} to s3://{bucket}; open {outputs['ConsoleUrl']}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
