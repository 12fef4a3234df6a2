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
    /// When they last made a request (to 5 minutes); null: not since it was first recorded.
    pub last_active_at: Option<String>,
    /// Two-step verification is on (as Cognito said when last read back).
    pub mfa: bool,
    /// Why the newest email to this user did not arrive (SES said so); null: none known.
    pub email_problem: Option<String>,
    /// Activity recorded within the online window, by the wall clock (as activity is recorded).
    pub online: bool,
    pub max_chats: u32,
    /// `available`, `away` or `dnd`.
    pub availability: &'static str,
    /// When and by whom it was last set; null: never set (the default, available).
    pub availability_set_at: Option<String>,
    pub availability_set_by: Option<SetBy>,
    /// The company's identity provider manages this person (directory sync, rule 22): the
    /// console shows the name and address as the provider's.
    pub managed: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetBy {
    pub id: UserId,
    pub name: String,
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
            last_active_at: u.last_active_at.map(timefmt::format),
            mfa: u.mfa,
            email_problem: u.mail.problem.clone(),
            online: u
                .online_since(super::Clock::now(&super::SystemClock) - super::user::ONLINE_WINDOW),
            max_chats: u.max_chats,
            availability: u.availability.status.as_str(),
            availability_set_at: u.availability.set_at.map(timefmt::format),
            availability_set_by: u.availability.set_by.as_ref().map(|(id, name)| SetBy {
                id: id.clone(),
                name: name.clone(),
            }),
            managed: u.managed.is_some(),
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
    /// Why the email did not arrive (bounced, complained, failed), where known.
    pub delivery_detail: Option<String>,
    pub invited_by: InviterView,
    pub created_at: String,
    pub sent_at: String,
    /// Made or claimed by directory sync (rule 22).
    pub managed: bool,
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
            delivery_detail: i.delivery_detail.clone(),
            invited_by: InviterView {
                id: i.invited_by.id.clone(),
                name: i.invited_by.name.clone(),
                email: i.invited_by.email.clone(),
            },
            created_at: timefmt::format(i.created_at),
            sent_at: timefmt::format(i.sent_at),
            managed: i.managed.is_some(),
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
    /// `off` or `admins`: who must have two-step verification to use admin routes.
    pub mfa_policy: &'static str,
    /// The chat capacity a user who joins starts with.
    pub default_max_chats: u32,
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
            mfa_policy: t.mfa_policy.as_str(),
            default_max_chats: t.default_max_chats,
        }
    }
}

/// What an invite link shows before it is accepted (`POST /invites/preview`): the company,
/// the invite, and the password policy in the words a refusal uses (the accept page shows
/// them as live hints).
/// The password rules the accept and reset pages show live.
fn password_policy() -> serde_json::Value {
    use super::password;
    serde_json::json!({
        "minLength": password::MIN_LENGTH,
        "maxLength": password::MAX_LENGTH,
        "requires": ["lowercase", "uppercase", "digit", "symbol"],
        "rules": password::RULES
            .iter()
            .map(|(rule, message, _)| serde_json::json!({ "rule": rule, "message": message }))
            .collect::<Vec<_>>(),
    })
}

/// What the reset page shows before a password is chosen: whose account, until when.
pub fn reset_preview(
    user: &User,
    tenant: &Tenant,
    expires_at: OffsetDateTime,
) -> serde_json::Value {
    serde_json::json!({
        "companyName": tenant.name,
        "email": user.email,
        "name": user.name,
        "expiresAt": timefmt::format(expires_at),
        "passwordPolicy": password_policy(),
    })
}

pub fn preview(invite: &Invite, tenant: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "companyName": tenant.name,
        "email": invite.email,
        "name": invite.name,
        "role": invite.role,
        "team": invite.team,
        "invitedBy": { "name": invite.invited_by.name },
        "expiresAt": timefmt::format(invite.expires_at),
        "passwordPolicy": password_policy(),
    })
}

/// The answers of the write routes. A change names its answer before its commit (rule 11:
/// the commit records it for idempotent retries, and a request cut after its commit still
/// answers it), and the handler sends the same, so the two can't differ.
pub mod answers {
    use super::*;
    use crate::domain::idempotency::Answer;
    use crate::domain::DeliveryStatus;
    use serde_json::json;

    /// A user change: 200 with the user as changed.
    pub fn user(u: &User) -> Answer {
        Answer::json(200, &UserView::from(u))
    }

    /// A resend or revoke: 200 with the invite as it is now.
    /// A quick edit's answer: the users as they are now, in the rows' order.
    pub fn users(users: &[User]) -> Answer {
        Answer::json(
            200,
            &serde_json::json!({ "users": users.iter().map(UserView::from).collect::<Vec<_>>() }),
        )
    }

    pub fn invite(i: &Invite, now: OffsetDateTime) -> Answer {
        Answer::json(200, &InviteView::new(i, now))
    }

    /// New invites: 201 with the invite, or with the batch and how many emails failed.
    pub fn invites(invites: &[Invite], batch: bool, now: OffsetDateTime) -> Answer {
        let views: Vec<InviteView> = invites.iter().map(|i| InviteView::new(i, now)).collect();
        if batch {
            let failed = invites
                .iter()
                .filter(|i| i.delivery == DeliveryStatus::Failed)
                .count();
            Answer::json(
                201,
                &json!({ "invites": views, "deliveryFailures": failed }),
            )
        } else {
            Answer::json(201, &views[0])
        }
    }

    /// The public reset form: 202 and the same words whoever the address belongs to (rule 13).
    pub fn reset_requested() -> Answer {
        Answer::json(
            202,
            &json!({
                "message": "If an active account uses this address, we sent it a link to set a new password. The link works for 1 hour; check your spam folder if it doesn't arrive within a few minutes."
            }),
        )
    }

    /// An admin's reset: 202 with where it went and until when the link works.
    pub fn reset_sent(user: &User, expires_at: OffsetDateTime) -> Answer {
        Answer::json(
            202,
            &json!({
                "userId": user.id,
                "sentTo": user.email,
                "expiresAt": timefmt::format(expires_at),
            }),
        )
    }

    /// A link set a new password: 200 with the login to sign in with.
    pub fn password_reset(user: &User) -> Answer {
        Answer::json(
            200,
            &json!({
                "userId": user.id,
                "email": user.email,
                "signIn": { "username": user.login() },
            }),
        )
    }

    /// An accepted invite: 201 with who joined and the username they sign in with.
    pub fn joined(user: &User, username: &str) -> Answer {
        Answer::json(
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
        )
    }
}
