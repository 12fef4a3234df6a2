//! `invite`: `POST /invites` (one, or a batch of up to 25, all or nothing).

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::invite::{audit_view, new_invite};
use shared::domain::validation::invite_request;
use shared::domain::views::InviteView;
use shared::domain::{Actor, ApiError, AuditAction, AuditEntry, Clock, FieldError, Target};
use shared::http::{body_json, json, load_caller, request_id, respond, route_key};
use shared::mail::Mailer;
use shared::store::{Store, Tag, WriteError};
use shared::workflow::{hash_tokens, send_invites};
use std::sync::Arc;

pub const ROUTES: &[&str] = &["POST /invites"];

pub struct Deps {
    pub store: Store,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub app_url: String,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(match route_key(&req) {
        Some("POST /invites") => create(deps, &req).await,
        _ => Err(ApiError::NoRoute),
    })
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
            .map_err(|s| ApiError::SeatLimit {
                requested: s.requested,
                free: s.free,
                limit: s.limit,
                pricing_url: deps.pricing_url.clone(),
            })
    };
    seat_error(&tenant)?;

    let now = deps.clock.now();
    let rid = request_id(req);
    let actor = Actor {
        id: caller.id.clone(),
        email: Some(caller.email.clone()),
        name: Some(caller.name.clone()),
    };
    let (mut invites, tokens): (Vec<_>, Vec<_>) = rows
        .iter()
        .map(|r| new_invite(r, &tenant.id, &actor, now))
        .unzip();
    hash_tokens(&mut invites, &tokens).await;
    let audit: Vec<AuditEntry> = invites
        .iter()
        .map(|i| {
            AuditEntry::new(
                &tenant.id,
                now,
                &actor,
                AuditAction::InviteCreated,
                Target {
                    kind: "invite".into(),
                    id: i.id.clone(),
                    label: Some(i.name.clone()),
                },
                None,
                Some(audit_view(i)),
                &rid,
            )
        })
        .collect();

    match deps.store.create_invites(&tenant, &invites, &audit).await {
        Ok(()) => {}
        Err(WriteError::Rejected(tags)) => {
            let taken: Vec<FieldError> = tags
                .iter()
                .filter_map(|t| match t {
                    Tag::Email(i) => Some(FieldError::new(
                        if batch {
                            format!("invites/{i}/email")
                        } else {
                            "email".into()
                        },
                        "already belongs to a user or a pending invite",
                    )),
                    _ => None,
                })
                .collect();
            if !taken.is_empty() {
                return Err(ApiError::EmailTaken(taken));
            }
            if tags.contains(&Tag::Tenant) {
                // Someone else took seats (or changed the tier) since our read: answer with
                // the numbers as they are now.
                let fresh = deps.store.tenant(&tenant.id).await?.unwrap_or(tenant);
                seat_error(&fresh)?;
                return Err(ApiError::Conflict(
                    "The seat count changed while inviting; try again.".into(),
                ));
            }
            return Err(ApiError::Conflict(format!(
                "The invite could not be stored ({tags:?}); try again."
            )));
        }
        Err(e) => return Err(e.into()),
    }

    send_invites(
        &deps.store,
        &deps.mailer,
        &deps.app_url,
        &tenant,
        &caller.name,
        &mut invites,
        &tokens,
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
