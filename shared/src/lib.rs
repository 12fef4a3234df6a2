//! The VeloConnect directory's shared crate.
//!
//! `domain` is pure (no AWS types, no async): roles, permissions, seat rules, the invite
//! lifecycle, validation, email rendering and the problem+json error model. `usecase` holds
//! what each request does between HTTP and the store; `http` only HTTP. The adapters live
//! behind cargo features so that each Lambda links only the SDK clients it calls.

pub mod domain;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "env")]
pub mod config;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "cognito")]
pub mod identity;
#[cfg(any(feature = "dynamo", feature = "http"))]
pub mod journal;
#[cfg(feature = "ses")]
pub mod mail;
pub mod routes;
#[cfg(all(feature = "dynamo", feature = "cognito"))]
pub mod signin;
#[cfg(feature = "dynamo")]
pub mod store;
#[cfg(feature = "telemetry")]
pub mod telemetry;
#[cfg(feature = "dynamo")]
pub mod usecase;

/// What the tests that read log lines share: a writer that keeps what a subscriber writes.
#[cfg(test)]
pub(crate) mod test_log {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        /// One JSON object per line, as the telemetry writes them.
        pub fn json(&self) -> Vec<serde_json::Value> {
            self.text()
                .lines()
                .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
                .collect()
        }
    }
}
