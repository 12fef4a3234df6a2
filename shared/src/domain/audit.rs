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

/// Directory sync's actor id: this, then the id of the token it came with.
pub const DIRECTORY_SYNC_PREFIX: &str = "scim-";

impl Actor {
    /// A user acting through the API, as they are now.
    pub fn of(user: &super::User) -> Actor {
        Actor {
            id: user.id.to_string(),
            email: Some(user.email.to_string()),
            name: Some(user.name.clone()),
        }
    }
    pub fn system() -> Actor {
        Actor {
            id: "system".into(),
            email: None,
            name: None,
        }
    }
    /// The company's identity provider, provisioning through directory sync (rule 22) with
    /// the integration token `integration`.
    pub fn directory_sync(integration: &super::ids::IntegrationId) -> Actor {
        Actor {
            id: format!("{DIRECTORY_SYNC_PREFIX}{integration}"),
            email: None,
            name: Some("Directory sync".into()),
        }
    }

    /// Whether this is directory sync acting (`Actor::directory_sync`).
    pub fn is_directory_sync(&self) -> bool {
        self.id.starts_with(DIRECTORY_SYNC_PREFIX)
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
    /// Every session of the user ended, the account untouched: by an admin ("sign out of all
    /// devices") or by the user ("sign out everywhere").
    #[serde(rename = "user.signedOut")]
    UserSignedOut,
    /// The user changed their own password (every session ended with it).
    #[serde(rename = "user.passwordChanged")]
    PasswordChanged,
    /// An admin sent the user a link to set a new password.
    #[serde(rename = "user.passwordResetSent")]
    PasswordResetSent,
    /// The user set a new password from a reset link (every session ended with it).
    #[serde(rename = "user.passwordReset")]
    PasswordReset,
    /// The user turned two-step verification on (Cognito read back).
    #[serde(rename = "user.mfaEnabled")]
    MfaEnabled,
    /// The user turned it off themselves, after signing in again with a code.
    #[serde(rename = "user.mfaDisabled")]
    MfaDisabled,
    /// An admin turned it off for a user who lost their device; every session ended.
    #[serde(rename = "user.mfaReset")]
    MfaReset,
    /// An admin changed whom the company requires to have it.
    #[serde(rename = "tenant.mfaPolicyChanged")]
    MfaPolicyChanged,
    /// An admin changed how many chats a user may take at once (role and team unchanged;
    /// with them, the change is a `user.roleChanged` whose snapshots hold it).
    #[serde(rename = "user.maxChatsChanged")]
    MaxChatsChanged,
    /// An admin set another user's availability (a user's own is not audited: rule 16).
    #[serde(rename = "user.availabilityChanged")]
    AvailabilityChanged,
    /// An admin changed the chat capacity new users start with.
    #[serde(rename = "tenant.maxChatsChanged")]
    DefaultMaxChatsChanged,
    /// Someone exported the users they can see as CSV (rule 18).
    #[serde(rename = "users.exported")]
    UsersExported,
    /// An admin exported the audit log as CSV (rule 18).
    #[serde(rename = "audit.exported")]
    AuditExported,
    /// An admin renamed a team: every member and pending invite moved to the new name (rule 19).
    #[serde(rename = "team.renamed")]
    TeamRenamed,
    /// An admin merged a team into another (rule 19).
    #[serde(rename = "team.merged")]
    TeamMerged,
    /// An admin made an integration token (rule 21).
    #[serde(rename = "integration.created")]
    IntegrationCreated,
    /// An admin revoked an integration token (rule 21).
    #[serde(rename = "integration.revoked")]
    IntegrationRevoked,
    /// Directory sync changed a user's name or the identity provider's link to them (rule 22).
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// Directory sync changed a pending invite's name or the provider's link to it (rule 22).
    #[serde(rename = "invite.updated")]
    InviteUpdated,
    /// An admin changed which of the identity provider's groups give which role and team
    /// (rule 22).
    #[serde(rename = "tenant.groupMappingsChanged")]
    GroupMappingsChanged,
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
            AuditAction::UserSignedOut => "user.signedOut",
            AuditAction::PasswordChanged => "user.passwordChanged",
            AuditAction::PasswordResetSent => "user.passwordResetSent",
            AuditAction::PasswordReset => "user.passwordReset",
            AuditAction::MfaEnabled => "user.mfaEnabled",
            AuditAction::MfaDisabled => "user.mfaDisabled",
            AuditAction::MfaReset => "user.mfaReset",
            AuditAction::MfaPolicyChanged => "tenant.mfaPolicyChanged",
            AuditAction::MaxChatsChanged => "user.maxChatsChanged",
            AuditAction::AvailabilityChanged => "user.availabilityChanged",
            AuditAction::DefaultMaxChatsChanged => "tenant.maxChatsChanged",
            AuditAction::UsersExported => "users.exported",
            AuditAction::AuditExported => "audit.exported",
            AuditAction::TeamRenamed => "team.renamed",
            AuditAction::TeamMerged => "team.merged",
            AuditAction::IntegrationCreated => "integration.created",
            AuditAction::IntegrationRevoked => "integration.revoked",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::InviteUpdated => "invite.updated",
            AuditAction::GroupMappingsChanged => "tenant.groupMappingsChanged",
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

/// Only ever written out (the API's audit page); rows come back through `store::items::Row`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: super::TenantId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: Target,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: String,
}

/// Who makes a change, when, and in which request: taken once per request, then each audit
/// entry of the change is built from it by the kind of thing it changes (`user`, `invite`,
/// `tenant`), so an entry's target, tenant and snapshots can't be assembled wrong.
#[derive(Debug, Clone)]
pub struct Change {
    pub actor: Actor,
    pub at: OffsetDateTime,
    pub request_id: String,
}

impl Change {
    pub fn new(actor: Actor, at: OffsetDateTime, request_id: &str) -> Change {
        Change {
            actor,
            at,
            request_id: request_id.to_string(),
        }
    }

