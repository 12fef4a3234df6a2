//! The rest of the lifecycle end to end: resend, revoke, role change, suspend/reactivate,
//! delete, the audit log and the expiry job, with the seat counter checked after each step.

mod common;

use common::*;
use serde_json::{json, Value};
use time::Duration;

async fn pending_invite(app: &harness::App, admin: &str, name: &str) -> (String, String, String) {
    let addr = email(name);
    let r = invite(
        app,
        admin,
        json!({"email": addr, "name": name, "role": "agent"}),
    )
    .await;
    let r = r.expect(201);
    let token = app.token_from_mail(&addr).await.unwrap();
    (r.json()["id"].as_str().unwrap().to_string(), addr, token)
}

async fn preview(app: &harness::App, token: &str) -> u16 {
    app.preview(token).await.status
}

#[test]
fn resend_rotates_the_link_restarts_the_week_and_refuses_storms() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (id, addr, old) = pending_invite(&app, &t.admin, "resend").await;
        let path = format!("/invites/{id}/resend");

        let storm = app.request("POST", &path, Some(&t.admin), None).await;
        assert_problem(&storm, 429, "too-many-requests");
        let wait: u64 = storm.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");

        app.clock.advance(Duration::days(6));
        let r = app.request("POST", &path, Some(&t.admin), None).await;
        let r = r.expect(200);
        assert_eq!(r.json()["delivery"], "sent");
        let new = app.token_from_mail(&addr).await.unwrap();
        assert_ne!(new, old);
        let mail = harness::moto::last_mail_to(&app.stack.aws_endpoint, &addr)
            .await
            .unwrap();
        assert!(mail.subject.starts_with("New link: "), "{}", mail.subject);
        for part in [&mail.body, &mail.text] {
            assert!(part.contains("The link in any earlier invite email no longer works."));
        }
        assert_eq!(preview(&app, &old).await, 404, "the old link stops working");
        // Valid for 7 days from the resend, not from the first send.
        app.clock.advance(Duration::days(6));
        assert_eq!(preview(&app, &new).await, 200);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        let last = audit(&app, &t.id).await.pop().unwrap();
        assert_eq!(s(&last, "action"), "invite.resent");
        assert_eq!(s(&last, "targetId"), id);
    });
}

#[test]
fn resend_after_the_job_expired_an_invite_takes_a_seat_again_if_one_is_free() {
    run_isolated(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let (id, addr, _) = pending_invite(&app, &t.admin, "lapsed").await;
        app.clock.advance(Duration::days(8));
        let summary = expire_invites_fn::run(&app.expire, "job-1", 50).await;
        assert_eq!(summary.expired, 1, "{summary:?}");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);

        // Fill every seat, then the resend has none.
        let fill: Vec<Value> = (0..4)
            .map(|i| json!({"email": email(&format!("fill{i}")), "name": "Fill", "role": "agent"}))
            .collect();
        assert_eq!(
            invite(&app, &t.admin, json!({ "invites": fill }))
                .await
                .status,
            201
        );
        let path = format!("/invites/{id}/resend");
        let full = app.request("POST", &path, Some(&t.admin), None).await;
        assert_problem(&full, 409, "seat-limit");
        assert!(full.json()["pricingUrl"].as_str().is_some());

        let a_fill = partition(&app, &format!("TENANT#{}#INVITE", t.id))
            .await
            .into_iter()
            .find(|i| s(i, "status") == "pending")
            .map(|i| s(&i, "inviteId").to_string())
            .unwrap();
        let revoked = app
            .request(
                "DELETE",
                &format!("/invites/{a_fill}"),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(revoked.status, 200);
        let r = app.request("POST", &path, Some(&t.admin), None).await;
        let r = r.expect(200);
        assert_eq!(r.json()["status"], "pending");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 5);
        let token = app.token_from_mail(&addr).await.unwrap();
        assert_eq!(preview(&app, &token).await, 200);
    });
}

#[test]
fn revoking_kills_the_link_and_frees_the_seat_and_the_email_at_once() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (id, addr, token) = pending_invite(&app, &t.admin, "revoked").await;
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        let r = app
            .request("DELETE", &format!("/invites/{id}"), Some(&t.admin), None)
            .await;
        let r = r.expect(200);
        assert_eq!(r.json()["status"], "revoked");
        assert_eq!(preview(&app, &token).await, 404);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);
        let again = app
            .request("DELETE", &format!("/invites/{id}"), Some(&t.admin), None)
            .await;
        assert_problem(&again, 409, "invite-not-pending");
        assert_eq!(again.json()["inviteStatus"], "revoked");
        let resend = app
            .request(
                "POST",
                &format!("/invites/{id}/resend"),
                Some(&t.admin),
                None,
            )
            .await;
        assert_problem(&resend, 409, "invite-not-pending");
        let re = invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Back", "role": "agent"}),
        )
        .await;
        assert_eq!(re.status, 201, "the email is free again");
        let last = audit(&app, &t.id).await;
        assert_eq!(actions(&last)[last.len() - 2], "invite.revoked");
    });
}

