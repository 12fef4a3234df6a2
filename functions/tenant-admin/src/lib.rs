//! `tenant-admin`: the platform's direct-invoke function (not on the public API). Creates a
//! tenant with a tier and sends its first admin's invite; changes a tenant's tier.
//!
//! `{"action":"createTenant","name":"Acme","tier":"team","admin":{"email":"a@acme.test","name":"Ann"}}`
//! `{"action":"setTier","tenantId":"…","tier":"enterprise","seatLimit":500}`

use serde_json::{json, Value};
use shared::domain::invite::new_invite;
use shared::domain::validation::{self, object, InviteInput};
use shared::domain::views::{InviteView, TenantView};
use shared::domain::{
    ids, Actor, ApiError, AuditAction, Change, Clock, FieldError, Role, Tenant, Tier,
};
use shared::mail::Mailer;
use shared::store::{Refusal, Store, WriteError};
use shared::workflow::{hash_tokens, send_invites};
use std::sync::Arc;

pub struct Deps {
    pub store: Store,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub app_url: String,
    pub pricing_url: String,
}

/// `answer_by`: when the invocation must have answered (`shared::config::answer_by`).
pub async fn handle(
    deps: &Deps,
    event: Value,
    request_id: &str,
    answer_by: tokio::time::Instant,
) -> Result<Value, ApiError> {
    match event.get("action").and_then(Value::as_str) {
        Some("createTenant") => create_tenant(deps, &event, request_id, answer_by).await,
        Some("setTier") => set_tier(deps, &event, request_id).await,
        _ => Err(ApiError::Invalid(vec![FieldError::new(
            "action",
            "must be createTenant or setTier",
        )])),
    }
}

fn tier_and_limit(
    obj: &serde_json::Map<String, Value>,
    errs: &mut Vec<FieldError>,
) -> Option<(Tier, u32)> {
    let tier = match obj
        .get("tier")
        .and_then(Value::as_str)
        .and_then(Tier::parse)
    {
        Some(t) => t,
        None => {
            errs.push(FieldError::new(
                "tier",
                "must be starter, team, business or enterprise",
            ));
            return None;
        }
    };
    let explicit = match obj.get("seatLimit") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                errs.push(FieldError::new("seatLimit", "must be a whole number"));
                return None;
            }
        },
    };
    match tier.seat_limit(explicit) {
        Ok(limit) => Some((tier, limit)),
        Err(m) => {
            errs.push(FieldError::new("seatLimit", m));
            None
        }
    }
}

async fn create_tenant(
    deps: &Deps,
    event: &Value,
    rid: &str,
    answer_by: tokio::time::Instant,
) -> Result<Value, ApiError> {
    let mut errs = Vec::new();
    let obj = object(
        event,
        &["action", "name", "tier", "seatLimit", "admin"],
        "",
        &mut errs,
    )
    .ok_or_else(|| ApiError::Invalid(errs.clone()))?;
    let name = validation::required_text(obj, "name", 100, "", &mut errs);
    let plan = tier_and_limit(obj, &mut errs);
    let admin = match obj.get("admin") {
        Some(a) => object(a, &["email", "name"], "admin", &mut errs).and_then(|a| {
            let email = validation::email(a, "email", "admin", &mut errs);
            let name = validation::required_text(a, "name", 100, "admin", &mut errs);
            Some(InviteInput {
                email: email?,
                name: name?,
                role: Role::Admin,
                team: None,
                time_zone: None,
            })
        }),
        None => {
            errs.push(FieldError::new("admin", "is required"));
            None
        }
    };
    let (Some(name), Some((tier, seat_limit)), Some(admin), true) =
        (name, plan, admin, errs.is_empty())
    else {
        return Err(ApiError::Invalid(errs));
    };

    let now = deps.clock.now();
    let tenant = Tenant {
        id: ids::new_id(),
        name,
        tier,
        seat_limit,
        seats_used: 1,
        active_admins: 0,
        created_at: now,
    };
    let actor = Actor::platform();
    let (invite, token) = new_invite(&admin, &tenant.id, &actor, now);
    let (mut invites, tokens) = (vec![invite], vec![token]);
    hash_tokens(&mut invites, &tokens).await;
    let change = Change::new(actor, now, rid);
    let audit = [
        change.on_tenant(
            AuditAction::TenantCreated,
            &tenant,
            None,
            json!({"name": tenant.name, "tier": tier.as_str(), "seatLimit": seat_limit}),
        ),
        change.on_invite(AuditAction::InviteCreated, None, &invites[0]),
    ];
    match deps.store.create_tenant(&tenant, &invites[0], &audit).await {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(_))) => {
            return Err(ApiError::EmailTaken(vec![FieldError::new(
                "admin/email",
                "already belongs to a user or a pending invite",
            )]))
        }
        Err(e) => return Err(e.into()),
    }
    send_invites(
        &deps.store,
        &deps.mailer,
        &deps.app_url,
        &tenant,
        None,
        &mut invites,
        &tokens,
        answer_by,
    )
    .await;
    Ok(json!({
        "tenant": TenantView::new(&tenant, &deps.pricing_url),
        "adminInvite": InviteView::new(&invites[0], now),
    }))
}

async fn set_tier(deps: &Deps, event: &Value, rid: &str) -> Result<Value, ApiError> {
    let mut errs = Vec::new();
    let obj = object(
        event,
        &["action", "tenantId", "tier", "seatLimit"],
        "",
        &mut errs,
    )
    .ok_or_else(|| ApiError::Invalid(errs.clone()))?;
    let tenant_id = obj
        .get("tenantId")
        .and_then(Value::as_str)
        .filter(|s| ids::looks_like_id(s))
        .map(str::to_string);
    if tenant_id.is_none() {
        errs.push(FieldError::new("tenantId", "must be a tenant id"));
    }
    let plan = tier_and_limit(obj, &mut errs);
    let (Some(tenant_id), Some((tier, seat_limit)), true) = (tenant_id, plan, errs.is_empty())
    else {
        return Err(ApiError::Invalid(errs));
    };
    let tenant = deps
        .store
        .tenant(&tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    if tenant.seats_used > seat_limit {
        return Err(too_small(&tenant, seat_limit));
    }
    let now = deps.clock.now();
    let entry = Change::new(Actor::platform(), now, rid).on_tenant(
        AuditAction::TierChanged,
        &tenant,
        Some(json!({"tier": tenant.tier.as_str(), "seatLimit": tenant.seat_limit})),
        json!({"tier": tier.as_str(), "seatLimit": seat_limit}),
    );
    match deps.store.set_tier(&tenant, tier, seat_limit, &entry).await {
        Ok(()) => {}
        Err(WriteError::Refused(_)) => {
            let fresh = deps.store.tenant(&tenant_id).await?.unwrap_or(tenant);
            return Err(too_small(&fresh, seat_limit));
        }
        Err(e) => return Err(e.into()),
    }
    let updated = Tenant {
        tier,
        seat_limit,
        ..tenant
    };
    Ok(json!({ "tenant": TenantView::new(&updated, &deps.pricing_url) }))
}

fn too_small(t: &Tenant, limit: u32) -> ApiError {
    ApiError::Conflict(format!(
        "The tenant uses {} seats, more than the new limit of {limit}; free seats first.",
        t.seats_used
    ))
}
