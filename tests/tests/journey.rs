//! End to end through the real SDK clients against moto server: invite, email, preview,
//! accept, sign in with Cognito, `/me`, list.

mod common;

use common::*;
use serde_json::json;
use time::Duration;

#[test]
fn an_invited_teammate_accepts_from_the_email_signs_in_and_sees_their_role() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("sup");
        let r = invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Sam <Sup>", "role": "supervisor", "team": "Sales",
                   "timeZone": "America/New_York"}),
        )
        .await;
        let r = r.expect(201);
        let inv = r.json();
        assert_eq!(inv["status"], "pending");
        assert_eq!(inv["delivery"], "sent");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);

        // The email: from the inviter via the verified sender, replies to the inviter, escaped
        // names, the role, the expiry in the inviter's zone and the link with the token in the
        // fragment, in both parts.
        let mail = harness::moto::last_mail_to(&app.stack.aws_endpoint, &addr)
            .await
            .expect("an invite email");
        assert_eq!(
            mail.source,
            format!("\"Ada Admin via VeloConnect\" <{}>", app.stack.sender)
        );
        assert_eq!(mail.reply_to, vec![t.admin_email.clone()]);
        assert!(
            mail.subject.contains("Ada Admin invited you to join"),
            "{}",
            mail.subject
        );
        assert!(mail.body.contains("Sam &#60;Sup&#62;"), "{}", mail.body);
        assert!(!mail.body.contains("<Sup>"));
        assert!(mail.text.contains("Hi Sam <Sup>,"), "{}", mail.text);
        for part in [&mail.body, &mail.text] {
            assert!(part.contains("Supervisor"));
            assert!(part.contains("expires in 7 days, on "), "{part}");
            assert!(part.contains("(America/New_York)"), "{part}");
            assert!(part.contains(&format!("{}/accept#token=", app.stack.app_url)));
        }
        let token = harness::moto::token_in(&mail.body).unwrap();
        assert_eq!(harness::moto::token_in(&mail.text), Some(token.clone()));

        let p = app.preview(&token).await;
        let p = p.expect(200);
        let pv = p.json();
        assert_eq!(pv["email"], addr.as_str());
        assert_eq!(pv["role"], "supervisor");
        assert_eq!(pv["team"], "Sales");
        assert_eq!(pv["invitedBy"]["name"], "Ada Admin");
        assert!(pv["companyName"].as_str().unwrap().starts_with("Company-"));

        let a = app.accept(&token, PASSWORD).await;
        let a = a.expect(201);
        let user_id = a.json()["userId"].as_str().unwrap().to_string();

        let access = app.sign_in(&addr, PASSWORD).await.expect("Cognito sign-in");
        let me = app.get(&access, "/me").await;
        assert_eq!(me.status, 200);
        let me = me.json();
        assert_eq!(me["id"], user_id.as_str());
        assert_eq!(me["role"], "supervisor");
        assert_eq!(me["team"], "Sales");
        assert_eq!(me["visibility"], "team");
        let perms: Vec<&str> = me["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(perms.contains(&"calls.liveListen"));
        assert!(!perms.contains(&"users.invite"));

        let list = app.get(&t.admin, "/users").await;
        assert_eq!(list.status, 200);
        let found: Vec<_> = list.json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["id"] == user_id.as_str())
            .cloned()
            .collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["status"], "active");
        let one = app.get(&t.admin, &format!("/users/{user_id}")).await;
        assert_eq!(one.status, 200);
        assert_eq!(one.json()["email"], addr.as_str());

        // Accepting moved the seat from the invite to the user.
        let pending = app.get(&t.admin, "/invites").await;
        assert!(pending.json()["invites"].as_array().unwrap().is_empty());
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        let ten = app.get(&t.admin, "/tenant").await.json();
        assert_eq!(ten["seatsUsed"], 2);
        assert_eq!(ten["seatLimit"], 25);
    });
}