#[test]
fn only_admins_of_the_same_tenant_resend_or_revoke() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let other = tenant(&app, "team", None).await;
        let (id, _, _) = pending_invite(&app, &t.admin, "guarded").await;
        let agent = member(&app, &t.admin, "agent", None).await;
        let sup = member(&app, &t.admin, "supervisor", None).await;
        for who in [&agent.token, &sup.token] {
            assert_problem(
                &app.request("DELETE", &format!("/invites/{id}"), Some(who), None)
                    .await,
                403,
                "forbidden",
            );
            assert_problem(
                &app.request("POST", &format!("/invites/{id}/resend"), Some(who), None)
                    .await,
                403,
                "forbidden",
            );
        }
        let foreign = app
            .request(
                "DELETE",
                &format!("/invites/{id}"),
                Some(&other.admin),
                None,
            )
            .await;
        let missing = app
            .request(
                "DELETE",
                &format!("/invites/{}", "a".repeat(32)),
                Some(&other.admin),
                None,
            )
            .await;
        assert_problem(&foreign, 404, "not-found");
        assert_eq!(foreign.body, missing.body);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 4);
    });
}

#[test]
fn a_role_change_applies_on_the_next_request_without_signing_out() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let agent = member(&app, &t.admin, "agent", Some("Sales")).await;
        let mate = member(&app, &t.admin, "agent", Some("Sales")).await;
        let before = app.get(&agent.token, "/users").await.json();
        assert_eq!(before["users"].as_array().unwrap().len(), 1);

        let r = app
            .request(
                "PUT",
                &format!("/users/{}/role", agent.id),
                Some(&t.admin),
                Some(json!({"role": "supervisor"})),
            )
            .await;
        let r = r.expect(200);
        assert_eq!(r.json()["team"], "Sales", "team kept when not sent");
        let me = app.get(&agent.token, "/me").await.json();
        assert_eq!(me["role"], "supervisor");
        let after = app.get(&agent.token, "/users").await.json();
        let ids: Vec<&str> = after["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&mate.id.as_str()),
            "a new supervisor sees the team at once"
        );

        // Demoted back, with the team cleared: sees only themself again.
        let r = app
            .request(
                "PUT",
                &format!("/users/{}/role", agent.id),
                Some(&t.admin),
                Some(json!({"role": "agent", "team": null})),
            )
            .await;
        assert_eq!(r.json()["team"], Value::Null);
        let again = app.get(&agent.token, "/users").await.json();
        assert_eq!(again["users"].as_array().unwrap().len(), 1);
        let entries = audit(&app, &t.id).await;
        assert_eq!(
            actions(&entries)
                .iter()
                .filter(|a| *a == "user.roleChanged")
                .count(),
            2
        );
        for (body, field) in [
            (json!({"role": "boss"}), "role"),
            (json!({}), "role"),
            (json!({"role": "agent", "version": "x"}), "version"),
        ] {
            let r = app
                .request(
                    "PUT",
                    &format!("/users/{}/role", agent.id),
                    Some(&t.admin),
                    Some(body),
                )
                .await;
            assert_problem(&r, 400, "invalid-request");
            assert_eq!(r.json()["errors"][0]["field"], field);
        }
        let r = app
            .request(
                "PUT",
                &format!("/users/{}/role", agent.id),
                Some(&mate.token),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_problem(&r, 403, "forbidden");
    });
}

#[test]
fn the_last_admin_cannot_be_demoted_even_by_two_racing_demotions() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let me = app.get(&t.admin, "/me").await.json();
        let my_id = me["id"].as_str().unwrap().to_string();
        let r = app
            .request(
                "PUT",
                &format!("/users/{my_id}/role"),
                Some(&t.admin),
                Some(json!({"role": "agent"})),
            )
            .await;
        assert_problem(&r, 409, "last-admin");

        let second = member(&app, &t.admin, "admin", None).await;
        // Each admin demotes the other at the same moment: one must stay.
        let (p1, p2) = (
            format!("/users/{}/role", second.id),
            format!("/users/{my_id}/role"),
        );
        let (a, b) = tokio::join!(
            app.request("PUT", &p1, Some(&t.admin), Some(json!({"role": "agent"}))),
            app.request(
                "PUT",
                &p2,
                Some(&second.token),
                Some(json!({"role": "agent"}))
            ),
        );
        let ok = [a.status, b.status].iter().filter(|s| **s == 200).count();
        assert_eq!(
            ok,
            1,
            "{} / {}",
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body)
        );
        let admins = app.get(&t.admin, "/users?role=admin").await;
        let admins = if admins.status == 200 {
            admins
        } else {
            app.get(&second.token, "/users?role=admin").await
        };
        assert_eq!(admins.json()["users"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.store
                .tenant(&tid(&t.id))
                .await
                .unwrap()
                .unwrap()
                .active_admins,
            1
        );
    });
}

