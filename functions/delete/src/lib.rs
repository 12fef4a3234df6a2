//! `delete`: `DELETE /users/{id}`. Permanent: the sign-in identity is removed, the seat and
//! the email are free at once (the email can be invited again), and the record becomes a
//! tombstone that keeps the display name, so "was assigned to Jane Doe" still reads right.
//!
//! Order (docs/rules.md, "Sign-in follows the directory"): under the login's lock, disable the
//! sign-in (which signs out everywhere), commit the tombstone, then the one converge step
//! removes the identity. A crash anywhere leaves nobody able to sign in whom DynamoDB has
//! deleted, and retrying the request (or the reconciler) finishes the remaining steps.

use lambda_http::{Body, Request, Response};
use shared::domain::manage::require_admin;
use shared::domain::views::UserView;
use shared::domain::{ApiError, AuditAction, Clock, User, UserStatus};
use shared::http::{
    commit_signin_change, converge_signin, json, load_caller_and_user, respond_within, route_key,
    user_audit,
};
use shared::identity::Directory;
use shared::store::Store;
use std::sync::Arc;

pub const ROUTES: &[&str] = &["DELETE /users/{id}"];

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_within(&req, async {
        match route_key(&req) {
            Some("DELETE /users/{id}") => delete(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

async fn delete(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&caller, "delete users")?;
    let before = match found {
        Some(u) if u.tenant_id == caller.tenant_id => u,
        _ => return Err(ApiError::NotFound("user")),
    };
    if before.id == caller.id {
        return Err(ApiError::SelfAction("delete"));
    }
    if before.status == UserStatus::Deleted {
        // A retry after the commit: finish removing the identity.
        converge_signin(&deps.store, &deps.directory, &*deps.clock, &before).await?;
        return Ok(json(200, &UserView::from(&before)));
    }
    let now = deps.clock.now();
    let after = User {
        status: UserStatus::Deleted,
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    // Rule 6 is the commit's condition (see suspend for why no read first).
    let entry = user_audit(req, &caller, AuditAction::UserDeleted, &before, &after, now);
    commit_signin_change(
        &deps.store,
        &deps.directory,
        &*deps.clock,
        &before,
        &after,
        &entry,
        &deps.pricing_url,
    )
    .await?;
    Ok(json(200, &UserView::from(&after)))
}
