//! Directory sync (issue 30; docs/rules.md rule 22): an identity provider's SCIM 2.0 requests,
//! as Okta and Microsoft Entra ID send them, through the in-process gateway and the real
//! `scim` handler, with DynamoDB, SES and Cognito in the emulator. After each step the
//! directory, Cognito, the seats, the audit log and the published events are checked.

mod common;

use common::*;
use harness::app::Reply;
use harness::events::{received, validate};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM request as providers send it: `application/scim+json`, the token as a bearer.
async fn scim(
    app: &harness::App,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let mut h = http::HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    h.insert("host", "api.example.test".parse().unwrap());
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if !bytes.is_empty() {
        h.insert(
            http::header::CONTENT_TYPE,
            "application/scim+json".parse().unwrap(),
        );
    }
    // Boxed: a test makes dozens of these, and every handler's future is in the gateway's.
    let r = Box::pin(app.call(method, &format!("/scim/v2{path}"), &h, &bytes)).await;
    if r.status != 204 {
        assert_eq!(r.content_type(), "application/scim+json", "{method} {path}");
    }
    r
}

/// The reply if it has `status`, else the test fails showing it.
#[track_caller]
fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(
        r.status,
        status,
        "expected {status}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// A SCIM error document with this status and `scimType` (`None`: the RFC names none).
#[track_caller]
fn refused(r: Reply, status: u16, scim_type: Option<&str>) -> Value {
    let v = ok(r, status);
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(v["status"], status.to_string());
    assert_eq!(v["scimType"].as_str(), scim_type, "{v}");
    v
}

fn filter(f: &str) -> String {
    let mut q = String::new();
    for b in f.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => q.push(b as char),
            _ => q.push_str(&format!("%{b:02X}")),
        }
    }
    format!("/Users?filter={q}")
}

/// An integration token of the admin's company with `scopes`.
async fn token(app: &harness::App, admin: &str, scopes: &[&str]) -> (String, String) {
    let v = app
        .request(
            "POST",
            "/integrations",
            Some(admin),
            Some(json!({"name": "Okta", "scopes": scopes})),
        )
        .await
        .expect(201)
        .json();
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

/// The console's view of a user (as its admin reads it).
async fn console_user(app: &harness::App, admin: &str, id: &str) -> Value {
    app.get(admin, &format!("/users/{id}"))
        .await
        .expect(200)
        .json()
}

/// The console's view of the newest invite to `addr` (every status).
async fn console_invite(app: &harness::App, admin: &str, addr: &str) -> Value {
    let all = app
        .get(admin, "/invites?status=all&limit=1000")
        .await
        .expect(200)
        .json();
    all["invites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["email"] == addr)
        .max_by_key(|i| i["sentAt"].as_str().unwrap_or_default().to_string())
        .cloned()
        .unwrap_or_else(|| panic!("no invite to {addr}: {all}"))
}

/// The company's audit actions made by directory sync, oldest first.
async fn sync_actions(app: &harness::App, tenant: &str) -> Vec<String> {
    let mut entries = audit(app, tenant).await;
    entries.sort_by(|a, b| s(a, "sk").cmp(s(b, "sk")));
    entries
        .iter()
        .filter(|e| s(e, "actorId").starts_with("scim-"))
        .map(|e| s(e, "action").to_string())
        .collect()
}

#[test]
fn an_okta_provisioning_sequence_keeps_every_rule() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let (token_id, tok) = token(&app, &t.admin, &["scim"]).await;
        let seats0 = assert_seats_consistent(&app, &t.id).await;

        // Okta's connection test: the first two people.
        let list = ok(
            scim(&app, "GET", "/Users?startIndex=1&count=2", &tok, None).await,
            200,
        );
        assert_eq!(list["totalResults"], 1, "the admin: {list}");
        assert_eq!(
            (list["startIndex"].clone(), list["itemsPerPage"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(list["Resources"][0]["userName"], t.admin_email.as_str());
        assert_eq!(list["Resources"][0]["active"], true);

        // The lookup before a create finds nobody: an empty list, not a 404.
        let addr = email("grace");
        let none = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{addr}\"")),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(
            (none["totalResults"].clone(), none["Resources"].clone()),
            (json!(0), json!([]))
        );

        // The create: an invite, emailed, holding a seat.
        let body = json!({
            "schemas": [USER], "userName": addr, "externalId": "00u1okta",
            "name": {"givenName": "Grace", "familyName": "Hopper"},
            "emails": [{"primary": true, "value": addr, "type": "work"}],
            "active": true,
        });
        let made = ok(
            scim(&app, "POST", "/Users", &tok, Some(body.clone())).await,
            201,
        );
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!(made["active"], true);
        assert_eq!(made["externalId"], "00u1okta");
        assert_eq!(made["name"]["givenName"], "Grace");
        assert_eq!(made["displayName"], "Grace Hopper");
        let invited = console_invite(&app, &t.admin, &addr).await;
        assert_eq!(
            (invited["status"].as_str(), invited["role"].as_str()),
            (Some("pending"), Some("agent"))
        );
        assert_eq!(invited["managed"], true);
        assert_eq!(
            made["meta"]["location"],
            format!("https://api.example.test/scim/v2/Users/{id}")
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);
        let mail = harness::moto::last_mail_to(&app.stack.aws_endpoint, &addr)
            .await
            .expect("an invite email");
        assert!(
            !mail.source.contains("Ada"),
            "nobody is named as inviting: {}",
            mail.source
        );
        // A retried create finds the address taken, and says whose it is.
        let again = refused(
            scim(&app, "POST", "/Users", &tok, Some(body)).await,
            409,
            Some("uniqueness"),
        );
        assert!(again["detail"].as_str().unwrap().contains(&id), "{again}");
        let found = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{}\"", addr.to_uppercase())),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(
            found["Resources"][0]["id"],
            id.as_str(),
            "case-insensitive, as Okta expects"
        );

        // They accept: the same SCIM id, now a user.
        let link = app.token_from_mail(&addr).await.unwrap();
        let joined = app.accept(&link, PASSWORD).await.expect(201).json();
        let uid = joined["userId"].as_str().unwrap().to_string();
        let got = ok(
            scim(&app, "GET", &format!("/Users/{id}"), &tok, None).await,
            200,
        );
        assert_eq!(
            (got["id"].as_str(), got["active"].as_bool()),
            (Some(id.as_str()), Some(true))
        );
        assert_eq!(
            got["externalId"], "00u1okta",
            "the user inherits the provider's link"
        );
        assert!(app.sign_in(&addr, PASSWORD).await.is_ok());
        assert_eq!(console_user(&app, &t.admin, &uid).await["managed"], true);

        // Deactivation, as Okta's OIN apps send it: suspended, signed out, seat freed.
        let off = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "value": {"active": false}}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(off["active"], false);
        assert_eq!(
            console_user(&app, &t.admin, &uid).await["status"],
            "suspended"
        );
        assert!(
            app.sign_in(&addr, PASSWORD).await.is_err(),
            "Cognito follows"
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0);

        // A full PUT without `active` (Okta's non-OIN apps) renames and suspends nobody.
        let put = ok(
            scim(
                &app,
                "PUT",
                &format!("/Users/{id}"),
                &tok,
                Some(json!({
                    "schemas": [USER], "userName": addr, "externalId": "00u1okta",
                    "name": {"givenName": "Grace", "familyName": "Brewster Hopper"},
                })),
            )
            .await,
            200,
        );
        assert_eq!(put["displayName"], "Grace Brewster Hopper");
        assert_eq!(put["active"], false, "left as it was");
        let u = console_user(&app, &t.admin, &uid).await;
        assert_eq!(
            (u["name"].as_str(), u["status"].as_str()),
            (Some("Grace Brewster Hopper"), Some("suspended"))
        );

        // Reactivation: the seat again, and sign-in.
        let on = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "path": "active", "value": true}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(on["active"], true);
        assert!(app.sign_in(&addr, PASSWORD).await.is_ok());
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);

        // Push Groups with a role mapping: Okta looks the group up by name, then creates it
        // with its members; the admin mapped it, so Grace becomes a supervisor (audited as
        // Directory sync's role change, published), her seat and sign-in untouched.
        app.request(
            "PUT",
            "/tenant/group-mappings",
            Some(&t.admin),
            Some(json!({"mappings": [{"group": "VeloConnect Supervisors", "role": "supervisor"}]})),
        )
        .await
        .expect(200);
        let none = ok(
            scim(
                &app,
                "GET",
                "/Groups?filter=displayName%20eq%20%22VeloConnect%20Supervisors%22",
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(none["totalResults"], 0);
        ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({
                    "schemas": [GROUP], "displayName": "VeloConnect Supervisors",
                    "members": [{"value": id, "display": addr}],
                })),
            )
            .await,
            201,
        );
        let u = console_user(&app, &t.admin, &uid).await;
        assert_eq!(
            (u["role"].as_str(), u["team"].clone()),
            (Some("supervisor"), Value::Null)
        );
        assert!(app.sign_in(&addr, PASSWORD).await.is_ok());
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);

        // The address can't change here.
        refused(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "path": "userName", "value": email("other")}]),
                )),
            )
            .await,
            400,
            Some("mutability"),
        );

        // Delete: as the console deletes; the id is gone after.
        let del = scim(&app, "DELETE", &format!("/Users/{id}"), &tok, None).await;
        assert_eq!(del.status, 204, "{}", String::from_utf8_lossy(&del.body));
        refused(
            scim(&app, "GET", &format!("/Users/{id}"), &tok, None).await,
            404,
            None,
        );
        assert_eq!(
            console_user(&app, &t.admin, &uid).await["status"],
            "deleted"
        );
        assert!(app.sign_in(&addr, PASSWORD).await.is_err());
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0);
        let gone = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{addr}\"")),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(gone["totalResults"], 0);

        // Every change audited as directory sync's, and published with it as the actor.
        assert_eq!(
            sync_actions(&app, &t.id).await,
            [
                "invite.created",
                "user.suspended",
                "user.updated",
                "user.reactivated",
                "user.roleChanged",
                "user.deleted"
            ]
        );
        let polled = poller.drain(&app.publish, 5).await;
        assert_eq!(polled.partial, 0);
        let events: Vec<Value> = received(&app.stack.aws_endpoint, &app.stack.events_queue_url)
            .await
            .into_iter()
            .map(|e| e["detail"].clone())
            .collect();
        validate(&events).unwrap_or_else(|e| panic!("{e}"));
        let by_sync: Vec<&Value> = events
            .iter()
            .filter(|e| e["actor"]["kind"] == "directory")
            .collect();
        assert_eq!(by_sync.len(), 6, "{events:?}");
        assert!(by_sync
            .iter()
            .all(|e| e["actor"]["id"] == format!("scim-{token_id}")
                && e["actor"]["name"] == "Directory sync"));
        let renamed = by_sync
            .iter()
            .find(|e| e["type"] == "user.updated" && e["changes"].get("name").is_some())
            .expect("the rename's event");
        assert_eq!(renamed["changes"]["name"]["after"], "Grace Brewster Hopper");
    });
}