#[test]
fn concurrent_changes_to_one_user_never_lose_an_update_silently() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let second = member(&app, &t.admin, "admin", None).await;
        let target = member(&app, &t.admin, "agent", None).await;
        let path = format!("/users/{}/role", target.id);
        let stale = app
            .request(
                "PUT",
                &path,
                Some(&t.admin),
                Some(json!({"role": "supervisor", "version": 0})),
            )
            .await;
        assert_problem(&stale, 409, "version-conflict");
        assert_eq!(stale.json()["currentVersion"], 1);
        let (a, b) = tokio::join!(
            app.request(
                "PUT",
                &path,
                Some(&t.admin),
                Some(json!({"role": "supervisor", "team": "A", "version": 1}))
            ),
            app.request(
                "PUT",
                &path,
                Some(&second.token),
                Some(json!({"role": "agent", "team": "B", "version": 1}))
            ),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let loser = if a.status == 409 { &a } else { &b };
        assert_problem(loser, 409, "version-conflict");
        assert_eq!(loser.json()["currentVersion"], 2);
    });
}

#[test]
fn suspending_frees_the_seat_and_refuses_the_users_valid_token_at_once() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "supervisor", Some("Ops")).await;
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        // A second session (another browser): its tokens must die with the suspension too.
        let (_, old_refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        assert!(app.refresh(&old_refresh).await.is_ok());
        // `iat` has one-second grain, and a token from the sign-out's own second passes.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        let r = r.expect(200);
        assert_eq!(r.json()["status"], "suspended");
        assert_problem(&app.get(&m.token, "/me").await, 401, "unauthorized");
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "Cognito refuses the sign-in"
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);
        // Idempotent.
        assert_eq!(
            app.request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None
            )
            .await
            .status,
            200
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);

        // Fill the freed seat: reactivation then needs one and says where to buy it.
        let fill: Vec<Value> = (0..4)
            .map(|i| json!({"email": email(&format!("f{i}")), "name": "F", "role": "agent"}))
            .collect();
        assert_eq!(
            invite(&app, &t.admin, json!({ "invites": fill }))
                .await
                .status,
            201
        );
        let full = app
            .request(
                "POST",
                &format!("/users/{}/reactivate", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_problem(&full, 409, "seat-limit");
        assert_eq!(full.json()["pricingUrl"], app.stack.pricing_url.as_str());
        assert!(app.sign_in(&m.email, PASSWORD).await.is_err());

        let pending = app.get(&t.admin, "/invites").await.json();
        let one = pending["invites"][0]["id"].as_str().unwrap().to_string();
        app.request("DELETE", &format!("/invites/{one}"), Some(&t.admin), None)
            .await;
        let r = app
            .request(
                "POST",
                &format!("/users/{}/reactivate", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        r.expect(200);
        let token = app
            .sign_in(&m.email, PASSWORD)
            .await
            .expect("signs in again");
        assert_eq!(app.get(&token, "/me").await.json()["team"], "Ops");
        // Signed out everywhere means for good: the access token and the refresh token from
        // before the suspension stay dead after the reactivation.
        assert_problem(&app.get(&m.token, "/me").await, 401, "unauthorized");
        assert!(
            app.refresh(&old_refresh).await.is_err(),
            "a refresh token from before the suspension is revoked"
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 5);
        let acts = actions(&audit(&app, &t.id).await);
        assert!(acts.contains(&"user.suspended".to_string()));
        assert!(acts.contains(&"user.reactivated".to_string()));
    });
}

#[test]
fn an_admin_cannot_suspend_or_delete_themselves() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let me = app.get(&t.admin, "/me").await.json();
        let id = me["id"].as_str().unwrap();
        assert_problem(
            &app.request(
                "POST",
                &format!("/users/{id}/suspend"),
                Some(&t.admin),
                None,
            )
            .await,
            409,
            "self-action",
        );
        assert_problem(
            &app.request("DELETE", &format!("/users/{id}"), Some(&t.admin), None)
                .await,
            409,
            "self-action",
        );
        assert_eq!(app.get(&t.admin, "/me").await.status, 200);
    });
}

