use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

/// The product guide's full permission list. Other services read it from `/me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "inbox.reply")]
    InboxReply,
    #[serde(rename = "calls.assignedNumbers")]
    CallsAssignedNumbers,
    #[serde(rename = "contacts.notes")]
    ContactNotes,
    #[serde(rename = "team.visibility")]
    TeamVisibility,
    #[serde(rename = "calls.liveListen")]
    LiveListen,
    #[serde(rename = "calls.bargeIn")]
    BargeIn,
    #[serde(rename = "team.metrics")]
    TeamMetrics,
    #[serde(rename = "users.invite")]
    InviteUsers,
    #[serde(rename = "numbers.buy")]
    BuyNumbers,
    #[serde(rename = "channels.configure")]
    ConfigureChannels,
    #[serde(rename = "billing.manage")]
    Billing,
    #[serde(rename = "audit.read")]
    AuditLog,
}

use Permission::*;

const AGENT: &[Permission] = &[InboxReply, CallsAssignedNumbers, ContactNotes];
const SUPERVISOR: &[Permission] = &[
    InboxReply,
    CallsAssignedNumbers,
    ContactNotes,
    TeamVisibility,
    LiveListen,
    BargeIn,
    TeamMetrics,
];
const ADMIN: &[Permission] = &[
    InboxReply,
    CallsAssignedNumbers,
    ContactNotes,
    TeamVisibility,
    LiveListen,
    BargeIn,
    TeamMetrics,
    InviteUsers,
    BuyNumbers,
    ConfigureChannels,
    Billing,
    AuditLog,
];

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// What the guide calls the role in an email or on screen.
    pub fn label(self) -> &'static str {
        match self {
            Role::Agent => "Agent",
            Role::Supervisor => "Supervisor",
            Role::Admin => "Admin",
        }
    }

    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Agent => AGENT,
            Role::Supervisor => SUPERVISOR,
            Role::Admin => ADMIN,
        }
    }

    pub fn has(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Invite, resend, revoke, change role, suspend, reactivate, delete: admins only.
    pub fn manages_users(self) -> bool {
        self.has(InviteUsers)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_includes_everything_the_role_below_can_do() {
        for p in Role::Agent.permissions() {
            assert!(Role::Supervisor.has(*p));
        }
        for p in Role::Supervisor.permissions() {
            assert!(Role::Admin.has(*p));
        }
    }

    #[test]
    fn only_admins_manage_users_read_the_audit_log_and_handle_billing() {
        for role in [Role::Agent, Role::Supervisor] {
            assert!(!role.manages_users());
            assert!(!role.has(AuditLog));
            assert!(!role.has(Billing));
            assert!(!role.has(BuyNumbers));
            assert!(!role.has(ConfigureChannels));
        }
        assert!(Role::Admin.manages_users());
        assert_eq!(Role::Admin.permissions().len(), 12);
    }

    #[test]
    fn supervisors_listen_barge_and_see_team_metrics_agents_do_not() {
        for p in [TeamVisibility, LiveListen, BargeIn, TeamMetrics] {
            assert!(Role::Supervisor.has(p));
            assert!(!Role::Agent.has(p));
        }
    }

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("owner"), None);
    }
}
