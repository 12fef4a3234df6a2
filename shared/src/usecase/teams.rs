//! Renaming and merging teams (docs/rules.md, rule 19; how a move stays whole for readers is
//! in `domain::team`).

use crate::domain::team::{MoveKind, MoveRequest, TeamMove, ONE_TRANSACTION};
use crate::domain::{ApiError, AuditAction, Change, TenantId, User, UserStatus};
use crate::store::{Store, WriteError};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long a request moves batches, at most, when it has no deadline of its own (a test or a
/// job); a request stops starting batches `BATCH_RESERVE` before its deadline. What is left is
/// finished by the next move in the company (readers are right meanwhile).
pub const FINISH_BUDGET: Duration = Duration::from_secs(10);

/// Kept back from a request's deadline when deciding to start one more batch: one transaction
/// of 25 updates, slow, with the SDK's retries, and the answer.
pub const BATCH_RESERVE: Duration = Duration::from_millis(2000);

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
    let same = |m: &TeamMove| m.kind == kind && m.from == req.from && m.to == req.to;
    let recorded = |m: &TeamMove| Moved {
        kind,
        from: m.from.clone(),
        to: m.to.clone(),
        members: m.members,
        invites: m.invites,
    };
    for _ in 0..3 {
        let now = time::OffsetDateTime::now_utc();
        let (last, seq) = store.team_move_record(tenant).await?;
        // What readers see through now: the last move while it applies, and the one before it
        // while that one does.
        let last = last.map(|mut m| {
            m.earlier = m.earlier.take().filter(|e| e.applies(now));
            m
        });
        // A move a crash or a deadline left is finished first: moves never overlap.
        if let Some(running) = last.as_ref().filter(|m| m.done_at.is_none()) {
            finish(store, tenant, running, started).await?;
            if same(running) {
                // This very move asked again (the console's "Finish now", a retry): done now.
                return Ok(recorded(running));
            }
            continue;
        }
        let applying = last.as_ref().filter(|m| m.applies(now));
        // Readers see through two moves at most, and a name a settling move took away can't
        // be given again until it has settled (its stragglers would read as the new team):
        // wait for that, which is rare (three moves within `SETTLE`, or a name given back).
        if let Some(m) = applying {
            let wait_for = match &m.earlier {
                Some(e) => e.done_at,
                None if m.from == req.to => m.done_at,
                None => None,
            };
            if let Some(d) = wait_for {
                let left = d + crate::domain::team::SETTLE - now;
                if left.is_positive() {
                    tokio::time::sleep(left.unsigned_abs()).await;
                }
                continue;
            }
        }
        // The names as readers see them, in the names stored.
        let stored = |shown: &str| -> Vec<String> {
            match applying {
                Some(m) => m.stored(shown).into_iter().map(str::to_string).collect(),
                None => vec![shown.to_string()],
            }
        };
        let (users, invites) = carriers(store, tenant, stored(&req.from)).await?;
        let members = users
            .iter()
            .filter(|u| u.status != UserStatus::Deleted)
            .count();
        if members == 0 && invites.is_empty() {
            return match last.as_ref().filter(|m| same(m)) {
                // Sent again after it finished: the same answer, nothing more to do.
                Some(m) => Ok(recorded(m)),
                None => Err(ApiError::NotFound("team")),
            };
        }
        let (to_users, to_invites) = carriers(store, tenant, stored(&req.to)).await?;
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
        let whole = users.len() + invites.len() <= ONE_TRANSACTION;
        let mv = TeamMove {
            id: entry.id.clone(),
            kind,
            from: req.from.clone(),
            to: req.to.clone(),
            at: change.at,
            by_name: caller.name.clone(),
            members,
            invites: invites.len(),
            // Moved whole in one transaction, it is done when it commits.
            done_at: whole.then(time::OffsetDateTime::now_utc),
            // The move before, still settling: readers go on seeing through it too.
            earlier: applying.map(|m| {
                Box::new(TeamMove {
                    earlier: None,
                    ..m.clone()
                })
            }),
        };
        let answer = recorded(&mv);
        crate::journal::will_answer(crate::domain::idempotency::Answer::json(200, &answer));
        if whole {
            let moved = moves(change, &users, &req.to);
            match store
                .move_team(
                    tenant,
                    &req.from,
                    &moved,
                    &invites,
                    &req.to,
                    Some((&mv, seq, &entry)),
                )
                .await
            {
                Ok(()) => return Ok(answer),
                // Someone changed a member, or another move was written: read again.
                Err(WriteError::Refused(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        match store.begin_team_move(tenant, &mv, seq, &entry).await {
            Ok(()) => {}
            // Another admin's move was written first: read again.
            Err(WriteError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        // Committed: readers see the move whole from here. A failure while finishing leaves
        // the record for the next move (or "Finish now") to finish, and the answer stands.
        if let Err(e) = finish(store, tenant, &mv, started).await {
            tracing::warn!(error = %crate::domain::Chain(&e), "team move left to finish later");
        }
        return Ok(answer);
    }
    Err(ApiError::Unavailable(
        "the teams kept changing while this was moved; nothing was changed, try again".into(),
    ))
}

/// The users and pending invites stored under any of `names` (none: nobody).
async fn carriers(
    store: &Store,
    tenant: &TenantId,
    names: Vec<String>,
) -> Result<(Vec<User>, Vec<crate::domain::Invite>), ApiError> {
    if names.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(store.team_carriers_of(tenant, &refs).await?)
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
/// marks the move done. Within the request's deadline (or `FINISH_BUDGET` of `started`); past
/// it the record stays as it is, for the next move (or the same one sent again) to finish.
pub async fn finish(
    store: &Store,
    tenant: &TenantId,
    mv: &TeamMove,
    started: Instant,
) -> Result<(), ApiError> {
    let change = Change::new(
        crate::domain::Actor::system(),
        time::OffsetDateTime::now_utc(),
        &mv.id,
    );
    let mut marked = false;
    loop {
        let (users, invites) = store.team_carriers_of(tenant, &mv.sources()).await?;
        if users.is_empty() && invites.is_empty() {
            if marked {
                return Ok(());
            }
            store
                .end_team_move(tenant, &mv.id, time::OffsetDateTime::now_utc())
                .await?;
            // A change that named the old team between the read above and the mark (an
            // admin's edit, an accept) would keep it: one more read after the mark moves any
            // such carrier too, while readers still show the move.
            marked = true;
            continue;
        }
        let moved = moves(&change, &users, &mv.to);
        for (batch_users, batch_invites) in batches(&moved, &invites) {
            let out_of_time = match crate::config::deadline() {
                Some(by) => tokio::time::Instant::now() + BATCH_RESERVE > by,
                None => started.elapsed() > FINISH_BUDGET,
            };
            if out_of_time {
                return Err(ApiError::Unavailable(
                    "the team is still moving; everyone sees it under its new name meanwhile"
                        .into(),
                ));
            }
            match store
                .move_team(tenant, &mv.from, batch_users, batch_invites, &mv.to, None)
                .await
            {
                // A carrier changed since the read refuses its batch: the next round reads it
                // again.
                Ok(()) | Err(WriteError::Refused(_)) => {}
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