#[test]
fn a_suspend_retried_after_a_crash_between_cognito_and_dynamodb_completes() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        // The first attempt disabled the sign-in and died before the commit: the safe side.
        app.suspend.directory.disable_user(&m.email).await.unwrap();
        assert!(app.sign_in(&m.email, PASSWORD).await.is_err());
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);
    });
}

#[test]
fn delete_keeps_a_named_tombstone_frees_seat_and_email_and_removes_the_sign_in() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", Some("Sales")).await;
        let path = format!("/users/{}", m.id);
        let r = app.request("DELETE", &path, Some(&t.admin), None).await;
        let r = r.expect(200);
        let tomb = r.json();
        assert_eq!(tomb["status"], "deleted");
        assert_eq!(tomb["displayName"], "agent person (deleted)");
        assert!(app.sign_in(&m.email, PASSWORD).await.is_err());
        assert_problem(&app.get(&m.token, "/me").await, 401, "unauthorized");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);

        let listed = app.get(&t.admin, "/users").await.json();
        assert_eq!(
            listed["users"].as_array().unwrap().len(),
            1,
            "tombstones are not in the default list"
        );
        let deleted = app.get(&t.admin, "/users?status=deleted").await.json();
        assert_eq!(deleted["users"][0]["displayName"], "agent person (deleted)");

        let entry = audit(&app, &t.id).await.pop().unwrap();
        assert_eq!(s(&entry, "action"), "user.deleted");
        assert_eq!(s(&entry, "targetId"), m.id);
        assert_eq!(
            s(&entry, "targetLabel"),
            "agent person",
            "names the original assignee"
        );

        // Retrying is harmless; changing a tombstone is not allowed.
        assert_eq!(
            app.request("DELETE", &path, Some(&t.admin), None)
                .await
                .status,
            200
        );
        let r = app
            .request(
                "PUT",
                &format!("{path}/role"),
                Some(&t.admin),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_problem(&r, 409, "user-deleted");
        assert_problem(
            &app.request("POST", &format!("{path}/reactivate"), Some(&t.admin), None)
                .await,
            409,
            "user-deleted",
        );

        // The email can be invited again and becomes a new, separate user.
        let again = member_with_email(&app, &t.admin, &m.email).await;
        assert_ne!(again, m.id);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
    });
}

#[test]
fn a_delete_whose_last_cognito_step_never_ran_still_lets_the_email_join_again() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        // The delete's first two steps (disable, commit the tombstone), then the crash: the
        // identity with the old `sub` is still in Cognito.
        let before = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
        let after = shared::domain::User {
            status: shared::domain::UserStatus::Deleted,
            version: before.version + 1,
            ..before.clone()
        };
        let entry = shared::domain::Change::new(
            shared::domain::Actor::system(),
            app.clock_now(),
            "crash-test",
        )
        .on_user(shared::domain::AuditAction::UserDeleted, &before, &after);
        app.delete.directory.disable_user(&m.email).await.unwrap();
        app.store
            .change_user(&before, &after, &entry)
            .await
            .unwrap();
        let again = member_with_email(&app, &t.admin, &m.email).await;
        assert_ne!(again, m.id, "a fresh identity, not the tombstone's");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
    });
}

async fn member_with_email(app: &harness::App, admin: &str, addr: &str) -> String {
    let r = invite(
        app,
        admin,
        json!({"email": addr, "name": "Returner", "role": "agent"}),
    )
    .await;
    r.expect(201);
    let token = app.token_from_mail(addr).await.unwrap();
    let a = app.accept(&token, PASSWORD).await;
    let a = a.expect(201);
    app.sign_in(addr, PASSWORD)
        .await
        .expect("the returner signs in");
    a.json()["userId"].as_str().unwrap().to_string()
}

