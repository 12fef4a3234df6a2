//! Mail that did not arrive (issue 27, item 7; docs/rules.md, "Mail that did not arrive"):
//! every send names the stack's configuration set and tags what it is about; SES's events for
//! that set, as the local mailbox simulator publishes them (`harness::mailbox`), reach the
//! `mail-events` handler, and the Users screen's lists say what happened. SES delivers events
//! at least once and in no set order, so each test also hands the handler the same event
//! again, an older message's event after a newer one's, and events that are not ours.

mod common;

use aws_sdk_dynamodb::types::AttributeValue::S;
use common::*;
use harness::mailbox::{labelled, BOUNCE, COMPLAINT};
use serde_json::{json, Value};
use shared::domain::mail_event::ses_event;
use time::Duration;

const NO_MAILBOX: &str = "The mailbox does not exist. (5.1.1)";

/// What SES would publish now for the stack's messages sent since the last call.
async fn events(app: &harness::App) -> Vec<Value> {
    app.mailbox
        .events(&app.stack.aws_endpoint, &app.stack.configuration_set)
        .await
}

async fn handle(app: &harness::App, event: &Value) -> &'static str {
    mail_events_fn::handle(&app.mail_events, event)
        .await
        .expect("the store answers")
        .result
}

/// The pending invite `id` as the Users screen reads it.
async fn listed(app: &harness::App, admin: &str, id: &str) -> Value {
    let all = app.get(admin, "/invites").await.expect(200).json();
    all["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("invite {id} listed: {all}"))
        .clone()
}

async fn invite_one(app: &harness::App, admin: &str, addr: &str) -> String {
    let r = invite(
        app,
        admin,
        json!({"email": addr, "name": "Mail Test", "role": "agent"}),
    )
    .await
    .expect(201);
    r.json()["id"].as_str().unwrap().to_string()
}

/// `event` with its `mail.timestamp` moved by `by` (an older or a newer message's event).
fn shifted(event: &Value, by: Duration) -> Value {
    let mut e = event.clone();
    let at =
        shared::domain::timefmt::parse(e["detail"]["mail"]["timestamp"].as_str().unwrap()).unwrap();
    e["detail"]["mail"]["timestamp"] = json!(shared::domain::timefmt::format(at + by));
    e
}

/// A delivery event for the same message as `event`.
fn delivered_twin(event: &Value) -> Value {
    ses_event(
        "Email Delivered",
        "Delivery",
        event["detail"]["mail"].clone(),
        "delivery",
        json!({"recipients": event["detail"]["mail"]["destination"], "smtpResponse": "250 ok"}),
    )
}

#[test]
fn a_bounced_invite_says_why_and_a_resend_starts_again() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        app.mailbox.publish(&app).await; // the new admin's welcome
        let bounce = invite_one(&app, &t.admin, &labelled(BOUNCE, &unique("b"))).await;
        let fine = invite_one(&app, &t.admin, &email("fine")).await;
        let before = listed(&app, &t.admin, &bounce).await;
        assert_eq!(before["delivery"], "sent");
        assert_eq!(before["deliveryDetail"], Value::Null);
        let audited = audit(&app, &t.id).await.len();

        let first = events(&app).await;
        assert_eq!(first.len(), 2, "one event per message: {first:#?}");
        for e in &first {
            assert_eq!(handle(&app, e).await, "recorded");
        }
        let b = listed(&app, &t.admin, &bounce).await;
        assert_eq!(b["delivery"], "bounced");
        assert_eq!(b["deliveryDetail"], NO_MAILBOX);
        assert_eq!(b["status"], "pending", "still pending: a resend may follow");
        let f = listed(&app, &t.admin, &fine).await;
        assert_eq!(f["delivery"], "delivered");
        assert_eq!(f["deliveryDetail"], Value::Null);
        assert_eq!(
            audit(&app, &t.id).await.len(),
            audited,
            "what SES said is not a change anyone made"
        );

        // At least once: the same bounce again leaves the same record.
        let bounced_event = first
            .iter()
            .find(|e| e["detail"]["eventType"] == "Bounce")
            .unwrap()
            .clone();
        handle(&app, &bounced_event).await;
        assert_eq!(listed(&app, &t.admin, &bounce).await, b);
        // In no order: the same message's delivery coming after its bounce is stale.
        assert_eq!(handle(&app, &delivered_twin(&bounced_event)).await, "stale");
        assert_eq!(listed(&app, &t.admin, &bounce).await["delivery"], "bounced");

        // A resend is a new message: the record starts again, the old message's events no
        // longer count, the new one's do.
        app.clock.advance(Duration::seconds(61));
        let resent = app.resend(&t.admin, &bounce).await.expect(200).json();
        assert_eq!(resent["delivery"], "sent");
        assert_eq!(resent["deliveryDetail"], Value::Null);
        assert_eq!(handle(&app, &bounced_event).await, "stale");
        assert_eq!(listed(&app, &t.admin, &bounce).await["delivery"], "sent");
        assert_eq!(app.mailbox.publish(&app).await, 1);
        let again = listed(&app, &t.admin, &bounce).await;
        assert_eq!(again["delivery"], "bounced");
        assert_eq!(again["deliveryDetail"], NO_MAILBOX);
    })
}

