//! The DynamoDB adapter. Key design (also in docs/data-model.md):
//!
//! Directory table (`pk`, `sk`), one GSI `gsi1` (`gsi1pk`, `gsi1sk`):
//! - tenant  `TENANT#<t>` / `TENANT`: name, tier, seatLimit, seatsUsed
//! - user    `USER#<sub>` / `USER`:  gsi1 `TENANT#<t>#USER` / `<lower name>#<id>`
//! - invite  `INVITE#<i>` / `INVITE`: gsi1 `TENANT#<t>#INVITE` / `<status>#<createdAt>#<id>`
//! - guard   `EMAIL#<normalized email>` / `EMAIL`: tenantId, kind (user|invite), refId
//!
//! Users and invites are keyed by their own id, not under the tenant, so that a verified
//! token (its `sub`) and an invite token (its invite id) each find their record in one
//! consistent read; every such read then checks `tenantId` (docs/rules.md, rule 7).
//!
//! Audit table (`pk`, `sk`): `TENANT#<t>` / `<at>#<entry id>`, append-only.
//!
//! One file an aggregate, each with its reads, its writes and how a refused write of its
//! names the rule (its `decide`): `tenants`, `users`, `invites` (with their email guards),
//! `audit`, `signin` (the login's lock and what Cognito owes) and `idempotency` (rule 11's
//! keys). This file keeps the `Store`, its get and query plumbing; `tx` the transaction every
//! change commits through; `items` the codec between records and DynamoDB items.

mod audit;
mod events;
mod groups;
mod idempotency;
mod integrations;
mod invites;
mod items;
mod mail;
mod resets;
mod signin;
mod teams;
mod tenants;
mod tx;
mod users;

pub use audit::AuditFilter;
pub use events::Logged;
pub use invites::{Closing, InviteListFilter, InviteNarrow, Sent, CLOSE_BATCH};
pub use items::{audit_sk, decode_cursor, encode_cursor, idem_pk};
pub use mail::Recorded;
pub use signin::{EmailHolder, Marker, Unlock};
pub use tenants::Setting;
pub use tx::{Refusal, WriteError};
pub use users::QuickRow;

use crate::domain::Cause;
pub use crate::domain::UserFilter;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use items::s;
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Tables {
    pub directory: String,
    pub audit: String,
}

impl Tables {
    pub fn from_env() -> Result<Tables, crate::config::ConfigError> {
        Ok(Tables {
            directory: crate::config::env("DIRECTORY_TABLE")?,
            audit: crate::config::env("AUDIT_TABLE")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("dynamodb did not answer")]
    Unavailable(#[source] Cause),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("the cursor was not issued by this API for this list")]
    BadCursor,
}

impl From<StoreError> for crate::domain::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => {
                crate::domain::ApiError::Invalid(vec![crate::domain::FieldError::new(
                    "cursor",
                    "is not a cursor this API issued for this list",
                )])
            }
            // Retrying can't mend a record we can't read: a 500, logged with its cause.
            e @ StoreError::Corrupt(_) => crate::domain::ApiError::Internal(Cause::new(e)),
            e => crate::domain::ApiError::Unavailable(Cause::new(e)),
        }
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Cause::new(e))
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
}

/// A scheduled job's walk over an index, page by page, within a budget of pages:
///
/// ```ignore
/// let mut sweep = Sweep::new(max_pages);
/// while let Some(cursor) = sweep.next_cursor() {
///     let page = store.due_invites(now, cursor, PAGE).await?;
///     for item in sweep.take(page) { /* … */ }
/// }
/// ```
///
/// The cursor moves on whatever the job made of a page, so an item that keeps failing can't
/// pin a job to its first page. (A loop, not a function taking async closures: a spawned
/// job's future must be `Send`, which rustc can't yet prove through them.)
#[derive(Debug)]
pub struct Sweep {
    max_pages: usize,
    cursor: Option<String>,
    /// Pages read.
    pub pages: usize,
    /// The budget ran out with more still due; the next run continues.
    pub more: bool,
}

impl Sweep {
    pub fn new(max_pages: usize) -> Sweep {
        Sweep {
            max_pages,
            cursor: None,
            pages: 0,
            more: false,
        }
    }