#[test]
fn a_used_link_is_refused_the_second_time_with_the_same_answer_as_an_unknown_one() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("agent");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Al", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let body = json!({"token": token, "password": PASSWORD});
        let first = app
            .request("POST", "/invites/accept", None, Some(body.clone()))
            .await;
        assert_eq!(first.status, 201);
        let again = app
            .request("POST", "/invites/accept", None, Some(body))
            .await;
        assert_problem(&again, 404, "invite-link-invalid");
        let preview = app.preview(&token).await;
        assert_problem(&preview, 404, "invite-link-invalid");

        // A made-up token of the right shape, and a wrong secret for a real invite id.
        let id = token.split('.').next().unwrap();
        let forged = format!("{id}.{}", "A".repeat(43));
        for t in [
            forged,
            format!("{}.{}", "0".repeat(32), "A".repeat(43)),
            "junk".into(),
        ] {
            let r = app.preview(&t).await;
            assert_eq!(r.body, again.body, "every bad link reads the same");
        }
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn a_link_past_seven_days_is_refused_by_the_clock_without_the_expiry_job() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("late");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Lee", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();

        app.clock.advance(Duration::days(7) - Duration::minutes(1));
        let p = app.preview(&token).await;
        assert_eq!(p.status, 200, "still open a minute before expiry");

        app.clock.advance(Duration::minutes(2));
        let a = app.accept(&token, PASSWORD).await;
        assert_problem(&a, 404, "invite-link-invalid");
        assert!(
            app.sign_in(&addr, PASSWORD).await.is_err(),
            "no sign-in identity was made"
        );

        let pending = app.get(&t.admin, "/invites").await.json();
        assert!(pending["invites"].as_array().unwrap().is_empty());
        let expired = app.get(&t.admin, "/invites?status=expired").await.json();
        assert_eq!(expired["invites"][0]["email"], addr.as_str());
        assert_eq!(expired["invites"][0]["status"], "expired");
    });
}

#[test]
fn a_weak_password_names_each_broken_rule_and_leaves_the_invite_usable() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("weak");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Wes", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let r = app.accept(&token, "short").await;
        assert_problem(&r, 400, "weak-password");
        let msgs: Vec<String> = r.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["field"], "password");
                e["message"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(msgs.contains(&"must be at least 12 characters".to_string()));
        assert!(msgs.contains(&"must contain a symbol".to_string()));
        assert!(app.sign_in(&addr, "short").await.is_err());

        // The accept page's live hints are the preview's rules: every refusal is one of them,
        // in the same words, so the page and the API cannot disagree about the policy.
        let preview = app.preview(&token).await.json();
        let rules: Vec<&str> = preview["passwordPolicy"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["message"].as_str().unwrap())
            .collect();
        assert_eq!(rules.len(), 7, "{preview}");
        for m in &msgs {
            assert!(
                rules.contains(&m.as_str()),
                "{m} is not in the preview's rules"
            );
        }
        for (pw, rule) in [
            (" Leading-Space-42", "noEdgeSpace"),
            ("ALLUPPER-CASE-42", "lowercase"),
        ] {
            let r = app.accept(&token, pw).await;
            assert_problem(&r, 400, "weak-password");
            let want = preview["passwordPolicy"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["rule"] == rule)
                .unwrap()["message"]
                .clone();
            assert_eq!(r.json()["errors"][0]["message"], want, "{pw}");
        }

        let ok = app.accept(&token, PASSWORD).await;
        assert_eq!(ok.status, 201);
    });
}

#[test]
fn accept_retried_after_a_crash_between_cognito_and_dynamodb_completes_the_same_acceptance() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("crash");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Cass", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();

        // The first attempt got as far as Cognito and died before the transaction.
        let (sub, existed) = app
            .accept
            .directory
            .create_user(&addr, "First-Attempt-99!")
            .await
            .unwrap();
        assert!(!existed);
        let me = app
            .request(
                "GET",
                "/me",
                Some(&app.sign_in(&addr, "First-Attempt-99!").await.unwrap()),
                None,
            )
            .await;
        assert_problem(&me, 401, "unauthorized");

        let retry = app.accept(&token, PASSWORD).await;
        let retry = retry.expect(201);
        assert_eq!(retry.json()["userId"], sub.as_str(), "the same identity");
        let access = app.sign_in(&addr, PASSWORD).await.unwrap();
        assert_eq!(app.get(&access, "/me").await.status, 200);
        assert!(app.sign_in(&addr, "First-Attempt-99!").await.is_err());
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn two_concurrent_accepts_of_one_invite_make_exactly_one_user() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("twice");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Tia", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let body = json!({"token": token, "password": PASSWORD});
        let (a, b) = tokio::join!(
            app.request("POST", "/invites/accept", None, Some(body.clone())),
            app.request("POST", "/invites/accept", None, Some(body.clone())),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        // The loser is refused while the winner holds the invite (409) or after it committed
        // (404); tests/tests/signin.rs checks the identity that results.
        assert!(
            statuses == [201, 404] || statuses == [201, 409],
            "{statuses:?}: {} / {}",
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body)
        );
        let users = app
            .request(
                "GET",
                &format!("/users?q={}", addr.split('@').next().unwrap()),
                Some(&t.admin),
                None,
            )
            .await;
        let users = users.expect(200);
        assert_eq!(users.json()["users"].as_array().unwrap().len(), 1);
        assert_seats_consistent(&app, &t.id).await;
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
