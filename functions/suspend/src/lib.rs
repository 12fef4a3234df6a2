//! `suspend`: `POST /users/{id}/suspend` and `POST /users/{id}/reactivate`, and the routes
//! that end sessions without suspending: `POST /users/{id}/sign-out` (an admin signs a user out
//! of all devices) and `POST /me/sign-out` (a user signs out everywhere).
//!
//! DynamoDB is the source of truth and Cognito follows it (docs/rules.md, "Sign-in follows
//! the directory"): under the login's lock, suspend disables the sign-in (which signs out
//! everywhere) before the commit; both routes end with the one converge step, whatever the
//! commit answered. A retry of either finishes what a crash left.

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::{require_admin, target};
use shared::domain::views::answers;
use shared::domain::{ApiError, Change, User};
use shared::http::admit;
use shared::http::{
    answer, change_by, load_caller, load_caller_and_user, respond_once, route_key, KeyScope,
};
use shared::usecase::users::{self, SignIns};

pub use shared::usecase::users::SignInDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("POST /users/{id}/suspend") => {
                act(deps, &req, "suspend users", users::suspend).await
            }
            Some("POST /users/{id}/reactivate") => {
                act(deps, &req, "reactivate users", users::reactivate).await
            }
            Some("POST /users/{id}/sign-out") => {
                act(deps, &req, "sign users out", users::sign_out).await
            }
            Some("POST /me/sign-out") => sign_out_everywhere(deps, &req).await,
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