#[test]
fn an_entra_provisioning_sequence_keeps_every_rule() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let seats0 = assert_seats_consistent(&app, &t.id).await;
        let addr = email("alan");
        let oid = "5b7e1c0a-4f0e-4a4b-9b1e-2f1c3d4e5f60";

        // Entra ID's lookups: by userName, by externalId, and both with `and`; none is a 404.
        for f in [
            format!("userName eq \"{addr}\""),
            format!("externalId eq \"{oid}\""),
            format!("userName eq \"{addr}\" and externalId eq \"{oid}\""),
        ] {
            let r = ok(scim(&app, "GET", &filter(&f), &tok, None).await, 200);
            assert_eq!(r["totalResults"], 0, "{f}");
        }
        let made = ok(scim(&app, "POST", "/Users", &tok, Some(json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": oid, "userName": addr, "active": true, "displayName": "Alan Turing",
            "emails": [{"primary": true, "type": "work", "value": addr}],
            "name": {"formatted": "Alan Turing", "familyName": "Turing", "givenName": "Alan"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Support"},
        }))).await, 201);
        let id = made["id"].as_str().unwrap().to_string();
        let by_ext = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("externalId eq \"{oid}\"")),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(by_ext["Resources"][0]["id"], id.as_str());
        let by_mail = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("emails[type eq \"work\" and value eq \"{addr}\"]")),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(by_mail["totalResults"], 1);

        // Entra ID's update: capitalised ops, a value path, a path inside a key.
        let upd = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(json!([
                    {"op": "Replace", "path": "displayName", "value": "Alan M. Turing"},
                    {"op": "Replace", "path": "name.formatted", "value": "Alan M. Turing"},
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": addr},
                    {"op": "Add", "value": {"name.givenName": "Alan M."}},
                ]))),
            )
            .await,
            200,
        );
        assert_eq!(upd["displayName"], "Alan M. Turing");
        assert_eq!(upd["name"]["givenName"], "Alan M.");

        // Unassigned before they accepted: `active` as the string "False". The invite is
        // revoked (its link stops working, the seat is free) and reads as inactive.
        let link = app.token_from_mail(&addr).await.unwrap();
        let off = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "Replace", "path": "active", "value": "False"}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(off["active"], false);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0);
        assert_eq!(
            app.accept(&link, PASSWORD).await.status,
            404,
            "the revoked link"
        );
        assert_eq!(
            ok(
                scim(&app, "GET", &format!("/Users/{id}"), &tok, None).await,
                200
            )["active"],
            false
        );

        // Assigned again: a new link, a seat, the same id; they accept.
        app.clock.advance(time::Duration::minutes(2));
        let on = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "Replace", "path": "active", "value": "True"}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(on["active"], true);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);
        let link2 = app.token_from_mail(&addr).await.unwrap();
        assert_ne!(link, link2);
        let uid = app.accept(&link2, PASSWORD).await.expect(201).json()["userId"]
            .as_str()
            .unwrap()
            .to_string();
        let got = ok(
            scim(&app, "GET", &format!("/Users/{id}"), &tok, None).await,
            200,
        );
        assert_eq!(
            (got["id"].as_str(), got["displayName"].as_str()),
            (Some(id.as_str()), Some("Alan M. Turing"))
        );
        assert_eq!(
            console_user(&app, &t.admin, &uid).await["name"],
            "Alan M. Turing"
        );

        // A group push with a role mapping: Entra ID creates the group empty, then adds its
        // members by PATCH; the mapping makes Alan a supervisor in team Support.
        app.request(
            "PUT",
            "/tenant/group-mappings",
            Some(&t.admin),
            Some(json!({"mappings": [{"group": "Support Team", "role": "supervisor", "team": "Support"}]})),
        )
        .await
        .expect(200);
        let g = ok(
            scim(&app, "POST", "/Groups", &tok, Some(json!({
                "schemas": [GROUP], "externalId": "8c1f0e0e-group", "displayName": "Support Team",
                "members": [],
            })))
            .await,
            201,
        );
        let gid = g["id"].as_str().unwrap().to_string();
        ok(
            scim(
                &app,
                "PATCH",
                &format!("/Groups/{gid}"),
                &tok,
                Some(patch(json!([
                    {"op": "Add", "path": "members", "value": [{"value": id}]},
                ]))),
            )
            .await,
            200,
        );
        let placed = console_user(&app, &t.admin, &uid).await;
        assert_eq!(
            (placed["role"].as_str(), placed["team"].as_str()),
            (Some("supervisor"), Some("Support"))
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);

        // Much later, the delete.
        assert_eq!(
            scim(&app, "DELETE", &format!("/Users/{id}"), &tok, None)
                .await
                .status,
            204
        );
        refused(
            scim(&app, "DELETE", &format!("/Users/{id}"), &tok, None).await,
            404,
            None,
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0);
        assert_eq!(
            sync_actions(&app, &t.id).await,
            [
                "invite.created",
                "invite.updated",
                "invite.revoked",
                "invite.resent",
                "user.roleChanged",
                "user.deleted"
            ],
            "a change that moves nothing writes nothing"
        );
        // The deleted person left the group.
        let g = ok(
            scim(&app, "GET", &format!("/Groups/{gid}"), &tok, None).await,
            200,
        );
        assert_eq!(member_ids(&g), Vec::<String>::new());
    });
}