    fn entry(
        &self,
        tenant_id: &super::TenantId,
        action: AuditAction,
        target: Target,
        before: Option<Value>,
        after: Option<Value>,
    ) -> AuditEntry {
        AuditEntry {
            id: super::ids::new_id(),
            tenant_id: tenant_id.clone(),
            at: self.at,
            actor: self.actor.clone(),
            action,
            target,
            before,
            after,
            request_id: self.request_id.clone(),
        }
    }

    /// A user's change, with what the log keeps of them before and after.
    pub fn on_user(
        &self,
        action: AuditAction,
        before: &super::User,
        after: &super::User,
    ) -> AuditEntry {
        self.entry(
            &before.tenant_id,
            action,
            Target {
                kind: "user".into(),
                id: before.id.to_string(),
                // The name as it was: "was assigned to Jane Doe" reads right after a delete.
                label: Some(before.name.clone()),
            },
            Some(user_snapshot(before)),
            Some(user_snapshot(after)),
        )
    }

    /// An admin's set of another user's availability: only the availability, before and after.
    pub fn on_availability(&self, before: &super::User, after: &super::User) -> AuditEntry {
        let snap = |u: &super::User| {
            serde_json::json!({
                "availability": u.availability.status.as_str(),
                "displayName": u.display_label(),
            })
        };
        self.entry(
            &before.tenant_id,
            AuditAction::AvailabilityChanged,
            Target {
                kind: "user".into(),
                id: before.id.to_string(),
                label: Some(before.name.clone()),
            },
            Some(snap(before)),
            Some(snap(after)),
        )
    }

    /// An export (rule 18): what was asked for (the query, as sent), about the company.
    pub fn on_export(
        &self,
        action: AuditAction,
        tenant: &super::TenantId,
        label: &str,
        query: &str,
    ) -> AuditEntry {
        self.entry(
            tenant,
            action,
            Target {
                kind: "tenant".into(),
                id: tenant.to_string(),
                label: Some(label.to_string()),
            },
            None,
            Some(serde_json::json!({ "query": query })),
        )
    }

    /// An invite's change: created (no `before`), resent, revoked, expired or accepted.
    pub fn on_invite(
        &self,
        action: AuditAction,
        before: Option<&super::Invite>,
        after: &super::Invite,
    ) -> AuditEntry {
        self.entry(
            &after.tenant_id,
            action,
            Target {
                kind: "invite".into(),
                id: after.id.to_string(),
                label: Some(after.name.clone()),
            },
            before.map(invite_snapshot),
            Some(invite_snapshot(after)),
        )
    }

