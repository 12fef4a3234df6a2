//! The team view (issue 28): who is online, availability, chat capacity. Rule 16 in
//! docs/rules.md.

mod common;

use common::*;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// Records `who`'s activity as of `minutes_ago` through the store's own touch (what a request
/// does), so a test can place people in time.
async fn seen(app: &harness::App, tenant_id: &str, who: &str, minutes_ago: i64) {
    let at = OffsetDateTime::now_utc() - Duration::minutes(minutes_ago);
    app.store
        .touch_user(&tid(tenant_id), &uid(who), at)
        .await
        .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

/// Online means activity recorded within the last 5 minutes; the list narrows to either side
/// and sorts by last activity (never seen last), across pages, within the caller's scope.
#[test]
fn the_online_switch_and_the_last_active_order_follow_recorded_activity() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Night")).await;
        let a = member(&app, &t.admin, "agent", Some("Night")).await;
        let b = member(&app, &t.admin, "agent", Some("Night")).await;
        let c = member(&app, &t.admin, "agent", Some("Night")).await;
        let outsider = member(&app, &t.admin, "agent", Some("Day")).await;
        // a: 1 min ago (online); b: 30 min ago; c: never; outsider: 2 min ago. The supervisor's
        // own request records them as active now (beside its work: seen by the next one).
        app.get(&sup.token, "/me").await.expect(200);
        seen(&app, &t.id, &a.id, 1).await;
        seen(&app, &t.id, &b.id, 30).await;
        seen(&app, &t.id, &outsider.id, 2).await;

        let online = app
            .get(&sup.token, "/users?presence=online&sort=lastActive")
            .await
            .expect(200)
            .json();
        assert_eq!(
            ids(&online),
            vec![sup.id.clone(), a.id.clone()],
            "newest first, only the supervisor's team and themselves: {online}"
        );
        assert!(online["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["online"] == true));

        let offline = app
            .get(&sup.token, "/users?presence=offline&sort=lastActive")
            .await
            .expect(200)
            .json();
        assert_eq!(
            ids(&offline),
            vec![b.id.clone(), c.id.clone()],
            "30 minutes ago, then never: {offline}"
        );
        assert_eq!(offline["users"][0]["online"], false);
        assert!(offline["users"][1]["lastActiveAt"].is_null());

        // By name, the same narrowing (a filter, not the index's range).
        let by_name = app
            .get(&sup.token, "/users?presence=offline")
            .await
            .expect(200)
            .json();
        let mut got = ids(&by_name);
        got.sort();
        let mut want = vec![b.id.clone(), c.id.clone()];
        want.sort();
        assert_eq!(got, want, "{by_name}");

        // The whole order across pages of one: the admin sees everyone.
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/users?sort=lastActive&limit=1&cursor={c}"),
                None => "/users?sort=lastActive&limit=1".into(),
            };
            let page = app.get(&t.admin, &path).await.expect(200).json();
            walked.extend(ids(&page));
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let pos = |id: &str| walked.iter().position(|x| x == id).unwrap();
        assert_eq!(walked.len(), 6, "{walked:?}");
        assert!(pos(&a.id) < pos(&outsider.id), "1 min before 2 min");
        assert!(pos(&outsider.id) < pos(&b.id), "2 min before 30 min");
        assert_eq!(walked.last().unwrap(), &c.id, "never seen: last");

        // A cursor of the name order is not one of this order.
        let by_name = app.get(&t.admin, "/users?limit=1").await.expect(200).json();
        let foreign = by_name["nextCursor"].as_str().unwrap();
        assert_problem(
            &app.get(
                &t.admin,
                &format!("/users?sort=lastActive&cursor={foreign}"),
            )
            .await,
            400,
            "invalid-request",
        );
        for bad in ["presence=away", "sort=activity", "availability=busy"] {
            assert_problem(
                &app.get(&t.admin, &format!("/users?{bad}")).await,
                400,
                "invalid-request",
            );
        }
    });
}

