"""The Python peer of the cold-start benchmark: the same first request as the `list` function's
GET /users (read the caller with a consistent GetItem, then query one page of the tenant's
users), written the way a boto3 Lambda function usually is: the client made at import time,
default credential chain and configuration.

Lambda's own Python runtime (awslambdaric) would run this module under its bootstrap; this file
carries a minimal Runtime API loop instead, which starts faster than the real one, so the peer
is measured at its best.
"""

import http.client
import json
import os

import boto3

TABLE = os.environ["DIRECTORY_TABLE"]
PAGE = 50
dynamodb = boto3.client("dynamodb")


def handler(event):
    sub = event["requestContext"]["authorizer"]["lambda"]["sub"]
    caller = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"USER#{sub}"}, "sk": {"S": "USER"}},
        ConsistentRead=True,
    ).get("Item")
    if caller is None:
        return {"statusCode": 403, "body": json.dumps({"title": "Unknown caller"})}
    tenant = caller["tenantId"]["S"]
    page = dynamodb.query(
        TableName=TABLE,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": f"TENANT#{tenant}#USER"}},
        Limit=PAGE,
    )
    users = [
        {
            "id": u["userId"]["S"],
            "email": u["email"]["S"],
            "name": u["name"]["S"],
            "role": u["role"]["S"],
            "status": u["status"]["S"],
        }
        for u in page.get("Items", [])
    ]
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"users": users}),
    }


def main():
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    while True:
        conn = http.client.HTTPConnection(api)
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        res = conn.getresponse()
        request_id = res.getheader("Lambda-Runtime-Aws-Request-Id")
        event = json.loads(res.read())
        answer = json.dumps(handler(event)).encode()
        conn = http.client.HTTPConnection(api)
        conn.request(
            "POST",
            f"/2018-06-01/runtime/invocation/{request_id}/response",
            body=answer,
            headers={"content-type": "application/json"},
        )
        conn.getresponse().read()


if __name__ == "__main__":
    main()