    /// Where to read next (`Some(None)`: the start), or `None` when the sweep is over.
    pub fn next_cursor(&mut self) -> Option<Option<&str>> {
        // No cursor after a page read: the index is done.
        if self.pages > 0 && self.cursor.is_none() {
            return None;
        }
        if self.pages == self.max_pages {
            self.more = true;
            return None;
        }
        Some(self.cursor.as_deref())
    }

    /// Records a page read from `next_cursor`'s position and gives its items.
    pub fn take<T>(&mut self, page: Page<T>) -> Vec<T> {
        self.pages += 1;
        self.cursor = page.cursor;
        page.items
    }
}

/// The DynamoDB client every store uses: `cfg`'s, with a single-item write refused for an
/// item a transaction holds (`TransactionConflictException`) retried by the SDK's standard
/// retry (its jittered backoff, its attempts) like a throttle: nothing of it was written, and
/// the SDK does not retry that error on its own.
pub fn client(cfg: &aws_types::SdkConfig) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(cfg)
        .retry_classifier(ConflictIsTransient)
        .build();
    Client::from_conf(conf)
}

#[derive(Debug)]
struct ConflictIsTransient;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for ConflictIsTransient {
    fn classify_retry(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let conflict = ctx.response().is_some_and(|r| {
            r.status().as_u16() == 400
                && r.body()
                    .bytes()
                    .is_some_and(|b| b.windows(CONFLICT.len()).any(|w| w == CONFLICT.as_bytes()))
        });
        if conflict {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "TransactionConflictException is transient"
    }
}

/// The error type DynamoDB names in a refused single-item write's body (`__type`).
const CONFLICT: &str = "#TransactionConflictException\"";

/// Cheap to clone (the SDK client is shared): a request's side write (the activity touch)
/// runs on its own task with a clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    tables: Tables,
}

/// How many DynamoDB reads a filtered list page may take before it returns what it has
/// with a cursor, so one sparse filter can't make a request unbounded.
const MAX_QUERY_ROUNDS: usize = 8;

impl Store {
    pub fn new(client: Client, tables: Tables) -> Store {
        Store { client, tables }
    }

    /// As deployed: DynamoDB with `cfg`, the tables Lambda's environment names.
    pub fn from_env(cfg: &aws_types::SdkConfig) -> Result<Store, crate::config::ConfigError> {
        Ok(Store::new(client(cfg), Tables::from_env()?))
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    async fn get(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Two items in one consistent round trip (BatchGetItem), in the order asked.
    async fn get_two(
        &self,
        a: (String, &str),
        b: (String, &str),
    ) -> Result<(Option<Item>, Option<Item>), StoreError> {
        if a.0 == b.0 && a.1 == b.1 {
            // BatchGetItem refuses a repeated key.
            let one = self.get(a.0, a.1).await?;
            return Ok((one.clone(), one));
        }
        let mut both = self.get_many(&[a, b]).await?.into_iter();
        Ok((both.next().flatten(), both.next().flatten()))
    }

    /// Up to 100 distinct items in one consistent round trip (BatchGetItem), in the order
    /// asked. Keys that DynamoDB leaves unprocessed under load are asked for again.
    async fn get_many(&self, keys: &[(String, &str)]) -> Result<Vec<Option<Item>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let key = |(pk, sk): &(String, &str)| {
            HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(*sk))])
        };
        let mut wanted: Vec<Item> = keys.iter().map(key).collect();
        let mut found: Vec<Item> = Vec::new();
        for attempt in 0..5u64 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            let batch = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut wanted)))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.tables.directory, batch)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut rows) = out.responses.take() {
                found.extend(rows.remove(&self.tables.directory).unwrap_or_default());
            }
            wanted = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.tables.directory))
                .map(|k| k.keys)
                .unwrap_or_default();
            if wanted.is_empty() {
                let pick = |k: &(String, &str)| {
                    found
                        .iter()
                        .find(|i| {
                            i.get("pk").and_then(|v| v.as_s().ok()) == Some(&k.0)
                                && i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str)
                                    == Some(k.1)
                        })
                        .cloned()
                };
                return Ok(keys.iter().map(pick).collect());
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed after retries".into(),
        ))
    }

    /// One page of a gsi1 partition (see `query`).
    #[allow(clippy::type_complexity)]
    async fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: Option<&str>,
        forward: bool,
        filter: Option<(&str, &[(&str, &str)], Vec<(&str, AttributeValue)>)>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Item>, StoreError> {
        let mut q = Query {
            table: &self.tables.directory,
            index: Some("gsi1"),
            partition: ("gsi1pk", gsi1pk.to_string()),
            key_attrs: &["pk", "sk", "gsi1sk"],
            sort: prefix.map(|p| ("begins_with(gsi1sk, :s1)".to_string(), vec![(":s1", s(p))])),
            forward,
            filter: None,
            names: vec![],
            values: vec![],
        };
        if let Some((expr, names, values)) = filter {
            q.filter = Some(expr.to_string());
            q.names = names.to_vec();
            q.values = values;
        }
        self.query(q, cursor, limit).await
    }

    /// Follows DynamoDB's pages until `limit` items passed the filter or `MAX_QUERY_ROUNDS`
    /// reads were spent, so one sparse filter can't make a request unbounded.
    async fn query(
        &self,
        q: Query<'_>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Item>, StoreError> {
        let (pattr, pval) = &q.partition;
        let mut start = cursor
            .map(|c| decode_cursor(c, pattr, pval, q.key_attrs))
            .transpose()?;
        let mut out = Vec::new();
        let key_cond = match &q.sort {
            Some((expr, _)) => format!("{pattr} = :p AND {expr}"),
            None => format!("{pattr} = :p"),
        };
        for _ in 0..MAX_QUERY_ROUNDS {
            let mut req = self
                .client
                .query()
                .table_name(q.table)
                .set_index_name(q.index.map(str::to_string))
                .scan_index_forward(q.forward)
                .limit((limit - out.len()) as i32)
                .key_condition_expression(&key_cond)
                .expression_attribute_values(":p", s(pval))
                .set_exclusive_start_key(start.take());
            if let Some((_, values)) = &q.sort {
                for (k, v) in values {
                    req = req.expression_attribute_values(*k, v.clone());
                }
            }
            if let Some(f) = &q.filter {
                req = req.filter_expression(f);
            }
            for (k, v) in &q.names {
                req = req.expression_attribute_names(*k, *v);
            }
            for (k, v) in &q.values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            let page = req.send().await.map_err(unavailable)?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || out.len() >= limit {
                break;
            }
        }
        Ok(Page {
            items: out,
            cursor: start.as_ref().map(|k| encode_cursor(k, pattr)),
        })
    }
}

