//! docs/rules.md rules 1, 2, 3, 4 and 7 end to end: seats, unique emails, audit in the same
//! transaction, hashed tokens, tenant isolation.

mod common;

use common::*;
use serde_json::{json, Value};

fn rows(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"email": email(&format!("row{i}")), "name": format!("Row {i}"), "role": "agent"}))
        .collect()
}

#[test]
fn two_admins_racing_for_the_last_seat_get_exactly_one_success() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await; // 5 seats, the admin holds one
        let r = invite(&app, &t.admin, json!({"invites": rows(3)})).await;
        assert_eq!(r.status, 201);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 4);

        let racers: Vec<_> = (0..8)
            .map(|i| {
                let app = app.clone();
                let admin = t.admin.clone();
                tokio::spawn(async move {
                    invite(
                        &app,
                        &admin,
                        json!({"email": email(&format!("race{i}")), "name": "Racer", "role": "agent"}),
                    )
                    .await
                })
            })
            .collect();
        let mut won = 0;
        for h in racers {
            let r = h.await.unwrap();
            match r.status {
                201 => won += 1,
                _ => {
                    assert_problem(&r, 409, "seat-limit");
                    assert_eq!(r.json()["pricingUrl"], app.stack.pricing_url.as_str());
                }
            }
        }
        assert_eq!(won, 1, "exactly one racer takes the last seat");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 5);
    });
}

#[test]
fn a_batch_past_the_limit_says_how_many_were_asked_and_free_and_writes_nothing() {
    run(|app| async move {
        let t = tenant(&app, "starter", None).await;
        invite(
            &app,
            &t.admin,
            json!({"email": email("one"), "name": "One", "role": "agent"}),
        )
        .await;
        let before = audit(&app, &t.id).await.len();
        let batch = rows(5);
        let r = invite(&app, &t.admin, json!({ "invites": batch })).await;
        assert_problem(&r, 409, "seat-limit");
        let p = r.json();
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("5 requested, 3 free"),
            "{p}"
        );
        assert_eq!(p["requested"], 5);
        assert_eq!(p["free"], 3);
        assert_eq!(p["pricingUrl"], "https://veloconnect.io/pricing");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);
        assert_eq!(
            audit(&app, &t.id).await.len(),
            before,
            "no audit entry without its change"
        );
        for row in &batch {
            let addr = row["email"].as_str().unwrap();
            assert!(
                app.token_from_mail(addr).await.is_none(),
                "no email for {addr}"
            );
        }
        // Exactly the free seats still fit.
        let r = invite(&app, &t.admin, json!({ "invites": &batch[..3] })).await;
        let r = r.expect(201);
        assert_eq!(r.json()["invites"].as_array().unwrap().len(), 3);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 5);
    });
}

#[test]
fn a_batch_with_bad_rows_names_each_one_and_changes_nothing() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let dup = email("dup");
        let r = invite(
            &app,
            &t.admin,
            json!({"invites": [
                {"email": dup, "name": "Dee", "role": "agent"},
                {"email": "not-an-email", "name": "", "role": "owner"},
                {"email": dup.to_uppercase(), "name": "Dee again", "role": "agent"},
            ]}),
        )
        .await;
        assert_problem(&r, 400, "invalid-request");
        let fields: Vec<String> = r.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        for f in [
            "invites/1/email",
            "invites/1/name",
            "invites/1/role",
            "invites/2/email",
        ] {
            assert!(fields.contains(&f.to_string()), "{f} not in {fields:?}");
        }
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);

        // A time zone the database doesn't know is named too, and nothing is sent or stored.
        let r = invite(
            &app,
            &t.admin,
            json!({"timeZone": "Mars/Olympus", "invites": [
                {"email": dup, "name": "Dee", "role": "agent"},
            ]}),
        )
        .await;
        assert_problem(&r, 400, "invalid-request");
        assert_eq!(r.json()["errors"][0]["field"], "timeZone");
        assert!(harness::moto::last_mail_to(&app.stack.aws_endpoint, &dup)
            .await
            .is_none());
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);
    });
}

