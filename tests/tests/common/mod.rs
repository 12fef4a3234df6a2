//! Shared set-up for the end-to-end tests: one moto server and one stack per test binary,
//! and a fresh `App` (with its own clock) per test.

#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use harness::app::Reply;
use harness::{App, Moto, Stack};
use serde_json::{json, Value};
use shared::domain::{InviteId, TenantId, UserId};
use std::future::Future;
use std::sync::{Arc, OnceLock};

pub const PASSWORD: &str = "Correct-Horse-42!";

struct Env {
    rt: tokio::runtime::Runtime,
    stack: Stack,
    sdk: aws_config::SdkConfig,
    // Kept for the life of the process; the emulator exits with it.
    _moto: Moto,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        let (moto, stack, sdk) = rt.block_on(async {
            let moto = Moto::start_or_reuse().await;
            let sdk = harness::stack::sdk_config(&moto.endpoint).await;
            let stack = Stack::create(&moto.endpoint, &sdk).await;
            (moto, stack, sdk)
        });
        Env {
            rt,
            stack,
            sdk,
            _moto: moto,
        }
    })
}

/// Runs `body` (a test's `block_on`) on a thread with a 32 MiB stack. In a debug build every
/// handler's future is built on the stack of whoever polls it, through the gateway's match
/// over all functions and the SDK's layers; a long scenario outgrows libtest's 2 MiB. Lambda's
/// release builds need far less. The test's panic is the caller's.
fn on_big_stack<T: Send>(body: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let t = std::thread::Builder::new()
            .stack_size(32 << 20)
            .spawn_scoped(s, body)
            .expect("a test thread");
        t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Runs a test body on the shared runtime with a fresh `App` (own clock, shared emulator).
pub fn run<F, Fut>(f: F)
where
    F: FnOnce(Arc<App>) -> Fut + Send,
    Fut: Future<Output = ()>,
{
    let e = env();
    on_big_stack(|| {
        e.rt.block_on(async {
            let app = Arc::new(App::new(e.stack.clone(), e.sdk.clone()).await);
            f(app).await
        })
    })
}

/// Like `run`, with tables and a user pool of the test's own: for tests whose clock jumps
/// ahead and then run the expiry job, which would otherwise expire other tests' invites.
pub fn run_isolated<F, Fut>(f: F)
where
    F: FnOnce(Arc<App>) -> Fut + Send,
    Fut: Future<Output = ()>,
{
    let e = env();
    on_big_stack(|| {
        e.rt.block_on(async {
            let stack = Stack::create(&e.stack.aws_endpoint, &e.sdk).await;
            let app = Arc::new(App::new(stack, e.sdk.clone()).await);
            f(app).await
        })
    })
}

/// Like `run_isolated`, with every function's AWS calls going through a counting proxy of its
/// own: the map holds each function's calls (by binary name).
pub fn run_counted<F, Fut>(functions: &[&str], f: F)
where
    F: FnOnce(Arc<App>, std::collections::HashMap<String, harness::proxy::Calls>) -> Fut + Send,
    Fut: Future<Output = ()>,
{
    let e = env();
    on_big_stack(|| {
        e.rt.block_on(async {
            let stack = Stack::create(&e.stack.aws_endpoint, &e.sdk).await;
            let mut calls = std::collections::HashMap::new();
            let mut sdks = std::collections::HashMap::new();
            for name in functions {
                let (url, c) = harness::proxy::start(stack.aws_endpoint.clone()).await;
                sdks.insert(name.to_string(), harness::stack::sdk_config(&url).await);
                calls.insert(name.to_string(), c);
            }
            let app = App::with_sdk_per_function(stack, e.sdk.clone(), |f| {
                sdks.get(f)
                    .unwrap_or_else(|| panic!("no proxy for {f}"))
                    .clone()
            })
            .await;
            f(Arc::new(app), calls).await
        })
    })
}

/// Like `run_isolated`, with every function's AWS calls going through one proxy that injects
/// the faults the test sets (the harness's own calls, used to check the outcome, go direct).
pub fn run_faulty<F, Fut>(f: F)
where
    F: FnOnce(Arc<App>, harness::proxy::Faults, harness::proxy::Calls) -> Fut + Send,
    Fut: Future<Output = ()>,
{
    let e = env();
    on_big_stack(|| {
        e.rt.block_on(async {
            let stack = Stack::create(&e.stack.aws_endpoint, &e.sdk).await;
            let (url, calls, faults) =
                harness::proxy::start_with_faults(stack.aws_endpoint.clone()).await;
            let proxied = harness::stack::sdk_config(&url).await;
            let app = App::with_sdk_per_function(stack, e.sdk.clone(), |_| proxied.clone()).await;
            f(Arc::new(app), faults, calls).await
        })
    })
}

/// Like `run_faulty`, with the functions' key fetches (the pool's JWKS, `cognito.JWKS`) going
/// through the proxy too, so a test can take the signing keys away.
pub fn run_with_faulty_keys<F, Fut>(f: F)
where
    F: FnOnce(Arc<App>, harness::proxy::Faults) -> Fut + Send,
    Fut: Future<Output = ()>,
{
    let e = env();
    on_big_stack(|| {
        e.rt.block_on(async {
            let mut stack = Stack::create(&e.stack.aws_endpoint, &e.sdk).await;
            let (url, _, faults) =
                harness::proxy::start_with_faults(stack.aws_endpoint.clone()).await;
            stack.jwks_url = stack.jwks_url.replace(&stack.aws_endpoint, &url);
            assert!(stack.jwks_url.starts_with(&url), "{}", stack.jwks_url);
            let app = App::new(stack, e.sdk.clone()).await;
            f(Arc::new(app), faults).await
        })
    })
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &shared::domain::ids::new_id()[..10])
}

