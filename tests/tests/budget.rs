//! Every request answers inside its function's timeout, whatever AWS does: a dependency that
//! hangs gives a 503 problem (which clients retry) before Lambda would kill the function (a
//! bare 500 from API Gateway), and bulk invites keep to SES's sending rate, retry what SES
//! throttles, and record what still could not be sent. The local gateway gives each handler
//! the deadline Lambda gives it (the template's timeout, checked by the infra tests).

mod common;

use common::*;
use harness::proxy::{Calls, Fault, FaultRule};
use harness::App;
use serde_json::{json, Value};
use shared::domain::UserStatus;
use std::time::{Duration, Instant};

/// The default function timeout in the template.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);
/// The invite function's.
const INVITE_TIMEOUT: Duration = Duration::from_secs(15);

fn rows(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"email": email(&format!("{prefix}{i}")), "name": format!("Row {i}"), "role": "agent"}))
        .collect()
}

/// The stored delivery status of each invite the answer lists.
async fn stored_delivery(app: &App, answer: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for inv in answer["invites"].as_array().expect("a batch answer") {
        let id = inv["id"].as_str().unwrap();
        let stored = app
            .store
            .invite(&iid(id))
            .await
            .unwrap()
            .expect("invite stored");
        out.push(stored.delivery.as_str().to_string());
    }
    out
}

#[test]
fn a_hung_dynamodb_answers_503_before_the_function_timeout() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        faults.set(vec![FaultRule::new("dynamodb.Query", Fault::Stall, 1.0)], 1);
        let started = Instant::now();
        let r = app.get(&t.admin, "/users").await;
        let took = started.elapsed();
        faults.clear();
        assert_problem(&r, 503, "unavailable");
        assert_eq!(r.headers["retry-after"], "2", "a 503 says when to retry");
        assert!(
            took < LAMBDA_TIMEOUT,
            "answered after {took:?}: Lambda would have killed it"
        );
    });
}

#[test]
fn a_hung_cognito_suspend_answers_503_in_time_and_changes_nothing() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        // Every Cognito call hangs: the disable before the commit, then the converge's reads,
        // whose own budget (15 s) is longer than the function may run.
        faults.set(vec![FaultRule::new("cognito.", Fault::Stall, 1.0)], 2);
        let started = Instant::now();
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        let took = started.elapsed();
        faults.clear();
        assert_problem(&r, 503, "unavailable");
        assert!(
            took < LAMBDA_TIMEOUT,
            "answered after {took:?}: Lambda would have killed it"
        );
        let stored = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
        assert_eq!(stored.status, UserStatus::Active, "nothing committed");
        // The retry the 503 asks for finishes the job.
        let again = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        again.expect(200);
        assert!(app.sign_in(&m.email, PASSWORD).await.is_err());
    });
}

#[test]
fn a_hung_ses_still_answers_201_in_time_with_the_invites_marked_failed() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        faults.set(vec![FaultRule::new("ses.SendEmail", Fault::Stall, 1.0)], 3);
        let started = Instant::now();
        let r = invite(&app, &t.admin, json!({ "invites": rows("hung", 3) })).await;
        let took = started.elapsed();
        faults.clear();
        let r = r.expect(201);
        assert!(took < INVITE_TIMEOUT, "answered after {took:?}");
        let answered: Vec<_> = r.json()["invites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["delivery"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(answered, ["failed"; 3]);
        assert_eq!(stored_delivery(&app, &r.json()).await, ["failed"; 3]);
    });
}

/// When each SES send started, in order.
fn send_starts(calls: &Calls) -> Vec<Instant> {
    let mut starts: Vec<Instant> = calls
        .take()
        .into_iter()
        .filter(|c| c.op == "ses.SendEmail")
        .map(|c| c.started)
        .collect();
    starts.sort();
    starts
}

