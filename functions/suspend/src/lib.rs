//! `suspend`: `POST /users/{id}/suspend` and `POST /users/{id}/reactivate`.
//!
//! DynamoDB is the source of truth and Cognito follows it (docs/rules.md, "Sign-in follows
//! the directory"): under the login's lock, suspend disables the sign-in (which signs out
//! everywhere) before the commit; both routes end with the one converge step, whatever the
//! commit answered. A retry of either finishes what a crash left.

use lambda_http::{Body, Request, Response};
use shared::domain::manage::{require_admin, target};
use shared::domain::views::UserView;
use shared::domain::{ApiError, AuditAction, Clock, User, UserStatus};
use shared::http::{
    commit_signin_change, converge_signin, json, load_caller_and_user, respond_within, route_key,
    user_audit,
};
use shared::identity::Directory;
use shared::store::Store;
use std::sync::Arc;

pub const ROUTES: &[&str] = &["POST /users/{id}/suspend", "POST /users/{id}/reactivate"];

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_within(&req, async {
        match route_key(&req) {
            Some("POST /users/{id}/suspend") => suspend(deps, &req).await,
            Some("POST /users/{id}/reactivate") => reactivate(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

async fn suspend(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&caller, "suspend users")?;
    let before = target(&caller, found)?;
    if before.id == caller.id {
        return Err(ApiError::SelfAction("suspend"));
    }
    if before.status == UserStatus::Suspended {
        // Already suspended (perhaps a retry): make sure Cognito agrees, change nothing else.
        converge_signin(&deps.store, &deps.directory, &*deps.clock, &before).await?;
        return Ok(json(200, &UserView::from(&before)));
    }
    let now = deps.clock.now();
    let after = User {
        status: UserStatus::Suspended,
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    // Rule 6 needs no read first: the caller is another active admin, so only a concurrent
    // change can make the target the last one, and the commit's condition catches that.
    let entry = user_audit(
        req,
        &caller,
        AuditAction::UserSuspended,
        &before,
        &after,
        now,
    );
    commit(deps, &before, &after, &entry).await?;
    Ok(json(200, &UserView::from(&after)))
}

async fn reactivate(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&caller, "reactivate users")?;
    let before = target(&caller, found)?;
    if before.status == UserStatus::Active {
        // Already active (perhaps a retry after the commit): finish the Cognito step.
        converge_signin(&deps.store, &deps.directory, &*deps.clock, &before).await?;
        return Ok(json(200, &UserView::from(&before)));
    }
    // The seat is the commit's condition (`seatsUsed < seatLimit`); a refusal reads the
    // tenant then, to say how many seats are free.
    let now = deps.clock.now();
    let after = User {
        status: UserStatus::Active,
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    let entry = user_audit(
        req,
        &caller,
        AuditAction::UserReactivated,
        &before,
        &after,
        now,
    );
    commit(deps, &before, &after, &entry).await?;
    Ok(json(200, &UserView::from(&after)))
}

async fn commit(
    deps: &Deps,
    before: &User,
    after: &User,
    entry: &shared::domain::AuditEntry,
) -> Result<(), ApiError> {
    commit_signin_change(
        &deps.store,
        &deps.directory,
        &*deps.clock,
        before,
        after,
        entry,
        &deps.pricing_url,
    )
    .await
}
