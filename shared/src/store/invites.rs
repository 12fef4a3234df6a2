//! Invites (`INVITE#<i>` / `INVITE`, listed by gsi1 `TENANT#<t>#INVITE`, due for expiry by the
//! sparse gsi2 `PENDING`) and the email guard each holds: every read and write of an invite's
//! life (create, resend, revoke, expire, claim and accept, delivery), and how a refused one
//! names its rule.

use super::items::{self, s, Row};
use super::tx::{self, Refusal, Tag, Tx, WriteError};
use super::{unavailable, Marker, Page, Query, Store, StoreError};
use crate::domain::{
    timefmt, AuditEntry, Cause, DeliveryStatus, Invite, InviteId, InviteStatus, Role, Tenant,
    TenantId, User, UserId,
};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteListFilter {
    /// Pending and not yet past expiry.
    Pending,
    /// Marked expired, or pending past expiry (the job may not have run yet).
    Expired,
    All,
}

/// Narrows an invite list the way the Users screen narrows users, so one filter applies to
/// both kinds of row.
#[derive(Debug, Clone, Default)]
pub struct InviteNarrow {
    pub role: Option<Role>,
    pub team: Option<String>,
    /// Lower-cased substring of name or email.
    pub search: Option<String>,
}

/// How a pending invite closes; each has its own guard on the stored invite.
#[derive(Debug, Clone, Copy)]
pub enum Closing {
    /// By an admin: only the exact version they read (same `sentAt`) and only while pending.
    Revoke,
    /// By the job: only while still pending and past its expiry at `now`.
    Expire(OffsetDateTime),
}

/// Invites closed in one transaction: three items each (invite, email guard, audit entry) and
/// at worst, each of another company, one tenant counter and one events item each
/// (`items::events_pk`): 5 × 20 keeps it within DynamoDB's 100 items.
pub const CLOSE_BATCH: usize = 20;

impl Store {
    pub async fn invite(&self, id: &InviteId) -> Result<Option<Invite>, StoreError> {
        self.get(items::invite_pk(id), items::INVITE_SK)
            .await?
            .map(|m| Row(&m).invite())
            .transpose()
    }

    /// A user and an invite in one consistent round trip: the caller and the invite they act on.
    pub async fn user_and_invite(
        &self,
        user: &UserId,
        invite: &InviteId,
    ) -> Result<(Option<User>, Option<Invite>), StoreError> {
        let (x, y) = self
            .get_two(
                (items::user_pk(user), items::USER_SK),
                (items::invite_pk(invite), items::INVITE_SK),
            )
            .await?;
        Ok((
            x.map(|m| Row(&m).user()).transpose()?,
            y.map(|m| Row(&m).invite()).transpose()?,
        ))
    }

