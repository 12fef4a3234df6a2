//! Forgotten passwords and an admin's reset end to end (issue 26, parts 1 and 2; docs/rules.md,
//! rule 13): the form, the email as the emulator received it, the reset page's preview, the new
//! password, every old session ended; links that open nothing, the used link, the hour's limit,
//! a double click, a fault between Cognito and the commit, and who may send one.
//! (The enumeration promise's timing is measured alone, in `enumeration.rs`.)

mod common;

use common::*;
use harness::moto;
use serde_json::json;

const NEW: &str = "Brand-New-Passw0rd!";

async fn ask(app: &harness::App, email: &str) -> harness::app::Reply {
    app.request(
        "POST",
        "/password-resets",
        None,
        Some(json!({"email": email, "timeZone": "Europe/Berlin"})),
    )
    .await
}

async fn preview(app: &harness::App, token: &str) -> harness::app::Reply {
    app.request(
        "POST",
        "/password-resets/preview",
        None,
        Some(json!({ "token": token })),
    )
    .await
}

async fn confirm(app: &harness::App, token: &str, password: &str) -> harness::app::Reply {
    app.request(
        "POST",
        "/password-resets/confirm",
        None,
        Some(json!({"token": token, "password": password})),
    )
    .await
}

/// The link of the newest reset email to `to`.
async fn link_to(app: &harness::App, to: &str) -> String {
    let mail = reset_mails_to(app, to).await.pop().expect("a reset email");
    moto::token_in(&mail.text).expect("a link in the email")
}

#[test]
fn a_forgotten_password_is_set_again_from_the_email_and_every_old_session_ends() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let (second, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        let r = ask(&app, &m.email.to_uppercase()).await;
        assert_eq!(r.status, 202);
        assert!(r.json()["message"].as_str().unwrap().contains("1 hour"));

        let mails = reset_mails_to(&app, &m.email).await;
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.subject, "Set a new VeloConnect password");
        assert!(
            mail.source.starts_with("\"VeloConnect\" <"),
            "{}",
            mail.source
        );
        assert!(mail.reply_to.is_empty());
        for part in [&mail.body, &mail.text] {
            assert!(part.contains(&format!("{}/reset#token=", app.stack.app_url)));
            assert!(part.contains(&m.email));
            assert!(
                part.contains("(Europe/Berlin)"),
                "the requester's zone: {part}"
            );
        }
        let token = moto::token_in(&mail.text).unwrap();
        assert!(token.starts_with(&format!("{}.", m.id)), "{token}");

        // Stored only as a hash.
        let record = aws_sdk_dynamodb::Client::new(&app.sdk)
            .get_item()
            .table_name(&app.stack.directory_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("RESET#{}", m.id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("RESET".into()),
            )
            .send()
            .await
            .unwrap()
            .item
            .expect("the reset record");
        let hash = record["tokenHash"].as_s().unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!format!("{record:?}").contains(token.split('.').nth(1).unwrap()));

        let p = preview(&app, &token).await.expect(200).json();
        assert_eq!(p["email"], m.email.as_str());
        assert!(p["passwordPolicy"]["rules"].as_array().unwrap().len() >= 5);

        let weak = confirm(&app, &token, "weak").await;
        assert_problem(&weak, 400, "weak-password");
        app.get(&m.token, "/me").await.expect(200);

        let done = confirm(&app, &token, NEW).await.expect(200).json();
        assert_eq!(done["email"], m.email.as_str());
        assert_eq!(done["signIn"]["username"], m.email.to_lowercase());
        for old in [&m.token, &second] {
            let refused = app.get(old, "/me").await;
            assert_problem(&refused, 401, "unauthorized");
            assert_eq!(refused.json()["reason"], "signed-out");
        }
        assert!(app.refresh(&refresh).await.is_err(), "refresh revoked");
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "old password"
        );

        // The link sets a password once.
        assert_problem(
            &confirm(&app, &token, "Another-Passw0rd!").await,
            409,
            "reset-link-used",
        );
        assert_problem(&preview(&app, &token).await, 409, "reset-link-used");

        let entries = audit(&app, &t.id).await;
        let reset: Vec<_> = entries
            .iter()
            .filter(|e| s(e, "action") == "user.passwordReset")
            .collect();
        assert_eq!(reset.len(), 1, "{:?}", actions(&entries));
        assert_eq!(s(reset[0], "actorId"), m.id);
        assert!(!format!("{entries:?}").contains(NEW));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let fresh = app.sign_in(&m.email, NEW).await.expect("the new password");
        app.get(&fresh, "/me").await.expect(200);
    });
}

