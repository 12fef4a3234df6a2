//! `expire-invites`: the scheduled job. Marks every pending invite whose expiry has passed as
//! expired, gives back its seat and email and audits it. Invites close in transactions of up to
//! 25 (each invite whole inside one, so a run cut off halfway leaves only whole changes), and
//! two overlapping runs can't expire one invite twice (each requires it to still be pending;
//! a batch that meets one already handled is retried invite by invite). It reads only the
//! sparse index of pending invites, from the oldest expiry up to now, so its cost follows what
//! expires: N due invites cost N/100 queries and N/25 transactions.

use futures_util::future::join_all;
use serde::Serialize;
use shared::domain::{Actor, AuditAction, AuditEntry, Change, Clock, Invite, InviteStatus};
use shared::store::{Closing, Store, Sweep, WriteError, CLOSE_BATCH};
use std::sync::Arc;
use std::time::Instant;

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    /// As deployed: the SDK configuration and tables from Lambda's environment, and the
    /// system clock.
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        Ok(Deps {
            store: Store::from_env(&shared::config::aws()?)?,
            clock: Arc::new(shared::domain::SystemClock),
        })
    }
}

/// One page of the index; its batches of [`CLOSE_BATCH`] commit concurrently, lane by lane
/// (`lanes`).
pub const PAGE: usize = 100;

/// A page's invites in lanes that share no company: each closing transaction moves its
/// companies' seat counters and events items, and DynamoDB cancels a transaction that touches
/// an item another one in flight holds (`TransactionConflict`). So one company's invites
/// close one batch after another, and different companies' side by side. Companies go
/// largest first to the lane with the fewest invites so far, at most `max` lanes.
pub fn lanes(due: Vec<Invite>, max: usize) -> Vec<Vec<Invite>> {
    let mut companies: Vec<Vec<Invite>> = Vec::new();
    for invite in due {
        match companies
            .iter_mut()
            .find(|c| c[0].tenant_id == invite.tenant_id)
        {
            Some(c) => c.push(invite),
            None => companies.push(vec![invite]),
        }
    }
    companies.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let mut lanes: Vec<Vec<Invite>> = Vec::new();
    for company in companies {
        if lanes.len() < max.max(1) {
            lanes.push(company);
        } else if let Some(lane) = lanes.iter_mut().min_by_key(|l| l.len()) {
            lane.extend(company);
        }
    }
    lanes
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub expired: usize,
    /// Already handled by an overlapping run, or resent/revoked/accepted meanwhile.
    pub skipped: usize,
    pub failed: usize,
    pub pages: usize,
    pub duration_ms: u128,
    /// More were due than this run's budget allowed; the next run continues.
    pub more: bool,
}

enum Outcome {
    Expired,
    Skipped,
    Failed,
}

fn expired(invite: &Invite, now: time::OffsetDateTime, request_id: &str) -> (Invite, AuditEntry) {
    let after = Invite {
        status: InviteStatus::Expired,
        token_hash: String::new(),
        ..invite.clone()
    };
    let entry = Change::new(Actor::system(), now, request_id).on_invite(
        AuditAction::InviteExpired,
        Some(invite),
        &after,
    );
    (after, entry)
}

fn outcome(res: Result<(), WriteError>, invite: &Invite) -> Outcome {
    match res {
        Ok(()) => Outcome::Expired,
        Err(WriteError::Refused(_)) => Outcome::Skipped,
        Err(e) => {
            tracing::warn!(invite = %invite.id, error = %shared::domain::Chain(&e), "invite not expired");
            Outcome::Failed
        }
    }
}

/// One transaction for the batch; if any invite in it no longer qualifies (an overlapping run,
/// a resend or revoke meanwhile), each is tried alone so the others still expire.
async fn expire_batch(deps: &Deps, batch: &[Invite], request_id: &str) -> Vec<Outcome> {
    let now = deps.clock.now();
    let closed: Vec<(Invite, AuditEntry)> =
        batch.iter().map(|i| expired(i, now, request_id)).collect();
    let rows: Vec<(&Invite, &Invite, &AuditEntry)> = batch
        .iter()
        .zip(&closed)
        .map(|(before, (after, entry))| (before, after, entry))
        .collect();
    let how = Closing::Expire(now);
    match deps.store.close_invites(&rows, how).await {
        Ok(()) => rows.iter().map(|_| Outcome::Expired).collect(),
        Err(WriteError::Refused(_)) if rows.len() > 1 => {
            let mut out = Vec::with_capacity(rows.len());
            for (before, after, entry) in &rows {
                let res = deps.store.close_invite(before, after, how, entry).await;
                out.push(outcome(res, before));
            }
            out
        }
        Err(e) => {
            tracing::warn!(invites = rows.len(), error = %shared::domain::Chain(&e), "batch not expired");
            rows.iter().map(|_| Outcome::Failed).collect()
        }
    }
}

