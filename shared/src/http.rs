//! HTTP plumbing shared by the API functions: bodies, query strings, the authorizer's identity,
//! and the one place an `ApiError` becomes a problem+json response.

use crate::domain::{ApiError, FieldError, UserId};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Bodies larger than this are refused before parsing (a 25-row batch is about 5 KB).
pub const MAX_BODY: usize = 64 * 1024;

pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("response types serialize");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(
            String::from_utf8(bytes).expect("serde_json writes UTF-8"),
        ))
        .expect("status and headers are valid")
}

pub fn problem(err: &ApiError) -> Response<Body> {
    let p = err.problem();
    let mut resp = json(p.status, &p);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    let retry_after = match err {
        ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
        ApiError::AcceptInProgress => Some(2),
        // AWS answers these within a second or two of recovering; the SDK already retried.
        ApiError::Unavailable(_) => Some(2),
        _ => None,
    };
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if p.status == 401 {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Without a Lambda context (a unit test calling a handler), the template's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// When this request must have its answer ready (`config::answer_by` Lambda's deadline). A
/// function Lambda kills at its timeout answers nothing and API Gateway says 500; one that
/// stops here answers 503, which clients retry.
pub fn deadline(req: &Request) -> tokio::time::Instant {
    let lambda_deadline = req
        .lambda_context_ref()
        .filter(|c| c.deadline > 0)
        .map(|c| c.deadline())
        .unwrap_or_else(|| std::time::SystemTime::now() + DEFAULT_TIMEOUT);
    crate::config::answer_by(lambda_deadline)
}

/// Runs a handler's work until `deadline(req)`, then answers as `respond` does. Work still
/// running then is dropped where it stands, as Lambda's kill would drop it: every step is
/// safe to stop between (a sign-in change leaves its marker for the reconciler), and the
/// client hears 503 and retries instead of a bare 500.
pub async fn respond_within<F>(req: &Request, work: F) -> Response<Body>
where
    F: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    let by = deadline(req);
    // Boxed: a handler's whole state machine, nested in the timeout and the deadline scope,
    // is large enough in a debug build to overflow a 2 MiB thread stack if kept inline.
    let work = Box::pin(crate::config::with_deadline(by, work));
    respond(tokio::time::timeout_at(by, work).await.unwrap_or_else(|_| {
        Err(ApiError::Unavailable(
            "the request ran out of time waiting on AWS".into(),
        ))
    }))
}

/// Turns a handler's result into the response, logging server-side faults without anything a
/// client sent (no bodies, no tokens).
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    match result {
        Ok(r) => r,
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %e, "request failed");
            }
            problem(&e)
        }
    }
}

pub fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("valid")
}

/// The body as a JSON value; anything else is a 400 that says why.
pub fn body_json(req: &Request) -> Result<Value, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY {
        return Err(ApiError::MalformedBody(format!(
            "it is larger than {MAX_BODY} bytes"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedBody("it is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedBody(e.to_string()))
}

pub fn query(req: &Request, key: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(key))
        .map(str::to_string)
}

pub fn path_param(req: &Request, key: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|q| q.first(key))
        .map(str::to_string)
}

/// `limit` query parameter: 1..=max, default `default`.
pub fn page_limit(req: &Request, default: usize, max: usize, errs: &mut Vec<FieldError>) -> usize {
    match query(req, "limit") {
        None => default,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errs.push(FieldError::new(
                    "query.limit",
                    format!("must be a whole number from 1 to {max}"),
                ));
                default
            }
        },
    }
}

/// The API Gateway route key (`GET /users/{id}`) this request matched.
pub fn route_key(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.route_key.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

pub fn request_id(req: &Request) -> String {
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    from_gateway
        .filter(|id| !id.is_empty())
        .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_else(crate::domain::ids::new_id)
}

/// The change a caller makes in this request, for its audit entries: the one place the actor
/// comes from the caller.
pub fn change_by(
    req: &Request,
    caller: &crate::domain::User,
    now: time::OffsetDateTime,
) -> crate::domain::Change {
    crate::domain::Change::new(crate::domain::Actor::of(caller), now, &request_id(req))
}

/// What the authorizer verified: the token's `sub` and when Cognito issued it.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized {
    pub sub: UserId,
    pub issued_at: i64,
}

/// The caller the authorizer verified. Absent means the route was reached without the
/// authorizer, which must never be trusted.
pub fn authorized(req: &Request) -> Result<Authorized, ApiError> {
    let fields = &req
        .request_context_ref()
        .and_then(RequestContext::authorizer)
        .ok_or(ApiError::Unauthorized)?
        .fields;
    let sub = fields
        .get("sub")
        .and_then(Value::as_str)
        .and_then(UserId::parse)
        .ok_or(ApiError::Unauthorized)?;
    // Without `iat` the token's age is unknown, so it counts as the oldest: refused for any
    // user who was ever signed out, fine for the rest.
    let issued_at = fields.get("iat").and_then(Value::as_i64).unwrap_or(0);
    Ok(Authorized { sub, issued_at })
}

#[cfg(feature = "dynamo")]
pub use caller::{load_caller, load_caller_and_invite, load_caller_and_user};

#[cfg(feature = "dynamo")]
mod caller {
    use super::*;
    use crate::domain::{Invite, InviteId, User, UserStatus};
    use crate::store::Store;

    /// Rule 5: every request loads the caller's current record (consistent read) and decides
    /// from its role and status, never from claims in the token. A suspended or deleted
    /// caller, or one without a record, is refused even with a valid token, and so is a
    /// token issued before the caller was last signed out everywhere.
    pub async fn load_caller(store: &Store, req: &Request) -> Result<User, ApiError> {
        let who = authorized(req)?;
        active(store.user(&who.sub).await?, &who)
    }

    fn active(caller: Option<User>, who: &Authorized) -> Result<User, ApiError> {
        match caller {
            Some(u)
                if u.status == UserStatus::Active && u.accepts_token_issued_at(who.issued_at) =>
            {
                Ok(u)
            }
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The `{id}` path parameter as the kind of id the route names; junk reads as absent.
    fn id_param<T>(req: &Request, parse: fn(&str) -> Option<T>) -> Option<T> {
        path_param(req, "id").and_then(|id| parse(&id))
    }

    /// The caller (as `load_caller`) and the record at the `{id}` path parameter, read
    /// together in one round trip. The second is returned as found, for the handler to judge
    /// after its role check, so a refused role still answers 403 before any 404.
    pub async fn load_caller_and_user(
        store: &Store,
        req: &Request,
    ) -> Result<(User, Option<User>), ApiError> {
        let who = authorized(req)?;
        let (caller, found) = match id_param(req, UserId::parse) {
            Some(id) => store.user_pair(&who.sub, &id).await?,
            None => (store.user(&who.sub).await?, None),
        };
        Ok((active(caller, &who)?, found))
    }

    /// As `load_caller_and_user`, for the invite at `{id}`.
    pub async fn load_caller_and_invite(
        store: &Store,
        req: &Request,
    ) -> Result<(User, Option<Invite>), ApiError> {
        let who = authorized(req)?;
        let (caller, found) = match id_param(req, InviteId::parse) {
            Some(id) => store.user_and_invite(&who.sub, &id).await?,
            None => (store.user(&who.sub).await?, None),
        };
        Ok((active(caller, &who)?, found))
    }
}