/// A user sets their own availability (not audited, no version); an admin sets someone else's
/// (audited with exactly what it replaced, even when the user changed it after the admin read
/// it); a versioned change made meanwhile never undoes it; only admins set others'.
#[test]
fn availability_by_the_user_and_by_an_admin_and_who_wins() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let a = member(&app, &t.admin, "agent", Some("Night")).await;
        let other = member(&app, &t.admin, "agent", Some("Night")).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Night")).await;
        let entries = audit(&app, &t.id).await.len();

        let fresh = app.get(&a.token, "/me").await.expect(200).json();
        assert_eq!(fresh["availability"], "available", "the default");
        assert!(fresh["availabilitySetAt"].is_null());

        let me = app
            .request(
                "PUT",
                "/me/availability",
                Some(&a.token),
                Some(json!({"availability": "dnd"})),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(me["availability"], "dnd");
        assert_eq!(me["availabilitySetBy"]["id"], a.id.as_str());
        assert_eq!(me["version"], fresh["version"], "no version moves");
        assert_eq!(
            audit(&app, &t.id).await.len(),
            entries,
            "one's own is not audited"
        );
        assert_eq!(app.get(&a.token, "/me").await.json()["availability"], "dnd");

        // The admin read the user before the user set it; the admin's set still lands (the
        // last wins) and its entry says what it replaced: dnd, not the available it saw.
        let admin_view = app
            .get(&t.admin, &format!("/users/{}", other.id))
            .await
            .json();
        assert_eq!(admin_view["availability"], "available");
        app.request(
            "PUT",
            "/me/availability",
            Some(&other.token),
            Some(json!({"availability": "dnd"})),
        )
        .await
        .expect(200);
        let set = app
            .request(
                "PUT",
                &format!("/users/{}/availability", other.id),
                Some(&t.admin),
                Some(json!({"availability": "away"})),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(set["availability"], "away");
        assert_eq!(set["availabilitySetBy"]["name"], "Ada Admin");
        let log = audit(&app, &t.id).await;
        let entry = log
            .iter()
            .find(|e| s(e, "action") == "user.availabilityChanged")
            .expect("audited");
        let before: Value = serde_json::from_str(s(entry, "before")).unwrap();
        let after: Value = serde_json::from_str(s(entry, "after")).unwrap();
        assert_eq!(before["availability"], "dnd", "what it actually replaced");
        assert_eq!(after["availability"], "away");
        assert_eq!(s(entry, "targetId"), other.id);

        // A role change at the version read before the availability moved neither fails nor
        // undoes it: availability is not part of the version.
        let v = set["version"].as_u64().unwrap();
        app.request(
            "PUT",
            "/me/availability",
            Some(&other.token),
            Some(json!({"availability": "available"})),
        )
        .await
        .expect(200);
        let changed = app
            .change_role(
                &t.admin,
                &other.id,
                json!({"role": "supervisor", "team": "Night", "version": v}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(changed["availability"], "available", "{changed}");
        let stored = app.store.user(&uid(&other.id)).await.unwrap().unwrap();
        assert_eq!(stored.availability.status.as_str(), "available");
        assert_eq!(stored.role.as_str(), "supervisor");

        // The race itself, at the store: a change built from a record read before the user's
        // own set (and their activity) lands after it, and keeps both.
        let read = app.store.user(&uid(&other.id)).await.unwrap().unwrap();
        app.request(
            "PUT",
            "/me/availability",
            Some(&other.token),
            Some(json!({"availability": "away"})),
        )
        .await
        .expect(200);
        seen(&app, &t.id, &other.id, 0).await;
        let after = shared::domain::User {
            version: read.version + 1,
            team: Some("Day".into()),
            ..read.clone()
        };
        let entry = shared::domain::Change::new(
            shared::domain::Actor::system(),
            OffsetDateTime::now_utc(),
            "race",
        )
        .on_user(shared::domain::AuditAction::RoleChanged, &read, &after);
        app.store.change_user(&read, &after, &entry).await.unwrap();
        let stored = app.store.user(&uid(&other.id)).await.unwrap().unwrap();
        assert_eq!(stored.team.as_deref(), Some("Day"), "the change landed");
        assert_eq!(
            stored.availability.status.as_str(),
            "away",
            "and did not undo the set made after its read"
        );
        assert!(stored.last_active_at.is_some(), "nor the activity");
        // Back to the team the checks below expect.
        let v = stored.version;
        app.change_role(
            &t.admin,
            &other.id,
            json!({"role": "supervisor", "team": "Night", "version": v}),
        )
        .await
        .expect(200);
        app.request(
            "PUT",
            "/me/availability",
            Some(&other.token),
            Some(json!({"availability": "available"})),
        )
        .await
        .expect(200);

        // The filter.
        let away = app
            .get(&t.admin, "/users?availability=dnd")
            .await
            .expect(200)
            .json();
        assert_eq!(ids(&away), vec![a.id.clone()]);
        let avail = app
            .get(&t.admin, "/users?availability=available")
            .await
            .expect(200)
            .json();
        assert!(ids(&avail).contains(&other.id), "set back to available");
        assert!(ids(&avail).contains(&sup.id), "never set: available");

        // Only admins set someone else's; a supervisor's own still works.
        for (token, target) in [(&a.token, &other.id), (&sup.token, &a.id)] {
            let r = app
                .request(
                    "PUT",
                    &format!("/users/{target}/availability"),
                    Some(token),
                    Some(json!({"availability": "away"})),
                )
                .await;
            assert_problem(&r, 403, "forbidden");
        }
        assert_eq!(
            app.get(&a.token, "/me").await.json()["availability"],
            "dnd",
            "unchanged by the refusals"
        );
        // Bad input changes nothing.
        for bad in [
            json!({"availability": "busy"}),
            json!({}),
            json!({"availability": "away", "x": 1}),
        ] {
            let r = app
                .request("PUT", "/me/availability", Some(&a.token), Some(bad))
                .await;
            assert_problem(&r, 400, "invalid-request");
        }
        // A suspended user has none to set.
        app.suspend(&t.admin, &a.id).await.expect(200);
        let r = app
            .request(
                "PUT",
                &format!("/users/{}/availability", a.id),
                Some(&t.admin),
                Some(json!({"availability": "away"})),
            )
            .await;
        assert_problem(&r, 409, "conflict");
        // Another company's user is not found.
        let t2 = tenant(&app, "team", None).await;
        let r = app
            .request(
                "PUT",
                &format!("/users/{}/availability", other.id),
                Some(&t2.admin),
                Some(json!({"availability": "away"})),
            )
            .await;
        assert_problem(&r, 404, "not-found");
    });
}

/// Capacity: 1–50, the company's default for those who join (those already in keep theirs),
/// an admin's edit audited on its own or inside a role change.
#[test]
fn chat_capacity_has_bounds_and_the_company_default_is_what_joiners_get() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let early = member(&app, &t.admin, "agent", None).await;
        let tenant0 = app.get(&t.admin, "/tenant").await.expect(200).json();
        assert_eq!(tenant0["defaultMaxChats"], 3);
        assert_eq!(app.get(&early.token, "/me").await.json()["maxChats"], 3);

        for bad in [0, 51, -1] {
            let r = app
                .request(
                    "PUT",
                    "/tenant/max-chats",
                    Some(&t.admin),
                    Some(json!({"maxChats": bad})),
                )
                .await;
            assert_problem(&r, 400, "invalid-request");
        }
        let r = app
            .request(
                "PUT",
                "/tenant/max-chats",
                Some(&early.token),
                Some(json!({"maxChats": 9})),
            )
            .await;
        assert_problem(&r, 403, "forbidden");
        let entries = audit(&app, &t.id).await.len();
        let set = app
            .request(
                "PUT",
                "/tenant/max-chats",
                Some(&t.admin),
                Some(json!({"maxChats": 7})),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(set["defaultMaxChats"], 7);
        let log = audit(&app, &t.id).await;
        assert_eq!(log.len(), entries + 1);
        assert!(actions(&log).contains(&"tenant.maxChatsChanged".to_string()));
        // The same number again writes nothing.
        app.request(
            "PUT",
            "/tenant/max-chats",
            Some(&t.admin),
            Some(json!({"maxChats": 7})),
        )
        .await
        .expect(200);
        assert_eq!(audit(&app, &t.id).await.len(), entries + 1);

        let late = member(&app, &t.admin, "agent", None).await;
        assert_eq!(
            app.get(&late.token, "/me").await.json()["maxChats"],
            7,
            "joined after: the new default"
        );
        assert_eq!(
            app.get(&early.token, "/me").await.json()["maxChats"],
            3,
            "joined before: kept"
        );

        // An admin's edit: bounds, then alone (its own action), then with a role.
        for bad in [json!(0), json!(51), json!("5"), json!(null)] {
            let r = app
                .change_role(
                    &t.admin,
                    &early.id,
                    json!({"role": "agent", "maxChats": bad}),
                )
                .await;
            assert_problem(&r, 400, "invalid-request");
        }
        let u = app
            .change_role(
                &t.admin,
                &early.id,
                json!({"role": "agent", "maxChats": 12}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(u["maxChats"], 12);
        assert_eq!(u["version"], 2);
        let u = app
            .change_role(
                &t.admin,
                &early.id,
                json!({"role": "supervisor", "maxChats": 50}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(u["maxChats"], 50);
        let log = audit(&app, &t.id).await;
        let mine: Vec<_> = log
            .iter()
            .filter(|e| s(e, "targetId") == early.id)
            .filter(|e| s(e, "action").starts_with("user."))
            .collect();
        let acts: Vec<&str> = mine.iter().map(|e| s(e, "action")).collect();
        assert_eq!(acts, vec!["user.maxChatsChanged", "user.roleChanged"]);
        let after: Value = serde_json::from_str(s(mine[1], "after")).unwrap();
        assert_eq!(after["maxChats"], 50);
        // The agent reads it; only admins change it.
        let r = app
            .change_role(
                &late.token,
                &late.id,
                json!({"role": "agent", "maxChats": 9}),
            )
            .await;
        assert_problem(&r, 403, "forbidden");
    });
}

async fn version(app: &harness::App, admin: &str, id: &str) -> u64 {
    app.get(admin, &format!("/users/{id}")).await.json()["version"]
        .as_u64()
        .unwrap()
}

/// Quick edit (rule 17): several users in one transaction, all or nothing; a refusal names
/// every row and why; one audit entry per user that changed, none for a row that changes
/// nothing; availability alone moves no version.
#[test]
fn a_quick_edit_saves_every_row_or_none_and_names_each_refused_row() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let a = member(&app, &t.admin, "agent", Some("Night")).await;
        let b = member(&app, &t.admin, "agent", Some("Night")).await;
        let c = member(&app, &t.admin, "agent", None).await;
        let gone = member(&app, &t.admin, "agent", None).await;
        let off = member(&app, &t.admin, "agent", None).await;
        app.delete_user(&t.admin, &gone.id).await.expect(200);
        app.suspend(&t.admin, &off.id).await.expect(200);
        let elsewhere = tenant(&app, "team", None).await;
        let stranger = member(&app, &elsewhere.admin, "agent", None).await;
        let (va, vb, vc) = (
            version(&app, &t.admin, &a.id).await,
            version(&app, &t.admin, &b.id).await,
            version(&app, &t.admin, &c.id).await,
        );
        let entries = audit(&app, &t.id).await.len();
        let patch = |changes: Value| {
            let app = app.clone();
            let token = t.admin.clone();
            async move {
                app.request(
                    "PATCH",
                    "/users",
                    Some(&token),
                    Some(json!({ "changes": changes })),
                )
                .await
            }
        };

        // One stale row: nothing saved, the row named with the version it is at now.
        let r = patch(json!([
            {"id": a.id, "version": va, "role": "supervisor"},
            {"id": b.id, "version": vb + 7, "maxChats": 9},
        ]))
        .await;
        assert_problem(&r, 409, "rows-refused");
        let rows = r.json()["rows"].clone();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        assert_eq!(rows[0]["index"], 1);
        assert_eq!(rows[0]["problem"], "version-conflict");
        assert_eq!(rows[0]["currentVersion"], vb);
        assert_eq!(version(&app, &t.admin, &a.id).await, va, "row 0 not saved");
        assert_eq!(audit(&app, &t.id).await.len(), entries);

        // Every row that can't be changed, named at once.
        let r = patch(json!([
            {"id": gone.id, "version": 2, "role": "agent"},
            {"id": off.id, "version": version(&app, &t.admin, &off.id).await, "availability": "away"},
            {"id": "00000000-0000-4000-8000-000000000000", "version": 1, "maxChats": 4},
            {"id": stranger.id, "version": 1, "maxChats": 4},
        ]))
        .await;
        assert_problem(&r, 409, "rows-refused");
        let problems: Vec<String> = r.json()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| format!("{}:{}", x["index"], x["problem"].as_str().unwrap()))
            .collect();
        assert_eq!(
            problems,
            vec![
                "0:user-deleted",
                "1:not-active",
                "2:not-found",
                "3:not-found"
            ],
            "another company's user is as unknown as nobody's"
        );
        assert_eq!(
            app.store
                .user(&uid(&stranger.id))
                .await
                .unwrap()
                .unwrap()
                .max_chats,
            3
        );

        // Three rows saved at once: a role and team, a capacity, an availability alone; a
        // fourth that changes nothing.
        let r = patch(json!([
            {"id": a.id, "version": va, "role": "supervisor", "team": "Day"},
            {"id": b.id, "version": vb, "maxChats": 12},
            {"id": c.id, "version": vc, "availability": "dnd"},
            {"id": app.get(&t.admin, "/me").await.json()["id"], "version": 1, "role": "admin"},
        ]))
        .await
        .expect(200)
        .json();
        let users = r["users"].as_array().unwrap();
        assert_eq!(users.len(), 4);
        assert_eq!(users[0]["role"], "supervisor");
        assert_eq!(users[0]["team"], "Day");
        assert_eq!(users[0]["version"], va + 1);
        assert_eq!(users[1]["maxChats"], 12);
        assert_eq!(users[2]["availability"], "dnd");
        assert_eq!(
            users[2]["version"], vc,
            "availability alone moves no version"
        );
        let log = audit(&app, &t.id).await;
        assert_eq!(log.len(), entries + 3, "one entry per user that changed");
        let acts: std::collections::BTreeSet<String> =
            actions(&log[entries..]).into_iter().collect();
        assert_eq!(
            acts,
            [
                "user.availabilityChanged",
                "user.maxChatsChanged",
                "user.roleChanged"
            ]
            .map(String::from)
            .into()
        );
        let stored = app.store.user(&uid(&c.id)).await.unwrap().unwrap();
        assert_eq!(stored.availability.status.as_str(), "dnd");
        assert_eq!(stored.availability.set_by.unwrap().1, "Ada Admin");
        // A row's availability is held to what was read: the user's own set in between (it
        // moves no version) refuses the row instead of being overwritten unseen.
        let read = app.store.user(&uid(&b.id)).await.unwrap().unwrap();
        app.request(
            "PUT",
            "/me/availability",
            Some(&b.token),
            Some(json!({"availability": "dnd"})),
        )
        .await
        .expect(200);
        let stale_read = shared::domain::User {
            availability: read.availability.clone(),
            ..read.clone()
        };
        let after = shared::domain::User {
            availability: shared::domain::user::AvailabilityState {
                status: shared::domain::user::Availability::Away,
                set_at: Some(OffsetDateTime::now_utc()),
                set_by: None,
            },
            ..read.clone()
        };
        let change = shared::domain::Change::new(
            shared::domain::Actor::system(),
            OffsetDateTime::now_utc(),
            "race",
        );
        let entry = change.on_availability(&stale_read, &after);
        let refused = app
            .store
            .quick_edit(&[shared::store::QuickRow {
                index: 0,
                before: &stale_read,
                after: &after,
                availability: Some(&after.availability),
                entry: &entry,
            }])
            .await;
        assert!(
            matches!(
                refused,
                Err(shared::store::WriteError::Refused(shared::store::Refusal::StaleRows(ref r))) if r == &vec![0]
            ),
            "{refused:?}"
        );
        assert_eq!(
            app.store
                .user(&uid(&b.id))
                .await
                .unwrap()
                .unwrap()
                .availability
                .status
                .as_str(),
            "dnd",
            "the user's own set stands"
        );
        // A supervisor now in Day sees the row moved there at once (visibility follows).
        let day = app.get(&a.token, "/users").await.json();
        assert!(day["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["team"] == "Day"));
    });
}

/// The last admin inside a quick edit: demoting every admin at once is refused, naming each
/// demotion, and nothing is saved; demoting all but one is saved. Only admins quick-edit, and
/// bad rows are named field by field.
#[test]
fn a_quick_edit_keeps_an_admin_and_is_for_admins() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let other = member(&app, &t.admin, "admin", None).await;
        let agent = member(&app, &t.admin, "agent", None).await;
        let me = app.get(&t.admin, "/me").await.json();
        let my_id = me["id"].as_str().unwrap().to_string();
        let vo = version(&app, &t.admin, &other.id).await;
        let va = version(&app, &t.admin, &agent.id).await;
        let both = json!({"changes": [
            {"id": agent.id, "version": va, "maxChats": 5},
            {"id": other.id, "version": vo, "role": "agent"},
            {"id": my_id, "version": me["version"], "role": "supervisor"},
        ]});
        let r = app
            .request("PATCH", "/users", Some(&t.admin), Some(both))
            .await;
        assert_problem(&r, 409, "rows-refused");
        let rows = r.json()["rows"].clone();
        let named: Vec<(u64, &str)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["index"].as_u64().unwrap(), x["problem"].as_str().unwrap()))
            .collect();
        assert_eq!(named, vec![(1, "last-admin"), (2, "last-admin")], "{rows}");
        assert_eq!(
            version(&app, &t.admin, &agent.id).await,
            va,
            "nothing saved"
        );
        let t_now = app.store.tenant(&tid(&t.id)).await.unwrap().unwrap();
        assert_eq!(t_now.active_admins, 2);

        let one = json!({"changes": [{"id": other.id, "version": vo, "role": "agent"}]});
        app.request("PATCH", "/users", Some(&t.admin), Some(one))
            .await
            .expect(200);
        let t_now = app.store.tenant(&tid(&t.id)).await.unwrap().unwrap();
        assert_eq!(t_now.active_admins, 1, "the counter follows the batch");

        let any = json!({"changes": [{"id": agent.id, "version": va, "maxChats": 5}]});
        let r = app
            .request("PATCH", "/users", Some(&agent.token), Some(any))
            .await;
        assert_problem(&r, 403, "forbidden");
        let bad =
            json!({"changes": [{"id": agent.id, "version": va, "maxChats": 99, "role": "boss"}]});
        let r = app
            .request("PATCH", "/users", Some(&t.admin), Some(bad))
            .await;
        assert_problem(&r, 400, "invalid-request");
        let fields: Vec<String> = r.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, vec!["changes/0/role", "changes/0/maxChats"]);
    });
}

