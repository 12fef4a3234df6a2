//! Who may call what (the role table), docs/rules.md rule 5 (decisions from the current record, not the
//! token), authentication, and bad input answering problem+json without changing anything.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::*;
use serde_json::{json, Value};

#[test]
fn agents_and_supervisors_are_refused_the_admin_routes() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let agent = member(&app, &t.admin, "agent", Some("Sales")).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Sales")).await;
        for who in [&agent.token, &sup.token] {
            let r = invite(
                &app,
                who,
                json!({"email": email("no"), "name": "No", "role": "agent"}),
            )
            .await;
            assert_problem(&r, 403, "forbidden");
            assert_problem(&app.get(who, "/invites").await, 403, "forbidden");
            assert_problem(&app.get(who, "/tenant").await, 403, "forbidden");
            // Ending someone else's sessions, or sending them a reset, is an admin's, even for
            // a teammate.
            for target in [&agent.id, &sup.id] {
                for tail in ["sign-out", "password-reset"] {
                    let path = format!("/users/{target}/{tail}");
                    let r = app.request("POST", &path, Some(who), None).await;
                    assert_problem(&r, 403, "forbidden");
                }
            }
        }
        app.get(&agent.token, "/me").await.expect(200);
        app.get(&sup.token, "/me").await.expect(200);
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 3);
    });
}

#[test]
fn agents_see_themselves_supervisors_their_team_admins_everyone() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let sales_agent = member(&app, &t.admin, "agent", Some("Sales")).await;
        let support_agent = member(&app, &t.admin, "agent", Some("Support")).await;
        let sup = member(&app, &t.admin, "supervisor", Some("Sales")).await;

        let ids = |v: serde_json::Value| -> Vec<String> {
            let mut ids: Vec<String> = v["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let agent_view = app.get(&sales_agent.token, "/users").await.json();
        assert_eq!(ids(agent_view), vec![sales_agent.id.clone()]);
        let sup_view = app.get(&sup.token, "/users").await.json();
        assert_eq!(
            ids(sup_view),
            sorted(vec![sales_agent.id.clone(), sup.id.clone()])
        );
        let admin_view = app.get(&t.admin, "/users").await.json();
        assert_eq!(ids(admin_view).len(), 4);

        let hidden = app
            .request(
                "GET",
                &format!("/users/{}", support_agent.id),
                Some(&sup.token),
                None,
            )
            .await;
        assert_problem(&hidden, 404, "not-found");
        let visible = app
            .request(
                "GET",
                &format!("/users/{}", sales_agent.id),
                Some(&sup.token),
                None,
            )
            .await;
        assert_eq!(visible.status, 200);
        let other = app
            .request(
                "GET",
                &format!("/users/{}", sup.id),
                Some(&sales_agent.token),
                None,
            )
            .await;
        assert_problem(&other, 404, "not-found");

        let filtered = app
            .get(&t.admin, "/users?role=agent&team=Support")
            .await
            .json();
        assert_eq!(ids(filtered), vec![support_agent.id.clone()]);
        let searched = app
            .request(
                "GET",
                &format!("/users?q={}", &support_agent.email[..12].to_uppercase()),
                Some(&t.admin),
                None,
            )
            .await
            .json();
        assert_eq!(ids(searched), vec![support_agent.id.clone()]);
    });
}

async fn set_user(app: &harness::App, id: &str, field: &str, value: &str) {
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.stack.directory_table)
        .key("pk", AttributeValue::S(format!("USER#{id}")))
        .key("sk", AttributeValue::S("USER".into()))
        .update_expression("SET #f = :v")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":v", AttributeValue::S(value.into()))
        .send()
        .await
        .unwrap();
}

#[test]
fn a_role_change_in_dynamodb_applies_on_the_next_request_with_the_same_token() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "agent", None).await;
        assert_problem(&app.get(&m.token, "/tenant").await, 403, "forbidden");
        set_user(&app, &m.id, "role", "admin").await;
        let me = app.get(&m.token, "/me").await.json();
        assert_eq!(me["role"], "admin");
        assert_eq!(app.get(&m.token, "/tenant").await.status, 200);
        set_user(&app, &m.id, "role", "agent").await;
        assert_problem(&app.get(&m.token, "/tenant").await, 403, "forbidden");
    });
}

#[test]
fn a_suspended_or_deleted_caller_is_refused_even_with_a_valid_token() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let m = member(&app, &t.admin, "supervisor", None).await;
        assert_eq!(app.get(&m.token, "/me").await.status, 200);
        for status in ["suspended", "deleted"] {
            set_user(&app, &m.id, "status", status).await;
            for (method, path) in [("GET", "/me"), ("GET", "/users"), ("GET", "/users/x")] {
                let r = app.request(method, path, Some(&m.token), None).await;
                assert_problem(&r, 401, "unauthorized");
                // A revoked credential: the token is genuine, its user no longer may.
                assert_eq!(
                    r.headers["www-authenticate"],
                    "Bearer error=\"invalid_token\""
                );
            }
        }
        set_user(&app, &m.id, "status", "active").await;
        assert_eq!(app.get(&m.token, "/me").await.status, 200);
    });
}

#[test]
fn missing_garbage_and_foreign_tokens_are_401() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        assert_problem(
            &app.request("GET", "/me", None, None).await,
            401,
            "unauthorized",
        );
        assert_problem(&app.get("garbage", "/me").await, 401, "unauthorized");
        // A token with a flipped signature byte.
        let mut forged = t.admin.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert_problem(&app.get(&forged, "/users").await, 401, "unauthorized");
        // A real token from another user pool (another stack in the same emulator).
        let other = harness::Stack::create(&app.stack.aws_endpoint, &app.sdk).await;
        let other_app = harness::App::new(other, app.sdk.clone()).await;
        let (_, foreign) = other_app
            .provision_tenant("Other", "team", None, &email("other"), "Otto", PASSWORD)
            .await
            .unwrap();
        assert_eq!(other_app.get(&foreign, "/me").await.status, 200);
        assert_problem(&app.get(&foreign, "/me").await, 401, "unauthorized");
        let r = app.request("GET", "/me", None, None).await;
        assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
        let r = app.get(&forged, "/users").await;
        assert_eq!(
            r.headers.get("www-authenticate").unwrap(),
            "Bearer error=\"invalid_token\""
        );
    });
}