#[test]
fn a_person_an_admin_invited_is_left_alone_until_the_provider_claims_them() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let m = member(&app, &t.admin, "supervisor", Some("north")).await;
        let hand = email("hand");
        app.invite(
            &t.admin,
            json!({"email": hand, "name": "By Hand", "role": "agent"}),
        )
        .await
        .expect(201);

        let everyone = ok(scim(&app, "GET", "/Users", &tok, None).await, 200);
        assert_eq!(
            everyone["totalResults"], 3,
            "the admin, the member and the invite"
        );
        let listed = app.get(&t.admin, "/users").await.json();
        assert!(listed["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["managed"] == false));
        assert_eq!(
            console_invite(&app, &t.admin, &hand).await["managed"],
            false
        );
        let found = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{}\"", m.email)),
                &tok,
                None,
            )
            .await,
            200,
        );
        let id = found["Resources"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(
            id, m.id,
            "a person nobody provisioned is known by their user id"
        );

        // Claimed: the provider's id is kept; role and team stay as the admin set them.
        let claimed = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "add", "path": "externalId", "value": "ext-7"}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(claimed["externalId"], "ext-7");
        let u = console_user(&app, &t.admin, &m.id).await;
        assert_eq!(
            (
                u["role"].as_str(),
                u["team"].as_str(),
                u["managed"].as_bool()
            ),
            (Some("supervisor"), Some("north"), Some(true))
        );
        let by_ext = ok(
            scim(&app, "GET", &filter("externalId eq \"ext-7\""), &tok, None).await,
            200,
        );
        assert_eq!(by_ext["Resources"][0]["id"], id.as_str());
        // Paging over everyone: startIndex is 1-based, count caps the page.
        let p2 = ok(
            scim(&app, "GET", "/Users?startIndex=2&count=1", &tok, None).await,
            200,
        );
        assert_eq!(
            (
                p2["totalResults"].clone(),
                p2["itemsPerPage"].clone(),
                p2["startIndex"].clone()
            ),
            (json!(3), json!(1), json!(2))
        );
        assert_eq!(p2["Resources"][0]["id"], everyone["Resources"][1]["id"]);
    });
}

