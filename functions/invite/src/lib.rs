//! `invite`: `POST /invites` (one, or a batch of up to 25, all or nothing),
//! `POST /invites/{id}/resend` and `DELETE /invites/{id}` (revoke).

use lambda_http::{Body, Request, Response};
use shared::auth::Verifier;
use shared::domain::manage::own;
use shared::domain::validation::invite_request;
use shared::domain::views::answers;
use shared::domain::{ApiError, Invite, User};
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{
    answer, body_json, change_by, deadline, load_caller, load_caller_and_invite, respond_once,
    route_key, KeyScope,
};
use shared::usecase::invites;

use shared::identity::Directory;
use shared::usecase::invites::InviteDeps;

/// What inviting needs (shared with `tenant-admin`, which sends a new company's first invite
/// and gates nothing), and the pool the admin gate confirms two-step verification at.
pub struct Deps {
    pub invites: InviteDeps,
    pub directory: Directory,
}

impl Deps {
    /// As deployed: `InviteDeps::from_env` and the pool `USER_POOL_ID` names.
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        Ok(Deps {
            invites: InviteDeps::from_env()?,
            directory: Directory::from_env(&shared::config::aws()?)?,
        })
    }
}

/// Inviting's own fields read as the function's (`deps.store`, `deps.invites()`).
impl std::ops::Deref for Deps {
    type Target = InviteDeps;
    fn deref(&self) -> &InviteDeps {
        &self.invites
    }
}

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("POST /invites") => create(deps, &req).await,
            Some("POST /invites/{id}/resend") => resend(deps, &req).await,
            Some("DELETE /invites/{id}") => revoke(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

async fn create(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, "invite users").await?;
    let (rows, batch) = invite_request(&body_json(req)?).map_err(ApiError::Invalid)?;
    let now = deps.clock.now();
    let change = change_by(req, &caller, now);
    let invites = invites::create(
        &deps.invites(),
        &invites::Sender::user(&caller),
        &change,
        &rows,
        batch,
        deadline(req),
    )
    .await?;
    Ok(answer(&answers::invites(&invites, batch, now)))
}

/// The caller, an admin, and the invite at `{id}` in the caller's company (rule 7).
async fn admin_and_invite(
    deps: &Deps,
    req: &Request,
    what: &'static str,
) -> Result<(User, Invite), ApiError> {
    let (caller, found) = load_caller_and_invite(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, what).await?;
    let invite = own(&caller, found)?;
    Ok((caller, invite))
}

async fn resend(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, before) = admin_and_invite(deps, req, "resend invites").await?;
    let now = deps.clock.now();
    let change = change_by(req, &caller, now);
    let by = invites::Sender::user(&caller);
    let sent = invites::resend(&deps.invites(), &by, &change, before, deadline(req)).await?;
    Ok(answer(&answers::invite(&sent, now)))
}

async fn revoke(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, before) = admin_and_invite(deps, req, "revoke invites").await?;
    let now = deps.clock.now();
    let after = invites::revoke(&deps.store, &change_by(req, &caller, now), before).await?;
    Ok(answer(&answers::invite(&after, now)))
}
