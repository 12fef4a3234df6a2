//! What a sign-in identity should be, given what DynamoDB says now. DynamoDB is the source of
//! truth and Cognito follows it (docs/rules.md, "Sign-in follows the directory"): enabled iff
//! the user is active, disabled iff suspended, absent iff deleted or never committed. The
//! adapters only carry out what `decide` answers; nothing else decides Cognito's state.

use super::UserStatus;
use time::Duration;

/// How long a request holds a login's lock (an accept from its claim to its commit; a
/// converge for its reads and Cognito calls): longer than any function holding it may run
/// (10-15 s timeouts), so a live lock always belongs to a request that may still act. A
/// holder that died is taken over after the lease, with a new lock id that fences off a
/// commit it may still have had in flight.
pub const CLAIM_LEASE: Duration = Duration::seconds(30);

/// How long after a change (or past an accept's lease) the reconciler waits before it
/// converges a login: the request that made the change converges it itself in that time.
pub const RECONCILE_AFTER: Duration = Duration::seconds(60);

/// Who owns the identity a login resolves to, as DynamoDB says now. Decided while holding
/// the login's lock, so no accept is creating an identity for it meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user record has the identity's `sub`.
    User(UserStatus),
    /// No user record has it: an accept that never committed (or a crash before it did).
    Nobody,
}

/// The state Cognito should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Enabled,
    Disabled,
    Absent,
}

pub fn want(owner: Owner) -> Want {
    match owner {
        Owner::User(UserStatus::Active) => Want::Enabled,
        Owner::User(UserStatus::Suspended) => Want::Disabled,
        Owner::User(UserStatus::Deleted) | Owner::Nobody => Want::Absent,
    }
}

/// One Cognito call that moves the identity toward `want`, if any is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    Enable,
    Disable,
    Delete,
}

impl Fix {
    pub fn as_str(self) -> &'static str {
        match self {
            Fix::Enable => "enable",
            Fix::Disable => "disable",
            Fix::Delete => "delete",
        }
    }
}

/// `enabled` is the identity's current state (it exists).
pub fn fix(enabled: bool, want: Want) -> Option<Fix> {
    match (want, enabled) {
        (Want::Enabled, false) => Some(Fix::Enable),
        (Want::Disabled, true) => Some(Fix::Disable),
        (Want::Absent, _) => Some(Fix::Delete),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_follows_the_users_status_and_nobody_owns_no_identity() {
        assert_eq!(want(Owner::User(UserStatus::Active)), Want::Enabled);
        assert_eq!(want(Owner::User(UserStatus::Suspended)), Want::Disabled);
        assert_eq!(want(Owner::User(UserStatus::Deleted)), Want::Absent);
        assert_eq!(want(Owner::Nobody), Want::Absent);
    }

    #[test]
    fn a_fix_is_needed_only_where_the_identity_differs() {
        assert_eq!(fix(true, Want::Enabled), None);
        assert_eq!(fix(false, Want::Enabled), Some(Fix::Enable));
        assert_eq!(fix(true, Want::Disabled), Some(Fix::Disable));
        assert_eq!(fix(false, Want::Disabled), None);
        assert_eq!(fix(true, Want::Absent), Some(Fix::Delete));
        assert_eq!(fix(false, Want::Absent), Some(Fix::Delete));
    }
}
