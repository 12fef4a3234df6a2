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
use shared::signin::{converge, ConvergeError, Report};
use shared::store::Sweep;
use std::time::Instant;

pub use shared::signin::PoolDeps as Deps;

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
    let mut sweep = Sweep::new(max_pages);
    while let Some(cursor) = sweep.next_cursor() {
        let page = match deps.store.due_signins(now, cursor, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %shared::domain::Chain(&e), "sign-in markers not read");
                summary.failed += 1;
                break;
            }
        };
        for marker in sweep.take(page) {
            let res = converge(&deps.store, &deps.directory, &*deps.clock, &marker.login);
            summary.count(res.await);
        }
    }
    summary.pages = sweep.pages;
    summary.more = sweep.more;
    summary.drift = summary.repaired + summary.missing;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    summary.log();
    summary
}

impl Summary {
    /// One marker's converge, counted.
    fn count(&mut self, res: Result<Report, ConvergeError>) {
        self.checked += 1;
        match res {
            Ok(report) if report.missing => self.missing += 1,
            Ok(report) if report.fixes.is_empty() => self.in_sync += 1,
            Ok(report) => {
                self.repaired += 1;
                for f in report.fixes {
                    match f {
                        Fix::Enable => self.enabled += 1,
                        Fix::Disable => self.disabled += 1,
                        Fix::Delete => self.deleted += 1,
                    }
                }
            }
            Err(ConvergeError::Busy) => self.busy += 1,
            Err(e) => {
                tracing::warn!(error = %shared::domain::Chain(&e), "sign-in not converged");
                self.failed += 1;
            }
        }
    }

    /// The run's one log line; the template's metric filters read its `drift` and `failed`
    /// fields. A line they count is an ERROR, so no LogLevel (Lambda drops what is below it)
    /// hides it from the alarms; a quiet run's is INFO.
    pub fn log(&self) {
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    checked = self.checked,
                    in_sync = self.in_sync,
                    repaired = self.repaired,
                    enabled = self.enabled,
                    disabled = self.disabled,
                    deleted = self.deleted,
                    missing = self.missing,
                    busy = self.busy,
                    failed = self.failed,
                    drift = self.drift,
                    pages = self.pages,
                    duration_ms = self.duration_ms,
                    more = self.more,
                    "sign-in reconciled"
                )
            };
        }
        if self.failed > 0 || self.drift > 0 {
            line!(error);
        } else {
            line!(info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn a_run_the_alarms_count_is_logged_at_every_log_level_and_a_quiet_one_at_info() {
        for (run, field) in [
            (
                Summary {
                    failed: 2,
                    ..Default::default()
                },
                "failed",
            ),
            (
                Summary {
                    repaired: 1,
                    drift: 1,
                    ..Default::default()
                },
                "drift",
            ),
        ] {
            let lines = shared::telemetry::captured("error", || run.log());
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0]["level"], "ERROR");
            // What the template's filters read: `{ $.fields.<field> > 0 }`.
            assert!(lines[0]["fields"][field].as_u64() > Some(0), "{lines:?}");
        }
        let quiet = Summary {
            checked: 3,
            in_sync: 3,
            ..Default::default()
        };
        assert!(shared::telemetry::captured("warn", || quiet.log()).is_empty());
        let lines = shared::telemetry::captured("info", || quiet.log());
        assert_eq!((lines.len(), lines[0]["level"].as_str()), (1, Some("INFO")));
    }
}