    /// For each id, the user and the invite it could name, consistently, 50 ids (100 keys) to a
    /// round trip: what a group's new members are checked against.
    pub async fn users_and_invites(
        &self,
        ids: &[(UserId, InviteId)],
    ) -> Result<Vec<(Option<User>, Option<Invite>)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(50) {
            let keys: Vec<(String, &str)> = chunk
                .iter()
                .flat_map(|(u, i)| {
                    [
                        (items::user_pk(u), items::USER_SK),
                        (items::invite_pk(i), items::INVITE_SK),
                    ]
                })
                .collect();
            let mut found = self.get_many(&keys).await?.into_iter();
            while let (Some(u), Some(i)) = (found.next(), found.next()) {
                out.push((
                    u.map(|m| Row(&m).user()).transpose()?,
                    i.map(|m| Row(&m).invite()).transpose()?,
                ));
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn list_invites(
        &self,
        tenant_id: &TenantId,
        which: InviteListFilter,
        narrow: &InviteNarrow,
        moving: Option<&crate::domain::team::TeamMove>,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Invite>, StoreError> {
        let gsi1pk = items::invites_gsi1pk(tenant_id);
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut conds: Vec<String> = Vec::new();
        let now = s(timefmt::format(now));
        match which {
            InviteListFilter::Pending => {
                values.push((":now", now));
                conds.push("expiresAt > :now".into());
            }
            InviteListFilter::Expired => {
                names.push(("#st", "status"));
                values.push((":now", now));
                values.push((":expired", s(InviteStatus::Expired.as_str())));
                values.push((":pending", s(InviteStatus::Pending.as_str())));
                conds.push("(#st = :expired OR (#st = :pending AND expiresAt <= :now))".into());
            }
            InviteListFilter::All => {}
        }
        if let Some(role) = narrow.role {
            names.push(("#role", "role"));
            values.push((":role", s(role.as_str())));
            conds.push("#role = :role".into());
        }
        if let Some(team) = &narrow.team {
            match super::teams::team_condition(
                team,
                moving,
                [":team", ":team2", ":team3"],
                &mut values,
            ) {
                Some(c) => conds.push(c),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        cursor: None,
                    })
                }
            }
        }
        if let Some(q) = &narrow.search {
            names.push(("#search", "search"));
            values.push((":q", s(q)));
            conds.push("contains(#search, :q)".into());
        }
        let filter_expr = conds.join(" AND ");
        let prefix = (which == InviteListFilter::Pending).then_some("pending#");
        let rows = self
            .query_gsi1(
                &gsi1pk,
                prefix,
                false,
                (!conds.is_empty()).then_some((filter_expr.as_str(), names.as_slice(), values)),
                cursor,
                limit,
            )
            .await?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(|m| Row(m).invite())
                .collect::<Result<_, _>>()?,
            cursor: rows.cursor,
        })
    }

    /// Pending invites whose expiry is before `now`, oldest first, from the sparse expiry
    /// index: the read costs what is due, not what exists.
    pub async fn due_invites(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Invite>, StoreError> {
        let q = Query::due(&self.tables, items::EXPIRY_GSI2PK, now);
        let page = self.query(q, cursor, limit).await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(|m| Row(m).invite())
                .collect::<Result<_, _>>()?,
            cursor: page.cursor,
        })
    }
    /// Invites as one transaction: the seats (under the limit, docs/rules.md rule 1), each invite, each email
    /// guard (docs/rules.md, rule 2) and each audit entry (docs/rules.md, rule 3). All or nothing.
    pub async fn create_invites(
        &self,
        tenant: &Tenant,
        invites: &[Invite],
        audit: &[AuditEntry],
    ) -> Result<(), WriteError> {
        let n = invites.len() as u32;
        let mut tx = Tx::new(&self.tables);
        tx.take_seats(tenant, n);
        for (i, inv) in invites.iter().enumerate() {
            tx.put_new(Tag::Invite(i), items::invite_item(inv));
            tx.put_new(Tag::Email(i), items::invite_guard(inv));
        }
        for a in audit {
            tx.audit(a);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::new_invites))
    }

    /// Resend: the invite gets its new token hash and expiry, only if it is still as the admin
    /// read it. An invite the job already expired gave back its seat and email, so those are
    /// taken again under their conditions.
    pub async fn reopen_invite(
        &self,
        before: &Invite,
        after: &Invite,
        tenant: &Tenant,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_if(
            Tag::Invite(0),
            items::invite_item(after),
            "#st = :st AND sentAt = :sent",
            &[("#st", "status")],
            vec![
                (":st", s(before.status.as_str())),
                (":sent", s(timefmt::format(before.sent_at))),
            ],
        );
        if before.gave_seat_back() {
            tx.take_seats(tenant, 1);
            tx.put_new(Tag::Email(0), items::invite_guard(after));
        }
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::reopen))
    }

    /// A person directory sync creates inactive (rule 22): their invite, already closed, with
    /// its entry. No seat and no address are held until the provider turns them on.
    pub async fn create_closed_invite(
        &self,
        invite: &Invite,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_new(Tag::Invite(0), items::invite_item(invite));
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// An invite's own fields (directory sync's name and link, rule 22), only if it is still
    /// as read: same status, same send. Seats and addresses don't move.
    pub async fn edit_invite(
        &self,
        before: &Invite,
        after: &Invite,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_if(
            Tag::Invite(0),
            items::invite_item(after),
            "#st = :st AND sentAt = :sent",
            &[("#st", "status")],
            vec![
                (":st", s(before.status.as_str())),
                (":sent", s(timefmt::format(before.sent_at))),
            ],
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::close))
    }

    /// Revoke or expire: the invite closes, its seat and email are given back, and the audit
    /// entry, in one transaction.
    pub async fn close_invite(
        &self,
        before: &Invite,
        after: &Invite,
        how: Closing,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        self.close_invites(&[(before, after, audit)], how).await
    }

    /// Closes several invites in one transaction (the expiry job's batches): each invite under
    /// its own guard, its email given back and its audit entry, and one counter update per
    /// tenant for all of that tenant's seats. All or nothing: one invite that no longer
    /// qualifies rejects the whole batch, and the caller retries the rest one by one.
    /// At most [`CLOSE_BATCH`] invites.
    pub async fn close_invites(
        &self,
        batch: &[(&Invite, &Invite, &AuditEntry)],
        how: Closing,
    ) -> Result<(), WriteError> {
        assert!(
            batch.len() <= CLOSE_BATCH,
            "at most {CLOSE_BATCH} per transaction"
        );
        let mut tx = Tx::new(&self.tables);
        let mut seats_back: Vec<(&TenantId, i64)> = Vec::new();
        for (i, (before, after, audit)) in batch.iter().enumerate() {
            let (cond, values) = match how {
                Closing::Revoke => (
                    "#st = :pending AND sentAt = :sent",
                    vec![
                        (":pending", s(InviteStatus::Pending.as_str())),
                        (":sent", s(timefmt::format(before.sent_at))),
                    ],
                ),
                Closing::Expire(now) => (
                    "#st = :pending AND expiresAt <= :now",
                    vec![
                        (":pending", s(InviteStatus::Pending.as_str())),
                        (":now", s(timefmt::format(now))),
                    ],
                ),
            };
            tx.put_if(
                Tag::Invite(i),
                items::invite_item(after),
                cond,
                &[("#st", "status")],
                values,
            );
            tx.delete_if(
                Tag::Email(i),
                items::email_pk(&before.email),
                items::EMAIL_SK,
                "refId = :ref",
                vec![(":ref", s(&before.id))],
            );
            tx.audit(audit);
            match seats_back.iter_mut().find(|(t, _)| **t == before.tenant_id) {
                Some((_, k)) => *k -= 1,
                None => seats_back.push((&before.tenant_id, -1)),
            }
        }
        for (tenant_id, seats) in seats_back {
            tx.tenant_counters(tenant_id, seats, 0, None);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::close))
    }

    /// An accept's first write: checks its invite (still pending, this token, unexpired) and
    /// takes the login's lock in one transaction, before anything touches Cognito, with a
    /// marker due when the lock's lease has long run out: if the accept never finishes, the
    /// reconciler removes what it left. A second accept of the same link while the first
    /// holds the lock is refused here (`Refusal::SignInLocked`).
    pub async fn claim_invite(
        &self,
        invite: &Invite,
        login: &str,
        lock_id: &str,
        now: OffsetDateTime,
    ) -> Result<Marker, WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Invite(0),
            items::invite_pk(&invite.id),
            items::INVITE_SK,
            "SET claimedAt = :now",
            "#st = :pending AND tokenHash = :hash AND expiresAt > :now",
            &[("#st", "status")],
            vec![
                (":pending", s(InviteStatus::Pending.as_str())),
                (":hash", s(&invite.token_hash)),
                (":now", s(timefmt::format(now))),
            ],
        );
        let owed = tx.lock_signin(login, lock_id, now);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::accept))?;
        Ok(owed)
    }
    /// Accept: the invite (still pending, same token, unexpired at `now`, and the login still
    /// locked by this accept) becomes accepted, the user appears, the email guard moves from the
    /// invite to the user, and the audit entry.
    /// The invite's seat becomes the user's, so the counter does not move.
    pub async fn accept_invite(
        &self,
        invite: &Invite,
        lock_id: &str,
        user: &User,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Invite(0),
            items::invite_pk(&invite.id),
            items::INVITE_SK,
            "SET #st = :accepted, gsi1sk = :g, acceptedAt = :now, userId = :uid \
             REMOVE tokenHash, gsi2pk, gsi2sk",
            "#st = :pending AND tokenHash = :hash AND expiresAt > :now",
            &[("#st", "status")],
            vec![
                (":accepted", s(InviteStatus::Accepted.as_str())),
                (":pending", s(InviteStatus::Pending.as_str())),
                (
                    ":g",
                    s(items::invite_gsi1sk(InviteStatus::Accepted, invite)),
                ),
                (":now", s(timefmt::format(now))),
                (":uid", s(&user.id)),
                (":hash", s(&invite.token_hash)),
            ],
        );
        tx.put_new(Tag::User, items::user_item(user));
        tx.signin_still_held(&user.login(), lock_id);
        if user.role == Role::Admin {
            tx.tenant_counters(&invite.tenant_id, 0, 1, None);
        }
        tx.update(
            Tag::Email(0),
            items::email_pk(&user.email),
            items::EMAIL_SK,
            "SET kind = :user, refId = :uid",
            "refId = :iid AND tenantId = :t",
            &[],
            vec![
                (":user", s("user")),
                (":uid", s(&user.id)),
                (":iid", s(&invite.id)),
                (":t", s(&invite.tenant_id)),
            ],
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::accept))
    }

    /// Records how each email went, in one round trip however many there are (a transaction
    /// of updates: BatchWriteItem can only replace whole items, which could undo a revoke
    /// that landed meanwhile). Not an audited change: it changes no one's access.
    pub async fn set_delivery(&self, outcomes: &[(&InviteId, &Sent)]) -> Result<(), StoreError> {
        // The message id is what a later SES event for this invite must match; a failed send
        // has none, and clears the previous send's.
        let update = |sent: &Sent| match sent {
            Sent::Accepted(id) => (
                "SET delivery = :d, messageId = :m REMOVE deliveryDetail",
                vec![(":d", s(DeliveryStatus::Sent.as_str())), (":m", s(id))],
            ),
            Sent::Failed(why) => (
                "SET delivery = :d, deliveryDetail = :x REMOVE messageId",
                vec![(":d", s(DeliveryStatus::Failed.as_str())), (":x", s(*why))],
            ),
        };
        for chunk in outcomes.chunks(tx::MAX_ITEMS) {
            // One outcome alone is a plain update: half the write cost of a transaction.
            if let [(invite_id, sent)] = chunk {
                let (expression, values) = update(sent);
                let mut call = self
                    .client
                    .update_item()
                    .table_name(&self.tables.directory)
                    .key("pk", s(items::invite_pk(invite_id)))
                    .key("sk", s(items::INVITE_SK))
                    .update_expression(expression)
                    .condition_expression("attribute_exists(pk)");
                for (k, v) in values {
                    call = call.expression_attribute_values(k, v);
                }
                call.send().await.map_err(unavailable)?;
                continue;
            }
            let mut tx = tx::Tx::new(&self.tables);
            for (i, (invite_id, sent)) in chunk.iter().enumerate() {
                let (expression, values) = update(sent);
                tx.update(
                    Tag::Invite(i),
                    items::invite_pk(invite_id),
                    items::INVITE_SK,
                    expression,
                    "attribute_exists(pk)",
                    &[],
                    values,
                );
            }
            tx.commit(&self.client)
                .await
                .map_err(|e| StoreError::Unavailable(Cause::new(e)))?;
        }
        Ok(())
    }
}

