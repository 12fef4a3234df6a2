//! Starts moto server (single-threaded, on loopback) or reuses one named by `MOTO_ENDPOINT`.

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    child: Option<Child>,
}

/// A plain-HTTP GET on loopback; returns status and body.
pub async fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let resp = client.get(uri).await.map_err(|e| format!("{e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e}"))?
        .to_bytes();
    Ok((status, body.to_vec()))
}

/// One request with headers; answers status, headers and body (for CORS and static files).
pub async fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, http::HeaderMap, Vec<u8>), String> {
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Empty::new()).map_err(|e| format!("{e}"))?;
    let resp = client.request(req).await.map_err(|e| format!("{e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e}"))?
        .to_bytes();
    Ok((status, headers, body.to_vec()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    /// Reuses `MOTO_ENDPOINT` if set, else starts `tests/moto/server.py` on a free port. The
    /// child exits when this process does (it watches our pid), and on `stop`.
    pub async fn start_or_reuse() -> Moto {
        if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
            wait_ready(&endpoint).await;
            return Moto {
                endpoint,
                child: None,
            };
        }
        let port = std::env::var("MOTO_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(free_port);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/moto/server.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {python} {script}: {e} (pip install -r tests/moto/requirements.txt)")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_ready(&endpoint).await;
        Moto {
            endpoint,
            child: Some(child),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_ready(endpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("{endpoint}/moto-api/");
    loop {
        if let Ok((status, _)) = http_get(&url).await {
            if status < 500 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "moto server at {endpoint} did not answer within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An email moto's SES recorded.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub source: String,
}

/// Every email sent so far (moto keeps the HTML part).
pub async fn sent_mail(endpoint: &str) -> Vec<SentMail> {
    let (_, body) = http_get(&format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto data.json");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("data.json is JSON");
    let mut out = Vec::new();
    let Some(services) = v.as_object() else {
        return out;
    };
    for service in services.values() {
        let Some(messages) = service.get("Message").and_then(|m| m.as_array()) else {
            continue;
        };
        for m in messages {
            let to = m["destinations"]["ToAddresses"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            out.push(SentMail {
                to,
                subject: m["subject"].as_str().unwrap_or_default().to_string(),
                body: m["body"].as_str().unwrap_or_default().to_string(),
                source: m["source"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    out
}

/// The newest email to `to` (case-insensitive), if any.
pub async fn last_mail_to(endpoint: &str, to: &str) -> Option<SentMail> {
    sent_mail(endpoint)
        .await
        .into_iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
}

/// The token from an invite email's `#token=` link.
pub fn token_in(body: &str) -> Option<String> {
    let start = body.find("#token=")? + "#token=".len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    (!token.is_empty()).then_some(token)
}
