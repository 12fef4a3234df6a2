//! Two-step verification end to end (issue 26, part 4; docs/rules.md, rule 14), against the
//! emulator with real codes (`harness::totp`): set-up, the code at sign-in, a wrong code,
//! turning it off, an admin's reset for a lost device, the company's policy and its 403, and a
//! set-up cut between Cognito and the commit.

mod common;

use common::*;
use harness::proxy::{Fault, FaultRule};
use harness::totp::{fresh_code, wrong_code, MOTO_SECRET};
use serde_json::json;

async fn turn_on(app: &harness::App, token: &str, code: &str) -> harness::app::Reply {
    app.request(
        "POST",
        "/me/mfa",
        Some(token),
        Some(json!({ "code": code })),
    )
    .await
}

async fn policy(app: &harness::App, token: &str, p: &str) -> harness::app::Reply {
    app.request(
        "PUT",
        "/tenant/mfa-policy",
        Some(token),
        Some(json!({ "policy": p })),
    )
    .await
}

/// The user's entries of `action`, as (before.mfa, after.mfa).
async fn mfa_entries(app: &harness::App, tenant: &str, action: &str) -> Vec<(bool, bool)> {
    audit(app, tenant)
        .await
        .iter()
        .filter(|e| s(e, "action") == action)
        .map(|e| {
            let side = |k: &str| {
                serde_json::from_str::<serde_json::Value>(s(e, k)).unwrap()["mfa"]
                    .as_bool()
                    .unwrap()
            };
            (side("before"), side("after"))
        })
        .collect()
}

#[test]
fn two_step_verification_is_set_up_with_a_real_code_and_asked_for_at_every_sign_in() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        assert_eq!(
            app.get(&m.token, "/me").await.expect(200).json()["mfa"],
            false
        );

        let setup = app
            .request("POST", "/me/mfa/setup", Some(&m.token), None)
            .await
            .expect(200);
        let secret = setup.json()["secretCode"].as_str().unwrap().to_string();
        assert_eq!(secret, MOTO_SECRET);
        let uri = setup.json()["otpauthUri"].as_str().unwrap().to_string();
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/VeloConnect:{}?secret={secret}&issuer=VeloConnect",
                m.email.replace('@', "%40")
            )
        );

        for (code, why) in [("12345", "five digits"), ("12a456", "a letter")] {
            let r = turn_on(&app, &m.token, code).await;
            assert_problem(&r, 400, "invalid-request");
            assert_eq!(r.json()["errors"][0]["field"], "code", "{why}");
        }
        let r = turn_on(&app, &m.token, &wrong_code(&secret)).await;
        assert_problem(&r, 400, "invalid-request");
        assert_eq!(r.json()["errors"][0]["field"], "code");
        assert!(!app.store.user(&uid(&m.id)).await.unwrap().unwrap().mfa);
        assert!(app.sign_in(&m.email, PASSWORD).await.is_ok(), "still off");

        let on = turn_on(&app, &m.token, &fresh_code(&secret).await)
            .await
            .expect(200);
        assert_eq!(on.json()["mfa"], true);
        assert_eq!(
            app.get(&m.token, "/me").await.expect(200).json()["mfa"],
            true
        );
        let listed = app
            .get(&t.admin, &format!("/users/{}", m.id))
            .await
            .expect(200);
        assert_eq!(listed.json()["mfa"], true);
        assert_eq!(
            mfa_entries(&app, &t.id, "user.mfaEnabled").await,
            vec![(false, true)]
        );

        let err = app.sign_in(&m.email, PASSWORD).await.unwrap_err();
        assert!(
            err.contains("no tokens"),
            "a password alone is not enough: {err}"
        );
        let err = app
            .sign_in_with_code(&m.email, PASSWORD, &wrong_code(&secret))
            .await
            .unwrap_err();
        assert!(err.contains("CodeMismatch"), "{err}");
        let (token, _) = app
            .sign_in_with_code(&m.email, PASSWORD, &fresh_code(&secret).await)
            .await
            .expect("the password and a code");
        app.get(&token, "/me").await.expect(200);

        let again = app
            .request("POST", "/me/mfa/setup", Some(&token), None)
            .await;
        assert_problem(&again, 409, "mfa-on");
        assert_problem(&turn_on(&app, &token, "123456").await, 409, "mfa-on");
    })
}

