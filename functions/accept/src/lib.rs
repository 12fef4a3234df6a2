//! `accept` (public, no authorizer): `POST /invites/preview {token}` and
//! `POST /invites/accept {token, password}`.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::domain::invite::audit_view;
use shared::domain::validation::object;
use shared::domain::{
    password, timefmt, Actor, ApiError, AuditAction, AuditEntry, Clock, FieldError, Invite,
    InviteStatus, InviteToken, Target, User, UserStatus,
};
use shared::http::{body_json, json, request_id, respond, route_key};
use shared::identity::Directory;
use shared::store::{Store, WriteError};
use std::sync::Arc;

pub const ROUTES: &[&str] = &["POST /invites/preview", "POST /invites/accept"];

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(match route_key(&req) {
        Some("POST /invites/preview") => preview(deps, &req).await,
        Some("POST /invites/accept") => accept(deps, &req).await,
        _ => Err(ApiError::NoRoute),
    })
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

/// The invite a token opens: it exists, the secret matches its newest hash, and it is pending
/// and unexpired by the clock. Every failure is the same answer, so a probe learns nothing.
async fn open_invite(deps: &Deps, raw: &str) -> Result<(Invite, InviteToken), ApiError> {
    let token = InviteToken::parse(raw).ok_or(ApiError::InviteLinkInvalid)?;
    let invite = deps
        .store
        .invite(token.invite_id())
        .await?
        .ok_or(ApiError::InviteLinkInvalid)?;
    if !invite.is_open(deps.clock.now()) {
        return Err(ApiError::InviteLinkInvalid);
    }
    let (hash, t) = (invite.token_hash.clone(), token.clone());
    let ok = tokio::task::spawn_blocking(move || t.verify(&hash))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ApiError::InviteLinkInvalid);
    }
    Ok((invite, token))
}

async fn preview(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = body_json(req)?;
    let mut errs = Vec::new();
    let raw = token_field(&body, &["token"], &mut errs);
    let Some(raw) = raw.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Invalid(errs));
    };
    let (invite, _) = open_invite(deps, &raw).await?;
    let tenant = deps
        .store
        .tenant(&invite.tenant_id)
        .await?
        .ok_or(ApiError::InviteLinkInvalid)?;
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
                "requires": ["lowercase", "uppercase", "digit", "symbol"],
            },
        }),
    ))
}

/// The sign-in identity for this acceptance. An identity that already exists is either ours
/// from a crashed earlier attempt (no user record has its `sub`: reuse it) or a leftover of a
/// deleted user whose removal didn't finish (its `sub` is a tombstone: remove it, start fresh).
async fn create_identity(deps: &Deps, username: &str, pw: &str) -> Result<String, ApiError> {
    let (sub, existed) = deps.directory.create_user(username, pw).await?;
    if !existed || deps.store.user(&sub).await?.is_none() {
        return Ok(sub);
    }
    deps.directory.delete_user(username).await?;
    let (sub, _) = deps.directory.create_user(username, pw).await?;
    Ok(sub)
}

async fn accept(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = body_json(req)?;
    let mut errs = Vec::new();
    let raw = token_field(&body, &["token", "password"], &mut errs);
    let pw = match body.get("password") {
        Some(Value::String(p)) => {
            let problems = password::problems(p);
            if problems.is_empty() {
                Some(p.clone())
            } else if errs.is_empty() {
                return Err(ApiError::WeakPassword(
                    problems
                        .into_iter()
                        .map(|m| FieldError::new("password", m))
                        .collect(),
                ));
            } else {
                None
            }
        }
        None | Some(Value::Null) => {
            errs.push(FieldError::new("password", "is required"));
            None
        }
        Some(_) => {
            errs.push(FieldError::new("password", "must be a string"));
            None
        }
    };
    let (Some(raw), Some(pw), true) = (raw, pw, errs.is_empty()) else {
        return Err(ApiError::Invalid(errs));
    };
    let (invite, _token) = open_invite(deps, &raw).await?;
    let username = shared::domain::Email::parse(&invite.email)
        .map(|e| e.normalized().to_string())
        .map_err(|_| ApiError::InviteLinkInvalid)?;

    // Cognito first, then DynamoDB: a crash in between leaves an identity that no API call
    // accepts (there is no active user record), and retrying this request completes it.
    let sub = create_identity(deps, &username, &pw).await?;

    let now = deps.clock.now();
    let user = User {
        id: sub.clone(),
        tenant_id: invite.tenant_id.clone(),
        email: invite.email.clone(),
        name: invite.name.clone(),
        role: invite.role,
        team: invite.team.clone(),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut after = audit_view(&invite);
    after["status"] = json!(InviteStatus::Accepted.as_str());
    after["userId"] = json!(sub);
    let entry = AuditEntry::new(
        &invite.tenant_id,
        now,
        &Actor {
            id: sub.clone(),
            email: Some(invite.email.clone()),
            name: Some(invite.name.clone()),
        },
        AuditAction::InviteAccepted,
        Target {
            kind: "invite".into(),
            id: invite.id.clone(),
            label: Some(invite.name.clone()),
        },
        Some(audit_view(&invite)),
        Some(after),
        &request_id(req),
    );
    match deps.store.accept_invite(&invite, &user, now, &entry).await {
        Ok(()) => {}
        Err(WriteError::Rejected(_)) => {
            // Revoked, expired, rotated or accepted by a concurrent request between our read
            // and the commit. If no user record owns this identity, remove it so nobody can
            // sign in whom DynamoDB does not know (rule 8).
            if deps.store.user(&sub).await?.is_none() {
                if let Err(e) = deps.directory.delete_user(&username).await {
                    tracing::warn!(error = %e, "orphan sign-in identity not removed");
                }
            }
            return Err(ApiError::InviteLinkInvalid);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(json(
        201,
        &json!({
            "userId": user.id,
            "tenantId": user.tenant_id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "team": user.team,
            "signIn": { "username": username },
        }),
    ))
}
