//! Renaming and merging teams (docs/rules.md, rule 19; how a move stays whole for readers is
//! in `domain::team`).

use crate::domain::team::{MoveKind, MoveRequest, TeamMove, ONE_TRANSACTION};
use crate::domain::{ApiError, AuditAction, Change, TenantId, User, UserStatus};
use crate::store::{Store, WriteError};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long a request moves batches after its move is committed; what is left is finished by
/// the next move in the company (readers are right meanwhile). Well inside API Gateway's 29 s.
pub const FINISH_BUDGET: Duration = Duration::from_secs(10);

/// The answer to a rename or merge: the names, and how many members (not deleted) and pending
/// invites the move took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub kind: MoveKind,
    pub from: String,
    pub to: String,
    pub members: usize,
    pub invites: usize,
}

/// Rename (`to` must be no team yet) or merge (`to` must be a team): every user and pending
/// invite that carries `from` carries `to` afterwards, in one transaction up to
/// `ONE_TRANSACTION` of them, else as a recorded move (see `domain::team`).
pub async fn move_team(
    store: &Store,
    change: &Change,
    caller: &User,
    kind: MoveKind,
    req: MoveRequest,
) -> Result<Moved, ApiError> {
    let tenant = &caller.tenant_id;
    let started = Instant::now();
    for _ in 0..3 {
        // A move a crash or a budget left is finished first: moves never overlap.
        if let Some(running) = store.team_move(tenant).await? {
            let same = running.kind == kind && running.from == req.from && running.to == req.to;
            let left = finish(store, tenant, &running, started).await?;
            if same {
                // This very move asked again (a retry after a cut): it is done now.
                return Ok(Moved {
                    kind,
                    from: req.from,
                    to: req.to,
                    members: left.0,
                    invites: left.1,
                });
            }
        }
        let (users, invites) = store.team_carriers(tenant, &req.from).await?;
        let members = users
            .iter()
            .filter(|u| u.status != UserStatus::Deleted)
            .count();
        if members == 0 && invites.is_empty() {
            return Err(ApiError::NotFound("team"));
        }
        let (to_users, to_invites) = store.team_carriers(tenant, &req.to).await?;
        let to_exists =
            to_users.iter().any(|u| u.status != UserStatus::Deleted) || !to_invites.is_empty();
        match (kind, to_exists) {
            (MoveKind::Rename, true) => return Err(ApiError::TeamExists(req.to)),
            (MoveKind::Merge, false) => {
                return Err(ApiError::Conflict(format!(
                    "No team is called {}. Rename the team instead.",
                    req.to
                )))
            }
            _ => {}
        }
        let action = match kind {
            MoveKind::Rename => AuditAction::TeamRenamed,
            MoveKind::Merge => AuditAction::TeamMerged,
        };
        let entry = change.on_team(action, tenant, &req.from, &req.to, members, invites.len());
        let answer = Moved {
            kind,
            from: req.from.clone(),
            to: req.to.clone(),
            members,
            invites: invites.len(),
        };
        crate::journal::will_answer(crate::domain::idempotency::Answer::json(200, &answer));
        if users.len() + invites.len() <= ONE_TRANSACTION {
            let moved = moves(change, &users, &req.to);
            match store
                .move_team(tenant, &req.from, &moved, &invites, &req.to, Some(&entry))
                .await
            {
                Ok(()) => return Ok(answer),
                // Someone changed a member, or a recorded move began: read again.
                Err(WriteError::Refused(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mv = TeamMove {
            id: entry.id.clone(),
            kind,
            from: req.from.clone(),
            to: req.to.clone(),
            at: change.at,
            by_name: caller.name.clone(),
        };
        match store.begin_team_move(tenant, &mv, &entry).await {
            Ok(()) => {}
            // Another admin's move began first: finish it, then read again.
            Err(WriteError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        // Committed: readers see the move whole from here. A failure while finishing leaves
        // the record for the next move to finish, and the answer stands.
        if let Err(e) = finish(store, tenant, &mv, started).await {
            tracing::warn!(error = %e, "team move left to finish later");
        }
        return Ok(answer);
    }
    Err(ApiError::Unavailable(
        "the team kept changing while it was moved; nothing was changed, try again".into(),
    ))
}

/// `users` carrying `to`, each at its next version.
fn moves(change: &Change, users: &[User], to: &str) -> Vec<(User, User)> {
    users
        .iter()
        .map(|u| {
            let after = super::users::next(u, change, |a| a.team = Some(to.to_string()));
            (u.clone(), after)
        })
        .collect()
}

/// Moves what still carries a recorded move's old name, `ONE_TRANSACTION` at a time, then
/// removes the record. Answers how many members and invites it moved. Within
/// `FINISH_BUDGET` of `started`; past it the record stays for the next move to finish.
pub async fn finish(
    store: &Store,
    tenant: &TenantId,
    mv: &TeamMove,
    started: Instant,
) -> Result<(usize, usize), ApiError> {
    let change = Change::new(
        crate::domain::Actor::system(),
        time::OffsetDateTime::now_utc(),
        &mv.id,
    );
    let (mut members, mut moved_invites) = (0, 0);
    let mut ended = false;
    loop {
        let (users, invites) = store.team_carriers(tenant, &mv.from).await?;
        if users.is_empty() && invites.is_empty() {
            if ended {
                return Ok((members, moved_invites));
            }
            store.end_team_move(tenant, &mv.id).await?;
            // A change that named the old team between the read above and the removal (an
            // admin's edit, an accept) would keep it: one more read after the removal moves
            // any such carrier too.
            ended = true;
            continue;
        }
        let moved = moves(&change, &users, &mv.to);
        for chunk in batches(&moved, &invites) {
            if started.elapsed() > FINISH_BUDGET {
                return Err(ApiError::Unavailable(
                    "the team is still moving; it shows under its new name meanwhile".into(),
                ));
            }
            match store
                .move_team(tenant, &mv.from, chunk.0, chunk.1, &mv.to, None)
                .await
            {
                Ok(()) => {
                    members += chunk
                        .0
                        .iter()
                        .filter(|(u, _)| u.status != UserStatus::Deleted)
                        .count();
                    moved_invites += chunk.1.len();
                }
                // A carrier changed since the read: the next round reads it again.
                Err(WriteError::Refused(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Users, then invites, `ONE_TRANSACTION` carriers a batch.
#[allow(clippy::type_complexity)]
fn batches<'a, U, I>(users: &'a [U], invites: &'a [I]) -> Vec<(&'a [U], &'a [I])> {
    let mut out: Vec<(&'a [U], &'a [I])> = users
        .chunks(ONE_TRANSACTION)
        .map(|c| (c, &invites[..0]))
        .collect();
    // The last users' batch takes the first invites up to the size.
    let mut rest = invites;
    if let Some(last) = out.last_mut() {
        let room = ONE_TRANSACTION - last.0.len();
        let (head, tail) = rest.split_at(room.min(rest.len()));
        last.1 = head;
        rest = tail;
    }
    out.extend(rest.chunks(ONE_TRANSACTION).map(|c| (&users[..0], c)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn batches_hold_at_most_one_transaction_of_carriers_and_take_everyone() {
        let sizes = |u: usize, i: usize| -> Vec<(usize, usize)> {
            let users: Vec<usize> = (0..u).collect();
            let invites: Vec<usize> = (0..i).collect();
            super::batches(&users, &invites)
                .iter()
                .map(|(a, b)| (a.len(), b.len()))
                .collect()
        };
        assert_eq!(sizes(0, 0), vec![]);
        assert_eq!(sizes(60, 0), vec![(25, 0), (25, 0), (10, 0)]);
        assert_eq!(sizes(30, 22), vec![(25, 0), (5, 20), (0, 2)]);
        assert_eq!(sizes(0, 30), vec![(0, 25), (0, 5)]);
    }
}
