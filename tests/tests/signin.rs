//! Sign-in follows the directory (docs/rules.md): under concurrent admins, double-clicked
//! links and AWS calls that fail, Cognito ends as DynamoDB says (enabled iff active, disabled
//! iff suspended, absent iff deleted or never committed), and every assertion here reads
//! Cognito itself, not only DynamoDB.

mod common;

use common::*;
use harness::proxy::{Fault, FaultRule};
use harness::App;
use serde_json::json;
use shared::domain::UserStatus;
use time::Duration;

/// The identity Cognito holds for `login`: its `sub` and whether it may sign in.
async fn identity(app: &App, login: &str) -> Option<(String, bool)> {
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&app.sdk);
    let out = idp
        .admin_get_user()
        .user_pool_id(&app.stack.user_pool_id)
        .username(login)
        .send()
        .await;
    match out {
        Ok(u) => {
            let sub = u
                .user_attributes()
                .iter()
                .find(|a| a.name() == "sub")
                .and_then(|a| a.value())
                .unwrap()
                .to_string();
            Some((sub, u.enabled()))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_user_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!("AdminGetUser: {e:?}"),
    }
}

/// Cognito matches DynamoDB for this user, and signing in works exactly when they are active.
async fn assert_signin_follows(app: &App, user_id: &str, login: &str, password: &str) {
    let user = app
        .store
        .user(&uid(user_id))
        .await
        .unwrap()
        .expect("user record");
    let id = identity(app, login).await;
    let signs_in = app.sign_in(login, password).await.is_ok();
    match user.status {
        UserStatus::Active => {
            assert_eq!(id, Some((user_id.to_string(), true)), "active: enabled");
            assert!(signs_in, "an active user signs in");
        }
        UserStatus::Suspended => {
            assert!(
                matches!(&id, Some((sub, false)) if sub == user_id),
                "suspended: disabled, got {id:?}"
            );
            assert!(!signs_in, "a suspended user can't sign in");
        }
        UserStatus::Deleted => {
            assert_eq!(id, None, "deleted: no identity");
            assert!(!signs_in, "a deleted user can't sign in");
        }
    }
    assert_eq!(
        app.store.signin_marker(login).await.unwrap(),
        None,
        "nothing left owed for {login}"
    );
}

/// A tenant with a second admin, so two admins can act at once.
async fn two_admins(app: &App) -> (Tenant, Member) {
    let t = tenant(app, "team", None).await;
    let second = member(app, &t.admin, "admin", None).await;
    (t, second)
}

