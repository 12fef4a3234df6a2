"""Prints the directory's events as a consumer of the local bus receives them: what a rule on
the bus delivered to its queue (.local/stack.json's eventsQueueUrl), one line each, then waits
for more. Each message is taken off the queue once printed. Ctrl-C stops.

    python tests/events/tail.py          one line per event: sequence, type, subject, actor
    python tests/events/tail.py --json   the whole EventBridge event
    python tests/events/tail.py --failed the failed-events queue instead (dead letters)
"""
import json
import os
import sys
import time

import boto3

here = os.path.dirname(os.path.abspath(__file__))
stack = json.load(open(os.path.join(here, "..", "..", ".local", "stack.json")))
sqs = boto3.client(
    "sqs",
    endpoint_url=stack["awsEndpoint"],
    region_name=stack["region"],
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
queue = stack["failedEventsQueueUrl" if "--failed" in sys.argv else "eventsQueueUrl"]
whole = "--json" in sys.argv or "--failed" in sys.argv
try:
    while True:
        # No long poll: the emulator answers one request at a time, and a held one would
        # stall the API.
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for m in got.get("Messages", []):
            event = json.loads(m["Body"])
            if whole:
                print(json.dumps(event, indent=2))
            else:
                d = event["detail"]
                who = d["subject"].get("email") or d["subject"].get("name") or d["subject"]["id"]
                by = d["actor"].get("name") or d["actor"]["id"]
                print(f'{d["sequence"]:>6}  {d["occurredAt"]}  {d["type"]:<26} {who}  (by {by})')
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        if not got.get("Messages"):
            time.sleep(1)
except KeyboardInterrupt:
    pass
