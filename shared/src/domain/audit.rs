use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Who did it, as they were at the time (the email is copied, not referenced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// A user id, or `system` (scheduled jobs) / `platform` (tenant provisioning).
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            id: "system".into(),
            email: None,
            name: None,
        }
    }
    pub fn platform() -> Actor {
        Actor {
            id: "platform".into(),
            email: None,
            name: Some("VeloConnect".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "tenant.created")]
    TenantCreated,
    #[serde(rename = "tenant.tierChanged")]
    TierChanged,
    #[serde(rename = "invite.created")]
    InviteCreated,
    #[serde(rename = "invite.resent")]
    InviteResent,
    #[serde(rename = "invite.revoked")]
    InviteRevoked,
    #[serde(rename = "invite.accepted")]
    InviteAccepted,
    #[serde(rename = "invite.expired")]
    InviteExpired,
    #[serde(rename = "user.roleChanged")]
    RoleChanged,
    #[serde(rename = "user.suspended")]
    UserSuspended,
    #[serde(rename = "user.reactivated")]
    UserReactivated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TenantCreated => "tenant.created",
            AuditAction::TierChanged => "tenant.tierChanged",
            AuditAction::InviteCreated => "invite.created",
            AuditAction::InviteResent => "invite.resent",
            AuditAction::InviteRevoked => "invite.revoked",
            AuditAction::InviteAccepted => "invite.accepted",
            AuditAction::InviteExpired => "invite.expired",
            AuditAction::RoleChanged => "user.roleChanged",
            AuditAction::UserSuspended => "user.suspended",
            AuditAction::UserReactivated => "user.reactivated",
            AuditAction::UserDeleted => "user.deleted",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `user`, `invite` or `tenant`.
    pub kind: String,
    pub id: String,
    /// A readable name for timelines, e.g. the user's display name.
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: Target,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: String,
}

impl AuditEntry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant_id: &str,
        at: OffsetDateTime,
        actor: &Actor,
        action: AuditAction,
        target: Target,
        before: Option<Value>,
        after: Option<Value>,
        request_id: &str,
    ) -> AuditEntry {
        AuditEntry {
            id: super::ids::new_id(),
            tenant_id: tenant_id.to_string(),
            at,
            actor: actor.clone(),
            action,
            target,
            before,
            after,
            request_id: request_id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_stable_and_parse_back() {
        for a in [
            AuditAction::TenantCreated,
            AuditAction::TierChanged,
            AuditAction::InviteCreated,
            AuditAction::InviteResent,
            AuditAction::InviteRevoked,
            AuditAction::InviteAccepted,
            AuditAction::InviteExpired,
            AuditAction::RoleChanged,
            AuditAction::UserSuspended,
            AuditAction::UserReactivated,
            AuditAction::UserDeleted,
        ] {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(AuditAction::parse("user.hacked"), None);
    }
}
