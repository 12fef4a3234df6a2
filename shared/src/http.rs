//! HTTP plumbing shared by the API functions: the caller's token (`admit`), bodies, query strings,
//! and the one place an `ApiError` becomes a problem+json response.

use crate::domain::idempotency::Answer;
use crate::domain::{ApiError, Chain, FieldError, UserId};
use crate::journal::{Journal, Progress};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tracing::Instrument;

/// Bodies larger than this are refused before parsing (a 25-row batch is about 5 KB).
pub const MAX_BODY: usize = 64 * 1024;

#[allow(
    clippy::expect_used,
    reason = "response types always serialize, serde_json writes UTF-8, and the status and headers are constants"
)]
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

#[allow(
    clippy::expect_used,
    reason = "the name is ours (a date), the cursor is one this API encoded (base64url)"
)]
/// One part of a CSV export (rule 18): the file's name, and where the next part starts
/// (`Next-Cursor`, absent on the last).
pub fn csv(body: String, filename: &str, next: Option<&str>) -> Response<Body> {
    let mut b = Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        );
    if let Some(n) = next {
        b = b.header(NEXT_CURSOR, n);
    }
    b.body(Body::Text(body))
        .expect("status and headers are valid")
}

/// The header an export part names the next part's cursor in.
pub const NEXT_CURSOR: &str = "next-cursor";

/// SCIM's media type (RFC 7644 3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// An answer on directory sync's routes (rule 22) as SCIM gives it: a problem rewritten as a
/// SCIM error document (`domain::scim::error_of`), and every body typed `application/scim+json`.
pub fn scim_answer(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let problem = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let body = if problem {
        match serde_json::from_slice::<Value>(body.as_ref()) {
            Ok(p) => Body::Text(crate::domain::scim::error_of(&p).to_string()),
            Err(_) => body,
        }
    } else {
        body
    };
    if !matches!(body, Body::Empty) {
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    Response::from_parts(parts, body)
}

pub fn problem(err: &ApiError) -> Response<Body> {
    problem_of(err, err.problem())
}

/// As `problem`; a server fault's body also carries the request's id, which its log line
/// carries too, so a user who quotes it can be helped.
fn fault(err: &ApiError, request_id: &str) -> Response<Body> {
    let mut p = err.problem();
    if p.status >= 500 {
        p.extensions
            .insert("requestId".into(), request_id.to_string().into());
    }
    problem_of(err, p)
}

fn problem_of(err: &ApiError, p: crate::domain::Problem) -> Response<Body> {
    let mut resp = json(p.status, &p);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    let retry_after = match err {
        ApiError::TooManyRequests { retry_after_secs }
        | ApiError::TooManyResets { retry_after_secs }
        | ApiError::Throttled {
            retry_after_secs, ..
        } => Some(*retry_after_secs),
        ApiError::TooManyAttempts => Some(60),
        ApiError::AcceptInProgress => Some(2),
        ApiError::IdempotencyInProgress => Some(1),
        // AWS answers these within a second or two of recovering; the SDK already retried.
        ApiError::Unavailable(_) | ApiError::OutcomeUnknown(_) => Some(2),
        _ => None,
    };
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    // RFC 6750 §3: a request that sent no credential is told only the scheme; one whose
    // credential was refused is told `invalid_token`.
    let challenge = match err {
        ApiError::Unauthorized => Some("Bearer"),
        ApiError::InvalidToken | ApiError::SignedOut { .. } => {
            Some("Bearer error=\"invalid_token\"")
        }
        _ => None,
    };
    if let Some(c) = challenge {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
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
/// client hears 503 and retries instead of a bare 500. What the 503 says comes from the
/// request's journal (rule 11): see `truthful`.
pub async fn respond_within<F>(req: &Request, work: F) -> Response<Body>
where
    F: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    let id = request_id(req);
    let span = span(&id, req);
    let journal = Journal::new(None);
    // Boxed before anything wraps it, as `run` explains.
    let work = Box::pin(run(&journal, deadline(req), work));
    let result = work.instrument(span.clone()).await;
    span.in_scope(|| respond(&id, result))
}

/// Every log line of one request carries its id and route (as its 5xx answer carries the
/// id), so a request's lines can be found from what its client saw.
fn span(id: &str, req: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_id = %id,
        route = route_key(req).unwrap_or("-"),
    )
}

/// The work, in `journal`'s scope, until `by`.
async fn run<F>(
    journal: &Journal,
    by: tokio::time::Instant,
    work: F,
) -> Result<Response<Body>, ApiError>
where
    F: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    // Boxed: a handler's whole state machine, nested in the timeout and the deadline scope,
    // is large enough in a debug build to overflow a 2 MiB thread stack if kept inline.
    let work = Box::pin(journal.scope(crate::config::with_deadline(by, work)));
    let result = tokio::time::timeout_at(by, work).await.unwrap_or_else(|_| {
        Err(ApiError::Unavailable(
            "the request ran out of time waiting on AWS".into(),
        ))
    });
    if !journal.settle_side(by).await {
        tracing::warn!("a side write (the caller's activity) did not finish before the answer");
    }
    truthful(result, journal)
}

