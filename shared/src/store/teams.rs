//! Teams (docs/rules.md, rule 19; `domain::team`): who carries a name, a move of its carriers
//! in one transaction, and the move record that lets a bigger move run in batches without a
//! reader seeing it half done. The record is flat attributes on the company's item
//! (`teamMoveId`, `teamMoveKind`, `teamMoveFrom`, `teamMoveTo`, `teamMoveAt`, `teamMoveBy`), so
//! the readers that need it get it with one consistent GetItem.

use super::items::{self, n, s, Row};
use super::tx::{Tag, Tx};
use super::{Refusal, Store, StoreError, WriteError};
use crate::domain::team::{MoveKind, TeamMove};
use crate::domain::{timefmt, AuditEntry, Invite, TenantId, User, UserStatus};
use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB pages per census read: a company of 10,000 at ~1 KB a record is ~10 pages.
const PAGE: usize = 1000;

impl Store {
    /// The company's running move, read consistently: a reader that missed a move just
    /// recorded would see its first batch as a team split in two.
    pub async fn team_move(&self, tenant: &TenantId) -> Result<Option<TeamMove>, StoreError> {
        let Some(item) = self.get(items::tenant_pk(tenant), items::TENANT_SK).await? else {
            return Ok(None);
        };
        let row = Row(&item);
        let Some(id) = row.opt("teamMoveId") else {
            return Ok(None);
        };
        let bad = || StoreError::Corrupt(format!("teamMove in tenant {tenant}"));
        Ok(Some(TeamMove {
            id,
            kind: row
                .opt("teamMoveKind")
                .and_then(|k| MoveKind::parse(&k))
                .ok_or_else(bad)?,
            from: row.opt("teamMoveFrom").ok_or_else(bad)?,
            to: row.opt("teamMoveTo").ok_or_else(bad)?,
            at: row
                .opt("teamMoveAt")
                .and_then(|t| timefmt::parse(&t))
                .ok_or_else(bad)?,
            by_name: row.opt("teamMoveBy").unwrap_or_default(),
        }))
    }

    /// Every user (deleted ones too: their history shows the team they were in, and a move
    /// takes it along) and every pending invite that carries `team` as stored.
    pub async fn team_carriers(
        &self,
        tenant: &TenantId,
        team: &str,
    ) -> Result<(Vec<User>, Vec<Invite>), StoreError> {
        let filter = ("team = :team", vec![(":team", s(team))]);
        self.census(tenant, Some(filter), true).await
    }

    /// Every user who is not deleted and every pending invite of the company (`GET /teams`).
    pub async fn team_census(
        &self,
        tenant: &TenantId,
    ) -> Result<(Vec<User>, Vec<Invite>), StoreError> {
        self.census(tenant, None, false).await
    }