fn concurrent_accepts(n: usize) {
    run(move |app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("double");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Dee", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let passwords: Vec<String> = (0..n).map(|i| format!("Click-Number-{i}-ok!")).collect();
        let replies =
            futures_util::future::join_all(passwords.iter().map(|pw| app.accept(&token, pw))).await;
        let winners: Vec<usize> = (0..n).filter(|&i| replies[i].status == 201).collect();
        assert_eq!(winners.len(), 1, "exactly one accept wins");
        for (i, r) in replies.iter().enumerate() {
            if i != winners[0] {
                assert!(
                    [404, 409].contains(&r.status),
                    "loser {i}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
        let user_id = replies[winners[0]].json()["userId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_signin_follows(&app, &user_id, &addr, &passwords[winners[0]]).await;
        for (i, pw) in passwords.iter().enumerate() {
            if i != winners[0] {
                assert!(
                    app.sign_in(&addr, pw).await.is_err(),
                    "a loser's password never replaces the winner's"
                );
            }
        }
        let users = app
            .request(
                "GET",
                &format!("/users?q={}", addr.split('@').next().unwrap()),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(users.json()["users"].as_array().unwrap().len(), 1);
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn a_double_clicked_invite_link_makes_one_user_with_one_identity_and_the_winners_password() {
    concurrent_accepts(2);
}

#[test]
fn ten_accepts_of_one_link_at_once_make_one_user_with_one_identity() {
    concurrent_accepts(10);
}

#[test]
fn a_second_accept_while_the_first_holds_the_link_is_refused_without_touching_cognito() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("held");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Hal", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let invite_id = token.split('.').next().unwrap();
        let inv = app.store.invite(&iid(invite_id)).await.unwrap().unwrap();
        // An accept that holds the link and is still working on it.
        app.store
            .claim_invite(&inv, &addr, "first-accept", app.clock_now())
            .await
            .unwrap();
        let r = app.accept(&token, PASSWORD).await;
        assert_problem(&r, 409, "accept-in-progress");
        assert_eq!(r.headers["retry-after"], "2");
        assert_eq!(identity(&app, &addr).await, None, "Cognito untouched");
    });
}

/// Runs `a` and `b` at once against one member `rounds` times, then checks Cognito.
async fn race(
    app: &App,
    rounds: usize,
    a: (&str, &str),
    b: (&str, &str),
    setup: impl Fn(String) -> Option<(&'static str, String)>,
) {
    let (t, second) = two_admins(app).await;
    for _ in 0..rounds {
        let m = member(app, &t.admin, "agent", None).await;
        if let Some((method, path)) = setup(m.id.clone()) {
            let r = app.request(method, &path, Some(&t.admin), None).await;
            r.expect(200);
        }
        let (pa, pb) = (
            format!("/users/{}{}", m.id, a.1),
            format!("/users/{}{}", m.id, b.1),
        );
        let (ra, rb) = tokio::join!(
            app.request(a.0, &pa, Some(&t.admin), None),
            app.request(b.0, &pb, Some(&second.token), None),
        );
        for r in [&ra, &rb] {
            assert!(
                [200, 409].contains(&r.status),
                "{} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        assert_signin_follows(app, &m.id, &m.email, PASSWORD).await;
    }
    assert_seats_consistent(app, &t.id).await;
}

#[test]
fn two_admins_suspending_one_user_at_once_leave_them_unable_to_sign_in() {
    run(|app| async move {
        race(&app, 4, ("POST", "/suspend"), ("POST", "/suspend"), |_| {
            None
        })
        .await;
    });
}

#[test]
fn suspend_racing_delete_leaves_cognito_as_dynamodb_says() {
    run(|app| async move {
        race(&app, 4, ("POST", "/suspend"), ("DELETE", ""), |_| None).await;
    });
}

#[test]
fn suspend_racing_reactivate_of_an_active_user_leaves_cognito_as_dynamodb_says() {
    run(|app| async move {
        race(
            &app,
            4,
            ("POST", "/suspend"),
            ("POST", "/reactivate"),
            |_| None,
        )
        .await;
    });
}

#[test]
fn reactivate_racing_suspend_of_a_suspended_user_leaves_cognito_as_dynamodb_says() {
    run(|app| async move {
        race(
            &app,
            4,
            ("POST", "/reactivate"),
            ("POST", "/suspend"),
            |id| Some(("POST", format!("/users/{id}/suspend"))),
        )
        .await;
    });
}

#[test]
fn an_accept_whose_commit_fails_leaves_no_identity_and_the_link_still_works() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("failcommit");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Fay", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        // The claim goes through; the commit, and every retry of it, meets a server error.
        let mut rule = FaultRule::new("dynamodb.TransactWriteItems", Fault::ServerError, 1.0);
        rule.after = 1;
        faults.set(vec![rule], 1);
        let body = json!({"token": token, "password": PASSWORD});
        let r = app
            .request("POST", "/invites/accept", None, Some(body.clone()))
            .await;
        assert_problem(&r, 503, "unavailable");
        faults.clear();
        assert_eq!(
            identity(&app, &addr).await,
            None,
            "no identity DynamoDB doesn't know"
        );
        assert!(app.sign_in(&addr, PASSWORD).await.is_err());

        let again = app
            .request("POST", "/invites/accept", None, Some(body))
            .await;
        let again = again.expect(201);
        let id = again.json()["userId"].as_str().unwrap().to_string();
        assert_signin_follows(&app, &id, &addr, PASSWORD).await;
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn an_accept_whose_commit_landed_but_whose_answer_was_lost_answers_201() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("lostanswer");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Lou", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let mut rule = FaultRule::new("dynamodb.TransactWriteItems", Fault::LostAnswer, 1.0);
        rule.after = 1;
        faults.set(vec![rule], 2);
        let r = app.accept(&token, PASSWORD).await;
        faults.clear();
        let r = r.expect(201);
        let id = r.json()["userId"].as_str().unwrap().to_string();
        assert_signin_follows(&app, &id, &addr, PASSWORD).await;
        let entries = audit(&app, &t.id).await;
        assert_eq!(
            actions(&entries)
                .iter()
                .filter(|a| *a == "invite.accepted")
                .count(),
            2,
            "the admin's acceptance and this one, once"
        );
    });
}

#[test]
fn a_suspend_whose_answer_was_lost_answers_200_not_a_conflict() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::LostAnswer,
                1.0,
            )],
            3,
        );
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        faults.clear();
        r.expect(200);
        assert_signin_follows(&app, &m.id, &m.email, PASSWORD).await;
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn a_suspend_that_cannot_reach_cognito_changes_nothing() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        faults.set(vec![FaultRule::new("cognito.", Fault::ServerError, 1.0)], 4);
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        faults.clear();
        assert_problem(&r, 503, "unavailable");
        assert_eq!(
            app.store.user(&uid(&m.id)).await.unwrap().unwrap().status,
            UserStatus::Active
        );
        // It could not even check Cognito afterwards: the reconciler will.
        assert!(app.store.signin_marker(&m.email).await.unwrap().is_some());
        app.clock.advance(Duration::minutes(2));
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.checked, run.in_sync), (1, 1), "{run:?}");
        assert_signin_follows(&app, &m.id, &m.email, PASSWORD).await;
    });
}