    /// A tenant's change (created, tier changed), with the fields it changed.
    pub fn on_tenant(
        &self,
        action: AuditAction,
        tenant: &super::Tenant,
        before: Option<Value>,
        after: Value,
    ) -> AuditEntry {
        self.entry(
            &tenant.id,
            action,
            Target {
                kind: "tenant".into(),
                id: tenant.id.to_string(),
                label: Some(tenant.name.clone()),
            },
            before,
            Some(after),
        )
    }

    /// A team renamed or merged (rule 19): the team is the target (its old name the label),
    /// the names and how many members and pending invites it carried are the snapshots.
    pub fn on_team(
        &self,
        action: AuditAction,
        tenant: &super::TenantId,
        from: &str,
        to: &str,
        members: usize,
        invites: usize,
    ) -> AuditEntry {
        self.entry(
            tenant,
            action,
            Target {
                kind: "team".into(),
                id: from.to_string(),
                label: Some(from.to_string()),
            },
            Some(serde_json::json!({"team": from, "members": members, "invites": invites})),
            Some(serde_json::json!({"team": to})),
        )
    }
}

impl Change {
    /// An integration token made or revoked (rule 21): its name is the label, the snapshots
    /// its name, scopes and status (never its hash).
    pub fn on_integration(
        &self,
        action: AuditAction,
        before: Option<&super::integration::Integration>,
        after: &super::integration::Integration,
    ) -> AuditEntry {
        self.entry(
            &after.tenant_id,
            action,
            Target {
                kind: "integration".into(),
                id: after.id.to_string(),
                label: Some(after.name.clone()),
            },
            before.map(super::integration::snapshot),
            Some(super::integration::snapshot(after)),
        )
    }
}

/// What the audit log keeps of a user at one moment.
pub fn user_snapshot(u: &super::User) -> Value {
    serde_json::json!({
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "team": u.team,
        "status": u.status.as_str(),
        "mfa": u.mfa,
        "maxChats": u.max_chats,
        "displayName": u.display_label(),
        "managed": u.managed.is_some(),
        "externalId": u.managed.as_ref().and_then(|m| m.external_id.clone()),
    })
}

/// What the audit log keeps of an invite at one moment (never its token or hash).
pub fn invite_snapshot(i: &super::Invite) -> Value {
    serde_json::json!({
        "email": i.email,
        "name": i.name,
        "role": i.role,
        "team": i.team,
        "status": i.status.as_str(),
        "expiresAt": super::timefmt::format(i.expires_at),
        "managed": i.managed.is_some(),
        "externalId": i.managed.as_ref().and_then(|m| m.external_id.clone()),
    })
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

    #[test]
    fn each_kind_of_entry_names_its_target_and_tenant_from_what_changed() {
        use crate::domain::user::tests::user;
        use crate::domain::Role;
        let change = Change::new(Actor::system(), OffsetDateTime::UNIX_EPOCH, "rid");
        let before = user("u1", "t1", Role::Agent, None);
        let mut after = before.clone();
        after.name = "Renamed".into();
        let e = change.on_user(AuditAction::RoleChanged, &before, &after);
        assert_eq!(
            (e.tenant_id.as_str(), e.target.kind.as_str()),
            ("t1", "user")
        );
        assert_eq!(e.target.label.as_deref(), Some("U1"), "the name as it was");
        assert_eq!(e.after.unwrap()["name"], "Renamed");
        assert_eq!(
            (e.request_id.as_str(), e.actor.id.as_str()),
            ("rid", "system")
        );
        let inv = crate::domain::invite::tests::invite(OffsetDateTime::UNIX_EPOCH);
        let e = change.on_invite(AuditAction::InviteCreated, None, &inv);
        assert_eq!(
            (e.tenant_id.as_str(), e.target.kind.as_str()),
            (inv.tenant_id.as_str(), "invite")
        );
        assert!(e.before.is_none());
        assert!(
            e.after.unwrap().get("tokenHash").is_none(),
            "never the token's hash"
        );
    }
}
