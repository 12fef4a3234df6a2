//! The API's JSON shapes (camelCase), built from domain values.

use super::{timefmt, Invite, InviteId, Permission, Role, Tenant, TenantId, User, UserId};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub team: Option<String>,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.clone(),
            email: u.email.to_string(),
            name: u.name.clone(),
            display_name: u.display_label(),
            role: u.role,
            team: u.team.clone(),
            status: u.status.as_str(),
            created_at: timefmt::format(u.created_at),
            updated_at: timefmt::format(u.updated_at),
            version: u.version,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub tenant_id: TenantId,
    pub permissions: &'static [Permission],
    /// `tenant`, `team` or `self`: whose users and conversations this caller sees.
    pub visibility: &'static str,
}

impl From<&User> for MeView {
    fn from(u: &User) -> Self {
        MeView {
            user: u.into(),
            tenant_id: u.tenant_id.clone(),
            permissions: u.role.permissions(),
            visibility: match u.visibility() {
                super::Visibility::Tenant => "tenant",
                super::Visibility::Team(_) => "team",
                super::Visibility::SelfOnly => "self",
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviterView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub id: InviteId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    /// Effective status: a pending invite past its expiry reads `expired` even before the job.
    pub status: &'static str,
    pub expires_at: String,
    pub delivery: &'static str,
    pub invited_by: InviterView,
    pub created_at: String,
    pub sent_at: String,
}

impl InviteView {
    pub fn new(i: &Invite, now: OffsetDateTime) -> InviteView {
        InviteView {
            id: i.id.clone(),
            email: i.email.to_string(),
            name: i.name.clone(),
            role: i.role,
            team: i.team.clone(),
            status: i.effective_status(now).as_str(),
            expires_at: timefmt::format(i.expires_at),
            delivery: i.delivery.as_str(),
            invited_by: InviterView {
                id: i.invited_by.id.clone(),
                name: i.invited_by.name.clone(),
                email: i.invited_by.email.clone(),
            },
            created_at: timefmt::format(i.created_at),
            sent_at: timefmt::format(i.sent_at),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: TenantId,
    pub name: String,
    pub tier: &'static str,
    pub seat_limit: u32,
    pub seats_used: u32,
    pub seats_free: u32,
    pub pricing_url: String,
}

impl TenantView {
    pub fn new(t: &Tenant, pricing_url: &str) -> TenantView {
        TenantView {
            id: t.id.clone(),
            name: t.name.clone(),
            tier: t.tier.as_str(),
            seat_limit: t.seat_limit,
            seats_used: t.seats_used,
            seats_free: t.seats_free(),
            pricing_url: pricing_url.to_string(),
        }
    }
}
