//! Serves the web console (`web/public`) on its own loopback origin, as CloudFront does on AWS:
//! any path without a file extension is the single page (so `/accept#token=…` and `/users?…`
//! load it), `/config.json` is the runtime configuration, and every answer carries the same
//! security headers as the distribution's response headers policy.

use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

use crate::Stack;

/// The console's files, from the repository.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/public")
}

/// The Content-Security-Policy of the console: scripts, styles and everything else from its own
/// origin only; network calls to itself, the API and Cognito. The template's response headers
/// policy says the same (the infra test compares them).
pub fn csp(connect: &[&str]) -> String {
    let mut c = vec!["'self'"];
    c.extend_from_slice(connect);
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'",
        c.join(" ")
    )
}

/// What the browser needs to know at run time (written from the stack's outputs on AWS).
pub fn config(stack: &Stack, api_url: &str) -> serde_json::Value {
    json!({
        "apiUrl": api_url,
        "region": stack.region,
        "cognitoEndpoint": format!("{}/", stack.aws_endpoint.trim_end_matches('/')),
        "userPoolClientId": stack.user_pool_client_id,
        "pricingUrl": stack.pricing_url,
    })
}

pub struct Console {
    pub root: PathBuf,
    pub config: Vec<u8>,
    pub csp: String,
}

impl Console {
    pub fn new(stack: &Stack, api_url: &str) -> Console {
        Console {
            root: root(),
            config: serde_json::to_vec_pretty(&config(stack, api_url)).unwrap(),
            csp: csp(&[api_url, &stack.aws_endpoint]),
        }
    }

    /// The file a path names, or `None` for anything outside the root or hidden.
    fn file(&self, path: &str) -> Option<PathBuf> {
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let rel = path.trim_start_matches('/');
        if rel
            .split('/')
            .any(|seg| seg.starts_with('.') || seg.contains('\\'))
        {
            return None;
        }
        let last = rel.rsplit('/').next().unwrap_or("");
        if rel.is_empty() || !last.contains('.') {
            return Some(self.root.join("index.html"));
        }
        Some(self.root.join(rel))
    }

    pub fn answer(&self, method: &http::Method, path: &str) -> (u16, &'static str, Vec<u8>) {
        if method != http::Method::GET && method != http::Method::HEAD {
            return (
                405,
                "text/plain; charset=utf-8",
                b"method not allowed".to_vec(),
            );
        }
        if path.split('?').next() == Some("/config.json") {
            return (200, "application/json", self.config.clone());
        }
        let found = self
            .file(path)
            .and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)));
        match found {
            Some((p, body)) => (200, content_type(&p), body),
            None => (404, "text/plain; charset=utf-8", b"not found".to_vec()),
        }
    }
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

pub async fn serve(console: Arc<Console>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let console = console.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let console = console.clone();
                async move {
                    let path = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into());
                    let (status, ctype, body) = console.answer(req.method(), &path);
                    let body = if req.method() == http::Method::HEAD {
                        Vec::new()
                    } else {
                        body
                    };
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .status(status)
                            .header(http::header::CONTENT_TYPE, ctype)
                            .header("content-security-policy", &console.csp)
                            .header("x-content-type-options", "nosniff")
                            .header("referrer-policy", "no-referrer")
                            .header("x-frame-options", "DENY")
                            // Local files change while you work on them.
                            .header(http::header::CACHE_CONTROL, "no-cache")
                            .body(Full::new(bytes::Bytes::from(body)))
                            .unwrap(),
                    )
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console() -> Console {
        Console {
            root: root(),
            config: br#"{"apiUrl":"http://127.0.0.1:3000"}"#.to_vec(),
            csp: csp(&["http://127.0.0.1:3000"]),
        }
    }

    #[test]
    fn pages_without_an_extension_are_the_single_page_and_files_are_served_with_their_type() {
        let c = console();
        let index = std::fs::read(root().join("index.html")).unwrap();
        for path in [
            "/",
            "/accept",
            "/settings/company/users?status=active",
            "/profile#x",
        ] {
            let (status, ctype, body) = c.answer(&http::Method::GET, path);
            assert_eq!((status, ctype), (200, "text/html; charset=utf-8"), "{path}");
            assert_eq!(body, index, "{path}");
        }
        let (status, ctype, _) = c.answer(&http::Method::GET, "/assets/main.js");
        assert_eq!((status, ctype), (200, "text/javascript; charset=utf-8"));
        let (status, ctype, body) = c.answer(&http::Method::GET, "/config.json?x=1");
        assert_eq!((status, ctype), (200, "application/json"));
        assert!(String::from_utf8(body).unwrap().contains("apiUrl"));
    }

    #[test]
    fn nothing_outside_the_console_folder_or_hidden_is_served() {
        let c = console();
        for path in [
            "/../Cargo.toml",
            "/assets/../../Cargo.toml",
            "/.env",
            "/assets/.hidden.js",
            "/assets/..%2f..%2fCargo.toml",
            "/missing.js",
        ] {
            assert_eq!(c.answer(&http::Method::GET, path).0, 404, "{path}");
        }
        assert_eq!(c.answer(&http::Method::POST, "/").0, 405);
    }

    #[test]
    fn the_policy_allows_scripts_and_styles_from_the_console_only() {
        let p = csp(&[
            "https://api.example",
            "https://cognito-idp.eu-west-1.amazonaws.com",
        ]);
        assert!(p.contains("script-src 'self';"));
        assert!(p.contains("style-src 'self';"));
        assert!(p.contains(
            "connect-src 'self' https://api.example https://cognito-idp.eu-west-1.amazonaws.com;"
        ));
        assert!(!p.contains("unsafe"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
