//! `accept` (public: no bearer token, the link's own token instead): `POST /invites/preview {token}` and
//! `POST /invites/accept {token, password}`. What following a link does is
//! `shared::usecase::accept`; this reads the bodies and writes the answers.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::domain::validation::{accept_request, preview_request};
use shared::domain::views::{self, answers};
use shared::domain::{ApiError, InviteToken};
use shared::http::{
    answer, body_json, json, request_id, respond_once, respond_within, route_key, KeyScope,
};
use shared::usecase::accept;

pub use shared::signin::PoolDeps as Deps;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    match route_key(&req) {
        // Only an accept of a link we could have issued takes a key: claiming one costs an
        // argon2id hash and two writes, which an anonymous request with junk should not buy.
        Some("POST /invites/accept") if links_a_token(&req) => {
            respond_once(&req, &deps.store, KeyScope::Public, accept(deps, &req)).await
        }
        Some("POST /invites/accept") => respond_within(&req, accept(deps, &req)).await,
        Some("POST /invites/preview") => respond_within(&req, preview(deps, &req)).await,
        _ => respond_within(&req, async { Err(ApiError::NoRoute) }).await,
    }
}

/// Whether the body names a token of an invite link's shape.
fn links_a_token(req: &Request) -> bool {
    serde_json::from_slice::<Value>(req.body().as_ref())
        .ok()
        .and_then(|b| b.get("token")?.as_str().and_then(InviteToken::parse))
        .is_some()
}

async fn preview(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let raw = preview_request(&body_json(req)?)?;
    let (invite, tenant) = accept::preview(&deps.links(), &raw).await?;
    Ok(json(200, &views::preview(&invite, &tenant)))
}

async fn accept(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (raw, pw) = accept_request(&body_json(req)?)?;
    let accept::Joined { user, username } =
        accept::accept(&deps.links(), &raw, &pw, &request_id(req)).await?;
    Ok(answer(&answers::joined(&user, &username)))
}
