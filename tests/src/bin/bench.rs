//! `cargo build --release --workspace --bins && cargo run --release -p harness --bin bench`
//!
//! Prints, against a local moto server: binary sizes; cold start of every function binary
//! beside a hello-world one (through a fake Lambda Runtime API); peak memory serving each
//! function's heaviest request; AWS round trips per operation (counted by a proxy in front of
//! the emulator); how a list page and the expiry job grow with the data; bulk invite against a
//! single one; warm latency per route with the emulator's share apart.
//! Settings: BENCH_BIN_DIR (default target/release), BENCH_STARTS (20), BENCH_WARM (200),
//! BENCH_GROWTH (list page sizes, 10,1000,10000), BENCH_EXPIRY (pending invites, 0,1000,10000),
//! BENCH_PEERS=0 (leave out the peers of `tests/peers/`, which the first run builds and installs),
//! BENCH_SECTIONS (which sections, default sizes,cold,session,trips,growth,warm),
//! BENCH_BEFORE_DIR (release `authorizer` and `list` binaries of a commit that still had the
//! gateway authorizer, for the session section's "before"; without it only "after" is printed).

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use harness::app::App;
use harness::peers::{self, Program};
use harness::proxy::{self, Call};
use harness::runtime_api::{serve_once, Seen};
use harness::{Moto, Stack, FUNCTIONS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Bench-Passw0rd!!";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summarize(calls: &[Call]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in calls {
        *counts.entry(c.op.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(op, n)| {
            if *n == 1 {
                op.to_string()
            } else {
                format!("{n}× {op}")
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `caller` is `(sub, access token)`: our functions verify the token themselves; the peers
/// (other runtimes, for comparison) read the sub from an authorizer's context, as they did.
fn http_event(
    route: &str,
    path: &str,
    caller: &(String, String),
    body: Option<Value>,
    params: Value,
) -> Vec<u8> {
    let (sub, token) = caller;
    let method = route.split(' ').next().unwrap();
    let mut ev = json!({
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": format!("Bearer {token}")},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": route, "stage": "$default", "time": "", "timeEpoch": 0,
            "authorizer": {"lambda": {"sub": sub, "username": sub}}
        },
        "isBase64Encoded": false
    });
    if let Some(b) = body {
        ev["body"] = Value::String(b.to_string());
    }
    if params.as_object().is_some_and(|o| !o.is_empty()) {
        ev["pathParameters"] = params;
    }
    ev.to_string().into_bytes()
}

struct Start {
    init: Duration,
    answer: Duration,
    peak_kb: u64,
    response: Vec<u8>,
}

fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One cold start: exec the binary against a fresh fake Runtime API, hand it `event`.
async fn cold_start(program: &Program, envs: &[(String, String)], event: Vec<u8>) -> Start {
    let (port, mut rx) = serve_once(event).await;
    let started = Instant::now();
    let mut child = program
        .command()
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build with cargo build --release --workspace --bins)",
                program.path.display()
            )
        });
    let mut init = None;
    let (answer, response) = loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(Seen::Next(t))) => {
                init.get_or_insert(t - started);
            }
            Ok(Some(Seen::Response(t, b))) | Ok(Some(Seen::Error(t, b))) => break (t - started, b),
            _ => panic!("{} gave no answer", program.name),
        }
    };
    let peak_kb = vm_hwm_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    Start {
        init: init.unwrap_or(answer),
        answer,
        peak_kb,
        response,
    }
}

struct Bench {
    app: App,
    calls: proxy::Calls,
    moto: String,
    tenant: String,
    admin_token: String,
    admin_sub: String,
}

impl Bench {
    /// Runs `op` and returns (its result, the AWS calls it made, wall time).
    async fn measure<F: std::future::Future<Output = T>, T>(
        &self,
        op: F,
    ) -> (T, Vec<Call>, Duration) {
        self.calls.take();
        let t = Instant::now();
        let out = op.await;
        let d = t.elapsed();
        (out, self.calls.take(), d)
    }

    async fn req(&self, method: &str, path: &str, body: Option<Value>) -> harness::app::Reply {
        self.app
            .request(method, path, Some(&self.admin_token), body)
            .await
    }
}

fn email(prefix: &str) -> String {
    format!(
        "{prefix}-{}@bench.test",
        &shared::domain::ids::new_id()[..12]
    )
}

/// Fresh tables and user pool, and an app whose every AWS call goes through a counting proxy.
async fn proxied_app(endpoint: &str, direct: &aws_config::SdkConfig) -> (App, proxy::Calls, Stack) {
    let stack = Stack::create(endpoint, direct).await;
    let (proxy_url, calls) = proxy::start(endpoint.to_string()).await;
    let sdk = harness::stack::sdk_config(&proxy_url).await;
    let mut proxied = stack.clone();
    proxied.jwks_url = format!("{proxy_url}/{}/.well-known/jwks.json", stack.user_pool_id);
    (App::new(proxied, sdk).await, calls, stack)
}

/// A batch of the audit table's stream as the event source mapping hands it to
/// publish-events: `n` records of the company's events item, one event each.
fn stream_batch(tenant: &str, n: usize) -> Value {
    let records: Vec<Value> = (1..=n)
        .map(|i| {
            let event = json!({
                "id": format!("{i:032x}"), "type": "user.suspended", "tenantId": tenant,
                "occurredAt": "2026-12-07T09:30:00.000Z",
                "actor": {"kind": "user", "id": "bench-admin", "name": "Bench Admin"},
                "subject": {"kind": "user", "id": format!("u{i}"), "name": "Agent", "email": "a@example.com"},
                "changes": {"status": {"before": "active", "after": "suspended"}},
                "reassign": {"userId": format!("u{i}"), "name": "Agent", "team": null},
            });
            json!({"eventName": "MODIFY", "dynamodb": {
                "ApproximateCreationDateTime": 1.8e9,
                "Keys": {"pk": {"S": format!("EVENTS#{tenant}")}, "sk": {"S": "EVENTS"}},
                "NewImage": {"pk": {"S": format!("EVENTS#{tenant}")}, "sk": {"S": "EVENTS"},
                    "events": {"S": json!([event]).to_string()}, "seq": {"N": i.to_string()}},
                "SequenceNumber": format!("{i:022}")}})
        })
        .collect();
    json!({ "Records": records })
}

/// Writes `n` pending invites for `tenant`; `due` of them expired yesterday, the rest expire
/// next week.
async fn seed_invites(
    ddb: &aws_sdk_dynamodb::Client,
    stack: &Stack,
    tenant: &str,
    n: usize,
    due: usize,
) {
    let s = |v: String| AttributeValue::S(v);
    let mut batch = Vec::new();
    let now = time::OffsetDateTime::now_utc();
    for i in 0..n {
        let id = shared::domain::ids::new_id();
        let expires = if i < due {
            now - time::Duration::days(1)
        } else {
            now + time::Duration::days(6)
        };
        let exp = shared::domain::timefmt::format(expires);
        let created = shared::domain::timefmt::format(now - time::Duration::days(7));
        let item = HashMap::from([
            ("pk".to_string(), s(format!("INVITE#{id}"))),
            ("sk".to_string(), s("INVITE".into())),
            ("gsi1pk".to_string(), s(format!("TENANT#{tenant}#INVITE"))),
            ("gsi1sk".to_string(), s(format!("pending#{created}#{id}"))),
            ("gsi2pk".to_string(), s("PENDING".into())),
            ("gsi2sk".to_string(), s(format!("{exp}#{id}"))),
            ("inviteId".to_string(), s(id.clone())),
            ("tenantId".to_string(), s(tenant.into())),
            ("email".to_string(), s(format!("i{i}-{id}@bench.test"))),
            ("name".to_string(), s(format!("Invitee {i}"))),
            ("role".to_string(), s("agent".into())),
            ("status".to_string(), s("pending".into())),
            ("tokenHash".to_string(), s("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into())),
            ("expiresAt".to_string(), s(exp)),
            ("invitedById".to_string(), s("bench".into())),
            ("delivery".to_string(), s("sent".into())),
            ("createdAt".to_string(), s(created.clone())),
            ("sentAt".to_string(), s(created)),
        ]);
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
        let guard = HashMap::from([
            ("pk".to_string(), s(format!("EMAIL#i{i}-{id}@bench.test"))),
            ("sk".to_string(), s("EMAIL".into())),
            ("tenantId".to_string(), s(tenant.into())),
            ("kind".to_string(), s("invite".into())),
            ("refId".to_string(), s(id)),
        ]);
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(guard)).build().unwrap())
                .build(),
        );
        if batch.len() >= 24 || i == n - 1 {
            ddb.batch_write_item()
                .request_items(&stack.directory_table, std::mem::take(&mut batch))
                .send()
                .await
                .expect("seed invites");
        }
    }
    // Their seats, as the code would have counted them.
    ddb.update_item()
        .table_name(&stack.directory_table)
        .key("pk", s(format!("TENANT#{tenant}")))
        .key("sk", s("TENANT".into()))
        .update_expression("ADD seatsUsed :n SET seatLimit = :big")
        .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
        .expression_attribute_values(":big", AttributeValue::N("100000".into()))
        .send()
        .await
        .expect("seat counter");
}