/// RFC 4180, as a spreadsheet reads it: the rows of a document (quoted fields, doubled quotes,
/// CRLF), after its byte-order mark.
fn parse_csv(doc: &str) -> Vec<Vec<String>> {
    let body = doc.strip_prefix('\u{feff}').unwrap_or(doc);
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, body.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "the last row ends with CRLF"
    );
    rows
}

/// Follows an export's parts (`Next-Cursor`) and joins them, as the console does.
async fn export_all(app: &harness::App, token: &str, path: &str) -> (String, usize) {
    let (mut doc, mut parts, mut cursor): (String, usize, Option<String>) =
        (String::new(), 0, None);
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let r = app.get(token, &url).await.expect(200);
        assert_eq!(r.content_type(), "text/csv; charset=utf-8");
        assert!(r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename="));
        doc.push_str(std::str::from_utf8(&r.body).unwrap());
        parts += 1;
        match r.headers.get("next-cursor") {
            Some(c) => cursor = Some(c.to_str().unwrap().to_string()),
            None => return (doc, parts),
        }
    }
}

/// Export (rule 18): every row the caller can see with the list's filters, across parts;
/// proper CSV; a name a spreadsheet would run is text; audited once per export; agents and
/// supervisors export only what they see.
#[test]
fn an_export_is_every_row_the_caller_can_see_and_never_a_formula() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Night")).await;
        let night = member(&app, &t.admin, "agent", Some("Night")).await;
        let day = member(&app, &t.admin, "agent", Some("Day")).await;
        // Names as people type them, and one an attacker would.
        let tricky = "=HYPERLINK(\"http://evil.test\",\"Click\")";
        let invited = app
            .join(
                &t.admin,
                json!({"email": email("tricky"), "name": tricky, "role": "agent", "team": "Night"}),
                PASSWORD,
            )
            .await;
        let quoted = app
            .join(
                &t.admin,
                json!({"email": email("quoted"), "name": "O'Brien, \"Bo\" Zoë", "role": "agent", "team": "Night"}),
                PASSWORD,
            )
            .await;
        let entries = audit(&app, &t.id).await.len();

        // The admin's export in parts of two: every user, as the list has them.
        let (doc, parts) = export_all(&app, &t.admin, "/users/export?limit=2").await;
        assert!(doc.starts_with('\u{feff}'), "a byte-order mark for Excel");
        let rows = parse_csv(&doc);
        assert_eq!(rows[0][..3], ["id", "name", "email"]);
        assert_eq!(rows.len() - 1, 6, "{rows:?}");
        assert_eq!(parts, 3, "six users in parts of two");
        let listed = app.get(&t.admin, "/users?limit=100").await.json();
        let mut want = ids(&listed);
        let mut got: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        let by_id = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
        assert_eq!(
            by_id(&invited.id)[1],
            format!("'{tricky}"),
            "a formula is text"
        );
        assert_eq!(by_id(&quoted.id)[1], "O'Brien, \"Bo\" Zoë");
        assert!(
            doc.contains("\"O'Brien, \"\"Bo\"\" Zoë\""),
            "quoted as RFC 4180 says"
        );
        assert_eq!(by_id(&night.id)[4], "Night");
        let log = audit(&app, &t.id).await;
        assert_eq!(
            actions(&log[entries..]),
            vec!["users.exported"],
            "one entry per export, not per part"
        );
        let after: Value = serde_json::from_str(s(&log[log.len() - 1], "after")).unwrap();
        assert_eq!(after["query"], "limit=2");

        // The list's filters apply.
        let (doc, _) = export_all(&app, &t.admin, "/users/export?team=Day").await;
        let rows = parse_csv(&doc);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], day.id);

        // A supervisor exports their team and themselves; an agent themselves.
        let (doc, _) = export_all(&app, &sup.token, "/users/export").await;
        let mut got: Vec<String> = parse_csv(&doc)[1..].iter().map(|r| r[0].clone()).collect();
        got.sort();
        let mut want = vec![
            sup.id.clone(),
            night.id.clone(),
            invited.id.clone(),
            quoted.id.clone(),
        ];
        want.sort();
        assert_eq!(got, want, "not Day's agent, not the admin");
        let (doc, _) = export_all(&app, &day.token, "/users/export").await;
        let rows = parse_csv(&doc);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], day.id);

        // A later part only continues an export its caller started with that very query: no
        // cursor made by hand, borrowed from the list, another export's or another person's.
        let first = app.get(&t.admin, "/users/export?limit=2").await.expect(200);
        let next = first.headers["next-cursor"].to_str().unwrap().to_string();
        app.get(&t.admin, &format!("/users/export?limit=2&cursor={next}"))
            .await
            .expect(200);
        let list_cursor = listed["nextCursor"].as_str().map(String::from);
        let by_hand = shared::domain::csv::join_cursor("2020-01-01T00:00:00.000Z#x", "e30");
        for (token, query) in [
            (&t.admin, format!("limit=3&cursor={next}")),
            (&t.admin, format!("limit=2&team=Night&cursor={next}")),
            (&t.admin, format!("limit=2&cursor={by_hand}")),
            (
                &t.admin,
                format!("limit=2&cursor={}", list_cursor.unwrap_or("e30".into())),
            ),
            (&sup.token, format!("limit=2&cursor={next}")),
        ] {
            let r = app.get(token, &format!("/users/export?{query}")).await;
            assert_problem(&r, 400, "invalid-request");
        }
        assert_eq!(
            audit(&app, &t.id)
                .await
                .iter()
                .filter(|e| s(e, "action") == "users.exported")
                .count(),
            5,
            "the five exports above, once each; no refused part wrote one"
        );

        for bad in ["presence=maybe", "limit=0", "limit=2001", "cursor=junk"] {
            assert_problem(
                &app.get(&t.admin, &format!("/users/export?{bad}")).await,
                400,
                "invalid-request",
            );
        }
    });
}

