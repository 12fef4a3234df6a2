//! `delete`: `DELETE /users/{id}`. Permanent: the sign-in identity is removed, the seat and
//! the email are free at once (the email can be invited again), and the record becomes a
//! tombstone that keeps the display name, so "was assigned to Jane Doe" still reads right.
//!
//! Order (docs/rules.md, "Sign-in follows the directory"): under the login's lock, disable the
//! sign-in (which signs out everywhere), commit the tombstone, then the one converge step
//! removes the identity. A crash anywhere leaves nobody able to sign in whom DynamoDB has
//! deleted, and retrying the request (or the reconciler) finishes the remaining steps.

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::own;
use shared::domain::views::answers;
use shared::domain::ApiError;
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{answer, change_by, load_caller_and_user, respond_once, route_key, KeyScope};
use shared::usecase::users;

pub use shared::usecase::users::SignInDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("DELETE /users/{id}") => delete(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

async fn delete(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, "delete users").await?;
    // A tombstone is still found: deleting it again finishes what a crash left.
    let before = own(&caller, found)?;
    let signins = deps.signins();
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::delete(&signins, &change, before).await?;
    Ok(answer(&answers::user(&after)))
}