/// How an invite's email went at SES's door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// SES accepted it, with this message id.
    Accepted(String),
    /// It was not sent; why, in the admin's words.
    Failed(&'static str),
}

/// Each invite write's reading of its failed conditions, most specific rule first.
pub(super) mod decide {
    use super::{Refusal, Tag};

    fn emails(tags: &[Tag]) -> Vec<usize> {
        let mut rows: Vec<usize> = tags
            .iter()
            .filter_map(|t| match t {
                Tag::Email(i) => Some(*i),
                _ => None,
            })
            .collect();
        rows.sort_unstable();
        rows
    }

    /// New invites (or a new tenant with its admin's invite): a taken address, then seats.
    pub fn new_invites(tags: &[Tag]) -> Refusal {
        let taken = emails(tags);
        if !taken.is_empty() {
            Refusal::EmailTaken(taken)
        } else if tags.contains(&Tag::Tenant) {
            Refusal::NoSeat
        } else {
            Refusal::Stale
        }
    }

    /// A resend: the invite changed, else an expired invite's address or seat is gone.
    pub fn reopen(tags: &[Tag]) -> Refusal {
        if tags.contains(&Tag::Invite(0)) {
            Refusal::NotPending
        } else {
            new_invites(tags)
        }
    }

    /// Revoke and expire: only the invites' own guards can fail.
    pub fn close(_: &[Tag]) -> Refusal {
        Refusal::NotPending
    }

