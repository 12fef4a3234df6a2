//! Teams (docs/rules.md, rule 19; `domain::team`): who carries a name, a move of its carriers
//! in one transaction, and the move record that lets a bigger move run in batches without a
//! reader seeing it half done. The record is flat attributes on the company's item
//! (`teamMoveSeq`, `teamMoveId`, `teamMoveKind`, `teamMoveFrom`, `teamMoveTo`, `teamMoveAt`,
//! `teamMoveBy`, `teamMoveMembers`, `teamMoveInvites`, `teamMoveDoneAt`, and the move before
//! while it settles: `teamMovePrevFrom`, `teamMovePrevTo`, `teamMovePrevDoneAt`), so the readers that
//! need it get it with one consistent GetItem.

use super::items::{self, n, s, Row};
use super::tx::{Tag, Tx};
use super::{Refusal, Store, StoreError, WriteError};
use crate::domain::team::{MoveKind, TeamMove};
use crate::domain::{timefmt, AuditEntry, Invite, TenantId, User, UserStatus};
use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB pages per census read: a company of 10,000 at ~1 KB a record is ~10 pages.
const PAGE: usize = 1000;

impl Store {
    /// The move readers show the company through at `now` (`TeamMove::applies`), read
    /// consistently: a reader that missed a move just recorded would see its first batch as a
    /// team split in two.
    pub async fn team_move(
        &self,
        tenant: &TenantId,
        now: time::OffsetDateTime,
    ) -> Result<Option<TeamMove>, StoreError> {
        Ok(self
            .team_move_record(tenant)
            .await?
            .0
            .filter(|m| m.applies(now))
            .map(|mut m| {
                m.earlier = m.earlier.take().filter(|e| e.applies(now));
                m
            }))
    }