#[test]
fn a_complaint_is_shown_and_the_address_is_not_mailed_again() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        app.mailbox.publish(&app).await;
        let id = invite_one(&app, &t.admin, &labelled(COMPLAINT, &unique("c"))).await;
        // SES says delivered, then the complaint.
        assert_eq!(app.mailbox.publish(&app).await, 2);
        let c = listed(&app, &t.admin, &id).await;
        assert_eq!(c["delivery"], "complained");
        assert!(
            c["deliveryDetail"]
                .as_str()
                .unwrap()
                .contains("marked it as spam"),
            "{c}"
        );

        // The configuration set suppresses the address: the resend is accepted by SES and
        // never leaves, and the screen says so rather than "sent".
        app.clock.advance(Duration::seconds(61));
        app.resend(&t.admin, &id).await.expect(200);
        assert_eq!(app.mailbox.publish(&app).await, 1);
        let s = listed(&app, &t.admin, &id).await;
        assert_eq!(s["delivery"], "bounced");
        assert!(
            s["deliveryDetail"]
                .as_str()
                .unwrap()
                .starts_with("Not sent: this address is on the suppression list"),
            "{s}"
        );
    })
}

#[test]
fn a_reset_email_that_bounces_marks_the_user_and_only_a_newer_delivery_clears_it() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = labelled(BOUNCE, &unique("r"));
        let m = app
            .join(
                &t.admin,
                json!({"email": addr, "name": "Rita Reset", "role": "agent"}),
                PASSWORD,
            )
            .await;
        // The invite's own bounce is the invite's, not the user's.
        app.mailbox.publish(&app).await;
        let all = app
            .get(&t.admin, "/invites?status=all")
            .await
            .expect(200)
            .json();
        let accepted = all["invites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == addr.as_str())
            .unwrap_or_else(|| panic!("the accepted invite listed: {all}"));
        assert_eq!(accepted["delivery"], "bounced", "{accepted}");
        let path = format!("/users/{}", m.id);
        assert_eq!(
            app.get(&t.admin, &path).await.expect(200).json()["emailProblem"],
            Value::Null
        );
        app.request(
            "POST",
            &format!("/users/{}/password-reset", m.id),
            Some(&t.admin),
            None,
        )
        .await
        .expect(202);
        let audited = audit(&app, &t.id).await.len();
        let bounced = events(&app).await;
        assert_eq!(bounced.len(), 1);
        assert_eq!(
            bounced[0]["detail"]["mail"]["tags"]["vc-kind"][0],
            "password-reset"
        );
        assert_eq!(handle(&app, &bounced[0]).await, "recorded");
        let user = app.get(&t.admin, &path).await.expect(200).json();
        assert_eq!(user["emailProblem"], NO_MAILBOX);
        let listed_user = app.get(&t.admin, "/users").await.expect(200).json();
        let row = listed_user["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == m.id.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["emailProblem"], NO_MAILBOX, "the list says it too");
        assert_eq!(audit(&app, &t.id).await.len(), audited);

        // An older message's delivery does not hide the newer one's bounce; the same
        // message's delivery arriving late does not either.
        let older = shifted(&delivered_twin(&bounced[0]), Duration::minutes(-5));
        assert_eq!(handle(&app, &older).await, "stale");
        assert_eq!(handle(&app, &delivered_twin(&bounced[0])).await, "stale");
        assert_eq!(
            app.get(&t.admin, &path).await.json()["emailProblem"],
            NO_MAILBOX
        );
        // A newer message that arrived does clear it, and the older bounce cannot come back.
        let newer = shifted(&delivered_twin(&bounced[0]), Duration::minutes(5));
        assert_eq!(handle(&app, &newer).await, "recorded");
        assert_eq!(
            app.get(&t.admin, &path).await.json()["emailProblem"],
            Value::Null
        );
        assert_eq!(handle(&app, &bounced[0]).await, "stale");
        assert_eq!(
            app.get(&t.admin, &path).await.json()["emailProblem"],
            Value::Null
        );
    })
}