    /// Accept's claim and commit: the invite first (a used or rotated link answers the same
    /// whoever holds the lock), then the login's lock.
    pub fn accept(tags: &[Tag]) -> Refusal {
        if tags.contains(&Tag::Invite(0)) {
            Refusal::NotPending
        } else if tags.contains(&Tag::Marker) {
            Refusal::SignInLocked
        } else {
            Refusal::Stale
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use Tag::*;

        #[test]
        fn a_taken_address_is_named_by_row_before_any_seat_refusal() {
            assert_eq!(
                new_invites(&[Tenant, Email(3), Email(1)]),
                Refusal::EmailTaken(vec![1, 3])
            );
            assert_eq!(new_invites(&[Tenant]), Refusal::NoSeat);
            assert_eq!(new_invites(&[Invite(0)]), Refusal::Stale);
        }

        #[test]
        fn a_resend_of_a_changed_invite_says_so_before_seats_or_addresses() {
            assert_eq!(reopen(&[Invite(0), Email(0)]), Refusal::NotPending);
            assert_eq!(reopen(&[Email(0)]), Refusal::EmailTaken(vec![0]));
            assert_eq!(reopen(&[Tenant]), Refusal::NoSeat);
            assert_eq!(close(&[Email(2)]), Refusal::NotPending);
        }

        #[test]
        fn an_accept_refuses_a_used_link_whoever_holds_the_lock() {
            assert_eq!(accept(&[Invite(0), Marker]), Refusal::NotPending);
            assert_eq!(accept(&[Marker]), Refusal::SignInLocked);
            assert_eq!(accept(&[Email(0)]), Refusal::Stale);
        }
    }
}
