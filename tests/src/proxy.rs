//! A counting and fault-injecting proxy between the SDK clients and the emulator: every AWS
//! call is one request here, so round trips per operation are counted from what actually
//! crossed the wire, the emulator's own time is measured apart from the code's, and a test can
//! make chosen calls fail the ways AWS calls fail (`Faults`).

use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Call {
    /// `dynamodb.GetItem`, `cognito.AdminCreateUser`, `ses.SendEmail`, ...
    pub op: String,
    /// The request body (what a DynamoDB call touches: tables, indexes, transaction items).
    pub body: bytes::Bytes,
    /// When the proxy forwarded it.
    pub started: Instant,
    /// Time the emulator took to answer (as seen by the proxy).
    pub upstream: Duration,
}

/// Wall time during which at least one call was waiting on the emulator: concurrent calls
/// (a bulk invite's emails, the expiry job's batches) count once, so the rest of an
/// operation's wall time is the code's own.
pub fn emulator_time(calls: &[Call]) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = calls
        .iter()
        .map(|c| (c.started, c.started + c.upstream))
        .collect();
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (a, b) in spans {
        current = match current {
            Some((s, e)) if a <= e => Some((s, e.max(b))),
            Some((s, e)) => {
                total += e - s;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    total
}

/// How an AWS call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 InternalServerError; nothing reached the emulator.
    ServerError,
    /// HTTP 400 ThrottlingException (the SDK backs off and retries); nothing reached it.
    Throttle,
    /// The connection closes without an answer; nothing reached it.
    Reset,
    /// The call reaches the emulator 3 s late (past the SDK's attempt timeout, so the SDK
    /// gives up on it and retries while it still lands).
    Delay,
    /// The call never answers (a dependency that hangs): held for a minute, longer than any
    /// function runs, then the connection drops. Not in `ALL`: the storm kills its own.
    Stall,
    /// The call reaches the emulator and takes effect, and the answer is lost (a 500 in its
    /// place): the caller can't tell whether it happened.
    LostAnswer,
    /// The call reaches the emulator and takes effect, and its answer is held for a minute
    /// (then the connection drops): a request waiting on it is cut at its deadline after its
    /// change committed. Not in `ALL`.
    StallAnswer,
    /// `PutEvents` only: the entries whose detail holds the rule's `marker` (every entry when
    /// it has none) are answered as EventBridge answers an entry it could not take
    /// (`InternalFailure`) and never reach the emulator; the rest go through. Not in `ALL`.
    RefuseEntries,
    /// `TransactWriteItems` only: cancelled as DynamoDB cancels a transaction whose items another
    /// one holds (every item's reason `TransactionConflict`); nothing reaches the emulator.
    /// Not in `ALL`.
    Conflict,
    /// A single-item write (`PutItem`, `UpdateItem`, `DeleteItem`) refused as DynamoDB refuses
    /// one of an item a transaction in flight holds (`TransactionConflictException`); nothing
    /// reaches the emulator. Not in `ALL`.
    ItemConflict,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::ServerError,
        Fault::Throttle,
        Fault::Reset,
        Fault::Delay,
        Fault::LostAnswer,
    ];
}

/// Which calls fail, how and how often: `op` is a call's name (`dynamodb.TransactWriteItems`)
/// or a service prefix (`cognito.`), `""` for every call.
#[derive(Debug, Clone)]
pub struct FaultRule {
    pub op: String,
    pub fault: Fault,
    /// Share of matching calls that get this fault, 0.0 to 1.0.
    pub rate: f64,
    /// Matching calls let through before the rule starts (say, to fail an accept's commit but
    /// not the claim before it).
    pub after: usize,
    /// Injections left, when limited (a fault that happens once, then never).
    pub times: Option<usize>,
    /// `RefuseEntries`: which entries.
    pub marker: Option<String>,
}

impl FaultRule {
    pub fn new(op: &str, fault: Fault, rate: f64) -> FaultRule {
        FaultRule {
            op: op.to_string(),
            fault,
            rate,
            after: 0,
            times: None,
            marker: None,
        }
    }
}