/// A refused credential minted by `tests/moto/mint_token.py` (the emulator's key, or a forged
/// one) for `sub` of this app's pool.
fn mint(app: &harness::App, kind: &str, sub: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(harness::moto::python())
        .arg(root.join("tests/moto/mint_token.py"))
        .args([
            kind,
            &app.stack.token_issuer,
            &app.stack.user_pool_client_id,
            sub,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Rule 12 across the whole API: every route that needs a caller answers every kind of
/// refused credential with the same 401 problem, `WWW-Authenticate: Bearer
/// error="invalid_token"`, and no credential at all with the bare `Bearer` challenge (RFC 6750
/// §3.1). The same tokens a gateway differential check sends.
#[test]
fn every_refused_credential_is_the_same_401_problem_on_every_route() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let me = app.get(&t.admin, "/me").await.json();
        let sub = me["id"].as_str().unwrap().to_string();
        let mut flipped = t.admin.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        let other = harness::Stack::create(&app.stack.aws_endpoint, &app.sdk).await;
        let other_app = harness::App::new(other, app.sdk.clone()).await;
        let (_, other_pool) = other_app
            .provision_tenant("Other", "team", None, &email("other"), "Otto", PASSWORD)
            .await
            .unwrap();
        let mut refused: Vec<(String, String)> = vec![
            ("garbage".into(), "garbage".into()),
            ("flipped signature".into(), flipped),
            ("other pool".into(), other_pool),
        ];
        for kind in [
            "expired",
            "no-exp",
            "id-token",
            "other-client",
            "other-pool",
            "forged-key",
            "alg-none",
            "hs256",
        ] {
            refused.push((kind.into(), mint(&app, kind, &sub)));
        }
        // The control: a token minted like the refused ones but with nothing wrong passes, so
        // each refusal is for the one thing its kind changes.
        assert_eq!(app.get(&mint(&app, "valid", &sub), "/me").await.status, 200);
        assert_eq!(app.get(&t.admin, "/me").await.status, 200);
        for (route, _, public) in harness::app::routes() {
            if public {
                continue;
            }
            let (method, template) = route.split_once(' ').unwrap();
            let path = template.replace("{id}", &sub);
            let r = Box::pin(app.request(method, &path, None, None)).await;
            assert_unauthorized(&r, route);
            assert_eq!(r.headers["www-authenticate"], "Bearer", "{route}, no token");
            // Another scheme is no bearer credential either: the bare challenge again.
            let mut basic = http::HeaderMap::new();
            basic.insert(http::header::AUTHORIZATION, "Basic YTpi".parse().unwrap());
            let r = Box::pin(app.call(method, &path, &basic, b"")).await;
            assert_unauthorized(&r, route);
            assert_eq!(r.headers["www-authenticate"], "Bearer", "{route}, Basic");
            for (kind, token) in &refused {
                let r = Box::pin(app.request(method, &path, Some(token), None)).await;
                assert_eq!(
                    r.status,
                    401,
                    "{route}, {kind}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                assert_unauthorized(&r, route);
                assert_eq!(
                    r.headers["www-authenticate"], "Bearer error=\"invalid_token\"",
                    "{route}, {kind}"
                );
            }
        }
    });
}

/// Rule 12's 401: the `unauthorized` problem, or on directory sync's routes (rule 22) the
/// SCIM error document RFC 7644 requires, with the same status and challenge.
fn assert_unauthorized(r: &harness::app::Reply, route: &str) {
    if route.contains(" /scim/") {
        assert_eq!(r.status, 401, "{route}");
        assert_eq!(r.content_type(), "application/scim+json", "{route}");
        assert_eq!(r.json()["status"], "401", "{route}");
        assert_eq!(
            r.json()["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
    } else {
        assert_problem(r, 401, "unauthorized");
    }
}

/// Rule 12: the pool's signing keys out of reach is no verdict on anyone's token. The request
/// is a 503 `unavailable` (retry), never a 401 that would sign the user out, and the failure
/// is not remembered: the first request after the keys are back is answered.
#[test]
fn a_signing_key_outage_is_a_503_to_retry_and_never_locks_anyone_out() {
    use harness::proxy::{Fault, FaultRule};
    run_with_faulty_keys(|app, faults| async move {
        let t = tenant(&app, "team", None).await;
        faults.set(
            vec![FaultRule::new("cognito.JWKS", Fault::ServerError, 1.0)],
            7,
        );
        for _ in 0..2 {
            let r = app.get(&t.admin, "/me").await;
            assert_problem(&r, 503, "unavailable");
            assert!(r.headers.contains_key(http::header::RETRY_AFTER));
            assert!(!r.headers.contains_key("www-authenticate"));
        }
        faults.clear();
        app.get(&t.admin, "/me").await.expect(200);
        // Once fetched, the keys are kept: the outage returning changes nothing.
        faults.set(
            vec![FaultRule::new("cognito.JWKS", Fault::ServerError, 1.0)],
            7,
        );
        app.get(&t.admin, "/users").await.expect(200);
        faults.clear();
    });
}

#[test]
fn malformed_bodies_and_queries_are_400_problems_that_name_the_field() {
    run(|app| async move {
        let t = tenant(&app, "team", None).await;
        let mut h = http::HeaderMap::new();
        h.insert(
            "authorization",
            format!("Bearer {}", t.admin).parse().unwrap(),
        );
        for body in [
            &b"{not json"[..],
            b"",
            b"[]",
            b"\"text\"",
            b"null",
            &[0xff, 0xfe, 0x00],
        ] {
            let r = app.call("POST", "/invites", &h, body).await;
            assert_eq!(
                r.status,
                400,
                "{:?} -> {}",
                body,
                String::from_utf8_lossy(&r.body)
            );
            assert_eq!(r.content_type(), "application/problem+json");
        }
        let r = invite(&app, &t.admin, json!({})).await;
        assert_problem(&r, 400, "invalid-request");
        let problem = r.json();
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["email", "name", "role"]);
        let r = invite(
            &app,
            &t.admin,
            json!({"email": 5, "name": ["x"], "role": null, "team": {}}),
        )
        .await;
        assert_eq!(r.json()["errors"].as_array().unwrap().len(), 4);
        let huge = "x".repeat(70 * 1024);
        let r = invite(
            &app,
            &t.admin,
            json!({"email": "a@b.co", "name": huge, "role": "agent"}),
        )
        .await;
        assert_problem(&r, 400, "malformed-body");

        for q in [
            "/users?limit=0",
            "/users?limit=abc",
            "/users?limit=1001",
            "/users?status=gone",
            "/users?role=boss",
            "/invites?status=sideways",
        ] {
            let r = app.request("GET", q, Some(&t.admin), None).await;
            assert_problem(&r, 400, "invalid-request");
            assert!(
                r.json()["errors"][0]["field"]
                    .as_str()
                    .unwrap()
                    .starts_with("query."),
                "{q}"
            );
        }
        for (body, field) in [
            (json!({}), "token"),
            (json!({"token": 7}), "token"),
            (json!({"token": "x", "extra": 1}), "extra"),
        ] {
            let r = app
                .request("POST", "/invites/preview", None, Some(body))
                .await;
            assert_problem(&r, 400, "invalid-request");
            assert_eq!(r.json()["errors"][0]["field"], field);
        }
        let r = app
            .request("POST", "/invites/accept", None, Some(json!({"token": "x"})))
            .await;
        assert_eq!(r.json()["errors"][0]["field"], "password");
        assert_problem(&app.get(&t.admin, "/nowhere").await, 404, "no-route");
        let wrong = app.request("DELETE", "/me", Some(&t.admin), None).await;
        assert_problem(&wrong, 405, "method-not-allowed");
        assert_eq!(wrong.headers[http::header::ALLOW], "GET");
        let wrong = app.request("PATCH", "/invites", Some(&t.admin), None).await;
        assert_eq!(wrong.headers[http::header::ALLOW], "POST, GET");
        assert_eq!(assert_seats_consistent(&app, &t.id).await, 1);
        assert_eq!(
            audit(&app, &t.id).await.len(),
            3,
            "nothing bad input sent was recorded"
        );
    });
}

#[test]
fn the_local_server_answers_over_real_http() {
    run(|app| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let console = "http://127.0.0.1:5173";
        let server = tokio::spawn(harness::server::serve(
            app.clone(),
            listener,
            harness::server::Cors {
                allow_origins: vec![console.into()],
            },
        ));
        let (status, body) = harness::moto::http_get(&format!("http://{addr}/me"))
            .await
            .unwrap();
        assert_eq!(status, 401);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], 401);
        let (status, _) = harness::moto::http_get(&format!("http://{addr}/users/abc?limit=2"))
            .await
            .unwrap();
        assert_eq!(status, 401);

        // CORS as API Gateway answers it for the template's CorsConfiguration: the preflight
        // needs no token and names what is allowed, for the console's origin only.
        let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
            let url = format!("http://{addr}/users/abc/role");
            async move {
                harness::moto::http_request(
                    "OPTIONS",
                    &url,
                    &[
                        ("origin", origin),
                        ("access-control-request-method", method),
                        ("access-control-request-headers", headers),
                    ],
                )
                .await
                .unwrap()
            }
        };
        let (status, h, _) =
            preflight(console, "PUT", "authorization,content-type,idempotency-key").await;
        assert_eq!(status, 204);
        assert_eq!(h["access-control-allow-origin"], console);
        assert_eq!(
            h["access-control-allow-methods"],
            "GET,POST,PUT,PATCH,DELETE"
        );
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization,content-type,idempotency-key"
        );
        assert_eq!(h["access-control-max-age"], "600");
        for (origin, method, headers) in [
            ("https://evil.example", "PUT", "authorization"),
            (console, "TRACE", "authorization"),
            (console, "GET", "x-api-key"),
        ] {
            let (status, h, _) = preflight(origin, method, headers).await;
            assert_eq!(status, 204);
            assert!(
                h.get("access-control-allow-origin").is_none(),
                "{origin} {method} {headers} must not be allowed"
            );
        }
        let (status, h, body) = harness::moto::http_request(
            "GET",
            &format!("http://{addr}/me"),
            &[("origin", console)],
        )
        .await
        .unwrap();
        assert_eq!(status, 401, "CORS does not stand in for the token check");
        assert_eq!(h["access-control-allow-origin"], console);
        assert!(String::from_utf8_lossy(&body).contains("401"));
        let (_, h, _) = harness::moto::http_request(
            "GET",
            &format!("http://{addr}/me"),
            &[("origin", "https://evil.example")],
        )
        .await
        .unwrap();
        assert!(h.get("access-control-allow-origin").is_none());
        server.abort();
    });
}