#[test]
fn the_audit_log_reads_newest_first_with_filters_and_pages_for_admins_only() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        app.request(
            "PUT",
            &format!("/users/{}/role", m.id),
            Some(&t.admin),
            Some(json!({"role": "supervisor"})),
        )
        .await;
        app.request(
            "POST",
            &format!("/users/{}/suspend", m.id),
            Some(&t.admin),
            None,
        )
        .await;

        let all = app.get(&t.admin, "/audit").await;
        let all = all.expect(200);
        let all = all.json();
        let entries = all["entries"].as_array().unwrap();
        let acts: Vec<&str> = entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            acts[..4],
            [
                "user.suspended",
                "user.roleChanged",
                "invite.accepted",
                "invite.created"
            ]
        );
        assert_eq!(entries.len(), 7, "{acts:?}");
        let e = &entries[1];
        assert_eq!(e["actor"]["email"], t.admin_email.as_str());
        assert_eq!(e["target"]["id"], m.id.as_str());
        assert_eq!(e["before"]["role"], "agent");
        assert_eq!(e["after"]["role"], "supervisor");
        assert!(e["requestId"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(e["at"].as_str().is_some());

        let only = app
            .get(&t.admin, "/audit?action=user.roleChanged")
            .await
            .json();
        assert_eq!(only["entries"].as_array().unwrap().len(), 1);
        let by_target = app
            .request(
                "GET",
                &format!("/audit?target={}", m.id),
                Some(&t.admin),
                None,
            )
            .await
            .json();
        assert_eq!(by_target["entries"].as_array().unwrap().len(), 2);
        let by_actor = app
            .request(
                "GET",
                &format!("/audit?actor={}", m.id),
                Some(&t.admin),
                None,
            )
            .await
            .json();
        assert_eq!(by_actor["entries"][0]["action"], "invite.accepted");
        let future = app
            .get(&t.admin, "/audit?from=2999-01-01T00:00:00Z")
            .await
            .json();
        assert!(future["entries"].as_array().unwrap().is_empty());
        let upto = entries[3]["at"].as_str().unwrap();
        let window = app.get(&t.admin, &format!("/audit?to={upto}")).await.json();
        assert!(window["entries"].as_array().unwrap().len() >= 4);

        let mut seen = 0;
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("/audit?limit=2&cursor={c}"),
                None => "/audit?limit=2".into(),
            };
            let page = app.request("GET", &q, Some(&t.admin), None).await.json();
            seen += page["entries"].as_array().unwrap().len();
            cursor = page["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, 7);

        for q in [
            "/audit?action=nope",
            "/audit?from=yesterday",
            "/audit?actor=a%23b",
            "/audit?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
        ] {
            assert_problem(
                &app.request("GET", q, Some(&t.admin), None).await,
                400,
                "invalid-request",
            );
        }
        let sup = member(&app, &t.admin, "supervisor", None).await;
        assert_problem(&app.get(&sup.token, "/audit").await, 403, "forbidden");
    });
}

#[test]
fn the_expiry_job_expires_what_is_due_once_even_when_runs_overlap() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let mut due = Vec::new();
        for i in 0..6 {
            due.push(pending_invite(&app, &t.admin, &format!("due{i}")).await);
        }
        app.clock.advance(Duration::days(5));
        let (fresh_id, _, fresh_token) = pending_invite(&app, &t.admin, "fresh").await;
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 8);
        app.clock.advance(Duration::days(3));

        let (a, b) = tokio::join!(
            expire_invites_fn::run(&app.expire, "run-a", 50),
            expire_invites_fn::run(&app.expire, "run-b", 50),
        );
        assert_eq!(a.expired + b.expired, 6, "{a:?} {b:?}");
        assert_eq!(a.failed + b.failed, 0);
        let entries = audit(&app, &t.id).await;
        let expired: Vec<_> = entries
            .iter()
            .filter(|e| s(e, "action") == "invite.expired")
            .collect();
        assert_eq!(expired.len(), 6, "{a:?} {b:?}");
        for e in &expired {
            assert_eq!(s(e, "actorId"), "system");
        }
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        for (_, addr, token) in &due {
            assert_eq!(preview(&app, token).await, 404);
            // The email is free again.
            let r = invite(
                &app,
                &t.admin,
                json!({"email": addr, "name": "Again", "role": "agent"}),
            )
            .await;
            assert_eq!(r.status, 201);
        }
        assert_eq!(
            preview(&app, &fresh_token).await,
            200,
            "not yet due: untouched"
        );
        let listed = app.get(&t.admin, "/invites?status=expired").await.json();
        assert_eq!(listed["invites"].as_array().unwrap().len(), 6);
        assert!(listed["invites"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != fresh_id.as_str()));

        let again = expire_invites_fn::run(&app.expire, "run-c", 50).await;
        assert_eq!(
            (again.expired, again.skipped),
            (0, 0),
            "nothing is due twice"
        );
        let entries = audit(&app, &t.id).await;
        assert_eq!(
            entries
                .iter()
                .filter(|e| s(e, "action") == "invite.expired")
                .count(),
            6,
            "{again:?}"
        );
    });
}