#[derive(Default)]
struct FaultState {
    rules: Vec<FaultRule>,
    rng: u64,
    injected: std::collections::BTreeMap<String, usize>,
    /// How long a transaction holds its items, when conflicts are modelled.
    hold: Option<Duration>,
    holds: Holds,
}

/// How long a transaction holds its items under the conflict model, from when it reaches the
/// proxy: 20 ms. DynamoDB's transaction makes two item-level write rounds (prepare, then
/// commit), each at single-digit-millisecond latency, so a transaction commits in about 10 to
/// 20 ms; the top of that range errs towards more conflicts, not fewer. Not moto's time: moto
/// answers one request at a time, so a transaction waits there behind every other call in
/// flight (hundreds of milliseconds under load), which DynamoDB, serving them in parallel,
/// would not make it wait. Its answer still comes no sooner than the hold's end.
pub const DYNAMODB_HOLD: Duration = Duration::from_millis(20);

/// DynamoDB's transaction conflicts, which moto never raises (it runs one request at a time).
/// While a `TransactWriteItems` is in flight, DynamoDB holds each of its items (here: for
/// `DYNAMODB_HOLD` from its arrival): another
/// transaction that touches one of them is cancelled (`TransactionCanceledException`, with
/// `TransactionConflict` as the reason of each item held elsewhere), and a `PutItem`,
/// `UpdateItem` or `DeleteItem` of one is refused (`TransactionConflictException`); see
/// "Transaction conflict handling in DynamoDB" in the developer guide. The one in flight wins.
/// A retry of a transaction still in flight under the same client request token is answered
/// `TransactionInProgressException`, as DynamoDB does. Reads are not held.
///
/// An item is `<table>|<pk>|<sk>`: every table of this project is keyed `pk`, `sk`.
#[derive(Debug, Default)]
pub struct Holds {
    /// Item → the client request token of the transaction holding it.
    held: std::collections::HashMap<String, String>,
    pub met: Conflicts,
}

/// What the conflict model did, for a run to report (`since` for a part of a run).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Conflicts {
    /// Transactions that held their items and went through.
    pub held: usize,
    /// Transactions cancelled for an item another one held.
    pub cancelled: usize,
    /// Single-item writes refused for an item a transaction held.
    pub refused: usize,
    /// Retries of a transaction still in flight (same token).
    pub in_progress: usize,
}

impl Conflicts {
    /// What happened after `before` was read.
    pub fn since(self, before: Conflicts) -> Conflicts {
        Conflicts {
            held: self.held - before.held,
            cancelled: self.cancelled - before.cancelled,
            refused: self.refused - before.refused,
            in_progress: self.in_progress - before.in_progress,
        }
    }
}

/// How a transaction arriving fares.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// Its items are now held until `Holds::end`.
    Held,
    /// Cancelled: for each of its items, whether another transaction holds it.
    Conflict(Vec<bool>),
    /// The same token is in flight already.
    InProgress,
}

impl Holds {
    pub fn begin(&mut self, token: &str, items: &[String]) -> Begin {
        if self.held.values().any(|t| t == token) {
            self.met.in_progress += 1;
            return Begin::InProgress;
        }
        let busy: Vec<bool> = items.iter().map(|i| self.held.contains_key(i)).collect();
        if busy.iter().any(|b| *b) {
            self.met.cancelled += 1;
            return Begin::Conflict(busy);
        }
        for i in items {
            self.held.insert(i.clone(), token.to_string());
        }
        self.met.held += 1;
        Begin::Held
    }

    pub fn end(&mut self, token: &str) {
        self.held.retain(|_, t| t != token);
    }

    /// Whether a single-item write of `item` is refused now (and counts it).
    pub fn refuses(&mut self, item: &str) -> bool {
        let busy = self.held.contains_key(item);
        self.met.refused += usize::from(busy);
        busy
    }
}

fn item_of(table: &serde_json::Value, key: &serde_json::Value) -> String {
    format!(
        "{}|{}|{}",
        table.as_str().unwrap_or_default(),
        key["pk"],
        key["sk"]
    )
}

