//! The forgotten-password form's enumeration promise, timed (docs/rules.md, rule 13): an active
//! user's address (an email sent), a suspended user's, an invite's and nobody's answer in the
//! same time. Alone in its binary, so no other test's load lands on one kind and not another;
//! the kinds take turns, so drift in the machine's speed falls on all of them alike.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const ROUNDS: usize = 9;
/// How far apart two kinds' medians may be.
const ALIKE: Duration = Duration::from_millis(8);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn every_kind_of_address_answers_in_the_same_time() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let Addresses {
            active,
            suspended,
            invited,
            nobody,
            ..
        } = address_kinds(&app, &t.admin).await;
        let kinds = [
            ("active (email sent)", active.email.clone()),
            ("suspended", suspended),
            ("invited", invited),
            ("unknown", nobody),
        ];
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
        let mut bodies = std::collections::BTreeSet::new();
        for _ in 0..ROUNDS {
            // An hour on, so the active address is never past its limit: every one of its
            // requests takes the sending path.
            app.clock.advance(time::Duration::minutes(61));
            for (i, (_, addr)) in kinds.iter().enumerate() {
                let started = Instant::now();
                let r = app
                    .request(
                        "POST",
                        "/password-resets",
                        None,
                        Some(json!({ "email": addr })),
                    )
                    .await;
                times[i].push(started.elapsed());
                assert_eq!(r.status, 202);
                bodies.insert(r.body.clone());
            }
        }
        assert_eq!(bodies.len(), 1, "one body for every address");
        let sent = reset_mails_to(&app, &active.email).await.len();
        assert_eq!(
            sent, ROUNDS,
            "the active address took the sending path each time"
        );
        let medians: Vec<Duration> = times.into_iter().map(median).collect();
        println!(
            "POST /password-resets, median of {ROUNDS} (floor {:?}):",
            shared::usecase::resets::ANSWER_FLOOR
        );
        for ((kind, _), m) in kinds.iter().zip(&medians) {
            println!("  {kind:<22} {:>7.1} ms", m.as_secs_f64() * 1000.0);
        }
        for ((kind, _), m) in kinds.iter().zip(&medians) {
            assert!(*m >= shared::usecase::resets::ANSWER_FLOOR, "{kind}: {m:?}");
            let gap = m.abs_diff(medians[0]);
            assert!(
                gap <= ALIKE,
                "{kind} differs from an active address by {gap:?}"
            );
        }
    });
}