/// Rule 11: an answer claims no more than the request knows. A change known to have
/// committed answers its own answer (named before the commit), whatever failed after; a
/// failure after a commit was sent whose fate is unknown says it could not confirm; only a
/// failure before any commit was sent says that nothing was changed.
fn truthful(
    result: Result<Response<Body>, ApiError>,
    journal: &Journal,
) -> Result<Response<Body>, ApiError> {
    let e = match result {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    match (journal.progress(), e) {
        (Progress::Committed, e) => match journal.answer() {
            Some(a) => Ok(answer(&a)),
            None => Err(match e {
                ApiError::Unavailable(why) => ApiError::OutcomeUnknown(why),
                e => e,
            }),
        },
        (Progress::Sent, ApiError::Unavailable(why)) => Err(ApiError::OutcomeUnknown(why)),
        (_, e) => Err(e),
    }
}

/// A recorded answer as a response.
#[allow(
    clippy::expect_used,
    reason = "a recorded answer's status and content type were written by this code from a valid response"
)]
pub fn answer(a: &Answer) -> Response<Body> {
    let body = if a.body.is_empty() {
        Body::Empty
    } else {
        Body::Text(a.body.clone())
    };
    Response::builder()
        .status(a.status)
        .header(header::CONTENT_TYPE, a.content_type.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
        .expect("a recorded status and content type are valid")
}

/// A response as the answer an idempotency key records.
fn recorded(resp: &Response<Body>) -> Answer {
    Answer {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string(),
        body: match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        },
    }
}

/// Turns a handler's result into the response. A server-side fault is logged here, once,
/// with its whole chain of causes and nothing a client sent (no bodies, no tokens).
fn respond(request_id: &str, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    match result {
        Ok(r) => r,
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %Chain(&e), "request failed");
            }
            fault(&e, request_id)
        }
    }
}

#[allow(clippy::expect_used, reason = "a constant status and no headers")]
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

/// What `admit` found: the verified caller, or why there is none.
#[derive(Clone)]
struct Admission(Result<crate::auth::Verified, ApiError>);

/// Every authenticated route's first step (its function's `handle`): the request's access
/// token verified (`auth::Verifier`) and the verdict kept on the request for `authorized`.
/// No credential is a 401 with the bare challenge, a refused one a 401 `invalid_token`, and
/// keys that can't be read a 503 (nothing is known about the token; the next request tries
/// again).
pub async fn admit(verifier: &crate::auth::Verifier, mut req: Request) -> Request {
    let verdict = authenticate(verifier, &req).await;
    req.extensions_mut().insert(Admission(verdict));
    req
}

/// The caller `admit` verified. A request that was never admitted has no caller: fail closed.
pub fn authorized(req: &Request) -> Result<crate::auth::Verified, ApiError> {
    match req.extensions().get::<Admission>() {
        Some(Admission(verdict)) => verdict.clone(),
        None => Err(ApiError::Unauthorized),
    }
}

async fn authenticate(
    verifier: &crate::auth::Verifier,
    req: &Request,
) -> Result<crate::auth::Verified, ApiError> {
    use crate::auth::AuthError;
    verifier.check(req.headers()).await.map_err(|e| match e {
        AuthError::Missing => ApiError::Unauthorized,
        AuthError::Invalid(why) => {
            tracing::info!(reason = %why, "credential refused");
            ApiError::InvalidToken
        }
        AuthError::Keys(cause) => ApiError::Unavailable(cause),
    })
}

