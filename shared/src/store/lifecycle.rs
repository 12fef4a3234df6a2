//! Writes and reads for the rest of the lifecycle: resend, revoke, expire, user changes, the
//! audit log and the expiry job's index.

use super::items::{self, n, s, Row};
use super::tx::{decide, Tag, Tx, WriteError};
use super::{Page, Query, Store, StoreError};
use crate::domain::manage::counter_deltas;
use crate::domain::{
    timefmt, AuditAction, AuditEntry, Invite, InviteStatus, Tenant, TenantId, User, UserStatus,
};
use time::OffsetDateTime;

/// How a pending invite closes; each has its own guard on the stored invite.
#[derive(Debug, Clone, Copy)]
pub enum Closing {
    /// By an admin: only the exact version they read (same `sentAt`) and only while pending.
    Revoke,
    /// By the job: only while still pending and past its expiry at `now`.
    Expire(OffsetDateTime),
}

/// Invites closed in one transaction: three items each (invite, email guard, audit entry) and
/// at worst one tenant counter each keep it within DynamoDB's 100 items.
pub const CLOSE_BATCH: usize = 25;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Store {
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
        if before.status == InviteStatus::Expired {
            tx.take_seats(tenant, 1);
            tx.put_new(Tag::Email(0), items::invite_guard(after));
        }
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::reopen))
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

    /// A user's role, team or status change: the new record replaces the old only at the
    /// version that was read (a concurrent change makes this fail, never lose an update), the
    /// tenant's counters follow, a deletion gives the email back, and the audit entry. A
    /// status change is made while holding the login's sign-in lock
    /// (`usecase::users`), whose marker records what Cognito owes.
    pub async fn change_user(
        &self,
        before: &User,
        after: &User,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_if(
            Tag::User,
            items::user_item(after),
            "version = :v",
            &[],
            vec![(":v", n(before.version))],
        );
        let (seats, admins) = counter_deltas(before, after);
        tx.tenant_counters(&before.tenant_id, seats, admins, None);
        if after.status == UserStatus::Deleted && before.status != UserStatus::Deleted {
            tx.delete_if(
                Tag::Email(0),
                items::email_pk(&before.email),
                items::EMAIL_SK,
                "refId = :ref",
                vec![(":ref", s(&before.id))],
            );
        }
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|tags| decide::user_change(tags, seats, admins)))
    }

    /// The tenant's audit log, newest first.
    pub async fn list_audit(
        &self,
        tenant_id: &TenantId,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        // Sort keys are `<at>#<id>`; `~` sorts after every id character, so `<to>~` includes
        // every entry at the `to` instant.
        let from = filter.from.map(timefmt::format);
        let to = filter.to.map(|t| format!("{}~", timefmt::format(t)));
        let sort = match (from, to) {
            (Some(f), Some(t)) => Some((
                "sk BETWEEN :from AND :to".to_string(),
                vec![(":from", s(f)), (":to", s(t))],
            )),
            (Some(f), None) => Some(("sk >= :from".to_string(), vec![(":from", s(f))])),
            (None, Some(t)) => Some(("sk <= :to".to_string(), vec![(":to", s(t))])),
            (None, None) => None,
        };
        let mut conds = Vec::new();
        let mut names = Vec::new();
        let mut values = Vec::new();
        if let Some(a) = filter.action {
            conds.push("#action = :action");
            names.push(("#action", "action"));
            values.push((":action", s(a.as_str())));
        }
        if let Some(a) = &filter.actor {
            conds.push("actorId = :actor");
            values.push((":actor", s(a)));
        }
        if let Some(t) = &filter.target {
            conds.push("targetId = :target");
            values.push((":target", s(t)));
        }
        let q = Query {
            table: &self.tables.audit,
            index: None,
            partition: ("pk", items::audit_pk(tenant_id)),
            key_attrs: &["sk"],
            sort,
            forward: false,
            filter: (!conds.is_empty()).then(|| conds.join(" AND ")),
            names,
            values,
        };
        let page = self.query(q, cursor, limit).await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(|m| Row(m).audit())
                .collect::<Result<_, _>>()?,
            cursor: page.cursor,
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
}