#[test]
fn the_expiry_job_closes_many_invites_of_several_tenants_in_batches_with_each_counter_right() {
    run_isolated(|app| async move {
        let big = tenant(&app, "business", None).await;
        let small = tenant(&app, "starter", None).await;
        let rows: Vec<Value> = (0..25)
            .map(|i| json!({"email": email(&format!("bulk{i}")), "name": format!("Bulk {i}"), "role": "agent"}))
            .collect();
        let r = invite(&app, &big.admin, json!({ "invites": rows })).await;
        r.expect(201);
        for i in 0..4 {
            pending_invite(&app, &big.admin, &format!("big{i}")).await;
        }
        for i in 0..3 {
            pending_invite(&app, &small.admin, &format!("small{i}")).await;
        }
        assert_eq!(assert_seats_consistent(&app, &big.id).await, 30);
        assert_eq!(assert_seats_consistent(&app, &small.id).await, 4);
        app.clock.advance(Duration::days(8));

        let run = expire_invites_fn::run(&app.expire, "run-many", 50).await;
        assert_eq!(
            (run.expired, run.skipped, run.failed),
            (32, 0, 0),
            "{run:?}"
        );
        assert_eq!(assert_seats_consistent(&app, &big.id).await, 1);
        assert_eq!(assert_seats_consistent(&app, &small.id).await, 1);
        for (t, n) in [(&big, 29), (&small, 3)] {
            let entries = audit(&app, &t.id).await;
            let expired = entries
                .iter()
                .filter(|e| s(e, "action") == "invite.expired")
                .count();
            assert_eq!(expired, n, "one audit entry per invite, in its own tenant");
        }
    });
}

#[test]
fn invites_narrow_by_role_team_and_search_like_users_so_one_filter_covers_both_kinds_of_row() {
    run(|app| async move {
        let t = tenant(&app, "business", None).await;
        let rows = [
            ("ann", "Ann Lee", "agent", Some("Support")),
            ("bob", "Bob Ray", "supervisor", Some("Support")),
            ("cid", "Cid Moss", "agent", None),
        ];
        let mut addr = std::collections::HashMap::new();
        for (key, name, role, team) in rows {
            let e = email(key);
            let mut body = json!({"email": e, "name": name, "role": role});
            if let Some(team) = team {
                body["team"] = json!(team);
            }
            assert_eq!(invite(&app, &t.admin, body).await.status, 201);
            addr.insert(key, e);
        }
        let names = |q: &'static str| {
            let app = &app;
            let admin = t.admin.clone();
            async move {
                let r = app.get(&admin, &format!("/invites?{q}")).await;
                assert_eq!(r.status, 200, "{q}: {}", r.json());
                let mut n: Vec<String> = r.json()["invites"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_string())
                    .collect();
                n.sort();
                n
            }
        };
        assert_eq!(names("role=agent").await, ["Ann Lee", "Cid Moss"]);
        assert_eq!(names("team=Support").await, ["Ann Lee", "Bob Ray"]);
        assert_eq!(names("role=agent&team=Support").await, ["Ann Lee"]);
        assert_eq!(names("q=MOSS").await, ["Cid Moss"], "search ignores case");
        let bob_local = addr["bob"].split('@').next().unwrap().to_string();
        let by_email = app
            .get(&t.admin, &format!("/invites?q={bob_local}"))
            .await
            .json();
        assert_eq!(
            by_email["invites"][0]["name"], "Bob Ray",
            "search covers the email"
        );
        assert_eq!(names("status=all&role=supervisor").await, ["Bob Ray"]);
        assert!(names("status=expired&role=agent").await.is_empty());

        for bad in ["role=owner", "team=%01x", "q=%7F"] {
            let r = app.get(&t.admin, &format!("/invites?{bad}")).await;
            assert_problem(&r, 400, "invalid-request");
        }
    });
}

/// An admin's "sign out of all devices" (issue 26, sessions): every session of the user ends
/// (the access tokens refused saying an admin did it, the refresh tokens revoked) while the
/// account, its role and its seat stay; they sign in again with their password. Audited.
#[test]
fn an_admin_signs_a_user_out_of_every_device_without_suspending_them() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let seats = assert_seats_consistent(&app, &t.id).await;
        let (second, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        assert!(app.refresh(&refresh).await.is_ok());
        let path = format!("/users/{}/sign-out", m.id);
        // Not for an agent to do to anyone, nor for another company's admin.
        let other = tenant(&app, "starter", None).await;
        assert_problem(
            &app.request("POST", &path, Some(&m.token), None).await,
            403,
            "forbidden",
        );
        assert_problem(
            &app.request("POST", &path, Some(&other.admin), None).await,
            404,
            "not-found",
        );
        app.get(&m.token, "/me").await.expect(200);

        let r = app.request("POST", &path, Some(&t.admin), None).await;
        let r = r.expect(200);
        assert_eq!(r.json()["status"], "active");
        sessions_ended(&app, [&m.token, &second], &refresh, "signed-out-by-admin").await;
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats);
        let entries = audit(&app, &t.id).await;
        let last = entries
            .iter()
            .filter(|e| e["action"].as_s().unwrap() == "user.signedOut")
            .count();
        assert_eq!(last, 1, "one audit entry");
        // The stamp is the sign-out's next second (a token from its own second is refused
        // too): past it, a new sign-in is a working session.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let fresh = app.sign_in(&m.email, PASSWORD).await.unwrap();
        app.get(&fresh, "/me").await.expect(200);
        // A suspended user was signed out when suspended: nothing more to do, nothing audited.
        app.request(
            "POST",
            &format!("/users/{}/suspend", m.id),
            Some(&t.admin),
            None,
        )
        .await
        .expect(200);
        let again = app.request("POST", &path, Some(&t.admin), None).await;
        assert_eq!(again.expect(200).json()["status"], "suspended");
        let signed_out = audit(&app, &t.id)
            .await
            .iter()
            .filter(|e| e["action"].as_s().unwrap() == "user.signedOut")
            .count();
        assert_eq!(signed_out, 1);
        // A deleted one has no sessions and no account to sign out of.
        app.request("DELETE", &format!("/users/{}", m.id), Some(&t.admin), None)
            .await
            .expect(200);
        assert_problem(
            &app.request("POST", &path, Some(&t.admin), None).await,
            409,
            "user-deleted",
        );
    });
}

