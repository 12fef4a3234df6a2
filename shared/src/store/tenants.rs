//! The company's record (`TENANT#<t>` / `TENANT`): its tier, seat limit and the two counters
//! every change that takes a seat or an admin moves (rules 1 and 6). Its reads, its writes,
//! and the counter step other aggregates' transactions add to themselves.

use super::items::{self, n, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{invites, Store, StoreError};
use crate::domain::{AuditEntry, Invite, Tenant, TenantId, Tier};

impl Store {
    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(items::tenant_pk(id), items::TENANT_SK)
            .await?
            .map(|m| Row(&m).tenant())
            .transpose()
    }

    /// A new tenant, its first admin's invite (which takes seat one) and both audit entries.
    pub async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_admin: &Invite,
        audit: &[AuditEntry],
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_new(Tag::Tenant, items::tenant_item(tenant));
        tx.put_new(Tag::Invite(0), items::invite_item(first_admin));
        tx.put_new(Tag::Email(0), items::invite_guard(first_admin));
        for a in audit {
            tx.audit(a);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(invites::decide::new_invites))
    }

    /// A new tier and seat limit; refused if the tenant already uses more seats than the new
    /// limit (they must free seats first, so docs/rules.md rule 1 keeps holding).
    pub async fn set_tier(
        &self,
        tenant: &Tenant,
        tier: Tier,
        seat_limit: u32,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Tenant,
            items::tenant_pk(&tenant.id),
            items::TENANT_SK,
            "SET tier = :tier, seatLimit = :limit",
            "attribute_exists(pk) AND seatsUsed <= :limit",
            &[],
            vec![
                (":tier", items::s(tier.as_str())),
                (":limit", n(seat_limit)),
            ],
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::tier))
    }

    /// A company setting and its audit entry: only while it is still what `tenant` says
    /// (absent counts as its default), so the entry's "before" is exactly what it replaced (a
    /// refusal is `Stale`: read again).
    pub async fn set_tenant_setting(
        &self,
        tenant: &Tenant,
        setting: Setting,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        use crate::domain::tenant::MfaPolicy;
        let (attr, value, read, absent_ok) = match setting {
            Setting::DefaultMaxChats(n) => (
                "defaultMaxChats",
                items::n(n),
                items::n(tenant.default_max_chats),
                tenant.default_max_chats == crate::domain::user::DEFAULT_MAX_CHATS,
            ),
            Setting::MfaPolicy(p) => (
                "mfaPolicy",
                items::s(p.as_str()),
                items::s(tenant.mfa_policy.as_str()),
                tenant.mfa_policy == MfaPolicy::default(),
            ),
        };
        self.set_setting(tenant, attr, value, (read, absent_ok), audit)
            .await
    }

    /// One company setting and its audit entry, in one transaction, only while the setting is
    /// still `read.0` (or absent, when `read.1` says absent means it).
    async fn set_setting(
        &self,
        tenant: &Tenant,
        attr: &str,
        value: aws_sdk_dynamodb::types::AttributeValue,
        read: (aws_sdk_dynamodb::types::AttributeValue, bool),
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let (was, absent_ok) = read;
        let values = vec![(":value", value), (":read", was)];
        let condition = if absent_ok {
            "attribute_exists(pk) AND (attribute_not_exists(#setting) OR #setting = :read)"
        } else {
            "attribute_exists(pk) AND #setting = :read"
        };
        tx.update(
            Tag::Tenant,
            items::tenant_pk(&tenant.id),
            items::TENANT_SK,
            "SET #setting = :value",
            condition,
            &[("#setting", attr)],
            values,
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }
}

/// A company setting an admin changes (`Store::set_tenant_setting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    DefaultMaxChats(u32),
    MfaPolicy(crate::domain::tenant::MfaPolicy),
}

impl Tx<'_> {
    /// Moves the tenant's counters: seats taken only under the limit (docs/rules.md, rule 1), seats given
    /// back never below zero, and admins removed only while another active admin remains
    /// (docs/rules.md, rule 6). Nothing is added when both deltas are zero.
    ///
    /// One seat is checked against the stored limit itself (`seatsUsed < seatLimit`), so no
    /// read of the tenant is needed. Several at once can't be (a condition can't add), so
    /// they need the limit as read, and the condition pins that limit too: a concurrent tier
    /// change can't slip a stale limit through.
    #[allow(
        clippy::expect_used,
        reason = "a caller taking several seats must pass the limit it read (take_seats does); a bug, not an input"
    )]
    pub fn tenant_counters(
        &mut self,
        tenant_id: &TenantId,
        seats: i64,
        admins: i64,
        limit_read: Option<u32>,
    ) {
        if seats == 0 && admins == 0 {
            return;
        }
        let mut conds = vec!["attribute_exists(pk)".to_string()];
        let mut values = vec![(":seats", n(seats)), (":admins", n(admins))];
        if seats == 1 {
            conds.push("seatsUsed < seatLimit".into());
        } else if seats > 1 {
            let limit = limit_read.expect("taking several seats needs the limit as read");
            conds.push("seatsUsed <= :maxBefore AND seatLimit = :limit".into());
            values.push((":maxBefore", n(i64::from(limit) - seats)));
            values.push((":limit", n(limit)));
        } else if seats < 0 {
            conds.push("seatsUsed >= :seatsBack".into());
            values.push((":seatsBack", n(-seats)));
        }
        if admins < 0 {
            // Removing k admins must leave at least one.
            conds.push("activeAdmins > :adminsBack".into());
            values.push((":adminsBack", n(-admins)));
        }
        let condition = conds.join(" AND ");
        self.update(
            Tag::Tenant,
            items::tenant_pk(tenant_id),
            items::TENANT_SK,
            "ADD seatsUsed :seats, activeAdmins :admins",
            &condition,
            &[],
            values,
        );
    }

    /// Takes `n` seats only if they fit under the limit (docs/rules.md, rule 1).
    pub fn take_seats(&mut self, tenant: &Tenant, n_seats: u32) {
        self.tenant_counters(&tenant.id, i64::from(n_seats), 0, Some(tenant.seat_limit));
    }
}

mod decide {
    use super::{Refusal, Tag};

    /// A tier change: the only condition besides existence is the seats in use.
    pub fn tier(tags: &[Tag]) -> Refusal {
        if tags.contains(&Tag::Tenant) {
            Refusal::NoSeat
        } else {
            Refusal::Stale
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_refused_tier_change_is_the_seats_in_use() {
            assert_eq!(tier(&[Tag::Tenant]), Refusal::NoSeat);
            assert_eq!(tier(&[Tag::Audit]), Refusal::Stale);
        }
    }
}
