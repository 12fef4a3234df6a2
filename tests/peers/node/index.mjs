// The Node.js peer of the cold-start benchmark: the same first request as the `list` function's
// GET /users (read the caller with a consistent GetItem, then query one page of the tenant's
// users), written the way an AWS SDK for JavaScript v3 Lambda function usually is: the client
// made at module load, default credential chain and configuration.
//
// Lambda's Node runtime would load this module under its own bootstrap; the loop at the bottom
// is a minimal Runtime API client instead, which starts faster than the real one, so the peer is
// measured at its best.
import { request } from "node:http";
import { DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";

const TABLE = process.env.DIRECTORY_TABLE;
const PAGE = 50;
const dynamodb = new DynamoDBClient({});

export async function handler(event) {
  const sub = event.requestContext.authorizer.lambda.sub;
  const { Item: caller } = await dynamodb.send(new GetItemCommand({
    TableName: TABLE,
    Key: { pk: { S: `USER#${sub}` }, sk: { S: "USER" } },
    ConsistentRead: true,
  }));
  if (!caller) return { statusCode: 403, body: JSON.stringify({ title: "Unknown caller" }) };
  const page = await dynamodb.send(new QueryCommand({
    TableName: TABLE,
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :p",
    ExpressionAttributeValues: { ":p": { S: `TENANT#${caller.tenantId.S}#USER` } },
    Limit: PAGE,
  }));
  const users = (page.Items ?? []).map((u) => ({
    id: u.userId.S, email: u.email.S, name: u.name.S, role: u.role.S, status: u.status.S,
  }));
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ users }),
  };
}

// node:http rather than fetch: fetch's first use loads undici, which the real runtime never does.
const api = process.env.AWS_LAMBDA_RUNTIME_API;
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: api.split(":")[0], port: api.split(":")[1], method, path,
      headers: body ? { "content-type": "application/json" } : {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
for (;;) {
  const next = await call("GET", "/2018-06-01/runtime/invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  const answer = await handler(JSON.parse(next.body));
  await call("POST", `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify(answer));
}
