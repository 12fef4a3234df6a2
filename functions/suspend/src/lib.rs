//! `suspend`: `POST /users/{id}/suspend` and `POST /users/{id}/reactivate`, and the routes
//! that end sessions without suspending: `POST /users/{id}/sign-out` (an admin signs a user out
//! of all devices), `POST /me/sign-out` (a user signs out everywhere) and `POST /me/password`
//! (a user changes their password, which ends every session too). And two-step verification
//! (rule 14): `POST /me/mfa/setup` (a new authenticator secret), `POST /me/mfa` (the first code
//! turns it on), `POST /me/mfa/disable` (off, with the password and a current code) and `PUT
//! /tenant/mfa-policy`. An admin's reset for a lost phone is `reset-password`'s (it mails).
//!
//! DynamoDB is the source of truth and Cognito follows it (docs/rules.md, "Sign-in follows
//! the directory"): under the login's lock, suspend disables the sign-in (which signs out
//! everywhere) before the commit; both routes end with the one converge step, whatever the
//! commit answered. A retry of either finishes what a crash left.

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::target;
use shared::domain::validation::{
    mfa_code_request, mfa_off_request, mfa_policy_request, password_change_request,
};
use shared::domain::views::answers;
use shared::domain::{ApiError, Change, User};
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{
    answer, body_json, change_by, json, load_caller, load_caller_and_user, respond_once,
    respond_within, route_key, KeyScope,
};
use shared::usecase::users::{self, SignIns};

pub use shared::usecase::users::SignInDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    // The answer holds the authenticator's secret: it is never kept, so no key is honoured
    // (nothing here changes: a retry gets a new secret, and only the newest one verifies).
    if route_key(&req) == Some("POST /me/mfa/setup") {
        return respond_within(&req, Box::pin(mfa_setup(deps, &req))).await;
    }
    // A password change's body holds passwords, a code's a one-time secret: their key keeps
    // only an argon2id print.
    let scope = match route_key(&req) {
        Some("POST /me/password" | "POST /me/mfa" | "POST /me/mfa/disable") => {
            KeyScope::CallerSecret
        }
        _ => KeyScope::Caller,
    };
    // Each arm boxed: inline, the largest arm's future is moved whole through the handler's,
    // which overflows a debug build's test stack.
    respond_once(&req, &deps.store, scope, async {
        match route_key(&req) {
            Some("POST /users/{id}/suspend") => {
                Box::pin(act(deps, &req, "suspend users", users::suspend)).await
            }
            Some("POST /users/{id}/reactivate") => {
                Box::pin(act(deps, &req, "reactivate users", users::reactivate)).await
            }
            Some("POST /users/{id}/sign-out") => {
                Box::pin(act(deps, &req, "sign users out", users::sign_out_user)).await
            }
            Some("POST /me/sign-out") => Box::pin(sign_out_everywhere(deps, &req)).await,
            Some("POST /me/password") => Box::pin(change_password(deps, &req)).await,
            Some("POST /me/mfa") => Box::pin(mfa_turn_on(deps, &req)).await,
            Some("POST /me/mfa/disable") => Box::pin(mfa_turn_off(deps, &req)).await,
            Some("PUT /tenant/mfa-policy") => Box::pin(mfa_policy(deps, &req)).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

/// Both routes: an admin, one of the company's users who is not deleted, then the use case.
async fn act<F>(
    deps: &Deps,
    req: &Request,
    what: &'static str,
    use_case: F,
) -> Result<Response<Body>, ApiError>
where
    F: AsyncFn(&SignIns<'_>, &Change, User) -> Result<User, ApiError>,
{
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, what).await?;
    let before = target(&caller, found)?;
    let signins = deps.signins();
    let change = change_by(req, &caller, deps.clock.now());
    let after = use_case(&signins, &change, before).await?;
    Ok(answer(&answers::user(&after)))
}

/// Any active user, themselves: every session ends, this one included.
async fn sign_out_everywhere(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let signins = deps.signins();
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::sign_out(&signins, &change, caller).await?;
    Ok(answer(&answers::user(&after)))
}

/// Any active user, their own password: Cognito judges the current one with the caller's own
/// access token (the one this request came with), then every session ends.
async fn change_password(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let pw = password_change_request(&body_json(req)?)?;
    let token = shared::auth::bearer(req.headers()).map_err(|_| ApiError::InvalidToken)?;
    let signins = deps.signins();
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::change_password(&signins, &change, caller, token, &pw).await?;
    Ok(answer(&answers::user(&after)))
}

/// Any active user, for themselves: a new secret and the key URI its QR code carries.
async fn mfa_setup(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let token = shared::auth::bearer(req.headers()).map_err(|_| ApiError::InvalidToken)?;
    let account = caller.email.to_string();
    let change = change_by(req, &caller, deps.clock.now());
    let secret = users::mfa_secret(&deps.signins(), &change, caller, token).await?;
    let uri = shared::domain::totp::otpauth_uri(&account, &secret);
    Ok(json(
        200,
        &serde_json::json!({ "secretCode": secret, "otpauthUri": uri }),
    ))
}

/// Any active user: the first code from their app turns it on.
async fn mfa_turn_on(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let code = mfa_code_request(&body_json(req)?)?;
    let token = shared::auth::bearer(req.headers()).map_err(|_| ApiError::InvalidToken)?;
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::mfa_turn_on(&deps.signins(), &change, caller, token, &code).await?;
    Ok(answer(&answers::user(&after)))
}

/// Any active user: off, with their password and a current code.
async fn mfa_turn_off(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let proof = mfa_off_request(&body_json(req)?)?;
    let policy = deps
        .store
        .tenant(&caller.tenant_id)
        .await?
        .map(|t| t.mfa_policy)
        .unwrap_or_default();
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::mfa_turn_off(&deps.signins(), &change, caller, &proof, policy).await?;
    Ok(answer(&answers::user(&after)))
}

/// An admin (who passes the policy themselves): whom the company requires to have it.
async fn mfa_policy(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "set the company's two-step policy",
    )
    .await?;
    let policy = mfa_policy_request(&body_json(req)?)?;
    let change = change_by(req, &caller, deps.clock.now());
    let t = users::set_mfa_policy(&deps.store, &change, &caller, policy, &deps.pricing_url).await?;
    Ok(json(
        200,
        &shared::domain::views::TenantView::new(&t, &deps.pricing_url),
    ))
}
