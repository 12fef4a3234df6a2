//! An in-process API Gateway (HTTP API, payload 2.0): matches the route, builds the same event
//! API Gateway sends, and calls the function's handler, which checks the caller's token itself
//! (as on AWS: the template has no gateway authorizer). The local server and the end-to-end
//! tests both use it.

use crate::gateway;
use crate::moto;
use crate::stack::Stack;
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use serde_json::{json, Map, Value};
use shared::domain::{ApiError, ManualClock};
use shared::identity::Directory;
use shared::mail::Mailer;
use shared::store::Store;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Invite,
    Accept,
    List,
    ChangeRole,
    Suspend,
    Delete,
    Audit,
    ResetPassword,
    Scim,
    /// The `$default` route's.
    Fallback,
}

impl Function {
    /// The binary, as the template's `BuildProperties.Binary` names it.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Invite => "invite",
            Function::Accept => "accept",
            Function::List => "list",
            Function::ChangeRole => "change-role",
            Function::Suspend => "suspend",
            Function::Delete => "delete",
            Function::Audit => "audit",
            Function::ResetPassword => "reset-password",
            Function::Scim => "scim",
            Function::Fallback => "fallback",
        }
    }

    /// The function's `Timeout` in the template (checked by the infra tests): the local
    /// gateway gives each invocation Lambda's deadline, so handlers stop where they would.
    pub fn timeout(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Function::Invite | Function::Scim => 15,
            _ => 10,
        })
    }
}

impl Function {
    /// The function a binary name (as the route table names it) stands for.
    pub fn of_binary(name: &str) -> Option<Function> {
        [
            Function::Invite,
            Function::Accept,
            Function::List,
            Function::ChangeRole,
            Function::Suspend,
            Function::Delete,
            Function::Audit,
            Function::ResetPassword,
            Function::Scim,
            Function::Fallback,
        ]
        .into_iter()
        .find(|f| f.binary() == name)
    }
}

/// Every route (`shared::routes::ROUTES`), the function serving it, and whether it is public
/// (no token checked).
pub fn routes() -> Vec<(&'static str, Function, bool)> {
    shared::routes::ROUTES
        .iter()
        .map(|r| {
            let f = Function::of_binary(r.function)
                .unwrap_or_else(|| panic!("no function {} in the harness", r.function));
            (r.key, f, r.public)
        })
        .collect()
}

