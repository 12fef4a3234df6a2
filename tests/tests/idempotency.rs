//! Rule 11 (docs/rules.md): answers are true, and every write can be retried safely.
//! A retry with the same `Idempotency-Key` gets the first answer byte for byte and changes
//! nothing; a request cut after its commit never says that nothing was changed; a request
//! that says nothing was changed really changed nothing.

mod common;

use common::*;
use harness::app::Reply;
use harness::proxy::{Fault, FaultRule};
use harness::App;
use serde_json::{json, Value};

fn key() -> String {
    shared::domain::ids::new_id()
}

fn replayed(r: &Reply) -> bool {
    r.headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

fn request_id(r: &Reply) -> String {
    r.headers
        .get("apigw-requestid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn entries(app: &App, tenant: &str) -> usize {
    audit(app, tenant).await.len()
}

/// Sends one request twice with one key: the second must repeat the first exactly, marked as
/// a replay, and write no audit entry.
async fn twice(
    app: &App,
    tenant: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    status: u16,
) -> Value {
    let k = key();
    let first = app
        .request_keyed(method, path, token, body.clone(), Some(&k))
        .await
        .expect(status);
    assert!(
        !replayed(&first),
        "{method} {path}: a first attempt is not a replay"
    );
    let logged = entries(app, tenant).await;
    let again = app
        .request_keyed(method, path, token, body, Some(&k))
        .await
        .expect(status);
    assert!(
        replayed(&again),
        "{method} {path}: the retry is marked as a replay"
    );
    assert_eq!(
        String::from_utf8_lossy(&again.body),
        String::from_utf8_lossy(&first.body),
        "{method} {path}: the retry gets the first answer byte for byte"
    );
    assert_eq!(again.content_type(), first.content_type());
    assert_eq!(
        entries(app, tenant).await,
        logged,
        "{method} {path}: the retry changed nothing"
    );
    first.json()
}

#[test]
fn a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing_on_every_write_route() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let admin = Some(t.admin.as_str());
        let (a, b) = (email("keyed-a"), email("keyed-b"));
        let one = json!({"email": a, "name": "Ann", "role": "agent"});
        let first = twice(&app, &t.id, "POST", "/invites", admin, Some(one), 201).await;
        let invite_id = first["id"].as_str().unwrap().to_string();
        let batch = json!({"invites": [{"email": b, "name": "Bo", "role": "agent"},
                                        {"email": email("keyed-c"), "name": "Cy", "role": "agent"}]});
        let made = twice(&app, &t.id, "POST", "/invites", admin, Some(batch), 201).await;
        let revoked_id = made["invites"][1]["id"].as_str().unwrap().to_string();
        assert_eq!(
            audit(&app, &t.id)
                .await
                .iter()
                .filter(|e| s(e, "action") == "invite.created")
                .count(),
            4,
            "the admin's own invite and three, once each"
        );

        app.clock
            .advance(shared::domain::invite::RESEND_MIN_INTERVAL + time::Duration::SECOND);
        let resent = format!("/invites/{invite_id}/resend");
        twice(&app, &t.id, "POST", &resent, admin, None, 200).await;
        let revoke = format!("/invites/{revoked_id}");
        let gone = twice(&app, &t.id, "DELETE", &revoke, admin, None, 200).await;
        assert_eq!(gone["status"], "revoked");
        // Without the key, revoking again answers as the rules say: no longer pending.
        assert_problem(
            &app.revoke(&t.admin, &revoked_id).await,
            409,
            "invite-not-pending",
        );

        let link = app.token_from_mail(&a).await.unwrap();
        let body = json!({"token": link, "password": PASSWORD});
        let joined = twice(
            &app,
            &t.id,
            "POST",
            "/invites/accept",
            None,
            Some(body.clone()),
            201,
        )
        .await;
        let user = joined["userId"].as_str().unwrap().to_string();
        // Without the key the link is used, as ever.
        assert_problem(
            &app.accept(&link, PASSWORD).await,
            404,
            "invite-link-invalid",
        );

        let role = format!("/users/{user}/role");
        let promoted = twice(
            &app,
            &t.id,
            "PUT",
            &role,
            admin,
            Some(json!({"role": "supervisor"})),
            200,
        )
        .await;
        assert_eq!(promoted["version"], 2);
        // Availability (an admin's, audited; one's own, not) and the company's capacity.
        let away = Some(json!({"availability": "away"}));
        let avail = format!("/users/{user}/availability");
        let set = twice(&app, &t.id, "PUT", &avail, admin, away.clone(), 200).await;
        assert_eq!(set["availability"], "away");
        let own = twice(&app, &t.id, "PUT", "/me/availability", admin, away, 200).await;
        assert_eq!(own["availability"], "away");
        let v = app.get(&t.admin, &format!("/users/{user}")).await.json()["version"].clone();
        let quick = Some(json!({"changes": [{"id": user, "version": v, "maxChats": 9}]}));
        let edited = twice(&app, &t.id, "PATCH", "/users", admin, quick, 200).await;
        assert_eq!(edited["users"][0]["maxChats"], 9);
        let cap = Some(json!({"maxChats": 6}));
        let t6 = twice(&app, &t.id, "PUT", "/tenant/max-chats", admin, cap, 200).await;
        assert_eq!(t6["defaultMaxChats"], 6);
        // Teams (rule 19): the user's and the admin's own, renamed and merged.
        app.change_role(
            &t.admin,
            &user,
            json!({"role": "supervisor", "team": "Blue"}),
        )
        .await
        .expect(200);
        let admin_id = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.change_role(&t.admin, &admin_id, json!({"role": "admin", "team": "Red"}))
            .await
            .expect(200);
        let rename = Some(json!({"from": "Blue", "to": "Green"}));
        let renamed = twice(&app, &t.id, "POST", "/teams/rename", admin, rename, 200).await;
        assert_eq!(renamed["members"], 1);
        let merge = Some(json!({"from": "Red", "into": "Green"}));
        let merged = twice(&app, &t.id, "POST", "/teams/merge", admin, merge, 200).await;
        assert_eq!(merged["to"], "Green");
        let suspended = twice(
            &app,
            &t.id,
            "POST",
            &format!("/users/{user}/suspend"),
            admin,
            None,
            200,
        )
        .await;
        assert_eq!(suspended["status"], "suspended");
        twice(
            &app,
            &t.id,
            "POST",
            &format!("/users/{user}/reactivate"),
            admin,
            None,
            200,
        )
        .await;
        let out = format!("/users/{user}/sign-out");
        let signed_out = twice(&app, &t.id, "POST", &out, admin, None, 200).await;
        assert_eq!(signed_out["status"], "active");
        // Signing yourself out ends the session the retry comes from: the retry still gets the
        // first answer (the key is the caller's, and the answer was theirs), nothing again.
        let m = member(&app, &t.admin, "agent", None).await;
        twice(
            &app,
            &t.id,
            "POST",
            "/me/sign-out",
            Some(&m.token),
            None,
            200,
        )
        .await;
        // A forgotten password's three writes (rule 13): an admin's send and the public form
        // each send one email for two attempts; a link's new password is set once, and the
        // retry gets the first 200, not "link used".
        let address = app
            .store
            .user(&uid(&user))
            .await
            .unwrap()
            .unwrap()
            .email
            .to_string();
        let resets = || reset_mails_to(&app, &address);
        let sent = format!("/users/{user}/password-reset");
        twice(&app, &t.id, "POST", &sent, admin, None, 202).await;
        assert_eq!(
            resets().await.len(),
            1,
            "one email for the send and its retry"
        );
        let ask = json!({ "email": address });
        twice(
            &app,
            &t.id,
            "POST",
            "/password-resets",
            None,
            Some(ask),
            202,
        )
        .await;
        assert_eq!(
            resets().await.len(),
            2,
            "one email for the form and its retry"
        );
        let link = harness::moto::token_in(&resets().await.pop().unwrap().text).unwrap();
        let set = json!({"token": link, "password": "Keyed-Reset-Passw0rd-1!"});
        let done = twice(
            &app,
            &t.id,
            "POST",
            "/password-resets/confirm",
            None,
            Some(set),
            200,
        )
        .await;
        assert_eq!(done["userId"], user.as_str());
        let deleted = twice(
            &app,
            &t.id,
            "DELETE",
            &format!("/users/{user}"),
            admin,
            None,
            200,
        )
        .await;
        assert_eq!(deleted["status"], "deleted");
        // A rule's refusal is the key's outcome too.
        let me = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let refused = twice(
            &app,
            &t.id,
            "POST",
            &format!("/users/{me}/suspend"),
            admin,
            None,
            409,
        )
        .await;
        assert_eq!(
            refused["type"],
            "https://veloconnect.io/problems/self-action"
        );

        // Sorted: the test's clock stands still, so entries of one instant come in id order.
        let mut user_entries: Vec<String> = audit(&app, &t.id)
            .await
            .iter()
            .filter(|e| s(e, "targetId") == user)
            .map(|e| s(e, "action").to_string())
            .collect();
        user_entries.sort();
        assert_eq!(
            user_entries,
            [
                "user.availabilityChanged",
                "user.deleted",
                "user.maxChatsChanged",
                "user.passwordReset",
                "user.passwordResetSent",
                "user.reactivated",
                "user.roleChanged",
                // The team set before the rename (unkeyed: once).
                "user.roleChanged",
                "user.signedOut",
                "user.suspended",
            ],
            "each change once, whatever was retried"
        );
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn a_key_that_failed_before_any_write_is_freed_and_its_retry_does_the_work_once() {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let logged = entries(&app, &t.id).await;
        // Cognito is disabled before the commit: failing there, nothing reaches DynamoDB.
        faults.set(vec![FaultRule::new("cognito.", Fault::ServerError, 1.0)], 7);
        let k = key();
        let path = format!("/users/{}/suspend", m.id);
        let r = app
            .request_keyed("POST", &path, Some(&t.admin), None, Some(&k))
            .await;
        faults.clear();
        assert_problem(&r, 503, "unavailable");
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Nothing was changed"));
        let user = app.get(&t.admin, &format!("/users/{}", m.id)).await.json();
        assert_eq!(user["status"], "active", "nothing was changed, as it said");
        assert_eq!(entries(&app, &t.id).await, logged);
        // The lock the failed request held has run out by the retry.
        app.clock.advance(time::Duration::seconds(40));
        let again = app
            .request_keyed("POST", &path, Some(&t.admin), None, Some(&k))
            .await
            .expect(200);
        assert!(!replayed(&again), "a freed key's retry does the work");
        assert_eq!(again.json()["status"], "suspended");
        assert_eq!(entries(&app, &t.id).await, logged + 1);
        assert!(app.sign_in(&m.email, PASSWORD).await.is_err());
    });
}

