//! `accept` (public, no authorizer): `POST /invites/preview {token}` and
//! `POST /invites/accept {token, password}`.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::domain::validation::object;
use shared::domain::{
    password, timefmt, Actor, ApiError, AuditAction, Change, Clock, FieldError, Invite,
    InviteStatus, InviteToken, User, UserStatus,
};
use shared::http::{body_json, json, request_id, respond_within, route_key};
use shared::identity::Directory;
use shared::signin::SignIn;
use shared::store::{Marker, Refusal, Store, WriteError};
use std::sync::Arc;

pub const ROUTES: &[&str] = &["POST /invites/preview", "POST /invites/accept"];

pub struct Deps {
    pub store: Store,
    pub directory: Directory,
    pub clock: Arc<dyn Clock>,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_within(&req, async {
        match route_key(&req) {
            Some("POST /invites/preview") => preview(deps, &req).await,
            Some("POST /invites/accept") => accept(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
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

/// The sign-in identity for this acceptance, made while this request holds the login's lock
/// (so no other accept or clean-up touches it meanwhile). An identity that already exists is
/// either left by an earlier attempt that never committed (no user record has its `sub`:
/// reuse it, with this password) or a deleted user's whose removal didn't finish (its `sub`
/// is a tombstone: remove it, start fresh).
async fn create_identity(deps: &Deps, login: &str, pw: &str) -> Result<String, ApiError> {
    let (sub, existed) = deps.directory.create_user(login, pw).await?;
    if !existed {
        return Ok(sub);
    }
    match deps.store.user(&sub).await? {
        None => Ok(sub),
        Some(u) if u.status == UserStatus::Deleted => {
            deps.directory.delete_user(login).await?;
            let (sub, _) = deps.directory.create_user(login, pw).await?;
            Ok(sub)
        }
        // The email guard belongs to this invite, so no live user can have this login.
        Some(_) => Err(ApiError::Unavailable(
            "the sign-in identity belongs to a live user".into(),
        )),
    }
}

/// Holds the invite and the login's lock. Another request holding them (a double-clicked
/// button) is waited for briefly, then answered 409 without touching Cognito.
async fn claim(deps: &Deps, invite: &Invite, login: &str) -> Result<(String, Marker), ApiError> {
    let lock = shared::domain::ids::new_id();
    for wait_ms in [250, 250, 0] {
        match deps
            .store
            .claim_invite(invite, login, &lock, deps.clock.now())
            .await
        {
            Ok(marker) => return Ok((lock, marker)),
            Err(WriteError::Refused(Refusal::SignInLocked)) => {
                if wait_ms == 0 {
                    return Err(ApiError::AcceptInProgress);
                }
                tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            }
            Err(WriteError::Refused(_)) => return Err(ApiError::InviteLinkInvalid),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::AcceptInProgress)
}

/// After a commit that did not answer success: fence off anything still in flight under our
/// lock, bring Cognito in line with whatever DynamoDB says, and answer whether the user
/// exists after all.
async fn settle_failed(deps: &Deps, signin: SignIn<'_>, sub: Option<&str>) -> Option<User> {
    match signin.fence().await {
        Ok(fenced) => {
            if let Err(e) = fenced.converge().await {
                // The marker from the claim stays: the reconciler finishes it.
                tracing::warn!(error = %e, "sign-in not converged after a failed accept");
            }
        }
        Err(e) => tracing::warn!(error = %e, "accept lock not fenced"),
    }
    let sub = sub?;
    match deps.store.user(sub).await {
        Ok(Some(u)) if u.status == UserStatus::Active => Some(u),
        _ => None,
    }
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

    // Claim first, then Cognito, then DynamoDB: a second accept of this link is refused
    // before it can touch the identity, and a crash anywhere leaves a marker that the
    // reconciler converges once the lock's lease has run out.
    let (lock, marker) = claim(deps, &invite, &username).await?;
    let now = deps.clock.now();
    let signin = SignIn::held(&deps.store, &deps.directory, &lock, marker, now);
    let sub = match create_identity(deps, &username, &pw).await {
        Ok(sub) => sub,
        Err(e) => {
            // Whatever was made for this attempt goes; the invite stays usable.
            if let Err(c) = signin.converge().await {
                tracing::warn!(error = %c, "sign-in not converged after a failed accept");
            }
            return Err(e);
        }
    };

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
        signed_out_at: None,
    };
    let accepted = Invite {
        status: InviteStatus::Accepted,
        ..invite.clone()
    };
    let joiner = Actor {
        id: sub.clone(),
        email: Some(invite.email.clone()),
        name: Some(invite.name.clone()),
    };
    let mut entry = Change::new(joiner, now, &request_id(req)).on_invite(
        AuditAction::InviteAccepted,
        Some(&invite),
        &accepted,
    );
    // Which user the invite became: the one fact the invite itself does not hold.
    if let Some(after) = entry.after.as_mut() {
        after["userId"] = json!(sub);
    }
    match deps
        .store
        .accept_invite(&invite, &lock, &user, now, &entry)
        .await
    {
        Ok(()) => {
            // Committed: the answer is 201 whatever Cognito says next; the claim's marker keeps
            // what it still owes.
            if let Err(e) = signin.converge().await {
                tracing::warn!(error = %e, "sign-in not converged after accept");
            }
        }
        Err(WriteError::Refused(refusal)) => {
            // Revoked, expired or rotated since we read it, or our lease ran out: the
            // identity made for this attempt goes (nobody DynamoDB doesn't know signs in).
            settle_failed(deps, signin, None).await;
            return Err(if refusal == Refusal::NotPending {
                ApiError::InviteLinkInvalid
            } else {
                ApiError::Unavailable("the accept took too long; try again".into())
            });
        }
        Err(e) => {
            // A commit that may have landed: answer the truth once nothing more can land.
            if settle_failed(deps, signin, Some(&sub)).await.is_none() {
                return Err(e.into());
            }
        }
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
