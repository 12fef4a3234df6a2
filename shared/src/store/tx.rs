//! One `TransactWriteItems` per change, with each item tagged so that a cancelled transaction
//! can say which rule stopped it (the seat counter, row 3's email guard, ...).

use super::items::{self, n, s, Item};
use super::Tables;
use crate::domain::idempotency::Answer;
use crate::domain::{AuditEntry, Cause, Chain};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Tenant,
    User,
    Invite(usize),
    Email(usize),
    Audit,
    /// A sign-in marker (what Cognito still owes a login).
    Marker,
    /// The request's idempotency record (rule 11), conditioned on its lease.
    Idempotency,
    /// A user's password reset (rule 13).
    Reset,
    /// Row `n` of a quick edit's users (rule 17).
    Row(usize),
    /// The company's events item (`items::events_pk`): unconditional, never a refusal.
    Events,
    /// An integration token's record (rule 21).
    Integration,
    /// A directory group's record, or the guard of the name it leaves (rule 22).
    Group,
    /// The guard of a directory group's new name.
    GroupName,
}

/// The rule that refused a change. Each store operation decides it from the conditions that
/// failed in its own transaction (`decide`), so no caller reads cancellation reasons or item
/// tags, and none of them reaches a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The record is no longer as it was read: another change landed first.
    Stale,
    /// These rows' addresses already belong to a user or a pending invite (row indexes,
    /// ascending).
    EmailTaken(Vec<usize>),
    /// Not enough free seats for the change; for a tier change, more seats in use than the
    /// new limit.
    NoSeat,
    /// The change would leave the company without an active admin.
    LastAdmin,
    /// The invite is no longer pending as it was read (accepted, revoked, expired, resent).
    NotPending,
    /// Another request holds the login's sign-in lock, or took over this one's.
    SignInLocked,
    /// These rows' users changed since they were read (row indexes, ascending).
    StaleRows(Vec<usize>),
    /// Another record of the company already has the name (a directory group's, rule 22).
    NameTaken,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A condition failed: nothing was written.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// DynamoDB failed and nothing was written.
    #[error("dynamodb did not commit")]
    Unavailable(#[source] Cause),
    /// The commit was sent and whether it landed is not known (rule 11: say so).
    #[error("dynamodb commit sent, outcome unknown")]
    Unknown(#[source] Cause),
    /// The request's idempotency key was taken over by a retry (its lease had lapsed), so
    /// this attempt may not commit: nothing was written.
    #[error("the idempotency key passed to another attempt")]
    Superseded,
}

/// What `Tx::commit` answers: the raw failed conditions, for the operation to decide on.
#[derive(Debug, thiserror::Error)]
pub(super) enum TxError {
    #[error("refused by a condition")]
    Rejected(Vec<Tag>),
    #[error("dynamodb did not commit")]
    Unavailable(#[source] Cause),
    #[error("dynamodb commit sent, outcome unknown")]
    Unknown(#[source] Cause),
}

impl TxError {
    /// The operation's refusal for the conditions that failed. A failed idempotency record
    /// comes first: whatever else failed, this attempt no longer holds its key.
    pub(super) fn decided_by(self, decide: impl FnOnce(&[Tag]) -> Refusal) -> WriteError {
        match self {
            TxError::Rejected(tags) if tags.contains(&Tag::Idempotency) => WriteError::Superseded,
            TxError::Rejected(tags) => WriteError::Refused(decide(&tags)),
            TxError::Unavailable(why) => WriteError::Unavailable(why),
            TxError::Unknown(why) => WriteError::Unknown(why),
        }
    }
}

impl From<WriteError> for crate::domain::ApiError {
    fn from(e: WriteError) -> Self {
        use crate::domain::ApiError;
        match e {
            WriteError::Unknown(_) => ApiError::OutcomeUnknown(Cause::new(e)),
            WriteError::Superseded => ApiError::IdempotencyInProgress,
            // A refusal reaching here is one the operation had no words for: nothing was
            // written, so it is at least true to say so.
            WriteError::Refused(_) | WriteError::Unavailable(_) => {
                ApiError::Unavailable(Cause::new(e))
            }
        }
    }
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn names_map(names: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    (!names.is_empty()).then(|| {
        names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn values_map(values: Vec<(&str, AttributeValue)>) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| {
        values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
}

/// DynamoDB's limit on the items of one transaction.
pub(super) const MAX_ITEMS: usize = 100;

pub(super) struct Tx<'a> {
    tables: &'a Tables,
    items: Vec<TransactWriteItem>,
    tags: Vec<Tag>,
    /// What proves this change committed, when an answer is lost or a retry of it is refused:
    /// a change has one, a lock or a delivery status (not a change) has none.
    receipt: Option<Receipt>,
    /// The events of this change's published audit entries, by company, in the order the
    /// entries were added: written to each company's events item at commit.
    events: Vec<(crate::domain::TenantId, Vec<serde_json::Value>)>,
}

/// How a change meets a competing transaction (DynamoDB cancels a transaction that touches
/// an item another one holds, `TransactionConflict`; the SDK's retries don't resend a
/// cancelled transaction): it is not a refusal, nothing was written, and the same change is
/// sent again after a jittered, growing pause, for as long as the request's budget allows
/// (`contention::Budget`).
mod contention {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// Kept back from the request's deadline after the last attempt: the answer, the journal.
    pub const RESERVE: Duration = Duration::from_millis(300);
    /// The budget of work that has no request deadline (the scheduled jobs, a direct call).
    pub const UNBOUND: Duration = Duration::from_secs(3);
    /// The first pause's ceiling, about one transaction's time on DynamoDB; each next one's
    /// doubles up to `CAP`.
    pub const BASE: Duration = Duration::from_millis(10);
    pub const CAP: Duration = Duration::from_millis(320);

    /// Until when a change may keep retrying.
    pub struct Budget {
        until: tokio::time::Instant,
    }

    impl Budget {
        pub fn now() -> Budget {
            let until = match crate::config::deadline() {
                Some(d) => d.checked_sub(RESERVE).unwrap_or(d),
                None => tokio::time::Instant::now() + UNBOUND,
            };
            Budget { until }
        }

        /// The pause before attempt `attempt + 1` (full jitter: uniform below the ceiling), or
        /// `None` when it would not end inside the budget.
        pub fn pause(&self, attempt: u32) -> Option<Duration> {
            let ceiling = BASE
                .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
                .min(CAP);
            let wait = jitter(ceiling);
            (tokio::time::Instant::now() + wait < self.until).then_some(wait)
        }
    }

    /// Uniform in `[0, ceiling)`, from the OS's random source (no generator to seed or share).
    fn jitter(ceiling: Duration) -> Duration {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            return ceiling / 2;
        }
        let nanos = ceiling.as_nanos().max(1) as u64;
        Duration::from_nanos(u64::from_le_bytes(b) % nanos)
    }

    /// Counts the SDK's attempts of one call: a cancellation after more than one may follow an
    /// attempt that timed out and still lands (moto keeps no client request tokens), so only
    /// a single attempt's cancellation proves that nothing of the change was written.
    #[derive(Debug, Clone, Default)]
    pub struct Attempts(Arc<AtomicUsize>);

    impl Attempts {
        pub fn get(&self) -> usize {
            self.0.load(Ordering::Relaxed)
        }
    }

    impl aws_sdk_dynamodb::config::Intercept for Attempts {
        fn name(&self) -> &'static str {
            "Attempts"
        }

        fn read_before_attempt(
            &self,
            _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
            _: &aws_sdk_dynamodb::config::RuntimeComponents,
            _: &mut aws_sdk_dynamodb::config::ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// How a change proves it committed.
#[derive(Debug, Clone)]
enum Receipt {
    /// Its audit entry (in the audit table) is stored: the entry's id is new for every change,
    /// so finding it proves this very transaction committed.
    Audit(Item),
    /// An item of the directory table, written under `Tag`, carries this change's own write id
    /// (`writeId`), new for every change: a change with no audit entry (a directory group's,
    /// rule 22).
    Stamp(Tag, Item, String),
    /// An item of the directory table, deleted under `Tag`, is gone: a deletion with no audit
    /// entry. Gone for any reason is what the deletion wanted, so another's deletion counts as
    /// this one's.
    Gone(Tag, Item),
}

impl Receipt {
    /// The tag of the receipt's own write: a resend of a change that landed fails there.
    fn tag(&self) -> Tag {
        match self {
            Receipt::Audit(_) => Tag::Audit,
            Receipt::Stamp(tag, ..) | Receipt::Gone(tag, _) => *tag,
        }
    }
}

/// The attribute a stamped item carries (`Tx::stamp`).
pub(super) const WRITE_ID: &str = "writeId";

impl<'a> Tx<'a> {
    pub fn new(tables: &'a Tables) -> Tx<'a> {
        Tx {
            tables,
            items: Vec::new(),
            tags: Vec::new(),
            receipt: None,
            events: Vec::new(),
        }
    }

    fn push(&mut self, tag: Tag, item: TransactWriteItem) {
        self.items.push(item);
        self.tags.push(tag);
    }

    /// A put that must not overwrite anything.
    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, item) are set"
    )]
    pub fn put_new(&mut self, tag: Tag, item: Item) {
        let put = Put::builder()
            .table_name(&self.tables.directory)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        self.push(tag, TransactWriteItem::builder().put(put).build());
    }

    /// A put that replaces an item only if `condition` holds on the stored one.
    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, item) are set"
    )]
    pub fn put_if(
        &mut self,
        tag: Tag,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) {
        let put = Put::builder()
            .table_name(&self.tables.directory)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .build()
            .expect("table and item are set");
        self.push(tag, TransactWriteItem::builder().put(put).build());
    }

    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, key) are set"
    )]
    pub fn delete_if(
        &mut self,
        tag: Tag,
        pk: String,
        sk: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) {
        let del = Delete::builder()
            .table_name(&self.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression(condition)
            .set_expression_attribute_values(values_map(values))
            .build()
            .expect("table and key are set");
        self.push(tag, TransactWriteItem::builder().delete(del).build());
    }

    /// Append-only: an entry is only ever put, never over an existing one (docs/rules.md, rule 3).
    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, item) are set"
    )]
    pub fn audit(&mut self, entry: &AuditEntry) {
        if !matches!(self.receipt, Some(Receipt::Audit(_))) {
            self.receipt = Some(Receipt::Audit(key(
                items::audit_pk(&entry.tenant_id),
                &items::audit_sk(entry),
            )));
        }
        let put = Put::builder()
            .table_name(&self.tables.audit)
            .set_item(Some(items::audit_item(entry)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        self.push(Tag::Audit, TransactWriteItem::builder().put(put).build());
        if let Some(event) = crate::domain::event::of(entry) {
            match self.events.iter_mut().find(|(t, _)| *t == entry.tenant_id) {
                Some((_, list)) => list.push(event),
                None => self.events.push((entry.tenant_id.clone(), vec![event])),
            }
        }
    }

    /// A change with no audit entry proves itself by an item of the directory table, which
    /// this transaction writes under `tag` with the write id returned here in `WRITE_ID`.
    pub fn stamp(&mut self, tag: Tag, pk: String, sk: &str) -> String {
        let id = crate::domain::ids::new_id();
        if !matches!(self.receipt, Some(Receipt::Audit(_))) {
            self.receipt = Some(Receipt::Stamp(tag, key(pk, sk), id.clone()));
        }
        id
    }

    /// A deletion with no audit entry proves itself by an item of the directory table, which
    /// this transaction deletes under `tag`, being gone.
    pub fn gone(&mut self, tag: Tag, pk: String, sk: &str) {
        if !matches!(self.receipt, Some(Receipt::Audit(_))) {
            self.receipt = Some(Receipt::Gone(tag, key(pk, sk)));
        }
    }

    /// Each company's events item: this change's events, and `seq` moved on by their count,
    /// so DynamoDB numbers a company's events in commit order (the stream's new image holds
    /// the last number; `publish-events` counts back). Only these attributes, under the
    /// `EVENTS#` key the template lets a function update (audit entries stay append-only).
    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, key, expression) are set"
    )]
    fn events_items(&mut self) {
        for (tenant, events) in std::mem::take(&mut self.events) {
            let up = Update::builder()
                .table_name(&self.tables.audit)
                .key("pk", s(items::events_pk(&tenant)))
                .key("sk", s(items::EVENTS_SK))
                .update_expression("SET events = :e ADD seq :k")
                .set_expression_attribute_values(values_map(vec![
                    (
                        ":e",
                        s(serde_json::Value::Array(events.clone()).to_string()),
                    ),
                    (":k", n(events.len())),
                ]))
                .build()
                .expect("table, key and expression are set");
            self.push(Tag::Events, TransactWriteItem::builder().update(up).build());
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[allow(
        clippy::expect_used,
        reason = "the builder's required fields (table, key, expression) are set"
    )]
    pub fn update(
        &mut self,
        tag: Tag,
        pk: String,
        sk: &str,
        update: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) {
        let up = Update::builder()
            .table_name(&self.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .build()
            .expect("table, key and expression are set");
        self.push(tag, TransactWriteItem::builder().update(up).build());
    }

    /// A user's versioned change (`items::user_versioned_update`), only if `condition` holds on
    /// the stored record: the attributes recorded beside the version stay as they are.
    /// `also`: attributes beside the version set in the same write (a quick edit's availability).
    pub fn update_user(
        &mut self,
        tag: Tag,
        after: &crate::domain::User,
        also: &[(&'static str, AttributeValue)],
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) {
        let (mut expr, set) = items::user_versioned_update(after);
        const ALSO: [&str; 4] = [":w0", ":w1", ":w2", ":w3"];
        let extra: Vec<String> = also
            .iter()
            .zip(ALSO)
            .map(|((k, _), slot)| format!(", {k} = {slot}"))
            .collect();
        // The SET clause ends where REMOVE starts (or at the end).
        let at = expr.find(" REMOVE ").unwrap_or(expr.len());
        expr.insert_str(at, &extra.concat());
        let mut all_names: Vec<(&str, &str)> = items::user_versioned_names(after);
        all_names.extend_from_slice(names);
        let mut all_values: Vec<(&str, AttributeValue)> =
            set.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        all_values.extend(values);
        all_values.extend(
            also.iter()
                .zip(ALSO)
                .map(|((_, v), slot)| (slot, v.clone())),
        );
        self.update(
            tag,
            items::user_pk(&after.id),
            items::USER_SK,
            &expr,
            condition,
            &all_names,
            all_values,
        );
    }

    /// Commits, and answers what actually happened, not only what the last answer said:
    ///
    /// - Every attempt carries a client request token, so the SDK's own retries of one attempt
    ///   are idempotent on DynamoDB (a retry of a transaction that committed answers success).
    /// - A refusal whose failed conditions include this change's own audit entry means an
    ///   earlier attempt of this very transaction committed (the entry's id is unique to the
    ///   change): that is a commit, not a refusal.
    /// - A server error or timeout may or may not have committed: the audit entry is read back
    ///   to tell which. Found, it is a commit; not found or not readable, the outcome is
    ///   `Unknown` (the transaction may still land), never "nothing written".
    ///
    /// A change (a transaction with an audit entry) also writes in the request's journal
    /// (rule 11): sent, then committed or nothing written; and when the request holds an
    /// idempotency key, the key's record moves to `committed` with the change's answer in
    /// this same transaction, conditioned on the request's lease.
    pub(super) async fn commit(mut self, client: &Client) -> Result<(), TxError> {
        self.events_items();
        debug_assert!(
            self.items.len() <= MAX_ITEMS,
            "{} items in one transaction",
            self.items.len()
        );
        if self.receipt.is_some() {
            match crate::journal::sending() {
                Some((claim, Some(answer))) => self.record(&claim, &answer),
                Some((_, None)) => {
                    // Every use case names its answer before its commit (rule 11); one that
                    // doesn't would commit a keyed change its retry can't replay.
                    debug_assert!(false, "a keyed change committed without naming its answer");
                    tracing::error!("a keyed change committed without naming its answer");
                }
                None => {}
            }
        }
        // Boxed: inline, every operation's future nests this one, deep enough to overflow
        // rustc's layout recursion limit in the functions that await several.
        let out = Box::pin(self.commit_once(client)).await;
        if self.receipt.is_some() {
            match &out {
                Ok(()) => crate::journal::settled(true),
                Err(TxError::Rejected(_) | TxError::Unavailable(_)) => {
                    crate::journal::settled(false)
                }
                Err(TxError::Unknown(_)) => {}
            }
        }
        out
    }

    /// The key's record: `committed`, with the answer, only while this request's lease holds.
    fn record(&mut self, claim: &crate::domain::idempotency::Claim, answer: &Answer) {
        use crate::domain::idempotency::State;
        self.update(
            Tag::Idempotency,
            claim.pk.clone(),
            items::IDEM_SK,
            "SET #st = :committed, answerStatus = :status, answerType = :type, answerBody = :body",
            "#st = :running AND leaseId = :lease",
            &[("#st", "state")],
            vec![
                (":committed", s(State::Committed.as_str())),
                (":running", s(State::Running.as_str())),
                (":lease", s(&claim.lease_id)),
                (":status", n(answer.status)),
                (":type", s(&answer.content_type)),
                (":body", s(&answer.body)),
            ],
        );
    }

    async fn commit_once(&self, client: &Client) -> Result<(), TxError> {
        let budget = contention::Budget::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let tries = contention::Attempts::default();
            let res = client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .client_request_token(crate::domain::ids::new_id())
                .customize()
                .interceptor(tries.clone())
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let SdkError::ServiceError(se) = &err {
                if let TransactWriteItemsError::TransactionCanceledException(c) = se.err() {
                    let reasons = c.cancellation_reasons();
                    let failed: Vec<Tag> = reasons
                        .iter()
                        .zip(&self.tags)
                        .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(_, t)| *t)
                        .collect();
                    if !failed.is_empty() {
                        // A refusal that includes what only this change writes may be this
                        // change's own earlier attempt (the SDK resent it after losing the
                        // answer), landed: that is a commit, not a refusal.
                        let own = match &self.receipt {
                            Some(r) if failed.contains(&r.tag()) => {
                                matches!(r, Receipt::Audit(_))
                                    || self.landed(client).await.unwrap_or(false)
                            }
                            _ => false,
                        };
                        if own {
                            return Ok(());
                        }
                        return Err(TxError::Rejected(failed));
                    }
                    let contended = reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"));
                    if contended {
                        if let Some(wait) = budget.pause(attempt) {
                            tracing::debug!(
                                attempt,
                                wait_ms = wait.as_millis() as u64,
                                "transaction conflict, retrying"
                            );
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        // Each earlier attempt of this loop was cancelled whole; this one too,
                        // unless the SDK sent it twice (see `Attempts`).
                        if tries.get() <= 1 {
                            tracing::warn!(
                                attempts = attempt,
                                "transaction conflicts outlasted the budget"
                            );
                            return Err(TxError::Unavailable(
                                format!(
                                    "{attempt} attempts each met a competing transaction on the same items"
                                )
                                .into(),
                            ));
                        }
                    }
                }
            }
            let refused = matches!(&err, SdkError::ServiceError(_));
            // A service error that names a refusal wrote nothing in that attempt; anything
            // else (5xx, timeout, lost connection) may have. For a change that is not enough:
            // the SDK's own retries resend it with the same token, so a final 400 (throttled,
            // `TransactionInProgressException`) can follow an attempt that timed out and may
            // land. Only a malformed request, which every attempt fails alike, proves nothing
            // was written; everything else is read back.
            let malformed = match &err {
                SdkError::ServiceError(se) => {
                    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(se.err())
                        == Some("ValidationException")
                }
                _ => false,
            };
            let ambiguous = if self.receipt.is_some() {
                !malformed
            } else {
                !refused
                    || err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() >= 500)
            };
            let why = Cause::new(err);
            if !ambiguous {
                return Err(TxError::Unavailable(why));
            }
            return match &self.receipt {
                Some(_) => match self.landed(client).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(TxError::Unknown(
                        format!("not stored yet after {}", Chain(&why)).into(),
                    )),
                    Err(e) => Err(TxError::Unknown(
                        format!("{} after {}", Chain(&e), Chain(&why)).into(),
                    )),
                },
                // Not a change (a lock, a delivery status): none of a change was written.
                None => Err(TxError::Unavailable(why)),
            };
        }
    }

    /// Whether this change's receipt shows it committed (consistent read).
    async fn landed(&self, client: &Client) -> Result<bool, TxError> {
        let (table, key) = match &self.receipt {
            Some(Receipt::Audit(k)) => (&self.tables.audit, k),
            Some(Receipt::Stamp(_, k, _) | Receipt::Gone(_, k)) => (&self.tables.directory, k),
            None => return Ok(false),
        };
        let out = client
            .get_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .projection_expression("pk, #w")
            .expression_attribute_names("#w", WRITE_ID)
            .send()
            .await
            .map_err(|e| TxError::Unavailable(Cause::new(e)))?;
        Ok(match (&self.receipt, out.item) {
            (Some(Receipt::Audit(_)), item) => item.is_some(),
            (Some(Receipt::Stamp(_, _, id)), Some(item)) => {
                item.get(WRITE_ID).and_then(|v| v.as_s().ok()) == Some(id)
            }
            (Some(Receipt::Gone(..)), item) => item.is_none(),
            _ => false,
        })
    }
}