#[test]
fn refusals_change_nothing_and_say_why_as_scim_errors() {
    run_isolated(|app| async move {
        let t = tenant(&app, "enterprise", Some(2)).await;
        let other = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let (_, events_only) = token(&app, &t.admin, &["events:read"]).await;
        let (other_id, other_tok) = token(&app, &other.admin, &["scim"]).await;
        let admin_id = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = audit(&app, &t.id).await.len();

        // Credentials: none, a person's sign-in, a token without the scope, garbage.
        let r = scim(&app, "GET", "/Users", "x", None).await;
        refused(r, 401, None);
        let mut h = http::HeaderMap::new();
        h.insert("host", "api.example.test".parse().unwrap());
        let r = app.call("GET", "/scim/v2/Users", &h, b"").await;
        assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
        refused(r, 401, None);
        let r = scim(&app, "GET", "/Users", &t.admin, None).await;
        assert_eq!(
            r.headers.get("www-authenticate").unwrap(),
            "Bearer error=\"invalid_token\""
        );
        refused(r, 401, None);
        refused(
            scim(&app, "GET", "/ServiceProviderConfig", &events_only, None).await,
            403,
            None,
        );
        refused(
            scim(&app, "GET", "/Users", &format!("{tok}x"), None).await,
            401,
            None,
        );

        // Another company's token never reads or changes this company's people.
        let their = ok(scim(&app, "GET", "/Users", &other_tok, None).await, 200);
        assert_eq!(their["totalResults"], 1);
        assert_eq!(
            their["Resources"][0]["userName"],
            other.admin_email.as_str()
        );
        refused(
            scim(&app, "GET", &format!("/Users/{admin_id}"), &other_tok, None).await,
            404,
            None,
        );
        refused(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{admin_id}"),
                &other_tok,
                Some(patch(
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )),
            )
            .await,
            404,
            None,
        );
        refused(
            scim(
                &app,
                "DELETE",
                &format!("/Users/{admin_id}"),
                &other_tok,
                None,
            )
            .await,
            404,
            None,
        );
        let none = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{}\"", t.admin_email)),
                &other_tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(none["totalResults"], 0);
        // Nor takes its address.
        refused(
            scim(
                &app,
                "POST",
                "/Users",
                &other_tok,
                Some(json!({"schemas": [USER], "userName": t.admin_email})),
            )
            .await,
            409,
            Some("uniqueness"),
        );

        // The last admin stays.
        let (_, refresh) = app.sign_in_tokens(&t.admin_email, PASSWORD).await.unwrap();
        refused(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{admin_id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )),
            )
            .await,
            409,
            None,
        );
        refused(
            scim(&app, "DELETE", &format!("/Users/{admin_id}"), &tok, None).await,
            409,
            None,
        );
        assert_eq!(
            console_user(&app, &t.admin, &admin_id).await["status"],
            "active"
        );
        // Refused before Cognito was touched: the admin's sessions were not ended.
        app.get(&t.admin, "/me").await.expect(200);
        app.refresh(&refresh)
            .await
            .expect("the admin's refresh token still works");

        // Malformed requests.
        refused(
            scim(&app, "GET", &filter("userName eq"), &tok, None).await,
            400,
            Some("invalidFilter"),
        );
        refused(
            scim(&app, "GET", "/Users?count=many", &tok, None).await,
            400,
            Some("invalidValue"),
        );
        refused(
            scim(
                &app,
                "POST",
                "/Users",
                &tok,
                Some(json!({"schemas": [USER]})),
            )
            .await,
            400,
            Some("invalidValue"),
        );
        refused(
            scim(
                &app,
                "POST",
                "/Users",
                &tok,
                Some(json!({"schemas": [USER], "userName": email("x"), "active": "sometimes"})),
            )
            .await,
            400,
            Some("invalidValue"),
        );
        let r = app
            .call(
                "POST",
                "/scim/v2/Users",
                &{
                    let mut h = http::HeaderMap::new();
                    h.insert(
                        http::header::AUTHORIZATION,
                        format!("Bearer {tok}").parse().unwrap(),
                    );
                    h
                },
                b"{not json",
            )
            .await;
        refused(r, 400, Some("invalidSyntax"));
        refused(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{admin_id}"),
                &tok,
                Some(json!({"Operations": []})),
            )
            .await,
            400,
            Some("invalidSyntax"),
        );
        refused(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{admin_id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "path": "emails[type eq", "value": 1}]),
                )),
            )
            .await,
            400,
            Some("invalidPath"),
        );
        refused(
            scim(&app, "GET", "/Users/not-an-id!", &tok, None).await,
            404,
            None,
        );

        // Seats: a plan of 2 holds the admin and one more; the next is refused with the limit.
        ok(
            scim(
                &app,
                "POST",
                "/Users",
                &tok,
                Some(json!({"schemas": [USER], "userName": email("one")})),
            )
            .await,
            201,
        );
        let full = refused(
            scim(
                &app,
                "POST",
                "/Users",
                &tok,
                Some(json!({"schemas": [USER], "userName": email("two")})),
            )
            .await,
            409,
            None,
        );
        let detail = full["detail"].as_str().unwrap();
        assert!(
            detail.contains("2 seats") && detail.contains(&app.stack.pricing_url),
            "{detail}"
        );

        // Revoked: refused on its next request.
        app.request(
            "DELETE",
            &format!("/integrations/{other_id}"),
            Some(&other.admin),
            None,
        )
        .await
        .expect(200);
        refused(
            scim(&app, "GET", "/Users", &other_tok, None).await,
            401,
            None,
        );

        // Of all that, only the one create and the refused one's nothing were written.
        let after = audit(&app, &t.id).await;
        assert_eq!(after.len(), before + 1, "{:?}", actions(&after));
        assert_seats_consistent(&app, &t.id).await;
    });
}

#[test]
fn discovery_says_what_is_served() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let c = ok(
            scim(&app, "GET", "/ServiceProviderConfig", &tok, None).await,
            200,
        );
        assert_eq!(
            (
                c["patch"]["supported"].as_bool(),
                c["bulk"]["supported"].as_bool(),
                c["filter"]["maxResults"].as_u64()
            ),
            (Some(true), Some(false), Some(100))
        );
        let types = ok(scim(&app, "GET", "/ResourceTypes", &tok, None).await, 200);
        assert_eq!(types["Resources"][0]["endpoint"], "/Users");
        assert_eq!(types["Resources"][1]["endpoint"], "/Groups");
        ok(
            scim(&app, "GET", "/ResourceTypes/User", &tok, None).await,
            200,
        );
        ok(
            scim(&app, "GET", "/ResourceTypes/Group", &tok, None).await,
            200,
        );
        refused(
            scim(&app, "GET", "/ResourceTypes/Printer", &tok, None).await,
            404,
            None,
        );
        let schemas = ok(scim(&app, "GET", "/Schemas", &tok, None).await, 200);
        assert_eq!(schemas["totalResults"], 2);
        let group = ok(
            scim(&app, "GET", &format!("/Schemas/{GROUP}"), &tok, None).await,
            200,
        );
        assert_eq!(group["attributes"][0]["name"], "displayName");
        assert_eq!(group["attributes"][1]["name"], "members");
        let user = ok(
            scim(&app, "GET", &format!("/Schemas/{USER}"), &tok, None).await,
            200,
        );
        let names: Vec<&str> = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["userName", "name", "displayName", "emails", "active"]
        );
        // Over the cap, a count reads as the cap.
        let capped = ok(
            scim(&app, "GET", "/Users?count=100000", &tok, None).await,
            200,
        );
        assert_eq!(capped["itemsPerPage"], 1);
    });
}

#[test]
fn a_token_over_its_minute_is_throttled_alone() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (id, tok) = token(&app, &t.admin, &["scim"]).await;
        let (_, other) = token(&app, &t.admin, &["scim"]).await;
        ok(scim(&app, "GET", "/Users", &tok, None).await, 200);
        // This minute's budget spent, as 600 requests would leave it.
        use shared::domain::Clock;
        let window = app.clock.now().unix_timestamp().div_euclid(60);
        aws_sdk_dynamodb::Client::new(&app.sdk)
            .update_item()
            .table_name(&app.stack.directory_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("INTEGRATION#{id}")),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("INTEGRATION".into()),
            )
            .update_expression("SET rateWindow = :w, rateCount = :n")
            .expression_attribute_values(
                ":w",
                aws_sdk_dynamodb::types::AttributeValue::N(window.to_string()),
            )
            .expression_attribute_values(
                ":n",
                aws_sdk_dynamodb::types::AttributeValue::N(scim_fn::PER_MINUTE.to_string()),
            )
            .send()
            .await
            .unwrap();
        let r = scim(
            &app,
            "POST",
            "/Users",
            &tok,
            Some(json!({"schemas": [USER], "userName": email("late")})),
        )
        .await;
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let e = refused(r, 429, None);
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains("600 requests a minute"),
            "{e}"
        );
        // Nothing was made, and another token of the company is not held back.
        let all = ok(scim(&app, "GET", "/Users", &other, None).await, 200);
        assert_eq!(all["totalResults"], 1);
        // The next minute counts afresh.
        app.clock.advance(time::Duration::seconds(retry as i64));
        ok(scim(&app, "GET", "/Users", &tok, None).await, 200);
    });
}