/// Every function binary and the hello-world yardstick, in the order the tables list them.
fn binaries() -> Vec<&'static str> {
    let mut all = FUNCTIONS.to_vec();
    all.push("hello-lambda");
    all
}

/// What every section reads: the app behind its counting proxy, where the release binaries
/// are, the run's sizes, and the emulator and tables the functions are started against.
struct Ctx {
    b: Bench,
    bin_dir: PathBuf,
    starts: usize,
    warm_n: usize,
    growth: Vec<usize>,
    expiry_sizes: Vec<usize>,
    moto: Moto,
    direct: aws_config::SdkConfig,
    stack: Stack,
    ddb: aws_sdk_dynamodb::Client,
    /// The environment a deployed function gets, pointed at the emulator.
    envs: Vec<(String, String)>,
    /// The peers started in the cold-start rounds (none with BENCH_PEERS=0).
    peers: Vec<Program>,
}

#[tokio::main]
async fn main() {
    // `BENCH_LOG=1` prints the code's own log lines (JSON, `RUST_LOG` sets the level; `warn`
    // names, say, a transaction whose conflicts outlasted its budget) among the tables.
    if std::env::var("BENCH_LOG").is_ok() {
        shared::telemetry::init();
    }
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let bin_dir = std::env::var("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release"));
    let starts = env_num("BENCH_STARTS", 20);
    let warm_n = env_num("BENCH_WARM", 200);
    let growth: Vec<usize> = std::env::var("BENCH_GROWTH")
        .unwrap_or_else(|_| "10,1000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let expiry_sizes: Vec<usize> = std::env::var("BENCH_EXPIRY")
        .unwrap_or_else(|_| "0,1000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();

    println!("# VeloConnect directory benchmarks\n");
    println!(
        "machine: {} cores, {}; emulator: moto server (single-threaded) on loopback\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default()
    );

    // ------------------------------------------------------------------ set-up
    let moto = Moto::start_or_reuse().await;
    let direct = harness::stack::sdk_config(&moto.endpoint).await;
    let (app, calls, stack) = proxied_app(&moto.endpoint, &direct).await;
    let admin_email = email("admin");
    let (tenant, admin_token) = app
        .provision_tenant(
            "Bench Co",
            "enterprise",
            Some(100_000),
            &admin_email,
            "Bench Admin",
            PASSWORD,
        )
        .await
        .expect("seed tenant");
    let admin_sub = app
        .request("GET", "/me", Some(&admin_token), None)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = Bench {
        app,
        calls,
        moto: moto.endpoint.clone(),
        tenant: tenant.clone(),
        admin_token,
        admin_sub,
    };
    let ddb = aws_sdk_dynamodb::Client::new(&direct);

    let envs: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), moto.endpoint.clone()),
        ("AWS_REGION".into(), "us-east-1".into()),
        // Lambda sets both; botocore reads only this one.
        ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("DIRECTORY_TABLE".into(), stack.directory_table.clone()),
        ("AUDIT_TABLE".into(), stack.audit_table.clone()),
        ("SENDER_EMAIL".into(), stack.sender.clone()),
        (
            "SES_CONFIGURATION_SET".into(),
            stack.configuration_set.clone(),
        ),
        ("APP_URL".into(), stack.app_url.clone()),
        ("PRICING_URL".into(), stack.pricing_url.clone()),
        ("USER_POOL_ID".into(), stack.user_pool_id.clone()),
        (
            "USER_POOL_CLIENT_ID".into(),
            stack.user_pool_client_id.clone(),
        ),
        ("TOKEN_ISSUER".into(), stack.token_issuer.clone()),
        ("JWKS_URL".into(), stack.jwks_url.clone()),
        ("EVENT_BUS_NAME".into(), stack.event_bus.clone()),
        (
            "EVENTS_DEAD_LETTER_QUEUE_URL".into(),
            stack.events_dead_letter_url.clone(),
        ),
    ];
    let sections = std::env::var("BENCH_SECTIONS")
        .unwrap_or_else(|_| "sizes,cold,session,trips,growth,scale,warm".into());
    let wanted = |name: &str| sections.split(',').any(|s| s.trim() == name);
    let peers = if !wanted("cold") || std::env::var("BENCH_PEERS").is_ok_and(|v| v == "0") {
        Vec::new()
    } else {
        peers::prepare(&root)
    };
    let c = Ctx {
        peers,
        b,
        bin_dir,
        starts,
        warm_n,
        growth,
        expiry_sizes,
        moto,
        direct,
        stack,
        ddb,
        envs,
    };
    if wanted("sizes") {
        sizes(&c).await;
    }
    if wanted("cold") {
        cold_start_and_memory(&c).await;
    }
    if wanted("session") {
        session_first_request(&c).await;
    }
    if wanted("trips") {
        round_trips(&c).await;
    }
    if wanted("growth") {
        growth_with_data(&c).await;
    }
    if wanted("scale") {
        one_company_at_once(&c).await;
    }
    if wanted("warm") {
        warm_latency(&c).await;
    }
}

/// The SES sending rate the scale section's invite function keeps to: a production account
/// raised for a big company. At the default quota (14 a second, `mail::DEFAULT_SEND_RATE`)
/// the mail, not the store, would be the wall of a bulk import.
const SCALE_SEND_RATE: u32 = 500;

/// What one run of the scale section saw.
struct Scaled {
    wall: Duration,
    rows_ok: usize,
    statuses: BTreeMap<u16, usize>,
    conflicts: proxy::Conflicts,
    /// Median time of a transaction that held its items (the hold included).
    tx_ms: f64,
    /// Share of the wall time during which the emulator was answering some call.
    emulator_busy: f64,
    seats_exact: bool,
}

impl Scaled {
    /// A run's figures from what it saw: `trace`, the calls it made.
    fn of(
        wall: Duration,
        rows_ok: usize,
        statuses: BTreeMap<u16, usize>,
        conflicts: proxy::Conflicts,
        trace: &[Call],
        seats_exact: bool,
    ) -> Scaled {
        Scaled {
            wall,
            rows_ok,
            statuses,
            conflicts,
            tx_ms: tx_time(trace),
            emulator_busy: proxy::emulator_time(trace).as_secs_f64() / wall.as_secs_f64(),
            seats_exact,
        }
    }
}

/// A fresh company on fresh tables, every AWS call through a proxy with DynamoDB's transaction
/// conflicts modelled (`proxy::DYNAMODB_HOLD`).
async fn conflicted_company(c: &Ctx) -> (App, proxy::Calls, proxy::Faults, Stack, String, String) {
    let stack = Stack::create(&c.moto.endpoint, &c.direct).await;
    let (url, calls, faults) = proxy::start_with_faults(c.moto.endpoint.clone()).await;
    faults.model_conflicts(Some(proxy::DYNAMODB_HOLD));
    let sdk = harness::stack::sdk_config(&url).await;
    let mut proxied = stack.clone();
    proxied.jwks_url = format!("{url}/{}/.well-known/jwks.json", stack.user_pool_id);
    let mut app = App::new(proxied, sdk.clone()).await;
    app.invite.invites.mailer =
        shared::mail::Mailer::new(aws_sdk_sesv2::Client::new(&sdk), stack.sender.clone())
            .with_configuration_set(Some(stack.configuration_set.clone()))
            .with_send_rate(SCALE_SEND_RATE);
    let (t_id, token) = app
        .provision_tenant(
            "Scale Co",
            "enterprise",
            Some(100_000),
            &email("s-admin"),
            "Scale Admin",
            PASSWORD,
        )
        .await
        .expect("scale tenant");
    (app, calls, faults, stack, t_id, token)
}

/// Median time of the transactions that went through (the cancelled ones answer at once).
fn tx_time(calls: &[Call]) -> f64 {
    let mut t: Vec<f64> = calls
        .iter()
        .filter(|c| c.op == "dynamodb.TransactWriteItems" && !c.upstream.is_zero())
        .map(|c| ms(c.upstream))
        .collect();
    if t.is_empty() {
        0.0
    } else {
        median(&mut t)
    }
}

async fn seats_used(app: &App, t_id: &str) -> u32 {
    let id = shared::domain::TenantId::parse(t_id).expect("a tenant id");
    app.store.tenant(&id).await.unwrap().unwrap().seats_used
}

