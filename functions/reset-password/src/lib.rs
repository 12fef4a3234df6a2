//! `reset-password`: a forgotten password, and an admin's reset (docs/rules.md, rule 13).
//!
//! - `POST /password-resets {email, timeZone?}` (public): always 202 with the same body, no
//!   sooner than `resets::ANSWER_FLOOR`, whoever the address belongs to.
//! - `POST /password-resets/preview {token}` (public): whose account the link opens.
//! - `POST /password-resets/confirm {token, password}` (public): sets the password, ends every
//!   session.
//! - `POST /users/{id}/password-reset {timeZone?}` (admins): the same email, sent by them.
//! - `POST /users/{id}/mfa-reset {timeZone?}` (admins): two-step verification off for a user
//!   who lost their phone, every session ended (rule 14), and the user told by email. Here
//!   rather than with the rest of two-step (`suspend`) because this is the function that mails.
//!
//! What each does is `shared::usecase::resets`; this reads the bodies and writes the answers.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::auth::Verifier;
use shared::domain::manage::target;
use shared::domain::validation::{
    accept_request, admin_reset_request, preview_request, reset_request,
};
use shared::domain::views::{self, answers};
use shared::domain::{ApiError, ResetToken};
use shared::http::require_admin;
use shared::http::{
    admit, answer, body_json, change_by, deadline, json, load_caller_and_user, request_id,
    respond_once, respond_within, route_key, KeyScope,
};
use shared::usecase::resets::{self, ANSWER_FLOOR};
use shared::usecase::users;

pub use shared::usecase::resets::ResetDeps as Deps;

/// `verifier` is the container's (its cached keys): the admin route checks the caller's token
/// first; the public routes take none.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    match route_key(&req) {
        Some("POST /password-resets") => {
            // The floor starts before anything is read, and every answer waits for it, a
            // malformed body's and a replay's included: the route's time is one number.
            let floor = tokio::time::Instant::now() + ANSWER_FLOOR;
            let resp = respond_once(&req, &deps.store, KeyScope::Public, request(deps, &req)).await;
            resets::wait_for_floor(floor).await;
            resp
        }
        // Only a link we could have issued takes a key (its print costs an argon2id hash).
        Some("POST /password-resets/confirm") if links_a_token(&req) => {
            respond_once(&req, &deps.store, KeyScope::Public, confirm(deps, &req)).await
        }
        Some("POST /password-resets/confirm") => respond_within(&req, confirm(deps, &req)).await,
        Some("POST /password-resets/preview") => respond_within(&req, preview(deps, &req)).await,
        Some("POST /users/{id}/password-reset") => {
            let req = admit(verifier, req).await;
            respond_once(&req, &deps.store, KeyScope::Caller, send(deps, &req)).await
        }
        // Boxed: inline, its future (the sign-in change's) overflows a debug test stack.
        Some("POST /users/{id}/mfa-reset") => {
            let req = admit(verifier, req).await;
            let work = Box::pin(reset_two_step(deps, &req));
            respond_once(&req, &deps.store, KeyScope::Caller, work).await
        }
        _ => respond_within(&req, async { Err(ApiError::NoRoute) }).await,
    }
}

/// Whether the body names a token of a reset link's shape.
fn links_a_token(req: &Request) -> bool {
    serde_json::from_slice::<Value>(req.body().as_ref())
        .ok()
        .and_then(|b| b.get("token")?.as_str().and_then(ResetToken::parse))
        .is_some()
}

async fn request(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (email, zone) = reset_request(&body_json(req)?)?;
    resets::request(&deps.resets(), &email, zone.as_deref(), deadline(req)).await?;
    Ok(answer(&answers::reset_requested()))
}

async fn preview(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let raw = preview_request(&body_json(req)?)?;
    let (user, tenant, reset) = resets::preview(&deps.resets(), &raw).await?;
    Ok(json(
        200,
        &views::reset_preview(&user, &tenant, reset.expires_at),
    ))
}

async fn confirm(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (raw, pw) = accept_request(&body_json(req)?)?;
    let user = resets::confirm(&deps.resets(), &raw, &pw, &request_id(req)).await?;
    Ok(answer(&answers::password_reset(&user)))
}

/// The optional `{timeZone}` body of an admin's route: the zone their email's times are in.
fn admin_zone(req: &Request) -> Result<Option<String>, ApiError> {
    if req.body().is_empty() {
        return Ok(None);
    }
    admin_reset_request(&body_json(req)?)
}

/// An admin, one of the company's users who is not deleted: two-step off and every session
/// ended (committed and audited), then the user told.
async fn reset_two_step(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "reset two-step verification",
    )
    .await?;
    let before = target(&caller, found)?;
    let zone = admin_zone(req)?;
    let change = change_by(req, &caller, deps.clock.now());
    // Told only if there was something to turn off (the console offers the reset for every
    // user): the record, or Cognito where the record says off (a set-up cut before its commit).
    let was_on = before.mfa || deps.directory.totp_on(&before.login()).await?;
    let after = users::mfa_reset(&deps.signins(), &change, before).await?;
    if was_on {
        let (r, until) = (deps.resets(), deadline(req));
        resets::tell_two_step_reset(&r, &caller, &after, change.at, zone.as_deref(), until).await;
    }
    Ok(answer(&answers::user(&after)))
}

/// An admin, one of the company's users who is not deleted, then the use case.
async fn send(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "send password resets",
    )
    .await?;
    let user = target(&caller, found)?;
    let zone = admin_zone(req)?;
    let change = change_by(req, &caller, deps.clock.now());
    let reset = resets::send_by_admin(
        &deps.resets(),
        &change,
        &caller,
        user.clone(),
        zone.as_deref(),
        deadline(req),
    )
    .await?;
    Ok(answer(&answers::reset_sent(&user, reset.expires_at)))
}