#[cfg(all(feature = "dynamo", feature = "cognito"))]
pub use caller::require_admin;
#[cfg(feature = "dynamo")]
pub use caller::{
    export_cursor, export_part, load_caller, load_caller_and_invite, load_caller_and_user,
};
#[cfg(feature = "dynamo")]
pub use once::{respond_once, KeyScope};

/// Idempotent writes (docs/rules.md, rule 11): `Idempotency-Key` claimed before the work,
/// recorded with the change, replayed to retries.
#[cfg(feature = "dynamo")]
mod once {
    use super::*;
    use crate::domain::idempotency::{
        judge, Claim, Disposition, IdempotencyKey, Print, Seen, KEY_HEADER, REPLAYED_HEADER,
    };
    use crate::store::Store;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use tokio::time::Instant;

    /// Whose keys a route's keys are: the caller's (as `admit` verified them), or on a
    /// public route (accept) one space for everyone, where the request's print (holding the
    /// invite's secret token) is what tells one client's retry from anyone else's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyScope {
        Caller,
        /// The caller's, for a body that holds a password: its print is kept only as an
        /// argon2id hash, as the public route's is.
        CallerSecret,
        Public,
    }

    /// How long a retry waits for an attempt with its key that is still running before it is
    /// told to come back (409 `idempotency-in-progress`).
    const WAIT_FOR_RUNNING: Duration = Duration::from_secs(2);
    const POLL: Duration = Duration::from_millis(250);
    /// Time kept after the work to record the key's outcome (one small write).
    const SETTLE: Duration = Duration::from_millis(500);

    fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// `by` on the wall clock: the lease a claim holds, which is when this request answers.
    fn wall_ms(by: Instant) -> i64 {
        now_ms() + by.saturating_duration_since(Instant::now()).as_millis() as i64
    }

    /// As `respond_within`, for a write route. Without `Idempotency-Key` it is exactly that.
    /// With one: the first attempt claims the key and does the work; its answer is recorded
    /// (in the change's own transaction where there is a change, then as sent) and every
    /// retry with the same key and request gets it again, marked `Idempotent-Replayed`.
    pub async fn respond_once<F>(
        req: &Request,
        store: &Store,
        scope: KeyScope,
        work: F,
    ) -> Response<Body>
    where
        F: std::future::Future<Output = Result<Response<Body>, ApiError>>,
    {
        // Boxed at once, as `run` explains: this future would otherwise hold the handler's.
        let work = Box::pin(work);
        let Some(raw) = req.headers().get(KEY_HEADER) else {
            return respond_within(req, work).await;
        };
        let key = match raw
            .to_str()
            .map_err(|_| FieldError::new("header.Idempotency-Key", "must be visible ASCII"))
            .and_then(IdempotencyKey::parse)
        {
            Ok(k) => k,
            Err(f) => return problem(&ApiError::Invalid(vec![f])),
        };
        let owner = match scope {
            KeyScope::Caller | KeyScope::CallerSecret => match authorized(req) {
                Ok(a) => a.sub.to_string(),
                Err(e) => return problem(&e),
            },
            KeyScope::Public => "public".to_string(),
        };
        let secret = scope != KeyScope::Caller;
        let print = Print::of(
            route_key(req).unwrap_or(""),
            req.uri().path(),
            req.body().as_ref(),
            secret,
        );
        let claim = Claim {
            pk: crate::store::idem_pk(&owner, key.as_str()),
            lease_id: crate::domain::ids::new_id(),
        };
        let by = deadline(req);
        let id = request_id(req);
        let span = span(&id, req);
        let acquiring = Box::pin(acquire(store, &claim, &print, by)).instrument(span.clone());
        let acquired =
            tokio::time::timeout_at(by, acquiring)
                .await
                .unwrap_or(Err(ApiError::Unavailable(
                    "ran out of time claiming the idempotency key".into(),
                )));
        match acquired {
            Ok(Some(first)) => {
                let mut resp = answer(&first);
                resp.headers_mut()
                    .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
                return resp;
            }
            Ok(None) => {}
            Err(e) => return span.in_scope(|| respond(&id, Err(e))),
        }
        let journal = Journal::new(Some(claim.clone()));
        let result = Box::pin(run(&journal, by, work))
            .instrument(span.clone())
            .await;
        let settled = async {
            match &result {
                Ok(resp) => store.finish_key(&claim, &recorded(resp)).await,
                Err(e) => match Disposition::of(e) {
                    Disposition::Keep => store.finish_key(&claim, &recorded(&problem(e))).await,
                    Disposition::Release => store.release_key(&claim).await,
                    Disposition::Leave => store.lapse_key(&claim).await,
                },
            }
        };
        // Bounded: the answer must not wait on its own bookkeeping. A key left `running`
        // lapses at this request's deadline; one left `committed` replays the change's answer.
        let settling = async {
            match tokio::time::timeout(SETTLE, Box::pin(settled)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %Chain(&e), "idempotency key not settled"),
                Err(_) => tracing::warn!("idempotency key not settled in time"),
            }
        };
        Box::pin(settling).instrument(span.clone()).await;
        span.in_scope(|| respond(&id, result))
    }

    /// The key for this attempt (`None`), or the first attempt's answer to replay.
    async fn acquire(
        store: &Store,
        claim: &Claim,
        print: &Print,
        by: Instant,
    ) -> Result<Option<Answer>, ApiError> {
        let stored = {
            let p = print.clone();
            tokio::task::spawn_blocking(move || p.stored())
                .await
                .map_err(|_| ApiError::Unavailable("hashing the request failed".into()))?
        };
        let lease_until = wall_ms(by);
        let give_up = Instant::now() + WAIT_FOR_RUNNING;
        loop {
            let now = now_ms();
            let Some(found) = store.claim_key(claim, &stored, now, lease_until).await? else {
                return Ok(None);
            };
            let matches = {
                let (p, f) = (print.clone(), found.print.clone());
                tokio::task::spawn_blocking(move || p.matches(&f))
                    .await
                    .unwrap_or(false)
            };
            match judge(&found, matches, now) {
                Seen::Replay(first) => return Ok(Some(first)),
                Seen::Mismatch => return Err(ApiError::IdempotencyKeyReused),
                Seen::Abandoned => {
                    if store
                        .take_over_key(claim, &found.lease_id, &stored, now, lease_until)
                        .await?
                    {
                        return Ok(None);
                    }
                }
                Seen::Running { .. } => {
                    if Instant::now() + POLL > give_up.min(by) {
                        return Err(ApiError::IdempotencyInProgress);
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}

#[cfg(feature = "dynamo")]
mod caller {
    use super::*;
    use crate::auth::Verified;
    use crate::domain::{Invite, InviteId, User, UserStatus};
    use crate::store::Store;

    /// Rule 5: every request loads the caller's current record (consistent read) and decides
    /// from its role and status, never from claims in the token. A suspended or deleted
    /// caller, or one without a record, is refused even with a valid token (a revoked
    /// credential: 401 `invalid_token`), and so is a token issued before the caller was last
    /// signed out everywhere.
    pub async fn load_caller(store: &Store, req: &Request) -> Result<User, ApiError> {
        let who = authorized(req)?;
        active(store, store.user(&who.sub).await?, &who)
    }

    /// The caller as read, if they may act; and their activity recorded beside the request
    /// when it is due (at most one write per user per `ACTIVITY_GRAIN`: issue 26, part 5).
    fn active(store: &Store, caller: Option<User>, who: &Verified) -> Result<User, ApiError> {
        let u = match caller {
            Some(u) if u.status != UserStatus::Active => return Err(ApiError::InvalidToken),
            Some(u) if u.accepts_token_issued_at(who.issued_at) => u,
            Some(u) => {
                return Err(ApiError::SignedOut {
                    by_admin: u.signed_out_by.as_ref() != Some(&u.id),
                })
            }
            None => return Err(ApiError::InvalidToken),
        };
        note_activity(store, &u);
        Ok(u)
    }

    /// Starts the activity touch beside the request's work, so the answer doesn't wait for it
    /// in turn (`journal::beside`). Wall clock, as "last active" is read by people.
    fn note_activity(store: &Store, u: &User) {
        use crate::domain::Clock;
        use tracing::Instrument;
        let now = crate::domain::SystemClock.now();
        if !u.activity_due(now) {
            return;
        }
        let (store, id, tenant) = (store.clone(), u.id.clone(), u.tenant_id.clone());
        let touch = async move {
            if let Err(e) = store.touch_user(&tenant, &id, now).await {
                tracing::warn!(error = %crate::domain::Chain(&e), "activity not recorded");
            }
        };
        crate::journal::beside(tokio::spawn(touch.instrument(tracing::Span::current())));
    }

    /// The `{id}` path parameter as the kind of id the route names; junk reads as absent.
    fn id_param<T>(req: &Request, parse: fn(&str) -> Option<T>) -> Option<T> {
        path_param(req, "id").and_then(|id| parse(&id))
    }

    /// The caller (as `load_caller`) and the record at the `{id}` path parameter, read
    /// together in one round trip. The second is returned as found, for the handler to judge
    /// after its role check, so a refused role still answers 403 before any 404.
    /// Where an export part starts (rule 18): `None` for the first part; for a later one, the
    /// store's cursor, once the part's `cursor` proves it continues an export this caller
    /// started with this very query (its audit entry, read back): a cursor made by hand, or
    /// one of another export or another person, is refused, so no row leaves unaudited.
    pub async fn export_cursor(
        store: &Store,
        req: &Request,
        caller: &User,
        action: crate::domain::AuditAction,
    ) -> Result<Option<String>, ApiError> {
        let Some(raw) = super::query(req, "cursor") else {
            return Ok(None);
        };
        let bad = || {
            ApiError::Invalid(vec![FieldError::new(
                "query.cursor",
                "is not the next part of an export you started with this query",
            )])
        };
        let (sk, inner) = crate::domain::csv::split_cursor(&raw).ok_or_else(bad)?;
        let entry = store
            .audit_entry(&caller.tenant_id, &sk)
            .await?
            .ok_or_else(bad)?;
        let asked = export_query(req);
        let same = entry.action == action
            && entry.actor.id == caller.id.to_string()
            && entry.after.as_ref().and_then(|a| a["query"].as_str()) == Some(asked.as_str());
        if !same {
            return Err(bad());
        }
        Ok(Some(inner))
    }

    /// The export's query as audited: what was asked, without the part's own `cursor`.
    fn export_query(req: &Request) -> String {
        req.uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Sends one part of an export (rule 18): the first part's audit entry (`action`, the
    /// query as sent) is written before any row leaves; a failed write gives none out. The
    /// next part's cursor carries that entry's key, which `export_cursor` checks.
    #[allow(clippy::too_many_arguments)]
    pub async fn export_part(
        store: &Store,
        req: &Request,
        caller: &User,
        action: crate::domain::AuditAction,
        label: &str,
        csv: crate::domain::csv::Csv,
        continuing: Option<&str>,
        next: Option<&str>,
        now: time::OffsetDateTime,
    ) -> Result<Response<Body>, ApiError> {
        // The entry's key: written now for a first part, carried on from the cursor after.
        let entry_sk = match continuing {
            Some(raw) => crate::domain::csv::split_cursor(raw).map(|(sk, _)| sk),
            None => {
                let entry = super::change_by(req, caller, now).on_export(
                    action,
                    &caller.tenant_id,
                    label,
                    &export_query(req),
                );
                Box::pin(store.record_read(&entry)).await?;
                Some(crate::store::audit_sk(&entry))
            }
        };
        let next = match (next, entry_sk) {
            (Some(n), Some(sk)) => Some(crate::domain::csv::join_cursor(&sk, n)),
            _ => None,
        };
        let date = &crate::domain::timefmt::format(now)[..10];
        let kind = match action {
            crate::domain::AuditAction::AuditExported => "audit",
            _ => "users",
        };
        Ok(super::csv(
            csv.finish(),
            &format!("{kind}-{date}.csv"),
            next.as_deref(),
        ))
    }

    pub async fn load_caller_and_user(
        store: &Store,
        req: &Request,
    ) -> Result<(User, Option<User>), ApiError> {
        let who = authorized(req)?;
        let (caller, found) = match id_param(req, UserId::parse) {
            Some(id) => store.user_pair(&who.sub, &id).await?,
            None => (store.user(&who.sub).await?, None),
        };
        Ok((active(store, caller, &who)?, found))
    }

    /// An admin route's gate: the caller's role (`manage::require_admin`), then the company's
    /// two-step policy (rule 14). The record's `mfa` is not trusted alone: the user's own
    /// access token can turn the authenticator off at Cognito without this API. So where the
    /// policy requires two-step of the caller, an admin whose record says on is confirmed at
    /// Cognito (`Directory::totp_confirmed`; its "on" is trusted a minute per login and
    /// container, and while it is, the company's record is not even read). Where nothing
    /// requires it, Cognito is never asked: those companies never wait on Cognito's health.
    /// Refused: 403 `mfa-required`; Cognito unable to say where it is required: 503.
    #[cfg(feature = "cognito")]
    pub async fn require_admin(
        store: &Store,
        directory: &crate::identity::Directory,
        caller: &User,
        what: &'static str,
    ) -> Result<(), ApiError> {
        crate::domain::manage::require_admin(caller, what)?;
        let login = caller.login();
        if caller.mfa && directory.totp_recently_confirmed(&login) {
            return Ok(());
        }
        let policy = store
            .tenant(&caller.tenant_id)
            .await?
            .map(|t| t.mfa_policy)
            .unwrap_or_default();
        if !policy.requires(caller.role) {
            return Ok(());
        }
        if caller.mfa && directory.totp_confirmed(&login).await? {
            return Ok(());
        }
        if caller.mfa {
            tracing::warn!(
                user = %caller.id,
                "two-step is on in the record and off at Cognito: turned off outside the API"
            );
        }
        Err(ApiError::MfaRequired)
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
        Ok((active(store, caller, &who)?, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_log::Lines;

    fn request(route: &str, id: &str) -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": route,
            "rawPath": "/users/x/suspend",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "0", "apiId": "t", "domainName": "t", "domainPrefix": "t",
                "http": {"method": "POST", "path": "/users/x/suspend", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": id, "routeKey": route, "stage": "$default", "time": "", "timeEpoch": 0,
            },
            "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn a_record_we_cannot_read_answers_500_with_the_request_id_its_one_log_line_carries() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .finish();
        let req = request("POST /users/{id}/suspend", "req-4711");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resp = tracing::subscriber::with_default(subscriber, || {
            rt.block_on(respond_within(&req, async {
                #[derive(Debug, thiserror::Error)]
                #[error("stored item is malformed")]
                struct Malformed(#[source] std::io::Error);
                let e = Malformed(std::io::Error::other("role in USER#x"));
                Err(ApiError::Internal(crate::domain::Cause::new(e)))
            }))
        });
        assert_eq!(resp.status(), 500);
        let body: Value = match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => panic!("a problem body"),
        };
        assert_eq!(body["requestId"], "req-4711");
        assert!(body["type"].as_str().unwrap().ends_with("/internal"));
        assert!(
            !body.to_string().contains("USER#x"),
            "no cause reaches a client"
        );

        let text = lines.text();
        let logged = lines.json();
        assert_eq!(
            logged.len(),
            1,
            "one line where the request is answered: {text}"
        );
        let line = &logged[0];
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["span"]["request_id"], "req-4711");
        assert_eq!(line["span"]["route"], "POST /users/{id}/suspend");
        assert_eq!(
            line["fields"]["error"],
            "internal fault: stored item is malformed: role in USER#x"
        );
    }

    #[test]
    fn only_a_server_fault_carries_the_request_id() {
        let p = fault(&ApiError::NotFound("user"), "req-1");
        let Body::Text(t) = p.body() else {
            panic!("a problem body")
        };
        assert!(!t.contains("requestId"));
        let p = fault(&ApiError::Unavailable("x".into()), "req-1");
        let Body::Text(t) = p.body() else {
            panic!("a problem body")
        };
        assert!(t.contains("\"requestId\":\"req-1\""));
    }
}