#[test]
fn a_request_cut_after_its_commit_says_it_could_not_confirm_and_its_keyed_retry_answers_what_happened(
) {
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let keyed = member(&app, &t.admin, "agent", None).await;
        let plain = member(&app, &t.admin, "agent", None).await;
        // The commit lands and its answer never comes back, until the request's deadline.
        *app.timeout_override.lock().unwrap() = Some(std::time::Duration::from_secs(4));
        faults.set(
            vec![FaultRule::new(
                "dynamodb.TransactWriteItems",
                Fault::StallAnswer,
                1.0,
            )],
            11,
        );
        let k = key();
        let path = format!("/users/{}/suspend", keyed.id);
        let cut = app
            .request_keyed("POST", &path, Some(&t.admin), None, Some(&k))
            .await;
        let cut_plain = app.suspend(&t.admin, &plain.id).await;
        faults.clear();
        *app.timeout_override.lock().unwrap() = None;
        for r in [&cut, &cut_plain] {
            assert_problem(r, 503, "outcome-unknown");
            let detail = r.json()["detail"].as_str().unwrap().to_string();
            assert!(detail.contains("couldn't confirm"), "{detail}");
            assert!(!detail.contains("Nothing was changed"), "{detail}");
            assert!(r.headers.contains_key("retry-after"));
        }
        // It had committed: the entry names the cut request.
        let log = audit(&app, &t.id).await;
        for (r, m) in [(&cut, &keyed), (&cut_plain, &plain)] {
            let mine: Vec<_> = log
                .iter()
                .filter(|e| s(e, "targetId") == m.id && s(e, "action") == "user.suspended")
                .collect();
            assert_eq!(mine.len(), 1);
            assert_eq!(s(mine[0], "requestId"), request_id(r));
        }

        app.clock.advance(time::Duration::seconds(40));
        let retry = app
            .request_keyed("POST", &path, Some(&t.admin), None, Some(&k))
            .await
            .expect(200);
        assert!(
            replayed(&retry),
            "the key recorded the commit's answer in its transaction"
        );
        assert_eq!(retry.json()["status"], "suspended");
        assert_eq!(retry.json()["id"], keyed.id.as_str());
        // Without a key, the retry finds the change done and says so plainly.
        let again = app.suspend(&t.admin, &plain.id).await.expect(200);
        assert_eq!(again.json()["status"], "suspended");
        let suspends = audit(&app, &t.id)
            .await
            .iter()
            .filter(|e| s(e, "action") == "user.suspended")
            .count();
        assert_eq!(suspends, 2, "each suspension happened once");
        for m in [&keyed, &plain] {
            assert!(app.sign_in(&m.email, PASSWORD).await.is_err());
        }
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn two_attempts_with_one_key_at_once_do_the_work_once() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let k = key();
        let path = format!("/users/{}/suspend", m.id);
        let logged = entries(&app, &t.id).await;
        let (x, y) = tokio::join!(
            app.request_keyed("POST", &path, Some(&t.admin), None, Some(&k)),
            app.request_keyed("POST", &path, Some(&t.admin), None, Some(&k)),
        );
        let mut answers = [x, y];
        answers.sort_by_key(|r| (replayed(r), r.status));
        let (first, second) = (&answers[0], &answers[1]);
        first.headers.get("apigw-requestid").expect("a request id");
        assert_eq!(
            first.status,
            200,
            "{}",
            String::from_utf8_lossy(&first.body)
        );
        match second.status {
            200 => {
                assert!(replayed(second));
                assert_eq!(second.body, first.body);
            }
            409 => {
                assert_problem(second, 409, "idempotency-in-progress");
                assert!(second.headers.contains_key("retry-after"));
            }
            other => panic!(
                "second attempt: {other} {}",
                String::from_utf8_lossy(&second.body)
            ),
        }
        assert_eq!(entries(&app, &t.id).await, logged + 1);

        let invites_made = |log: Vec<
            std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        >| {
            log.iter()
                .filter(|e| s(e, "action") == "invite.created")
                .count()
        };
        let before = invites_made(audit(&app, &t.id).await);
        let addr = email("once");
        let body = json!({"email": addr, "name": "Once", "role": "agent"});
        let k = key();
        let (x, y) = tokio::join!(
            app.request_keyed(
                "POST",
                "/invites",
                Some(&t.admin),
                Some(body.clone()),
                Some(&k)
            ),
            app.request_keyed("POST", "/invites", Some(&t.admin), Some(body), Some(&k)),
        );
        assert!(x.status == 201 || y.status == 201);
        for r in [&x, &y] {
            assert!(
                r.status == 201
                    || (r.status == 409
                        && r.json()["type"]
                            .as_str()
                            .unwrap()
                            .ends_with("idempotency-in-progress")),
                "{} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        assert_eq!(
            invites_made(audit(&app, &t.id).await),
            before + 1,
            "invited once"
        );
    });
}