/// The audit log's export: admins only, a date range, every entry in it across parts, the
/// snapshots as JSON, audited.
#[test]
fn the_audit_log_exports_a_date_range_for_admins() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let agent = member(&app, &t.admin, "agent", None).await;
        app.change_role(&t.admin, &agent.id, json!({"role": "supervisor"}))
            .await
            .expect(200);
        let all = audit(&app, &t.id).await;
        let (doc, parts) = export_all(&app, &t.admin, "/audit/export?limit=1").await;
        let rows = parse_csv(&doc);
        assert_eq!(rows[0][..2], ["at", "action"]);
        assert_eq!(
            rows.len() - 1,
            all.len(),
            "every entry before the export's own"
        );
        assert_eq!(parts, all.len());
        let role = rows
            .iter()
            .find(|r| r[1] == "user.roleChanged")
            .expect("the role change");
        let after: Value = serde_json::from_str(&role[9]).unwrap();
        assert_eq!(after["role"], "supervisor");
        assert_eq!(
            actions(&audit(&app, &t.id).await[all.len()..]),
            vec!["audit.exported"]
        );
        // A range that ends before anything happened holds nothing but the header.
        let (doc, _) = export_all(&app, &t.admin, "/audit/export?to=2020-01-01T00:00:00Z").await;
        assert_eq!(parse_csv(&doc).len(), 1);
        assert_problem(
            &app.get(&agent.token, "/audit/export").await,
            403,
            "forbidden",
        );
        assert_problem(
            &app.get(&t.admin, "/audit/export?from=yesterday").await,
            400,
            "invalid-request",
        );
    });
}

