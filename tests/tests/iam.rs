//! Every AWS action each function performs, as seen on the wire while the whole product runs,
//! is granted to that function by the SAM template, on the right resource; and every item it
//! reads is read consistently (docs/rules.md rule 5). The template's policies are otherwise only
//! exercised on a real account; here a missing grant (say a new BatchGetItem, or an update of
//! the audit table) fails a test instead of a deploy.

mod common;

use shared::domain::ids::new_id;

use common::*;
use harness::proxy::Call;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use time::Duration;

/// The fallback (the `$default` route) calls nothing; every other function calls AWS.
fn calling_aws() -> Vec<&'static str> {
    harness::FUNCTIONS
        .iter()
        .copied()
        .filter(|f| *f != shared::routes::FALLBACK_FUNCTION)
        .collect()
}

/// (IAM action, template resource) pairs a call needs: the resource is the logical name the
/// template uses (`DirectoryTable`, `DirectoryTable/index/gsi1`, `AuditTable`, `UserPool`),
/// or for SES `ses identity/<name> from <address>` (see `ses_needs`).
fn needs(
    call: &Call,
    directory: &str,
    audit: &str,
    bus: &str,
    failed_events: &str,
) -> Vec<(String, String)> {
    let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
    let table = |name: &str| {
        if name == directory {
            "DirectoryTable".to_string()
        } else if name == audit {
            "AuditTable".to_string()
        } else {
            panic!("{} on an unknown table {name}", call.op)
        }
    };
    let (svc, op) = call.op.split_once('.').unwrap();
    match svc {
        "dynamodb" => match op {
            "TransactWriteItems" => body["TransactItems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| {
                    let (kind, spec) = item.as_object().unwrap().iter().next().unwrap();
                    let action = match kind.as_str() {
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        "ConditionCheck" => "ConditionCheckItem",
                        other => panic!("transaction item {other}"),
                    };
                    let mut resource = table(spec["TableName"].as_str().unwrap());
                    if kind == "Update" {
                        // The audit table's one update is a company's events item, the
                        // key the template's LeadingKeys condition allows.
                        if resource == "AuditTable" {
                            let pk = spec["Key"]["pk"]["S"].as_str().unwrap();
                            assert!(pk.starts_with("EVENTS#"), "{} updates {pk}", call.op);
                        }
                        resource =
                            format!("{resource} attributes {}", attributes_of(spec).join(","));
                    }
                    (format!("dynamodb:{action}"), resource)
                })
                .collect(),
            "BatchWriteItem" => body["RequestItems"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(t, writes)| {
                    // Only publish-events batch-writes, and only the companies' event logs.
                    for w in writes.as_array().unwrap() {
                        let pk = w["PutRequest"]["Item"]["pk"]["S"].as_str().unwrap_or("");
                        assert!(pk.starts_with("EVENTLOG#"), "{} writes {w}", call.op);
                    }
                    (format!("dynamodb:{op}"), table(t))
                })
                .collect(),
            "BatchGetItem" => body["RequestItems"]
                .as_object()
                .unwrap()
                .keys()
                .map(|t| (format!("dynamodb:{op}"), table(t)))
                .collect(),
            "UpdateItem" => vec![(
                format!("dynamodb:{op}"),
                format!(
                    "{} attributes {}",
                    table(body["TableName"].as_str().unwrap()),
                    attributes_of(&body).join(",")
                ),
            )],
            _ => {
                let mut resource = table(body["TableName"].as_str().unwrap());
                if let Some(index) = body["IndexName"].as_str() {
                    resource = format!("{resource}/index/{index}");
                }
                vec![(format!("dynamodb:{op}"), resource)]
            }
        },
        // Cognito authorizes a user's own ChangePassword and two-step set-up by the access token
        // they carry, not by IAM ("doesn't require IAM permissions"), and RevokeToken by the
        // refresh token ("doesn't evaluate IAM policies"): nothing to grant.
        "cognito"
            if matches!(
                op,
                "ChangePassword"
                    | "AssociateSoftwareToken"
                    | "VerifySoftwareToken"
                    | "SetUserMFAPreference"
                    | "RevokeToken"
            ) =>
        {
            vec![]
        }
        "cognito" => vec![(format!("cognito-idp:{op}"), "UserPool".to_string())],
        "ses" => ses_needs(&body),
        // The event source mapping, reading with publish-events' role.
        "dynamodbstreams" => vec![(format!("dynamodb:{op}"), "AuditTable/stream".to_string())],
        "events"
            if body["Entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["EventBusName"] == bus) =>
        {
            vec![(format!("events:{op}"), "EventBus".to_string())]
        }
        "sqs" if body["QueueUrl"] == failed_events => {
            vec![(format!("sqs:{op}"), "EventsFailedQueue".to_string())]
        }
        _ => panic!("unexpected AWS call {} {body}", call.op),
    }
}

