//! Fixtures written straight into the emulator's tables, for the benchmarks and the tests
//! that need a company bigger than joining one by one allows.

use crate::Stack;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;

/// Writes `n` active agents (in `team`, if given) straight into the directory table: a
/// fixture for the benchmarks and the big-team tests, not the code under test. 25 per
/// BatchWriteItem. Answers their ids.
pub async fn users(
    ddb: &aws_sdk_dynamodb::Client,
    stack: &Stack,
    tenant: &str,
    n: usize,
    team: Option<&str>,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let s = |v: String| AttributeValue::S(v);
    let mut batch = Vec::new();
    for i in 0..n {
        let id = shared::domain::ids::new_id();
        let name = format!("User {i:05}");
        let email = format!("u{i}-{id}@bench.test");
        let mut item = HashMap::from([
            ("pk".to_string(), s(format!("USER#{id}"))),
            ("sk".to_string(), s("USER".into())),
            ("gsi1pk".to_string(), s(format!("TENANT#{tenant}#USER"))),
            (
                "gsi1sk".to_string(),
                s(format!("{}#{id}", name.to_lowercase())),
            ),
            ("userId".to_string(), s(id.clone())),
            ("tenantId".to_string(), s(tenant.into())),
            ("email".to_string(), s(email.clone())),
            ("name".to_string(), s(name.clone())),
            (
                "search".to_string(),
                s(format!("{name} {email}").to_lowercase()),
            ),
            ("role".to_string(), s("agent".into())),
            ("status".to_string(), s("active".into())),
            (
                "createdAt".to_string(),
                s("2026-01-01T00:00:00.000Z".into()),
            ),
            (
                "updatedAt".to_string(),
                s("2026-01-01T00:00:00.000Z".into()),
            ),
            ("version".to_string(), AttributeValue::N("1".into())),
        ]);
        if let Some(team) = team {
            item.insert("team".to_string(), s(team.into()));
        }
        ids.push(id.clone());
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
        if batch.len() == 25 || i == n - 1 {
            ddb.batch_write_item()
                .request_items(&stack.directory_table, std::mem::take(&mut batch))
                .send()
                .await
                .expect("seed users");
        }
    }
    ids
}