/// A `TransactWriteItems` body's client request token and items, in order.
pub fn transaction_items(body: &[u8]) -> (String, Vec<String>) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let items = v["TransactItems"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|action| {
                    let (kind, a) = action
                        .as_object()
                        .and_then(|o| o.iter().next())
                        .map(|(k, a)| (k.as_str(), a))
                        .unwrap_or(("", &serde_json::Value::Null));
                    let key = if kind == "Put" { &a["Item"] } else { &a["Key"] };
                    item_of(&a["TableName"], key)
                })
                .collect()
        })
        .unwrap_or_default();
    let token = v["ClientRequestToken"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:p}", body.as_ptr()));
    (token, items)
}

/// The item a `PutItem`, `UpdateItem` or `DeleteItem` writes; `None` for any other call.
pub fn written_item(op: &str, body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match op {
        "dynamodb.PutItem" => Some(item_of(&v["TableName"], &v["Item"])),
        "dynamodb.UpdateItem" | "dynamodb.DeleteItem" => Some(item_of(&v["TableName"], &v["Key"])),
        _ => None,
    }
}

/// DynamoDB's answer to a transaction cancelled by conflicts.
fn conflict_reply(busy: &[bool]) -> Reply {
    let reasons: Vec<serde_json::Value> = busy
        .iter()
        .map(|b| {
            if *b {
                serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
            } else {
                serde_json::json!({"Code": "None"})
            }
        })
        .collect();
    let codes: Vec<&str> = busy
        .iter()
        .map(|b| if *b { "TransactionConflict" } else { "None" })
        .collect();
    let body = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    });
    hyper::Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", "TransactionCanceledException")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap()
}

/// The proxy's fault plan, changeable while it runs. Seeded, so a run's choices repeat for
/// the same order of calls.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<FaultState>>);

impl Faults {
    pub fn set(&self, rules: Vec<FaultRule>, seed: u64) {
        let mut s = self.0.lock().unwrap();
        s.rules = rules;
        s.rng = seed ^ 0x9e37_79b9_7f4a_7c15;
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().rules.clear();
    }

    /// Models DynamoDB's transaction conflicts (`Holds`) from now on, each transaction holding
    /// its items for `hold` from its arrival (`None`: off).
    pub fn model_conflicts(&self, hold: Option<Duration>) {
        self.0.lock().unwrap().hold = hold;
    }

    /// What the conflict model did so far.
    pub fn conflicts(&self) -> Conflicts {
        self.0.lock().unwrap().holds.met
    }

    /// How a call fares under the conflict model: `Err` is the answer that refuses it; `Ok`
    /// with the hold when it now holds items (they are released when the hold ends, whatever
    /// the emulator is doing: its queue is not DynamoDB's time).
    fn admit(&self, op: &str, body: &[u8]) -> Result<Option<Duration>, Box<Reply>> {
        let mut s = self.0.lock().unwrap();
        let Some(hold) = s.hold else {
            return Ok(None);
        };
        if op == "dynamodb.TransactWriteItems" {
            let (token, items) = transaction_items(body);
            return match s.holds.begin(&token, &items) {
                Begin::Held => {
                    let plan = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(hold).await;
                        plan.release(&token);
                    });
                    Ok(Some(hold))
                }
                Begin::Conflict(busy) => Err(Box::new(conflict_reply(&busy))),
                Begin::InProgress => Err(Box::new(error_reply(
                    op,
                    400,
                    "TransactionInProgressException",
                ))),
            };
        }
        match written_item(op, body) {
            Some(item) if s.holds.refuses(&item) => Err(Box::new(error_reply(
                op,
                400,
                "TransactionConflictException",
            ))),
            _ => Ok(None),
        }
    }

    fn release(&self, token: &str) {
        self.0.lock().unwrap().holds.end(token);
    }

    /// Faults injected so far, by `<op> <fault>`.
    pub fn injected(&self) -> std::collections::BTreeMap<String, usize> {
        self.0.lock().unwrap().injected.clone()
    }

    fn pick(&self, op: &str) -> Option<(Fault, Option<String>)> {
        let mut s = self.0.lock().unwrap();
        let mut matching = Vec::new();
        for (i, r) in s.rules.iter_mut().enumerate() {
            if !op.starts_with(&r.op) || r.times == Some(0) {
                continue;
            }
            if r.after > 0 {
                r.after -= 1;
            } else {
                matching.push((i, r.clone()));
            }
        }
        for (i, r) in matching {
            // splitmix64: small, seeded, good enough to spread faults.
            s.rng = s.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let draw = (z >> 11) as f64 / ((1u64 << 53) as f64);
            if draw < r.rate {
                *s.injected.entry(format!("{op} {:?}", r.fault)).or_default() += 1;
                if let Some(t) = s.rules[i].times.as_mut() {
                    *t -= 1;
                }
                return Some((r.fault, r.marker));
            }
        }
        None
    }
}