#[test]
fn a_person_created_inactive_holds_nothing_until_turned_on() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let seats0 = assert_seats_consistent(&app, &t.id).await;
        let addr = email("staged");
        let body = json!({"schemas": [USER], "userName": addr, "name": {"formatted": "Staged Person"}, "active": false});
        let made = ok(
            scim(&app, "POST", "/Users", &tok, Some(body.clone())).await,
            201,
        );
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!(made["active"], false);
        let closed = console_invite(&app, &t.admin, &addr).await;
        assert_eq!(
            (closed["status"].as_str(), closed["managed"].as_bool()),
            (Some("revoked"), Some(true))
        );
        assert_eq!(
            assert_seats_consistent(&app, &t.id).await,
            seats0,
            "no seat"
        );
        assert!(
            harness::moto::last_mail_to(&app.stack.aws_endpoint, &addr)
                .await
                .is_none(),
            "no email"
        );
        // Found by its address, and not made twice.
        let found = ok(
            scim(
                &app,
                "GET",
                &filter(&format!("userName eq \"{addr}\"")),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert_eq!(found["Resources"][0]["id"], id.as_str());
        let again = refused(
            scim(&app, "POST", "/Users", &tok, Some(body)).await,
            409,
            Some("uniqueness"),
        );
        assert!(again["detail"].as_str().unwrap().contains(&id));
        // Turned on: invited, a seat and the address taken.
        let on = ok(
            scim(
                &app,
                "PATCH",
                &format!("/Users/{id}"),
                &tok,
                Some(patch(
                    json!([{"op": "replace", "path": "active", "value": true}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(on["active"], true);
        assert_eq!(
            console_invite(&app, &t.admin, &addr).await["status"],
            "pending"
        );
        assert_eq!(assert_seats_consistent(&app, &t.id).await, seats0 + 1);
        let link = app
            .token_from_mail(&addr)
            .await
            .expect("the invite email now");
        app.accept(&link, PASSWORD).await.expect(201);
        let joined = ok(
            scim(&app, "GET", &format!("/Users/{id}"), &tok, None).await,
            200,
        );
        assert_eq!(
            (joined["id"].as_str(), joined["active"].as_bool()),
            (Some(id.as_str()), Some(true))
        );
        assert_eq!(
            app.get(&t.admin, "/invites").await.json()["invites"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["email"] == addr.as_str())
                .count(),
            0,
            "no invite pending: they joined"
        );
        assert_eq!(
            sync_actions(&app, &t.id).await,
            ["invite.created", "invite.resent"]
        );
    });
}

#[test]
fn attributes_search_and_unknown_paths_answer_as_scim() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let made = ok(scim(&app, "POST", "/Users", &tok, Some(json!({"schemas": [USER], "userName": email("proj"), "externalId": "p-1", "name": {"givenName": "Pro", "familyName": "Jected"}}))).await, 201);
        let id = made["id"].as_str().unwrap().to_string();
        let only = ok(
            scim(
                &app,
                "GET",
                &format!("/Users/{id}?attributes=userName,name.givenName"),
                &tok,
                None,
            )
            .await,
            200,
        );
        let mut keys: Vec<&str> = only
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["id", "name", "schemas", "userName"]);
        assert_eq!(only["name"], json!({"givenName": "Pro"}));
        let without = ok(
            scim(
                &app,
                "GET",
                &format!("/Users/{id}?excludedAttributes=emails,meta,id"),
                &tok,
                None,
            )
            .await,
            200,
        );
        assert!(without.get("emails").is_none() && without.get("meta").is_none());
        assert_eq!(without["id"], id.as_str(), "id is always returned");
        // The list, with its query in a body.
        let searched = ok(
            scim(
                &app,
                "POST",
                "/Users/.search",
                &tok,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "externalId eq \"p-1\"", "attributes": ["externalId"], "count": 10,
                })),
            )
            .await,
            200,
        );
        assert_eq!(searched["totalResults"], 1);
        assert_eq!(
            searched["Resources"][0],
            json!({"id": id, "externalId": "p-1", "schemas": made["schemas"]})
        );
        refused(
            scim(
                &app,
                "POST",
                "/Users/.search",
                &tok,
                Some(json!({"filter": 3.5e300, "attributes": ["x"]})),
            )
            .await,
            400,
            Some("invalidFilter"),
        );
        refused(
            scim(
                &app,
                "POST",
                "/Users/.search",
                &tok,
                Some(json!({"attributes": [1]})),
            )
            .await,
            400,
            Some("invalidValue"),
        );
        for body in [
            json!({"excludedAttributes": "userName"}),
            json!({"attributes": ["x".repeat(1025)]}),
        ] {
            refused(
                scim(&app, "POST", "/.search", &tok, Some(body)).await,
                400,
                Some("invalidValue"),
            );
        }
        let long = "x".repeat(1025);
        refused(
            scim(
                &app,
                "GET",
                &format!("/Users?excludedAttributes={long}"),
                &tok,
                None,
            )
            .await,
            400,
            Some("invalidValue"),
        );
        refused(
            scim(
                &app,
                "GET",
                &format!("/Users/{id}?attributes={long}"),
                &tok,
                None,
            )
            .await,
            400,
            Some("invalidValue"),
        );
        // What no route takes under the SCIM root is a SCIM error too.
        refused(scim(&app, "GET", "/Nothing", &tok, None).await, 404, None);
        let r = scim(
            &app,
            "POST",
            "/ServiceProviderConfig",
            &tok,
            Some(json!({})),
        )
        .await;
        assert_eq!(r.headers["allow"], "GET");
        refused(r, 405, None);
    });
}

