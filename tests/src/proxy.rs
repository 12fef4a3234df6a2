//! A counting proxy between the SDK clients and the emulator: every AWS call is one request
//! here, so round trips per operation are counted from what actually crossed the wire, and
//! the emulator's own time is measured apart from the code's.

use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
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
        let svc = if svc.starts_with("DynamoDB") {
            "dynamodb"
        } else if svc.contains("Cognito") {
            "cognito"
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Calls::default();
    let log = calls.clone();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (client, log, upstream) = (client.clone(), log.clone(), upstream.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (client, log, upstream) = (client.clone(), log.clone(), upstream.clone());
                    async move {
                        let op = op_of(&req);
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
                        let started = Instant::now();
                        let resp = client
                            .request(hyper::Request::from_parts(parts, Full::new(body.clone())))
                            .await;
                        let out = match resp {
                            Ok(r) => {
                                let (p, b) = r.into_parts();
                                let b = b.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                hyper::Response::from_parts(p, Full::new(b))
                            }
                            Err(_) => hyper::Response::builder()
                                .status(502)
                                .body(Full::new(bytes::Bytes::new()))
                                .unwrap(),
                        };
                        log.0.lock().unwrap().push(Call {
                            op,
                            body,
                            started,
                            upstream: started.elapsed(),
                        });
                        Ok::<_, Infallible>(out)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), calls)
}