async fn turn_off(
    app: &harness::App,
    token: &str,
    password: &str,
    code: &str,
) -> harness::app::Reply {
    app.request(
        "POST",
        "/me/mfa/disable",
        Some(token),
        Some(json!({ "password": password, "code": code })),
    )
    .await
}

#[test]
fn turning_it_off_takes_the_password_and_a_current_code_and_the_company_policy_can_forbid_it() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "supervisor", None).await;
        app.turn_on_mfa(&m.token).await.expect(200);

        let r = turn_off(
            &app,
            &m.token,
            "Not-The-Passw0rd!",
            &fresh_code(MOTO_SECRET).await,
        )
        .await;
        assert_problem(&r, 400, "invalid-request");
        assert_eq!(r.json()["errors"][0]["field"], "password");
        let r = turn_off(&app, &m.token, PASSWORD, &wrong_code(MOTO_SECRET)).await;
        assert_problem(&r, 400, "invalid-request");
        assert_eq!(r.json()["errors"][0]["field"], "code");
        let r = app
            .request(
                "POST",
                "/me/mfa/disable",
                Some(&m.token),
                Some(json!({"code": "1"})),
            )
            .await;
        assert_problem(&r, 400, "invalid-request");
        assert!(
            app.store.user(&uid(&m.id)).await.unwrap().unwrap().mfa,
            "still on"
        );
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "still asked for"
        );

        let off = turn_off(&app, &m.token, PASSWORD, &fresh_code(MOTO_SECRET).await)
            .await
            .expect(200);
        assert_eq!(off.json()["mfa"], false);
        app.sign_in(&m.email, PASSWORD)
            .await
            .expect("the password alone again");
        app.get(&m.token, "/me").await.expect(200);
        assert_eq!(
            mfa_entries(&app, &t.id, "user.mfaDisabled").await,
            vec![(true, false)]
        );
        // Off already: nothing to do, nothing written.
        turn_off(&app, &m.token, PASSWORD, "123456")
            .await
            .expect(200);
        assert_eq!(mfa_entries(&app, &t.id, "user.mfaDisabled").await.len(), 1);

        // An admin under the policy keeps it.
        app.turn_on_mfa(&t.admin).await.expect(200);
        policy(&app, &t.admin, "admins").await.expect(200);
        let r = turn_off(&app, &t.admin, PASSWORD, &fresh_code(MOTO_SECRET).await).await;
        assert_problem(&r, 409, "mfa-required-by-policy");
        assert!(
            app.store
                .user(&uid(&admin_id(&app, &t).await))
                .await
                .unwrap()
                .unwrap()
                .mfa
        );
    })
}

async fn admin_id(app: &harness::App, t: &Tenant) -> String {
    app.get(&t.admin, "/me").await.expect(200).json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn an_admin_resets_it_for_a_lost_device_and_every_session_of_the_user_ends() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let other = member(&app, &t.admin, "supervisor", None).await;
        app.turn_on_mfa(&m.token).await.expect(200);

        for token in [&m.token, &other.token] {
            let r = app
                .request(
                    "POST",
                    &format!("/users/{}/mfa-reset", m.id),
                    Some(token),
                    None,
                )
                .await;
            assert_problem(&r, 403, "forbidden");
        }
        let me = admin_id(&app, &t).await;
        let r = app
            .request(
                "POST",
                &format!("/users/{me}/mfa-reset"),
                Some(&t.admin),
                None,
            )
            .await;
        assert_problem(&r, 409, "self-action");

        let r = app
            .request(
                "POST",
                &format!("/users/{}/mfa-reset", m.id),
                Some(&t.admin),
                None,
            )
            .await
            .expect(200);
        assert_eq!(r.json()["mfa"], false);
        let refused = app.get(&m.token, "/me").await;
        assert_problem(&refused, 401, "unauthorized");
        assert_eq!(refused.json()["reason"], "signed-out-by-admin");
        assert_eq!(
            mfa_entries(&app, &t.id, "user.mfaReset").await,
            vec![(true, false)]
        );
        // Signed out at the next whole second (rule 5): a sign-in after it is let in.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let token = app
            .sign_in(&m.email, PASSWORD)
            .await
            .expect("the password alone, and they can set it up again");
        app.turn_on_mfa(&token).await.expect(200);
    })
}