/// The top-level attributes an UpdateItem names (what IAM's `dynamodb:Attributes` holds it to):
/// its key, the names behind `#placeholders`, and the bare names in its update and condition.
fn attributes_of(body: &Value) -> Vec<String> {
    const WORDS: &[&str] = &[
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "BETWEEN",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "if_not_exists",
        "list_append",
    ];
    let mut out: BTreeSet<String> = body["Key"]
        .as_object()
        .map(|k| k.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(names) = body["ExpressionAttributeNames"].as_object() {
        out.extend(
            names
                .values()
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
    }
    for field in ["UpdateExpression", "ConditionExpression"] {
        let text = body[field].as_str().unwrap_or("");
        let mut prev = ' ';
        let mut word = String::new();
        for c in text.chars().chain([' ']) {
            if c.is_ascii_alphanumeric() || c == '_' {
                if word.is_empty() && (prev == ':' || prev == '#') {
                    word.push('\0');
                }
                word.push(c);
            } else {
                if !word.is_empty() && !word.starts_with('\0') && !WORDS.contains(&word.as_str()) {
                    out.insert(word.clone());
                }
                word.clear();
            }
            prev = c;
        }
    }
    out.into_iter().collect()
}

/// Whether a grant covers a need: the same action and resource, or for an UpdateItem (whose
/// need names the attributes it touches) a grant on the table, or one limited to attributes
/// (`dynamodb:Attributes`) that include all of them.
fn dynamo_grant_covers(granted: &(String, String), need: &(String, String)) -> bool {
    if granted == need {
        return true;
    }
    let Some((table, used)) = need.1.split_once(" attributes ") else {
        return false;
    };
    if granted.0 != need.0 {
        return false;
    }
    match granted.1.split_once(" attributes ") {
        None => granted.1 == table,
        Some((t, allowed)) => {
            let allowed: BTreeSet<&str> = allowed.split(',').collect();
            t == table && used.split(',').all(|a| allowed.contains(a))
        }
    }
}

/// SES authorizes a send against the identity that verifies the sender, which is the address
/// itself or, in the usual setup with DKIM, its domain; and, while the account is in the
/// sandbox, against each recipient's identity (address or domain) too. Which of them exist
/// is the account's business, so a grant must cover all of them, each with the request's
/// `ses:FromAddress` as condition context: the address alone, not its display name (that is
/// `ses:FromDisplayName`, which the template does not restrict).
fn ses_needs(body: &Value) -> Vec<(String, String)> {
    let mailbox = body["FromEmailAddress"].as_str().expect("a sender");
    let from = match mailbox.rsplit_once('<') {
        Some((_, rest)) => rest.strip_suffix('>').expect("a closed <address>"),
        None => mailbox,
    }
    .to_string();
    let mut identities = vec![];
    let mut add = |address: &str| {
        identities.push(address.to_string());
        identities.push(address.rsplit_once('@').expect("an address").1.to_string());
    };
    add(&from);
    for to in body["Destination"]["ToAddresses"]
        .as_array()
        .expect("recipients")
    {
        add(to.as_str().unwrap());
    }
    let mut needs: Vec<(String, String)> = identities
        .into_iter()
        .map(|i| {
            (
                "ses:SendEmail".to_string(),
                format!("ses identity/{i} from {from}"),
            )
        })
        .collect();
    // A send that names a configuration set is authorized against the set too.
    if let Some(set) = body["ConfigurationSetName"].as_str() {
        needs.push((
            "ses:SendEmail".to_string(),
            format!("ses configuration-set/{set}"),
        ));
    }
    needs
}

/// Whether a template grant `ses identity/<pattern> from <condition>` covers a need `ses
/// identity/<name> from <address>`, with the stack's parameter values in the template's
/// `${SenderEmail}` / `!Ref SenderEmail`.
fn ses_grant_covers(grant: &str, need: &str, sender: &str) -> bool {
    let parse = |s: &str| -> (String, String) {
        let rest = s.strip_prefix("ses identity/").expect("an SES entry");
        let (id, from) = rest.split_once(" from ").expect("with its sender");
        (id.to_string(), from.to_string())
    };
    let subst = |s: &str| {
        s.replace("${SenderEmail}", sender)
            .replace("!Ref SenderEmail", sender)
    };
    let ((pattern, condition), (identity, from)) = (parse(grant), parse(need));
    let (pattern, condition) = (subst(&pattern), subst(&condition));
    let identity_ok = match pattern.strip_suffix('*') {
        Some(prefix) => identity.starts_with(prefix),
        None => identity == pattern,
    };
    identity_ok && (condition == "*" || condition == from)
}

#[test]
fn the_ses_model_refuses_a_grant_on_the_sender_address_alone_or_without_a_sender_condition() {
    let need = |id: &str| format!("ses identity/{id} from no-reply@acme.test");
    let sender = "no-reply@acme.test";
    // What the template granted before: the address identity only.
    let narrow = "ses identity/${SenderEmail} from *";
    assert!(ses_grant_covers(
        narrow,
        &need("no-reply@acme.test"),
        sender
    ));
    assert!(
        !ses_grant_covers(narrow, &need("acme.test"), sender),
        "domain identity"
    );
    assert!(
        !ses_grant_covers(narrow, &need("ann@example.test"), sender),
        "sandbox recipient"
    );
    // Every identity, but only for our sender.
    let wide = "ses identity/* from !Ref SenderEmail";
    for id in [
        "no-reply@acme.test",
        "acme.test",
        "ann@example.test",
        "example.test",
    ] {
        assert!(ses_grant_covers(wide, &need(id), sender), "{id}");
    }
    let spoofed = "ses identity/acme.test from ceo@acme.test";
    assert!(
        !ses_grant_covers(wide, spoofed, sender),
        "another From address"
    );
}

/// The template's grants per binary: (action, resource) pairs from each `- Effect: Allow`
/// statement of the function's policies.
fn grants() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut binary: Option<String> = None;
    let mut actions: Vec<String> = Vec::new();
    // The grants of the statement being read, until its condition (if any) narrows them.
    let mut last: Vec<(String, String)> = Vec::new();
    for line in template.lines() {
        let t = line.trim();
        if line.starts_with("  ") && !line.starts_with("   ") && t.ends_with(':') {
            binary = None;
        }
        if let Some(b) = t.strip_prefix("Binary: ") {
            binary = Some(b.to_string());
        }
        if let Some(a) = t.strip_prefix("Action: ") {
            actions = a
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
        }
        if let (Some(from), Some(b)) = (t.strip_prefix("ses:FromAddress: "), &binary) {
            let set = out.entry(b.clone()).or_default();
            let open: Vec<_> = set
                .iter()
                .filter(|(_, r)| r.starts_with("ses identity/") && r.ends_with(" from *"))
                .cloned()
                .collect();
            for (a, r) in open {
                set.remove(&(a.clone(), r.clone()));
                set.insert((a, format!("{} from {from}", r.trim_end_matches(" from *"))));
            }
        }
        if let (Some(r), Some(b)) = (t.strip_prefix("Resource: "), &binary) {
            let resource = if r.contains("${AuditTable.Arn}/stream/*") {
                "AuditTable/stream".to_string()
            } else if r.contains("AuditTable") {
                "AuditTable".to_string()
            } else if r == "!GetAtt EventBus.Arn" {
                "EventBus".to_string()
            } else if r == "!GetAtt EventsFailedQueue.Arn" {
                "EventsFailedQueue".to_string()
            } else if let Some(i) = r.find("/index/") {
                format!("DirectoryTable{}", &r[i..])
            } else if r.contains("DirectoryTable") {
                "DirectoryTable".to_string()
            } else if r.contains("UserPool") {
                "UserPool".to_string()
            } else if r.contains(":configuration-set/${MailConfigurationSet}") {
                "ses configuration-set/MailConfigurationSet".to_string()
            } else if let Some((_, id)) = r.split_once(":identity/") {
                // Its sender condition, if any, follows on a later line (see below).
                format!("ses identity/{id} from *")
            } else {
                r.to_string()
            };
            last.clear();
            for a in actions.drain(..) {
                out.entry(b.clone())
                    .or_default()
                    .insert((a.clone(), resource.clone()));
                last.push((a, resource.clone()));
            }
        }
        if let (Some(list), Some(b)) = (t.strip_prefix("dynamodb:Attributes: "), &binary) {
            let mut allowed: Vec<&str> = list
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(str::trim)
                .collect();
            allowed.sort_unstable();
            let set = out.entry(b.clone()).or_default();
            for (a, r) in last.drain(..) {
                set.remove(&(a.clone(), r.clone()));
                set.insert((a, format!("{r} attributes {}", allowed.join(","))));
            }
        }
    }
    out
}

/// Sets the user's last activity well past the grain, so their next request records it.
async fn forget_activity(app: &harness::App, id: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.stack.directory_table)
        .key("pk", S(format!("USER#{id}")))
        .key("sk", S("USER".into()))
        .update_expression("SET lastActiveAt = :t")
        .expression_attribute_values(":t", S("2026-01-01T00:00:00Z".into()))
        .send()
        .await
        .unwrap();
}