/// Runs until nothing due is left or `max_pages` pages were read. Expired invites leave the
/// index; a failed one is passed over (the cursor still moves) and retried by the next run.
pub async fn run(deps: &Deps, request_id: &str, max_pages: usize) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut sweep = Sweep::new(max_pages);
    while let Some(cursor) = sweep.next_cursor() {
        let page = match deps.store.due_invites(deps.clock.now(), cursor, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %shared::domain::Chain(&e), "reading due invites failed");
                summary.failed += 1;
                break;
            }
        };
        let due = sweep.take(page);
        let lanes = lanes(due, PAGE.div_ceil(CLOSE_BATCH))
            .into_iter()
            .map(|lane| async move {
                let mut out = Vec::with_capacity(lane.len());
                for batch in lane.chunks(CLOSE_BATCH) {
                    out.extend(expire_batch(deps, batch, request_id).await);
                }
                out
            });
        for o in join_all(lanes).await.into_iter().flatten() {
            match o {
                Outcome::Expired => summary.expired += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Failed => summary.failed += 1,
            }
        }
    }
    summary.pages = sweep.pages;
    summary.more = sweep.more;
    summary.duration_ms = started.elapsed().as_millis();
    summary.log();
    summary
}

impl Summary {
    /// The run's one log line; the template's metric filter reads its `failed` field. A run
    /// that failed some is an ERROR, so no LogLevel (Lambda drops what is below it) hides it
    /// from the alarm; a clean run's is INFO.
    pub fn log(&self) {
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    expired = self.expired,
                    skipped = self.skipped,
                    failed = self.failed,
                    pages = self.pages,
                    duration_ms = self.duration_ms as u64,
                    more = self.more,
                    "expire-invites run"
                )
            };
        }
        if self.failed > 0 {
            line!(error);
        } else {
            line!(info);
        }
    }
}

#[cfg(test)]
mod lane_tests {
    use super::lanes;
    use shared::domain::validation::InviteInput;
    use shared::domain::{Actor, Email, Invite, Role, TenantId};

    fn invite(tenant: &str) -> Invite {
        let row = InviteInput {
            email: Email::parse("a@example.com").unwrap(),
            name: "A".into(),
            role: Role::Agent,
            team: None,
            time_zone: None,
            managed: None,
        };
        let tenant = TenantId::parse(tenant).unwrap();
        let now = time::OffsetDateTime::now_utc();
        shared::domain::invite::new_invite(&row, &tenant, &Actor::system(), now).0
    }

    #[test]
    fn no_company_is_in_two_lanes_and_every_invite_is_in_one() {
        let mut due = Vec::new();
        for (t, n) in [
            ("ta", 60),
            ("tb", 20),
            ("tc", 15),
            ("td", 3),
            ("te", 1),
            ("tf", 1),
        ] {
            due.extend((0..n).map(|_| invite(t)));
        }
        let out = lanes(due, 5);
        assert_eq!(out.len(), 5);
        assert_eq!(out.iter().map(Vec::len).sum::<usize>(), 100);
        for (k, lane) in out.iter().enumerate() {
            for other in &out[k + 1..] {
                assert!(lane
                    .iter()
                    .all(|i| other.iter().all(|j| j.tenant_id != i.tenant_id)));
            }
        }
        // One company alone takes one lane: its batches run one after another.
        assert_eq!(lanes((0..100).map(|_| invite("ta")).collect(), 5).len(), 1);
        assert!(lanes(Vec::new(), 5).is_empty());
    }
}

#[cfg(test)]
mod summary_tests {
    use super::Summary;

    #[test]
    fn a_run_that_failed_some_is_logged_at_every_log_level_and_a_clean_one_at_info() {
        let failed = Summary {
            expired: 3,
            failed: 2,
            ..Default::default()
        };
        let lines = shared::telemetry::captured("error", || failed.log());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["level"], "ERROR");
        // What the template's filter reads: `{ $.fields.failed > 0 }`.
        assert_eq!(lines[0]["fields"]["failed"], 2);
        let clean = Summary {
            expired: 3,
            ..Default::default()
        };
        assert!(shared::telemetry::captured("warn", || clean.log()).is_empty());
        let lines = shared::telemetry::captured("info", || clean.log());
        assert_eq!((lines.len(), lines[0]["level"].as_str()), (1, Some("INFO")));
    }
}