#[test]
fn a_bulk_invite_keeps_to_the_ses_send_rate() {
    run_faulty(|app, _, calls| async move {
        let t = tenant(&app, "business", None).await;
        calls.take();
        let r = invite(&app, &t.admin, json!({ "invites": rows("rate", 25) })).await;
        let r = r.expect(201);
        assert_eq!(stored_delivery(&app, &r.json()).await, ["sent"; 25]);
        let starts = send_starts(&calls);
        assert_eq!(starts.len(), 25);
        let rate = shared::mail::DEFAULT_SEND_RATE as usize;
        // No second holds more starts than the rate (a little slack for timer jitter).
        for (i, first) in starts.iter().enumerate() {
            let within = starts[i..]
                .iter()
                .take_while(|s| s.duration_since(*first) < Duration::from_millis(950))
                .count();
            assert!(
                within <= rate,
                "{within} sends started within a second of send {i} (rate {rate}/s)"
            );
        }
    });
}

#[test]
fn throttled_sends_are_retried_and_what_still_fails_is_recorded() {
    run_faulty(|app, faults, calls| async move {
        let t = tenant(&app, "business", None).await;
        // Half of all sends are refused for the rate, retries included.
        faults.set(
            vec![FaultRule::new("ses.SendEmail", Fault::Throttle, 0.5)],
            4,
        );
        calls.take();
        let r = invite(&app, &t.admin, json!({ "invites": rows("thr", 10) })).await;
        let r = r.expect(201);
        let stored = stored_delivery(&app, &r.json()).await;
        assert_eq!(
            stored,
            ["sent"; 10],
            "every throttled send got through on a retry: {stored:?} ({:?})",
            faults.injected()
        );
        let throttled: usize = faults.injected().values().sum();
        assert!(throttled > 0, "the plan throttled nothing");
        for inv in r.json()["invites"].as_array().unwrap() {
            let addr = inv["email"].as_str().unwrap();
            assert!(app.token_from_mail(addr).await.is_some(), "{addr} got mail");
        }

        // Throttled for good: the answer still comes in time and says which failed.
        faults.set(
            vec![FaultRule::new("ses.SendEmail", Fault::Throttle, 1.0)],
            5,
        );
        let started = Instant::now();
        let r = invite(&app, &t.admin, json!({ "invites": rows("never", 4) })).await;
        let took = started.elapsed();
        faults.clear();
        let r = r.expect(201);
        assert!(took < INVITE_TIMEOUT, "answered after {took:?}");
        assert_eq!(stored_delivery(&app, &r.json()).await, ["failed"; 4]);
        for inv in r.json()["invites"].as_array().unwrap() {
            assert_eq!(inv["delivery"], "failed");
        }
    });
}

/// Rule 14: the admin gate asks Cognito about an admin's two-step only where the company's
/// policy requires it, so a company without the policy never waits on Cognito's health; one
/// with it gets a 503 in time (Cognito could not say), never a pass on the record's word.
#[test]
fn a_hung_cognito_holds_up_the_admin_gate_only_where_two_step_is_required() {
    run_faulty(|app, faults, _| async move {
        let free = tenant(&app, "team", None).await;
        let strict = tenant(&app, "team", None).await;
        for t in [&free, &strict] {
            app.turn_on_mfa(&t.admin).await.expect(200);
        }
        app.request(
            "PUT",
            "/tenant/mfa-policy",
            Some(&strict.admin),
            Some(json!({ "policy": "admins" })),
        )
        .await
        .expect(200);
        faults.set(vec![FaultRule::new("cognito.", Fault::Stall, 1.0)], 2);
        // The audit function has not confirmed either admin yet: its gate would have to ask.
        let started = Instant::now();
        let r = app.get(&free.admin, "/audit").await;
        let free_took = started.elapsed();
        let started = Instant::now();
        let refused = app.get(&strict.admin, "/audit").await;
        let strict_took = started.elapsed();
        faults.clear();
        r.expect(200);
        assert!(
            free_took < Duration::from_secs(2),
            "waited {free_took:?} on Cognito without a policy"
        );
        assert_problem(&refused, 503, "unavailable");
        assert!(
            strict_took < LAMBDA_TIMEOUT,
            "answered after {strict_took:?}"
        );
    });
}