/// 5b. One company growing at once: bulk invites and role changes with several requests in
/// flight against one seat counter and one events item, conflicts modelled.
async fn one_company_at_once(c: &Ctx) {
    use futures_util::stream::{self, StreamExt};
    let people = env_num("BENCH_SCALE", 1000);
    println!("\n## 5b. One company at once ({people} people; DynamoDB's transaction conflicts modelled, each transaction holding its items {} ms)\n", proxy::DYNAMODB_HOLD.as_millis());
    let mut runs: Vec<(String, usize, Scaled)> = Vec::new();
    for inflight in [1usize, 4, 8] {
        let (app, calls, faults, _stack, t_id, token) = conflicted_company(c).await;
        calls.take();
        let before = faults.conflicts();
        let requests = people.div_ceil(25);
        let t = Instant::now();
        let replies: Vec<harness::app::Reply> = stream::iter(0..requests)
            .map(|k| {
                let rows: Vec<Value> = (0..25.min(people - k * 25))
                    .map(|i| json!({"email": email(&format!("grow{k}x{i}")), "name": "Grow", "role": "agent"}))
                    .collect();
                let (app, token) = (&app, &token);
                async move {
                    app.request("POST", "/invites", Some(token), Some(json!({"invites": rows})))
                        .await
                }
            })
            .buffer_unordered(inflight)
            .collect()
            .await;
        let wall = t.elapsed();
        let mut statuses = BTreeMap::new();
        let mut rows_ok = 0;
        for r in &replies {
            *statuses.entry(r.status).or_default() += 1;
            if r.status == 201 {
                rows_ok += r.json()["invites"].as_array().map_or(0, |a| a.len());
            }
        }
        let seats = seats_used(&app, &t_id).await;
        let trace = calls.take();
        runs.push((
            "bulk invites of 25".into(),
            inflight,
            Scaled::of(
                wall,
                rows_ok,
                statuses,
                faults.conflicts().since(before),
                &trace,
                seats as usize == 1 + rows_ok,
            ),
        ));
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for inflight in [8usize, 32] {
        let (app, calls, faults, stack, t_id, token) = conflicted_company(c).await;
        let ids = harness::seed::users(&c.ddb, &stack, &t_id, people, None).await;
        let seats_before = seats_used(&app, &t_id).await;
        calls.take();
        let before = faults.conflicts();
        let t = Instant::now();
        let replies: Vec<harness::app::Reply> = stream::iter(ids.iter())
            .map(|id| {
                let (app, token) = (&app, &token);
                async move {
                    app.request(
                        "PUT",
                        &format!("/users/{id}/role"),
                        Some(token),
                        Some(json!({"role": "supervisor"})),
                    )
                    .await
                }
            })
            .buffer_unordered(inflight)
            .collect()
            .await;
        let wall = t.elapsed();
        let mut statuses = BTreeMap::new();
        for r in &replies {
            *statuses.entry(r.status).or_default() += 1;
            if r.status == 503 {
                let kind = r.json()["type"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                *kinds
                    .entry(format!("{inflight} in flight: {kind}"))
                    .or_default() += 1;
            }
        }
        let trace = calls.take();
        let seats_exact = seats_used(&app, &t_id).await == seats_before;
        runs.push((
            "role changes, one user each".into(),
            inflight,
            Scaled::of(
                wall,
                statuses.get(&200).copied().unwrap_or(0),
                statuses,
                faults.conflicts().since(before),
                &trace,
                seats_exact,
            ),
        ));
    }
    println!("| work | in flight | rows done | wall s | rows/s | statuses | transactions through | cancelled (retried) | single writes refused | 503s | emulator's median transaction ms | limit rows/s at {} ms | share of limit | emulator busy | seat counter exact |", proxy::DYNAMODB_HOLD.as_millis());
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (work, inflight, r) in &runs {
        let per_tx = if work.starts_with("bulk") { 25.0 } else { 1.0 };
        let rate = r.rows_ok as f64 / r.wall.as_secs_f64();
        let limit = per_tx / proxy::DYNAMODB_HOLD.as_secs_f64();
        println!(
            "| {work} | {inflight} | {} | {:.1} | {rate:.1} | {:?} | {} | {} | {} | {} | {:.1} | {limit:.0} | {:.0}% | {:.0}% | {} |",
            r.rows_ok,
            r.wall.as_secs_f64(),
            r.statuses,
            r.conflicts.held,
            r.conflicts.cancelled,
            r.conflicts.refused,
            r.statuses.get(&503).copied().unwrap_or(0),
            r.tx_ms,
            100.0 * rate / limit,
            100.0 * r.emulator_busy,
            if r.seats_exact { "yes" } else { "NO" },
        );
    }
    println!("\nRole changes' 503s by kind: {kinds:?}.");
    println!("\nLimit: one company's transactions all move one item (its seat counter for invites, its events item for every change), and DynamoDB runs one item's transactions one at a time, so at a transaction time t at most 1/t of them commit per second: rows per transaction ÷ t, with t the model's hold (DynamoDB's time; the emulator's own is longer and serial).");
}

/// 2c. A session's first request from cold, from the gateway's call to the answer: what a
/// user waits for (besides API Gateway's own hop) when every container it needs is cold. With
/// a gateway authorizer that was two cold starts one after the other (the authorizer, then the
/// function, which trusted its context); now it is one, the function verifying the token itself,
/// its JWKS fetch included. `GET /users` (list), as in the cold-start table.
async fn session_first_request(c: &Ctx) {
    let Ctx {
        b,
        bin_dir,
        starts,
        envs,
        ..
    } = c;
    let caller = (b.admin_sub.clone(), b.admin_token.clone());
    let list_event = || http_event("GET /users", "/users", &caller, None, json!({}));
    let authorizer_event = || {
        json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /users", "rawPath": "/users",
            "rawQueryString": "", "headers": {"authorization": format!("Bearer {}", b.admin_token)},
            "requestContext": {"accountId": "0", "apiId": "b", "domainName": "b", "domainPrefix": "b",
              "http": {"method": "GET", "path": "/users", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "b"},
              "requestId": "b", "routeKey": "GET /users", "stage": "$default", "time": "", "timeEpoch": 0}})
        .to_string()
        .into_bytes()
    };
    let before_dir = std::env::var("BENCH_BEFORE_DIR").ok().map(PathBuf::from);
    let mut after = Vec::new();
    let (mut before, mut before_auth, mut before_list) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..*starts {
        let s = cold_start(&Program::binary(bin_dir, "list"), envs, list_event()).await;
        assert_eq!(
            status_of(&s.response),
            "HTTP 200",
            "list: {}",
            String::from_utf8_lossy(&s.response)
        );
        after.push(ms(s.answer));
        if let Some(dir) = &before_dir {
            let auth = cold_start(
                &Program::binary(dir, "authorizer"),
                envs,
                authorizer_event(),
            )
            .await;
            let allowed: Value = serde_json::from_slice(&auth.response).unwrap_or(Value::Null);
            assert_eq!(allowed["isAuthorized"], true, "authorizer: {allowed}");
            let list = cold_start(&Program::binary(dir, "list"), envs, list_event()).await;
            assert_eq!(status_of(&list.response), "HTTP 200", "old list");
            before_auth.push(ms(auth.answer));
            before_list.push(ms(list.answer));
            before.push(ms(auth.answer + list.answer));
        }
    }
    println!("\n## 2c. A session's first request from cold (GET /users; median of {starts}; exec → answer of each cold process on the way)\n");
    println!("| path | cold processes | first answer ms |\n|---|---|---:|");
    if before_dir.is_some() {
        println!(
            "| before: gateway authorizer, then the function | authorizer {:.2} + list {:.2} | {:.2} |",
            median(&mut before_auth),
            median(&mut before_list),
            median(&mut before)
        );
    }
    println!(
        "| after: the function verifies the token (JWKS fetched on its first request) | list | {:.2} |",
        median(&mut after)
    );
}

/// 1. Binary sizes of the release build.
async fn sizes(c: &Ctx) {
    let Ctx { bin_dir, .. } = c;
    println!("## 1. Binary size (release profile: opt-level s, fat LTO, 1 codegen unit, strip, panic abort)\n");
    println!("| binary | size | vs 8 MB target |\n|---|---:|---|");
    for f in &binaries() {
        let size = std::fs::metadata(bin_dir.join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        let mb = size as f64 / 1048576.0;
        println!(
            "| {f} | {mb:.2} MB | {} |",
            if mb <= 8.0 { "ok" } else { "OVER" }
        );
    }
}

/// The order of round `round`'s `n` starts: a Fisher-Yates shuffle driven by a fixed
/// generator, so runs are repeatable and no program always follows the same one.
fn round_order(round: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..n).rev() {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        order.swap(i, (r % (i as u64 + 1)) as usize);
    }
    order
}

