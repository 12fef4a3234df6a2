#!/usr/bin/env python3
"""Two stages in one account and region must not collide: every physical name the deployed
template sets (after the SAM transform, which adds names of its own, e.g. for schedules) names
the stage. Runs the real transform from the aws-sam-cli install (samtranslator), offline.

    python3 infra/check-stage-names.py        (with the venv that has aws-sam-cli)
    TEMPLATE=other.yaml python3 infra/check-stage-names.py   (another template, e.g. an old one)
"""
import json
import os
import pathlib
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = pathlib.Path(os.environ.get("TEMPLATE", pathlib.Path(__file__).resolve().parent / "template.yaml"))

# Properties that are account-wide (or region-wide) physical names of their resource.
NAMES = {
    "AWS::DynamoDB::Table": ["TableName"],
    "AWS::Cognito::UserPool": ["UserPoolName"],
    "AWS::SNS::Topic": ["TopicName"],
    "AWS::Logs::LogGroup": ["LogGroupName"],
    "AWS::CloudWatch::Alarm": ["AlarmName"],
    "AWS::Scheduler::Schedule": ["Name"],
    "AWS::CloudFront::Function": ["Name"],
    "AWS::CloudFront::OriginAccessControl": ["OriginAccessControlConfig.Name"],
    "AWS::CloudFront::ResponseHeadersPolicy": ["ResponseHeadersPolicyConfig.Name"],
    "AWS::CloudFront::CachePolicy": ["CachePolicyConfig.Name"],
    "AWS::Lambda::Function": ["FunctionName"],
    "AWS::IAM::Role": ["RoleName"],
    "AWS::S3::Bucket": ["BucketName"],
    "AWS::SQS::Queue": ["QueueName"],
    "AWS::SES::EmailIdentity": [],  # the sender's address: one identity, shared on purpose
}


class NoManagedPolicies:
    def load(self):
        return {}


def get(props, path):
    for part in path.split("."):
        if not isinstance(props, dict) or part not in props:
            return None
        props = props[part]
    return props


def names_stage(value):
    text = json.dumps(value)
    return "${Stage}" in text or '{"Ref": "Stage"}' in text


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    template = yaml_parse(TEMPLATE.read_text())
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            # The transform wants an S3 location; sam deploy puts one there.
            res["Properties"]["CodeUri"] = "s3://stand-in/code.zip"
    out = transform(template, {}, NoManagedPolicies())
    bad, named = [], 0
    for rid, res in sorted(out["Resources"].items()):
        for path in NAMES.get(res["Type"], []):
            value = get(res.get("Properties", {}), path)
            if value is None:
                continue  # CloudFormation makes a unique name
            named += 1
            if not names_stage(value):
                bad.append(f"{rid} ({res['Type']}) {path} = {json.dumps(value)}")
    if bad:
        print("names two stages would share:\n  " + "\n  ".join(bad))
        return 1
    print(f"every one of {named} physical names in the transformed template names the stage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
