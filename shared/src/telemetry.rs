//! Structured JSON logs for CloudWatch. Request bodies and tokens are never logged anywhere in
//! this workspace.
//!
//! Lambda's advanced logging filters JSON lines by their `level`, but only believes a line
//! that carries a valid RFC 3339 `timestamp`: a line without one is taken as INFO, so with an
//! application log level of WARN every line, errors included, would be dropped. Each line
//! therefore has both (`{"timestamp":"2026-12-05T23:30:00.123456Z","level":"ERROR",…}`).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// What to write: Lambda's application log level when it sets one (`AWS_LAMBDA_LOG_LEVEL`,
/// from the template's `ApplicationLogLevel`), so the code writes what Lambda keeps; else
/// `RUST_LOG`; else `info`. Lambda's FATAL has no tracing level: it keeps errors only.
pub fn directive(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    match lambda_level.map(|l| l.trim().to_ascii_lowercase()) {
        Some(l) if l == "fatal" => "error".into(),
        Some(l) if ["trace", "debug", "info", "warn", "error"].contains(&l.as_str()) => l,
        _ => rust_log
            .filter(|r| !r.trim().is_empty())
            .unwrap_or("info")
            .to_string(),
    }
}

/// The subscriber every function installs, writing to `writer`.
pub fn subscriber<W>(directive: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(directive))
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .finish()
}

/// The JSON lines `f` logs under `directive`, as Lambda receives them: for tests of what a
/// function's log line carries (the template's metric filters read fields of them).
pub fn captured(directive: &str, f: impl FnOnce()) -> Vec<serde_json::Value> {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Kept {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let kept = Kept::default();
    let out = kept.clone();
    tracing::subscriber::with_default(subscriber(directive, move || out.clone()), f);
    let bytes = kept.0.lock().map(|v| v.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn init() {
    let lambda = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let directive = directive(lambda.as_deref(), rust_log.as_deref());
    let _ = tracing::subscriber::set_global_default(subscriber(&directive, std::io::stdout));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_log::Lines;

    fn logged(directive: &str) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let out = lines.clone();
        let sub = subscriber(directive, move || out.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::info!(route = "GET /me", "answered");
            tracing::error!(error = "dynamodb did not answer", "request failed");
        });
        lines.json()
    }

    /// As Lambda reads a line: a `level` it knows, and a `timestamp` in RFC 3339; otherwise
    /// it would take the line as INFO and filter it as such.
    #[test]
    fn every_line_carries_the_level_and_an_rfc_3339_timestamp_lambda_filters_by() {
        let lines = logged("info");
        assert_eq!(lines.len(), 2);
        for line in &lines {
            let at = line["timestamp"].as_str().expect("a timestamp");
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| panic!("{at} is not RFC 3339: {e}"));
            assert!(["INFO", "ERROR"].contains(&line["level"].as_str().unwrap()));
        }
        assert_eq!(lines[1]["level"], "ERROR");
    }

    #[test]
    fn lambdas_level_decides_what_is_written() {
        assert_eq!(directive(Some("WARN"), Some("debug")), "warn");
        assert_eq!(directive(Some("FATAL"), None), "error");
        assert_eq!(directive(Some("DEBUG"), Some("info")), "debug");
        assert_eq!(directive(None, Some("warn")), "warn");
        assert_eq!(directive(Some("nonsense"), None), "info");
        let warn = logged(&directive(Some("WARN"), Some("info")));
        assert_eq!(warn.len(), 1, "{warn:?}");
        assert_eq!(warn[0]["level"], "ERROR");
    }
}
