//! `suspend`: `POST /users/{id}/suspend` and `POST /users/{id}/reactivate`, and the routes
//! that end sessions without suspending: `POST /users/{id}/sign-out` (an admin signs a user out
//! of all devices), `POST /me/sign-out` (a user signs out everywhere) and `POST /me/password`
//! (a user changes their password, which ends every session too).
//!
//! DynamoDB is the source of truth and Cognito follows it (docs/rules.md, "Sign-in follows
//! the directory"): under the login's lock, suspend disables the sign-in (which signs out
//! everywhere) before the commit; both routes end with the one converge step, whatever the
//! commit answered. A retry of either finishes what a crash left.

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::{require_admin, target};
use shared::domain::validation::password_change_request;
use shared::domain::views::answers;
use shared::domain::{ApiError, Change, User};
use shared::http::admit;
use shared::http::{
    answer, body_json, change_by, load_caller, load_caller_and_user, respond_once, route_key,
    KeyScope,
};
use shared::usecase::users::{self, SignIns};

pub use shared::usecase::users::SignInDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    // A password change's body holds passwords: its key keeps only an argon2id print.
    let scope = match route_key(&req) {
        Some("POST /me/password") => KeyScope::CallerSecret,
        _ => KeyScope::Caller,
    };
    respond_once(&req, &deps.store, scope, async {
        match route_key(&req) {
            Some("POST /users/{id}/suspend") => {
                act(deps, &req, "suspend users", users::suspend).await
            }
            Some("POST /users/{id}/reactivate") => {
                act(deps, &req, "reactivate users", users::reactivate).await
            }
            Some("POST /users/{id}/sign-out") => {
                act(deps, &req, "sign users out", users::sign_out_user).await
            }
            Some("POST /me/sign-out") => sign_out_everywhere(deps, &req).await,
            Some("POST /me/password") => change_password(deps, &req).await,
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
    require_admin(&caller, what)?;
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