/// 2 and 3. Cold starts through the fake Runtime API, and peak memory on the heaviest requests.
async fn cold_start_and_memory(c: &Ctx) {
    let Ctx {
        b,
        bin_dir,
        starts,
        stack,
        ddb,
        envs,
        ..
    } = c;
    let starts = *starts;
    let sub = (b.admin_sub.clone(), b.admin_token.clone());
    let nobody = "0".repeat(32);
    // A first request that does real work on each: a caller read, then the function's answer.
    let first_event = |f: &str| -> Vec<u8> {
        match f {
            "invite" => http_event(
                "POST /invites",
                "/invites",
                &sub,
                Some(json!({"email": "not-an-email"})),
                json!({}),
            ),
            "accept" => http_event(
                "POST /invites/preview",
                "/invites/preview",
                &sub,
                Some(json!({"token": format!("{nobody}.{}", "A".repeat(43))})),
                json!({}),
            ),
            // GET /users, the request the peers make too: a consistent caller read, one page.
            "list" => http_event("GET /users", "/users", &sub, None, json!({})),
            "change-role" => http_event(
                "PUT /users/{id}/role",
                &format!("/users/{nobody}/role"),
                &sub,
                Some(json!({"role": "agent"})),
                json!({"id": nobody}),
            ),
            "suspend" => http_event(
                "POST /users/{id}/suspend",
                &format!("/users/{nobody}/suspend"),
                &sub,
                None,
                json!({"id": nobody}),
            ),
            "delete" => http_event(
                "DELETE /users/{id}",
                &format!("/users/{nobody}"),
                &sub,
                None,
                json!({"id": nobody}),
            ),
            "audit" => http_event("GET /audit", "/audit", &sub, None, json!({})),
            // A reset link's preview: the one public read (the request route waits 400 ms).
            "reset-password" => http_event(
                "POST /password-resets/preview",
                "/password-resets/preview",
                &sub,
                Some(json!({"token": format!("{nobody}.{}", "A".repeat(43))})),
                json!({}),
            ),
            "expire-invites" | "reconcile-signin" => {
                json!({"source": "aws.scheduler", "detail": {}})
                    .to_string()
                    .into_bytes()
            }
            "tenant-admin" => json!({"action": "setTier", "tenantId": "nope"})
                .to_string()
                .into_bytes(),
            // A stream batch of one event: one PutEvents.
            "publish-events" => stream_batch("bench", 1).to_string().into_bytes(),
            _ => b"{}".to_vec(),
        }
    };
    let mut programs: Vec<Program> = binaries()
        .iter()
        .map(|f| Program::binary(bin_dir, f))
        .collect();
    programs.extend(c.peers.iter().cloned());
    let mut inits: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut answers: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut rss: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for round in 0..starts {
        // Side by side: each round starts hello world, every function and every peer once, in
        // an order of its own. In one fixed order the function after the Node.js peer (150 ms,
        // 65 MB) always started with the CPU's caches full of the peer's, and read 0.3-0.5 ms
        // slower than the same binary elsewhere in the round.
        for i in round_order(round as u64, programs.len()) {
            let p = &programs[i];
            // A peer does what `list` does on its first request.
            let event = first_event(if p.name.starts_with("peer") {
                "list"
            } else {
                &p.name
            });
            let s = cold_start(p, envs, event).await;
            if p.name.starts_with("peer") && !status_of(&s.response).contains("200") {
                panic!(
                    "{} answered {}",
                    p.name,
                    String::from_utf8_lossy(&s.response)
                );
            }
            inits.entry(p.name.clone()).or_default().push(ms(s.init));
            answers
                .entry(p.name.clone())
                .or_default()
                .push(ms(s.answer));
            rss.entry(p.name.clone()).or_default().push(s.peak_kb);
        }
    }
    let mut row = |name: &str| ColdRow {
        init: median(inits.get_mut(name).unwrap()),
        answer: median(answers.get_mut(name).unwrap()),
        peak_mb: rss[name].iter().max().copied().unwrap_or(0) as f64 / 1024.0,
    };
    let rows: Vec<(String, ColdRow)> = programs
        .iter()
        .map(|p| (p.name.clone(), row(&p.name)))
        .collect();
    let hello_init = rows
        .iter()
        .find(|(n, _)| n == "hello-lambda")
        .unwrap()
        .1
        .init;
    println!("\n## 2. Cold start (median of {starts} starts, exec → first `next` = init; → first answer)\n");
    println!(
        "First request: a real caller read and the function's answer (see docs/benchmarks.md).\n"
    );
    println!("| binary | init ms | init / hello | first answer ms | peak RSS (first request) |\n|---|---:|---:|---:|---:|");
    for (name, r) in &rows {
        println!(
            "| {name} | {:.2} | {:.2}× | {:.2} | {:.1} MB |",
            r.init,
            r.init / hello_init,
            r.answer,
            r.peak_mb
        );
    }
    peer_ratios(&rows);

    // Peak memory on each function's heaviest request.
    println!("\n## 3. Peak memory on the heaviest request (VmHWM after answering)\n");
    println!("| function | request | peak RSS | status |\n|---|---|---:|---|");
    harness::seed::users(ddb, stack, &b.tenant, 1000, None).await;
    let rows: Vec<Value> = (0..25).map(|i| json!({"email": email(&format!("m{i}")), "name": format!("Mem {i}"), "role": "agent"})).collect();
    let heavy = cold_start(
        &Program::binary(bin_dir, "invite"),
        envs,
        http_event(
            "POST /invites",
            "/invites",
            &sub,
            Some(json!({"invites": rows})),
            json!({}),
        ),
    )
    .await;
    println!(
        "| invite | 25-row bulk invite (25 argon2id hashes, 25 emails) | {:.1} MB | {} |",
        heavy.peak_kb as f64 / 1024.0,
        status_of(&heavy.response)
    );
    let addr = email("acc");
    b.req(
        "POST",
        "/invites",
        Some(json!({"email": addr, "name": "Acc", "role": "agent"})),
    )
    .await;
    let token = b.app.token_from_mail(&addr).await.unwrap();
    let heavy = cold_start(
        &Program::binary(bin_dir, "accept"),
        envs,
        http_event(
            "POST /invites/accept",
            "/invites/accept",
            &sub,
            Some(json!({"token": token, "password": PASSWORD})),
            json!({}),
        ),
    )
    .await;
    println!(
        "| accept | accept: argon2id verify + Cognito + transaction | {:.1} MB | {} |",
        heavy.peak_kb as f64 / 1024.0,
        status_of(&heavy.response)
    );
    let mut ev: Value =
        serde_json::from_slice(&http_event("GET /users", "/users", &sub, None, json!({}))).unwrap();
    ev["queryStringParameters"] = json!({"limit": "1000"});
    ev["rawQueryString"] = json!("limit=1000");
    let heavy = cold_start(
        &Program::binary(bin_dir, "list"),
        envs,
        ev.to_string().into_bytes(),
    )
    .await;
    let n_users = serde_json::from_slice::<Value>(&heavy.response)
        .ok()
        .and_then(|r| {
            r["body"]
                .as_str()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
        })
        .map(|b| b["users"].as_array().map(|a| a.len()).unwrap_or(0))
        .unwrap_or(0);
    println!(
        "| list | GET /users?limit=1000 ({n_users} rows) | {:.1} MB | {} |",
        heavy.peak_kb as f64 / 1024.0,
        status_of(&heavy.response)
    );
    // One export part at its largest (2,000 rows, and the export's audit entry).
    harness::seed::users(ddb, stack, &b.tenant, 1000, None).await;
    let heavy = cold_start(
        &Program::binary(bin_dir, "list"),
        envs,
        http_event("GET /users/export", "/users/export", &sub, None, json!({})),
    )
    .await;
    let part_bytes = serde_json::from_slice::<Value>(&heavy.response)
        .ok()
        .and_then(|r| r["body"].as_str().map(str::len))
        .unwrap_or(0);
    println!(
        "| list | GET /users/export, a first part of 2,000 rows ({part_bytes} bytes) + its audit entry | {:.1} MB | {} |",
        heavy.peak_kb as f64 / 1024.0,
        status_of(&heavy.response)
    );
    for f in [
        "change-role",
        "suspend",
        "delete",
        "audit",
        "expire-invites",
        "reconcile-signin",
        "tenant-admin",
    ] {
        let r = rss[f].iter().max().copied().unwrap_or(0);
        println!(
            "| {f} | first request (above) | {:.1} MB | |",
            r as f64 / 1024.0
        );
    }
}

struct ColdRow {
    init: f64,
    answer: f64,
    peak_mb: f64,
}