#[test]
fn an_email_is_unique_across_tenants_and_regardless_of_case_and_spaces() {
    run(|app| async move {
        let a = tenant(&app, "team", None).await;
        let b = tenant(&app, "team", None).await;
        let addr = email("jane");
        let r = invite(
            &app,
            &a.admin,
            json!({"email": addr, "name": "Jane", "role": "agent"}),
        )
        .await;
        assert_eq!(r.status, 201);

        let shouty = format!("  {}  ", addr.to_uppercase());
        let r = invite(
            &app,
            &b.admin,
            json!({"email": shouty, "name": "Jane", "role": "agent"}),
        )
        .await;
        assert_problem(&r, 409, "email-taken");
        assert_eq!(r.json()["errors"][0]["field"], "email");
        // Nor may anyone invite an existing user's address (A's admin).
        let r = invite(
            &app,
            &b.admin,
            json!({"email": a.admin_email, "name": "A", "role": "agent"}),
        )
        .await;
        assert_problem(&r, 409, "email-taken");

        // In a batch, the taken row is named and the other rows are not written.
        let fresh = email("fresh");
        let r = invite(
            &app,
            &b.admin,
            json!({"invites": [
                {"email": fresh, "name": "Fresh", "role": "agent"},
                {"email": addr, "name": "Jane", "role": "agent"},
            ]}),
        )
        .await;
        assert_problem(&r, 409, "email-taken");
        assert_eq!(r.json()["errors"][0]["field"], "invites/1/email");
        assert!(app.token_from_mail(&fresh).await.is_none());
        assert_eq!(assert_seats_consistent(&app, &b.id).await, 1);
        assert_eq!(assert_seats_consistent(&app, &a.id).await, 2);
    });
}

#[test]
fn every_change_writes_its_audit_entry_with_actor_target_and_request_id() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", Some("Support")).await;
        let entries = audit(&app, &t.id).await;
        let mut first_two = actions(&entries)[..2].to_vec();
        first_two.sort();
        assert_eq!(
            first_two,
            vec!["invite.created", "tenant.created"],
            "one transaction, one time"
        );
        assert_eq!(
            actions(&entries)[2..],
            vec!["invite.accepted", "invite.created", "invite.accepted"]
        );
        let created = &entries[3];
        assert_eq!(s(created, "targetKind"), "invite");
        assert!(!s(created, "actorId").is_empty());
        assert_eq!(s(created, "actorEmail"), t.admin_email);
        assert!(!s(created, "requestId").is_empty());
        let after: Value = serde_json::from_str(s(created, "after")).unwrap();
        assert_eq!(after["email"], m.email.as_str());
        assert_eq!(after["role"], "agent");
        let accepted = &entries[4];
        assert_eq!(s(accepted, "actorId"), m.id);
        let before: Value = serde_json::from_str(s(accepted, "before")).unwrap();
        assert_eq!(before["status"], "pending");
        let after: Value = serde_json::from_str(s(accepted, "after")).unwrap();
        assert_eq!(after["status"], "accepted");
        // Never a token or its hash in the log.
        for e in &entries {
            for v in e.values() {
                let text = v.as_s().map(String::as_str).unwrap_or("");
                assert!(!text.contains("argon2"), "hash in audit: {text}");
            }
        }
    });
}

#[test]
fn an_invite_token_is_stored_only_as_an_argon2id_hash() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let addr = email("hash");
        let r = invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "Hal", "role": "agent"}),
        )
        .await;
        let id = r.json()["id"].as_str().unwrap().to_string();
        let token = app.token_from_mail(&addr).await.unwrap();
        let secret = token.split_once('.').unwrap().1.to_string();
        assert_eq!(secret.len(), 43, "256 bits, base64url");
        let items = partition(&app, &format!("TENANT#{}#INVITE", t.id)).await;
        let item = items.iter().find(|i| s(i, "inviteId") == id).unwrap();
        assert!(s(item, "tokenHash").starts_with("$argon2id$"));
        for v in item.values() {
            assert!(!v.as_s().map(|x| x.contains(&secret)).unwrap_or(false));
        }
        assert!(
            !r.body.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "not in the API response"
        );
    });
}

