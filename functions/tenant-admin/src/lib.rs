//! `tenant-admin`: the platform's direct-invoke function (not on the public API). Creates a
//! tenant with a tier and sends its first admin's invite; changes a tenant's tier.
//!
//! `{"action":"createTenant","name":"Acme","tier":"team","admin":{"email":"a@acme.test","name":"Ann"}}`
//! `{"action":"setTier","tenantId":"…","tier":"enterprise","seatLimit":500}`

use serde_json::{json, Map, Value};
use shared::domain::validation::{self, object, InviteInput};
use shared::domain::views::{InviteView, TenantView};
use shared::domain::{Actor, ApiError, Change, FieldError, Role, TenantId, Tier};
use shared::usecase::tenants::{self, NewTenant};

pub use shared::usecase::invites::InviteDeps as Deps;

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

fn admin_field(obj: &Map<String, Value>, errs: &mut Vec<FieldError>) -> Option<InviteInput> {
    let Some(a) = obj.get("admin") else {
        errs.push(FieldError::new("admin", "is required"));
        return None;
    };
    let a = object(a, &["email", "name"], "admin", errs)?;
    let email = validation::email(a, "email", "admin", errs);
    let name = validation::required_text(a, "name", 100, "admin", errs);
    Some(InviteInput {
        email: email?,
        name: name?,
        role: Role::Admin,
        team: None,
        time_zone: None,
        managed: None,
    })
}

fn create_request(event: &Value) -> Result<NewTenant, ApiError> {
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
    let admin = admin_field(obj, &mut errs);
    match (name, plan, admin, errs.is_empty()) {
        (Some(name), Some((tier, seat_limit)), Some(admin), true) => Ok(NewTenant {
            name,
            tier,
            seat_limit,
            admin,
        }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

async fn create_tenant(
    deps: &Deps,
    event: &Value,
    rid: &str,
    answer_by: tokio::time::Instant,
) -> Result<Value, ApiError> {
    let new = create_request(event)?;
    let now = deps.clock.now();
    let change = Change::new(Actor::platform(), now, rid);
    let (tenant, invite) = tenants::create(&deps.invites(), &change, new, answer_by).await?;
    Ok(json!({
        "tenant": TenantView::new(&tenant, &deps.pricing_url),
        "adminInvite": InviteView::new(&invite, now),
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
        .and_then(TenantId::parse);
    if tenant_id.is_none() {
        errs.push(FieldError::new("tenantId", "must be a tenant id"));
    }
    let plan = tier_and_limit(obj, &mut errs);
    let (Some(tenant_id), Some((tier, seat_limit)), true) = (tenant_id, plan, errs.is_empty())
    else {
        return Err(ApiError::Invalid(errs));
    };
    let change = Change::new(Actor::platform(), deps.clock.now(), rid);
    let updated = tenants::set_tier(&deps.store, &change, &tenant_id, tier, seat_limit).await?;
    Ok(json!({ "tenant": TenantView::new(&updated, &deps.pricing_url) }))
}
