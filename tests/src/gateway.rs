//! What an HTTP API answers itself, before or instead of a function, so that the in-process
//! gateway is no kinder than AWS: a body over the payload limit, a route over its throttle, a
//! function that crashes or runs out its time. Each answer is API Gateway's own
//! (`application/json`, `{"message": …}`), not a problem document: that is what a client meets
//! on AWS, and infra/openapi.yaml describes it so.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// An HTTP API's request payload limit: "Payload size: 10 MB" (API Gateway quotas for HTTP
/// APIs). Larger requests are refused before any route.
pub const PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// Lambda's synchronous invocation payload quota (6 MB): an event larger than this (the body,
/// base64 when binary, and the rest of the request) never reaches the function. AWS does not
/// document what an HTTP API then answers; a failed invocation is its 500 (the troubleshooting
/// guide for Lambda integrations), which is what this models. Only AWS settles it.
pub const INVOKE_LIMIT: usize = 6 * 1024 * 1024;

/// The template's `DefaultRouteSettings`, which an HTTP API applies to each route by itself
/// (the infra test holds the template to these).
pub const THROTTLE_BURST: u32 = 200;
pub const THROTTLE_RATE: u32 = 100;
/// The template's `RouteSettings` for every public route (`shared::routes`, `public`): a tenth
/// of the default, so a flood on them stops at the gateway.
pub const PUBLIC_THROTTLE_BURST: u32 = 20;
pub const PUBLIC_THROTTLE_RATE: u32 = 10;

/// API Gateway's own answer: status and `{"message": …}` as `application/json`.
pub fn aws_answer(status: u16) -> (u16, &'static str) {
    let message = match status {
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    (status, message)
}

/// A token bucket per route key, as an HTTP API's route throttling: `burst` requests at once,
/// refilled at `rate` a second.
pub struct Throttle {
    burst: f64,
    rate: f64,
    /// Routes with limits of their own (the template's `RouteSettings`): (burst, rate).
    routes: HashMap<String, (f64, f64)>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Default for Throttle {
    fn default() -> Self {
        let mut t = Throttle::new(THROTTLE_BURST, THROTTLE_RATE);
        for r in shared::routes::ROUTES.iter().filter(|r| r.public) {
            t = t.with_route(r.key, PUBLIC_THROTTLE_BURST, PUBLIC_THROTTLE_RATE);
        }
        t
    }
}

impl Throttle {
    pub fn new(burst: u32, rate: u32) -> Throttle {
        Throttle {
            burst: f64::from(burst),
            rate: f64::from(rate),
            routes: HashMap::new(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `route` throttled at its own limits instead of the default.
    pub fn with_route(mut self, route: &str, burst: u32, rate: u32) -> Throttle {
        self.routes
            .insert(route.to_string(), (f64::from(burst), f64::from(rate)));
        self
    }

    /// The (burst, rate) `route` is held to.
    pub fn limits(&self, route: &str) -> (f64, f64) {
        self.routes
            .get(route)
            .copied()
            .unwrap_or((self.burst, self.rate))
    }

    /// Whether a request on `route` may go now (and takes its token if so).
    pub fn admit(&self, route: &str) -> bool {
        self.admit_at(route, Instant::now())
    }

    fn admit_at(&self, route: &str, now: Instant) -> bool {
        let (burst, rate) = self.limits(route);
        let mut buckets = self.buckets.lock().unwrap();
        let (tokens, at) = buckets.entry(route.to_string()).or_insert((burst, now));
        let refilled = now.saturating_duration_since(*at).as_secs_f64() * rate;
        *tokens = (*tokens + refilled).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Every route's bucket full again, as after a quiet minute.
    pub fn refill(&self) {
        self.buckets.lock().unwrap().clear();
    }

    /// Spends every token `route` has, as a burst of other clients would: tests draw the
    /// gateway's 429 with it, through the same `admit` every request meets.
    pub fn exhaust(&self, route: &str) {
        while self.admit(route) {}
    }
}

/// How a function's invocation ended, as the gateway sees it.
pub enum Invocation<T> {
    Answered(T),
    /// It ran past its timeout: Lambda stopped it.
    TimedOut,
    /// It crashed (a panic: the runtime reports an error instead of an answer).
    Crashed,
}

/// Runs a handler as Lambda would: stopped at `timeout`, and a panic is an error, not an
/// answer.
pub async fn invoke<T>(timeout: Duration, handler: impl Future<Output = T>) -> Invocation<T> {
    match tokio::time::timeout(timeout, CatchUnwind(Box::pin(handler))).await {
        Ok(Ok(answer)) => Invocation::Answered(answer),
        Ok(Err(())) => Invocation::Crashed,
        Err(_) => Invocation::TimedOut,
    }
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_takes_its_burst_at_once_then_its_rate() {
        let t = Throttle::new(3, 2);
        let start = Instant::now();
        let admitted = (0..5).filter(|_| t.admit_at("GET /me", start)).count();
        assert_eq!(admitted, 3);
        // Another route has its own bucket.
        assert!(t.admit_at("GET /users", start));
        // Half a second at 2 a second is one more request, not two.
        let later = start + Duration::from_millis(500);
        assert!(t.admit_at("GET /me", later));
        assert!(!t.admit_at("GET /me", later));
        // Never more than the burst, however long it rested.
        let much_later = start + Duration::from_secs(60);
        let admitted = (0..10)
            .filter(|_| t.admit_at("GET /me", much_later))
            .count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn a_public_route_has_its_own_lower_limits() {
        let t = Throttle::default();
        let start = Instant::now();
        let public = (0..100)
            .filter(|_| t.admit_at("POST /invites/accept", start))
            .count();
        assert_eq!(public, PUBLIC_THROTTLE_BURST as usize);
        let signed_in = (0..300).filter(|_| t.admit_at("GET /users", start)).count();
        assert_eq!(signed_in, THROTTLE_BURST as usize);
    }

    #[tokio::test]
    async fn a_handler_past_its_timeout_or_panicking_gets_no_answer_of_its_own() {
        let slow = invoke(Duration::from_millis(20), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            1
        });
        assert!(matches!(slow.await, Invocation::TimedOut));
        let crash = invoke(Duration::from_secs(1), async {
            if true {
                panic!("a handler bug");
            }
            1
        });
        assert!(matches!(crash.await, Invocation::Crashed));
        assert!(matches!(
            invoke(Duration::from_secs(1), async { 7 }).await,
            Invocation::Answered(7)
        ));
    }
}