#[test]
fn another_tenants_ids_answer_404_exactly_like_missing_ones() {
    run(|app| async move {
        let a = tenant(&app, "team", None).await;
        let b = tenant(&app, "team", None).await;
        let a_agent = member(&app, &a.admin, "agent", None).await;

        let foreign = app
            .request(
                "GET",
                &format!("/users/{}", a_agent.id),
                Some(&b.admin),
                None,
            )
            .await;
        let missing = app
            .request(
                "GET",
                &format!("/users/{}", "f".repeat(32)),
                Some(&b.admin),
                None,
            )
            .await;
        assert_problem(&foreign, 404, "not-found");
        assert_eq!(foreign.body, missing.body);
        let junk = app.get(&b.admin, "/users/..%2F..%2Fetc").await;
        assert_problem(&junk, 404, "not-found");

        let listed = app.get(&b.admin, "/users?limit=1000").await.json();
        let ids: Vec<&str> = listed["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "only B's admin: {ids:?}");
        assert!(!ids.contains(&a_agent.id.as_str()));

        // A cursor from tenant A's list can't page through A's users from B.
        for i in 0..2 {
            invite(
                &app,
                &a.admin,
                json!({"email": email(&format!("p{i}")), "name": format!("P{i}"), "role": "agent"}),
            )
            .await;
        }
        let page = app.get(&a.admin, "/invites?limit=1").await.json();
        let cursor = page["nextCursor"].as_str().unwrap().to_string();
        let cross = app
            .get(&b.admin, &format!("/invites?limit=1&cursor={cursor}"))
            .await
            .json();
        assert!(cross["invites"].as_array().unwrap().is_empty(), "{cross}");
    });
}

#[test]
fn list_pages_follow_the_cursor_without_repeats_and_refuse_forged_cursors() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let batch = rows(7);
        assert_eq!(
            invite(&app, &t.admin, json!({ "invites": batch }))
                .await
                .status,
            201
        );
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let q = match &cursor {
                Some(c) => format!("/invites?limit=3&cursor={c}"),
                None => "/invites?limit=3".into(),
            };
            let page = app.request("GET", &q, Some(&t.admin), None).await.json();
            let items = page["invites"].as_array().unwrap();
            assert!(items.len() <= 3);
            seen.extend(
                items
                    .iter()
                    .map(|i| i["email"].as_str().unwrap().to_string()),
            );
            cursor = page["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 7, "{seen:?}");
        assert_eq!(unique.len(), 7);

        for bad in ["nope", "eyJ9", "eyJwIjoiVEVOQU5UI3giLCJzIjoieCJ9"] {
            let r = app.get(&t.admin, &format!("/users?cursor={bad}")).await;
            assert_problem(&r, 400, "invalid-request");
            assert_eq!(r.json()["errors"][0]["field"], "cursor");
        }
    });
}