/// "Sign out everywhere" from the profile: any role, every session of the caller's own,
/// refused saying they did it themselves.
#[test]
fn anyone_signs_themselves_out_everywhere() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let (second, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        let r = app
            .request("POST", "/me/sign-out", Some(&m.token), None)
            .await;
        assert_eq!(r.expect(200).json()["id"], m.id.as_str());
        sessions_ended(&app, [&m.token, &second], &refresh, "signed-out").await;
        // The admin's sessions are theirs: untouched.
        app.get(&t.admin, "/users").await.expect(200);
        let entry = audit(&app, &t.id)
            .await
            .into_iter()
            .find(|e| e["action"].as_s().unwrap() == "user.signedOut")
            .expect("audited");
        assert_eq!(entry["actorId"].as_s().unwrap(), &m.id);
        // With no token, or an old one, there is nobody to sign out.
        assert_problem(
            &app.request("POST", "/me/sign-out", None, None).await,
            401,
            "unauthorized",
        );
    });
}

/// Rule 11 for a sign-out: once Cognito has ended the sessions, a commit that fails can't be
/// answered "nothing was changed". It is "we couldn't confirm", and doing it again finishes it.
#[test]
fn a_sign_out_whose_stamp_fails_after_cognito_says_it_could_not_confirm() {
    use harness::proxy::{Fault, FaultRule};
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let (_, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        let path = format!("/users/{}/sign-out", m.id);
        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::ServerError,
                1.0,
            )],
            3,
        );
        let r = app.request("POST", &path, Some(&t.admin), None).await;
        assert_problem(&r, 503, "outcome-unknown");
        faults.clear();
        assert!(
            app.refresh(&refresh).await.is_err(),
            "Cognito did sign them out"
        );
        app.request("POST", &path, Some(&t.admin), None)
            .await
            .expect(200);
        let refused = app.get(&m.token, "/me").await;
        assert_eq!(refused.json()["reason"], "signed-out-by-admin");
    });
}

/// A user changes their own password (issue 26, part 3): Cognito judges the current one, every
/// session ends (this one too, saying they did it), the old password stops working and the new
/// one works; audited. Refusals change nothing. A keyed request keeps only an argon2id print of
/// a body that holds passwords.
#[test]
fn a_user_changes_their_password_and_every_session_ends() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let (second, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        let change =
            |current: &str, new: &str| json!({"currentPassword": current, "newPassword": new});
        let post = |body: Value| app.request("POST", "/me/password", Some(&m.token), Some(body));
        let wrong = post(change("Not-The-Passw0rd!", "Brand-New-Passw0rd!")).await;
        assert_problem(&wrong, 400, "invalid-request");
        assert_eq!(wrong.json()["errors"][0]["field"], "currentPassword");
        let weak = post(change(PASSWORD, "weak")).await;
        assert_problem(&weak, 400, "weak-password");
        assert_eq!(weak.json()["errors"][0]["field"], "newPassword");
        let same = post(change(PASSWORD, PASSWORD)).await;
        assert_eq!(same.json()["errors"][0]["field"], "newPassword");
        // Nothing of that changed anything.
        app.get(&m.token, "/me").await.expect(200);
        assert!(app.refresh(&refresh).await.is_ok());

        let key = shared::domain::ids::new_id();
        let new = "Brand-New-Passw0rd!";
        let r = app
            .request_keyed(
                "POST",
                "/me/password",
                Some(&m.token),
                Some(change(PASSWORD, new)),
                Some(&key),
            )
            .await;
        assert_eq!(r.expect(200).json()["id"], m.id.as_str());
        sessions_ended(&app, [&m.token, &second], &refresh, "signed-out").await;
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "the old password"
        );
        let record = aws_sdk_dynamodb::Client::new(&app.sdk)
            .get_item()
            .table_name(&app.stack.directory_table)
            .key("pk", S(format!("IDEM#{}#{key}", m.id)))
            .key("sk", S("IDEM".into()))
            .send()
            .await
            .unwrap()
            .item
            .expect("the key's record");
        let print = record["print"].as_s().unwrap();
        assert!(
            print.starts_with("$argon2id$"),
            "the print is a slow hash: {print}"
        );
        let entries = audit(&app, &t.id).await;
        let changed: Vec<_> = entries
            .iter()
            .filter(|e| e["action"].as_s().unwrap() == "user.passwordChanged")
            .collect();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0]["actorId"].as_s().unwrap(), &m.id);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let fresh = app.sign_in(&m.email, new).await.unwrap();
        app.get(&fresh, "/me").await.expect(200);
    });
}