/// 2b. Each function against each peer: how many times faster its init is, and whether its
/// peak memory is lower. The goals are issue 14's: 3× the default-configured Rust peer, 20×
/// the Python and Node.js ones, and less memory than all three.
fn peer_ratios(rows: &[(String, ColdRow)]) {
    let peers: Vec<&(String, ColdRow)> =
        rows.iter().filter(|(n, _)| n.starts_with("peer")).collect();
    if peers.is_empty() {
        return;
    }
    let goal = |peer: &str| if peer.contains("rust") { 3.0 } else { 20.0 };
    println!("\n## 2b. Against the peers (peer init ÷ ours; the peers make list's first request, GET /users)\n");
    let mut head = String::from("| function |");
    let mut rule = String::from("|---|");
    for (p, _) in &peers {
        head += &format!(" init vs {} (goal {}×) |", &p[6..], goal(p));
        rule += "---:|";
    }
    println!("{head} peak RSS below every peer |\n{rule}---|");
    let mut missed: Vec<String> = Vec::new();
    for (name, r) in rows
        .iter()
        .filter(|(n, _)| !n.starts_with("peer") && n != "hello-lambda")
    {
        let mut line = format!("| {name} |");
        for (p, pr) in &peers {
            let x = pr.init / r.init;
            let ok = x >= goal(p);
            if !ok {
                missed.push(format!("{name} vs {}: {x:.2}×", &p[6..]));
            }
            line += &format!(" {x:.2}×{} |", if ok { "" } else { " (missed)" });
        }
        let lower = peers.iter().all(|(_, pr)| r.peak_mb < pr.peak_mb);
        if !lower {
            missed.push(format!("{name}: peak RSS not below every peer"));
        }
        println!("{line} {} |", if lower { "yes" } else { "no" });
    }
    if let Some((_, list)) = rows.iter().find(|(n, _)| n == "list") {
        println!("\nThe same request end to end (exec → first answer), list against each peer:\n");
        println!("| peer | init ms | first answer ms | peak RSS | list's first answer ÷ peer's |\n|---|---:|---:|---:|---:|");
        for (p, pr) in &peers {
            println!(
                "| {} | {:.2} | {:.2} | {:.1} MB | {:.1}× faster |",
                &p[6..],
                pr.init,
                pr.answer,
                pr.peak_mb,
                pr.answer / list.answer
            );
        }
    }
    if missed.is_empty() {
        println!("\nEvery goal met.");
    } else {
        println!("\nGoals missed: {}.", missed.join("; "));
    }
}

