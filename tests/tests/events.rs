//! The directory's events (issue 29; docs/events/README.md): what a consumer of the stack's
//! bus receives for a journey, through the audit stream, the event source mapping (as
//! `harness::events::Poller` plays it) and the real `publish-events` handler, with EventBridge
//! and SQS in the emulator; redelivery; and refused entries, retried or dead-lettered.

mod common;

use common::*;
use harness::events::{received, validate};
use harness::proxy::{Fault, FaultRule};
use serde_json::{json, Value};

fn detail(e: &Value) -> &Value {
    &e["detail"]
}

/// The company's published audit entries' ids by time, then id (the log's own order; entries
/// made at one instant of the test's clock share their time).
async fn audit_ids(app: &harness::App, admin: &str) -> Vec<String> {
    let r = app.get(admin, "/audit?limit=100").await;
    assert_eq!(r.status, 200);
    let mut ids: Vec<(String, String)> = r.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["action"].as_str().unwrap().ends_with(".exported"))
        .map(|e| {
            (
                e["at"].as_str().unwrap().to_string(),
                e["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

#[test]
fn a_journey_reaches_the_bus_as_exactly_its_events_in_order_each_valid() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", Some("north")).await;
        let ok = |r: harness::app::Reply| assert!(r.status < 300, "{}", r.status);
        let admin = Some(t.admin.as_str());
        // A refused request changes nothing, so publishes nothing.
        let me = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let refused = app
            .request(
                "POST",
                &format!("/users/{me}/suspend"),
                Some(&m.token),
                None,
            )
            .await;
        assert_eq!(refused.status, 403);
        ok(app
            .request(
                "PUT",
                &format!("/users/{}/role", m.id),
                admin,
                Some(json!({"role": "supervisor"})),
            )
            .await);
        ok(app
            .request("POST", &format!("/users/{}/suspend", m.id), admin, None)
            .await);
        ok(app.delete_user(&t.admin, &m.id).await);

        let polled = poller.drain(&app.publish, 5).await;
        assert_eq!(polled.partial, 0, "{polled:?}");
        let got = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;

        // The envelope a consumer's rule matches on.
        for e in &got {
            assert_eq!(e["source"], "veloconnect.directory");
            assert_eq!(e["detail-type"], detail(e)["type"]);
            assert_eq!(e["account"], "123456789012", "{e}");
            assert_eq!(detail(e)["tenantId"], t.id.as_str());
        }
        // Exactly the company's changes, once each, in commit order, numbered without a gap.
        let ids: Vec<(&str, &str)> = got
            .iter()
            .map(|e| {
                let d = detail(e);
                (d["occurredAt"].as_str().unwrap(), d["id"].as_str().unwrap())
            })
            .collect();
        assert!(ids.windows(2).all(|w| w[0].0 <= w[1].0), "commit order");
        let mut ids: Vec<&str> = ids.into_iter().map(|(_, id)| id).collect();
        ids.sort();
        let mut entries = audit_ids(&app, &t.admin).await;
        entries.sort();
        assert_eq!(
            ids, entries,
            "one event per entry, none for the refused request"
        );
        let seqs: Vec<u64> = got
            .iter()
            .map(|e| detail(e)["sequence"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=got.len() as u64).collect::<Vec<_>>());

        // The person's own story, from invite to deletion.
        let theirs: Vec<&Value> = got
            .iter()
            .map(detail)
            .filter(|d| d["subject"]["email"] == m.email.as_str())
            .collect();
        let types: Vec<&str> = theirs.iter().map(|d| d["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "invite.created",
                "invite.accepted",
                "user.roleChanged",
                "user.suspended",
                "user.deleted"
            ]
        );
        let accepted = theirs[1];
        assert_eq!(
            accepted["user"]["id"],
            m.id.as_str(),
            "whom the invite became"
        );
        assert_eq!(accepted["actor"]["kind"], "user");
        assert_eq!(
            theirs[2]["changes"],
            json!({"role": {"before": "agent", "after": "supervisor"}})
        );
        for d in &theirs[2..] {
            assert_eq!(d["subject"]["id"], m.id.as_str());
        }
        assert_eq!(
            theirs[3]["reassign"],
            json!({"userId": m.id, "name": "agent person", "team": "north"})
        );
        assert_eq!(theirs[4]["reassign"]["userId"], m.id.as_str());

        // Nothing secret travels: no token, no hash, no password.
        let text = serde_json::to_string(&got).unwrap().to_lowercase();
        for word in ["token", "hash", "password\""] {
            assert!(!text.contains(word), "{word} in an event");
        }
        let report = validate(&got).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report.contains(&format!("{} events valid", got.len())),
            "{report}"
        );

        // Nothing refused, nothing unreadable.
        assert!(
            received(&app.stack.aws_endpoint, &app.stack.events_dead_letter_url)
                .await
                .is_empty()
        );
        // Nothing new: a poll publishes nothing.
        let again = poller.drain(&app.publish, 2).await;
        assert_eq!(again.records, 0);
        assert!(
            received(&app.stack.aws_endpoint, &app.stack.events_queue_url)
                .await
                .is_empty()
        );
    });
}

