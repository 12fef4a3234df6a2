//! Idempotency keys' records (docs/rules.md, rule 11), `IDEM#<caller>#<key>` / `IDEM` in the
//! directory table, forgotten by DynamoDB's TTL (`ttl`) a day after they were claimed.
//!
//! A key is claimed before the work (`running`, leased until the request's deadline); the
//! change's own transaction moves it to `committed` with the answer (`Tx::record`, which is
//! conditioned on the lease); the sent answer makes it `done`. A retry that finds the lease
//! lapsed takes the key over with a new lease, which fences out any commit the old holder
//! still had in flight.

use super::items::{self, n, s, Row};
use super::{unavailable, Store, StoreError};
use crate::domain::idempotency::{Answer, Claim, Record, State, KEEP_SECS};
use aws_sdk_dynamodb::error::SdkError;

/// Whether a failed write failed only its condition.
fn refused<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(se) => se.err().code() == Some("ConditionalCheckFailedException"),
        _ => false,
    }
}

enum Put {
    Written,
    Held(Record),
    Vanished,
}

impl Store {
    /// Claims the key for a new attempt (`None`), or answers the record that holds it. A
    /// record that vanishes between the refused put and the read (freed, or forgotten by TTL)
    /// is claimed again rather than taken for a claim this attempt does not hold.
    pub async fn claim_key(
        &self,
        claim: &Claim,
        print: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<Record>, StoreError> {
        for _ in 0..3 {
            match self.put_key(claim, print, now_ms, lease_until_ms).await? {
                Put::Written => return Ok(None),
                Put::Held(found) => return Ok(Some(found)),
                Put::Vanished => continue,
            }
        }
        Err(StoreError::Unavailable(
            "the idempotency key kept changing hands".into(),
        ))
    }

    /// One conditional put of the claim, and if it is refused, what holds the key.
    async fn put_key(
        &self,
        claim: &Claim,
        print: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Put, StoreError> {
        let expires_at = now_ms / 1000 + KEEP_SECS;
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.directory)
            .item("pk", s(&claim.pk))
            .item("sk", s(items::IDEM_SK))
            .item("state", s(State::Running.as_str()))
            .item("print", s(print))
            .item("leaseId", s(&claim.lease_id))
            .item("leaseUntil", n(lease_until_ms))
            .item("ttl", n(expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Put::Written),
            Err(e) if refused(&e) => Ok(match self.key_record(&claim.pk).await? {
                Some(found) => Put::Held(found),
                None => Put::Vanished,
            }),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The key's record (consistent read).
    pub async fn key_record(&self, pk: &str) -> Result<Option<Record>, StoreError> {
        self.get(pk.to_string(), items::IDEM_SK)
            .await?
            .map(|m| Row(&m).idempotency())
            .transpose()
    }

    /// Takes the key from the attempt that held it under `old_lease` (its lease lapsed, or
    /// the key is past its day). `false` if someone else moved it first.
    pub async fn take_over_key(
        &self,
        claim: &Claim,
        old_lease: &str,
        print: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let expires_at = now_ms / 1000 + KEEP_SECS;
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(&claim.pk))
            .key("sk", s(items::IDEM_SK))
            .update_expression(
                "SET #st = :running, print = :print, leaseId = :lease, leaseUntil = :until, \
                 #ttl = :ttl REMOVE answerStatus, answerType, answerBody",
            )
            .condition_expression("leaseId = :old AND (#st = :running OR #ttl <= :nowSecs)")
            .expression_attribute_names("#st", "state")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":running", s(State::Running.as_str()))
            .expression_attribute_values(":print", s(print))
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .expression_attribute_values(":until", n(lease_until_ms))
            .expression_attribute_values(":ttl", n(expires_at))
            .expression_attribute_values(":old", s(old_lease))
            .expression_attribute_values(":nowSecs", n(now_ms / 1000))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if refused(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Records the answer the attempt sent as the key's outcome.
    pub async fn finish_key(&self, claim: &Claim, answer: &Answer) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(&claim.pk))
            .key("sk", s(items::IDEM_SK))
            .update_expression(
                "SET #st = :done, answerStatus = :status, answerType = :type, answerBody = :body",
            )
            .condition_expression("leaseId = :lease")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":done", s(State::Done.as_str()))
            .expression_attribute_values(":status", n(answer.status))
            .expression_attribute_values(":type", s(&answer.content_type))
            .expression_attribute_values(":body", s(&answer.body))
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Taken over after our lease: the key is another attempt's now.
            Err(e) if refused(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Frees the key of an attempt that changed nothing, for a retry to do the work.
    pub async fn release_key(&self, claim: &Claim) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.directory)
            .key("pk", s(&claim.pk))
            .key("sk", s(items::IDEM_SK))
            .condition_expression("leaseId = :lease AND #st = :running")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .expression_attribute_values(":running", s(State::Running.as_str()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if refused(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Ends the lease of an attempt whose commit's fate it could not learn, so a retry may
    /// take over at once (which fences the commit out if it has not landed) instead of
    /// waiting for the deadline the lease was taken to.
    pub async fn lapse_key(&self, claim: &Claim) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(&claim.pk))
            .key("sk", s(items::IDEM_SK))
            .update_expression("SET leaseUntil = :zero")
            .condition_expression("leaseId = :lease AND #st = :running")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .expression_attribute_values(":running", s(State::Running.as_str()))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if refused(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