/// The other half of the gateway's contract check (`harness::contract`, which fails any test
/// that draws an undescribed status): every status `infra/openapi.yaml` names for a route is
/// one the route really answers, each drawn here on purpose. A status the code can no longer
/// give, or a new one described without a way to reach it, fails this test.
#[test]
fn every_status_the_description_names_is_one_its_route_answers() {
    // In phases, each boxed: as one future the walk overflows a debug build's test stack.
    run_faulty(|app, faults, _| async move {
        let w = Box::pin(Walk::new(app)).await;
        Box::pin(w.invites()).await;
        Box::pin(w.link()).await;
        Box::pin(w.resets()).await;
        Box::pin(w.users()).await;
        Box::pin(w.sessions_and_seats()).await;
        Box::pin(w.exports()).await;
        Box::pin(w.teams()).await;
        Box::pin(w.integrations()).await;
        Box::pin(w.scim()).await;
        Box::pin(w.mfa()).await;
        Box::pin(w.keys()).await;
        Box::pin(w.every_route(&faults)).await;
        Box::pin(w.gateway_answers()).await;
        Box::pin(w.broken_records()).await;
        let answered = w.app.answered.lock().unwrap().clone();
        let missing: Vec<String> = harness::contract::described()
            .iter()
            .flat_map(|(route, codes)| codes.iter().map(move |c| (route.clone(), *c)))
            .filter(|pair| !answered.contains(pair))
            .map(|(route, code)| format!("{route} {code}"))
            .collect();
        assert!(
            missing.is_empty(),
            "described in infra/openapi.yaml but never answered: {missing:?}"
        );
    });
}

/// A company of five seats: its admin, an agent, another agent and two pending invites.
struct Walk {
    app: std::sync::Arc<harness::App>,
    t: Tenant,
    admin_id: String,
    agent: Member,
    other: Member,
    held_addr: String,
    held: String,
    spare: String,
    nobody: String,
    /// An integration token with the `scim` scope (directory sync's routes, rule 22).
    scim: String,
    scim_id: String,
}

fn person(addr: &str) -> serde_json::Value {
    json!({"email": addr, "name": "Pat", "role": "agent"})
}

fn invited(r: harness::app::Reply) -> String {
    r.expect(201).json()["id"].as_str().unwrap().to_string()
}

impl Walk {
    async fn new(app: std::sync::Arc<harness::App>) -> Walk {
        let t = tenant(&app, "enterprise", Some(5)).await;
        let agent = member(&app, &t.admin, "agent", None).await;
        let other = member(&app, &t.admin, "agent", None).await;
        let me = app.get(&t.admin, "/me").await.expect(200).json();
        let held_addr = email("held");
        let held = invited(app.invite(&t.admin, person(&held_addr)).await);
        let spare = invited(app.invite(&t.admin, person(&email("spare"))).await);
        let made = app
            .request(
                "POST",
                "/integrations",
                Some(&t.admin),
                Some(json!({"name": "Walk sync", "scopes": ["scim"]})),
            )
            .await
            .expect(201)
            .json();
        Walk {
            scim: made["token"].as_str().unwrap().to_string(),
            scim_id: made["id"].as_str().unwrap().to_string(),
            admin_id: me["id"].as_str().unwrap().to_string(),
            nobody: shared::domain::ids::new_id(),
            app,
            t,
            agent,
            other,
            held_addr,
            held,
            spare,
        }
    }

    async fn invites(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        app.invite(admin, person(&self.held_addr)).await.expect(409);
        app.invite(admin, json!({})).await.expect(400);
        app.invite(agent, person(&email("no"))).await.expect(403);
        app.get(admin, "/invites").await.expect(200);
        app.get(admin, "/invites?limit=0").await.expect(400);
        app.get(agent, "/invites").await.expect(403);
        app.resend(admin, &self.held).await.expect(429);
        app.clock
            .advance(shared::domain::invite::RESEND_MIN_INTERVAL + time::Duration::SECOND);
        app.resend(admin, &self.held).await.expect(200);
        app.resend(admin, &self.nobody).await.expect(404);
        app.resend(agent, &self.held).await.expect(403);
        app.revoke(agent, &self.spare).await.expect(403);
        app.revoke(admin, &self.nobody).await.expect(404);
        app.revoke(admin, &self.spare).await.expect(200);
        app.revoke(admin, &self.spare).await.expect(409);
        app.resend(admin, &self.spare).await.expect(409);
    }