#[test]
fn a_batch_handed_over_twice_publishes_the_same_ids_again() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        member(&app, &t.admin, "agent", None).await;
        let batch = json!({ "Records": poller.peek().await });
        let now = std::time::SystemTime::now();
        let first = publish_events_fn::handle(&app.publish, &batch, now).await;
        let second = publish_events_fn::handle(&app.publish, &batch, now).await;
        assert_eq!(first, second);
        assert_eq!(first.answer(), json!({"batchItemFailures": []}));
        let got = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        let (a, b) = got.split_at(got.len() / 2);
        assert!(!a.is_empty());
        // The same documents, ids and numbers (a consumer drops the second by `id`); only
        // the envelope's id is EventBridge's own, new on every `PutEvents`.
        assert_eq!(
            a.iter().map(detail).collect::<Vec<_>>(),
            b.iter().map(detail).collect::<Vec<_>>(),
        );
        assert_ne!(a[0]["id"], b[0]["id"]);
    });
}

#[test]
fn a_refused_event_is_retried_then_kept_whole_in_the_dead_letter_queue_never_renamed() {
    run_faulty(|app, faults, _calls| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let quiet = member(&app, &t.admin, "agent", None).await;
        poller.drain(&app.publish, 3).await;
        received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;

        // Refused once: the handler's second try takes it.
        let marked = unique("Marked");
        let body = json!({"email": email("m"), "name": marked, "role": "agent"});
        assert_eq!(invite(&app, &t.admin, body).await.status, 201);
        let mut once = FaultRule::new("events.PutEvents", Fault::RefuseEntries, 1.0);
        once.times = Some(1);
        once.marker = Some(marked.clone());
        faults.set(vec![once], 1);
        let p = poller.drain(&app.publish, 3).await;
        assert_eq!(p.partial, 0);
        let got = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        assert_eq!(got.len(), 1);
        assert_eq!(detail(&got[0])["subject"]["name"], marked.as_str());

        // Refused every time while young: the batch is sent again from its record on every
        // poll. What went out in the same call after it goes again each time, same id.
        let stubborn = unique("Stubborn");
        let mut always = FaultRule::new("events.PutEvents", Fault::RefuseEntries, 1.0);
        always.marker = Some(stubborn.clone());
        faults.set(vec![always.clone()], 2);
        let body = json!({"email": email("s"), "name": stubborn, "role": "agent"});
        assert_eq!(invite(&app, &t.admin, body).await.status, 201);
        let after = app
            .request(
                "POST",
                &format!("/users/{}/suspend", quiet.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(after.status, 200);
        let p = poller.drain(&app.publish, 3).await;
        assert_eq!(p.partial, 3, "sent again on every poll: {p:?}");
        assert_eq!(p.given_up, 0);
        let got = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        assert_eq!(got.len(), 3);
        for e in &got {
            assert_eq!(detail(e), detail(&got[0]));
            assert_eq!(detail(e)["type"], "user.suspended");
        }

        // Past the retry window: kept whole in the dead-letter queue, and the rest goes on.
        let mut publish = app.publish.clone();
        publish.retry_window = std::time::Duration::ZERO;
        let p = poller.drain(&publish, 3).await;
        assert_eq!(p.partial, 0, "{p:?}");
        let dead = received(&app.stack.aws_endpoint, &app.stack.events_dead_letter_url).await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0]["event"]["subject"]["name"], stubborn.as_str());
        assert!(dead[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("InternalFailure"));
        let got = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        let types: Vec<&str> = got
            .iter()
            .map(|e| detail(e)["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["user.suspended"]);
        // Nothing lost, nothing renamed: the dead letter and the published one are the
        // entries' own ids, numbered in commit order.
        let dead_seq = dead[0]["event"]["sequence"].as_u64().unwrap();
        assert_eq!(detail(&got[0])["sequence"].as_u64().unwrap(), dead_seq + 1);
        let ids = audit_ids(&app, &t.admin).await;
        assert_eq!(ids[ids.len() - 2], dead[0]["event"]["id"].as_str().unwrap());
        assert_eq!(ids[ids.len() - 1], detail(&got[0])["id"].as_str().unwrap());
        assert!(validate(&[dead[0]["event"].clone()]).is_ok());
    });
}

/// An integration token made by `admin` through the API: (its id, its text).
async fn integration(app: &harness::App, admin: &str, name: &str) -> (String, String) {
    let made = app
        .request(
            "POST",
            "/integrations",
            Some(admin),
            Some(json!({"name": name, "scopes": ["events:read"]})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let v = made.json();
    assert!(v.get("tokenHash").is_none());
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// Every event of the company after `after`, read with `token` in pages of `limit`: the
/// events in order, and the `next` the last (empty) page answered.
async fn read_all(
    app: &harness::App,
    token: &str,
    after: &str,
    limit: usize,
) -> (Vec<Value>, String) {
    let mut after = after.to_string();
    let mut out = Vec::new();
    loop {
        let r = app
            .get(token, &format!("/events?after={after}&limit={limit}"))
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let page = r.json();
        let events = page["events"].as_array().unwrap().clone();
        let next = page["next"].as_str().unwrap().to_string();
        if events.is_empty() {
            assert_eq!(next, after, "nothing new: the same cursor");
            return (out, next);
        }
        assert!(events.len() <= limit);
        out.extend(events);
        after = next;
    }
}

#[test]
fn the_events_api_reads_a_journey_with_a_token_from_any_cursor_and_refuses_it_once_revoked() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let (token_id, token) = integration(&app, &t.admin, "Warehouse sync").await;
        let m = member(&app, &t.admin, "agent", Some("north")).await;
        let admin = Some(t.admin.as_str());
        let r = app
            .request(
                "PUT",
                &format!("/users/{}/role", m.id),
                admin,
                Some(json!({"role": "supervisor"})),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = app
            .request("POST", &format!("/users/{}/suspend", m.id), admin, None)
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(app.delete_user(&t.admin, &m.id).await.status, 200);
        let polled = poller.drain(&app.publish, 5).await;
        assert_eq!(polled.partial, 0);
        let pushed: Vec<Value> = received(&app.stack.aws_endpoint, &app.stack.events_queue_url)
            .await
            .iter()
            .map(|e| detail(e).clone())
            .collect();

        // The same documents as the bus carried, in sequence order, in pages, without a gap
        // or a repeat; and from any cursor on, exactly the rest.
        let (read, last) = read_all(&app, &token, "0", 3).await;
        assert_eq!(read, pushed, "the same events as pushed");
        assert_eq!(last, read.len().to_string());
        validate(&read).unwrap_or_else(|e| panic!("{e}"));
        let seqs: Vec<u64> = read
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=read.len() as u64).collect::<Vec<_>>());
        let (rest, _) = read_all(&app, &token, "4", 2).await;
        assert_eq!(rest, read[4..].to_vec(), "resumed mid-way");
        // Only some types; the cursor still moves past the rest.
        let r = app
            .get(&token, "/events?types=user.suspended,user.deleted")
            .await
            .json();
        let types: Vec<&str> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["user.suspended", "user.deleted"]);
        assert_eq!(r["next"], last.as_str());
        // An admin reads the same; an agent may not.
        let (by_admin, _) = read_all(&app, &t.admin, "0", 100).await;
        assert_eq!(by_admin, read);
        let agent = member(&app, &t.admin, "agent", None).await;
        assert_problem(&app.get(&agent.token, "/events").await, 403, "forbidden");
        // Bad queries are named.
        let bad = app
            .get(&token, "/events?after=x&types=user.hacked,users.exported")
            .await;
        assert_eq!(bad.status, 400);
        let bad = bad.json();
        let fields: Vec<&str> = bad["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["query.after", "query.types", "query.types"]);

        // The token is for its route only: never a user's.
        for path in ["/me", "/users", "/audit", "/integrations"] {
            assert_eq!(app.get(&token, path).await.status, 401, "{path}");
        }
        // Another company's token reads only its own company.
        let other = tenant(&app, "team", None).await;
        let (_, theirs) = integration(&app, &other.admin, "Theirs").await;
        poller.drain(&app.publish, 3).await;
        let (their_events, _) = read_all(&app, &theirs, "0", 100).await;
        assert!(!their_events.is_empty());
        assert!(their_events
            .iter()
            .all(|e| e["tenantId"] == other.id.as_str()));

        // Listed with its use, never its secret; revoked, refused on its next request.
        let list = app.get(&t.admin, "/integrations").await.json();
        let row = &list["integrations"][0];
        assert_eq!(row["id"], token_id.as_str());
        assert_eq!(row["status"], "active");
        assert!(row["lastUsedAt"].is_string(), "{row}");
        assert!(
            !list.to_string().contains(&token[3..]),
            "the secret is never shown again"
        );
        let gone = app
            .request("DELETE", &format!("/integrations/{token_id}"), admin, None)
            .await;
        assert_eq!(gone.status, 200);
        assert_eq!(gone.json()["status"], "revoked");
        assert_problem(&app.get(&token, "/events").await, 401, "unauthorized");
        let again = app
            .request("DELETE", &format!("/integrations/{token_id}"), admin, None)
            .await;
        assert_eq!(
            (again.status, again.json()["revokedAt"].clone()),
            (200, gone.json()["revokedAt"].clone())
        );
        // Another company's admin cannot see or revoke it.
        let foreign = app
            .request(
                "DELETE",
                &format!("/integrations/{token_id}"),
                Some(&other.admin),
                None,
            )
            .await;
        assert_problem(&foreign, 404, "not-found");
        // Made and revoked are audited and published, and nothing secret travels.
        poller.drain(&app.publish, 3).await;
        let (mine, _) = read_all(&app, &t.admin, &last, 100).await;
        let types: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert!(types.contains(&"integration.revoked"), "{types:?}");
        let first = read
            .iter()
            .find(|e| e["type"] == "integration.created")
            .unwrap();
        assert_eq!(first["subject"]["id"], token_id.as_str());
        let everything =
            serde_json::to_string(&mine).unwrap() + &serde_json::to_string(&read).unwrap();
        assert!(!everything.contains(&token[3..]) && !everything.contains("argon2"));
        validate(&mine).unwrap_or_else(|e| panic!("{e}"));
        // A token that is not one of ours, or garbled.
        for junk in [
            "vc_nope",
            &format!("{}x", &token[..token.len() - 1]),
            &token.replace("vc_", "vc_0"),
        ] {
            assert_problem(&app.get(junk, "/events").await, 401, "unauthorized");
        }
    });
}

/// The emulator's SQS keeps its messages as `Message`s, as SES keeps its mail: with the events'
/// queues full, SES's mail is still read each once (a shared count once put the mailbox's place
/// past the mail it had not read, and bounces never showed).
#[test]
fn the_mailbox_reads_every_email_while_the_events_queues_fill() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        for i in 0..3 {
            member(&app, &t.admin, "agent", Some(&format!("t{i}"))).await;
        }
        app.mailbox.publish(&app).await;
        // Far more queue messages than emails, never taken off the queue.
        poller.drain(&app.publish, 3).await;
        // Two rounds: a place taken from the queues' count shows on the round after.
        for round in 0..2 {
            let addr = format!("bounce+{}@simulator.amazonses.com", unique("q"));
            let body = json!({"email": addr, "name": "Nobody", "role": "agent"});
            let r = invite(&app, &t.admin, body).await;
            assert_eq!(r.status, 201);
            assert_eq!(
                app.mailbox.publish(&app).await,
                1,
                "round {round}: the new email"
            );
            poller.drain(&app.publish, 3).await;
        }
        let addr = format!("bounce+{}@simulator.amazonses.com", unique("q"));
        let r = invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Nobody", "role": "agent"}),
        )
        .await;
        assert_eq!(r.status, 201);
        let id = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(app.mailbox.publish(&app).await, 1, "exactly the new email");
        let listed = app.get(&t.admin, "/invites").await.json();
        let row = listed["invites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["delivery"], "bounced", "{row}");
    });
}