pub fn email(prefix: &str) -> String {
    format!("{}@example.test", unique(prefix))
}

pub struct Tenant {
    pub id: String,
    pub admin_email: String,
    pub admin: String,
}

pub async fn tenant(app: &App, tier: &str, seat_limit: Option<u32>) -> Tenant {
    let admin_email = email("admin");
    let (id, admin) = app
        .provision_tenant(
            &unique("Company"),
            tier,
            seat_limit,
            &admin_email,
            "Ada Admin",
            PASSWORD,
        )
        .await
        .expect("provision tenant");
    Tenant {
        id,
        admin_email,
        admin,
    }
}

pub use harness::app::Joined as Member;

pub async fn invite(app: &App, token: &str, body: Value) -> Reply {
    app.invite(token, body).await
}

/// Invites, reads the email, accepts and signs in: a teammate ready to call the API.
pub async fn member(app: &App, admin: &str, role: &str, team: Option<&str>) -> Member {
    let body =
        json!({"email": email(role), "name": format!("{role} person"), "role": role, "team": team});
    app.join(admin, body, PASSWORD).await
}

pub fn assert_problem(r: &Reply, status: u16, slug: &str) {
    assert_eq!(
        r.status,
        status,
        "expected {status} {slug}, got {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(
        r.json()["type"],
        format!("https://veloconnect.io/problems/{slug}"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

/// Every item of one gsi1 partition, read straight from DynamoDB (not through the store).
pub async fn partition(
    app: &App,
    gsi1pk: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let ddb = aws_sdk_dynamodb::Client::new(&app.sdk);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .query()
            .table_name(&app.stack.directory_table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", AttributeValue::S(gsi1pk.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        out.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

fn attr<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, k: &str) -> &'a str {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

/// Ids as the API and the emails carry them, typed for the store's reads.
pub fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("a user id")
}
pub fn iid(s: &str) -> InviteId {
    InviteId::parse(s).expect("an invite id")
}
pub fn tid(s: &str) -> TenantId {
    TenantId::parse(s).expect("a tenant id")
}

/// Rule 1, counted independently: the tenant's counter equals active users + pending invites.
pub async fn assert_seats_consistent(app: &App, tenant_id: &str) -> u32 {
    let users = partition(app, &format!("TENANT#{tenant_id}#USER")).await;
    let invites = partition(app, &format!("TENANT#{tenant_id}#INVITE")).await;
    let active = users
        .iter()
        .filter(|u| attr(u, "status") == "active")
        .count();
    let pending = invites
        .iter()
        .filter(|i| attr(i, "status") == "pending")
        .count();
    let t = app.store.tenant(&tid(tenant_id)).await.unwrap().unwrap();
    assert_eq!(
        t.seats_used as usize,
        active + pending,
        "seatsUsed {} but {active} active users + {pending} pending invites",
        t.seats_used
    );
    assert!(t.seats_used <= t.seat_limit, "over the limit: {t:?}");
    t.seats_used
}

/// The tenant's audit entries, oldest first, read straight from the audit table.
pub async fn audit(
    app: &App,
    tenant_id: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let ddb = aws_sdk_dynamodb::Client::new(&app.sdk);
    ddb.query()
        .table_name(&app.stack.audit_table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S(format!("TENANT#{tenant_id}")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

pub fn actions(entries: &[std::collections::HashMap<String, AttributeValue>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| attr(e, "action").to_string())
        .collect()
}

pub fn s<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, k: &str) -> &'a str {
    attr(item, k)
}

/// Stands in for a request that died after its commit: the sign-in marker it wrote stays,
/// due `due_in` from the app's clock (negative: already due).
pub async fn leave_marker(app: &App, login: &str, due_in: time::Duration) {
    let due = shared::domain::timefmt::format(app.clock_now() + due_in);
    let s = |v: &str| AttributeValue::S(v.to_string());
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .put_item()
        .table_name(&app.stack.directory_table)
        .item("pk", s(&format!("SIGNIN#{login}")))
        .item("sk", s("SIGNIN"))
        .item("login", s(login))
        .item("mark", s(&shared::domain::ids::new_id()))
        .item("dueAt", s(&due))
        .item("gsi2pk", s("SIGNIN"))
        .item("gsi2sk", s(&format!("{due}#{login}")))
        .send()
        .await
        .unwrap();
}

/// The password-reset emails sent to `to` so far, oldest first (its invite email left out).
pub async fn reset_mails_to(app: &App, to: &str) -> Vec<harness::moto::SentMail> {
    harness::moto::sent_mail(&app.stack.aws_endpoint)
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
        .filter(|m| m.subject.contains("password"))
        .collect()
}

/// One address of each kind the forgotten-password form must answer alike (rule 13).
pub struct Addresses {
    pub active: Member,
    pub suspended: String,
    pub deleted: String,
    pub invited: String,
    pub nobody: String,
}

/// An active agent, a suspended one, a deleted one, a pending invite and an address nobody has,
/// in `admin`'s company.
pub async fn address_kinds(app: &App, admin: &str) -> Addresses {
    let active = member(app, admin, "agent", None).await;
    let suspended = member(app, admin, "agent", None).await;
    app.suspend(admin, &suspended.id).await.expect(200);
    let deleted = member(app, admin, "agent", None).await;
    app.delete_user(admin, &deleted.id).await.expect(200);
    let invited = email("invited");
    invite(
        app,
        admin,
        json!({"email": invited, "name": "Ivy", "role": "agent"}),
    )
    .await
    .expect(201);
    Addresses {
        active,
        suspended: suspended.email,
        deleted: deleted.email,
        invited,
        nobody: email("nobody"),
    }
}