pub struct App {
    pub stack: Stack,
    pub sdk: SdkConfig,
    /// Shared by every handler: tests move it forward instead of sleeping.
    pub clock: Arc<ManualClock>,
    pub invite: invite_fn::Deps,
    pub accept: accept_fn::Deps,
    pub list: list_fn::Deps,
    pub tenant_admin: tenant_admin_fn::Deps,
    pub change_role: change_role_fn::Deps,
    pub reset: reset_password_fn::Deps,
    pub suspend: suspend_fn::Deps,
    pub delete: delete_fn::Deps,
    pub audit: audit_fn::Deps,
    pub scim: scim_fn::Deps,
    pub expire: expire_invites_fn::Deps,
    pub reconcile: reconcile_signin_fn::Deps,
    pub mail_events: mail_events_fn::Deps,
    /// Handed the audit stream's batches by `events::Poller` (the event source mapping).
    pub publish: publish_events_fn::Deps,
    /// Where `publish-events` calls AWS (its proxy, when calls are counted).
    pub publish_endpoint: String,
    /// SES's side after a send (`mailbox`): `app.mailbox.publish(&app)` delivers the events.
    pub mailbox: crate::mailbox::Mailbox,
    /// The functions' token check (`shared::auth`), with its key cache: one "container" per app.
    pub verifier: shared::auth::Verifier,
    pub store: Store,
    /// Whether an answer outside the route's described statuses panics (tests) or is only
    /// reported (the local run).
    pub strict_contract: bool,
    /// Every (route, status) this gateway has answered, for the test that draws each
    /// described status on purpose.
    pub answered: std::sync::Mutex<std::collections::BTreeSet<(String, u16)>>,
    /// The gateway's route throttle (`gateway::Throttle`, the template's limits).
    pub throttle: gateway::Throttle,
    /// Every function's timeout instead of the template's, when set: the load test shortens
    /// it so that the emulator's slowness under load cuts requests at their deadline.
    pub timeout_override: std::sync::Mutex<Option<std::time::Duration>>,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The reply if it has `status`; otherwise the test fails showing the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status,
            status,
            "expected {status}, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        self
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A teammate who joined through `App::join`.
pub struct Joined {
    pub id: String,
    pub email: String,
    pub token: String,
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 1 < bytes.len() => {
                match (hex(bytes[i + 1]), bytes.get(i + 2).copied().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// API Gateway's own answer for `status` (`gateway::aws_answer`).
fn aws_reply(status: u16) -> Reply {
    let (status, message) = gateway::aws_answer(status);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Reply {
        status,
        headers,
        body: serde_json::to_vec(&json!({ "message": message })).unwrap_or_default(),
    }
}

fn to_reply(resp: lambda_http::Response<lambda_http::Body>) -> Reply {
    let (parts, body) = resp.into_parts();
    let body = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

impl App {
    pub async fn new(stack: Stack, sdk: SdkConfig) -> App {
        let shared = sdk.clone();
        App::with_sdk_per_function(stack, sdk, move |_| shared.clone()).await
    }

    /// Each function's handler gets the SDK configuration `sdk_for(its binary name)` gives,
    /// so a test can tell the functions' AWS calls apart (one counting proxy each); `sdk` is
    /// the harness's own.
    pub async fn with_sdk_per_function(
        stack: Stack,
        sdk: SdkConfig,
        sdk_for: impl Fn(&str) -> SdkConfig,
    ) -> App {
        let clock = Arc::new(ManualClock::default());
        let store_for = |f: &str| Store::new(shared::store::client(&sdk_for(f)), stack.tables());
        let mailer_for = |f: &str| {
            Mailer::new(
                aws_sdk_sesv2::Client::new(&sdk_for(f)),
                stack.sender.clone(),
            )
            .with_configuration_set(Some(stack.configuration_set.clone()))
        };
        let directory_for = |f: &str| {
            Directory::new(
                aws_sdk_cognitoidentityprovider::Client::new(&sdk_for(f)),
                stack.user_pool_id.clone(),
            )
            .with_app_client(stack.user_pool_client_id.clone())
        };
        let store = || Store::new(shared::store::client(&sdk), stack.tables());
        App {
            invite: invite_fn::Deps {
                invites: shared::usecase::invites::InviteDeps {
                    store: store_for("invite"),
                    mailer: mailer_for("invite"),
                    clock: clock.clone(),
                    app_url: stack.app_url.clone(),
                    pricing_url: stack.pricing_url.clone(),
                },
                directory: directory_for("invite"),
            },
            accept: accept_fn::Deps {
                store: store_for("accept"),
                directory: directory_for("accept"),
                clock: clock.clone(),
            },
            list: list_fn::Deps {
                store: store_for("list"),
                directory: directory_for("list"),
                clock: clock.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            tenant_admin: tenant_admin_fn::Deps {
                store: store_for("tenant-admin"),
                mailer: mailer_for("tenant-admin"),
                clock: clock.clone(),
                app_url: stack.app_url.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            change_role: change_role_fn::Deps {
                store: store_for("change-role"),
                directory: directory_for("change-role"),
                clock: clock.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            reset: reset_password_fn::Deps {
                store: store_for("reset-password"),
                directory: directory_for("reset-password"),
                mailer: mailer_for("reset-password"),
                clock: clock.clone(),
                app_url: stack.app_url.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            suspend: suspend_fn::Deps {
                store: store_for("suspend"),
                directory: directory_for("suspend"),
                clock: clock.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            delete: delete_fn::Deps {
                store: store_for("delete"),
                directory: directory_for("delete"),
                clock: clock.clone(),
                pricing_url: stack.pricing_url.clone(),
            },
            scim: scim_fn::Deps {
                invites: shared::usecase::invites::InviteDeps {
                    store: store_for("scim"),
                    mailer: mailer_for("scim"),
                    clock: clock.clone(),
                    app_url: stack.app_url.clone(),
                    pricing_url: stack.pricing_url.clone(),
                },
                directory: directory_for("scim"),
            },
            audit: audit_fn::Deps {
                store: store_for("audit"),
                directory: directory_for("audit"),
                clock: clock.clone(),
            },
            expire: expire_invites_fn::Deps {
                store: store_for("expire-invites"),
                clock: clock.clone(),
            },
            reconcile: reconcile_signin_fn::Deps {
                store: store_for("reconcile-signin"),
                directory: directory_for("reconcile-signin"),
                clock: clock.clone(),
            },
            mail_events: mail_events_fn::Deps {
                store: store_for("mail-events"),
            },
            publish_endpoint: sdk_for("publish-events")
                .endpoint_url()
                .unwrap_or(&stack.aws_endpoint)
                .to_string(),
            publish: publish_events_fn::Deps::new(
                &sdk_for("publish-events"),
                store_for("publish-events"),
                stack.event_bus.clone(),
                stack.events_dead_letter_url.clone(),
            ),
            mailbox: Default::default(),
            verifier: shared::auth::Verifier::new(shared::auth::Settings {
                issuer: stack.token_issuer.clone(),
                jwks_url: stack.jwks_url.clone(),
                client_id: stack.user_pool_client_id.clone(),
            }),
            store: store(),
            strict_contract: true,
            answered: Default::default(),
            timeout_override: Default::default(),
            throttle: Default::default(),
            clock,
            stack,
            sdk,
        }
    }

    /// The event source mapping for `publish-events`, from the stream's oldest record.
    pub async fn poller(&self) -> crate::events::Poller {
        crate::events::Poller::new(&self.stack, &self.publish_endpoint).await
    }

    pub fn clock_now(&self) -> time::OffsetDateTime {
        use shared::domain::Clock;
        self.clock.now()
    }

    /// One HTTP request through the gateway: route, then handler.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Reply {
        let (path, raw_query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        // API Gateway refuses a request over its payload limit before it picks a route; the
        // route it would have taken is still the one its answer counts for (`described`).
        let too_large = body.len() > gateway::PAYLOAD_LIMIT;
        // As an HTTP API picks a route (`shared::routes::resolve`); what no route takes goes
        // to the `$default` route, the fallback function, as the template sends it on AWS.
        let (route_key, function, params) = match shared::routes::resolve(method, path) {
            shared::routes::Resolved::Found { route, params } => {
                let f = Function::of_binary(route.function).expect("the table's functions");
                (route.key, f, params)
            }
            _ => (
                shared::routes::DEFAULT_ROUTE,
                Function::Fallback,
                Vec::new(),
            ),
        };
        if too_large {
            return self.described(route_key, aws_reply(413));
        }
        // Each route has its own throttle on an HTTP API (the stage's DefaultRouteSettings).
        if !self.throttle.admit(route_key) {
            return self.described(route_key, aws_reply(429));
        }
        let mut query = Map::new();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            // API Gateway joins repeated keys with commas.
            let k = percent_decode(k);
            let v = percent_decode(v);
            let joined = match query.get(&k).and_then(Value::as_str) {
                Some(prev) => format!("{prev},{v}"),
                None => v,
            };
            query.insert(k, Value::String(joined));
        }
        let mut hdrs = Map::new();
        for (k, v) in headers {
            // API Gateway passes a header on whatever its bytes; it doesn't drop one that isn't
            // ASCII (the function then refuses it, as it does an Idempotency-Key like that).
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            hdrs.insert(k.as_str().to_string(), Value::String(v));
        }
        let text = String::from_utf8(body.to_vec());
        let (body_value, b64) = match &text {
            Ok(t) => (Value::String(t.clone()), false),
            Err(_) => {
                use base64::Engine;
                (
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                    true,
                )
            }
        };
        let ctx = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method.to_uppercase(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "local"},
            "requestId": shared::domain::ids::new_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": 0,
        });
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": raw_query,
            "headers": hdrs,
            "requestContext": ctx,
            "isBase64Encoded": b64,
        });
        if !body.is_empty() {
            event["body"] = body_value;
        }
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !params.is_empty() {
            // API Gateway decodes path parameters.
            let params: Map<String, Value> = params
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(percent_decode(&v))))
                .collect();
            event["pathParameters"] = Value::Object(params);
        }
        let event = event.to_string();
        if event.len() > gateway::INVOKE_LIMIT {
            return self.described(route_key, aws_reply(500));
        }
        let req = match lambda_http::request::from_str(&event) {
            Ok(r) => r,
            Err(e) => panic!("the gateway built an event lambda_http can't read: {e}"),
        };
        let mut invocation = lambda_http::Context::default();
        let timeout = self
            .timeout_override
            .lock()
            .unwrap()
            .unwrap_or(function.timeout());
        let request_id = ctx["requestId"].as_str().unwrap_or_default().to_string();
        invocation.deadline = (std::time::SystemTime::now() + timeout)
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        let req = lambda_http::RequestExt::with_lambda_context(req, invocation);
        let handler = async {
            match function {
                Function::Invite => invite_fn::handle(&self.invite, &self.verifier, req).await,
                Function::Accept => accept_fn::handle(&self.accept, req).await,
                Function::List => list_fn::handle(&self.list, &self.verifier, req).await,
                Function::ChangeRole => {
                    change_role_fn::handle(&self.change_role, &self.verifier, req).await
                }
                Function::Suspend => suspend_fn::handle(&self.suspend, &self.verifier, req).await,
                Function::Delete => delete_fn::handle(&self.delete, &self.verifier, req).await,
                Function::Audit => audit_fn::handle(&self.audit, &self.verifier, req).await,
                Function::Scim => scim_fn::handle(&self.scim, req).await,
                Function::ResetPassword => {
                    reset_password_fn::handle(&self.reset, &self.verifier, req).await
                }
                Function::Fallback => fallback_fn::handle(req),
            }
        };
        // Lambda stops a function at its timeout, and the runtime reports a panic as an error:
        // either way API Gateway answers for it (a 500 of its own).
        let mut reply = match gateway::invoke(timeout, handler).await {
            gateway::Invocation::Answered(resp) => to_reply(resp),
            gateway::Invocation::TimedOut | gateway::Invocation::Crashed => aws_reply(500),
        };
        // As an HTTP API does: the request id the function saw (the audit entry's requestId).
        if let Ok(v) = request_id.parse() {
            reply.headers.insert("apigw-requestid", v);
        }
        self.described(route_key, reply)
    }

    /// Holds a route's answer to the statuses `infra/openapi.yaml` describes for it
    /// (`contract`): a test that provokes an undescribed status fails on the spot; the local
    /// run, where a panic would only drop the connection, says so on stderr instead.
    fn described(&self, route_key: &str, reply: Reply) -> Reply {
        self.answered
            .lock()
            .unwrap()
            .insert((route_key.to_string(), reply.status));
        if let Some(v) = crate::contract::violation(route_key, reply.status) {
            if self.strict_contract {
                panic!("{v}: {}", String::from_utf8_lossy(&reply.body));
            }
            eprintln!("contract: {v}");
        }
        reply
    }

    /// Shorthand for tests: a JSON request with an optional bearer token.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.request_keyed(method, path, token, body, None).await
    }

    /// As `request`, with an `Idempotency-Key` when `key` is given (docs/rules.md, rule 11).
    pub async fn request_keyed(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut h = http::HeaderMap::new();
        if let Some(k) = key {
            h.insert("idempotency-key", k.parse().expect("a header-safe key"));
        }
        if let Some(t) = token {
            h.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        if !bytes.is_empty() {
            h.insert(
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            );
        }
        self.call(method, path, &h, &bytes).await
    }

    // The API as a test reads it: one method per route, `token` the caller's access token.

    /// `POST /invites`: one invite (`{email, name, role, team?}`) or `{invites: [...]}`.
    pub async fn invite(&self, token: &str, body: Value) -> Reply {
        self.request("POST", "/invites", Some(token), Some(body))
            .await
    }
    pub async fn resend(&self, token: &str, invite_id: &str) -> Reply {
        self.request(
            "POST",
            &format!("/invites/{invite_id}/resend"),
            Some(token),
            None,
        )
        .await
    }
    pub async fn revoke(&self, token: &str, invite_id: &str) -> Reply {
        self.request(
            "DELETE",
            &format!("/invites/{invite_id}"),
            Some(token),
            None,
        )
        .await
    }
    /// `POST /invites/preview`, public: what a link opens.
    pub async fn preview(&self, invite_token: &str) -> Reply {
        self.request(
            "POST",
            "/invites/preview",
            None,
            Some(serde_json::json!({ "token": invite_token })),
        )
        .await
    }
    /// `POST /invites/accept`, public.
    pub async fn accept(&self, invite_token: &str, password: &str) -> Reply {
        self.request(
            "POST",
            "/invites/accept",
            None,
            Some(serde_json::json!({ "token": invite_token, "password": password })),
        )
        .await
    }
    pub async fn change_role(&self, token: &str, user_id: &str, body: Value) -> Reply {
        self.request(
            "PUT",
            &format!("/users/{user_id}/role"),
            Some(token),
            Some(body),
        )
        .await
    }
    pub async fn suspend(&self, token: &str, user_id: &str) -> Reply {
        self.request(
            "POST",
            &format!("/users/{user_id}/suspend"),
            Some(token),
            None,
        )
        .await
    }
    pub async fn reactivate(&self, token: &str, user_id: &str) -> Reply {
        self.request(
            "POST",
            &format!("/users/{user_id}/reactivate"),
            Some(token),
            None,
        )
        .await
    }
    pub async fn delete_user(&self, token: &str, user_id: &str) -> Reply {
        self.request("DELETE", &format!("/users/{user_id}"), Some(token), None)
            .await
    }
    /// `GET path` (with its query string) as the caller.
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.request("GET", path, Some(token), None).await
    }

    /// The whole way in, as a teammate takes it: the admin invites `body`'s person, the email
    /// is read back from the emulator, its link is accepted with `password`, and they sign
    /// in. Answers the new user's id and access token.
    pub async fn join(&self, admin: &str, body: Value, password: &str) -> Joined {
        let email = body["email"].as_str().expect("an email").to_string();
        self.invite(admin, body).await.expect(201);
        let link = self
            .token_from_mail(&email)
            .await
            .expect("an invite email with its link");
        let accepted = self.accept(&link, password).await.expect(201);
        let token = self.sign_in(&email, password).await.expect("sign in");
        Joined {
            id: accepted.json()["userId"].as_str().unwrap().to_string(),
            email,
            token,
        }
    }

    /// Signs in through Cognito (USER_PASSWORD_AUTH) and returns the access token.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<String, String> {
        self.sign_in_tokens(email, password).await.map(|(a, _)| a)
    }