    async fn census(
        &self,
        tenant: &TenantId,
        team: Option<(&str, Vec<(&str, AttributeValue)>)>,
        deleted: bool,
    ) -> Result<(Vec<User>, Vec<Invite>), StoreError> {
        let mut users = Vec::new();
        let mut conds: Vec<&str> = Vec::new();
        let mut values: Vec<(&str, AttributeValue)> = Vec::new();
        let mut names: Vec<(&str, &str)> = Vec::new();
        if let Some((c, v)) = &team {
            conds.push(c);
            values.extend(v.iter().cloned());
        }
        if !deleted {
            names.push(("#st", "status"));
            values.push((":deleted", s(UserStatus::Deleted.as_str())));
            conds.push("#st <> :deleted");
        }
        let user_filter = conds.join(" AND ");
        let mut cursor: Option<String> = None;
        loop {
            let page = Box::pin(
                self.query_gsi1(
                    &items::users_gsi1pk(tenant),
                    None,
                    true,
                    (!conds.is_empty())
                        .then(|| (user_filter.as_str(), names.as_slice(), values.clone())),
                    cursor.as_deref(),
                    PAGE,
                ),
            )
            .await?;
            for m in &page.items {
                users.push(Row(m).user()?);
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        // Pending invites are a prefix of their partition; one whose expiry passed and the
        // job has not closed yet still carries the team (it moves with it, harmlessly).
        let mut invites = Vec::new();
        let (invite_filter, invite_values) = match &team {
            Some((c, v)) => (Some(*c), v.clone()),
            None => (None, Vec::new()),
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = Box::pin(self.query_gsi1(
                &items::invites_gsi1pk(tenant),
                Some("pending#"),
                true,
                invite_filter.map(|f| (f, &[][..], invite_values.clone())),
                cursor.as_deref(),
                PAGE,
            ))
            .await?;
            for m in &page.items {
                invites.push(Row(m).invite()?);
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok((users, invites))
    }

    /// Moves these carriers of `from` to `to` in one transaction: each user at the version
    /// read (a change since refuses the batch, to be read again), each invite while it still
    /// carries `from` and is pending. With `entry`, the whole move in one go: its audit entry
    /// too, and only while no recorded move runs in the company.
    pub async fn move_team(
        &self,
        tenant: &TenantId,
        from: &str,
        moved: &[(User, User)],
        invites: &[Invite],
        to: &str,
        entry: Option<&AuditEntry>,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        for (i, (before, after)) in moved.iter().enumerate() {
            tx.update_user(
                Tag::Row(i),
                after,
                &[],
                "#version = :v AND #team = :from",
                &[],
                vec![(":v", n(before.version)), (":from", s(from))],
            );
        }
        for (i, inv) in invites.iter().enumerate() {
            tx.update(
                Tag::Invite(i),
                items::invite_pk(&inv.id),
                items::INVITE_SK,
                "SET team = :to",
                "team = :from AND #st = :pending",
                &[("#st", "status")],
                vec![
                    (":to", s(to)),
                    (":from", s(from)),
                    (":pending", s(crate::domain::InviteStatus::Pending.as_str())),
                ],
            );
        }
        if let Some(e) = entry {
            tx.check(
                Tag::Tenant,
                items::tenant_pk(tenant),
                items::TENANT_SK,
                "attribute_exists(pk) AND attribute_not_exists(teamMoveId)",
            );
            tx.audit(e);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Records a move too big for one transaction, with its audit entry: from this commit on
    /// every reader shows the move as done. Refused while another move runs.
    pub async fn begin_team_move(
        &self,
        tenant: &TenantId,
        mv: &TeamMove,
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Tenant,
            items::tenant_pk(tenant),
            items::TENANT_SK,
            "SET teamMoveId = :id, teamMoveKind = :kind, teamMoveFrom = :from, \
             teamMoveTo = :to, teamMoveAt = :at, teamMoveBy = :by",
            "attribute_exists(pk) AND attribute_not_exists(teamMoveId)",
            &[],
            vec![
                (":id", s(&mv.id)),
                (":kind", s(mv.kind.as_str())),
                (":from", s(&mv.from)),
                (":to", s(&mv.to)),
                (":at", s(timefmt::format(mv.at))),
                (":by", s(&mv.by_name)),
            ],
        );
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Removes the move record once no carrier of the old name is left; a record already gone
    /// (another request finished the same move) is no error.
    pub async fn end_team_move(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::tenant_pk(tenant)))
            .key("sk", s(items::TENANT_SK))
            .update_expression(
                "REMOVE teamMoveId, teamMoveKind, teamMoveFrom, teamMoveTo, teamMoveAt, teamMoveBy",
            )
            .condition_expression("teamMoveId = :id")
            .expression_attribute_values(":id", s(id))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(super::unavailable(e)),
        }
    }
}

/// `team = :team` for the list filters, in stored names: under a running move the new name
/// is both names and the old one none (`None`: the filter can match nobody).
pub(super) fn team_condition(
    shown: &str,
    moving: Option<&TeamMove>,
    slots: [&'static str; 2],
    values: &mut Vec<(&'static str, AttributeValue)>,
) -> Option<String> {
    let stored = match moving {
        Some(m) => m.stored(shown),
        None => vec![shown],
    };
    if stored.is_empty() {
        return None;
    }
    let mut alts = Vec::new();
    for (slot, name) in slots.iter().zip(stored) {
        values.push((slot, s(name)));
        alts.push(format!("team = {slot}"));
    }
    Some(format!("({})", alts.join(" OR ")))
}
