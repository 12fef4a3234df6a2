//! `change-role`: `PUT /users/{id}/role {role, team?, version?}`. Takes effect on the user's
//! next request (every request reads the current record), no sign-out needed.

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::target;
use shared::domain::validation::role_edit;
use shared::domain::views::answers;
use shared::domain::ApiError;
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{
    answer, body_json, change_by, load_caller_and_user, respond_once, route_key, KeyScope,
};
use shared::usecase::users;

pub use shared::usecase::users::UsersDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("PUT /users/{id}/role") => change(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

async fn change(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, "change roles").await?;
    let edit = role_edit(&body_json(req)?)?;
    let before = target(&caller, found)?;
    let users = deps.users();
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::change_role(&users, &change, before, edit).await?;
    Ok(answer(&answers::user(&after)))
}
