"""infra/publish-console.py against the local emulator (AWS_ENDPOINT_URL): a stack whose outputs
name a bucket, then what a browser would get from that bucket through the distribution.

Run by `cargo test -p harness --test infra`, which starts the emulator; by hand:
    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python3 -m unittest infra/test_publish_console.py
"""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import unittest
import uuid

import boto3

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE / "publish-console.py"
PUBLIC = HERE.parent / "web" / "public"
spec = importlib.util.spec_from_file_location("publish_console", SCRIPT)
publish = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish)

REGION = "eu-west-1"
OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/dev",
    "UserPoolClientId": "client-abc",
    "ConsoleUrl": "https://d111.cloudfront.net",
    "PricingUrl": "https://veloconnect.io/pricing",
}


def run(*args):
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env)


class PublishConsole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert os.environ.get("AWS_ENDPOINT_URL"), "needs AWS_ENDPOINT_URL (the local emulator)"
        cls.s3 = boto3.client("s3", region_name=REGION)
        cls.cfn = boto3.client("cloudformation", region_name=REGION)
        cls.stack = f"console-{uuid.uuid4().hex[:8]}"
        outputs = {k: {"Value": v} for k, v in OUTPUTS.items()}
        outputs["ConsoleBucketName"] = {"Value": {"Ref": "ConsoleBucket"}}
        template = {"Resources": {"ConsoleBucket": {"Type": "AWS::S3::Bucket"}}, "Outputs": outputs}
        cls.cfn.create_stack(StackName=cls.stack, TemplateBody=json.dumps(template))
        out = cls.cfn.describe_stacks(StackName=cls.stack)["Stacks"][0]["Outputs"]
        cls.bucket = next(o["OutputValue"] for o in out if o["OutputKey"] == "ConsoleBucketName")
        cls.first = run("--stack", cls.stack)

    def get(self, key):
        o = self.s3.get_object(Bucket=self.bucket, Key=key)
        return o["Body"].read(), o["ContentType"], o.get("CacheControl")

    def test_it_publishes_and_names_the_console_url(self):
        self.assertEqual(self.first.returncode, 0, self.first.stderr)
        self.assertIn(f"open {OUTPUTS['ConsoleUrl']}/", self.first.stdout)

    def test_the_runtime_config_comes_from_the_stack_outputs(self):
        body, ctype, cache = self.get("config.json")
        self.assertEqual(json.loads(body), {
            "apiUrl": OUTPUTS["ApiUrl"],
            "region": REGION,
            "cognitoEndpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
            "userPoolClientId": OUTPUTS["UserPoolClientId"],
            "pricingUrl": OUTPUTS["PricingUrl"],
        })
        self.assertEqual((ctype, cache), ("application/json", "no-cache"))

    def test_every_asset_is_uploaded_under_its_version_with_a_year_of_cache(self):
        ver = publish.version(PUBLIC)
        files = publish.asset_files(PUBLIC)
        self.assertGreater(len(files), 10)
        for p in files:
            rel = p.relative_to(PUBLIC / "assets").as_posix()
            body, ctype, cache = self.get(f"assets/{ver}/{rel}")
            self.assertEqual(body, p.read_bytes(), rel)
            self.assertEqual(cache, "public, max-age=31536000, immutable", rel)
            if p.suffix == ".js":
                self.assertEqual(ctype, "text/javascript; charset=utf-8", rel)
            if p.suffix == ".css":
                self.assertEqual(ctype, "text/css; charset=utf-8", rel)

    def test_the_page_loads_that_version_and_is_never_cached_for_long(self):
        ver = publish.version(PUBLIC)
        body, ctype, cache = self.get("index.html")
        html = body.decode()
        links = re.findall(r'(?:href|src)="(/assets/[^"]+)"', html)
        self.assertEqual(sorted(links), sorted([f"/assets/{ver}/app.css", f"/assets/{ver}/main.js"]))
        for link in links:
            self.get(link.lstrip("/"))  # exists
        self.assertEqual((ctype, cache), ("text/html; charset=utf-8", "no-cache"))

    def test_a_changed_asset_gets_a_new_version_and_the_same_files_the_same(self):
        self.assertEqual(publish.version(PUBLIC), publish.version(PUBLIC))
        import shutil
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            copy = pathlib.Path(tmp) / "public"
            shutil.copytree(PUBLIC, copy)
            self.assertEqual(publish.version(copy), publish.version(PUBLIC))
            with open(copy / "assets" / "app.css", "a") as f:
                f.write("/* changed */")
            self.assertNotEqual(publish.version(copy), publish.version(PUBLIC))

    def test_an_unknown_stack_is_named_and_nothing_is_uploaded(self):
        before = self.s3.list_objects_v2(Bucket=self.bucket).get("KeyCount")
        r = run("--stack", "no-such-stack")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack no-such-stack", r.stderr)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket).get("KeyCount"), before)

    def test_a_stack_without_the_console_outputs_is_refused(self):
        name = f"old-{uuid.uuid4().hex[:8]}"
        template = {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}, "Outputs": {"ApiUrl": {"Value": "x"}}}
        self.cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
        r = run("--stack", name)
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no output UserPoolClientId, ConsoleBucketName, ConsoleUrl, PricingUrl", r.stderr)


if __name__ == "__main__":
    unittest.main()