/// Two-step verification (rule 14): a member's set-up and turning it off, an admin's reset,
/// and the policy (which needs the admin to have it on first). Answers the routes it served.
async fn two_step_calls(
    app: &harness::App,
    admin_token: &str,
) -> Vec<(&'static str, &'static str)> {
    let ok = |r: harness::app::Reply| {
        assert!(
            r.status < 300,
            "{} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    };
    let admin = Some(admin_token);
    let code = || harness::totp::fresh_code(harness::totp::MOTO_SECRET);
    let two = member(app, admin_token, "agent", None).await;
    ok(app
        .request("POST", "/me/mfa/setup", Some(&two.token), None)
        .await);
    let on = json!({ "code": code().await });
    ok(app
        .request_keyed(
            "POST",
            "/me/mfa",
            Some(&two.token),
            Some(on),
            Some(&new_id()),
        )
        .await);
    let off = json!({ "password": PASSWORD, "code": code().await });
    ok(app
        .request_keyed(
            "POST",
            "/me/mfa/disable",
            Some(&two.token),
            Some(off),
            Some(&new_id()),
        )
        .await);
    ok(app
        .request_keyed(
            "POST",
            &format!("/users/{}/mfa-reset", two.id),
            admin,
            None,
            Some(&new_id()),
        )
        .await);
    ok(app.turn_on_mfa(admin_token).await);
    for policy in ["admins", "off"] {
        ok(app
            .request_keyed(
                "PUT",
                "/tenant/mfa-policy",
                admin,
                Some(json!({ "policy": policy })),
                Some(&new_id()),
            )
            .await);
    }
    // An admin with two-step on is confirmed at Cognito by every function's gate (rule 14):
    // one admin route of each function that had no other Cognito call.
    ok(app.get(admin_token, "/audit").await);
    ok(app.get(admin_token, "/tenant").await);
    let version = app.get(admin_token, &format!("/users/{}", two.id)).await;
    let version = version.json()["version"].clone();
    ok(app
        .request(
            "PUT",
            &format!("/users/{}/role", two.id),
            admin,
            Some(json!({ "role": "supervisor", "version": version })),
        )
        .await);
    ok(app
        .request(
            "POST",
            "/invites",
            admin,
            Some(json!({ "email": email("gate"), "name": "Gate Check", "role": "agent" })),
        )
        .await);
    vec![
        ("POST", "/me/mfa/setup"),
        ("POST", "/me/mfa"),
        ("POST", "/me/mfa/disable"),
        ("POST", "/users/{id}/mfa-reset"),
        ("PUT", "/tenant/mfa-policy"),
    ]
}

#[test]
fn every_aws_call_a_function_makes_is_granted_by_the_template_and_reads_are_consistent() {
    run_counted(&calling_aws(), |app, calls| async move {
        let mut served: BTreeSet<String> = BTreeSet::new();
        let mut call = |method: &str, route: &str| {
            served.insert(format!("{method} {route}"));
        };
        // Every route, the scheduled job and the operator's tenant tool, each at least once.
        let t = tenant(&app, "team", None).await;
        app.invoke_tenant_admin(
            json!({"action": "setTier", "tenantId": t.id, "tier": "business"}),
            "iam",
        )
        .await
        .unwrap();
        let sup = member(&app, &t.admin, "supervisor", Some("north")).await;
        call("POST", "/invites");
        call("POST", "/invites/accept");
        let rows: Vec<Value> = (0..3)
            .map(|i| json!({"email": email(&format!("iam{i}")), "name": "Row", "role": "agent"}))
            .collect();
        let r = invite(&app, &t.admin, json!({ "invites": rows })).await;
        assert_eq!(r.status, 201);
        let pending = r.json()["invites"][0]["id"].as_str().unwrap().to_string();
        let revoked = r.json()["invites"][1]["id"].as_str().unwrap().to_string();
        let addr = email("preview");
        invite(
            &app,
            &t.admin,
            json!({"email": addr, "name": "P", "role": "agent"}),
        )
        .await;
        let token = app.token_from_mail(&addr).await.unwrap();
        let ok = |r: harness::app::Reply| {
            assert!(
                r.status < 300,
                "{} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        };
        let admin = Some(t.admin.as_str());
        let admin_id = app.get(&t.admin, "/me").await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        ok(app.preview(&token).await);
        call("POST", "/invites/preview");
        for path in [
            "/me",
            "/users",
            &format!("/users/{}", sup.id),
            "/invites",
            "/tenant",
            "/audit",
        ] {
            // Each read is the admin's first in a while, so each function records the
            // caller's activity (the one write a read-only function may make).
            forget_activity(&app, &admin_id).await;
            ok(app.request("GET", path, admin, None).await);
            let route = match path {
                p if p.starts_with("/users/") => "/users/{id}",
                p => p,
            };
            call("GET", route);
        }
        app.clock.advance(Duration::minutes(2));
        ok(app
            .request_keyed(
                "POST",
                &format!("/invites/{pending}/resend"),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/invites/{id}/resend");
        ok(app
            .request_keyed(
                "DELETE",
                &format!("/invites/{revoked}"),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("DELETE", "/invites/{id}");
        ok(app
            .request_keyed(
                "PUT",
                &format!("/users/{}/role", sup.id),
                admin,
                Some(json!({"role": "agent"})),
                Some(&new_id()),
            )
            .await);
        // A capacity alone is a change of its own (`user.maxChatsChanged`).
        ok(app
            .request(
                "PUT",
                &format!("/users/{}/role", sup.id),
                admin,
                Some(json!({"role": "agent", "maxChats": 9})),
            )
            .await);
        call("PUT", "/users/{id}/role");
        // Rule 16 and 17's routes, in a future of their own (boxed): inline, the scenario's
        // outgrows a debug build's test stack.
        Box::pin(team_view_calls(&app, &t.admin, &sup.id)).await;
        for route in [
            "PUT /users/{id}/availability",
            "PUT /me/availability",
            "PUT /tenant/max-chats",
            "PATCH /users",
            "GET /users/export",
            "GET /audit/export",
            "GET /teams",
            "POST /teams/rename",
            "POST /teams/merge",
        ] {
            let (method, path) = route.split_once(' ').unwrap();
            call(method, path);
        }
        let mover = member(&app, &t.admin, "agent", None).await;
        let moved = json!({"currentPassword": PASSWORD, "newPassword": "Moved-Passw0rd-9!"});
        ok(app
            .request_keyed(
                "POST",
                "/me/password",
                Some(&mover.token),
                Some(moved),
                Some(&new_id()),
            )
            .await);
        call("POST", "/me/password");
        // Before the suspend below, which ends the supervisor's sessions itself.
        ok(app
            .request_keyed(
                "POST",
                "/me/sign-out",
                Some(&sup.token),
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/me/sign-out");
        ok(app
            .request_keyed(
                "POST",
                &format!("/users/{}/sign-out", sup.id),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/users/{id}/sign-out");
        // Two-step verification (rule 14): a member's set-up and turning it off, an admin's
        // reset, and the policy (which needs the admin to have it on first).
        // On a task of its own: nested in this scenario's (debug-build) poll frame, the member's
        // whole join overflows the test thread's stack.
        let (on_its_own, admin_token) = (app.clone(), t.admin.clone());
        let routes = tokio::spawn(async move { two_step_calls(&on_its_own, &admin_token).await })
            .await
            .unwrap();
        for (method, route) in routes {
            call(method, route);
        }
        // From here to the mail events, a future of its own (boxed): inline, this scenario's
        // debug-build poll frame alone nears the test thread's stack.
        Box::pin(async {
        // A forgotten password (rule 13): the public form, an admin's send, the link's preview
        // and its new password, all keyed.
        ok(app
            .request_keyed(
                "POST",
                "/password-resets",
                None,
                Some(json!({"email": mover.email})),
                Some(&new_id()),
            )
            .await);
        call("POST", "/password-resets");
        ok(app
            .request_keyed(
                "POST",
                &format!("/users/{}/password-reset", mover.id),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/users/{id}/password-reset");
        let link = app.token_from_mail(&mover.email).await.unwrap();
        ok(app
            .request(
                "POST",
                "/password-resets/preview",
                None,
                Some(json!({ "token": link })),
            )
            .await);
        call("POST", "/password-resets/preview");
        ok(app
            .request_keyed(
                "POST",
                "/password-resets/confirm",
                None,
                Some(json!({"token": link, "password": "Reset-Passw0rd-9!"})),
                Some(&new_id()),
            )
            .await);
        call("POST", "/password-resets/confirm");
        ok(app
            .request_keyed(
                "POST",
                &format!("/users/{}/suspend", sup.id),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/users/{id}/suspend");
        ok(app
            .request_keyed(
                "POST",
                &format!("/users/{}/reactivate", sup.id),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("POST", "/users/{id}/reactivate");
        ok(app
            .request_keyed(
                "DELETE",
                &format!("/users/{}", sup.id),
                admin,
                None,
                Some(&new_id()),
            )
            .await);
        call("DELETE", "/users/{id}");
        // Keys (rule 11): every write above carried one (claimed, recorded in the transaction,
        // settled); a keyed request that changes nothing frees its key again.
        for (method, path) in [
            ("POST", format!("/invites/{}/resend", new_id())),
            ("DELETE", format!("/invites/{}", new_id())),
            ("POST", format!("/users/{}/suspend", new_id())),
            ("DELETE", format!("/users/{}", new_id())),
        ] {
            app.request_keyed(method, &path, admin, None, Some(&new_id()))
                .await
                .expect(404);
        }
        app.request_keyed(
            "PUT",
            &format!("/users/{}/role", new_id()),
            admin,
            Some(json!({"role": "agent"})),
            Some(&new_id()),
        )
        .await
        .expect(404);
        app.request_keyed(
            "POST",
            "/invites/accept",
            None,
            Some(
                json!({"token": format!("{}.{}", new_id(), "A".repeat(43)), "password": PASSWORD}),
            ),
            Some(&new_id()),
        )
        .await
        .expect(404);
        // A refusal that reads more than the happy path: seats short on a bulk invite.
        let rows = |batch: usize| -> Value {
            let rows: Vec<Value> = (0..25)
                .map(|i| json!({"email": email(&format!("many{batch}-{i}")), "name": "M", "role": "agent"}))
                .collect();
            json!({ "invites": rows })
        };
        for batch in 0..3 {
            assert_eq!(invite(&app, &t.admin, rows(batch)).await.status, 201);
        }
        let r = invite(&app, &t.admin, rows(3)).await;
        r.expect(409);
        // An expired invite resent (takes its seat and email back) after the job ran.
        app.clock.advance(Duration::days(8));
        let run = expire_invites_fn::run(&app.expire, "iam", 10).await;
        assert!(run.expired > 0, "{run:?}");
        // What an accept that died after creating the identity leaves: the reconciler removes it.
        let orphan = email("orphan");
        app.accept
            .directory
            .create_user(&orphan, PASSWORD)
            .await
            .unwrap();
        leave_marker(&app, &orphan, Duration::minutes(-5)).await;
        let run = reconcile_signin_fn::run(&app.reconcile, 10).await;
        assert_eq!((run.deleted, run.failed), (1, 0), "{run:?}");
        ok(app
            .request("POST", &format!("/invites/{pending}/resend"), admin, None)
            .await);
        })
        .await;
        // Integration tokens (rule 21): one made and revoked, another made for the events.
        let kept = Box::pin(integration_calls(&app, &t.admin, &admin_id)).await;
        call("POST", "/integrations");
        call("DELETE", "/integrations/{id}");
        call("GET", "/integrations");
        // Directory sync (rule 22): every SCIM route, as a provider calls it.
        Box::pin(scim_calls(&app, &t.admin)).await;
        call("GET", "/tenant/group-mappings");
        call("PUT", "/tenant/group-mappings");
        for route in shared::routes::ROUTES
            .iter()
            .filter(|r| r.function == "scim")
        {
            call(route.method(), route.path());
        }
        // What SES says about every email above, as the mail-events rule hands it over.
        assert!(app.mailbox.publish(&app).await > 0);
        // Every change above, from the audit stream (read as the mapping reads it, with the
        // function's role) to the bus.
        let mut poller = app.poller().await;
        let published = poller.drain(&app.publish, 3).await;
        assert!(
            published.records > 0 && published.partial == 0,
            "{published:?}"
        );
        Box::pin(events_read_back(&app, &t.admin, &admin_id, &kept)).await;
        call("GET", "/events");

        let every: BTreeSet<String> = harness::app::routes()
            .into_iter()
            .map(|(k, _, _)| k.to_string())
            .collect();
        assert_eq!(served, every, "the scenario covers every route");

        let grants = grants();
        // The `$default` route's function calls nothing, so it is granted nothing.
        let fallback = grants.get(shared::routes::FALLBACK_FUNCTION);
        assert!(fallback.is_none_or(|g| g.is_empty()), "{fallback:?}");
        let directory = app.stack.directory_table.clone();
        let audit = app.stack.audit_table.clone();
        for f in calling_aws() {
            let made = calls[f].take();
            assert!(!made.is_empty(), "{f} made no AWS call in the scenario");
            let granted = grants.get(f).cloned().unwrap_or_default();
            let needed: BTreeSet<(String, String)> = made
                .iter()
                .flat_map(|c| {
                    needs(
                        c,
                        &directory,
                        &audit,
                        &app.stack.event_bus,
                        &app.stack.events_dead_letter_url,
                    )
                })
                .collect();
            let missing: Vec<_> = needed
                .iter()
                .filter(|need| {
                    if need.1.starts_with("ses configuration-set/") {
                        // The stack's set is the template's MailConfigurationSet.
                        need.1 != format!("ses configuration-set/{}", app.stack.configuration_set)
                            || !granted.contains(&(
                                need.0.clone(),
                                "ses configuration-set/MailConfigurationSet".to_string(),
                            ))
                    } else if need.1.starts_with("ses identity/") {
                        !granted.iter().any(|g| {
                            g.0 == need.0
                                && g.1.starts_with("ses identity/")
                                && ses_grant_covers(&g.1, &need.1, &app.stack.sender)
                        })
                    } else {
                        !granted.iter().any(|g| dynamo_grant_covers(g, need))
                    }
                })
                .collect();
            assert!(
                missing.is_empty(),
                "{f} needs {missing:?}, which the template does not grant (it grants {granted:?})"
            );
            // Rule 5 on the wire: every item read (the caller's record among them) is a
            // consistent read, so a change made a moment ago decides this request.
            for c in &made {
                let body: Value = serde_json::from_slice(&c.body).unwrap_or(Value::Null);
                // Every transaction is idempotent under the SDK's own retries.
                if c.op == "dynamodb.TransactWriteItems" {
                    assert!(
                        body["ClientRequestToken"]
                            .as_str()
                            .is_some_and(|t| !t.is_empty()),
                        "{f}: a transaction without a client request token"
                    );
                }
                let consistent = match c.op.as_str() {
                    "dynamodb.GetItem" => body["ConsistentRead"] == json!(true),
                    "dynamodb.BatchGetItem" => body["RequestItems"]
                        .as_object()
                        .unwrap()
                        .values()
                        .all(|k| k["ConsistentRead"] == json!(true)),
                    _ => continue,
                };
                assert!(consistent, "{f}: {} without ConsistentRead: {body}", c.op);
            }
        }
    });
}

/// Directory sync's whole round: discovery, lookups, a person created, renamed, deactivated,
/// asked back and deleted, and a joined user claimed, suspended, reactivated and deleted.
async fn scim_calls(app: &harness::App, admin: &str) {
    let made = Box::pin(app.request(
        "POST",
        "/integrations",
        Some(admin),
        Some(json!({"name": "IdP", "scopes": ["scim"]})),
    ))
    .await
    .expect(201)
    .json();
    let tok = made["token"].as_str().unwrap().to_string();
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let tok = tok.clone();
        async move {
            let r =
                Box::pin(app.request(method, &format!("/scim/v2{path}"), Some(&tok), body)).await;
            assert!(
                r.status < 300,
                "{method} {path}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            r.json()
        }
    };
    let user = "urn:ietf:params:scim:schemas:core:2.0:User";
    for path in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/Schemas",
        &format!("/Schemas/{user}"),
        "/Users",
    ] {
        call("GET", path.to_string(), None).await;
    }
    let addr = email("scim");
    call(
        "GET",
        format!("/Users?filter=userName%20eq%20%22{addr}%22"),
        None,
    )
    .await;
    call(
        "POST",
        "/.search".into(),
        Some(json!({"filter": "active eq true", "count": 5})),
    )
    .await;
    let p = call("POST", "/Users".into(), Some(json!({"schemas": [user], "userName": addr, "name": {"givenName": "Sam", "familyName": "Sync"}}))).await;
    let id = format!("/Users/{}", p["id"].as_str().unwrap());
    call("GET", id.clone(), None).await;
    let patch = |ops: Value| {
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        )
    };
    call(
        "PATCH",
        id.clone(),
        patch(json!([{"op": "replace", "path": "name.givenName", "value": "Samuel"}])),
    )
    .await;
    call(
        "PUT",
        id.clone(),
        Some(json!({"schemas": [user], "userName": addr, "active": false})),
    )
    .await;
    app.clock.advance(Duration::minutes(2));
    call(
        "PUT",
        id.clone(),
        Some(json!({"schemas": [user], "userName": addr, "active": true})),
    )
    .await;
    call("DELETE", id, None).await;
    let m = Box::pin(member(app, admin, "agent", None)).await;
    let uid = format!("/Users/{}", m.id);
    call(
        "PATCH",
        uid.clone(),
        patch(json!([{"op": "add", "path": "externalId", "value": "ext-iam"}])),
    )
    .await;
    call(
        "PATCH",
        uid.clone(),
        patch(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    call(
        "PATCH",
        uid.clone(),
        patch(json!([{"op": "replace", "path": "active", "value": true}])),
    )
    .await;
    // Groups: pushed with a member, looked up by name, filled, renamed, replaced and deleted;
    // then the member's delete takes them out of the group that still names them.
    let group = "urn:ietf:params:scim:schemas:core:2.0:Group";
    let other = call(
        "POST",
        "/Users".into(),
        Some(json!({"schemas": [user], "userName": email("grp")})),
    )
    .await;
    let other = other["id"].as_str().unwrap().to_string();
    let g = call(
        "POST",
        "/Groups".into(),
        Some(json!({"schemas": [group], "displayName": "IAM leads", "members": [{"value": m.id}]})),
    )
    .await;
    let gid = format!("/Groups/{}", g["id"].as_str().unwrap());
    // The admin maps the group (the change-role function places its member); the pushes below
    // then move people as the scim function (a pending invite's role, a user's).
    let mapped = Box::pin(app.request(
        "PUT",
        "/tenant/group-mappings",
        Some(admin),
        Some(json!({"mappings": [{"group": "IAM leads", "role": "supervisor", "team": "IAM"}]})),
    ))
    .await
    .expect(200)
    .json();
    assert_eq!(mapped["moved"], 1, "{mapped}");
    Box::pin(app.request("GET", "/tenant/group-mappings", Some(admin), None))
        .await
        .expect(200);
    call(
        "GET",
        "/Groups?filter=displayName%20eq%20%22IAM%20leads%22".into(),
        None,
    )
    .await;
    call(
        "POST",
        "/Groups/.search".into(),
        Some(json!({"filter": "displayName sw \"IAM\""})),
    )
    .await;
    call("GET", gid.clone(), None).await;
    call(
        "PATCH",
        gid.clone(),
        patch(
            json!([{"op": "add", "path": "members", "value": [{"value": other}]},
                     {"op": "replace", "path": "displayName", "value": "IAM heads"}]),
        ),
    )
    .await;
    call(
        "PUT",
        gid.clone(),
        Some(json!({"schemas": [group], "displayName": "IAM leads"})),
    )
    .await;
    call("DELETE", format!("/Users/{other}"), None).await;
    let left = call("GET", gid.clone(), None).await;
    assert_eq!(left["members"].as_array().unwrap().len(), 1, "{left}");
    call("DELETE", gid, None).await;
    call("DELETE", uid, None).await;
    Box::pin(app.request(
        "PUT",
        "/tenant/group-mappings",
        Some(admin),
        Some(json!({"mappings": []})),
    ))
    .await
    .expect(200);
}

/// A token made and revoked, the list read, and another made: its text.
async fn integration_calls(app: &harness::App, admin: &str, admin_id: &str) -> String {
    let make = |name: &str| {
        let body = json!({"name": name, "scopes": ["events:read"]});
        async move {
            let r = app
                .request("POST", "/integrations", Some(admin), Some(body))
                .await;
            assert_eq!(r.status, 201);
            r.json()
        }
    };
    let dropped = make("Dropped").await;
    let kept = make("Kept").await;
    let gone = app
        .request(
            "DELETE",
            &format!("/integrations/{}", dropped["id"].as_str().unwrap()),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(gone.status, 200);
    forget_activity(app, admin_id).await;
    assert_eq!(app.get(admin, "/integrations").await.status, 200);
    kept["token"].as_str().unwrap().to_string()
}

/// Everything the scenario published, from the bus's queue: every type of event (the
/// scenario changes everything there is to change), each valid against its schema
/// (docs/events/); then read back by the integration token (its use recorded) and the admin.
async fn events_read_back(app: &harness::App, admin: &str, admin_id: &str, token: &str) {
    let got = harness::events::received(&app.stack.aws_endpoint, &app.stack.events_queue_url).await;
    harness::events::validate(&got).unwrap_or_else(|e| panic!("{e}"));
    let types: BTreeSet<&str> = got
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    let every: BTreeSet<&str> = shared::domain::event::PUBLISHED
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(
        every.difference(&types).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "types the scenario never published"
    );
    let page = app.get(token, "/events?limit=500").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["events"].as_array().unwrap().len(), got.len());
    forget_activity(app, admin_id).await;
    assert_eq!(
        app.get(admin, "/events?types=user.deleted").await.status,
        200
    );
}

/// The team view's writes and its activity list, each answered with a success.
async fn team_view_calls(app: &harness::App, admin: &str, sup: &str) {
    let ok = |r: harness::app::Reply| {
        assert!(
            r.status < 300,
            "{} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    };
    for (path, body) in [
        (
            format!("/users/{sup}/availability"),
            json!({"availability": "dnd"}),
        ),
        ("/me/availability".into(), json!({"availability": "away"})),
        ("/tenant/max-chats".into(), json!({"maxChats": 4})),
    ] {
        ok(
            Box::pin(app.request_keyed("PUT", &path, Some(admin), Some(body), Some(&new_id())))
                .await,
        );
    }
    let v = app.get(admin, &format!("/users/{sup}")).await.json()["version"].clone();
    let quick = json!({"changes": [{"id": sup, "version": v, "availability": "away", "maxChats": 7, "team": "Iam"}]});
    ok(
        Box::pin(app.request_keyed("PATCH", "/users", Some(admin), Some(quick), Some(&new_id())))
            .await,
    );
    ok(Box::pin(app.get(admin, "/users/export")).await);
    ok(Box::pin(app.get(admin, "/audit/export")).await);
    ok(Box::pin(app.get(admin, "/teams")).await);
    // Teams (rule 19): a rename, then a merge into a team only a pending invite carries.
    for (route, body) in [
        ("/teams/rename", json!({"from": "Iam", "to": "Policy"})),
        (
            "/invites",
            json!({"email": email("merged"), "name": "M", "role": "agent", "team": "Merged"}),
        ),
        ("/teams/merge", json!({"from": "Policy", "into": "Merged"})),
    ] {
        ok(
            Box::pin(app.request_keyed("POST", route, Some(admin), Some(body), Some(&new_id())))
                .await,
        );
    }
    ok(app
        .get(admin, "/users?sort=lastActive&presence=online")
        .await);
}