type Item = HashMap<String, AttributeValue>;

struct Query<'a> {
    table: &'a str,
    index: Option<&'a str>,
    /// The partition attribute and its value, always from the caller's own scope.
    partition: (&'a str, String),
    /// The attributes of a `LastEvaluatedKey` other than the partition one.
    key_attrs: &'a [&'a str],
    sort: Option<(String, Vec<(&'a str, AttributeValue)>)>,
    forward: bool,
    filter: Option<String>,
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> Query<'a> {
    /// What a sparse due-index partition (`gsi2`) holds before `now`, oldest first: the
    /// scheduled jobs' reads, which cost what is due, not what exists.
    fn due(tables: &'a Tables, partition: &str, now: OffsetDateTime) -> Query<'a> {
        Query {
            table: &tables.directory,
            index: Some("gsi2"),
            partition: ("gsi2pk", partition.to_string()),
            key_attrs: &["pk", "sk", "gsi2sk"],
            sort: Some((
                "gsi2sk < :due".to_string(),
                vec![(":due", s(crate::domain::timefmt::format(now)))],
            )),
            forward: true,
            filter: None,
            names: vec![],
            values: vec![],
        }
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    fn page(items: &[u8], cursor: Option<&str>) -> Page<u8> {
        Page {
            items: items.to_vec(),
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn a_sweep_follows_cursors_to_the_end_or_stops_at_its_budget() {
        let mut s = Sweep::new(5);
        assert_eq!(s.next_cursor(), Some(None));
        assert_eq!(s.take(page(&[1, 2], Some("c1"))), vec![1, 2]);
        assert_eq!(s.next_cursor(), Some(Some("c1")));
        assert_eq!(s.take(page(&[3], None)), vec![3]);
        assert_eq!(s.next_cursor(), None);
        assert_eq!((s.pages, s.more), (2, false));

        let mut s = Sweep::new(1);
        assert_eq!(s.next_cursor(), Some(None));
        s.take(page(&[], Some("c1")));
        assert_eq!(s.next_cursor(), None);
        assert_eq!((s.pages, s.more), (1, true));

        let mut s = Sweep::new(0);
        assert_eq!(s.next_cursor(), None);
        assert!(s.more);
    }
}