/// Every access token given is refused as a session ended by a sign-out (`reason`), with the
/// `invalid_token` challenge, and the refresh token no longer works.
async fn sessions_ended(app: &harness::App, tokens: [&String; 2], refresh: &str, reason: &str) {
    for token in tokens {
        let refused = app.get(token, "/me").await;
        assert_problem(&refused, 401, "unauthorized");
        assert_eq!(refused.json()["reason"], reason);
        assert_eq!(
            refused.headers["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }
    assert!(
        app.refresh(refresh).await.is_err(),
        "the refresh token is revoked"
    );
}

/// Last active (issue 26, part 5): a request records the caller's activity at most once per 5
/// minutes (the wall clock's), beside its work; it is no change of the user (no version, no
/// audit entry), and the user's view carries it.
#[test]
fn a_users_activity_is_recorded_at_most_once_per_five_minutes() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    run_counted(harness::FUNCTIONS, |app, calls| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let touches = |c: Vec<harness::proxy::Call>| {
            c.iter()
                .filter(|c| c.op == "dynamodb.UpdateItem")
                .filter(|c| String::from_utf8_lossy(&c.body).contains("lastActiveAt"))
                .count()
        };
        let stored = || async {
            let u = app.store.user(&uid(&m.id)).await.unwrap().unwrap();
            (u.last_active_at, u.version)
        };
        let set_seen = |minutes_ago: i64| {
            let at = time::OffsetDateTime::now_utc() - Duration::minutes(minutes_ago);
            let item = aws_sdk_dynamodb::Client::new(&app.sdk)
                .update_item()
                .table_name(&app.stack.directory_table)
                .key("pk", S(format!("USER#{}", m.id)))
                .key("sk", S("USER".into()))
                .update_expression("SET lastActiveAt = :t")
                .expression_attribute_values(":t", S(shared::domain::timefmt::format(at)));
            async move { item.send().await.unwrap() }
        };
        assert_eq!(
            stored().await.0,
            None,
            "joining made no request with a token"
        );
        let entries_before = audit(&app, &t.id).await.len();
        calls["list"].take();
        let before = time::OffsetDateTime::now_utc() - Duration::seconds(1);
        app.get(&m.token, "/me").await.expect(200);
        assert_eq!(
            touches(calls["list"].take()),
            1,
            "the first request records it"
        );
        let (seen, version) = stored().await;
        assert!(seen.is_some_and(|s| s >= before), "{seen:?}");
        assert_eq!(version, 1, "no change of the user");
        let me = app.get(&m.token, "/me").await.expect(200).json();
        assert_eq!(
            touches(calls["list"].take()),
            0,
            "the next, within 5 minutes, doesn't"
        );
        assert!(me["lastActiveAt"].is_string(), "{me}");

        // Past the grain, the next request records it again; within it, not.
        set_seen(4).await;
        app.get(&m.token, "/users").await.expect(200);
        assert_eq!(touches(calls["list"].take()), 0);
        set_seen(6).await;
        app.get(&m.token, "/users").await.expect(200);
        assert_eq!(touches(calls["list"].take()), 1);
        assert_eq!(
            audit(&app, &t.id).await.len(),
            entries_before,
            "not audited"
        );
        // Every function that reads its caller records it.
        set_seen(6).await;
        app.request("POST", "/me/sign-out", Some(&m.token), None)
            .await
            .expect(200);
        assert_eq!(touches(calls["suspend"].take()), 1);
        let seen_by_admin = app
            .get(&t.admin, &format!("/users/{}", m.id))
            .await
            .expect(200)
            .json();
        assert!(seen_by_admin["lastActiveAt"].is_string(), "{seen_by_admin}");
    });
}