    /// The link's preview and accept, refused every way they can be.
    async fn link(&self) {
        let app = &self.app;
        let link = self.link_token().await;
        app.preview(&link).await.expect(200);
        let unknown = format!("{}.{}", self.nobody, "A".repeat(43));
        app.preview(&unknown).await.expect(404);
        app.accept(&unknown, PASSWORD).await.expect(404);
        for route in ["/invites/preview", "/invites/accept"] {
            let r = app.request("POST", route, None, Some(json!({}))).await;
            r.expect(400);
        }
        let inv = app.store.invite(&iid(&self.held)).await.unwrap().unwrap();
        app.store
            .claim_invite(&inv, &self.held_addr, "another-accept", app.clock_now())
            .await
            .unwrap();
        app.accept(&link, PASSWORD).await.expect(409);
    }

    /// Password resets, on a teammate of their own (the walk's agents keep their passwords and
    /// sessions for the phases after), who takes the free seat and gives it back.
    async fn resets(&self) {
        let (app, admin) = (&self.app, self.t.admin.as_str());
        let fresh = member(app, admin, "agent", None).await;
        let send = |id: String, who: String| async move {
            let path = format!("/users/{id}/password-reset");
            app.request("POST", &path, Some(&who), None).await
        };
        send(fresh.id.clone(), self.agent.token.clone())
            .await
            .expect(403);
        send(self.nobody.clone(), admin.into()).await.expect(404);
        send(fresh.id.clone(), admin.into()).await.expect(202);
        let ask = json!({"email": fresh.email});
        app.request("POST", "/password-resets", None, Some(ask))
            .await
            .expect(202);
        let link = harness::moto::token_in(
            &harness::moto::last_mail_to(&app.stack.aws_endpoint, &fresh.email)
                .await
                .unwrap()
                .text,
        )
        .unwrap();
        let post = |route: &'static str, body: Value| app.request("POST", route, None, Some(body));
        let preview = "/password-resets/preview";
        let confirm = "/password-resets/confirm";
        post(preview, json!({})).await.expect(400);
        post(preview, json!({"token": self.reset_token()}))
            .await
            .expect(404);
        post(preview, json!({"token": link})).await.expect(200);
        let set = json!({"token": link, "password": "Reset-Passw0rd-9!"});
        post(
            confirm,
            json!({"token": self.reset_token(), "password": PASSWORD}),
        )
        .await
        .expect(404);
        post(confirm, set.clone()).await.expect(200);
        post(confirm, set).await.expect(409);
        post(preview, json!({"token": link})).await.expect(409);
        app.suspend(admin, &fresh.id).await.expect(200);
        send(fresh.id.clone(), admin.into()).await.expect(409);
        app.delete_user(admin, &fresh.id).await.expect(200);
    }

    /// A token of a reset link's shape naming the admin (whose record the last phase breaks).
    fn reset_token(&self) -> String {
        format!("{}.{}", self.admin_id, "A".repeat(43))
    }

    /// The body each reset route reads far enough to reach DynamoDB: the admin's address, or a
    /// link naming the admin.
    fn reset_body(&self, route: &str) -> Option<Value> {
        match route {
            "POST /password-resets" => Some(json!({"email": self.t.admin_email})),
            "POST /password-resets/preview" => Some(json!({"token": self.reset_token()})),
            "POST /password-resets/confirm" => {
                Some(json!({"token": self.reset_token(), "password": PASSWORD}))
            }
            _ => None,
        }
    }

    async fn link_token(&self) -> String {
        self.app.token_from_mail(&self.held_addr).await.unwrap()
    }

    /// Seats are 4 of 5 here: the spare invite was revoked, the held one still holds one.
    /// Rule 18's routes: the exports.
    async fn exports(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        Box::pin(app.get(admin, "/users/export")).await.expect(200);
        Box::pin(app.get(agent, "/users/export")).await.expect(200);
        Box::pin(app.get(admin, "/users/export?limit=0"))
            .await
            .expect(400);
        Box::pin(app.get(admin, "/audit/export")).await.expect(200);
        Box::pin(app.get(agent, "/audit/export")).await.expect(403);
        Box::pin(app.get(admin, "/audit/export?from=never"))
            .await
            .expect(400);
    }

