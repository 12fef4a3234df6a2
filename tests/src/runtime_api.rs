//! A minimal Lambda Runtime API on loopback, enough to start a function binary, hand it one
//! event and take its answer: what cold-start and memory measurements need.

use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};

#[derive(Debug)]
pub enum Seen {
    /// The function asked for work: its init is done.
    Next(Instant),
    /// The function answered the event.
    Response(Instant, Vec<u8>),
    Error(Instant, Vec<u8>),
}

/// Serves `event` once on a free port; reports what the function does through the channel.
pub async fn serve_once(event: Vec<u8>) -> (u16, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let handed_out = Arc::new(Mutex::new(false));
    let event = Arc::new(event);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tx, handed_out, event) = (tx.clone(), handed_out.clone(), event.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (tx, handed_out, event) = (tx.clone(), handed_out.clone(), event.clone());
                    async move {
                        let now = Instant::now();
                        let path = req.uri().path().to_string();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        if path.ends_with("/invocation/next") {
                            let _ = tx.send(Seen::Next(now));
                            let first = {
                                let mut given = handed_out.lock().await;
                                !std::mem::replace(&mut *given, true)
                            };
                            if !first {
                                // One event per start: the second ask waits until we kill it.
                                std::future::pending::<()>().await;
                            }
                            return Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("lambda-runtime-aws-request-id", "bench-request")
                                    .header("lambda-runtime-deadline-ms", "9999999999999")
                                    .header(
                                        "lambda-runtime-invoked-function-arn",
                                        "arn:aws:lambda:us-east-1:000000000000:function:bench",
                                    )
                                    .header(
                                        "lambda-runtime-trace-id",
                                        "Root=1-00000000-000000000000000000000000",
                                    )
                                    .header("content-type", "application/json")
                                    .body(Full::new(bytes::Bytes::from(event.as_ref().clone())))
                                    .unwrap(),
                            );
                        }
                        if path.ends_with("/response") {
                            let _ = tx.send(Seen::Response(now, body));
                        } else {
                            let _ = tx.send(Seen::Error(now, body));
                        }
                        Ok(hyper::Response::builder()
                            .status(202)
                            .body(Full::new(bytes::Bytes::new()))
                            .unwrap())
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (port, rx)
}