#[test]
fn a_company_that_requires_it_of_admins_refuses_every_admin_route_to_an_admin_without_it() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let second = member(&app, &t.admin, "admin", None).await;
        let agent = member(&app, &t.admin, "agent", None).await;

        assert_problem(
            &policy(&app, &t.admin, "admins").await,
            409,
            "mfa-not-set-up",
        );
        assert_problem(
            &policy(&app, &agent.token, "admins").await,
            403,
            "forbidden",
        );
        let r = policy(&app, &t.admin, "everyone").await;
        assert_problem(&r, 400, "invalid-request");
        assert_eq!(r.json()["errors"][0]["field"], "policy");
        assert_eq!(
            app.get(&t.admin, "/tenant").await.expect(200).json()["mfaPolicy"],
            "off"
        );

        app.turn_on_mfa(&t.admin).await.expect(200);
        let set = policy(&app, &t.admin, "admins").await.expect(200);
        assert_eq!(set.json()["mfaPolicy"], "admins");
        let entries = audit(&app, &t.id).await;
        let changed: Vec<_> = entries
            .iter()
            .filter(|e| s(e, "action") == "tenant.mfaPolicyChanged")
            .collect();
        assert_eq!(changed.len(), 1);
        assert!(s(changed[0], "after").contains("admins"));
        // The same again changes nothing and writes nothing.
        policy(&app, &t.admin, "admins").await.expect(200);
        assert_eq!(actions(&audit(&app, &t.id).await).len(), entries.len());

        // Every admin route refuses the admin without it; their own routes don't.
        let body = json!({"email": email("new"), "name": "New", "role": "agent"});
        for r in [
            app.get(&second.token, "/invites").await,
            app.get(&second.token, "/tenant").await,
            app.get(&second.token, "/audit").await,
            app.invite(&second.token, body.clone()).await,
            app.request(
                "POST",
                &format!("/users/{}/suspend", agent.id),
                Some(&second.token),
                None,
            )
            .await,
            policy(&app, &second.token, "off").await,
        ] {
            assert_problem(&r, 403, "mfa-required");
        }
        app.get(&second.token, "/me").await.expect(200);
        app.get(&second.token, "/users").await.expect(200);
        app.get(&agent.token, "/users").await.expect(200);

        // Set up, and the same routes open.
        app.turn_on_mfa(&second.token).await.expect(200);
        app.get(&second.token, "/invites").await.expect(200);
        app.invite(&second.token, body).await.expect(201);

        policy(&app, &t.admin, "off").await.expect(200);
        assert_eq!(
            app.get(&second.token, "/tenant").await.expect(200).json()["mfaPolicy"],
            "off"
        );
    })
}

#[test]
fn a_set_up_cut_after_cognito_turned_it_on_is_finished_by_the_retry() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        app.request("POST", "/me/mfa/setup", Some(&m.token), None)
            .await
            .expect(200);
        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::ServerError,
                1.0,
            )],
            7,
        );
        let r = turn_on(&app, &m.token, &fresh_code(MOTO_SECRET).await).await;
        assert_problem(&r, 503, "outcome-unknown");
        faults.clear();
        assert!(!app.store.user(&uid(&m.id)).await.unwrap().unwrap().mfa);
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "Cognito asks for a code already"
        );

        let r = turn_on(&app, &m.token, &fresh_code(MOTO_SECRET).await)
            .await
            .expect(200);
        assert_eq!(r.json()["mfa"], true);
        assert_eq!(
            mfa_entries(&app, &t.id, "user.mfaEnabled").await,
            vec![(false, true)]
        );

        // Cut the same way, then the set-up asked for again: a new secret would not take over
        // until verified, so it records what Cognito holds and says it is on.
        let n = member(&app, &t.admin, "agent", None).await;
        app.request("POST", "/me/mfa/setup", Some(&n.token), None)
            .await
            .expect(200);
        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::ServerError,
                1.0,
            )],
            7,
        );
        let r = turn_on(&app, &n.token, &fresh_code(MOTO_SECRET).await).await;
        assert_problem(&r, 503, "outcome-unknown");
        faults.clear();
        let again = app
            .request("POST", "/me/mfa/setup", Some(&n.token), None)
            .await;
        assert_problem(&again, 409, "mfa-on");
        assert!(app.store.user(&uid(&n.id)).await.unwrap().unwrap().mfa);
        assert_eq!(
            mfa_entries(&app, &t.id, "user.mfaEnabled").await,
            vec![(false, true), (false, true)]
        );
    })
}