#[test]
fn only_an_active_users_address_gets_an_email_and_every_answer_is_the_same() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let Addresses {
            active,
            suspended,
            deleted,
            invited,
            nobody,
        } = address_kinds(&app, &t.admin).await;
        let mut bodies = Vec::new();
        for addr in [&active.email, &suspended, &deleted, &invited, &nobody] {
            let r = ask(&app, addr).await;
            assert_eq!(r.status, 202, "{addr}");
            assert_eq!(r.content_type(), "application/json");
            bodies.push(r.body.clone());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "one body for all");
        assert_eq!(reset_mails_to(&app, &active.email).await.len(), 1);
        for addr in [&suspended, &deleted, &invited, &nobody] {
            assert!(
                reset_mails_to(&app, addr).await.is_empty(),
                "{addr} got an email"
            );
        }
        // A malformed address says nothing about anyone: a 400 naming the field.
        let bad = app
            .request(
                "POST",
                "/password-resets",
                None,
                Some(json!({"email": "not an address"})),
            )
            .await;
        assert_problem(&bad, 400, "invalid-request");
        assert_eq!(bad.json()["errors"][0]["field"], "email");
    });
}

#[test]
fn three_emails_an_hour_a_newer_link_replaces_the_older_and_links_last_an_hour() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        ask(&app, &m.email).await.expect(202);
        let first = link_to(&app, &m.email).await;
        ask(&app, &m.email).await.expect(202);
        let second = link_to(&app, &m.email).await;
        assert_ne!(first, second);
        assert_problem(&preview(&app, &first).await, 404, "reset-link-invalid");
        preview(&app, &second).await.expect(200);
        ask(&app, &m.email).await.expect(202);
        ask(&app, &m.email).await.expect(202);
        assert_eq!(
            reset_mails_to(&app, &m.email).await.len(),
            3,
            "the fourth is not sent"
        );
        let third = link_to(&app, &m.email).await;
        // An admin meets the same limit, and is told so.
        let limited = app
            .request(
                "POST",
                &format!("/users/{}/password-reset", m.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_problem(&limited, 429, "too-many-resets");
        let wait: u64 = limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((3500..=3600).contains(&wait), "{wait}");

        // Past the hour: the link is dead, and one more email may go.
        app.clock.advance(time::Duration::minutes(61));
        assert_problem(&preview(&app, &third).await, 404, "reset-link-invalid");
        assert_problem(&confirm(&app, &third, NEW).await, 404, "reset-link-invalid");
        ask(&app, &m.email).await.expect(202);
        assert_eq!(reset_mails_to(&app, &m.email).await.len(), 4);
        // Junk, another user's id, an invite's token: the same 404.
        for junk in [
            "junk".to_string(),
            format!("someone.{}", "A".repeat(43)),
            third.replace(&m.id, &t.id),
        ] {
            assert_problem(&preview(&app, &junk).await, 404, "reset-link-invalid");
        }
    });
}

#[test]
fn a_double_clicked_reset_sets_the_password_once() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        ask(&app, &m.email).await.expect(202);
        let token = link_to(&app, &m.email).await;
        let (a, b) = tokio::join!(confirm(&app, &token, NEW), confirm(&app, &token, NEW));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 409],
            "{} {}",
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body)
        );
        let loser = if a.status == 409 { &a } else { &b };
        assert_problem(loser, 409, "reset-link-used");
        let entries = audit(&app, &t.id).await;
        assert_eq!(
            actions(&entries)
                .iter()
                .filter(|a| *a == "user.passwordReset")
                .count(),
            1
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        app.sign_in(&m.email, NEW).await.expect("the new password");
    });
}