/// The admin behind `token` as the store reads them, and a change made by them now: what a
/// test needs to take a use case's store steps by hand.
async fn admin_change(
    app: &harness::App,
    token: &str,
    request_id: &str,
) -> (shared::domain::User, shared::domain::Change) {
    let me = app.get(token, "/me").await.json();
    let admin = app
        .store
        .user(&uid(me["id"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let change = shared::domain::Change::new(
        shared::domain::Actor::of(&admin),
        OffsetDateTime::now_utc(),
        request_id,
    );
    (admin, change)
}

/// Whether the company's latest team move is marked done.
async fn done(app: &harness::App, tenant_id: &str) -> bool {
    let (last, _) = app.store.team_move_record(&tid(tenant_id)).await.unwrap();
    last.is_some_and(|m| m.done_at.is_some())
}

/// How many of the company's users carry `team` as stored (read straight from the table).
async fn stored_as(app: &harness::App, tenant_id: &str, team: &str) -> usize {
    partition(app, &format!("TENANT#{tenant_id}#USER"))
        .await
        .iter()
        .filter(|u| {
            u.get("team")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(team)
        })
        .count()
}

fn team_names(v: &Value) -> Vec<(Option<String>, u64, u64)> {
    v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().map(str::to_string),
                t["members"].as_u64().unwrap(),
                t["invited"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn teams_of(page: &Value) -> Vec<Option<String>> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["team"].as_str().map(str::to_string))
        .collect()
}

/// Teams (rule 19): the counts; a rename of a small team in one transaction, seen whole by
/// its supervisor right after; a merge; what each refusal says and that it changed nothing.
#[test]
fn a_team_renames_and_merges_and_its_supervisor_sees_it_at_once() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Night")).await;
        let a = member(&app, &t.admin, "agent", Some("Night")).await;
        let day = member(&app, &t.admin, "agent", Some("Day")).await;
        let gone = member(&app, &t.admin, "agent", Some("Day")).await;
        app.delete_user(&t.admin, &gone.id).await.expect(200);
        invite(
            &app,
            &t.admin,
            json!({"email": email("inv"), "name": "Ivy", "role": "agent", "team": "Night"}),
        )
        .await
        .expect(201);

        let all = app.get(&t.admin, "/teams").await.expect(200).json();
        assert_eq!(
            team_names(&all),
            vec![
                (Some("Day".into()), 1, 0),
                (Some("Night".into()), 2, 1),
                (None, 1, 0)
            ],
            "a deleted user is no member; the admin has no team: {all}"
        );
        assert_eq!(
            all["teams"][1]["byRole"],
            json!({"agent": 1, "supervisor": 1, "admin": 0})
        );
        assert_eq!(
            all["teams"][1]["byStatus"],
            json!({"active": 2, "suspended": 0})
        );
        assert!(all["moving"].is_null());
        let own = app.get(&sup.token, "/teams").await.expect(200).json();
        assert_eq!(
            team_names(&own),
            vec![(Some("Night".into()), 2, 0)],
            "{own}"
        );
        assert_problem(&app.get(&a.token, "/teams").await, 403, "forbidden");

        let before_a = version(&app, &t.admin, &a.id).await;
        let rename = |from: &str, to: &str| json!({"from": from, "to": to});
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(rename("Night", "Late")),
            )
            .await
            .expect(200);
        assert_eq!(
            r.json(),
            json!({"kind": "rename", "from": "Night", "to": "Late", "members": 2, "invites": 1})
        );
        // The supervisor's very next request: their team under its new name, whole.
        let seen = app.get(&sup.token, "/users").await.expect(200).json();
        assert_eq!(ids(&seen).len(), 2, "{seen}");
        assert!(
            teams_of(&seen).iter().all(|x| x.as_deref() == Some("Late")),
            "{seen}"
        );
        assert_eq!(app.get(&sup.token, "/me").await.json()["team"], "Late");
        assert_eq!(
            ids(&app.get(&t.admin, "/users?team=Late").await.json()).len(),
            2
        );
        assert!(ids(&app.get(&t.admin, "/users?team=Night").await.json()).is_empty());
        let invites = app.get(&t.admin, "/invites?team=Late").await.json();
        assert_eq!(invites["invites"].as_array().unwrap().len(), 1, "{invites}");
        // A move is a change of the member: an editor's older version is refused.
        assert_eq!(version(&app, &t.admin, &a.id).await, before_a + 1);
        let stale = app
            .change_role(
                &t.admin,
                &a.id,
                json!({"role": "agent", "team": "Night", "version": before_a}),
            )
            .await;
        assert_problem(&stale, 409, "version-conflict");

        // Refusals, each changing nothing.
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(rename("Day", "Late")),
            )
            .await;
        assert_problem(&r, 409, "team-exists");
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(rename("Ghost", "X")),
            )
            .await;
        assert_problem(&r, 404, "not-found");
        let r = app
            .request(
                "POST",
                "/teams/merge",
                Some(&t.admin),
                Some(json!({"from": "Day", "into": "Nowhere"})),
            )
            .await;
        assert_problem(&r, 409, "conflict");
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(json!({"from": "Day"})),
            )
            .await;
        assert_problem(&r, 400, "invalid-request");
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&sup.token),
                Some(rename("Late", "Early")),
            )
            .await;
        assert_problem(&r, 403, "forbidden");
        let unchanged = app.get(&t.admin, "/teams").await.json();
        assert_eq!(
            team_names(&unchanged),
            vec![
                (Some("Day".into()), 1, 0),
                (Some("Late".into()), 2, 1),
                (None, 1, 0)
            ]
        );

        app.request(
            "POST",
            "/teams/merge",
            Some(&t.admin),
            Some(json!({"from": "Day", "into": "Late"})),
        )
        .await
        .expect(200);
        let merged = app.get(&sup.token, "/users").await.json();
        assert!(
            ids(&merged).contains(&day.id),
            "the merged member is in the supervisor's view: {merged}"
        );
        let after = app.get(&t.admin, "/teams").await.json();
        assert_eq!(
            team_names(&after),
            vec![(Some("Late".into()), 3, 1), (None, 1, 0)],
            "{after}"
        );
        // The deleted user's history moved with the team.
        let gone_now = app.store.user(&uid(&gone.id)).await.unwrap().unwrap();
        assert_eq!(gone_now.team.as_deref(), Some("Late"));

        // One audit entry per move, naming both names and what moved.
        let log = app.get(&t.admin, "/audit").await.json();
        let moves: Vec<(&str, &Value, &Value)> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("team."))
            .map(|e| (e["action"].as_str().unwrap(), &e["before"], &e["after"]))
            .collect();
        assert_eq!(moves.len(), 2, "{log}");
        assert_eq!(moves[0].0, "team.merged");
        assert_eq!(
            moves[0].1,
            &json!({"team": "Day", "members": 1, "invites": 0})
        );
        assert_eq!(moves[1].0, "team.renamed");
        assert_eq!(moves[1].2, &json!({"team": "Late"}));
    });
}