/// 4. AWS round trips per operation, counted at the proxy.
async fn round_trips(c: &Ctx) {
    let Ctx { b, ddb, stack, .. } = c;
    println!(
        "\n## 4. AWS round trips per operation (counted at a proxy in front of the emulator)\n"
    );
    println!("| operation | calls | what | design minimum |\n|---|---:|---|---|");
    let row = |name: &str, calls: &[Call], min: &str| {
        println!(
            "| {name} | {} | {} | {min} |",
            calls.len(),
            summarize(calls)
        );
    };
    let (_, c, _) = b.measure(b.req("GET", "/users?limit=50", None)).await;
    row(
        "list a page (admin)",
        &c,
        "1 caller read + the team-move read (rule 19) + 1 query",
    );
    let (_, c, _) = b.measure(b.req("GET", "/me", None)).await;
    row("GET /me", &c, "1 caller read + the team-move read");
    // The caller's activity (issue 26, part 5): the first request in 5 minutes also writes it,
    // beside the work. Timed both ways, alternating, so the answer's cost of it shows.
    let (mut due, mut not_due) = (Vec::new(), Vec::new());
    let mut touch_calls = Vec::new();
    for _ in 0..15 {
        forget_activity(b).await;
        let (_, c, d) = b.measure(b.req("GET", "/me", None)).await;
        touch_calls = c;
        due.push(ms(d));
        let (_, _, d) = b.measure(b.req("GET", "/me", None)).await;
        not_due.push(ms(d));
    }
    row(
        "GET /me, the caller's first request in 5 minutes",
        &touch_calls,
        "1 caller read + the team-move read + the activity write beside it",
    );
    let activity_times = (median(&mut due), median(&mut not_due));
    let one = email("one");
    let (_, c, _) = b
        .measure(b.req(
            "POST",
            "/invites",
            Some(json!({"email": one, "name": "One", "role": "agent"})),
        ))
        .await;
    row(
        "invite 1",
        &c,
        "caller read, tenant read (company name, seat limit), 1 transaction, 1 email, 1 delivery write",
    );
    let rows: Vec<Value> = (0..25).map(|i| json!({"email": email(&format!("rt{i}")), "name": format!("R {i}"), "role": "agent"})).collect();
    let (r25, c, _) = b
        .measure(b.req("POST", "/invites", Some(json!({"invites": rows}))))
        .await;
    row(
        "invite 25",
        &c,
        "caller read, tenant read, 1 transaction, 25 emails, 1 transaction recording all 25 deliveries",
    );
    let invite_id = r25.json()["invites"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    b.app.clock.advance(time::Duration::minutes(2));
    let (_, c, _) = b
        .measure(b.req("POST", &format!("/invites/{invite_id}/resend"), None))
        .await;
    row(
        "resend",
        &c,
        "caller + invite in one batch read, tenant read (company name), 1 transaction, 1 email, 1 delivery write",
    );
    let (_, c, _) = b
        .measure(b.req("DELETE", &format!("/invites/{invite_id}"), None))
        .await;
    row(
        "revoke",
        &c,
        "caller + invite in one batch read, 1 transaction",
    );
    let addr = email("rt-acc");
    b.req(
        "POST",
        "/invites",
        Some(json!({"email": addr, "name": "Rt", "role": "agent"})),
    )
    .await;
    let token = b.app.token_from_mail(&addr).await.unwrap();
    let (acc, c, _) = b
        .measure(b.app.request(
            "POST",
            "/invites/accept",
            None,
            Some(json!({"token": token, "password": PASSWORD})),
        ))
        .await;
    row(
        "accept",
        &c,
        "invite read, tenant read (the capacity default), claim (1 transaction: invite check + login lock), AdminCreateUser (gives the sub) + AdminSetUserPassword, 1 transaction, converge: AdminGetUser + owner read, unlock",
    );
    let uid = acc.json()["userId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, c, _) = b
        .measure(b.req(
            "PUT",
            &format!("/users/{uid}/role"),
            Some(json!({"role": "supervisor"})),
        ))
        .await;
    row(
        "change role",
        &c,
        "caller + target in one batch read, 1 transaction",
    );
    // The team view (docs/rules.md rule 16).
    let (_, c, _) = b
        .measure(b.req(
            "GET",
            "/users?presence=online&sort=lastActive&limit=50",
            None,
        ))
        .await;
    row(
        "list who is online, by last activity",
        &c,
        "1 caller read + the team-move read + 1 query (a key range of the activity index)",
    );
    let (_, c, _) = b
        .measure(b.req(
            "PUT",
            &format!("/users/{uid}/availability"),
            Some(json!({"availability": "away"})),
        ))
        .await;
    row(
        "an admin sets a user's availability",
        &c,
        "caller + target in one batch read, 1 transaction (the update and its audit entry)",
    );
    let (_, c, _) = b
        .measure(b.req(
            "PUT",
            "/me/availability",
            Some(json!({"availability": "dnd"})),
        ))
        .await;
    row(
        "set your own availability",
        &c,
        "caller read, 1 conditional update (not audited)",
    );
    let (_, c, _) = b
        .measure(b.req("PUT", "/tenant/max-chats", Some(json!({"maxChats": 5}))))
        .await;
    row(
        "set the company's default capacity",
        &c,
        "caller read, tenant read (the gate's policy), tenant read, 1 transaction",
    );
    // A quick edit of 25 (rule 17): 25 agents of the bench's company, each a new capacity.
    harness::seed::users(ddb, stack, &b.tenant, 25, None).await;
    let listed = b
        .req("GET", "/users?limit=1000&role=agent", None)
        .await
        .json();
    let changes: Vec<Value> = listed["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|u| u["status"] == "active")
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|u| json!({"id": u["id"], "version": u["version"], "maxChats": 7}))
        .collect();
    let n_rows = changes.len();
    let (_, c2, _) = b
        .measure(b.req("PATCH", "/users", Some(json!({ "changes": changes }))))
        .await;
    row(
        &format!("quick edit of {n_rows} users"),
        &c2,
        "caller read, tenant read (the gate's policy), the rows in one batch read, 1 transaction (every row, the admin counter when a row demotes, an audit entry each)",
    );
    // Teams (rule 19): the counts, a rename within one transaction, and one of 200 members
    // (batches of 25 under a recorded move).
    harness::seed::users(ddb, stack, &b.tenant, 10, Some("Bench ten")).await;
    harness::seed::users(ddb, stack, &b.tenant, 200, Some("Bench 200")).await;
    let (_, c, teams_took) = b.measure(b.req("GET", "/teams", None)).await;
    row(
        "the teams and their counts",
        &c,
        "caller read, team-move read, the company's users (gsi1, 1,000 a page) and its pending invites",
    );
    let rename = |from: &str, to: &str| Some(json!({"from": from, "to": to}));
    let (r, c, ten_took) = b
        .measure(b.req("POST", "/teams/rename", rename("Bench ten", "Bench 10")))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "rename a team of 10",
        &c,
        "caller read, tenant read (the gate's policy), team-move read, the carriers of both names (users and invites: 4 queries), 1 transaction (every carrier, the entry, the move's record)",
    );
    let (r, c, big_took) = b
        .measure(b.req(
            "POST",
            "/teams/rename",
            rename("Bench 200", "Bench two hundred"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "rename a team of 200",
        &c,
        "caller read, gate's tenant read, team-move read, 4 carrier queries, 1 transaction recording the move with its entry, 8 transactions of 25, the carriers read again (2), the move marked done (UpdateItem), read once more (2)",
    );
    eprintln!(
        "teams (in-process gateway + handler + emulator, this company's {} users): GET /teams {:.1} ms, rename of 10 {:.1} ms, rename of 200 {:.1} ms",
        b.req("GET", "/users?limit=1000", None).await.json()["users"].as_array().map_or(0, Vec::len),
        teams_took.as_secs_f64() * 1e3,
        ten_took.as_secs_f64() * 1e3,
        big_took.as_secs_f64() * 1e3,
    );
    // Publishing (rule 20): a batch of the audit stream of 10 and of 100 events, one a record.
    for n in [10, 100] {
        let batch = stream_batch(&b.tenant, n);
        let (done, c, took) = b
            .measure(publish_events_fn::handle(
                &b.app.publish,
                &batch,
                std::time::SystemTime::now(),
            ))
            .await;
        assert_eq!(
            (done.published, done.failed_from.as_deref()),
            (n, None),
            "{done:?}"
        );
        row(
            &format!("publish-events, a stream batch of {n} events"),
            &c,
            "the event log (BatchWriteItem of 25, one per 25 events), then PutEvents of 10 entries (EventBridge's most), one per 10 events",
        );
        eprintln!(
            "publish-events: a batch of {n} events in {:.1} ms",
            ms(took)
        );
    }
    // The Events API and integration tokens (rules 20 and 21).
    let (made, c, _) = b
        .measure(b.req(
            "POST",
            "/integrations",
            Some(json!({"name": "Bench", "scopes": ["events:read"]})),
        ))
        .await;
    row(
        "make an integration token",
        &c,
        "caller read, tenant read (the gate's policy), 1 transaction (the token, its entry, the events item)",
    );
    let token = made.json()["token"].as_str().unwrap().to_string();
    let (_, c, _) = b.measure(b.req("GET", "/integrations", None)).await;
    row(
        "the integration tokens",
        &c,
        "caller read, tenant read, 1 query (gsi1)",
    );
    let (r, c, _) = b
        .measure(
            b.app
                .request("GET", "/events?limit=100", Some(&token), None),
        )
        .await;
    assert_eq!(r.status, 200);
    row(
        "GET /events with a token, its first use in 5 minutes",
        &c,
        "the token's record, 1 query of the log, the last-use write",
    );
    let (_, c, _) = b
        .measure(
            b.app
                .request("GET", "/events?limit=100", Some(&token), None),
        )
        .await;
    row(
        "GET /events with a token",
        &c,
        "the token's record (consistent: a revoked token is refused at once), 1 query of the log",
    );
    let (_, c, _) = b.measure(b.req("GET", "/events?limit=100", None)).await;
    row(
        "GET /events as an admin",
        &c,
        "caller read, tenant read (the gate's policy), 1 query of the log",
    );
    let id = made.json()["id"].as_str().unwrap().to_string();
    let (_, c, _) = b
        .measure(b.req("DELETE", &format!("/integrations/{id}"), None))
        .await;
    row(
        "revoke an integration token",
        &c,
        "caller read, tenant read, the token's record, 1 transaction",
    );
    // Directory sync (rule 22), as an identity provider calls it. A warm-up request first: the
    // minute's first request of a token costs one more write (its throttle's new window), and
    // one in 5 minutes records the token's use.
    let scim_token = b
        .req(
            "POST",
            "/integrations",
            Some(json!({"name": "Bench IdP", "scopes": ["scim"]})),
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let scim = |method: &'static str, path: String, body: Option<Value>| {
        let t = scim_token.clone();
        let app = &b.app;
        async move {
            app.request(method, &format!("/scim/v2{path}"), Some(&t), body)
                .await
        }
    };
    scim("GET", "/ServiceProviderConfig".into(), None).await;
    let addr = format!("scim-{}@example.test", &shared::domain::ids::new_id()[..8]);
    let lookup = format!("/Users?filter=userName%20eq%20%22{addr}%22");
    let (_, c, _) = b.measure(scim("GET", lookup.clone(), None)).await;
    row(
        "SCIM lookup by userName, nobody",
        &c,
        "the token's record, its throttle (1 conditional write), the address's guard; with no holder, the company's invites searched for a closed one of the provider's (1 query)",
    );
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": addr,
        "name": {"givenName": "Bench", "familyName": "Sync"}});
    let (r, c, _) = b.measure(scim("POST", "/Users".into(), Some(user))).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    row(
        "SCIM create (an invite)",
        &c,
        "token, throttle, the address's guard, the closed-invite search, tenant read, 1 transaction (seat, invite, guard, entry, events item), 1 email, 1 delivery write",
    );
    let id = r.json()["id"].as_str().unwrap().to_string();
    let (_, c, _) = b.measure(scim("GET", lookup, None)).await;
    row(
        "SCIM lookup by userName, found",
        &c,
        "token, throttle, the address's guard, the invite",
    );
    let link = b.app.token_from_mail(&addr).await.unwrap();
    b.app.accept(&link, PASSWORD).await;
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (r, c, _) = b
        .measure(scim("PATCH", format!("/Users/{id}"), Some(off)))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "SCIM PATCH active false (a joined user: suspend)",
        &c,
        "token, throttle, user + invite in one batch read (the invite accepted), the address's guard and the user it names, lock, AdminDisableUser + AdminUserGlobalSignOut, 1 transaction, converge: AdminGetUser + owner read, unlock (an admin: + tenant read, the last-admin check)",
    );
    // A group push as Okta makes it: the lookup by name, then the group with 25 members (people
    // the provider made, as invites), then one member in and one out.
    let mut members = Vec::new();
    for i in 0..26 {
        let person = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("push{i}-{}@example.test", &shared::domain::ids::new_id()[..8])});
        let r = scim("POST", "/Users".into(), Some(person)).await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        members.push(r.json()["id"].as_str().unwrap().to_string());
    }
    let by_name = "/Groups?filter=displayName%20eq%20%22Bench%20push%22".to_string();
    let (_, c, _) = b.measure(scim("GET", by_name, None)).await;
    row(
        "SCIM group lookup by displayName, none",
        &c,
        "token, throttle, the name's guard",
    );
    let listed: Vec<Value> = members[..25]
        .iter()
        .map(|id| json!({ "value": id }))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Bench push", "members": listed});
    let (r, c, _) = b.measure(scim("POST", "/Groups".into(), Some(group))).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    row(
        "SCIM group push, 25 members",
        &c,
        "token, throttle, the 25 members in one batch read (user + invite each), the mappings (none yet), 1 transaction (group, name guard)",
    );
    let gid = r.json()["id"].as_str().unwrap().to_string();
    // The admin maps the group to a team: its 25 members (pending invites) move at once.
    let (r, c, _) = b
        .measure(b.req(
            "PUT",
            "/tenant/group-mappings",
            Some(json!({"mappings": [{"group": "Bench push", "team": "Bench"}]})),
        ))
        .await;
    assert_eq!(
        r.json()["moved"],
        25,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    row(
        "map a group of 25 to a team (25 people move)",
        &c,
        "caller read, tenant read (the admin gate), the mappings, the company's groups (1 query), the 25 in one batch read, tenant read (the entry's name), 1 transaction (mappings + entry), then 1 transaction per person moved (an invite's edit, a user's role change)",
    );
    let moved = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": members[25]}]},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", members[0])}]});
    let (r, c, _) = b
        .measure(scim("PATCH", format!("/Groups/{gid}"), Some(moved)))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "SCIM group PATCH of a mapped group, one member in, one out",
        &c,
        "token, throttle, the group, the new member (1 batch read), the mappings, the company's groups (1 query), the two in one batch read, 1 transaction (the group at its version), 1 per person moved",
    );
    let (_, c, _) = b
        .measure(b.req("POST", &format!("/users/{uid}/sign-out"), None))
        .await;
    row(
        "sign a user out of all devices",
        &c,
        "caller + target in one batch read, AdminUserGlobalSignOut, 1 transaction",
    );
    // The user's own: change their password, then sign out everywhere (a new session between,
    // past the first one's stamp).
    // Past the sign-out's stamp (the next whole second), a new session counts.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let user_token = b
        .app
        .sign_in(&email_of(&acc), PASSWORD)
        .await
        .expect("sign in");
    let new_password = "Rt-Newer-Passw0rd!";
    let (changed, c, _) = b
        .measure(b.app.request(
            "POST",
            "/me/password",
            Some(&user_token),
            Some(json!({"currentPassword": PASSWORD, "newPassword": new_password})),
        ))
        .await;
    assert_eq!(
        changed.status,
        200,
        "{}",
        String::from_utf8_lossy(&changed.body)
    );
    row(
        "change your password",
        &c,
        "caller read, ChangePassword, AdminUserGlobalSignOut, 1 transaction",
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let user_token = b
        .app
        .sign_in(&email_of(&acc), new_password)
        .await
        .expect("sign in");
    let (out, c, _) = b
        .measure(
            b.app
                .request("POST", "/me/sign-out", Some(&user_token), None),
        )
        .await;
    assert_eq!(out.status, 200, "{}", String::from_utf8_lossy(&out.body));
    row(
        "sign out everywhere",
        &c,
        "caller read, AdminUserGlobalSignOut, 1 transaction",
    );
    // Two-step verification (rule 14): the set-up's two calls, turning it off with the
    // password and a code, and an admin's reset (the policy is measured last, as it needs the
    // admin to have it on, which takes the tenant read off every admin route after it).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let user_token = b
        .app
        .sign_in(&email_of(&acc), new_password)
        .await
        .expect("sign in");
    let (r, c, _) = b
        .measure(
            b.app
                .request("POST", "/me/mfa/setup", Some(&user_token), None),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "two-step set-up: a new secret",
        &c,
        "caller read, AdminGetUser (on already?), AssociateSoftwareToken",
    );
    let code = harness::totp::fresh_code(harness::totp::MOTO_SECRET).await;
    let (r, c, _) = b
        .measure(b.app.request(
            "POST",
            "/me/mfa",
            Some(&user_token),
            Some(json!({ "code": code })),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "two-step set-up: the first code",
        &c,
        "caller read, AdminGetUser (on already?), VerifySoftwareToken, SetUserMFAPreference, AdminGetUser read-back, 1 transaction",
    );
    let code = harness::totp::fresh_code(harness::totp::MOTO_SECRET).await;
    let (r, c, _) = b
        .measure(b.app.request(
            "POST",
            "/me/mfa/disable",
            Some(&user_token),
            Some(json!({ "password": new_password, "code": code })),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "turn two-step off (password and code)",
        &c,
        "caller read, tenant read (policy), AdminInitiateAuth + AdminRespondToAuthChallenge + RevokeToken, AdminSetUserMFAPreference, AdminGetUser read-back, 1 transaction",
    );
    let (r, c, _) = b
        .measure(b.req("POST", &format!("/users/{uid}/mfa-reset"), None))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "an admin resets two-step (lost phone)",
        &c,
        "caller + target in one batch read, tenant read (policy), AdminGetUser (had it? the record says off), AdminSetUserMFAPreference, AdminUserGlobalSignOut, AdminGetUser read-back, 1 transaction; no email, the bench's user never had it (one who had: no first AdminGetUser, + tenant read + 1 email)",
    );
    // A forgotten password (rule 13): the public form for an active user's address and for
    // nobody's (the same reads and hash on both), an admin's send, and a link's new password.
    let user_email = email_of(&acc);
    for (label, addr) in [
        (
            "ask for a reset: an active user's address",
            user_email.clone(),
        ),
        ("ask for a reset: nobody's address", email("nobody")),
    ] {
        let (r, c, _) = b
            .measure(b.app.request(
                "POST",
                "/password-resets",
                None,
                Some(json!({ "email": addr })),
            ))
            .await;
        assert_eq!(r.status, 202);
        row(
            label,
            &c,
            "email guard read, user + reset in one batch read (of no one's key for nobody); then for a user: 1 transaction, tenant read (company name), 1 email",
        );
    }
    let (r, c, _) = b
        .measure(b.req("POST", &format!("/users/{uid}/password-reset"), None))
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    row(
        "an admin sends a reset",
        &c,
        "caller + target in one batch read, user + reset in one batch read, 1 transaction, tenant read, 1 email",
    );
    let reset_token = b.app.token_from_mail(&user_email).await.unwrap();
    let (r, c, _) = b
        .measure(b.app.request(
            "POST",
            "/password-resets/confirm",
            None,
            Some(json!({"token": reset_token, "password": "Rt-Reset-Passw0rd!"})),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "set a new password from a reset link",
        &c,
        "user + reset in one batch read, lock, user + reset again, AdminSetUserPassword, AdminUserGlobalSignOut, 1 transaction, converge: AdminGetUser + owner read, unlock",
    );
    let (_, c, _) = b
        .measure(b.req("POST", &format!("/users/{uid}/suspend"), None))
        .await;
    row(
        "suspend",
        &c,
        "caller + target in one batch read, lock, AdminDisableUser + AdminUserGlobalSignOut, 1 transaction, converge: AdminGetUser + owner read, unlock",
    );
    let (_, c, _) = b
        .measure(b.req("POST", &format!("/users/{uid}/reactivate"), None))
        .await;
    row(
        "reactivate",
        &c,
        "caller + target in one batch read, lock, 1 transaction, converge: AdminGetUser + owner read + AdminEnableUser + re-read, unlock",
    );
    let (_, c, _) = b
        .measure(b.req("DELETE", &format!("/users/{uid}"), None))
        .await;
    row(
        "delete",
        &c,
        "caller + target in one batch read, lock, AdminDisableUser + AdminUserGlobalSignOut, 1 transaction, converge: AdminGetUser + owner read + AdminDeleteUser + re-read, unlock",
    );
    let (_, c, _) = b.measure(b.req("GET", "/audit?limit=50", None)).await;
    row("audit page", &c, "1 caller read + 1 query");
    // The policy, by an admin who has two-step verification on: no tenant read at the gate.
    assert_eq!(b.app.turn_on_mfa(&b.admin_token).await.status, 200);
    let (r, c, _) = b
        .measure(b.req(
            "PUT",
            "/tenant/mfa-policy",
            Some(json!({ "policy": "admins" })),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    row(
        "require two-step for admins",
        &c,
        "caller read, tenant read (the gate's policy), tenant read, 1 transaction",
    );
    let (_, c, _) = b.measure(b.req("GET", "/audit?limit=50", None)).await;
    row(
        "audit page, by an admin with two-step on",
        &c,
        "1 caller read, tenant read (policy: admins), AdminGetUser (the gate's confirmation, then trusted a minute per container), 1 query",
    );
    let (due, not_due) = activity_times;
    println!(
        "\nGET /me end to end (in-process gateway + handler + emulator, median of 15 each): {due:.2} ms when the activity write is due, {not_due:.2} ms when it is not."
    );
}

/// Sets the admin's last activity well past the grain, so their next request records it.
async fn forget_activity(b: &Bench) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    aws_sdk_dynamodb::Client::new(&b.app.sdk)
        .update_item()
        .table_name(&b.app.stack.directory_table)
        .key("pk", S(format!("USER#{}", b.admin_sub)))
        .key("sk", S("USER".into()))
        .update_expression("SET lastActiveAt = :t")
        .expression_attribute_values(":t", S("2026-01-01T00:00:00Z".into()))
        .send()
        .await
        .expect("the admin's record");
}

/// The accepted user's email, from an accept's answer.
fn email_of(accepted: &harness::app::Reply) -> String {
    accepted.json()["signIn"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// 5. How the cost grows with the data: list pages, the expiry job, bulk invites.
async fn growth_with_data(c: &Ctx) {
    let Ctx {
        b,
        growth,
        expiry_sizes,
        moto,
        direct,
        ddb,
        ..
    } = c;
    println!("\n## 5. Growth\n");
    println!("List page (`GET /users?limit=50`, admin) as the tenant grows; each size gets its own tables, so the tenant holds exactly that many users:\n");
    println!("| users in tenant | AWS calls | rows returned | p50 ms (20 runs) | emulator p50 ms | code p50 ms |\n|---:|---:|---:|---:|---:|---:|");
    let mut exports = Vec::new();
    for &n in growth {
        let (app_n, calls_n, stack_n) = proxied_app(&moto.endpoint, direct).await;
        let (t_id, token) = app_n
            .provision_tenant(
                "Growth Co",
                "enterprise",
                Some(100_000),
                &email("g-admin"),
                "Growth Admin",
                PASSWORD,
            )
            .await
            .expect("growth tenant");
        if n > 1 {
            harness::seed::users(ddb, &stack_n, &t_id, n - 1, None).await;
        }
        let (mut lat, mut emu, mut code) = (Vec::new(), Vec::new(), Vec::new());
        let (mut count, mut rows) = (0, 0);
        for _ in 0..20 {
            calls_n.take();
            let t = Instant::now();
            let r = app_n
                .request("GET", "/users?limit=50", Some(&token), None)
                .await;
            let d = ms(t.elapsed());
            let c = calls_n.take();
            let e = ms(proxy::emulator_time(&c));
            lat.push(d);
            emu.push(e);
            code.push((d - e).max(0.0));
            count = c.len();
            rows = r.json()["users"].as_array().map(|a| a.len()).unwrap_or(0);
        }
        println!(
            "| {n} | {count} | {rows} | {:.1} | {:.1} | {:.2} |",
            median(&mut lat),
            median(&mut emu),
            median(&mut code)
        );
        // The whole tenant exported (rule 18), part after part, as the console fetches it.
        calls_n.take();
        let t = Instant::now();
        let (mut bytes, mut parts, mut lines, mut cursor) =
            (0usize, 0usize, 0usize, None::<String>);
        loop {
            let path = match &cursor {
                Some(c) => format!("/users/export?cursor={c}"),
                None => "/users/export".to_string(),
            };
            let r = app_n.request("GET", &path, Some(&token), None).await;
            bytes += r.body.len();
            lines += r.body.windows(2).filter(|w| w == b"\r\n").count();
            parts += 1;
            match r.headers.get("next-cursor").and_then(|v| v.to_str().ok()) {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let d = ms(t.elapsed());
        let c = calls_n.take();
        let e = ms(proxy::emulator_time(&c));
        exports.push((n, parts, lines - 1, bytes, c.len(), d, e));
    }
    println!("\nThe whole tenant as CSV (`GET /users/export`, every part, one run each; the first part writes the export's audit entry):\n");
    println!("| users in tenant | parts | rows | bytes | AWS calls | ms | emulator ms | code ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (n, parts, rows, bytes, calls, d, e) in exports {
        println!(
            "| {n} | {parts} | {rows} | {bytes} | {calls} | {d:.0} | {e:.0} | {:.0} |",
            (d - e).max(0.0)
        );
    }
    println!("\n(moto answers a GSI query by walking the table's items, so its share grows with the table; DynamoDB reads only the page. The calls and the code's share are what this code controls.)");
    println!("\nExpiry job with N pending invites, 10% of them past expiry (own tables each):\n");
    println!("| pending | due | expired | AWS calls | queries | transactions | ms | emulator ms | code ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in expiry_sizes {
        let stack_n = Stack::create(&moto.endpoint, direct).await;
        let (purl, pcalls) = proxy::start(moto.endpoint.clone()).await;
        let psdk = harness::stack::sdk_config(&purl).await;
        let store = shared::store::Store::new(shared::store::client(&psdk), stack_n.tables());
        let t_id = shared::domain::ids::new_id();
        ddb.put_item()
            .table_name(&stack_n.directory_table)
            .set_item(Some(HashMap::from([
                (
                    "pk".to_string(),
                    AttributeValue::S(format!("TENANT#{t_id}")),
                ),
                ("sk".to_string(), AttributeValue::S("TENANT".into())),
                ("tenantId".to_string(), AttributeValue::S(t_id.clone())),
                ("name".to_string(), AttributeValue::S("Growth".into())),
                ("tier".to_string(), AttributeValue::S("enterprise".into())),
                ("seatLimit".to_string(), AttributeValue::N("100000".into())),
                ("seatsUsed".to_string(), AttributeValue::N("0".into())),
                ("activeAdmins".to_string(), AttributeValue::N("1".into())),
                (
                    "createdAt".to_string(),
                    AttributeValue::S("2026-01-01T00:00:00.000Z".into()),
                ),
            ])))
            .send()
            .await
            .unwrap();
        let due = n / 10;
        if n > 0 {
            seed_invites(ddb, &stack_n, &t_id, n, due).await;
        }
        let deps = expire_invites_fn::Deps {
            store,
            clock: std::sync::Arc::new(shared::domain::SystemClock),
        };
        pcalls.take();
        let t = Instant::now();
        let summary = expire_invites_fn::run(&deps, "bench", 1000).await;
        let d = t.elapsed();
        let c = pcalls.take();
        let queries = c.iter().filter(|x| x.op == "dynamodb.Query").count();
        let txs = c
            .iter()
            .filter(|x| x.op == "dynamodb.TransactWriteItems")
            .count();
        let emu = ms(proxy::emulator_time(&c));
        println!(
            "| {n} | {due} | {} | {} | {queries} | {txs} | {:.0} | {emu:.0} | {:.0} |",
            summary.expired,
            c.len(),
            ms(d),
            (ms(d) - emu).max(0.0)
        );
    }

    println!(
        "\nBulk invite: 25 rows against 1 (argon2id hashing on the blocking pool, one per core):\n"
    );
    println!("| rows | p50 ms (5 runs) | per row ms | emulator p50 ms | code p50 ms | AWS calls |\n|---:|---:|---:|---:|---:|---:|");
    for n in [1usize, 25] {
        let (mut lat, mut emu, mut code) = (Vec::new(), Vec::new(), Vec::new());
        let mut count = 0;
        for _ in 0..5 {
            let rows: Vec<Value> = (0..n).map(|i| json!({"email": email(&format!("bulk{i}")), "name": "Bulk", "role": "agent"})).collect();
            let (r, c, d) = b
                .measure(b.req("POST", "/invites", Some(json!({"invites": rows}))))
                .await;
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
            let e = ms(proxy::emulator_time(&c));
            lat.push(ms(d));
            emu.push(e);
            code.push((ms(d) - e).max(0.0));
            count = c.len();
        }
        let p50 = median(&mut lat);
        println!(
            "| {n} | {p50:.0} | {:.1} | {:.0} | {:.0} | {count} |",
            p50 / n as f64,
            median(&mut emu),
            median(&mut code)
        );
    }
    let mut hashes = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        shared::domain::InviteToken::generate(&shared::domain::InviteId::generate()).hash();
        hashes.push(ms(t.elapsed()));
    }
    println!(
        "\nOne argon2id hash (m={} KiB, t={}, p=1) on this machine: {:.0} ms.",
        shared::domain::token::HASH_MEMORY_KIB,
        shared::domain::token::HASH_PASSES,
        median(&mut hashes)
    );
}

/// 6. Warm latency per route, in-process.
async fn warm_latency(c: &Ctx) {
    let Ctx { b, warm_n, .. } = c;
    let warm_n = *warm_n;
    println!("\n## 6. Warm latency per route ({warm_n} requests each, in-process gateway + handler, emulator share apart)\n");
    println!(
        "| route | p50 ms | p99 ms | emulator p50 ms | code p50 ms |\n|---|---:|---:|---:|---:|"
    );
    let target = {
        let addr = email("warm");
        b.req(
            "POST",
            "/invites",
            Some(json!({"email": addr, "name": "Warm", "role": "agent"})),
        )
        .await;
        let token = b.app.token_from_mail(&addr).await.unwrap();
        let r = b
            .app
            .request(
                "POST",
                "/invites/accept",
                None,
                Some(json!({"token": token, "password": PASSWORD})),
            )
            .await;
        r.json()["userId"].as_str().unwrap_or_default().to_string()
    };
    let pending = {
        let r = b
            .req(
                "POST",
                "/invites",
                Some(json!({"email": email("warm-p"), "name": "P", "role": "agent"})),
            )
            .await;
        r.json()["id"].as_str().unwrap_or_default().to_string()
    };
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET /me", "/me".into(), None),
        ("GET /users", "/users?limit=50".into(), None),
        ("GET /users/{id}", format!("/users/{target}"), None),
        ("GET /invites", "/invites?limit=50".into(), None),
        ("GET /tenant", "/tenant".into(), None),
        ("GET /audit", "/audit?limit=50".into(), None),
        (
            "PUT /users/{id}/role",
            format!("/users/{target}/role"),
            Some(json!({"role": "agent"})),
        ),
        (
            "POST /invites/preview",
            "/invites/preview".into(),
            Some(json!({"token": format!("{pending}.{}", "A".repeat(43))})),
        ),
    ];
    for (name, path, body) in routes {
        let method = name.split(' ').next().unwrap();
        let mut lat = Vec::new();
        let mut emu = Vec::new();
        let mut flip = false;
        for _ in 0..warm_n {
            let body = body.clone().map(|mut v| {
                if name.starts_with("PUT") {
                    flip = !flip;
                    v["role"] = json!(if flip { "supervisor" } else { "agent" });
                }
                v
            });
            let (_, c, d) = if name.starts_with("POST /invites/preview") {
                b.measure(b.app.request(method, &path, None, body)).await
            } else {
                b.measure(b.req(method, &path, body)).await
            };
            lat.push(ms(d));
            emu.push(ms(proxy::emulator_time(&c)));
        }
        let p50 = pct(&mut lat.clone(), 0.5);
        let p99 = pct(&mut lat, 0.99);
        let e50 = pct(&mut emu, 0.5);
        println!(
            "| {name} | {p50:.2} | {p99:.2} | {e50:.2} | {:.2} |",
            (p50 - e50).max(0.0)
        );
    }
    let _ = (&b.moto, &b.tenant);
    println!("\n(Authorizer verification is part of every authorized route above; its JWKS is fetched once per process.)");
}

fn status_of(response: &[u8]) -> String {
    serde_json::from_slice::<Value>(response)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .map(|s| format!("HTTP {s}"))
        .unwrap_or_else(|| "answered".into())
}