/// Rule 8's order under faults: Cognito refusing the password call changes nothing (the old
/// password works, the link too); a commit that fails after Cognito took the new password says
/// it could not confirm, the new password works (never neither), and the same link again
/// finishes the rest.
#[test]
fn a_reset_cut_between_cognito_and_the_commit_converges_when_sent_again() {
    use harness::proxy::{Fault, FaultRule};
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let (_, refresh) = app.sign_in_tokens(&m.email, PASSWORD).await.unwrap();
        ask(&app, &m.email).await.expect(202);
        let token = link_to(&app, &m.email).await;

        faults.set(
            vec![FaultRule::new(
                "cognito.AdminSetUserPassword",
                Fault::ServerError,
                1.0,
            )],
            7,
        );
        assert_problem(&confirm(&app, &token, NEW).await, 503, "unavailable");
        faults.clear();
        app.sign_in(&m.email, PASSWORD)
            .await
            .expect("the old password still works");
        app.get(&m.token, "/me").await.expect(200);

        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::ServerError,
                1.0,
            )],
            7,
        );
        assert_problem(&confirm(&app, &token, NEW).await, 503, "outcome-unknown");
        faults.clear();
        assert!(
            app.sign_in(&m.email, PASSWORD).await.is_err(),
            "not the old one"
        );
        app.sign_in(&m.email, NEW)
            .await
            .expect("the new one works already");
        assert!(
            app.refresh(&refresh).await.is_err(),
            "sessions ended at Cognito"
        );

        confirm(&app, &token, NEW).await.expect(200);
        let refused = app.get(&m.token, "/me").await;
        assert_eq!(refused.json()["reason"], "signed-out");
        assert_eq!(
            actions(&audit(&app, &t.id).await)
                .iter()
                .filter(|a| *a == "user.passwordReset")
                .count(),
            1
        );
        assert_problem(&confirm(&app, &token, NEW).await, 409, "reset-link-used");
    });
}

#[test]
fn an_admin_sends_a_reset_worded_as_theirs_and_only_to_their_active_users() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let sup = member(&app, &t.admin, "supervisor", None).await;
        let path = format!("/users/{}/password-reset", m.id);
        for who in [&m.token, &sup.token] {
            assert_problem(
                &app.request("POST", &path, Some(who), None).await,
                403,
                "forbidden",
            );
        }
        let other = tenant(&app, "starter", None).await;
        assert_problem(
            &app.request("POST", &path, Some(&other.admin), None).await,
            404,
            "not-found",
        );
        assert!(
            reset_mails_to(&app, &m.email).await.is_empty(),
            "refusals send nothing"
        );

        let r = app
            .request(
                "POST",
                &path,
                Some(&t.admin),
                Some(json!({"timeZone": "America/New_York"})),
            )
            .await
            .expect(202)
            .json();
        assert_eq!(r["sentTo"], m.email.as_str());
        let mail = reset_mails_to(&app, &m.email).await.pop().unwrap();
        assert_eq!(
            mail.subject,
            "Ada Admin sent you a link to set a new VeloConnect password"
        );
        assert!(
            mail.source.contains("Ada Admin via VeloConnect"),
            "{}",
            mail.source
        );
        assert_eq!(mail.reply_to, vec![t.admin_email.clone()]);
        assert!(mail
            .text
            .contains("Ada Admin asked VeloConnect to send you a link"));
        assert!(mail.text.contains("(America/New_York)"));
        let entries = audit(&app, &t.id).await;
        let sent: Vec<_> = entries
            .iter()
            .filter(|e| s(e, "action") == "user.passwordResetSent")
            .collect();
        assert_eq!(sent.len(), 1);
        assert_eq!(s(sent[0], "targetId"), m.id);
        assert!(!format!("{entries:?}").contains(&moto::token_in(&mail.text).unwrap()));
        // Their link works like one they asked for.
        let token = moto::token_in(&mail.text).unwrap();
        confirm(&app, &token, NEW).await.expect(200);

        app.suspend(&t.admin, &sup.id).await.expect(200);
        let suspended = app
            .request(
                "POST",
                &format!("/users/{}/password-reset", sup.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_problem(&suspended, 409, "user-suspended");
        let bad = app
            .request(
                "POST",
                &path,
                Some(&t.admin),
                Some(json!({"timeZone": "Mars/Base"})),
            )
            .await;
        assert_problem(&bad, 400, "invalid-request");
    });
}

/// A suspended user's link stops working: the reset page can't bring back someone an admin
/// stopped.
#[test]
fn a_link_opens_nothing_once_its_user_is_suspended() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        ask(&app, &m.email).await.expect(202);
        let token = link_to(&app, &m.email).await;
        app.suspend(&t.admin, &m.id).await.expect(200);
        assert_problem(&confirm(&app, &token, NEW).await, 404, "reset-link-invalid");
    });
}