#[test]
fn a_reactivate_that_cannot_reach_cognito_answers_what_it_committed_and_the_reconciler_finishes() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let path = |what: &str| format!("/users/{}/{what}", m.id);
        let r = app
            .request("POST", &path("suspend"), Some(&t.admin), None)
            .await;
        assert_eq!(r.status, 200);
        faults.set(vec![FaultRule::new("cognito.", Fault::ServerError, 1.0)], 5);
        let r = app
            .request("POST", &path("reactivate"), Some(&t.admin), None)
            .await;
        faults.clear();
        assert_eq!(r.status, 200, "committed and audited: the answer says so");
        assert_eq!(r.json()["status"], "active");
        assert_eq!(
            identity(&app, &m.email).await,
            Some((m.id.clone(), false)),
            "Cognito still owes the enable"
        );
        assert!(app.store.signin_marker(&m.email).await.unwrap().is_some());

        // Not due yet: the request that made the change gets the first minute.
        let early = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!(early.checked, 0, "{early:?}");
        app.clock.advance(Duration::minutes(2));
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.checked, run.enabled, run.drift), (1, 1, 1), "{run:?}");
        assert_signin_follows(&app, &m.id, &m.email, PASSWORD).await;
        let again = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!(again.checked, 0, "{again:?}");
    });
}

#[test]
fn an_accept_that_died_after_creating_the_identity_is_cleaned_up_and_the_link_still_works() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("died");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Di", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let inv = app
            .store
            .invite(&iid(token.split('.').next().unwrap()))
            .await
            .unwrap()
            .unwrap();
        // The dead accept: it held the link and made the identity, then nothing.
        app.store
            .claim_invite(&inv, &addr, "dead-accept", app.clock_now())
            .await
            .unwrap();
        app.accept
            .directory
            .create_user(&addr, "Dead-Attempt-99!")
            .await
            .unwrap();
        assert!(app.sign_in(&addr, "Dead-Attempt-99!").await.is_ok());

        app.clock.advance(Duration::minutes(2));
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.checked, run.deleted, run.failed), (1, 1, 0), "{run:?}");
        assert_eq!(identity(&app, &addr).await, None);

        let r = app.accept(&token, PASSWORD).await;
        let r = r.expect(201);
        let id = r.json()["userId"].as_str().unwrap().to_string();
        assert_signin_follows(&app, &id, &addr, PASSWORD).await;
    });
}

