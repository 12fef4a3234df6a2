//! `accept` (public, no authorizer): `POST /invites/preview {token}` and
//! `POST /invites/accept {token, password}`. What following a link does is
//! `shared::usecase::accept`; this reads the bodies and writes the answers.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::domain::validation::object;
use shared::domain::views::answers;
use shared::domain::{password, timefmt, ApiError, Clock, FieldError, InviteToken};
use shared::http::{
    answer, body_json, json, request_id, respond_once, respond_within, route_key, KeyScope,
};
use shared::identity::Directory;
use shared::store::Store;
use shared::usecase::accept::{self, Links};
use std::sync::Arc;

pub const ROUTES: &[&str] = &["POST /invites/preview", "POST /invites/accept"];

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    fn links(&self) -> Links<'_> {
        Links {
            store: &self.store,
            directory: &self.directory,
            clock: &*self.clock,
        }
    }
}

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

fn token_field(body: &Value, allowed: &[&str], errs: &mut Vec<FieldError>) -> Option<String> {
    let obj = object(body, allowed, "", errs)?;
    match obj.get("token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errs.push(FieldError::new("token", "is required"));
            None
        }
        Some(_) => {
            errs.push(FieldError::new("token", "must be a string"));
            None
        }
    }
}

async fn preview(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = body_json(req)?;
    let mut errs = Vec::new();
    let raw = token_field(&body, &["token"], &mut errs);
    let Some(raw) = raw.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Invalid(errs));
    };
    let (invite, tenant) = accept::preview(&deps.links(), &raw).await?;
    Ok(json(
        200,
        &json!({
            "companyName": tenant.name,
            "email": invite.email,
            "name": invite.name,
            "role": invite.role,
            "team": invite.team,
            "invitedBy": { "name": invite.invited_by.name },
            "expiresAt": timefmt::format(invite.expires_at),
            "passwordPolicy": {
                "minLength": password::MIN_LENGTH,
                "maxLength": password::MAX_LENGTH,
                "requires": ["lowercase", "uppercase", "digit", "symbol"],
                // The accept page shows these as live hints, in the words a refusal uses.
                "rules": password::RULES
                    .iter()
                    .map(|(rule, message, _)| json!({ "rule": rule, "message": message }))
                    .collect::<Vec<_>>(),
            },
        }),
    ))
}

/// `password`: required, a string, and within the pool's policy. A weak one is its own
/// problem (422 with each broken rule), but only once the rest of the body is well formed.
fn password_field(body: &Value, errs: &mut Vec<FieldError>) -> Result<Option<String>, ApiError> {
    match body.get("password") {
        Some(Value::String(p)) => {
            let problems = password::problems(p);
            if problems.is_empty() {
                Ok(Some(p.clone()))
            } else if errs.is_empty() {
                Err(ApiError::WeakPassword(
                    problems
                        .into_iter()
                        .map(|m| FieldError::new("password", m))
                        .collect(),
                ))
            } else {
                Ok(None)
            }
        }
        None | Some(Value::Null) => {
            errs.push(FieldError::new("password", "is required"));
            Ok(None)
        }
        Some(_) => {
            errs.push(FieldError::new("password", "must be a string"));
            Ok(None)
        }
    }
}

async fn accept(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = body_json(req)?;
    let mut errs = Vec::new();
    let raw = token_field(&body, &["token", "password"], &mut errs);
    let pw = password_field(&body, &mut errs)?;
    let (Some(raw), Some(pw), true) = (raw, pw, errs.is_empty()) else {
        return Err(ApiError::Invalid(errs));
    };
    let accept::Joined { user, username } =
        accept::accept(&deps.links(), &raw, &pw, &request_id(req)).await?;
    Ok(answer(&answers::joined(&user, &username)))
}
