//! Serves an `App` over HTTP/1.1 on loopback, the way API Gateway fronts the functions,
//! including the CORS answers API Gateway gives for the template's `CorsConfiguration`, so the
//! console is cross-origin locally exactly as on AWS.

use crate::app::App;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// One byte past API Gateway's payload limit is enough for the gateway to refuse the request
/// as AWS does (`App::call`); reading further would only cost memory.
const MAX_BODY: usize = crate::gateway::PAYLOAD_LIMIT + 1;

/// The template's `Api.CorsConfiguration`, but for the origins (there `AppUrl`). The infra
/// test holds the template to these values.
pub const CORS_ALLOW_HEADERS: &[&str] = &["authorization", "content-type", "idempotency-key"];
pub const CORS_ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
pub const CORS_MAX_AGE: u32 = 600;
/// Response headers a cross-origin script may read besides the safelisted ones: how long to
/// wait after a 429 or a 503 is in the header as well as in the problem body.
pub const CORS_EXPOSE_HEADERS: &[&str] = &["retry-after", "idempotent-replayed", "next-cursor"];

#[derive(Debug, Clone, Default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
}

/// What API Gateway (HTTP API) does with CORS configured: it answers every preflight itself,
/// before routes and authorizers; it adds `Access-Control-Allow-Origin` to other answers only
/// when the request's `Origin` is allowed.
impl Cors {
    fn allowed<'a>(&self, headers: &'a http::HeaderMap) -> Option<&'a str> {
        let origin = headers.get(http::header::ORIGIN)?.to_str().ok()?;
        self.allow_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
            .then_some(origin)
    }

    fn is_preflight(method: &http::Method, headers: &http::HeaderMap) -> bool {
        method == http::Method::OPTIONS
            && headers.contains_key(http::header::ORIGIN)
            && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    fn preflight(&self, headers: &http::HeaderMap) -> hyper::Response<Full<bytes::Bytes>> {
        let mut resp = hyper::Response::builder().status(204);
        let method_ok = headers
            .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| CORS_ALLOW_METHODS.iter().any(|a| a.eq_ignore_ascii_case(m)));
        let headers_ok = headers
            .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|h| h.to_str().ok())
            .is_none_or(|h| {
                h.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .all(|h| CORS_ALLOW_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(h)))
            });
        if let (Some(origin), true, true) = (self.allowed(headers), method_ok, headers_ok) {
            resp = resp
                .header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
                .header(
                    http::header::ACCESS_CONTROL_ALLOW_METHODS,
                    CORS_ALLOW_METHODS.join(","),
                )
                .header(
                    http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                    CORS_ALLOW_HEADERS.join(","),
                )
                .header(http::header::ACCESS_CONTROL_MAX_AGE, CORS_MAX_AGE)
                .header(http::header::VARY, "Origin");
        }
        resp.body(Full::new(bytes::Bytes::new())).unwrap()
    }
}

pub async fn serve(app: Arc<App>, listener: TcpListener, cors: Cors) {
    let cors = Arc::new(cors);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        let cors = cors.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                let cors = cors.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    if Cors::is_preflight(&parts.method, &parts.headers) {
                        return Ok::<_, Infallible>(cors.preflight(&parts.headers));
                    }
                    let origin = cors.allowed(&parts.headers).map(str::to_string);
                    // Past the limit, what was read is enough for the gateway's 413.
                    let bytes = match Limited::new(body, MAX_BODY).collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                            bytes::Bytes::from(vec![0; MAX_BODY])
                        }
                        Err(_) => {
                            return Ok(hyper::Response::builder()
                                .status(400)
                                .body(Full::new(bytes::Bytes::new()))
                                .unwrap())
                        }
                    };
                    let pq = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into());
                    let reply = app
                        .call(parts.method.as_str(), &pq, &parts.headers, &bytes)
                        .await;
                    let mut resp = hyper::Response::builder().status(reply.status);
                    for (k, v) in &reply.headers {
                        resp = resp.header(k, v);
                    }
                    if let Some(origin) = origin {
                        resp = resp
                            .header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
                            .header(
                                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                                CORS_EXPOSE_HEADERS.join(","),
                            )
                            .header(http::header::VARY, "Origin");
                    }
                    Ok(resp
                        .body(Full::new(bytes::Bytes::from(reply.body)))
                        .unwrap())
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