type Reply = hyper::Response<Full<bytes::Bytes>>;

/// The error answer a service gives, in its own protocol's shape.
fn error_reply(op: &str, status: u16, code: &str) -> Reply {
    let body = if op.starts_with("dynamodb.") {
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}"#)
    } else {
        format!(r#"{{"__type":"{code}","message":"injected"}}"#)
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", code)
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap()
}

#[derive(Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn op_of(req: &hyper::Request<hyper::body::Incoming>) -> String {
    if let Some(t) = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let (svc, op) = t.split_once('.').unwrap_or(("?", t));
        let svc = if svc.starts_with("DynamoDBStreams") {
            "dynamodbstreams"
        } else if svc.starts_with("DynamoDB") {
            "dynamodb"
        } else if svc.contains("Cognito") {
            "cognito"
        } else if svc == "AWSEvents" {
            "events"
        } else if svc == "AmazonSQS" {
            "sqs"
        } else {
            svc
        };
        return format!("{svc}.{op}");
    }
    let path = req.uri().path();
    if path.starts_with("/v2/email/outbound-emails") {
        "ses.SendEmail".into()
    } else if path.contains("jwks.json") {
        "cognito.JWKS".into()
    } else {
        format!("{} {}", req.method(), path)
    }
}

/// Starts the proxy on a free loopback port in front of `upstream`; returns its endpoint.
pub async fn start(upstream: String) -> (String, Calls) {
    let (url, calls, _) = start_with_faults(upstream).await;
    (url, calls)
}

