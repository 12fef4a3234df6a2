//! `reconcile-signin`: the scheduled job that finishes what a crash left between DynamoDB and
//! Cognito (docs/rules.md, "Sign-in follows the directory"). Every change that touches sign-in
//! is made under the login's lock, whose marker records the login as owed until the request
//! has brought Cognito in line and cleared it. A marker that comes due means the request
//! died, timed out or could not reach Cognito; this job runs the same converge step for it.
//!
//! It reads only the sparse index of markers that are due, so a run costs what drifted, not
//! what exists: with nothing owed, one query. It logs a summary, and `drift` (identities it
//! had to change, plus active users with no identity at all) feeds the alarm in the template.

use serde::Serialize;
use shared::domain::signin::Fix;
use shared::domain::Clock;
use shared::identity::Directory;
use shared::signin::{converge, ConvergeError};
use shared::store::Store;
use std::sync::Arc;
use std::time::Instant;

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
}

/// Markers per page of the index.
pub const PAGE: usize = 100;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Markers due and visited.
    pub checked: usize,
    /// Cognito already matched (the request got as far as Cognito, or the change never came).
    pub in_sync: usize,
    /// Logins whose identity had to change.
    pub repaired: usize,
    pub enabled: usize,
    pub disabled: usize,
    pub deleted: usize,
    /// Active users with no identity: nothing here can recreate one without their password.
    pub missing: usize,
    /// A request held the login; it converges it itself (or the next run does).
    pub busy: usize,
    /// AWS failed; the marker stays for the next run.
    pub failed: usize,
    /// `repaired + missing`: what the alarm counts.
    pub drift: usize,
    pub pages: usize,
    pub duration_ms: u64,
    /// More were due than this run's budget allowed; the next run continues.
    pub more: bool,
}

pub async fn run(deps: &Deps, max_pages: usize) -> Summary {
    let started = Instant::now();
    let now = deps.clock.now();
    let mut summary = Summary::default();
    let mut cursor: Option<String> = None;
    loop {
        if summary.pages == max_pages {
            summary.more = true;
            break;
        }
        let page = match deps.store.due_signins(now, cursor.as_deref(), PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "sign-in markers not read");
                summary.failed += 1;
                break;
            }
        };
        summary.pages += 1;
        for marker in &page.items {
            summary.checked += 1;
            match converge(&deps.store, &deps.directory, &*deps.clock, &marker.login).await {
                Ok(report) if report.missing => summary.missing += 1,
                Ok(report) if report.fixes.is_empty() => summary.in_sync += 1,
                Ok(report) => {
                    summary.repaired += 1;
                    for f in report.fixes {
                        match f {
                            Fix::Enable => summary.enabled += 1,
                            Fix::Disable => summary.disabled += 1,
                            Fix::Delete => summary.deleted += 1,
                        }
                    }
                }
                Err(ConvergeError::Busy) => summary.busy += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in not converged");
                    summary.failed += 1;
                }
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    summary.drift = summary.repaired + summary.missing;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        checked = summary.checked,
        in_sync = summary.in_sync,
        repaired = summary.repaired,
        enabled = summary.enabled,
        disabled = summary.disabled,
        deleted = summary.deleted,
        missing = summary.missing,
        busy = summary.busy,
        failed = summary.failed,
        drift = summary.drift,
        pages = summary.pages,
        duration_ms = summary.duration_ms,
        more = summary.more,
        "sign-in reconciled"
    );
    summary
}
