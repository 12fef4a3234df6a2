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