/// The role change these tests send: agent to supervisor, with `key` when given.
async fn make_supervisor(
    app: &App,
    admin: &str,
    id: &str,
    key: Option<&str>,
) -> harness::app::Reply {
    app.request_keyed(
        "PUT",
        &format!("/users/{id}/role"),
        Some(admin),
        Some(json!({"role": "supervisor"})),
        key,
    )
    .await
}

fn conflicts(times: Option<usize>) -> Vec<FaultRule> {
    let mut rule = FaultRule::new("dynamodb.TransactWriteItems", Fault::Conflict, 1.0);
    rule.times = times;
    vec![rule]
}

/// DynamoDB cancels a transaction that touches an item another one in flight holds (every
/// change moves the company's counter); the SDK does not resend it. The change is sent again
/// after a jittered pause and lands once, with one audit entry.
#[test]
fn a_transaction_cancelled_by_a_competing_one_is_retried_to_success() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let before = audit(&app, &t.id).await.len();
        faults.set(conflicts(Some(6)), 3);
        let r = make_supervisor(&app, &t.admin, &m.id, None).await;
        let injected: usize = faults.injected().values().sum();
        faults.clear();
        r.expect(200);
        assert_eq!(
            injected, 6,
            "six attempts were cancelled before the seventh"
        );
        let stored = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
        assert_eq!(stored.role, shared::domain::Role::Supervisor);
        let entries = audit(&app, &t.id).await;
        assert_eq!(
            actions(&entries[before..]),
            ["user.roleChanged"],
            "one change, one entry"
        );
    });
}

/// Conflicts that last longer than the request may wait are not a refusal (no 409): the
/// answer is a 503 that says nothing was changed, in time, and it is true.
#[test]
fn conflicts_that_outlast_the_budget_answer_a_true_503_in_time_and_change_nothing() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let seats = assert_seats_consistent(&app, &t.id).await;
        let before = audit(&app, &t.id).await.len();
        let timeout = Duration::from_secs(2);
        *app.timeout_override.lock().unwrap() = Some(timeout);
        faults.set(conflicts(None), 4);
        let started = Instant::now();
        let r = make_supervisor(&app, &t.admin, &m.id, None).await;
        let took = started.elapsed();
        let injected: usize = faults.injected().values().sum();
        faults.clear();
        *app.timeout_override.lock().unwrap() = None;
        assert_problem(&r, 503, "unavailable");
        assert!(took < timeout, "answered after {took:?}");
        assert!(
            injected >= 4,
            "retried while the budget lasted: {injected} attempts"
        );
        let stored = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
        assert_eq!(
            stored.role,
            shared::domain::Role::Agent,
            "nothing committed"
        );
        assert_eq!(audit(&app, &t.id).await.len(), before, "no entry");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats);
        // The retry the 503 asks for, once the competition is over, lands.
        make_supervisor(&app, &t.admin, &m.id, None)
            .await
            .expect(200);
    });
}

/// A single write refused for an item a transaction holds (`TransactionConflictException`,
/// which the SDK's standard retry does not retry on its own) is retried like a throttle: here
/// the keyed request's claim of its key meets it twice and the request still does its work.
#[test]
fn a_single_write_refused_for_a_held_item_is_retried_by_the_sdk() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let mut rule = FaultRule::new("dynamodb.PutItem", Fault::ItemConflict, 1.0);
        rule.times = Some(2);
        faults.set(vec![rule], 5);
        let key = shared::domain::ids::new_id();
        let r = make_supervisor(&app, &t.admin, &m.id, Some(&key)).await;
        let injected: usize = faults.injected().values().sum();
        faults.clear();
        assert_eq!(injected, 2, "the claim met the refusal twice");
        r.expect(200);
        let stored = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
        assert_eq!(stored.role, shared::domain::Role::Supervisor);
    });
}
