//! What Cognito still owes, kept in DynamoDB, and who may touch a login's identity right now.
//! One item per login, `SIGNIN#<login>` / `SIGNIN`:
//!
//! - the **lock** (`lockId`, `lockUntil`): every change that touches a login's sign-in, and
//!   every Cognito write for it, happens while one request holds it. An accept takes it in the
//!   same transaction that checks its invite (its claim) and its commit is conditioned on it;
//!   suspend, reactivate and delete hold it around their commit.
//! - the **marker** (`mark`, `dueAt`, and the sparse index gsi2 under the partition `SIGNIN`,
//!   sorted by `<dueAt>#<login>`): written with the lock, so from before a change until the
//!   holder has brought Cognito in line, the login is recorded as owed. The holder deletes
//!   the item when Cognito matches, or leaves the marker (due a minute later) when it could
//!   not; a holder that dies leaves it due when its lease has run out. The reconciler reads
//!   only markers that are due, so its cost grows with the drift, not with the users.

use super::items::{self, s};
use super::tx::{Tag, Tx};
use super::{unavailable, Page, Query, Store, StoreError};
use crate::domain::signin::{CLAIM_LEASE, RECONCILE_AFTER};
use crate::domain::{timefmt, InviteId, UserId};
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

impl Marker {
    /// A new marker for `login`, due at `due_at`; its mark is new, so only its writer can
    /// clear it.
    pub fn new(login: &str, due_at: OffsetDateTime) -> Marker {
        Marker {
            login: login.to_string(),
            mark: crate::domain::ids::new_id(),
            due_at,
        }
    }
}

/// The marker's attributes, as an update: it keeps whatever lock the item holds.
fn marker_set(m: &Marker) -> (String, Vec<(&'static str, AttributeValue)>) {
    let (login, due) = (m.login.as_str(), timefmt::format(m.due_at));
    (
        "login = :login, mark = :mark, dueAt = :due, gsi2pk = :g2p, gsi2sk = :g2s".to_string(),
        vec![
            (":login", s(login)),
            (":mark", s(&m.mark)),
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
    /// Cognito matches: clear the holder's marker (if still the same).
    Settled(Option<&'a Marker>),
    /// Cognito may not match; leave a marker due at this time.
    Owed(OffsetDateTime),
}

/// Who holds a login's email now (the guard item): a user or a pending invite, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailHolder {
    User(UserId),
    Invite(InviteId),
}

impl Tx<'_> {
    /// Takes the login's lock for `CLAIM_LEASE` as a step of this transaction (an accept's
    /// claim), with a marker due when the lease has long run out: if the holder never
    /// finishes, the reconciler removes what it left. Fails the transaction while another
    /// request holds the lock (`Tag::Marker`).
    pub fn lock_signin(&mut self, login: &str, lock_id: &str, now: OffsetDateTime) -> Marker {
        let owed = Marker::new(login, now + CLAIM_LEASE + RECONCILE_AFTER);
        let (set, mut values) = marker_set(&owed);
        values.push((":id", s(lock_id)));
        values.push((":until", s(timefmt::format(now + CLAIM_LEASE))));
        values.push((":now", s(timefmt::format(now))));
        self.update(
            Tag::Marker,
            marker_pk(login),
            SIGNIN_SK,
            &format!("SET lockId = :id, lockUntil = :until, {set}"),
            FREE,
            &[],
            values,
        );
        owed
    }

    /// Fails the transaction unless the lock `lock_id` still holds the login: a change made
    /// under a lock that was taken over (its holder ran past its lease) must not land.
    pub fn signin_still_held(&mut self, login: &str, lock_id: &str) {
        self.update(
            Tag::Marker,
            marker_pk(login),
            SIGNIN_SK,
            "SET login = :login",
            "lockId = :lock",
            &[],
            vec![(":login", s(login)), (":lock", s(lock_id))],
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
    /// may still have in flight), and marks the login owed until the holder says otherwise.
    /// Answers the new lock id and its marker, or `None` if someone else holds it.
    pub async fn lock_signin(
        &self,
        login: &str,
        now: OffsetDateTime,
        from: Option<&str>,
    ) -> Result<Option<(String, Marker)>, StoreError> {
        let id = crate::domain::ids::new_id();
        let owed = Marker::new(login, now + CLAIM_LEASE + RECONCILE_AFTER);
        let (set, values) = marker_set(&owed);
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(marker_pk(login)))
            .key("sk", s(SIGNIN_SK))
            .update_expression(format!("SET lockId = :id, lockUntil = :until, {set}"))
            .expression_attribute_values(":id", s(&id))
            .expression_attribute_values(":until", s(timefmt::format(now + CLAIM_LEASE)));
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        req = match from {
            Some(held) => req
                .condition_expression("lockId = :held OR lockId = :id")
                .expression_attribute_values(":held", s(held)),
            None => req
                .condition_expression(FREE)
                .expression_attribute_values(":now", s(timefmt::format(now))),
        };
        match req.send().await {
            Ok(_) => Ok(Some((id, owed))),
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
            Unlock::Owed(due) => Some(Marker::new(login, due)),
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
            Some(owed) => {
                let (set, values) = marker_set(&owed);
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
        let q = Query::due(&self.tables, SIGNIN_GSI2PK, now);
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
        let Some(row) = self
            .get(items::login_guard_pk(login), items::EMAIL_SK)
            .await?
        else {
            return Ok(None);
        };
        let field = |k: &str| row.get(k).and_then(|v| v.as_s().ok()).cloned();
        let held = match (field("kind").as_deref(), field("refId")) {
            (Some("user"), Some(id)) => UserId::parse(&id).map(EmailHolder::User),
            (Some("invite"), Some(id)) => InviteId::parse(&id).map(EmailHolder::Invite),
            _ => None,
        };
        held.map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("email guard for {login}")))
    }
}