/// The members' ids of a Group resource, in its order.
fn member_ids(g: &Value) -> Vec<String> {
    g["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The address of the person the provider knows as `id`.
async fn email_of_provisioned(app: &harness::App, tok: &str, id: &str) -> String {
    let p = ok(
        scim(app, "GET", &format!("/Users/{id}"), tok, None).await,
        200,
    );
    p["userName"].as_str().unwrap().to_string()
}

/// The caller's user id.
async fn console_me(app: &harness::App, token: &str) -> String {
    app.get(token, "/me").await.expect(200).json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A person made through SCIM; their id.
async fn provisioned(app: &harness::App, tok: &str, name: &str) -> String {
    let addr = email(name);
    let made = ok(
        scim(
            app,
            "POST",
            "/Users",
            tok,
            Some(json!({"schemas": [USER], "userName": addr, "name": {"formatted": name}, "active": true})),
        )
        .await,
        201,
    );
    made["id"].as_str().unwrap().to_string()
}

#[test]
fn groups_are_kept_as_okta_and_entra_push_them() {
    run_isolated(|app| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let (a, b, c) = (
            provisioned(&app, &tok, "ann").await,
            provisioned(&app, &tok, "bob").await,
            provisioned(&app, &tok, "cat").await,
        );
        let mut sorted = vec![a.clone(), b.clone()];
        sorted.sort();
        // Ann joins: the provider still knows her by her invite's id, now accepted.
        let link = app
            .token_from_mail(&email_of_provisioned(&app, &tok, &a).await)
            .await
            .unwrap();
        app.accept(&link, PASSWORD).await.expect(201);

        // Okta: the lookup by name finds nothing, then the push creates the group with its
        // members.
        let by_name = "/Groups?filter=displayName%20eq%20%22Support%20Leads%22";
        let none = ok(scim(&app, "GET", by_name, &tok, None).await, 200);
        assert_eq!(
            (none["totalResults"].clone(), none["Resources"].clone()),
            (json!(0), json!([]))
        );
        let made = ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({
                    "schemas": [GROUP], "displayName": "Support Leads",
                    "members": [{"value": a}, {"value": b}],
                })),
            )
            .await,
            201,
        );
        let gid = made["id"].as_str().unwrap().to_string();
        assert_eq!(member_ids(&made), sorted);
        assert_eq!(made["meta"]["resourceType"], "Group");
        assert_eq!(
            made["meta"]["location"],
            format!("https://api.example.test/scim/v2/Groups/{gid}")
        );
        let found = ok(scim(&app, "GET", by_name, &tok, None).await, 200);
        assert_eq!(found["Resources"][0]["id"], gid.as_str());
        // The name is the company's once, case aside: a second push is a uniqueness error.
        refused(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({"schemas": [GROUP], "displayName": "support leads"})),
            )
            .await,
            409,
            Some("uniqueness"),
        );

        // Okta: membership by PATCH, a removal by a filtered path.
        let path = format!("/Groups/{gid}");
        let g = ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": c}]},
                    {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
                ]))),
            )
            .await,
            200,
        );
        let mut want = vec![b.clone(), c.clone()];
        want.sort();
        assert_eq!(member_ids(&g), want);

        // Entra ID: membership checked with a filter and excludedAttributes, a removal with
        // the members in the value, a rename by replace.
        let q = format!(
            "/Groups?filter=id%20eq%20%22{gid}%22%20and%20members%5Bvalue%20eq%20%22{c}%22%5D&excludedAttributes=members"
        );
        let has = ok(scim(&app, "GET", &q, &tok, None).await, 200);
        assert_eq!(has["totalResults"], 1);
        assert!(has["Resources"][0].get("members").is_none(), "{has}");
        let g = ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "Remove", "path": "members", "value": [{"value": b}]},
                    {"op": "Replace", "path": "displayName", "value": "Team Leads"},
                ]))),
            )
            .await,
            200,
        );
        assert_eq!(
            (member_ids(&g), g["displayName"].clone()),
            (vec![c.clone()], json!("Team Leads"))
        );
        // The old name is free again; the new one is taken.
        let old = ok(scim(&app, "GET", by_name, &tok, None).await, 200);
        assert_eq!(old["totalResults"], 0);
        refused(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({"schemas": [GROUP], "displayName": "TEAM LEADS"})),
            )
            .await,
            409,
            Some("uniqueness"),
        );

        // A PUT without members renames and keeps them; with an empty list, empties.
        let g = ok(
            scim(
                &app,
                "PUT",
                &path,
                &tok,
                Some(json!({"schemas": [GROUP], "displayName": "Leads"})),
            )
            .await,
            200,
        );
        assert_eq!(
            (member_ids(&g), g["displayName"].clone()),
            (vec![c.clone()], json!("Leads"))
        );

        // Someone an admin invited who joined is a member by their user id.
        let admin_id = console_me(&app, &t.admin).await;
        let g = ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": admin_id}]},
                ]))),
            )
            .await,
            200,
        );
        assert!(member_ids(&g).contains(&admin_id), "{g}");
        ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "remove", "path": format!("members[value eq \"{admin_id}\"]")},
                ]))),
            )
            .await,
            200,
        );

        // A member the company does not have is refused, and changes nothing.
        let stranger = "0123456789abcdef0123456789abcdef";
        let e = refused(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": a}, {"value": stranger}]},
                ]))),
            )
            .await,
            400,
            Some("invalidValue"),
        );
        assert!(e["detail"].as_str().unwrap().contains(stranger), "{e}");
        let g = ok(scim(&app, "GET", &path, &tok, None).await, 200);
        assert_eq!(member_ids(&g), vec![c.clone()]);

        // Another company's token reads no such group and can't change it.
        let other = tenant(&app, "team", None).await;
        let (_, theirs) = token(&app, &other.admin, &["scim"]).await;
        refused(scim(&app, "GET", &path, &theirs, None).await, 404, None);
        refused(
            scim(
                &app,
                "PATCH",
                &path,
                &theirs,
                Some(patch(json!([{"op": "remove", "path": "members"}]))),
            )
            .await,
            404,
            None,
        );
        refused(scim(&app, "DELETE", &path, &theirs, None).await, 404, None);
        let listed = ok(scim(&app, "GET", "/Groups", &theirs, None).await, 200);
        assert_eq!(listed["totalResults"], 0);
        // Nor may another company's people join this one's group.
        let theirs_person = provisioned(&app, &theirs, "dan").await;
        refused(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": theirs_person}]},
                ]))),
            )
            .await,
            400,
            Some("invalidValue"),
        );

        // A person the provider deletes leaves the groups that named them.
        ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": a}]},
                ]))),
            )
            .await,
            200,
        );
        let r = scim(&app, "DELETE", &format!("/Users/{c}"), &tok, None).await;
        assert_eq!(r.status, 204);
        let g = ok(scim(&app, "GET", &path, &tok, None).await, 200);
        assert_eq!(member_ids(&g), vec![a.clone()]);

        // Removing the whole attribute empties the group; the list reads it.
        let g = ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(json!([{"op": "remove", "path": "members"}]))),
            )
            .await,
            200,
        );
        assert_eq!(member_ids(&g), Vec::<String>::new());
        let all = ok(
            scim(&app, "GET", "/Groups?startIndex=1&count=10", &tok, None).await,
            200,
        );
        assert_eq!(all["totalResults"], 1);
        let searched = ok(
            scim(
                &app,
                "POST",
                "/Groups/.search",
                &tok,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "displayName sw \"lea\"",
                })),
            )
            .await,
            200,
        );
        assert_eq!(searched["Resources"][0]["id"], gid.as_str());
        // The root search spans both types: the people, then the groups.
        let everything = ok(
            scim(
                &app,
                "POST",
                "/.search",
                &tok,
                Some(json!({"filter": "displayName sw \"lea\" or userName pr"})),
            )
            .await,
            200,
        );
        let kinds: Vec<&str> = everything["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["meta"]["resourceType"].as_str().unwrap())
            .collect();
        // The admin, Ann and Bob (Cat was deleted), then the group.
        assert_eq!(kinds, ["User", "User", "User", "Group"], "{everything}");

        // Deleted: the id reads as nothing and the name is free.
        let r = scim(&app, "DELETE", &path, &tok, None).await;
        assert_eq!(r.status, 204);
        refused(scim(&app, "GET", &path, &tok, None).await, 404, None);
        refused(scim(&app, "DELETE", &path, &tok, None).await, 404, None);
        ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({"schemas": [GROUP], "displayName": "Leads"})),
            )
            .await,
            201,
        );
        // No group changes anyone's role or seat by itself.
        assert_seats_consistent(&app, &t.id).await;
    });
}