#[test]
fn a_failed_email_keeps_the_invite_marked_failed_and_says_so() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        // A second gateway whose sender identity was never verified: SES refuses to send.
        let mut broken = harness::App::new(app.stack.clone(), app.sdk.clone()).await;
        broken.invite.invites.mailer = shared::mail::Mailer::new(
            aws_sdk_sesv2::Client::new(&app.sdk),
            "unverified@elsewhere.test".into(),
        );
        let addr = email("bounce");
        let r = broken
            .request(
                "POST",
                "/invites",
                Some(&t.admin),
                Some(json!({"email": addr, "name": "Bo", "role": "agent"})),
            )
            .await;
        let r = r.expect(201);
        assert_eq!(r.json()["delivery"], "failed");
        let listed = app.get(&t.admin, "/invites").await.json();
        assert_eq!(listed["invites"][0]["email"], addr.as_str());
        assert_eq!(listed["invites"][0]["delivery"], "failed");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 2);

        // A batch records every row's outcome (one write for all of them): failed here, sent
        // through the working gateway.
        let r = broken
            .request(
                "POST",
                "/invites",
                Some(&t.admin),
                Some(json!({"invites": rows(3)})),
            )
            .await;
        let r = r.expect(201);
        let failed: Vec<String> = r.json()["invites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert_eq!(i["delivery"], "failed", "{i}");
                i["id"].as_str().unwrap().to_string()
            })
            .collect();
        let r = invite(&app, &t.admin, json!({"invites": rows(2)})).await;
        assert_eq!(r.status, 201);
        let sent: Vec<String> = r.json()["invites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        let listed = app.get(&t.admin, "/invites?limit=50").await.json();
        let stored = |id: &str| -> String {
            listed["invites"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id)
                .map(|i| i["delivery"].as_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("{id} not listed"))
        };
        for id in &failed {
            assert_eq!(stored(id), "failed");
        }
        for id in &sent {
            assert_eq!(stored(id), "sent");
        }
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 7);
    });
}

#[test]
fn a_tier_change_is_audited_and_cannot_drop_below_the_seats_in_use() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        assert_eq!(
            invite(&app, &t.admin, json!({"invites": rows(6)}))
                .await
                .status,
            201
        );
        let r = app
            .invoke_tenant_admin(
                json!({"action": "setTier", "tenantId": t.id, "tier": "starter"}),
                "rid",
            )
            .await;
        assert_eq!(r.unwrap_err().status(), 409, "7 seats used, starter has 5");
        let r = app.invoke_tenant_admin(
            json!({"action": "setTier", "tenantId": t.id, "tier": "enterprise", "seatLimit": 7}),
            "rid",
        )
        .await
        .unwrap();
        assert_eq!(r["tenant"]["seatLimit"], 7);
        assert_eq!(r["tenant"]["seatsFree"], 0);
        let last = audit(&app, &t.id).await.pop().unwrap();
        assert_eq!(s(&last, "action"), "tenant.tierChanged");
        assert_eq!(s(&last, "actorId"), "platform");
        let r = invite(
            &app,
            &t.admin,
            json!({"email": email("x"), "name": "X", "role": "agent"}),
        )
        .await;
        assert_problem(&r, 409, "seat-limit");
        let bad = app
            .invoke_tenant_admin(
                json!({"action": "setTier", "tenantId": t.id, "tier": "gold"}),
                "rid",
            )
            .await;
        assert_eq!(bad.unwrap_err().status(), 400);
    });
}