/// As `start`, with a fault plan (empty until `Faults::set`).
pub async fn start_with_faults(upstream: String) -> (String, Calls, Faults) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Calls::default();
    let faults = Faults::default();
    let plan = faults.clone();
    let log = calls.clone();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (client, log, upstream, plan) =
                (client.clone(), log.clone(), upstream.clone(), plan.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (client, log, upstream, plan) =
                        (client.clone(), log.clone(), upstream.clone(), plan.clone());
                    async move {
                        let op = op_of(&req);
                        let picked = plan.pick(&op);
                        let fault = picked.as_ref().map(|(f, _)| *f);
                        match fault {
                            Some(Fault::ServerError) => {
                                return Ok(error_reply(&op, 500, "InternalServerError"))
                            }
                            // SES v2 says it with its own code and status.
                            Some(Fault::Throttle) if op.starts_with("ses.") => {
                                return Ok(error_reply(&op, 429, "TooManyRequestsException"))
                            }
                            Some(Fault::Throttle) => {
                                return Ok(error_reply(&op, 400, "ThrottlingException"))
                            }
                            Some(Fault::ItemConflict) => {
                                return Ok(error_reply(&op, 400, "TransactionConflictException"))
                            }
                            // hyper closes the connection when the service fails.
                            Some(Fault::Reset) => return Err(InjectedReset),
                            Some(Fault::Delay) => tokio::time::sleep(Duration::from_secs(3)).await,
                            Some(Fault::Stall) => {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                                return Err(InjectedReset);
                            }
                            _ => {}
                        }
                        let (mut parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let pq = parts
                            .uri
                            .path_and_query()
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_default();
                        parts.uri = format!("{upstream}{pq}").parse().unwrap();
                        if let (Some((Fault::RefuseEntries, marker)), true) =
                            (&picked, op == "events.PutEvents")
                        {
                            return Ok(refuse_entries(
                                &client,
                                parts,
                                &body,
                                marker.as_deref(),
                                &log,
                                &op,
                            )
                            .await);
                        }
                        if fault == Some(Fault::Conflict) && op == "dynamodb.TransactWriteItems" {
                            let (_, items) = transaction_items(&body);
                            return Ok(conflict_reply(&vec![true; items.len()]));
                        }
                        // Its own task: a caller that gives up (the SDK's attempt timeout, a
                        // request cut at its deadline) does not stop the call at the emulator,
                        // so it is still logged, timed, and its items released when it ends.
                        let forward = {
                            let (log, op, plan) = (log.clone(), op.clone(), plan.clone());
                            tokio::spawn(async move {
                                let started = Instant::now();
                                let held = match plan.admit(&op, &body) {
                                    Ok(h) => h,
                                    Err(refused) => {
                                        log.0.lock().unwrap().push(Call {
                                            op,
                                            body,
                                            started,
                                            upstream: Duration::ZERO,
                                        });
                                        return *refused;
                                    }
                                };
                                let resp = client
                                    .request(hyper::Request::from_parts(
                                        parts,
                                        Full::new(body.clone()),
                                    ))
                                    .await;
                                let out = match resp {
                                    Ok(r) => {
                                        let (p, b) = r.into_parts();
                                        let b = b
                                            .collect()
                                            .await
                                            .map(|b| b.to_bytes())
                                            .unwrap_or_default();
                                        hyper::Response::from_parts(p, Full::new(b))
                                    }
                                    Err(_) => hyper::Response::builder()
                                        .status(502)
                                        .body(Full::new(bytes::Bytes::new()))
                                        .unwrap(),
                                };
                                if let Some(hold) = held {
                                    tokio::time::sleep_until((started + hold).into()).await;
                                }
                                log.0.lock().unwrap().push(Call {
                                    op,
                                    body,
                                    started,
                                    upstream: started.elapsed(),
                                });
                                out
                            })
                        };
                        let out = forward.await.unwrap();
                        let lost = fault == Some(Fault::LostAnswer);
                        if lost {
                            return Ok(error_reply(&op, 500, "InternalServerError"));
                        }
                        if fault == Some(Fault::StallAnswer) {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return Err(InjectedReset);
                        }
                        Ok::<_, InjectedReset>(out)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), calls, faults)
}

/// Forwards a `PutEvents` without the entries `marker` picks, and answers for all of them in
/// the order sent: the forwarded ones as the emulator did, the others refused.
async fn refuse_entries(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>,
    mut parts: http::request::Parts,
    body: &bytes::Bytes,
    marker: Option<&str>,
    log: &Calls,
    op: &str,
) -> hyper::Response<Full<bytes::Bytes>> {
    let mut req: serde_json::Value = serde_json::from_slice(body).unwrap();
    let entries = req["Entries"].as_array().cloned().unwrap_or_default();
    let refused: Vec<bool> = entries
        .iter()
        .map(|e| marker.is_none_or(|m| e["Detail"].as_str().unwrap_or("").contains(m)))
        .collect();
    let kept: Vec<serde_json::Value> = entries
        .iter()
        .zip(&refused)
        .filter(|(_, r)| !**r)
        .map(|(e, _)| e.clone())
        .collect();
    let mut answered: Vec<serde_json::Value> = Vec::new();
    if !kept.is_empty() {
        req["Entries"] = serde_json::Value::Array(kept);
        let forwarded = bytes::Bytes::from(req.to_string());
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let started = Instant::now();
        let resp = client
            .request(hyper::Request::from_parts(
                parts,
                Full::new(forwarded.clone()),
            ))
            .await
            .unwrap();
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        log.0.lock().unwrap().push(Call {
            op: op.to_string(),
            body: forwarded,
            started,
            upstream: started.elapsed(),
        });
        let out: serde_json::Value = serde_json::from_slice(&b).unwrap();
        answered = out["Entries"].as_array().cloned().unwrap_or_default();
    }
    let mut answered = answered.into_iter();
    let results: Vec<serde_json::Value> = refused
        .iter()
        .map(|r| {
            if *r {
                serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
            } else {
                answered.next().unwrap_or(serde_json::Value::Null)
            }
        })
        .collect();
    let failed = refused.iter().filter(|r| **r).count();
    let body = serde_json::json!({"FailedEntryCount": failed, "Entries": results});
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap()
}

