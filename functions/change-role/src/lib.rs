//! `change-role`: what a user does and takes on, none of it touching sign-in.
//! - `PUT /users/{id}/role {role, team?, maxChats?, version?}`: takes effect on the user's next
//!   request (every request reads the current record), no sign-out needed.
//! - `PUT /me/availability` and `PUT /users/{id}/availability {availability}`: a user's own,
//!   or an admin's for anyone in the company (rule 16).
//! - `PUT /tenant/max-chats {maxChats}`: the capacity users who join start with.
//! - `PUT /tenant/group-mappings {mappings, version?}`: which of the identity provider's groups
//!   give which role and team (rule 22); the people they move are placed at once.
//! - `PATCH /users {changes: [...]}`: a quick edit of up to 25 users, all or nothing (rule 17).
//! - `POST /teams/rename {from, to}` and `POST /teams/merge {from, into}`: every member and
//!   pending invite of a team moves to the other name (rule 19).

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::group::read_mappings;
use shared::domain::manage::target;
use shared::domain::team::{move_request, MoveKind};
use shared::domain::validation::{
    availability_request, default_max_chats_request, quick_edit_request, role_edit,
};
use shared::domain::views::{answers, TenantView};
use shared::domain::ApiError;
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{
    answer, body_json, change_by, json, load_caller, load_caller_and_user, respond_once, route_key,
    KeyScope,
};
use shared::usecase::groups;
use shared::usecase::users;

pub use shared::usecase::users::UsersDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("PUT /users/{id}/role") => Box::pin(change(deps, &req)).await,
            Some("PUT /users/{id}/availability") => Box::pin(availability(deps, &req)).await,
            Some("PUT /me/availability") => Box::pin(own_availability(deps, &req)).await,
            Some("PUT /tenant/max-chats") => Box::pin(default_max_chats(deps, &req)).await,
            Some("PUT /tenant/group-mappings") => Box::pin(group_mappings(deps, &req)).await,
            Some("PATCH /users") => Box::pin(quick_edit(deps, &req)).await,
            Some("POST /teams/rename") => Box::pin(move_team(deps, &req, MoveKind::Rename)).await,
            Some("POST /teams/merge") => Box::pin(move_team(deps, &req, MoveKind::Merge)).await,
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

/// An admin, for any user of the company who is not deleted (themselves included: then it is
/// their own, not audited).
async fn availability(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "set other users' availability",
    )
    .await?;
    let status = availability_request(&body_json(req)?)?;
    let before = target(&caller, found)?;
    let change = change_by(req, &caller, deps.clock.now());
    let after = Box::pin(users::set_availability(
        &deps.store,
        &change,
        &caller,
        before,
        status,
    ))
    .await?;
    Ok(answer(&answers::user(&after)))
}

/// Any active user, their own.
async fn own_availability(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    let status = availability_request(&body_json(req)?)?;
    let change = change_by(req, &caller, deps.clock.now());
    let me = caller.clone();
    let after = Box::pin(users::set_availability(
        &deps.store,
        &change,
        &caller,
        me,
        status,
    ))
    .await?;
    Ok(answer(&answers::user(&after)))
}

/// An admin: several users at once, all or nothing (rule 17).
async fn quick_edit(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, "change users").await?;
    let edits = quick_edit_request(&body_json(req)?)?;
    let change = change_by(req, &caller, deps.clock.now());
    let after = Box::pin(users::quick_edit(&deps.store, &change, &caller, edits)).await?;
    Ok(answer(&answers::users(&after)))
}

/// An admin: a team renamed, or merged into another (rule 19).
async fn move_team(deps: &Deps, req: &Request, kind: MoveKind) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "rename or merge teams",
    )
    .await?;
    let request = move_request(&body_json(req)?, kind)?;
    let change = change_by(req, &caller, deps.clock.now());
    let moved = Box::pin(shared::usecase::teams::move_team(
        &deps.store,
        &change,
        &caller,
        kind,
        request,
    ))
    .await?;
    Ok(answer(&shared::domain::idempotency::Answer::json(
        200, &moved,
    )))
}

/// Directory sync's group mappings (rule 22): saved, then the people they move placed.
async fn group_mappings(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "map directory groups to roles and teams",
    )
    .await?;
    let (list, version) = read_mappings(&body_json(req)?)?;
    let change = change_by(req, &caller, deps.clock.now());
    let view = Box::pin(groups::set_mappings(
        &deps.users(),
        &change,
        &caller.tenant_id,
        list,
        version,
    ))
    .await?;
    Ok(json(200, &view))
}

async fn default_max_chats(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "set the company's chat capacity",
    )
    .await?;
    let n = default_max_chats_request(&body_json(req)?)?;
    let change = change_by(req, &caller, deps.clock.now());
    let t = Box::pin(users::set_default_max_chats(
        &deps.store,
        &change,
        &caller,
        n,
        &deps.pricing_url,
    ))
    .await?;
    Ok(json(200, &TenantView::new(&t, &deps.pricing_url)))
}