/// A log line per batch with its counts; never an event, a name or an address (rule 20).
#[test]
fn publish_events_logs_counts_and_never_an_event() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let name = unique("Private Person");
        let addr = email("private");
        let body = json!({"email": addr, "name": name, "role": "agent"});
        assert_eq!(invite(&app, &t.admin, body).await.status, 201);
        let batch = json!({ "Records": poller.peek().await });
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let done =
            publish_events_fn::handle(&app.publish, &batch, std::time::SystemTime::now()).await;
        drop(guard);
        assert_eq!(done.published, 4, "{done:?}");
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(
            text.lines()
                .find(|l| l.contains("batch handled"))
                .unwrap_or_else(|| panic!("{text}")),
        )
        .unwrap();
        assert_eq!(line["fields"]["published"], 4);
        assert_eq!(line["fields"]["logged"], 4);
        for secret in [name.as_str(), addr.as_str(), "invite.created", &t.id] {
            assert!(!text.contains(secret), "{secret} in the log: {text}");
        }
    });
}

/// A bus that fails every call, or a log that takes nothing: retried while young, then every
/// event kept whole in the dead-letter queue; an event the log refuses still reaches the bus.
#[test]
fn failing_calls_are_retried_while_young_then_every_event_is_kept_whole() {
    run_faulty(|app, faults, _calls| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        poller.drain(&app.publish, 3).await;
        received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        let mut old = app.publish.clone();
        old.retry_window = std::time::Duration::ZERO;

        // The bus answers every call with a 500.
        let body = json!({"email": email("a"), "name": "Bus Down", "role": "agent"});
        assert_eq!(invite(&app, &t.admin, body).await.status, 201);
        faults.set(
            vec![FaultRule::new("events.PutEvents", Fault::ServerError, 1.0)],
            3,
        );
        let young = poller.drain(&app.publish, 1).await;
        assert_eq!(young.partial, 1, "young: sent again from its record");
        let p = poller.drain(&old, 1).await;
        assert_eq!(p.partial, 0, "{p:?}");
        let dead = received(&app.stack.aws_endpoint, &app.stack.events_dead_letter_url).await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0]["event"]["subject"]["name"], "Bus Down");
        assert!(dead[0]["error"].as_str().unwrap().starts_with("PutEvents"));
        faults.clear();

        // The log takes nothing: kept whole, marked, and still on the bus.
        let body = json!({"email": email("b"), "name": "Log Down", "role": "agent"});
        assert_eq!(invite(&app, &t.admin, body).await.status, 201);
        faults.set(
            vec![FaultRule::new(
                "dynamodb.BatchWriteItem",
                Fault::ServerError,
                1.0,
            )],
            4,
        );
        let young = poller.drain(&app.publish, 1).await;
        assert_eq!(young.partial, 1);
        assert!(
            received(&app.stack.aws_endpoint, &app.stack.events_queue_url)
                .await
                .is_empty(),
            "nothing past a record the log could not take"
        );
        let p = poller.drain(&old, 1).await;
        assert_eq!(p.partial, 0, "{p:?}");
        faults.clear();
        let dead = received(&app.stack.aws_endpoint, &app.stack.events_dead_letter_url).await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(
            (
                dead[0]["log"].clone(),
                dead[0]["event"]["subject"]["name"].clone()
            ),
            (json!(true), json!("Log Down"))
        );
        let bus = received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
        assert_eq!(bus.len(), 1);
        assert_eq!(
            detail(&bus[0])["id"],
            dead[0]["event"]["id"],
            "the same event, one id"
        );
    });
}