#[test]
fn a_key_costs_two_dynamodb_calls_and_one_transaction_item_more() {
    run_counted(harness::FUNCTIONS, |app, calls| async move {
        let t = tenant(&app, "team", None).await;
        let (a, b) = (
            member(&app, &t.admin, "agent", None).await,
            member(&app, &t.admin, "agent", None).await,
        );
        let ops = |c: Vec<harness::proxy::Call>| -> (Vec<String>, usize) {
            // How many items the change's transaction carries.
            let items = c
                .iter()
                .filter(|c| c.op == "dynamodb.TransactWriteItems")
                .map(|c| {
                    let v: Value = serde_json::from_slice(&c.body).unwrap();
                    v["TransactItems"].as_array().map_or(0, Vec::len)
                })
                .sum();
            (c.into_iter().map(|c| c.op).collect(), items)
        };
        for (function, method, tail, body) in [
            (
                "change-role",
                "PUT",
                "/role",
                Some(json!({"role": "supervisor"})),
            ),
            ("suspend", "POST", "/suspend", None),
        ] {
            calls[function].take();
            app.request_keyed(
                method,
                &format!("/users/{}{tail}", a.id),
                Some(&t.admin),
                body.clone(),
                None,
            )
            .await
            .expect(200);
            let (plain, plain_items) = ops(calls[function].take());
            app.request_keyed(
                method,
                &format!("/users/{}{tail}", b.id),
                Some(&t.admin),
                body,
                Some(&key()),
            )
            .await
            .expect(200);
            let (keyed, keyed_items) = ops(calls[function].take());
            println!(
                "{method} /users/{{id}}{tail}: {} calls without a key {plain:?}, {} with {keyed:?}",
                plain.len(),
                keyed.len()
            );
            assert_eq!(keyed.len(), plain.len() + 2, "{plain:?} / {keyed:?}");
            assert_eq!(
                keyed_items,
                plain_items + 1,
                "the key's record rides in the transaction"
            );
            assert_eq!(
                keyed.first().map(String::as_str),
                Some("dynamodb.PutItem"),
                "the claim comes first"
            );
            assert_eq!(
                keyed.last().map(String::as_str),
                Some("dynamodb.UpdateItem"),
                "the answer is recorded last"
            );
        }
    });
}

