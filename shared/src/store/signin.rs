//! What Cognito still owes, kept in DynamoDB, and who may touch a login's identity right now.
//! One item per login, `SIGNIN#<login>` / `SIGNIN`:
//!
//! - the **marker** (`mark`, `dueAt`, and the sparse index gsi2 under the partition `SIGNIN`,
//!   sorted by `<dueAt>#<login>`), written in the same transaction as every change that
//!   touches sign-in. The converge step clears it once Cognito matches; the reconciler visits
//!   only markers that stayed, so its cost grows with the drift, not with the users;
//! - the **lock** (`lockId`, `lockUntil`): every Cognito write for a login happens while one
//!   request holds it. An accept takes it in the same transaction that checks its invite and
//!   keeps it until its commit (which is conditioned on it), so a second accept of the same
//!   link, or a clean-up of what looks like an orphan, can't touch the identity meanwhile.

use super::items::{self, s};
use super::tx::{Tag, Tx, WriteError};
use super::{unavailable, Page, Query, Store, StoreError};
use crate::domain::signin::{CLAIM_LEASE, RECONCILE_AFTER};
use crate::domain::{timefmt, Invite};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use time::OffsetDateTime;

pub const SIGNIN_GSI2PK: &str = "SIGNIN";
const SIGNIN_SK: &str = "SIGNIN";
/// The lock is free, its holder's lease ran out, or it is already ours: an SDK retry of a
/// write that landed but whose answer was lost (the id is new for every attempt to lock).
const FREE: &str = "(attribute_not_exists(lockUntil) OR lockUntil <= :now OR lockId = :id)";

fn marker_pk(login: &str) -> String {
    format!("SIGNIN#{login}")
}

/// A login whose identity Cognito may not match yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub login: String,
    pub mark: String,
    pub due_at: OffsetDateTime,
}

/// The marker's attributes, as an update: it keeps whatever lock the item holds.
fn marker_set(
    login: &str,
    due_at: OffsetDateTime,
) -> (String, Vec<(&'static str, AttributeValue)>) {
    let due = timefmt::format(due_at);
    (
        "login = :login, mark = :mark, dueAt = :due, gsi2pk = :g2p, gsi2sk = :g2s".to_string(),
        vec![
            (":login", s(login)),
            (":mark", s(crate::domain::ids::new_id())),
            (":g2s", s(format!("{due}#{login}"))),
            (":due", s(due)),
            (":g2p", s(SIGNIN_GSI2PK)),
        ],
    )
}

fn marker(row: &HashMap<String, AttributeValue>) -> Result<Option<Marker>, StoreError> {
    let get = |k: &str| row.get(k).and_then(|v| v.as_s().ok()).cloned();
    // A lock alone (no change owed) is not a marker.
    let (Some(login), Some(mark), Some(due)) = (get("login"), get("mark"), get("dueAt")) else {
        return Ok(None);
    };
    let due_at = timefmt::parse(&due)
        .ok_or_else(|| StoreError::Corrupt("dueAt in a sign-in marker".into()))?;
    Ok(Some(Marker {
        login,
        mark,
        due_at,
    }))
}

/// How a request gives a login's lock back.
#[derive(Debug, Clone, Copy)]
pub enum Unlock<'a> {
    /// Cognito matches; clear the marker read before the work (if still the same).
    Settled(Option<&'a Marker>),
    /// Cognito may not match; leave a marker due at this time.
    Owed(OffsetDateTime),
}

/// Who holds a login's email now (the guard item): a user or a pending invite, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailHolder {
    User(String),
    Invite(String),
}

impl Tx<'_> {
    /// Records that Cognito owes `login` a converge, in the same transaction as the change.
    pub fn signin_due(&mut self, login: &str, due_at: OffsetDateTime) {
        let (set, values) = marker_set(login, due_at);
        self.update(
            Tag::Marker,
            marker_pk(login),
            SIGNIN_SK,
            &format!("SET {set}"),
            "attribute_not_exists(pk) OR attribute_exists(pk)",
            &[],
            values,
        );
    }

    /// As `signin_due`, only while the lock `lock_id` still holds the login.
    pub fn signin_due_held(&mut self, login: &str, lock_id: &str, due_at: OffsetDateTime) {
        let (set, mut values) = marker_set(login, due_at);
        values.push((":lock", s(lock_id)));
        self.update(
            Tag::Marker,
            marker_pk(login),
            SIGNIN_SK,
            &format!("SET {set}"),
            "lockId = :lock",
            &[],
            values,
        );
    }
}

impl Store {
    pub async fn signin_marker(&self, login: &str) -> Result<Option<Marker>, StoreError> {
        match self.get(marker_pk(login), SIGNIN_SK).await? {
            Some(row) => marker(&row),
            None => Ok(None),
        }
    }

