//! What the current request has done so far, so that its answer never claims more than it
//! knows (docs/rules.md, rule 11): whether its change's commit was sent, whether it is known
//! to have committed, the answer the change gives, and the idempotency key it holds.
//!
//! `http::respond_within` opens one journal per request; the store's transaction (`Tx::commit`)
//! writes in it, and a use case names its answer in it just before its commit. When the
//! request is cut at its deadline or fails with an unavailable dependency, the journal
//! decides what may be said: "nothing was changed" only if no commit was sent; the change's
//! own answer if it is known to have committed; otherwise "we couldn't confirm".

use crate::domain::idempotency::{Answer, Claim};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// No change's commit has been sent: nothing was changed.
    Untouched,
    /// A commit was sent and its fate is not known.
    Sent,
    /// The change committed.
    Committed,
}

#[derive(Debug)]
struct Entries {
    progress: Progress,
    /// Something outside the store changed for good (a Cognito sign-out): from then on the
    /// request can no longer say that nothing was changed, whatever its commit does.
    changed_elsewhere: bool,
    answer: Option<Answer>,
    claim: Option<Claim>,
    /// Writes the request started beside its work (the caller's activity), awaited before the
    /// answer goes out, within a bound.
    side: Vec<tokio::task::JoinHandle<()>>,
}

/// One request's journal; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Journal(Arc<Mutex<Entries>>);

tokio::task_local! {
    static JOURNAL: Journal;
}

impl Journal {
    /// A journal for a request that holds `claim` on an idempotency key, if any.
    pub fn new(claim: Option<Claim>) -> Journal {
        Journal(Arc::new(Mutex::new(Entries {
            progress: Progress::Untouched,
            changed_elsewhere: false,
            answer: None,
            claim,
            side: Vec::new(),
        })))
    }

    /// Runs `work` as the request this journal records.
    pub async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        JOURNAL.scope(self.clone(), work).await
    }

    pub fn progress(&self) -> Progress {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .progress
    }

    /// The answer the change gives once committed, if it named one.
    pub fn answer(&self) -> Option<Answer> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .answer
            .clone()
    }
}

fn with<R>(f: impl FnOnce(&mut Entries) -> R) -> Option<R> {
    JOURNAL
        .try_with(|j| {
            f(&mut j
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner))
        })
        .ok()
}

/// A write that runs beside the request's work and is no part of its answer (the caller's
/// activity): awaited, within `SIDE_WAIT`, once the work is done, so Lambda doesn't freeze it
/// half-sent; one that can't finish in time is dropped (the next request writes it again).
/// Outside a request it just runs.
pub fn beside(task: tokio::task::JoinHandle<()>) {
    let mut task = Some(task);
    with(|e| e.side.extend(task.take()));
}

/// How long an answer waits for its side writes after the work is done: one DynamoDB write,
/// started when the caller was read, is normally done long before.
pub const SIDE_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

impl Journal {
    /// Waits for the side writes, until `SIDE_WAIT` from now or `by`, whichever is first;
    /// `false` if one was still running then (it is dropped with the request).
    pub async fn settle_side(&self, by: tokio::time::Instant) -> bool {
        let tasks: Vec<_> = std::mem::take(
            &mut self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .side,
        );
        if tasks.is_empty() {
            return true;
        }
        let until = by.min(tokio::time::Instant::now() + SIDE_WAIT);
        tokio::time::timeout_at(until, join_all(tasks))
            .await
            .is_ok()
    }
}

async fn join_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

/// A use case, just before its change's commit: the answer the request gives if it commits.
/// It is written into the commit itself when the request holds an idempotency key, and is
/// what a request cut after its commit answers.
pub fn will_answer(answer: Answer) {
    with(|e| e.answer = Some(answer));
}

/// The store, as it sends a change's commit: the key the request holds, if any, and the
/// answer to record with it.
pub(crate) fn sending() -> Option<(Claim, Option<Answer>)> {
    with(|e| {
        if e.progress == Progress::Untouched {
            e.progress = Progress::Sent;
        }
        e.claim.clone().map(|c| (c, e.answer.clone()))
    })
    .flatten()
}

/// The store, once a commit's fate is known: `true` committed, `false` nothing written.
pub(crate) fn settled(committed: bool) {
    with(|e| {
        if committed {
            e.progress = Progress::Committed;
        } else if e.progress == Progress::Sent && !e.changed_elsewhere {
            e.progress = Progress::Untouched;
        }
    });
}

/// A use case, once it changed something outside the store that no rollback undoes (every
/// session of a user signed out at Cognito): a failure after this is "we couldn't confirm",
/// never "nothing was changed".
pub fn changed_elsewhere() {
    with(|e| {
        e.changed_elsewhere = true;
        if e.progress == Progress::Untouched {
            e.progress = Progress::Sent;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_outside_the_store_is_never_undone_by_a_commit_that_failed() {
        let j = Journal::new(None);
        j.scope(async {
            changed_elsewhere();
            sending();
            settled(false);
        })
        .await;
        assert_eq!(j.progress(), Progress::Sent);
        j.scope(async { settled(true) }).await;
        assert_eq!(j.progress(), Progress::Committed);
    }

    #[tokio::test]
    async fn a_commit_moves_the_journal_from_untouched_to_sent_to_committed_or_back() {
        let j = Journal::new(None);
        j.scope(async {
            assert_eq!(sending(), None);
        })
        .await;
        assert_eq!(j.progress(), Progress::Sent);
        j.scope(async { settled(false) }).await;
        assert_eq!(j.progress(), Progress::Untouched);
        j.scope(async {
            will_answer(Answer::json(200, &1));
            sending();
            settled(true);
        })
        .await;
        assert_eq!(j.progress(), Progress::Committed);
        assert_eq!(j.answer(), Some(Answer::json(200, &1)));
    }

    #[tokio::test]
    async fn a_held_key_is_recorded_with_the_answer_and_outside_a_request_nothing_is() {
        let claim = Claim {
            pk: "IDEM#u#k".into(),
            lease_id: "l".into(),
        };
        let j = Journal::new(Some(claim.clone()));
        let sent = j
            .scope(async {
                will_answer(Answer::json(201, &2));
                sending()
            })
            .await;
        assert_eq!(sent, Some((claim, Some(Answer::json(201, &2)))));
        // A scheduled job has no journal: its commits record nothing.
        assert_eq!(sending(), None);
        settled(true);
    }
}