/// The role and team the console shows for a user.
async fn placed(app: &harness::App, admin: &str, user: &str) -> (String, Value) {
    let u = console_user(app, admin, user).await;
    (u["role"].as_str().unwrap().to_string(), u["team"].clone())
}

async fn set_mappings(app: &harness::App, admin: &str, body: Value) -> Reply {
    app.request("PUT", "/tenant/group-mappings", Some(admin), Some(body))
        .await
}

#[test]
fn group_mappings_move_roles_and_teams_through_the_consoles_rules() {
    run_isolated(|app| async move {
        let mut poller = app.poller().await;
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let admin_id = console_me(&app, &t.admin).await;
        // Ann and Bob join; Cat's invite stays pending.
        let (ann, bob, cat) = (
            provisioned(&app, &tok, "ann").await,
            provisioned(&app, &tok, "bob").await,
            provisioned(&app, &tok, "cat").await,
        );
        let mut joined = Vec::new();
        for id in [&ann, &bob] {
            let link = app
                .token_from_mail(&email_of_provisioned(&app, &tok, id).await)
                .await
                .unwrap();
            let v = app.accept(&link, PASSWORD).await.expect(201).json();
            joined.push(v["userId"].as_str().unwrap().to_string());
        }
        let (ann_user, bob_user) = (joined[0].clone(), joined[1].clone());
        let cat_addr = email_of_provisioned(&app, &tok, &cat).await;

        // Nothing mapped yet: groups move nobody.
        let empty = app
            .get(&t.admin, "/tenant/group-mappings")
            .await
            .expect(200)
            .json();
        assert_eq!(
            (empty["mappings"].clone(), empty["version"].clone()),
            (json!([]), json!(0))
        );
        let push = |name: &str, members: Vec<&String>| {
            let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
            json!({"schemas": [GROUP], "displayName": name, "members": members})
        };
        let leads = ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(push("Support Leads", vec![&ann])),
            )
            .await,
            201,
        );
        let leads = format!("/Groups/{}", leads["id"].as_str().unwrap());
        ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(push("Agents", vec![&ann, &bob, &cat])),
            )
            .await,
            201,
        );
        assert_eq!(
            placed(&app, &t.admin, &ann_user).await,
            ("agent".into(), Value::Null)
        );

        // The admin maps them: the members move at once, each audited, the save audited and
        // published with the whole list before and after.
        let saved = set_mappings(
            &app,
            &t.admin,
            json!({"version": 0, "mappings": [
                {"group": "support leads", "role": "supervisor", "team": "Leads"},
                {"group": "Agents", "role": "agent", "team": "Support"},
            ]}),
        )
        .await
        .expect(200)
        .json();
        assert_eq!(
            (saved["version"].clone(), saved["moved"].clone()),
            (json!(1), json!(3)),
            "{saved}"
        );
        let mapped: Vec<bool> = saved["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["mapped"].as_bool().unwrap())
            .collect();
        assert_eq!(mapped, [true, true]);
        assert_eq!(
            placed(&app, &t.admin, &ann_user).await,
            ("supervisor".into(), json!("Leads"))
        );
        assert_eq!(
            placed(&app, &t.admin, &bob_user).await,
            ("agent".into(), json!("Support"))
        );
        let invite = console_invite(&app, &t.admin, &cat_addr).await;
        assert_eq!(
            (invite["role"].clone(), invite["team"].clone()),
            (json!("agent"), json!("Support"))
        );
        let read = app
            .get(&t.admin, "/tenant/group-mappings")
            .await
            .expect(200)
            .json();
        assert_eq!(
            read["mappings"][0],
            json!({"group": "support leads", "role": "supervisor", "team": "Leads"})
        );
        assert_eq!(read["groups"][0]["members"], 1);

        // The provider moves Bob into the leads and Ann out: the highest role and the first
        // mapping's team follow, as Directory sync's role changes.
        ok(
            scim(
                &app,
                "PATCH",
                &leads,
                &tok,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": bob}]},
                    {"op": "remove", "path": format!("members[value eq \"{ann}\"]")},
                ]))),
            )
            .await,
            200,
        );
        assert_eq!(
            placed(&app, &t.admin, &bob_user).await,
            ("supervisor".into(), json!("Leads"))
        );
        assert_eq!(
            placed(&app, &t.admin, &ann_user).await,
            ("agent".into(), json!("Support"))
        );
        let actions = sync_actions(&app, &t.id).await;
        assert_eq!(
            actions.iter().filter(|a| *a == "user.roleChanged").count(),
            2,
            "{actions:?}"
        );

        // An admin group: its only member is the company's own admin. Taking them out would
        // leave no active admin: a SCIM 409, and the group and the admin stay as they were.
        let saved = set_mappings(
            &app,
            &t.admin,
            json!({"version": 1, "mappings": [
                {"group": "support leads", "role": "supervisor", "team": "Leads"},
                {"group": "Agents", "role": "agent", "team": "Support"},
                {"group": "IT", "role": "admin"},
            ]}),
        )
        .await
        .expect(200)
        .json();
        assert_eq!(saved["moved"], 0);
        let it = ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(push("IT", vec![&admin_id])),
            )
            .await,
            201,
        );
        let it = format!("/Groups/{}", it["id"].as_str().unwrap());
        assert_eq!(placed(&app, &t.admin, &admin_id).await.0, "admin");
        refused(
            scim(
                &app,
                "PATCH",
                &it,
                &tok,
                Some(patch(json!([{"op": "remove", "path": "members"}]))),
            )
            .await,
            409,
            None,
        );
        let still = ok(scim(&app, "GET", &it, &tok, None).await, 200);
        assert_eq!(member_ids(&still), vec![admin_id.clone()]);
        refused(scim(&app, "DELETE", &it, &tok, None).await, 409, None);
        assert_eq!(placed(&app, &t.admin, &admin_id).await.0, "admin");
        // Nor can the admin map it away: 409 last-admin, nothing saved.
        let r = set_mappings(
            &app,
            &t.admin,
            json!({"mappings": [{"group": "IT", "role": "agent"}]}),
        )
        .await;
        assert_eq!(
            r.expect(409).json()["type"],
            "https://veloconnect.io/problems/last-admin"
        );
        // Bob joins IT: two admins, so the first may leave it.
        ok(
            scim(
                &app,
                "PATCH",
                &it,
                &tok,
                Some(patch(
                    json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
                )),
            )
            .await,
            200,
        );
        assert_eq!(
            placed(&app, &t.admin, &bob_user).await,
            ("admin".into(), json!("Leads"))
        );
        ok(
            scim(
                &app,
                "PATCH",
                &it,
                &tok,
                Some(patch(json!([
                    {"op": "remove", "path": format!("members[value eq \"{admin_id}\"]")},
                ]))),
            )
            .await,
            200,
        );
        // In no mapped group, where roles and teams are mapped: an agent with no team.
        assert_eq!(
            placed(&app, &t.admin, &admin_id).await,
            ("agent".into(), Value::Null)
        );

        // Bob is the admin now; the first admin's console token no longer is one.
        app.get(&t.admin, "/tenant/group-mappings")
            .await
            .expect(403);
        let bob_addr = email_of_provisioned(&app, &tok, &bob).await;
        let bob_token = app
            .sign_in(&bob_addr, PASSWORD)
            .await
            .expect("Bob signs in");
        let t = Tenant {
            admin: bob_token,
            ..t
        };

        // A hand change the mappings disagree with stays until something moves that person;
        // saving the same list again writes no version and puts them back (what finishes a
        // save that was cut off midway).
        app.request(
            "PUT",
            &format!("/users/{ann_user}/role"),
            Some(&t.admin),
            Some(json!({"role": "supervisor"})),
        )
        .await
        .expect(200);
        let same = json!({"version": 2, "mappings": [
            {"group": "support leads", "role": "supervisor", "team": "Leads"},
            {"group": "Agents", "role": "agent", "team": "Support"},
            {"group": "IT", "role": "admin"},
        ]});
        let again = set_mappings(&app, &t.admin, same).await.expect(200).json();
        assert_eq!(
            (again["version"].clone(), again["moved"].clone()),
            (json!(2), json!(1))
        );
        assert_eq!(
            placed(&app, &t.admin, &ann_user).await,
            ("agent".into(), json!("Support"))
        );

        // A stale version and bad input change nothing.
        let r = set_mappings(&app, &t.admin, json!({"version": 1, "mappings": []})).await;
        assert_eq!(
            r.expect(409).json()["type"],
            "https://veloconnect.io/problems/version-conflict"
        );
        set_mappings(&app, &t.admin, json!({"mappings": [{"group": "IT"}]}))
            .await
            .expect(400);
        set_mappings(&app, &t.admin, json!({"mappings": "IT"}))
            .await
            .expect(400);
        let now = app
            .get(&t.admin, "/tenant/group-mappings")
            .await
            .expect(200)
            .json();
        assert_eq!(
            (
                now["version"].clone(),
                now["mappings"].as_array().unwrap().len()
            ),
            (json!(2), 3)
        );

        // Emptied: nothing is mapped, nobody moves, the same list again writes nothing.
        let cleared = set_mappings(&app, &t.admin, json!({"mappings": []}))
            .await
            .expect(200)
            .json();
        assert_eq!(
            (cleared["version"].clone(), cleared["moved"].clone()),
            (json!(3), json!(0))
        );
        let again = set_mappings(&app, &t.admin, json!({"mappings": []}))
            .await
            .expect(200)
            .json();
        assert_eq!(again["version"], 3);
        assert_eq!(placed(&app, &t.admin, &bob_user).await.0, "admin");

        // Every save is published and valid; the mappings' changes name the whole lists.
        let polled = poller.drain(&app.publish, 5).await;
        assert_eq!(polled.partial, 0);
        let events: Vec<Value> = received(&app.stack.aws_endpoint, &app.stack.events_queue_url)
            .await
            .into_iter()
            .map(|e| e["detail"].clone())
            .filter(|e| e["tenantId"] == t.id.as_str())
            .collect();
        validate(&events).unwrap_or_else(|e| panic!("{e}"));
        let saves: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "tenant.groupMappingsChanged")
            .collect();
        assert_eq!(saves.len(), 3, "{events:?}");
        assert_eq!(saves[0]["changes"]["groupMappings"]["before"], json!([]));
        assert_eq!(saves[2]["changes"]["groupMappings"]["after"], json!([]));
        // The people a save moved name the admin who saved; a push's, Directory sync.
        let moved_by = |kind: &str| {
            events
                .iter()
                .filter(|e| e["type"] == "user.roleChanged" && e["actor"]["kind"] == kind)
                .count()
        };
        // Two by the first save, Ann's hand change and the same list's save putting her back.
        assert_eq!((moved_by("user"), moved_by("directory")), (4, 4));
        assert_seats_consistent(&app, &t.id).await;
    });
}

