//! The companies' event logs (`EVENTLOG#<company>` in the audit table, by sequence): written by
//! publish-events from the stream, read by `GET /events` (docs/rules.md rule 20).

use super::items::{self, s, Row};
use super::{Query, Store, StoreError};
use crate::domain::timefmt;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde_json::Value;
use time::OffsetDateTime;

/// BatchWriteItem's most.
const BATCH: usize = 25;
const ATTEMPTS: usize = 3;

/// One logged event.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub sequence: u64,
    pub event: Value,
    pub logged_at: OffsetDateTime,
}

impl Store {
    /// Writes each event (with its `tenantId` and `sequence`) to its company's log. Writing
    /// one again writes the same item, so a redelivered batch changes nothing. Answers the
    /// indexes of the events not written (DynamoDB left them unprocessed three times, or did
    /// not answer).
    pub async fn log_events(&self, events: &[Value], now: OffsetDateTime) -> Vec<usize> {
        let mut failed = Vec::new();
        let at = timefmt::format(now);
        for (c, chunk) in events.chunks(BATCH).enumerate() {
            let mut left: Vec<(usize, WriteRequest)> = Vec::new();
            for (i, e) in chunk.iter().enumerate() {
                let index = c * BATCH + i;
                let (Some(tenant), Some(seq), Some(kind)) = (
                    e["tenantId"].as_str(),
                    e["sequence"].as_u64(),
                    e["type"].as_str(),
                ) else {
                    failed.push(index);
                    continue;
                };
                let item = std::collections::HashMap::from([
                    ("pk".to_string(), s(items::event_log_pk(tenant))),
                    ("sk".to_string(), s(items::event_log_sk(seq))),
                    ("event".to_string(), s(e.to_string())),
                    ("type".to_string(), s(kind)),
                    ("loggedAt".to_string(), s(&at)),
                ]);
                match PutRequest::builder().set_item(Some(item)).build() {
                    Ok(put) => left.push((index, WriteRequest::builder().put_request(put).build())),
                    Err(_) => failed.push(index),
                }
            }
            for attempt in 0..ATTEMPTS {
                if left.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(
                        &self.tables.audit,
                        left.iter().map(|(_, w)| w.clone()).collect(),
                    )
                    .send()
                    .await;
                match out {
                    Ok(out) => {
                        let unprocessed: Vec<WriteRequest> = out
                            .unprocessed_items
                            .and_then(|mut m| m.remove(&self.tables.audit))
                            .unwrap_or_default();
                        left.retain(|(_, w)| unprocessed.contains(w));
                    }
                    Err(e) => {
                        tracing::warn!(error = %crate::domain::Chain(&e), attempt, "event log write failed");
                    }
                }
            }
            failed.extend(left.iter().map(|(i, _)| *i));
        }
        failed.sort_unstable();
        failed
    }

    /// The company's logged events after `after`, in sequence order, at most `scan` of them.
    pub async fn event_log(
        &self,
        tenant: &crate::domain::TenantId,
        after: u64,
        scan: usize,
    ) -> Result<Vec<Logged>, StoreError> {
        let q = Query {
            table: &self.tables.audit,
            index: None,
            partition: ("pk", items::event_log_pk(tenant.as_str())),
            key_attrs: &["sk"],
            sort: Some((
                "sk > :after".to_string(),
                vec![(":after", s(items::event_log_sk(after)))],
            )),
            forward: true,
            filter: None,
            names: vec![],
            values: vec![],
        };
        let page = self.query(q, None, scan).await?;
        page.items.iter().map(|m| Row(m).logged()).collect()
    }
}