    /// As `sign_in`, with the refresh token too: (access, refresh).
    pub async fn sign_in_tokens(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(String, String), String> {
        let idp = aws_sdk_cognitoidentityprovider::Client::new(&self.sdk);
        let out = idp
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.stack.user_pool_client_id)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error()))?;
        let r = out
            .authentication_result
            .ok_or_else(|| "no tokens".to_string())?;
        match (r.access_token, r.refresh_token) {
            (Some(a), Some(rt)) => Ok((a, rt)),
            _ => Err("no access or refresh token".into()),
        }
    }

    /// Signs in as the console does when two-step verification is on: the password, then
    /// the SOFTWARE_TOKEN_MFA challenge answered with `code`. Answers (access, refresh), or
    /// Cognito's refusal.
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        password: &str,
        code: &str,
    ) -> Result<(String, String), String> {
        let idp = aws_sdk_cognitoidentityprovider::Client::new(&self.sdk);
        let out = idp
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.stack.user_pool_client_id)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error()))?;
        let challenge = out.challenge_name().map(|c| c.as_str().to_string());
        if challenge.as_deref() != Some("SOFTWARE_TOKEN_MFA") {
            return Err(format!("no code asked for: {challenge:?}"));
        }
        let r = idp
            .respond_to_auth_challenge()
            .client_id(&self.stack.user_pool_client_id)
            .challenge_name(
                aws_sdk_cognitoidentityprovider::types::ChallengeNameType::SoftwareTokenMfa,
            )
            .session(out.session().unwrap_or_default())
            .challenge_responses("USERNAME", email)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error()))?
            .authentication_result
            .ok_or_else(|| "no tokens".to_string())?;
        match (r.access_token, r.refresh_token) {
            (Some(a), Some(rt)) => Ok((a, rt)),
            _ => Err("no access or refresh token".into()),
        }
    }

    /// Two-step verification turned on the whole way, as the profile does it: a secret, then
    /// a real code from it. Answers the `POST /me/mfa` reply.
    pub async fn turn_on_mfa(&self, token: &str) -> Reply {
        let setup = self
            .request("POST", "/me/mfa/setup", Some(token), None)
            .await
            .expect(200);
        let secret = setup.json()["secretCode"].as_str().unwrap().to_string();
        let code = crate::totp::fresh_code(&secret).await;
        self.request(
            "POST",
            "/me/mfa",
            Some(token),
            Some(serde_json::json!({ "code": code })),
        )
        .await
    }

    /// A new access token for a refresh token, as the console gets one (REFRESH_TOKEN_AUTH).
    pub async fn refresh(&self, refresh_token: &str) -> Result<String, String> {
        let idp = aws_sdk_cognitoidentityprovider::Client::new(&self.sdk);
        let out = idp
            .initiate_auth()
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .client_id(&self.stack.user_pool_client_id)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error()))?;
        out.authentication_result
            .and_then(|r| r.access_token)
            .ok_or_else(|| "no access token".to_string())
    }

    /// The invite token from the newest email sent to `email`.
    pub async fn token_from_mail(&self, email: &str) -> Option<String> {
        let mail = moto::last_mail_to(&self.stack.aws_endpoint, email).await?;
        moto::token_in(&mail.body)
    }

    /// One invocation of the operator's `tenant-admin` function, with the deadline Lambda
    /// would give it (its template timeout is 15 s).
    pub async fn invoke_tenant_admin(
        &self,
        event: Value,
        request_id: &str,
    ) -> Result<Value, ApiError> {
        let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(15);
        tenant_admin_fn::handle(
            &self.tenant_admin,
            event,
            request_id,
            shared::config::answer_by(deadline),
        )
        .await
    }

    /// Provisions a tenant through `tenant-admin`, then accepts its admin's invite from the
    /// email like a person would, and signs in. Returns (tenant id, admin access token).
    pub async fn provision_tenant(
        &self,
        name: &str,
        tier: &str,
        seat_limit: Option<u32>,
        admin_email: &str,
        admin_name: &str,
        password: &str,
    ) -> Result<(String, String), String> {
        let created = self
            .invoke_tenant_admin(
                json!({"action": "createTenant", "name": name, "tier": tier, "seatLimit": seat_limit,
                       "admin": {"email": admin_email, "name": admin_name}}),
                "provision",
            )
            .await
        .map_err(|e| format!("createTenant: {e}"))?;
        let tenant_id = created["tenant"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let token = self
            .token_from_mail(admin_email)
            .await
            .ok_or("no invite email for the admin")?;
        let accepted = self
            .request(
                "POST",
                "/invites/accept",
                None,
                Some(json!({"token": token, "password": password})),
            )
            .await;
        if accepted.status != 201 {
            return Err(format!(
                "accept answered {}: {}",
                accepted.status,
                String::from_utf8_lossy(&accepted.body)
            ));
        }
        let access = self.sign_in(admin_email, password).await?;
        Ok((tenant_id, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_survives_junk() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%e2%82%ac"), "€");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_decode("é%"), "é%");
    }

    #[test]
    fn every_route_key_is_unique_and_public_routes_are_only_the_link_ones() {
        let r = routes();
        let mut keys: Vec<&str> = r.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), r.len());
        let public: Vec<&str> = r
            .iter()
            .filter(|(_, _, p)| *p)
            .map(|(k, _, _)| *k)
            .collect();
        // An invite link's two, and a forgotten password's three (rule 13).
        assert_eq!(
            public,
            vec![
                "POST /invites/preview",
                "POST /invites/accept",
                "POST /password-resets",
                "POST /password-resets/preview",
                "POST /password-resets/confirm"
            ]
        );
    }
}
