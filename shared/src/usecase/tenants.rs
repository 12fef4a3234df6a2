//! The platform's tenant operations: a new tenant with its first admin's invite, and a tier
//! change. Both are by the platform (`Actor::platform`), audited in the same transaction.

use super::invites::{hash_tokens, send_invites, Invites};
use crate::domain::invite::new_invite;
use crate::domain::validation::InviteInput;
use crate::domain::{ApiError, AuditAction, Change, FieldError, Invite, Tenant, TenantId, Tier};
use crate::store::{Refusal, Store, WriteError};
use serde_json::json;
use tokio::time::Instant;

/// A tenant to create: its name, its plan, and who its first admin is.
pub struct NewTenant {
    pub name: String,
    pub tier: Tier,
    pub seat_limit: u32,
    pub admin: InviteInput,
}

/// Creates the tenant with its first admin's pending invite (which holds seat one) and
/// emails the invite from VeloConnect. The address must be free everywhere (rule 2).
pub async fn create(
    iv: &Invites<'_>,
    change: &Change,
    new: NewTenant,
    answer_by: Instant,
) -> Result<(Tenant, Invite), ApiError> {
    let tenant = Tenant {
        id: TenantId::generate(),
        name: new.name,
        tier: new.tier,
        seat_limit: new.seat_limit,
        seats_used: 1,
        active_admins: 0,
        mfa_policy: crate::domain::tenant::MfaPolicy::Off,
        default_max_chats: crate::domain::user::DEFAULT_MAX_CHATS,
        created_at: change.at,
    };
    let (invite, token) = new_invite(&new.admin, &tenant.id, &change.actor, change.at);
    let (mut invites, tokens) = (vec![invite], vec![token]);
    hash_tokens(&mut invites, &tokens).await?;
    let plan =
        json!({"name": tenant.name, "tier": tenant.tier.as_str(), "seatLimit": tenant.seat_limit});
    let audit = [
        change.on_tenant(AuditAction::TenantCreated, &tenant, None, plan),
        change.on_invite(AuditAction::InviteCreated, None, &invites[0]),
    ];
    match iv.store.create_tenant(&tenant, &invites[0], &audit).await {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(_))) => {
            return Err(ApiError::EmailTaken(vec![FieldError::new(
                "admin/email",
                "already belongs to a user or a pending invite",
            )]))
        }
        Err(e) => return Err(e.into()),
    }
    send_invites(iv, &tenant, None, &mut invites, &tokens, answer_by).await;
    Ok((tenant, invites.remove(0)))
}

/// Moves a tenant to another plan. A limit below the seats in use is refused (rule 1: free
/// seats first), read first for the answer and kept by the commit's condition.
pub async fn set_tier(
    store: &Store,
    change: &Change,
    tenant_id: &TenantId,
    tier: Tier,
    seat_limit: u32,
) -> Result<Tenant, ApiError> {
    let tenant = store
        .tenant(tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    if tenant.seats_used > seat_limit {
        return Err(too_small(&tenant, seat_limit));
    }
    let entry = change.on_tenant(
        AuditAction::TierChanged,
        &tenant,
        Some(json!({"tier": tenant.tier.as_str(), "seatLimit": tenant.seat_limit})),
        json!({"tier": tier.as_str(), "seatLimit": seat_limit}),
    );
    match store.set_tier(&tenant, tier, seat_limit, &entry).await {
        Ok(()) => Ok(Tenant {
            tier,
            seat_limit,
            ..tenant
        }),
        Err(WriteError::Refused(_)) => {
            let fresh = store.tenant(tenant_id).await?.unwrap_or(tenant);
            Err(too_small(&fresh, seat_limit))
        }
        Err(e) => Err(e.into()),
    }
}

fn too_small(t: &Tenant, limit: u32) -> ApiError {
    ApiError::Conflict(format!(
        "The tenant uses {} seats, more than the new limit of {limit}; free seats first.",
        t.seats_used
    ))
}