    /// Rule 19's routes: the teams, a rename and a merge, refused every way they can be.
    async fn teams(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        // The walk's agent is a supervisor by now (`users`): an agent again here, for the 403s,
        // and a supervisor again at the end.
        let team = |role: &str, t: &str| json!({"role": role, "team": t});
        Box::pin(app.change_role(admin, &self.admin_id, team("admin", "Walk")))
            .await
            .expect(200);
        Box::pin(app.change_role(admin, &self.agent.id, team("agent", "Stroll")))
            .await
            .expect(200);
        Box::pin(app.get(admin, "/teams")).await.expect(200);
        Box::pin(app.get(agent, "/teams")).await.expect(403);
        let post = |route: &'static str, who: &str, body: Value| {
            let who = who.to_string();
            async move { app.request("POST", route, Some(&who), Some(body)).await }
        };
        let rename = |from: &str, to: &str| json!({"from": from, "to": to});
        let merge = |from: &str, into: &str| json!({"from": from, "into": into});
        Box::pin(post("/teams/rename", agent, rename("Walk", "Run")))
            .await
            .expect(403);
        Box::pin(post("/teams/rename", admin, json!({})))
            .await
            .expect(400);
        Box::pin(post("/teams/rename", admin, rename("Ghost", "Run")))
            .await
            .expect(404);
        Box::pin(post("/teams/rename", admin, rename("Walk", "Stroll")))
            .await
            .expect(409);
        Box::pin(post("/teams/rename", admin, rename("Walk", "Run")))
            .await
            .expect(200);
        Box::pin(post("/teams/merge", agent, merge("Run", "Stroll")))
            .await
            .expect(403);
        Box::pin(post("/teams/merge", admin, json!({"from": "Run"})))
            .await
            .expect(400);
        Box::pin(post("/teams/merge", admin, merge("Ghost", "Stroll")))
            .await
            .expect(404);
        Box::pin(post("/teams/merge", admin, merge("Run", "Nowhere")))
            .await
            .expect(409);
        Box::pin(post("/teams/merge", admin, merge("Run", "Stroll")))
            .await
            .expect(200);
        Box::pin(app.change_role(admin, &self.agent.id, team("supervisor", "Stroll")))
            .await
            .expect(200);
    }

    /// Rules 20 and 21: the events, and the integration tokens made and revoked.
    async fn integrations(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        Box::pin(app.get(admin, "/events")).await.expect(200);
        Box::pin(app.get(agent, "/events")).await.expect(403);
        Box::pin(app.get(admin, "/events?after=-1"))
            .await
            .expect(400);
        Box::pin(app.get(admin, "/integrations")).await.expect(200);
        Box::pin(app.get(agent, "/integrations")).await.expect(403);
        let make = |who: &str, body: Value| {
            let who = who.to_string();
            async move {
                app.request("POST", "/integrations", Some(&who), Some(body))
                    .await
            }
        };
        let good = json!({"name": "Walk", "scopes": ["events:read"]});
        Box::pin(make(agent, good.clone())).await.expect(403);
        Box::pin(make(admin, json!({"name": "Walk", "scopes": []})))
            .await
            .expect(400);
        let made = Box::pin(make(admin, good)).await.expect(201).json();
        let id = made["id"].as_str().unwrap().to_string();
        let revoke = |who: &str, id: &str| {
            let (who, path) = (who.to_string(), format!("/integrations/{id}"));
            async move { app.request("DELETE", &path, Some(&who), None).await }
        };
        Box::pin(revoke(agent, &id)).await.expect(403);
        Box::pin(revoke(admin, &self.nobody)).await.expect(404);
        Box::pin(revoke(admin, &id)).await.expect(200);
    }

    /// Directory sync's routes (rule 22): each status they describe, on purpose. The company
    /// has five seats, all taken, so a create past them is the seat rule's 409.
    async fn scim(&self) {
        let (app, tok) = (&self.app, self.scim.as_str());
        let call = |method: &'static str, path: String, token: String, body: Option<Value>| async move {
            Box::pin(app.request(method, &format!("/scim/v2{path}"), Some(&token), body)).await
        };
        let user = "urn:ietf:params:scim:schemas:core:2.0:User";
        let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let events_only = app
            .request(
                "POST",
                "/integrations",
                Some(&self.t.admin),
                Some(json!({"name": "Walk events", "scopes": ["events:read"]})),
            )
            .await
            .expect(201)
            .json()["token"]
            .as_str()
            .unwrap()
            .to_string();
        for (route, _, _) in harness::app::routes() {
            if let Some(("GET" | "POST" | "PUT" | "PATCH" | "DELETE", path)) = route.split_once(' ')
            {
                if let Some(rest) = path.strip_prefix("/scim/v2") {
                    let method = route.split_once(' ').unwrap().0;
                    let r = call(
                        method,
                        rest.replace("{id}", &self.agent.id),
                        events_only.clone(),
                        None,
                    )
                    .await;
                    assert_eq!(r.status, 403, "{route}: a token without the scim scope");
                }
            }
        }
        let t = tok.to_string();
        for path in [
            "/ServiceProviderConfig",
            "/ResourceTypes",
            "/ResourceTypes/User",
            "/Schemas",
            &format!("/Schemas/{user}"),
            "/Users",
        ] {
            call("GET", path.to_string(), t.clone(), None)
                .await
                .expect(200);
        }
        for path in [
            "/ResourceTypes/Printer".to_string(),
            "/Schemas/urn:nope".to_string(),
            format!("/Users/{}", self.nobody),
        ] {
            call("GET", path, t.clone(), None).await.expect(404);
        }
        call("GET", format!("/Users/{}", self.agent.id), t.clone(), None)
            .await
            .expect(200);
        let long = "x".repeat(1025);
        call(
            "GET",
            format!("/Users/{}?attributes={long}", self.agent.id),
            t.clone(),
            None,
        )
        .await
        .expect(400);
        call("GET", "/Users?filter=userName%20eq".into(), t.clone(), None)
            .await
            .expect(400);
        for path in ["/.search", "/Users/.search"] {
            let search = |f: &str| Some(json!({ "filter": f }));
            call("POST", path.into(), t.clone(), search("userName pr"))
                .await
                .expect(200);
            call("POST", path.into(), t.clone(), search("userName eq"))
                .await
                .expect(400);
        }
        call(
            "POST",
            "/Users".into(),
            t.clone(),
            Some(json!({"schemas": [user]})),
        )
        .await
        .expect(400);
        // The held invite's address is taken; then creates until the seats run out.
        call(
            "POST",
            "/Users".into(),
            t.clone(),
            Some(json!({"schemas": [user], "userName": self.held_addr})),
        )
        .await
        .expect(409);
        let mut filled = Vec::new();
        let full = loop {
            let r = call(
                "POST",
                "/Users".into(),
                t.clone(),
                Some(json!({"schemas": [user], "userName": email("fill")})),
            )
            .await;
            match r.status {
                201 if filled.len() < 5 => {
                    filled.push(r.json()["id"].as_str().unwrap().to_string())
                }
                _ => break r,
            }
        };
        assert!(
            full.json()["detail"].as_str().unwrap().contains("seats"),
            "{}",
            full.json()
        );
        full.expect(409);
        for id in filled {
            call("DELETE", format!("/Users/{id}"), t.clone(), None)
                .await
                .expect(204);
        }
        let created = call(
            "POST",
            "/Users".into(),
            t.clone(),
            Some(json!({"schemas": [user], "userName": email("walk")})),
        )
        .await
        .expect(201)
        .json();
        let spare = format!("/Users/{}", created["id"].as_str().unwrap());
        for m in ["PUT", "PATCH"] {
            call(
                m,
                format!("/Users/{}", self.nobody),
                t.clone(),
                Some(patch(json!([]))),
            )
            .await
            .expect(404);
            call(
                m,
                spare.clone(),
                t.clone(),
                Some(json!({"Operations": "x"})),
            )
            .await
            .expect(400);
        }
        // The last admin can't be deactivated or deleted.
        let admin = format!("/Users/{}", self.admin_id);
        call(
            "PATCH",
            admin.clone(),
            t.clone(),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await
        .expect(409);
        let admin_body = |active: bool| json!({"schemas": [user], "userName": self.t.admin_email, "active": active});
        call("PUT", admin.clone(), t.clone(), Some(admin_body(false)))
            .await
            .expect(409);
        call("DELETE", admin, t.clone(), None).await.expect(409);
        // A created person: revoked (a seat frees), then asked back at once (429, the resend
        // pace); a PATCH, a PUT, and the delete.
        let spare_addr = created["userName"].as_str().unwrap().to_string();
        let spare_body =
            |active: bool| json!({"schemas": [user], "userName": spare_addr, "active": active});
        call("PUT", spare.clone(), t.clone(), Some(spare_body(false)))
            .await
            .expect(200);
        call("PUT", spare.clone(), t.clone(), Some(spare_body(true)))
            .await
            .expect(429);
        call(
            "PATCH",
            spare.clone(),
            t.clone(),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": true}]),
            )),
        )
        .await
        .expect(429);
        call(
            "PATCH",
            spare.clone(),
            t.clone(),
            Some(patch(
                json!([{"op": "add", "path": "externalId", "value": "x1"}]),
            )),
        )
        .await
        .expect(200);
        call(
            "PUT",
            spare.clone(),
            t.clone(),
            Some(json!({"schemas": [user], "userName": spare_addr, "displayName": "Walked"})),
        )
        .await
        .expect(200);
        call("DELETE", spare.clone(), t.clone(), None)
            .await
            .expect(204);
        call("DELETE", spare, t.clone(), None).await.expect(404);

        // Groups: each status, on purpose.
        let group = "urn:ietf:params:scim:schemas:core:2.0:Group";
        let named = |name: &str| {
            Some(
                json!({"schemas": [group], "displayName": name, "members": [{"value": self.agent.id}]}),
            )
        };
        let g = call("POST", "/Groups".into(), t.clone(), named("Walk leads"))
            .await
            .expect(201)
            .json();
        let at = format!("/Groups/{}", g["id"].as_str().unwrap());
        call("POST", "/Groups".into(), t.clone(), named("Walk others"))
            .await
            .expect(201);
        call("POST", "/Groups".into(), t.clone(), named("WALK LEADS"))
            .await
            .expect(409);
        call(
            "POST",
            "/Groups".into(),
            t.clone(),
            Some(json!({"schemas": [group]})),
        )
        .await
        .expect(400);
        call("GET", "/Groups".into(), t.clone(), None)
            .await
            .expect(200);
        call(
            "GET",
            "/Groups?filter=displayName%20eq".into(),
            t.clone(),
            None,
        )
        .await
        .expect(400);
        let search = |f: &str| Some(json!({ "filter": f }));
        call(
            "POST",
            "/Groups/.search".into(),
            t.clone(),
            search("displayName pr"),
        )
        .await
        .expect(200);
        call(
            "POST",
            "/Groups/.search".into(),
            t.clone(),
            search("displayName eq"),
        )
        .await
        .expect(400);
        call("GET", at.clone(), t.clone(), None).await.expect(200);
        call(
            "GET",
            format!("{at}?excludedAttributes={long}"),
            t.clone(),
            None,
        )
        .await
        .expect(400);
        let nowhere = format!("/Groups/{}", self.nobody);
        call("GET", nowhere.clone(), t.clone(), None)
            .await
            .expect(404);
        for m in ["PUT", "PATCH"] {
            call(m, nowhere.clone(), t.clone(), Some(patch(json!([]))))
                .await
                .expect(404);
            call(m, at.clone(), t.clone(), Some(json!({"Operations": "x"})))
                .await
                .expect(400);
        }
        call("PUT", at.clone(), t.clone(), named("Walk others"))
            .await
            .expect(409);
        let rename = |to: &str| {
            Some(patch(
                json!([{"op": "replace", "path": "displayName", "value": to}]),
            ))
        };
        call("PATCH", at.clone(), t.clone(), rename("Walk others"))
            .await
            .expect(409);
        call("PATCH", at.clone(), t.clone(), rename("Walk heads"))
            .await
            .expect(200);
        call("PUT", at.clone(), t.clone(), named("Walk leads"))
            .await
            .expect(200);
        call("DELETE", at.clone(), t.clone(), None)
            .await
            .expect(204);
        call("DELETE", at, t.clone(), None).await.expect(404);

        // Group mappings: the admin's, never an agent's; an admin group whose only member is
        // the last admin can't be deleted (409), nor mapped away.
        let (admin, agent) = (&self.t.admin, &self.agent.token);
        let maps = |body: Value, token: &str| {
            let token = token.to_string();
            async move {
                Box::pin(app.request("PUT", "/tenant/group-mappings", Some(&token), Some(body)))
                    .await
            }
        };
        app.get(admin, "/tenant/group-mappings").await.expect(200);
        app.get(agent, "/tenant/group-mappings").await.expect(403);
        let admins = json!({"mappings": [{"group": "Walk admins", "role": "admin"}]});
        maps(admins.clone(), agent).await.expect(403);
        maps(json!({"mappings": [{"group": "Walk admins"}]}), admin)
            .await
            .expect(400);
        maps(admins, admin).await.expect(200);
        maps(json!({"mappings": [], "version": 0}), admin)
            .await
            .expect(409);
        let g = call(
            "POST",
            "/Groups".into(),
            t.clone(),
            Some(json!({"schemas": [group], "displayName": "Walk admins", "members": [{"value": self.admin_id}]})),
        )
        .await
        .expect(201)
        .json();
        let at = format!("/Groups/{}", g["id"].as_str().unwrap());
        call("DELETE", at.clone(), t.clone(), None)
            .await
            .expect(409);
        maps(
            json!({"mappings": [{"group": "Walk admins", "role": "agent"}]}),
            admin,
        )
        .await
        .expect(409);
        maps(json!({"mappings": []}), admin).await.expect(200);
        call("DELETE", at, t.clone(), None).await.expect(204);
    }

    /// Rule 17's route: a quick edit's refusals and its success.
    async fn quick_edit(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        let target = &self.agent.id;
        let v = Box::pin(app.get(admin, &format!("/users/{target}")))
            .await
            .json()["version"]
            .clone();
        let edit = |version: &serde_json::Value| {
            Some(json!({"changes": [{"id": target, "version": version, "maxChats": 6}]}))
        };
        Box::pin(app.request("PATCH", "/users", Some(agent), edit(&v)))
            .await
            .expect(403);
        Box::pin(app.request("PATCH", "/users", Some(admin), edit(&json!(999))))
            .await
            .expect(409);
        Box::pin(app.request("PATCH", "/users", Some(admin), Some(json!({"changes": []}))))
            .await
            .expect(400);
        Box::pin(app.request("PATCH", "/users", Some(admin), edit(&v)))
            .await
            .expect(200);
    }

    /// Rule 16's routes: availability (an admin's for anyone, one's own) and capacity.
    async fn availability_and_capacity(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        let (target, other, nobody) = (&self.agent.id, &self.other.id, &self.nobody);
        let away = || Some(json!({"availability": "away"}));
        let avail = |id: &str| format!("/users/{id}/availability");
        app.request("PUT", &avail(target), Some(admin), away())
            .await
            .expect(200);
        app.request("PUT", &avail(nobody), Some(admin), away())
            .await
            .expect(404);
        app.request("PUT", &avail(other), Some(agent), away())
            .await
            .expect(403);
        app.request("PUT", "/me/availability", Some(agent), away())
            .await
            .expect(200);
        Box::pin(self.quick_edit()).await;
        let cap = || Some(json!({"maxChats": 4}));
        app.request("PUT", "/tenant/max-chats", Some(admin), cap())
            .await
            .expect(200);
        app.request("PUT", "/tenant/max-chats", Some(agent), cap())
            .await
            .expect(403);
    }

    async fn users(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        let (me, other, nobody) = (&self.admin_id, &self.other.id, &self.nobody);
        app.get(admin, "/users").await.expect(200);
        app.get(admin, "/users?limit=0").await.expect(400);
        app.get(admin, &format!("/users/{}", self.agent.id))
            .await
            .expect(200);
        app.get(admin, &format!("/users/{nobody}"))
            .await
            .expect(404);
        let role = |r: &str| json!({"role": r});
        let target = &self.agent.id;
        app.change_role(admin, target, role("king"))
            .await
            .expect(400);
        let stale = json!({"role": "agent", "version": 999});
        app.change_role(admin, target, stale).await.expect(409);
        app.change_role(admin, nobody, role("agent"))
            .await
            .expect(404);
        app.change_role(agent, other, role("agent"))
            .await
            .expect(403);
        app.change_role(admin, target, role("supervisor"))
            .await
            .expect(200);
        Box::pin(self.availability_and_capacity()).await;
        for (method, tail) in [
            ("POST", "/suspend"),
            ("POST", "/reactivate"),
            ("POST", "/sign-out"),
            ("DELETE", ""),
        ] {
            let (missing, theirs) = (
                format!("/users/{nobody}{tail}"),
                format!("/users/{other}{tail}"),
            );
            app.request(method, &missing, Some(admin), None)
                .await
                .expect(404);
            app.request(method, &theirs, Some(agent), None)
                .await
                .expect(403);
        }
        app.suspend(admin, me).await.expect(409);
        app.delete_user(admin, me).await.expect(409);
        let own = format!("/users/{me}/sign-out");
        let r = app.request("POST", &own, Some(admin), None).await;
        assert_problem(&r, 409, "self-action");
    }

    /// After `users` (a future of its own: as one, the two halves' frame overflows a debug
    /// build's test stack).
    async fn sessions_and_seats(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        let other = &self.other.id;
        // Sessions: the other agent signs out everywhere, then an admin signs them out again.
        let sign_out = format!("/users/{other}/sign-out");
        let new_password =
            json!({"currentPassword": PASSWORD, "newPassword": "Another-Passw0rd-7!"});
        app.request(
            "POST",
            "/me/password",
            Some(&self.other.token),
            Some(new_password),
        )
        .await
        .expect(200);
        // The change ended the session it came from; a new one starts past its second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let again = app.sign_in(&self.other.email, "Another-Passw0rd-7!").await;
        app.request("POST", "/me/sign-out", Some(&again.unwrap()), None)
            .await
            .expect(200);
        app.request("POST", &sign_out, Some(admin), None)
            .await
            .expect(200);
        app.suspend(admin, other).await.expect(200);
        let to_suspended = format!("/users/{other}/availability");
        let away = Some(json!({"availability": "away"}));
        let r = Box::pin(app.request("PUT", &to_suspended, Some(admin), away)).await;
        assert_problem(&r, 409, "conflict");
        // 3 of 5 now; two new invites take the last seats, so reactivating finds none.
        let filler = invited(app.invite(admin, person(&email("filler"))).await);
        invited(app.invite(admin, person(&email("filler"))).await);
        app.reactivate(admin, other).await.expect(409);
        app.revoke(admin, &filler).await.expect(200);
        app.reactivate(admin, other).await.expect(200);
        app.delete_user(admin, other).await.expect(200);
        app.request("POST", &sign_out, Some(admin), None)
            .await
            .expect(409);
        app.get(agent, "/tenant").await.expect(403);
        app.get(admin, "/tenant").await.expect(200);
        app.get(agent, "/audit").await.expect(403);
        app.get(admin, "/audit?limit=0").await.expect(400);
        app.get(admin, "/audit").await.expect(200);
    }

    /// Two-step verification (rule 14). After `users`: the other agent is deleted by then, and
    /// the agent's sessions, which the reset ends, are not needed again.
    async fn mfa(&self) {
        let (app, admin, agent) = (&self.app, &self.t.admin, &self.agent.token);
        let (me, other, nobody) = (&self.admin_id, &self.other.id, &self.nobody);
        put_policy(app, admin, "all").await.expect(400);
        put_policy(app, agent, "admins").await.expect(403);
        put_policy(app, admin, "admins").await.expect(409);
        app.request("POST", "/me/mfa", Some(agent), Some(json!({"code": "x"})))
            .await
            .expect(400);
        app.turn_on_mfa(admin).await.expect(200);
        app.request("POST", "/me/mfa/setup", Some(admin), None)
            .await
            .expect(409);
        let any_code = json!({"code": "123456"});
        app.request("POST", "/me/mfa", Some(admin), Some(any_code))
            .await
            .expect(409);
        put_policy(app, admin, "admins").await.expect(200);
        let disable = |password: &str, code: &str| {
            app.request(
                "POST",
                "/me/mfa/disable",
                Some(admin),
                Some(json!({"password": password, "code": code})),
            )
        };
        disable("", "").await.expect(400);
        disable(PASSWORD, "123456").await.expect(409);
        for (token, id, status) in [(agent, other, 403), (admin, nobody, 404), (admin, me, 409)] {
            let path = format!("/users/{id}/mfa-reset");
            app.request("POST", &path, Some(token), None)
                .await
                .expect(status);
        }
        let reset_agent = format!("/users/{}/mfa-reset", self.agent.id);
        app.request("POST", &reset_agent, Some(admin), None)
            .await
            .expect(200);
        put_policy(app, admin, "off").await.expect(200);
        let code = harness::totp::fresh_code(harness::totp::MOTO_SECRET).await;
        disable(PASSWORD, &code).await.expect(200);
    }

    /// Idempotency keys (rule 11) on every write route: a malformed key is a 400 before any
    /// work, and a key already used for another request is a 422 (a key's outcome is kept for
    /// a rule's 409 as for a success; on the public route, for the accept that succeeded).
    async fn keys(&self) {
        let app = &self.app;
        let admin = self.t.admin.as_str();
        let used = shared::domain::ids::new_id();
        app.request_keyed(
            "POST",
            &format!("/users/{}/suspend", self.admin_id),
            Some(admin),
            None,
            Some(&used),
        )
        .await
        .expect(409);
        let addr = email("keyed");
        let joining = invited(app.invite(admin, person(&addr)).await);
        let link = app.token_from_mail(&addr).await.unwrap();
        let accepted = shared::domain::ids::new_id();
        let accept = |pw: &str| json!({"token": link, "password": pw});
        app.request_keyed(
            "POST",
            "/invites/accept",
            None,
            Some(accept(PASSWORD)),
            Some(&accepted),
        )
        .await
        .expect(201);
        for (route, _, public) in harness::app::routes() {
            let (method, template) = route.split_once(' ').unwrap();
            // The set-up's answer and a new integration token's are secrets never kept, so
            // they take no key.
            if method == "GET"
                || route == "POST /invites/preview"
                || route == "POST /password-resets/preview"
                || route == "POST /me/mfa/setup"
                || route == "POST /integrations"
                // SCIM has no Idempotency-Key: a provider's retry is safe by the protocol (a
                // repeated create finds the address taken, PUT and PATCH say the end state).
                || template.starts_with("/scim/")
            {
                continue;
            }
            let id = match template.starts_with("/invites") {
                true => &joining,
                false => &self.agent.id,
            };
            let path = template.replace("{id}", id);
            let body = match route {
                "POST /invites" => Some(person(&email("key"))),
                "PUT /users/{id}/role" => Some(json!({"role": "agent"})),
                "POST /invites/accept" => Some(accept("Another-Passw0rd!")),
                "POST /me/password" => Some(json!({"currentPassword": PASSWORD,
                                                   "newPassword": "Keyed-Passw0rd-1!"})),
                "POST /password-resets" => Some(json!({"email": email("key")})),
                "POST /me/mfa" => Some(json!({"code": "123456"})),
                "POST /me/mfa/disable" => Some(json!({"password": PASSWORD, "code": "123456"})),
                "PUT /tenant/mfa-policy" => Some(json!({"policy": "off"})),
                // A key is taken only with a token of a reset link's shape.
                "POST /password-resets/confirm" => Some(json!({
                    "token": self.reset_token(),
                    "password": "Keyed-Passw0rd-1!"
                })),
                _ => None,
            };
            let (token, key) = match public {
                true => (None, accepted.as_str()),
                false => (Some(admin), used.as_str()),
            };
            app.request_keyed(method, &path, token, body.clone(), Some("has space"))
                .await
                .expect(400);
            app.request_keyed(method, &path, token, body, Some(key))
                .await
                .expect(422);
        }
    }

    /// Every route without a token, then with DynamoDB failing under it.
    async fn every_route(&self, faults: &harness::proxy::Faults) {
        let link = self.link_token().await;
        let concrete = |route: &str| {
            let (method, template) = route.split_once(' ').unwrap();
            let id = match template.starts_with("/invites") {
                true => &self.held,
                false => &self.agent.id,
            };
            (method.to_string(), template.replace("{id}", id))
        };
        let body = |route: &str| match route {
            "POST /invites" => Some(person(&email("late"))),
            "PUT /users/{id}/role" => Some(json!({"role": "agent"})),
            "PUT /users/{id}/availability" | "PUT /me/availability" => {
                Some(json!({"availability": "away"}))
            }
            "PUT /tenant/max-chats" => Some(json!({"maxChats": 5})),
            "PUT /tenant/group-mappings" => Some(json!({"mappings": []})),
            "POST /teams/rename" => Some(json!({"from": "Stroll", "to": "Amble"})),
            "POST /teams/merge" => Some(json!({"from": "Stroll", "into": "Amble"})),
            "PATCH /users" => Some(json!({"changes": [{"id": self.agent.id, "version": 1}]})),
            "POST /invites/preview" => Some(json!({"token": link})),
            "POST /invites/accept" => Some(json!({"token": link, "password": PASSWORD})),
            route => self.reset_body(route),
        };
        for (route, _, public) in harness::app::routes() {
            if !public {
                let (method, path) = concrete(route);
                let r = self.app.request(&method, &path, None, body(route));
                r.await.expect(401);
            }
        }
        let all_dynamodb =
            harness::proxy::FaultRule::new("dynamodb.", harness::proxy::Fault::ServerError, 1.0);
        faults.set(vec![all_dynamodb], 13);
        for (route, _, public) in harness::app::routes() {
            let (method, path) = concrete(route);
            let token = match (public, path.starts_with("/scim/")) {
                (true, _) => None,
                (false, true) => Some(self.scim.as_str()),
                (false, false) => Some(self.t.admin.as_str()),
            };
            let r = Box::pin(self.app.request(&method, &path, token, body(route)));
            r.await.expect(503);
        }
        faults.clear();
    }

    /// What API Gateway answers itself, on every route and as AWS words it (not problems): a
    /// body over its payload limit, a route over its throttle (each route its own bucket),
    /// and a body that passes the gateway but not Lambda's invocation limit.
    async fn gateway_answers(&self) {
        let aws = |r: harness::app::Reply, status: u16, message: &str| {
            let r = r.expect(status);
            assert_eq!(r.content_type(), "application/json");
            assert_eq!(r.json(), json!({ "message": message }));
        };
        let huge = vec![b'x'; harness::gateway::PAYLOAD_LIMIT + 1];
        let big = vec![b'x'; harness::gateway::INVOKE_LIMIT + 1];
        for (route, _, public) in harness::app::routes() {
            let (method, template) = route.split_once(' ').unwrap();
            let path = template.replace("{id}", &self.agent.id);
            let mut h = http::HeaderMap::new();
            if !public {
                let bearer = format!("Bearer {}", self.t.admin);
                h.insert(http::header::AUTHORIZATION, bearer.parse().unwrap());
            }
            let call = self.app.call(method, &path, &h, &huge);
            aws(call.await, 413, "Request Entity Too Large");
            let call = self.app.call(method, &path, &h, &big);
            aws(call.await, 500, "Internal Server Error");
            self.app.throttle.exhaust(route);
            aws(
                self.app.call(method, &path, &h, b"").await,
                429,
                "Too Many Requests",
            );
            // The other routes keep their own tokens.
            let other = if route == "GET /me" { "/tenant" } else { "/me" };
            self.app.get(&self.t.admin, other).await.expect(200);
            self.app.throttle.refill();
        }
    }

    /// A record that can't be read is a fault of ours: 500 with the request id, never a 503
    /// that a retry could mend. The caller's record and the linked invite are broken, so
    /// this phase comes last.
    async fn broken_records(&self) {
        let link = self.link_token().await;
        set_user(&self.app, &self.admin_id, "role", "owner").await;
        set_invite(&self.app, &self.held, "role", "owner").await;
        set_record(
            &self.app,
            &format!("INTEGRATION#{}", self.scim_id),
            "INTEGRATION",
            "createdAt",
            "yesterday",
        )
        .await;
        for (route, _, public) in harness::app::routes() {
            let (method, template) = route.split_once(' ').unwrap();
            let id = match template.starts_with("/invites") {
                true => &self.held,
                false => &self.agent.id,
            };
            let path = template.replace("{id}", id);
            let body = match route {
                "POST /invites" => Some(person(&email("late"))),
                "PUT /users/{id}/role" => Some(json!({"role": "agent"})),
                "POST /invites/preview" => Some(json!({"token": link})),
                "POST /invites/accept" => Some(json!({"token": link, "password": PASSWORD})),
                route => self.reset_body(route),
            };
            if template.starts_with("/scim/") {
                // Directory sync's token record is the broken one: a SCIM error naming the request.
                let r = Box::pin(self.app.request(method, &path, Some(&self.scim), body)).await;
                let r = r.expect(500);
                assert_eq!(r.content_type(), "application/scim+json");
                assert!(
                    r.json()["detail"].as_str().unwrap().contains("request "),
                    "{route}"
                );
                continue;
            }
            let token = (!public).then_some(self.t.admin.as_str());
            let r = Box::pin(self.app.request(method, &path, token, body)).await;
            assert_problem(&r, 500, "internal");
            assert!(
                r.json()["requestId"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{route}: a 500 names its request"
            );
        }
    }
}

async fn put_policy(app: &harness::App, token: &str, p: &str) -> harness::app::Reply {
    app.request(
        "PUT",
        "/tenant/mfa-policy",
        Some(token),
        Some(json!({ "policy": p })),
    )
    .await
}

async fn set_record(app: &harness::App, pk: &str, sk: &str, field: &str, value: &str) {
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.stack.directory_table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .update_expression("SET #f = :v")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":v", AttributeValue::S(value.into()))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await
        .unwrap();
}

async fn set_invite(app: &harness::App, id: &str, field: &str, value: &str) {
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.stack.directory_table)
        .key("pk", AttributeValue::S(format!("INVITE#{id}")))
        .key("sk", AttributeValue::S("INVITE".into()))
        .update_expression("SET #f = :v")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":v", AttributeValue::S(value.into()))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await
        .unwrap();
}