#[derive(Debug)]
struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for InjectedReset {}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(token: &str, items: &[(&str, &str)]) -> Vec<u8> {
        let actions: Vec<serde_json::Value> = items
            .iter()
            .enumerate()
            .map(|(k, (pk, sk))| {
                let key = serde_json::json!({"pk": {"S": pk}, "sk": {"S": sk}});
                match k % 3 {
                    0 => serde_json::json!({"Update": {"TableName": "dir", "Key": key}}),
                    1 => {
                        let mut item = key.clone();
                        item["name"] = serde_json::json!({"S": "x"});
                        serde_json::json!({"Put": {"TableName": "dir", "Item": item}})
                    }
                    _ => serde_json::json!({"ConditionCheck": {"TableName": "dir", "Key": key}}),
                }
            })
            .collect();
        serde_json::json!({"TransactItems": actions, "ClientRequestToken": token})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_transaction_touching_a_held_item_is_cancelled_naming_that_item_and_the_first_wins() {
        let mut h = Holds::default();
        let (t1, first) =
            transaction_items(&tx("a", &[("TENANT#1", "TENANT"), ("USER#1", "USER")]));
        assert_eq!(t1, "a");
        assert_eq!(first[0], r#"dir|{"S":"TENANT#1"}|{"S":"TENANT"}"#);
        assert_eq!(h.begin(&t1, &first), Begin::Held);
        // A Put names its item by the key attributes in it, like the Update before it.
        let (t2, second) =
            transaction_items(&tx("b", &[("USER#2", "USER"), ("TENANT#1", "TENANT")]));
        assert_eq!(h.begin(&t2, &second), Begin::Conflict(vec![false, true]));
        // Another company's transaction is not held up.
        let (t3, third) =
            transaction_items(&tx("c", &[("TENANT#2", "TENANT"), ("USER#3", "USER")]));
        assert_eq!(h.begin(&t3, &third), Begin::Held);
        // The same token again while it is in flight: DynamoDB's TransactionInProgress.
        assert_eq!(h.begin(&t1, &first), Begin::InProgress);
        h.end(&t1);
        assert_eq!(h.begin(&t2, &second), Begin::Held);
        assert_eq!(
            h.met,
            Conflicts {
                held: 3,
                cancelled: 1,
                refused: 0,
                in_progress: 1
            }
        );
    }

    #[test]
    fn a_single_write_of_a_held_item_is_refused_and_reads_and_other_items_are_not() {
        let mut h = Holds::default();
        let (t, items) = transaction_items(&tx("a", &[("TENANT#1", "TENANT")]));
        assert_eq!(h.begin(&t, &items), Begin::Held);
        let update = br#"{"TableName":"dir","Key":{"pk":{"S":"TENANT#1"},"sk":{"S":"TENANT"}}}"#;
        let put = br#"{"TableName":"dir","Item":{"sk":{"S":"TENANT"},"pk":{"S":"TENANT#1"},"n":{"N":"1"}}}"#;
        let other = br#"{"TableName":"dir","Key":{"pk":{"S":"TENANT#2"},"sk":{"S":"TENANT"}}}"#;
        for (op, body) in [
            ("dynamodb.UpdateItem", &update[..]),
            ("dynamodb.DeleteItem", &update[..]),
            ("dynamodb.PutItem", &put[..]),
        ] {
            let item = written_item(op, body).unwrap();
            assert!(h.refuses(&item), "{op}");
        }
        assert!(!h.refuses(&written_item("dynamodb.UpdateItem", other).unwrap()));
        assert_eq!(written_item("dynamodb.GetItem", update), None);
        h.end(&t);
        assert!(!h.refuses(&written_item("dynamodb.UpdateItem", update).unwrap()));
        assert_eq!(h.met.refused, 3);
    }
}