    /// Takes the login's lock for `CLAIM_LEASE` if it is free (or its holder's lease ran
    /// out), or, with `from`, takes it over from that holder (fencing off a commit the holder
    /// may still have in flight). Answers the new lock id and the marker the item holds (read
    /// in the same write), or `None` if someone else holds it.
    pub async fn lock_signin(
        &self,
        login: &str,
        now: OffsetDateTime,
        from: Option<&str>,
    ) -> Result<Option<(String, Option<Marker>)>, StoreError> {
        let id = crate::domain::ids::new_id();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(marker_pk(login)))
            .key("sk", s(SIGNIN_SK))
            .update_expression("SET lockId = :id, lockUntil = :until, login = :login")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .expression_attribute_values(":id", s(&id))
            .expression_attribute_values(":until", s(timefmt::format(now + CLAIM_LEASE)))
            .expression_attribute_values(":login", s(login));
        req = match from {
            Some(held) => req
                .condition_expression("lockId = :held OR lockId = :id")
                .expression_attribute_values(":held", s(held)),
            None => req
                .condition_expression(FREE)
                .expression_attribute_values(":now", s(timefmt::format(now))),
        };
        match req.send().await {
            Ok(out) => {
                let seen = match out.attributes {
                    Some(row) => marker(&row)?,
                    None => None,
                };
                Ok(Some((id, seen)))
            }
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Gives the lock back. `Settled` (Cognito matches what DynamoDB said) also clears the
    /// marker read before the work, unless a newer change wrote a new one since (that change
    /// still owes its converge); `Owed` leaves a marker due at that time, so the reconciler
    /// comes back to what this request could not finish.
    pub async fn unlock_signin(
        &self,
        login: &str,
        lock_id: &str,
        how: Unlock<'_>,
    ) -> Result<(), StoreError> {
        let owed_until = match how {
            Unlock::Settled(seen) => {
                let mut req = self
                    .client
                    .delete_item()
                    .table_name(&self.tables.directory)
                    .key("pk", s(marker_pk(login)))
                    .key("sk", s(SIGNIN_SK))
                    .expression_attribute_values(":lock", s(lock_id));
                req = match seen {
                    Some(m) => req
                        .condition_expression("lockId = :lock AND mark = :mark")
                        .expression_attribute_values(":mark", s(&m.mark)),
                    None => {
                        req.condition_expression("lockId = :lock AND attribute_not_exists(mark)")
                    }
                };
                match req.send().await {
                    Ok(_) => return Ok(()),
                    Err(SdkError::ServiceError(se))
                        if se.err().is_conditional_check_failed_exception() => {}
                    Err(e) => return Err(unavailable(e)),
                }
                None
            }
            Unlock::Owed(due) => Some(due),
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(marker_pk(login)))
            .key("sk", s(SIGNIN_SK))
            .condition_expression("lockId = :lock")
            .expression_attribute_values(":lock", s(lock_id));
        req = match owed_until {
            None => req.update_expression("REMOVE lockId, lockUntil"),
            Some(due) => {
                let (set, values) = marker_set(login, due);
                let mut req = req.update_expression(format!("SET {set} REMOVE lockId, lockUntil"));
                for (k, v) in values {
                    req = req.expression_attribute_values(k, v);
                }
                req
            }
        };
        match req.send().await {
            Ok(_) => Ok(()),
            // Someone took it over after our lease: theirs now.
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Markers due before `now`, oldest first: what the reconciler converges.
    pub async fn due_signins(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Marker>, StoreError> {
        let q = Query {
            table: &self.tables.directory,
            index: Some("gsi2"),
            partition: ("gsi2pk", SIGNIN_GSI2PK.to_string()),
            key_attrs: &["pk", "sk", "gsi2sk"],
            sort: Some((
                "gsi2sk < :due".to_string(),
                vec![(":due", s(timefmt::format(now)))],
            )),
            forward: true,
            filter: None,
            names: vec![],
            values: vec![],
        };
        let page = self.query(q, cursor, limit).await?;
        let mut items = Vec::new();
        for row in &page.items {
            items.extend(marker(row)?);
        }
        Ok(Page {
            items,
            cursor: page.cursor,
        })
    }

    /// Who holds the email guard for `login` (a normalized address), if anyone.
    pub async fn email_holder(&self, login: &str) -> Result<Option<EmailHolder>, StoreError> {
        let Some(row) = self.get(items::email_pk(login), items::EMAIL_SK).await? else {
            return Ok(None);
        };
        let field = |k: &str| row.get(k).and_then(|v| v.as_s().ok()).cloned();
        match (field("kind").as_deref(), field("refId")) {
            (Some("user"), Some(id)) => Ok(Some(EmailHolder::User(id))),
            (Some("invite"), Some(id)) => Ok(Some(EmailHolder::Invite(id))),
            _ => Err(StoreError::Corrupt(format!("email guard for {login}"))),
        }
    }

    /// An accept's first write: checks its invite (still pending, this token, unexpired) and
    /// takes the login's lock in one transaction, before anything touches Cognito, with a
    /// marker due when the lock's lease has long run out: if the accept never finishes, the
    /// reconciler removes what it left. A second accept of the same link while the first
    /// holds the lock is refused here (`Tag::Marker`).
    pub async fn claim_invite(
        &self,
        invite: &Invite,
        login: &str,
        lock_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Invite(0),
            items::invite_pk(&invite.id),
            items::INVITE_SK,
            "SET claimedAt = :now",
            "#st = :pending AND tokenHash = :hash AND expiresAt > :now",
            &[("#st", "status")],
            vec![
                (":pending", s("pending")),
                (":hash", s(&invite.token_hash)),
                (":now", s(timefmt::format(now))),
            ],
        );
        let (set, mut values) = marker_set(login, now + CLAIM_LEASE + RECONCILE_AFTER);
        values.push((":id", s(lock_id)));
        values.push((":until", s(timefmt::format(now + CLAIM_LEASE))));
        values.push((":now", s(timefmt::format(now))));
        tx.update(
            Tag::Marker,
            marker_pk(login),
            SIGNIN_SK,
            &format!("SET lockId = :id, lockUntil = :until, {set}"),
            FREE,
            &[],
            values,
        );
        tx.commit(&self.client).await
    }
}
