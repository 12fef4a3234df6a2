//! The same first request as the `list` function's GET /users (read the caller with a
//! consistent GetItem, then query one page of the tenant's users), written as the AWS examples
//! write a function: `aws_config::load_defaults`, the SDK's default credential chain, HTTPS
//! client and root store, and `lambda_http::run`.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::json;

const PAGE: i32 = 50;

async fn handler(client: &Client, table: &str, req: Request) -> Result<Response<Body>, Error> {
    let sub = req
        .request_context_ref()
        .and_then(|c| c.authorizer())
        // `fields` is the Lambda authorizer's context (serialised as "lambda").
        .and_then(|a| a.fields.get("sub"))
        .and_then(|s| s.as_str())
        .ok_or("no caller")?
        .to_string();
    let caller = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("USER#{sub}")))
        .key("sk", AttributeValue::S("USER".into()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    let Some(caller) = caller else {
        return Ok(Response::builder().status(403).body("Unknown caller".into())?);
    };
    let tenant = caller
        .get("tenantId")
        .and_then(|v| v.as_s().ok())
        .ok_or("caller without tenant")?;
    let page = client
        .query()
        .table_name(table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", AttributeValue::S(format!("TENANT#{tenant}#USER")))
        .limit(PAGE)
        .send()
        .await?;
    let text = |u: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        u.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let users: Vec<_> = page
        .items()
        .iter()
        .map(|u| {
            json!({"id": text(u, "userId"), "email": text(u, "email"), "name": text(u, "name"),
                   "role": text(u, "role"), "status": text(u, "status")})
        })
        .collect();
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(json!({ "users": users }).to_string().into())?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&config);
    let table = std::env::var("DIRECTORY_TABLE")?;
    run(service_fn(|req| handler(&client, &table, req))).await
}