#[test]
fn events_that_are_not_about_our_emails_change_nothing() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let other = tenant(&app, "team", None).await;
        let id = invite_one(&app, &t.admin, &labelled(BOUNCE, &unique("n"))).await;
        let m = member(&app, &t.admin, "agent", None).await;
        let real = events(&app)
            .await
            .into_iter()
            .find(|e| e["detail"]["mail"]["tags"]["vc-subject"][0] == id.as_str())
            .expect("the bounce of the invite");
        let with = |path: &[&str], v: Value| {
            let mut e = real.clone();
            let mut at = &mut e;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = v;
            e
        };
        let stale = [
            // Another company's id on our invite: a forged or misrouted tag.
            with(&["detail", "mail", "tags", "vc-tenant"], json!([other.id])),
            // An invite that does not exist (or no longer does).
            with(
                &["detail", "mail", "tags", "vc-subject"],
                json!(["a".repeat(32)]),
            ),
            // A message that is not the invite's newest.
            with(&["detail", "mail", "messageId"], json!("0100-not-ours")),
            // A user of another company.
            with(
                &["detail", "mail", "tags"],
                json!({
                "vc-kind": ["password-reset"], "vc-tenant": [other.id], "vc-subject": [m.id]}),
            ),
        ];
        for e in &stale {
            assert_eq!(handle(&app, e).await, "stale", "{e}");
        }
        let ignored = [
            with(&["source"], json!("aws.evil")),
            with(&["detail", "eventType"], json!("Open")),
            with(&["detail", "mail", "tags"], json!({})),
            with(
                &["detail", "mail", "tags", "vc-kind"],
                json!(["newsletter"]),
            ),
            with(
                &["detail", "mail", "tags", "vc-subject"],
                json!(["../../x"]),
            ),
            with(&["detail", "mail", "timestamp"], json!("yesterday")),
            with(&["detail", "mail", "messageId"], json!(null)),
            with(&["detail"], json!("junk")),
            json!(null),
            json!([1, 2, 3]),
        ];
        for e in &ignored {
            assert_eq!(handle(&app, e).await, "ignored", "{e}");
        }
        let i = listed(&app, &t.admin, &id).await;
        assert_eq!(i["delivery"], "sent", "{i}");
        assert_eq!(
            app.get(&t.admin, &format!("/users/{}", m.id)).await.json()["emailProblem"],
            Value::Null
        );
        // And ours still counts.
        assert_eq!(handle(&app, &real).await, "recorded");
        assert_eq!(listed(&app, &t.admin, &id).await["delivery"], "bounced");
    })
}

/// A bulk invite writes its message ids once the whole batch is sent (a 25-row batch takes 25
/// seconds in SES's sandbox), and SES's events can come first. Such an event is not stale: the
/// handler fails it, so Lambda's retry a minute later records it.
#[test]
fn an_event_that_overtakes_the_invites_own_write_comes_back_later() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let other = tenant(&app, "team", None).await;
        app.mailbox.publish(&app).await;
        let id = invite_one(&app, &t.admin, &labelled(BOUNCE, &unique("e"))).await;
        let e = events(&app).await.pop().expect("the bounce");
        let message_id = e["detail"]["mail"]["messageId"]
            .as_str()
            .unwrap()
            .to_string();
        let ddb = aws_sdk_dynamodb::Client::new(&app.sdk);
        let set = |expression: &'static str, values: Vec<(&'static str, &str)>| {
            let mut call = ddb
                .update_item()
                .table_name(&app.stack.directory_table)
                .key("pk", S(format!("INVITE#{id}")))
                .key("sk", S("INVITE".into()))
                .update_expression(expression);
            for (k, v) in values {
                call = call.expression_attribute_values(k, S(v.to_string()));
            }
            call.send()
        };
        // The invite as it is between SES's answer and the request's delivery write.
        set("SET delivery = :q REMOVE messageId", vec![(":q", "queued")])
            .await
            .unwrap();
        let early = mail_events_fn::handle(&app.mail_events, &e).await;
        assert!(
            matches!(early, Err(mail_events_fn::Retry::Early)),
            "{early:?}"
        );
        // Another company's tag on it is still only stale.
        let mut forged = e.clone();
        forged["detail"]["mail"]["tags"]["vc-tenant"] = json!([other.id]);
        assert_eq!(handle(&app, &forged).await, "stale");
        // The write lands; the retry records the bounce.
        set(
            "SET delivery = :s, messageId = :m",
            vec![(":s", "sent"), (":m", message_id.as_str())],
        )
        .await
        .unwrap();
        assert_eq!(handle(&app, &e).await, "recorded");
        assert_eq!(listed(&app, &t.admin, &id).await["delivery"], "bounced");
    })
}

#[test]
fn an_event_the_store_cannot_take_is_an_error_so_lambda_retries_it() {
    run_faulty(|app, faults, _calls| async move {
        let t = tenant(&app, "team", None).await;
        let id = invite_one(&app, &t.admin, &labelled(BOUNCE, &unique("f"))).await;
        let e = events(&app)
            .await
            .into_iter()
            .find(|e| e["detail"]["mail"]["tags"]["vc-subject"][0] == id.as_str())
            .unwrap();
        faults.set(
            vec![harness::proxy::FaultRule::new(
                "dynamodb.UpdateItem",
                harness::proxy::Fault::ServerError,
                1.0,
            )],
            7,
        );
        assert!(mail_events_fn::handle(&app.mail_events, &e).await.is_err());
        faults.clear();
        assert_eq!(listed(&app, &t.admin, &id).await["delivery"], "sent");
        // Lambda's retry a minute later.
        assert_eq!(handle(&app, &e).await, "recorded");
        assert_eq!(listed(&app, &t.admin, &id).await["delivery"], "bounced");
    })
}