/// A team bigger than one transaction moves in batches under a recorded move: a move that
/// stopped after its first batch (a crash, as the store's steps reproduce it) is seen whole by
/// every reader, and the next move in the company finishes it.
#[test]
fn a_big_team_moves_in_batches_that_no_reader_sees_half_done() {
    run(|app| async move {
        use shared::domain::team::{MoveKind, TeamMove};
        let t = tenant(&app, "team", None).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Big")).await;
        let ddb = aws_sdk_dynamodb::Client::new(&app.sdk);
        harness::seed::users(&ddb, &app.stack, &t.id, 200, Some("Big")).await;

        // The first steps of a rename Big → Huge, then the "crash": one batch of 25 moved.
        let (admin, change) = admin_change(&app, &t.admin, "crash-test").await;
        let entry = change.on_team(
            shared::domain::AuditAction::TeamRenamed,
            &tid(&t.id),
            "Big",
            "Huge",
            201,
            0,
        );
        let mv = TeamMove {
            id: entry.id.clone(),
            kind: MoveKind::Rename,
            from: "Big".into(),
            to: "Huge".into(),
            at: change.at,
            by_name: admin.name.clone(),
            members: 201,
            invites: 0,
            done_at: None,
            earlier: None,
        };
        app.store
            .begin_team_move(&tid(&t.id), &mv, None, &entry)
            .await
            .unwrap();
        let (carriers, _) = app.store.team_carriers(&tid(&t.id), "Big").await.unwrap();
        assert_eq!(carriers.len(), 201);
        let first: Vec<_> = carriers[..25]
            .iter()
            .map(|u| {
                let mut after = u.clone();
                after.team = Some("Huge".into());
                after.version += 1;
                (u.clone(), after)
            })
            .collect();
        app.store
            .move_team(&tid(&t.id), "Big", &first, &[], "Huge", None)
            .await
            .unwrap();
        assert_eq!(
            (
                stored_as(&app, &t.id, "Huge").await,
                stored_as(&app, &t.id, "Big").await
            ),
            (25, 176),
            "half moved, as stored"
        );

        // Every reader sees it whole.
        let seen = app
            .get(&sup.token, "/users?limit=1000")
            .await
            .expect(200)
            .json();
        assert_eq!(ids(&seen).len(), 201, "the supervisor's whole team");
        assert!(teams_of(&seen).iter().all(|x| x.as_deref() == Some("Huge")));
        assert_eq!(app.get(&sup.token, "/me").await.json()["team"], "Huge");
        assert_eq!(
            ids(&app
                .get(&t.admin, "/users?team=Huge&limit=1000")
                .await
                .json())
            .len(),
            201
        );
        assert!(ids(&app.get(&t.admin, "/users?team=Big").await.json()).is_empty());
        let counts = app.get(&t.admin, "/teams").await.json();
        assert_eq!(
            team_names(&counts),
            vec![(Some("Huge".into()), 201, 0), (None, 1, 0)]
        );
        assert_eq!(counts["moving"]["from"], "Big");
        let (exported, _) = export_all(&app, &t.admin, "/users/export?team=Huge").await;
        let rows = parse_csv(&exported);
        assert_eq!(rows.len(), 1 + 201, "{exported}");
        assert!(rows[1..].iter().all(|r| r[4] == "Huge"), "{exported}");

        // The same rename sent again (the console's "Finish now", a retry) finishes it.
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(json!({"from": "Big", "to": "Huge"})),
            )
            .await
            .expect(200);
        assert_eq!(
            r.json()["members"],
            201,
            "the move's own answer: {}",
            r.json()
        );
        assert!(done(&app, &t.id).await, "the move is marked done");
        assert_eq!(stored_as(&app, &t.id, "Huge").await, 201);

        // Stopped again, before any batch; another move in the company finishes it first, then
        // runs in batches itself.
        let entry = change.on_team(
            shared::domain::AuditAction::TeamRenamed,
            &tid(&t.id),
            "Huge",
            "Giant",
            201,
            0,
        );
        let mv = TeamMove {
            id: entry.id.clone(),
            from: "Huge".into(),
            to: "Giant".into(),
            ..mv
        };
        let seq = app.store.team_move_record(&tid(&t.id)).await.unwrap().1;
        app.store
            .begin_team_move(&tid(&t.id), &mv, seq, &entry)
            .await
            .unwrap();
        // This request moves 201 members twice: 16 transactions of 25. The emulator takes 300
        // to 600 ms for each on a 2-core machine (DynamoDB, tens of ms), which comes to the
        // whole of a 10 s function's batch time here, and a busy machine passes it. The point
        // is that one request finishes the stopped move before its own, so it gets the time the
        // work takes against the emulator; a move left unfinished is the case above.
        *app.timeout_override.lock().unwrap() = Some(std::time::Duration::from_secs(30));
        let r = app
            .request(
                "POST",
                "/teams/rename",
                Some(&t.admin),
                Some(json!({"from": "Giant", "to": "Large"})),
            )
            .await
            .expect(200);
        *app.timeout_override.lock().unwrap() = None;
        assert_eq!(r.json()["members"], 201);
        assert!(done(&app, &t.id).await, "the move is marked done");
        assert_eq!(
            stored_as(&app, &t.id, "Large").await,
            201,
            "every member stored under the last name"
        );
        let seen = app.get(&sup.token, "/users?limit=1000").await.json();
        assert_eq!(ids(&seen).len(), 201);
        assert!(teams_of(&seen)
            .iter()
            .all(|x| x.as_deref() == Some("Large")));
        let log = app.get(&t.admin, "/audit?action=team.renamed").await.json();
        assert_eq!(log["entries"].as_array().unwrap().len(), 3, "{log}");

        // Moves are serial: a record written under a sequence number read before the last
        // move is refused.
        let late_entry = change.on_team(
            shared::domain::AuditAction::TeamRenamed,
            &tid(&t.id),
            "Large",
            "Late",
            201,
            0,
        );
        let late = TeamMove {
            id: late_entry.id.clone(),
            ..mv.clone()
        };
        assert!(
            app.store
                .begin_team_move(&tid(&t.id), &late, seq, &late_entry)
                .await
                .is_err(),
            "a move that read the company before another committed is refused"
        );

        // For `SETTLE` after it is done, a move still applies: a record that still says the
        // old name (what a lagging index can hand a list) reads as the new one; after it, the
        // old name is a name like any other.
        harness::seed::users(&ddb, &app.stack, &t.id, 1, Some("Giant")).await;
        let during = app
            .get(&t.admin, "/users?team=Large&limit=1000")
            .await
            .json();
        assert_eq!(
            ids(&during).len(),
            202,
            "settling: the straggler shows as Large"
        );
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        let after = app.get(&t.admin, "/users?team=Giant").await.json();
        assert_eq!(
            ids(&after).len(),
            1,
            "settled: Giant is a team of its own again"
        );
    });
}