/// Rule 7 and the role table, as one rule: for every caller and filter, `GET /users` (the
/// store's query expression) lists exactly the users that `Scope::admits` and
/// `UserFilter::matches` accept, so the query and the domain's definition cannot drift apart.
#[test]
fn the_lists_query_shows_exactly_whom_the_scope_and_the_filter_admit() {
    use shared::domain::{Role, UserFilter, UserStatus};
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let other = tenant(&app, "team", None).await;
        let sales_sup = member(&app, &t.admin, "supervisor", Some("Sales")).await;
        let lone_sup = member(&app, &t.admin, "supervisor", None).await;
        let sales_agent = member(&app, &t.admin, "agent", Some("Sales")).await;
        let support_agent = member(&app, &t.admin, "agent", Some("Support")).await;
        let away = member(&app, &t.admin, "agent", Some("Sales")).await;
        let gone = member(&app, &t.admin, "agent", Some("Support")).await;
        member(&app, &other.admin, "agent", Some("Sales")).await;
        let r = app
            .request(
                "POST",
                &format!("/users/{}/suspend", away.id),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        let r = app
            .request(
                "DELETE",
                &format!("/users/{}", gone.id),
                Some(&t.admin),
                None,
            )
            .await;
        r.expect(200);
        let admin_id = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Presence and availability: the callers below are online (this request records it,
        // and theirs in the loop then write nothing more within the grain); one is away.
        for m in [&sales_sup, &lone_sup, &sales_agent] {
            app.get(&m.token, "/me").await.expect(200);
        }
        app.request(
            "PUT",
            &format!("/users/{}/availability", support_agent.id),
            Some(&t.admin),
            Some(serde_json::json!({"availability": "away"})),
        )
        .await
        .expect(200);
        let since = time::OffsetDateTime::now_utc() - shared::domain::user::ONLINE_WINDOW;
        let mut everyone = Vec::new();
        for id in [
            &admin_id,
            &sales_sup.id,
            &lone_sup.id,
            &sales_agent.id,
            &support_agent.id,
            &away.id,
            &gone.id,
        ] {
            everyone.push(app.store.user(&uid(id)).await.unwrap().unwrap());
        }
        let filters: Vec<(&str, UserFilter)> = vec![
            ("", UserFilter::default()),
            (
                "status=active",
                UserFilter {
                    statuses: vec![UserStatus::Active],
                    ..Default::default()
                },
            ),
            (
                "status=suspended,deleted",
                UserFilter {
                    statuses: vec![UserStatus::Suspended, UserStatus::Deleted],
                    ..Default::default()
                },
            ),
            (
                "role=agent",
                UserFilter {
                    role: Some(Role::Agent),
                    ..Default::default()
                },
            ),
            (
                "team=Sales",
                UserFilter {
                    team: Some("Sales".into()),
                    ..Default::default()
                },
            ),
            (
                "q=supervisor",
                UserFilter {
                    search: Some("supervisor".into()),
                    ..Default::default()
                },
            ),
            (
                "presence=online",
                UserFilter {
                    presence: Some(shared::domain::user::Presence {
                        online: true,
                        since,
                    }),
                    ..Default::default()
                },
            ),
            (
                "presence=offline&sort=lastActive",
                UserFilter {
                    presence: Some(shared::domain::user::Presence {
                        online: false,
                        since,
                    }),
                    ..Default::default()
                },
            ),
            (
                "availability=away",
                UserFilter {
                    availability: Some(shared::domain::user::Availability::Away),
                    ..Default::default()
                },
            ),
            (
                "availability=available&sort=lastActive",
                UserFilter {
                    availability: Some(shared::domain::user::Availability::Available),
                    ..Default::default()
                },
            ),
            (
                "role=agent&team=Support&status=active,deleted",
                UserFilter {
                    statuses: vec![UserStatus::Active, UserStatus::Deleted],
                    role: Some(Role::Agent),
                    team: Some("Support".into()),
                    ..Default::default()
                },
            ),
        ];
        let callers = [
            (&t.admin, &admin_id),
            (&sales_sup.token, &sales_sup.id),
            (&lone_sup.token, &lone_sup.id),
            (&sales_agent.token, &sales_agent.id),
        ];
        let mut nonempty = 0;
        for (token, caller_id) in callers {
            let caller = everyone
                .iter()
                .find(|u| u.id == caller_id.as_str())
                .unwrap()
                .clone();
            for (query, filter) in &filters {
                let listed = app.get(token, &format!("/users?{query}")).await;
                assert_eq!(
                    listed.status,
                    200,
                    "{query}: {}",
                    String::from_utf8_lossy(&listed.body)
                );
                let mut got: Vec<String> = listed.json()["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["id"].as_str().unwrap().to_string())
                    .collect();
                let mut want: Vec<String> = everyone
                    .iter()
                    .filter(|u| caller.scope().admits(u) && filter.matches(u))
                    .map(|u| u.id.to_string())
                    .collect();
                got.sort();
                want.sort();
                assert_eq!(got, want, "{:?} listing ?{query}", caller.role);
                nonempty += usize::from(!want.is_empty());
            }
        }
        assert!(nonempty > 10, "the cases list someone: {nonempty}");
    });
}

/// The entry ids and sequence numbers of `pages` of stream records that belong to the company
/// whose audit partition is `pk`.
fn company_records(pages: &[Value], pk: &str, into: &mut Vec<(String, u128)>) {
    for r in pages
        .iter()
        .flat_map(|p| p.as_array().into_iter().flatten())
    {
        let image = &r["dynamodb"]["NewImage"];
        if image["pk"]["S"] == pk {
            let seq = r["dynamodb"]["SequenceNumber"].as_str().unwrap();
            into.push((
                image["entryId"]["S"].as_str().unwrap().to_string(),
                seq.parse().unwrap(),
            ));
        }
    }
}

/// The audit table's stream (rule 3's entries, the outbox the directory's events are to be
/// published from) holds each committed entry once, in commit order, and nothing of a change
/// that was refused: a reader that holds its place in the stream across a cancelled
/// transaction sees neither the cancelled entry nor any gap after it.
#[test]
fn the_audit_stream_holds_each_committed_entry_once_and_nothing_refused() {
    run(|app| async move {
        use harness::moto::aws_json;
        let streams = |target: &str, body: Value| {
            let endpoint = app.stack.aws_endpoint.clone();
            let target = format!("DynamoDBStreams_20120810.{target}");
            async move {
                aws_json(&endpoint, "dynamodb", &target, &body)
                    .await
                    .unwrap()
            }
        };
        let listed = streams("ListStreams", json!({"TableName": app.stack.audit_table})).await;
        let arn = listed["Streams"][0]["StreamArn"]
            .as_str()
            .unwrap()
            .to_string();
        let described = streams("DescribeStream", json!({"StreamArn": arn})).await;
        let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .unwrap()
            .to_string();
        let t = tenant(&app, "team", None).await;
        let agent = member(&app, &t.admin, "agent", None).await;
        let pk = format!("TENANT#{}", t.id);
        // A reader's place in the stream, kept across what follows, as a poller keeps it.
        let mut iterator = streams(
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await["ShardIterator"]
            .as_str()
            .unwrap()
            .to_string();
        let mut seen: Vec<(String, u128)> = Vec::new();
        let read_all = |mut it: String| {
            let streams = &streams;
            async move {
                let mut pages = Vec::new();
                loop {
                    let page = streams("GetRecords", json!({"ShardIterator": it})).await;
                    let empty = page["Records"].as_array().is_none_or(Vec::is_empty);
                    it = page["NextShardIterator"].as_str().unwrap().to_string();
                    pages.push(page["Records"].clone());
                    if empty {
                        return (pages, it);
                    }
                }
            }
        };
        let (pages, next) = read_all(iterator).await;
        company_records(&pages, &pk, &mut seen);
        iterator = next;
        let before = seen.len();
        assert!(
            before >= 3,
            "the company's first entries are in the stream: {seen:?}"
        );

        // Refused inside its transaction (the last admin), then one that commits.
        let me = app.get(&t.admin, "/me").await.json();
        let own = me["id"].as_str().unwrap();
        assert_problem(
            &app.change_role(&t.admin, own, json!({"role": "agent"}))
                .await,
            409,
            "last-admin",
        );
        app.change_role(&t.admin, &agent.id, json!({"role": "supervisor"}))
            .await
            .expect(200);

        let (pages, _) = read_all(iterator).await;
        company_records(&pages, &pk, &mut seen);
        let entries = audit(&app, &t.id).await;
        let logged: std::collections::BTreeSet<String> = entries
            .iter()
            .map(|e| s(e, "entryId").to_string())
            .collect();
        let streamed: Vec<&String> = seen.iter().map(|(id, _)| id).collect();
        assert_eq!(
            streamed.len(),
            logged.len(),
            "one record per entry, no more: {seen:?}"
        );
        assert!(streamed.iter().all(|id| logged.contains(*id)), "{seen:?}");
        assert_eq!(seen.len(), before + 1, "the refused change left nothing");
        assert!(
            seen.windows(2).all(|w| w[0].1 < w[1].1),
            "in the order committed, no number used twice: {seen:?}"
        );
    });
}