/// A group write has no audit entry to prove it landed, so it stamps the group's item with an
/// id of its own: a push whose first attempt landed and whose answer was lost (the SDK resends
/// it; the resend fails its version condition) answers what happened, not "changed meanwhile";
/// so do a create and a delete whose answers are lost.
#[test]
fn a_group_write_whose_answer_was_lost_answers_what_happened() {
    use harness::proxy::{Fault, FaultRule};
    run_faulty(|app, faults, _| async move {
        let t = tenant(&app, "team", None).await;
        let (_, tok) = token(&app, &t.admin, &["scim"]).await;
        let (a, b) = (
            provisioned(&app, &tok, "ann").await,
            provisioned(&app, &tok, "bob").await,
        );
        let lose_next_commit = || {
            let mut rule = FaultRule::new("dynamodb.TransactWriteItems", Fault::StallAnswer, 1.0);
            rule.times = Some(1);
            faults.set(vec![rule], 6);
        };
        lose_next_commit();
        let made = ok(
            scim(
                &app,
                "POST",
                "/Groups",
                &tok,
                Some(json!({"schemas": [GROUP], "displayName": "Night Shift", "members": [{"value": a}]})),
            )
            .await,
            201,
        );
        let gid = made["id"].as_str().unwrap().to_string();
        let path = format!("/Groups/{gid}");
        lose_next_commit();
        let g = ok(
            scim(
                &app,
                "PATCH",
                &path,
                &tok,
                Some(patch(
                    json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
                )),
            )
            .await,
            200,
        );
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(member_ids(&g), both);
        assert_eq!(
            member_ids(&ok(scim(&app, "GET", &path, &tok, None).await, 200)),
            both
        );
        lose_next_commit();
        let r = scim(&app, "DELETE", &path, &tok, None).await;
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
        let injected: usize = faults.injected().values().sum();
        faults.clear();
        assert_eq!(injected, 3, "each write's first answer was lost");
        refused(scim(&app, "GET", &path, &tok, None).await, 404, None);
    });
}