/// A company setting (the default capacity, the two-step policy) is written only over the
/// value it was read at, so its audit entry's "before" is what it replaced: a write from a
/// snapshot another admin's change has overtaken is refused and changes nothing.
#[test]
fn a_company_setting_is_written_only_over_the_value_read() {
    run(|app| async move {
        use shared::domain::tenant::MfaPolicy;
        use shared::store::{Setting, WriteError};
        let t = tenant(&app, "team", None).await;
        let (_, change) = admin_change(&app, &t.admin, "settings-race").await;
        let stale = app.store.tenant(&tid(&t.id)).await.unwrap().unwrap();
        for (first, second) in [
            (Setting::DefaultMaxChats(7), Setting::DefaultMaxChats(9)),
            (
                Setting::MfaPolicy(MfaPolicy::Admins),
                Setting::MfaPolicy(MfaPolicy::Admins),
            ),
        ] {
            let entry = |n: u32| {
                change.on_tenant(
                    shared::domain::AuditAction::DefaultMaxChatsChanged,
                    &stale,
                    None,
                    json!({ "n": n }),
                )
            };
            // Both read the company as it was; the first write lands, the second is refused.
            app.store
                .set_tenant_setting(&stale, first, &entry(1))
                .await
                .unwrap();
            let refused = app
                .store
                .set_tenant_setting(&stale, second, &entry(2))
                .await;
            assert!(
                matches!(refused, Err(WriteError::Refused(_))),
                "{second:?} over a stale read: {refused:?}"
            );
        }
        let now = app.store.tenant(&tid(&t.id)).await.unwrap().unwrap();
        assert_eq!(
            (now.default_max_chats, now.mfa_policy),
            (7, MfaPolicy::Admins),
            "the first writes stand"
        );
    });
}
