//! `expire-invites`: the scheduled job. Marks every pending invite whose expiry has passed as
//! expired, gives back its seat and email and audits it: one transaction per invite, so a run
//! cut off halfway leaves only whole changes, and two overlapping runs can't expire one invite
//! twice (the transaction requires it to still be pending). It reads only the sparse index of
//! pending invites, from the oldest expiry up to now, so its cost follows what expires.

use futures_util::future::join_all;
use serde::Serialize;
use shared::domain::invite::audit_view;
use shared::domain::{Actor, AuditAction, AuditEntry, Clock, Invite, InviteStatus, Target};
use shared::store::{Closing, Store, WriteError};
use std::sync::Arc;
use std::time::Instant;

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

/// One page of the index, expired in parallel transactions of this many at a time.
pub const PAGE: usize = 100;
pub const PARALLEL: usize = 10;

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

async fn expire_one(deps: &Deps, invite: Invite, request_id: &str) -> Outcome {
    let now = deps.clock.now();
    let after = Invite {
        status: InviteStatus::Expired,
        token_hash: String::new(),
        ..invite.clone()
    };
    let entry = AuditEntry::new(
        &invite.tenant_id,
        now,
        &Actor::system(),
        AuditAction::InviteExpired,
        Target {
            kind: "invite".into(),
            id: invite.id.clone(),
            label: Some(invite.name.clone()),
        },
        Some(audit_view(&invite)),
        Some(audit_view(&after)),
        request_id,
    );
    match deps
        .store
        .close_invite(&invite, &after, Closing::Expire(now), &entry)
        .await
    {
        Ok(()) => Outcome::Expired,
        Err(WriteError::Rejected(_)) => Outcome::Skipped,
        Err(e) => {
            tracing::warn!(invite = %invite.id, error = %e, "invite not expired");
            Outcome::Failed
        }
    }
}

/// Runs until nothing due is left or `max_pages` pages were read.
pub async fn run(deps: &Deps, request_id: &str, max_pages: usize) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut cursor: Option<String> = None;
    loop {
        if summary.pages == max_pages {
            summary.more = true;
            break;
        }
        let page = match deps
            .store
            .due_invites(deps.clock.now(), cursor.as_deref(), PAGE)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading due invites failed");
                summary.failed += 1;
                break;
            }
        };
        summary.pages += 1;
        for chunk in page.items.chunks(PARALLEL) {
            let outcomes = join_all(
                chunk
                    .iter()
                    .cloned()
                    .map(|inv| expire_one(deps, inv, request_id)),
            )
            .await;
            for o in outcomes {
                match o {
                    Outcome::Expired => summary.expired += 1,
                    Outcome::Skipped => summary.skipped += 1,
                    Outcome::Failed => summary.failed += 1,
                }
            }
        }
        // Expired invites leave the index; the cursor still moves past failures so one bad
        // item can't pin the job.
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    summary.duration_ms = started.elapsed().as_millis();
    tracing::info!(
        expired = summary.expired,
        skipped = summary.skipped,
        failed = summary.failed,
        pages = summary.pages,
        duration_ms = summary.duration_ms as u64,
        more = summary.more,
        "expire-invites run"
    );
    summary
}