#[test]
fn an_accept_retried_after_the_first_died_takes_the_link_over_once_its_lease_ran_out() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("takeover");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Tak", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let inv = app
            .store
            .invite(&iid(token.split('.').next().unwrap()))
            .await
            .unwrap()
            .unwrap();
        app.store
            .claim_invite(&inv, &addr, "dead-accept", app.clock_now())
            .await
            .unwrap();
        let (sub, _) = app
            .accept
            .directory
            .create_user(&addr, "Dead-Attempt-99!")
            .await
            .unwrap();
        app.clock
            .advance(shared::domain::signin::CLAIM_LEASE + Duration::SECOND);
        let r = app.accept(&token, PASSWORD).await;
        let r = r.expect(201);
        assert_eq!(
            r.json()["userId"],
            sub.as_str(),
            "the same identity, reused"
        );
        assert!(app.sign_in(&addr, "Dead-Attempt-99!").await.is_err());
        assert_signin_follows(&app, sub.as_str(), &addr, PASSWORD).await;
    });
}

#[test]
fn the_reconciler_reads_what_drifted_not_what_exists() {
    run_counted(harness::FUNCTIONS, |app, calls| async move {
        let t = tenant(&app, "team", None).await;
        let mut members = Vec::new();
        for _ in 0..12 {
            members.push(member(&app, &t.admin, "agent", None).await);
        }
        app.clock.advance(Duration::minutes(2));
        calls["reconcile-signin"].take();
        let quiet = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!(quiet.checked, 0, "{quiet:?}");
        assert_eq!(
            calls["reconcile-signin"].take().len(),
            1,
            "one query, nothing due"
        );

        // Three logins left owing (a crash after their commits), all already in line.
        for m in &members[..3] {
            leave_marker(&app, &m.email, Duration::minutes(-1)).await;
        }
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.checked, run.in_sync, run.drift), (3, 3, 0), "{run:?}");
        let made = calls["reconcile-signin"].take();
        // One query, then per login: lock, identity, owner, unlock (clearing the marker).
        assert_eq!(
            made.len(),
            1 + 3 * 4,
            "{:?}",
            made.iter().map(|c| &c.op).collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_suspend_that_fails_after_disabling_sign_in_leaves_it_owed_and_the_reconciler_gives_it_back() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        // The disable goes through; the commit and the converge's enable do not.
        faults.set(
            vec![
                FaultRule::new("dynamodb.TransactWriteItems", Fault::ServerError, 1.0),
                FaultRule::new("cognito.AdminEnableUser", Fault::ServerError, 1.0),
            ],
            6,
        );
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        faults.clear();
        // A transaction DynamoDB answered with a server error may still land, and reading its
        // entry back can't prove it never will: the answer says so (rule 11), not "nothing
        // was changed". Here it did not land.
        assert_problem(&r, 503, "outcome-unknown");
        assert_eq!(
            app.store.user(&uid(&m.id)).await.unwrap().unwrap().status,
            UserStatus::Active,
            "nothing changed in the directory"
        );
        assert_eq!(identity(&app, &m.email).await, Some((m.id.clone(), false)));
        assert!(
            app.store.signin_marker(&m.email).await.unwrap().is_some(),
            "what Cognito owes is recorded"
        );
        app.clock.advance(Duration::minutes(2));
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.checked, run.enabled), (1, 1), "{run:?}");
        assert_signin_follows(&app, &m.id, &m.email, PASSWORD).await;
    });
}