/// The two-step routes that take a key (rule 14; the set-up's answer is a secret never kept,
/// so it takes none): a retry gets the first answer and changes nothing, even though the code
/// it carries may have expired by then.
#[test]
fn a_keyed_retry_of_each_two_step_route_gets_the_first_answer() {
    run(|app| async move {
        use harness::totp::{fresh_code, MOTO_SECRET};
        let t = tenant(&app, "team", None).await;
        let admin = Some(t.admin.as_str());
        let m = member(&app, &t.admin, "agent", None).await;
        let token = Some(m.token.as_str());
        app.request("POST", "/me/mfa/setup", token, None)
            .await
            .expect(200);
        let on = json!({ "code": fresh_code(MOTO_SECRET).await });
        let first = twice(&app, &t.id, "POST", "/me/mfa", token, Some(on), 200).await;
        assert_eq!(first["mfa"], true);
        let off = json!({"password": PASSWORD, "code": fresh_code(MOTO_SECRET).await});
        let first = twice(
            &app,
            &t.id,
            "POST",
            "/me/mfa/disable",
            token,
            Some(off),
            200,
        )
        .await;
        assert_eq!(first["mfa"], false);
        let reset = format!("/users/{}/mfa-reset", m.id);
        twice(&app, &t.id, "POST", &reset, admin, None, 200).await;
        app.turn_on_mfa(&t.admin).await.expect(200);
        let policy = json!({"policy": "admins"});
        let first = twice(
            &app,
            &t.id,
            "PUT",
            "/tenant/mfa-policy",
            admin,
            Some(policy),
            200,
        )
        .await;
        assert_eq!(first["mfaPolicy"], "admins");
        let changes = audit(&app, &t.id)
            .await
            .iter()
            .filter(|e| {
                s(e, "action").starts_with("user.mfa")
                    || s(e, "action") == "tenant.mfaPolicyChanged"
            })
            .count();
        assert_eq!(
            changes, 5,
            "on, off, the reset, the admin's own, the policy: once each"
        );
    })
}
