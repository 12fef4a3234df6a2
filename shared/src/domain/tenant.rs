use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Pricing tiers and the seat limit each one sells. Enterprise limits are negotiated, so they
/// are set explicitly when the tier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Starter,
    Team,
    Business,
    Enterprise,
}

impl Tier {
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "starter" => Some(Tier::Starter),
            "team" => Some(Tier::Team),
            "business" => Some(Tier::Business),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Team => "team",
            Tier::Business => "business",
            Tier::Enterprise => "enterprise",
        }
    }

    pub fn default_seat_limit(self) -> Option<u32> {
        match self {
            Tier::Starter => Some(5),
            Tier::Team => Some(25),
            Tier::Business => Some(100),
            Tier::Enterprise => None,
        }
    }

    /// The seat limit for this tier: the tier's own, or the negotiated one for enterprise.
    /// An explicit limit on a fixed tier must match it, so a tier always means one price.
    pub fn seat_limit(self, explicit: Option<u32>) -> Result<u32, &'static str> {
        match (self.default_seat_limit(), explicit) {
            (Some(d), None) => Ok(d),
            (Some(d), Some(e)) if d == e => Ok(d),
            (Some(_), Some(_)) => Err("only the enterprise tier takes a custom seat limit"),
            (None, Some(e)) if (1..=100_000).contains(&e) => Ok(e),
            (None, Some(_)) => Err("must be between 1 and 100000"),
            (None, None) => Err("the enterprise tier needs a seat limit"),
        }
    }
}

/// Whom the company requires to have two-step verification before they may act (rule 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MfaPolicy {
    #[default]
    Off,
    /// Every admin route refuses an admin without it (403 `mfa-required`).
    Admins,
}

impl MfaPolicy {
    pub fn parse(s: &str) -> Option<MfaPolicy> {
        match s {
            "off" => Some(MfaPolicy::Off),
            "admins" => Some(MfaPolicy::Admins),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::Off => "off",
            MfaPolicy::Admins => "admins",
        }
    }

    /// Whether a user of `role` must have two-step verification on to use admin routes.
    pub fn requires(self, role: super::Role) -> bool {
        match self {
            MfaPolicy::Off => false,
            MfaPolicy::Admins => role.manages_users(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: super::TenantId,
    pub name: String,
    pub tier: Tier,
    pub seat_limit: u32,
    /// Active users plus pending invites; kept in step by every transaction that changes either.
    pub seats_used: u32,
    /// Active users with the admin role; kept in step like `seats_used` (docs/rules.md, rule 6).
    pub active_admins: u32,
    /// Absent on records written before the policy existed: off.
    pub mfa_policy: MfaPolicy,
    /// The chat capacity a user who joins starts with (absent on older records:
    /// `user::DEFAULT_MAX_CHATS`).
    pub default_max_chats: u32,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatShortage {
    pub requested: u32,
    pub free: u32,
    pub limit: u32,
}

impl Tenant {
    pub fn seats_free(&self) -> u32 {
        self.seat_limit.saturating_sub(self.seats_used)
    }

    /// Whether `n` more seats fit. The store re-checks the same thing under a condition, so a
    /// concurrent taker can still make the write fail; this gives the early, precise answer.
    pub fn reserve(&self, n: u32) -> Result<(), SeatShortage> {
        if n <= self.seats_free() {
            Ok(())
        } else {
            Err(SeatShortage {
                requested: n,
                free: self.seats_free(),
                limit: self.seat_limit,
            })
        }
    }
}

impl SeatShortage {
    /// The API's answer: how many were asked for, how many are free, where to buy more.
    pub fn into_error(self, pricing_url: &str) -> super::ApiError {
        super::ApiError::SeatLimit {
            requested: self.requested,
            free: self.free,
            limit: self.limit,
            pricing_url: pricing_url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admins_policy_requires_two_step_of_admins_only() {
        use super::super::Role;
        assert!(MfaPolicy::Admins.requires(Role::Admin));
        assert!(!MfaPolicy::Admins.requires(Role::Supervisor));
        assert!(!MfaPolicy::Admins.requires(Role::Agent));
        assert!(!MfaPolicy::Off.requires(Role::Admin));
        for p in [MfaPolicy::Off, MfaPolicy::Admins] {
            assert_eq!(MfaPolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(MfaPolicy::parse("everyone"), None);
    }

    fn tenant(limit: u32, used: u32) -> Tenant {
        Tenant {
            id: "t".into(),
            name: "Acme".into(),
            tier: Tier::Starter,
            seat_limit: limit,
            seats_used: used,
            active_admins: 1,
            mfa_policy: MfaPolicy::Off,
            default_max_chats: 3,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn seats_can_be_taken_up_to_the_limit_and_not_past_it() {
        let t = tenant(5, 2);
        assert_eq!(t.reserve(3), Ok(()));
        assert_eq!(
            t.reserve(4),
            Err(SeatShortage {
                requested: 4,
                free: 3,
                limit: 5
            })
        );
        assert_eq!(tenant(5, 5).reserve(0), Ok(()));
        assert!(tenant(5, 5).reserve(1).is_err());
    }

    #[test]
    fn a_tenant_over_its_limit_after_a_downgrade_has_no_free_seats() {
        assert_eq!(tenant(5, 7).seats_free(), 0);
    }

    #[test]
    fn fixed_tiers_set_their_own_limit_and_enterprise_needs_one() {
        assert_eq!(Tier::Starter.seat_limit(None), Ok(5));
        assert_eq!(Tier::Team.seat_limit(Some(25)), Ok(25));
        assert!(Tier::Team.seat_limit(Some(30)).is_err());
        assert!(Tier::Enterprise.seat_limit(None).is_err());
        assert_eq!(Tier::Enterprise.seat_limit(Some(500)), Ok(500));
        assert!(Tier::Enterprise.seat_limit(Some(0)).is_err());
    }
}
