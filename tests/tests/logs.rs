//! Lambda's log-level filtering, from outside a function: the `list` binary started as Lambda
//! starts it (a Runtime API on loopback, the environment Lambda sets, `AWS_LAMBDA_LOG_LEVEL`
//! from the template's `ApplicationLogLevel`), its stdout read line by line as Lambda's
//! advanced logging reads it. With WARN, its error line is kept and its info lines are gone;
//! each line says its level with an RFC 3339 timestamp (without one Lambda would take every
//! line as INFO and drop them all at WARN).

use base64::Engine;
use harness::runtime_api::{serve_once, Seen};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;

/// The function binary as `cargo build` makes it (the test run builds only test targets).
fn list_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "list", "--bin", "list"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p list");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    target.join("debug/list")
}

fn event(token: &str) -> Vec<u8> {
    json!({
        "version": "2.0", "routeKey": "GET /users", "rawPath": "/users", "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"accountId": "0", "apiId": "logs", "domainName": "logs", "domainPrefix": "logs",
            "http": {"method": "GET", "path": "/users", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "logs"},
            "requestId": "logs", "routeKey": "GET /users", "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}

/// Runs one invocation; the JSON lines the function wrote.
async fn run(level: &str, token: &str) -> Vec<Value> {
    let (port, mut seen) = serve_once(event(token)).await;
    let mut child = std::process::Command::new(list_binary())
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "list")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_LEVEL", level)
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        // The template's RUST_LOG follows the same LogLevel parameter; Lambda's level wins.
        .env("RUST_LOG", "debug")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("DIRECTORY_TABLE", "directory")
        .env("AUDIT_TABLE", "audit")
        .env("PRICING_URL", "https://veloconnect.example/pricing")
        .env("TOKEN_ISSUER", "https://issuer.example")
        .env("USER_POOL_ID", "pool")
        .env("USER_POOL_CLIENT_ID", "client")
        // A closed loopback port: the keys can't be fetched (a 503, logged as an error).
        .env("JWKS_URL", "http://127.0.0.1:9/jwks.json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the list binary starts");
    loop {
        match tokio::time::timeout(Duration::from_secs(30), seen.recv()).await {
            Ok(Some(Seen::Next(_))) => continue,
            Ok(Some(_)) => break,
            _ => panic!("list gave no answer"),
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("its output");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn messages(lines: &[Value], level: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["level"] == level)
        .map(|l| {
            l["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn at_warn_a_function_keeps_its_error_line_and_drops_its_info_lines() {
    // An RS256 token whose key must be fetched: the fetch fails, the request is a 503 and
    // its failure is logged as an error.
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let needs_keys = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})),
        b64(json!({"sub": "x"}))
    );
    // The control: at INFO, a refused token is an info line.
    let info = run("INFO", "garbage").await;
    assert!(
        messages(&info, "INFO").contains(&"credential refused".to_string()),
        "{info:?}"
    );
    let warn = run("WARN", "garbage").await;
    assert!(messages(&warn, "INFO").is_empty(), "{warn:?}");
    let failed = run("WARN", &needs_keys).await;
    assert_eq!(messages(&failed, "ERROR"), ["request failed"], "{failed:?}");
    assert!(messages(&failed, "INFO").is_empty(), "{failed:?}");
    for line in info.iter().chain(&failed) {
        let at = line["timestamp"]
            .as_str()
            .expect("a timestamp on every line");
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{at} is not RFC 3339: {e}"));
    }
}
