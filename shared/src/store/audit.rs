//! The audit log (its own table, `TENANT#<t>` / `<at>#<entry id>`): append-only, written only
//! inside the transaction of the change it records (`Tx::audit`, rule 3); read here, newest
//! first.

use super::items::{self, s, Row};
use super::{Page, Query, Store, StoreError};
use crate::domain::{timefmt, AuditAction, AuditEntry, TenantId};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Store {
    /// An entry that records a read, not a change (an export, rule 18): the entry alone, in
    /// the one transaction every entry is written by.
    pub async fn record_read(&self, entry: &AuditEntry) -> Result<(), super::WriteError> {
        let mut tx = super::tx::Tx::new(&self.tables);
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| super::Refusal::Stale))
    }

    /// One entry of the tenant's log by its sort key (consistent), as `record_read` wrote it.
    pub async fn audit_entry(
        &self,
        tenant_id: &TenantId,
        sk: &str,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.audit)
            .key("pk", s(items::audit_pk(tenant_id)))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(super::unavailable)?;
        out.item.map(|m| Row(&m).audit()).transpose()
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
}
