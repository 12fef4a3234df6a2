//! Starts moto server (single-threaded, on loopback) or reuses one named by `MOTO_ENDPOINT`,
//! with a Python that has the pinned emulator: the machine's own, or the project's virtual
//! environment, made on first use.

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the project root")
}

/// The emulator's pinned requirements, and the moto version they pin.
fn requirements() -> (PathBuf, String, String) {
    let path = project_root().join("tests/moto/requirements.txt");
    let text = std::fs::read_to_string(&path).expect("tests/moto/requirements.txt");
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("moto[server]=="))
        .expect("requirements.txt pins moto[server]==<version>")
        .trim()
        .to_string();
    (path, text, version)
}

/// Asks the installed packages' metadata, not `import moto`: the import takes about 2 s,
/// and every test binary checks once as it starts.
fn has_pinned_moto(python: &Path, version: &str) -> bool {
    Command::new(python)
        .args([
            "-c",
            &format!(
                "import sys, importlib.metadata as m; m.version('werkzeug'); \
                 sys.exit(m.version('moto') != {version:?})"
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Straight to the terminal: the test harness captures `eprintln!` in tests, and this is news
/// for the person waiting, not test output.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Stops with one message that names what is missing and the command that fixes it by hand.
fn cannot_install(what: &str) -> ! {
    panic!(
        "\nharness: cannot set up the local AWS emulator: {what}.\n\
         By hand: python3 -m pip install -r tests/moto/requirements.txt\n\
         (or set PYTHON to an interpreter that has it)\n"
    )
}

/// Taken while one process builds the environment, so a second waits instead of racing it.
struct InstallLock(PathBuf);

impl InstallLock {
    fn take(dir: &Path) -> InstallLock {
        let lock = dir.with_extension("lock");
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            match std::fs::create_dir(&lock) {
                Ok(()) => {
                    let _ = std::fs::write(lock.join("pid"), std::process::id().to_string());
                    return InstallLock(lock);
                }
                Err(_) => {
                    // A holder that died (its pid is gone) leaves the lock to whoever comes next.
                    let holder = std::fs::read_to_string(lock.join("pid")).unwrap_or_default();
                    let alive =
                        !holder.is_empty() && Path::new("/proc").join(holder.trim()).exists();
                    if !alive && !holder.is_empty() {
                        let _ = std::fs::remove_dir_all(&lock);
                        continue;
                    }
                    if Instant::now() > deadline {
                        cannot_install(&format!("{} has been held for 15 minutes", lock.display()));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Python that runs the emulator (and the scripts that talk to it): `PYTHON` if set;
/// else `python3` if it imports the pinned moto; else `.local/python`, a virtual environment
/// of the project's own, made and filled from `tests/moto/requirements.txt` the first time
/// (about a minute, with pip's progress on the terminal) and reused after, until the
/// requirements change.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(find_or_install_python).clone()
}

fn find_or_install_python() -> PathBuf {
    if let Ok(p) = std::env::var("PYTHON") {
        return PathBuf::from(p);
    }
    let (req_path, req_text, version) = requirements();
    let system = PathBuf::from("python3");
    if has_pinned_moto(&system, &version) {
        return system;
    }
    let dir = project_root().join(".local/python");
    let venv_python = dir.join("bin/python");
    let stamp = dir.join("requirements.txt");
    let ready = || {
        std::fs::read_to_string(&stamp).is_ok_and(|t| t == req_text)
            && has_pinned_moto(&venv_python, &version)
    };
    if ready() {
        return venv_python;
    }
    std::fs::create_dir_all(dir.parent().unwrap())
        .unwrap_or_else(|e| cannot_install(&format!("cannot create .local/: {e}")));
    let _lock = InstallLock::take(&dir);
    if ready() {
        return venv_python; // another process made it while we waited
    }
    say(&format!(
        "harness: python3 has no moto {version}; installing it into .local/python \
         (once; later runs reuse it)"
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| {
            cannot_install(&format!("python3 does not run ({e}); install Python 3"))
        });
    if !venv.success() {
        cannot_install(
            "`python3 -m venv` failed (on Debian and Ubuntu the venv module is the python3-venv package)",
        );
    }
    let pip = Command::new(&venv_python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "on",
            "-r",
        ])
        .arg(&req_path)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| {
            cannot_install(&format!("{} does not run: {e}", venv_python.display()))
        });
    if !pip.success() || !has_pinned_moto(&venv_python, &version) {
        cannot_install("pip could not install tests/moto/requirements.txt (is PyPI reachable?)");
    }
    std::fs::write(&stamp, &req_text)
        .unwrap_or_else(|e| cannot_install(&format!("cannot write {}: {e}", stamp.display())));
    say(&format!(
        "harness: moto {version} installed in .local/python"
    ));
    venv_python
}

pub struct Moto {
    pub endpoint: String,
    child: Option<Child>,
}

/// A response's whole body.
async fn body_of(resp: http::Response<hyper::body::Incoming>) -> Result<Vec<u8>, String> {
    Ok(resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e}"))?
        .to_bytes()
        .to_vec())
}

/// A plain-HTTP GET on loopback; returns status and body.
pub async fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let resp = client.get(uri).await.map_err(|e| format!("{e}"))?;
    let status = resp.status().as_u16();
    Ok((status, body_of(resp).await?))
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
    Ok((status, headers, body_of(resp).await?))
}

/// One call of an AWS JSON-protocol API on the emulator (`target` as `X-Amz-Target`, e.g.
/// `DynamoDBStreams_20120810.GetRecords`), for the APIs the harness reads without an SDK
/// client: signed in form only (moto takes the service from the credential scope and checks
/// no signature).
pub async fn aws_json(
    endpoint: &str,
    service: &str,
    target: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    use http_body_util::Full;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        crate::stack::REGION
    );
    let req = http::Request::builder()
        .method("POST")
        .uri(endpoint)
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .header("authorization", auth)
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| format!("{e}"))?;
    let resp = client.request(req).await.map_err(|e| format!("{e}"))?;
    let status = resp.status().as_u16();
    let bytes = body_of(resp).await?;
    if status != 200 {
        return Err(format!(
            "{target}: {status} {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{target}: {e}"))
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
        let python = python();
        let child = Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                cannot_install(&format!("cannot start {} {script}: {e}", python.display()))
            });
        // MOTO_HOST (server.py listens there): infra/sam-local.sh's Docker bridge address.
        let host = std::env::var("MOTO_HOST").unwrap_or_else(|_| "127.0.0.1".into());
        let endpoint = format!("http://{host}:{port}");
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
    /// The HTML part.
    pub body: String,
    /// The text part (`tests/moto/server.py` keeps it).
    pub text: String,
    /// The From header as sent: display name and address.
    pub source: String,
    pub reply_to: Vec<String>,
}

/// Every email sent so far (moto keeps the HTML part).
pub async fn sent_mail(endpoint: &str) -> Vec<SentMail> {
    // Only the messages: the whole of data.json is every model moto ever made.
    let (_, body) = http_get(&format!(
        "{endpoint}/moto-api/data.json?model=Message&service=ses"
    ))
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
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            out.push(SentMail {
                to: strings(&m["destinations"]["ToAddresses"]),
                subject: m["subject"].as_str().unwrap_or_default().to_string(),
                body: m["body"].as_str().unwrap_or_default().to_string(),
                text: m["text"].as_str().unwrap_or_default().to_string(),
                source: m["source"].as_str().unwrap_or_default().to_string(),
                reply_to: strings(&m["reply_to"]),
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