    /// The company's latest move, done or not, and the sequence number a new move is written
    /// under (`None`: no move ever).
    pub async fn team_move_record(
        &self,
        tenant: &TenantId,
    ) -> Result<(Option<TeamMove>, Option<u64>), StoreError> {
        let Some(item) = self.get(items::tenant_pk(tenant), items::TENANT_SK).await? else {
            return Ok((None, None));
        };
        let row = Row(&item);
        let seq = item
            .get("teamMoveSeq")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok());
        let Some(id) = row.opt("teamMoveId") else {
            return Ok((None, seq));
        };
        let bad = || StoreError::Corrupt(format!("teamMove in tenant {tenant}"));
        let time = |k: &str| {
            row.opt(k)
                .map(|t| timefmt::parse(&t).ok_or_else(bad))
                .transpose()
        };
        let count = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let mv = TeamMove {
            id,
            kind: row
                .opt("teamMoveKind")
                .and_then(|k| MoveKind::parse(&k))
                .ok_or_else(bad)?,
            from: row.opt("teamMoveFrom").ok_or_else(bad)?,
            to: row.opt("teamMoveTo").ok_or_else(bad)?,
            at: time("teamMoveAt")?.ok_or_else(bad)?,
            by_name: row.opt("teamMoveBy").unwrap_or_default(),
            members: count("teamMoveMembers"),
            invites: count("teamMoveInvites"),
            done_at: time("teamMoveDoneAt")?,
            earlier: None,
        };
        let earlier = match (row.opt("teamMovePrevFrom"), row.opt("teamMovePrevTo")) {
            (Some(from), Some(to)) => Some(Box::new(TeamMove {
                id: String::new(),
                kind: mv.kind,
                from,
                to,
                at: mv.at,
                by_name: String::new(),
                members: 0,
                invites: 0,
                done_at: Some(time("teamMovePrevDoneAt")?.ok_or_else(bad)?),
                earlier: None,
            })),
            _ => None,
        };
        let mv = TeamMove { earlier, ..mv };
        Ok((Some(mv), seq))
    }

    /// Every user (deleted ones too: their history shows the team they were in, and a move
    /// takes it along) and every pending invite that carries `team` as stored.
    pub async fn team_carriers(
        &self,
        tenant: &TenantId,
        team: &str,
    ) -> Result<(Vec<User>, Vec<Invite>), StoreError> {
        self.team_carriers_of(tenant, &[team]).await
    }

    /// As `team_carriers`, for any of up to three stored names (a move's `sources`).
    pub async fn team_carriers_of(
        &self,
        tenant: &TenantId,
        names: &[&str],
    ) -> Result<(Vec<User>, Vec<Invite>), StoreError> {
        const SLOTS: [&str; 3] = [":t0", ":t1", ":t2"];
        let values: Vec<(&str, AttributeValue)> =
            SLOTS.iter().zip(names).map(|(k, v)| (*k, s(*v))).collect();
        let cond = values
            .iter()
            .map(|(k, _)| format!("team = {k}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let cond = format!("({cond})");
        self.census(tenant, Some((&cond, values)), true).await
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
    /// carries `from` and is pending. With `whole`, the whole move in one go: its record (done
    /// already) under the sequence number read, and its audit entry.
    pub async fn move_team(
        &self,
        tenant: &TenantId,
        from: &str,
        moved: &[(User, User)],
        invites: &[Invite],
        to: &str,
        whole: Option<(&TeamMove, Option<u64>, &AuditEntry)>,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        for (i, (before, after)) in moved.iter().enumerate() {
            // Each at the name it was read with (a move takes its carriers from more than one
            // stored name while the move before it settles).
            let read = before.team.as_deref().unwrap_or(from);
            tx.update_user(
                Tag::Row(i),
                after,
                &[],
                "#version = :v AND #team = :from",
                &[],
                vec![(":v", n(before.version)), (":from", s(read))],
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
                    (":from", s(inv.team.as_deref().unwrap_or(from))),
                    (":pending", s(crate::domain::InviteStatus::Pending.as_str())),
                ],
            );
        }
        if let Some((mv, seq, entry)) = whole {
            record(&mut tx, tenant, mv, seq);
            tx.audit(entry);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Records a move too big for one transaction under the sequence number read (another
    /// move since refuses it), with its audit entry: from this commit on every reader shows the
    /// move as done.
    pub async fn begin_team_move(
        &self,
        tenant: &TenantId,
        mv: &TeamMove,
        seq: Option<u64>,
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        record(&mut tx, tenant, mv, seq);
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Marks the move done once no carrier of the old name is left: readers keep showing it
    /// for `team::SETTLE` more. Already marked (another request finished it) is no error.
    pub async fn end_team_move(
        &self,
        tenant: &TenantId,
        id: &str,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::tenant_pk(tenant)))
            .key("sk", s(items::TENANT_SK))
            .update_expression("SET teamMoveDoneAt = :now")
            .condition_expression("teamMoveId = :id AND attribute_not_exists(teamMoveDoneAt)")
            .expression_attribute_values(":id", s(id))
            .expression_attribute_values(":now", s(timefmt::format(now)))
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

/// The move's record on the company's item, written only if no other move was written since
/// `seq` was read: moves are serial, and one that read the company before another committed
/// is refused and reads it again.
fn record(tx: &mut Tx<'_>, tenant: &TenantId, mv: &TeamMove, seq: Option<u64>) {
    let mut values = vec![
        (":id", s(&mv.id)),
        (":kind", s(mv.kind.as_str())),
        (":from", s(&mv.from)),
        (":to", s(&mv.to)),
        (":at", s(timefmt::format(mv.at))),
        (":by", s(&mv.by_name)),
        (":members", n(mv.members)),
        (":invites", n(mv.invites)),
        (":next", n(seq.map_or(1, |q| q + 1))),
    ];
    let mut set = "SET teamMoveSeq = :next, teamMoveId = :id, teamMoveKind = :kind, \
                   teamMoveFrom = :from, teamMoveTo = :to, teamMoveAt = :at, teamMoveBy = :by, \
                   teamMoveMembers = :members, teamMoveInvites = :invites"
        .to_string();
    let mut remove = Vec::new();
    match mv.done_at {
        Some(d) => {
            set.push_str(", teamMoveDoneAt = :done");
            values.push((":done", s(timefmt::format(d))));
        }
        None => remove.push("teamMoveDoneAt"),
    }
    match mv.earlier.as_deref() {
        Some(e) => {
            set.push_str(
                ", teamMovePrevFrom = :pfrom, teamMovePrevTo = :pto, teamMovePrevDoneAt = :pdone",
            );
            values.push((":pfrom", s(&e.from)));
            values.push((":pto", s(&e.to)));
            values.push((":pdone", s(timefmt::format(e.done_at.unwrap_or(mv.at)))));
        }
        None => remove.extend(["teamMovePrevFrom", "teamMovePrevTo", "teamMovePrevDoneAt"]),
    }
    if !remove.is_empty() {
        set.push_str(" REMOVE ");
        set.push_str(&remove.join(", "));
    }
    let condition = match seq {
        Some(q) => {
            values.push((":seq", n(q)));
            "attribute_exists(pk) AND teamMoveSeq = :seq"
        }
        None => "attribute_exists(pk) AND attribute_not_exists(teamMoveSeq)",
    };
    tx.update(
        Tag::Tenant,
        items::tenant_pk(tenant),
        items::TENANT_SK,
        &set,
        condition,
        &[],
        values,
    );
}

/// `team = :team` for the list filters, in stored names: under a running move the new name
/// is both names and the old one none (`None`: the filter can match nobody).
pub(super) fn team_condition(
    shown: &str,
    moving: Option<&TeamMove>,
    slots: [&'static str; 3],
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
