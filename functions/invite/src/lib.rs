//! `invite`: `POST /invites` (one, or a batch of up to 25, all or nothing),
//! `POST /invites/{id}/resend` and `DELETE /invites/{id}` (revoke).

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::email_template::Inviter;
use shared::domain::invite::new_invite;
use shared::domain::manage::require_admin;
use shared::domain::validation::invite_request;
use shared::domain::views::InviteView;
use shared::domain::{ApiError, AuditAction, AuditEntry, Clock, Email, FieldError};
use shared::domain::{Invite, InviteStatus, InviteToken, INVITE_TTL};
use shared::http::{
    body_json, change_by, json, load_caller, load_caller_and_invite, respond_within, route_key,
};
use shared::mail::Mailer;
use shared::store::Closing;
use shared::store::{Refusal, Store, WriteError};
use shared::workflow::{hash_tokens, send_invites};
use std::sync::Arc;

pub const ROUTES: &[&str] = &[
    "POST /invites",
    "POST /invites/{id}/resend",
    "DELETE /invites/{id}",
];

pub struct Deps {
    pub store: Store,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub app_url: String,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_within(&req, async {
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
    if !caller.role.manages_users() {
        return Err(ApiError::Forbidden("invite users"));
    }
    let body = body_json(req)?;
    let (rows, batch) = invite_request(&body).map_err(ApiError::Invalid)?;
    let tenant = deps
        .store
        .tenant(&caller.tenant_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let seat_error = |t: &shared::domain::Tenant| {
        t.reserve(rows.len() as u32)
            .map_err(|s| s.into_error(&deps.pricing_url))
    };
    seat_error(&tenant)?;

    let now = deps.clock.now();
    let change = change_by(req, &caller, now);
    let (mut invites, tokens): (Vec<_>, Vec<_>) = rows
        .iter()
        .map(|r| new_invite(r, &tenant.id, &change.actor, now))
        .unzip();
    hash_tokens(&mut invites, &tokens).await;
    let audit: Vec<AuditEntry> = invites
        .iter()
        .map(|i| change.on_invite(AuditAction::InviteCreated, None, i))
        .collect();

    match deps.store.create_invites(&tenant, &invites, &audit).await {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(rows))) => {
            return Err(ApiError::EmailTaken(
                rows.iter()
                    .map(|i| {
                        FieldError::new(
                            if batch {
                                format!("invites/{i}/email")
                            } else {
                                "email".into()
                            },
                            "already belongs to a user or a pending invite",
                        )
                    })
                    .collect(),
            ));
        }
        Err(WriteError::Refused(Refusal::NoSeat)) => {
            // Someone else took seats (or changed the tier) since our read: answer with
            // the numbers as they are now.
            let fresh = deps.store.tenant(&tenant.id).await?.unwrap_or(tenant);
            seat_error(&fresh)?;
            return Err(ApiError::Conflict(
                "The seat count changed while inviting; try again.".into(),
            ));
        }
        Err(WriteError::Refused(_)) => {
            return Err(ApiError::Conflict(
                "The invite could not be stored; try again.".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }

    let caller_email = Email::parse(&caller.email);
    send_invites(
        &deps.store,
        &deps.mailer,
        &deps.app_url,
        &tenant,
        inviter(&caller, &caller_email),
        &mut invites,
        &tokens,
        shared::http::deadline(req),
    )
    .await;

    let views: Vec<InviteView> = invites.iter().map(|i| InviteView::new(i, now)).collect();
    let failed = invites
        .iter()
        .filter(|i| i.delivery == shared::domain::DeliveryStatus::Failed)
        .count();
    if batch {
        Ok(json(
            201,
            &json!({ "invites": views, "deliveryFailures": failed }),
        ))
    } else {
        Ok(json(201, &views[0]))
    }
}

/// The caller as the person an email comes from; a stored address always parses (it was
/// parsed when they were invited), and without one the email names no person.
fn inviter<'a>(
    caller: &'a shared::domain::User,
    email: &'a Result<Email, &'static str>,
) -> Option<Inviter<'a>> {
    email.as_ref().ok().map(|email| Inviter {
        name: &caller.name,
        email,
    })
}

/// The invite at `{id}` in the caller's tenant; anything else reads as not found (docs/rules.md, rule 7).
fn own_invite(caller: &shared::domain::User, found: Option<Invite>) -> Result<Invite, ApiError> {
    match found {
        Some(i) if i.tenant_id == caller.tenant_id => Ok(i),
        _ => Err(ApiError::NotFound("invite")),
    }
}

/// Rotates the token (the old link stops working), restarts the 7 days, sends again. Works on
/// an expired invite too if a seat is free; at most once a minute per invite.
async fn resend(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_invite(&deps.store, req).await?;
    require_admin(&caller, "resend invites")?;
    let before = own_invite(&caller, found)?;
    if matches!(
        before.status,
        InviteStatus::Accepted | InviteStatus::Revoked
    ) {
        return Err(ApiError::InviteNotPending(before.status.as_str()));
    }
    let now = deps.clock.now();
    if let Some(wait) = before.resend_wait(now) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let tenant = deps
        .store
        .tenant(&caller.tenant_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let seat_error =
        |t: &shared::domain::Tenant| t.reserve(1).map_err(|s| s.into_error(&deps.pricing_url));
    if before.status == InviteStatus::Expired {
        // The job gave its seat back; it needs one again.
        seat_error(&tenant)?;
    }
    let token = InviteToken::generate(&before.id);
    let mut after = Invite {
        status: InviteStatus::Pending,
        expires_at: now + INVITE_TTL,
        sent_at: now,
        delivery: shared::domain::DeliveryStatus::Queued,
        ..before.clone()
    };
    let tokens = vec![token];
    hash_tokens(std::slice::from_mut(&mut after), &tokens).await;
    let entry =
        change_by(req, &caller, now).on_invite(AuditAction::InviteResent, Some(&before), &after);
    match deps
        .store
        .reopen_invite(&before, &after, &tenant, &entry)
        .await
    {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(_))) => {
            return Err(ApiError::EmailTaken(vec![FieldError::new(
                "email",
                "was invited or joined elsewhere since this invite expired",
            )]))
        }
        Err(WriteError::Refused(Refusal::NoSeat)) => {
            let fresh = deps
                .store
                .tenant(&tenant.id)
                .await?
                .unwrap_or(tenant.clone());
            seat_error(&fresh)?;
            return Err(ApiError::Conflict(
                "The seat count changed; try again.".into(),
            ));
        }
        Err(WriteError::Refused(_)) => return Err(ApiError::Conflict(
            "The invite changed while resending (accepted, revoked, expired or resent); reload it."
                .into(),
        )),
        Err(e) => return Err(e.into()),
    }
    let mut sent = vec![after];
    let caller_email = Email::parse(&caller.email);
    send_invites(
        &deps.store,
        &deps.mailer,
        &deps.app_url,
        &tenant,
        inviter(&caller, &caller_email),
        &mut sent,
        &tokens,
        shared::http::deadline(req),
    )
    .await;
    Ok(json(200, &InviteView::new(&sent[0], now)))
}

/// Revoke: the link stops working at once; the seat and the email are free again.
async fn revoke(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_invite(&deps.store, req).await?;
    require_admin(&caller, "revoke invites")?;
    let before = own_invite(&caller, found)?;
    if before.status != InviteStatus::Pending {
        return Err(ApiError::InviteNotPending(before.status.as_str()));
    }
    let now = deps.clock.now();
    let after = Invite {
        status: InviteStatus::Revoked,
        token_hash: String::new(),
        ..before.clone()
    };
    let entry =
        change_by(req, &caller, now).on_invite(AuditAction::InviteRevoked, Some(&before), &after);
    match deps
        .store
        .close_invite(&before, &after, Closing::Revoke, &entry)
        .await
    {
        Ok(()) => Ok(json(200, &InviteView::new(&after, now))),
        Err(WriteError::Refused(_)) => {
            let status = deps
                .store
                .invite(&before.id)
                .await?
                .map(|i| i.status.as_str())
                .unwrap_or("gone");
            if status == "pending" {
                Err(ApiError::Conflict(
                    "The invite was resent meanwhile; reload it.".into(),
                ))
            } else {
                Err(ApiError::InviteNotPending(status))
            }
        }
        Err(e) => Err(e.into()),
    }
}
