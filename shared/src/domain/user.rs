use super::role::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Suspended,
    Deleted,
}

impl UserStatus {
    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            "deleted" => Some(UserStatus::Deleted),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Deleted => "deleted",
        }
    }
    /// Rule 1: only active users hold a seat.
    pub fn holds_seat(self) -> bool {
        self == UserStatus::Active
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The Cognito `sub` of the user's sign-in identity, so a verified token finds its record
    /// in one consistent read.
    pub id: super::UserId,
    pub tenant_id: super::TenantId,
    /// As typed at invite time; uniqueness is on its normalized form.
    /// Parsed once, where it entered (an invite), and carried parsed from then on.
    pub email: super::Email,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub status: UserStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Bumped on every change, for optimistic concurrency.
    pub version: u64,
    /// When the user was last signed out everywhere (suspended). Tokens Cognito issued before
    /// this second are refused even after a reactivation (docs/rules.md, "Signed out
    /// everywhere"): a JWT can't be revoked, so the record remembers when its tokens stopped.
    pub signed_out_at: Option<OffsetDateTime>,
    /// Who last signed the user out everywhere: themselves ("sign out everywhere") or an admin
    /// (a suspend, or "sign out of all devices"), so a refused session can say which.
    pub signed_out_by: Option<super::UserId>,
    /// When the user last made a request (wall clock), to the grain of [`ACTIVITY_GRAIN`]: the
    /// Users list's "Last active 3 h ago". `None`: no request since this was first recorded.
    pub last_active_at: Option<OffsetDateTime>,
    /// Two-step verification (TOTP) is on at Cognito: set only from what Cognito said when read
    /// back (AdminGetUser), never from what a browser claims (docs/rules.md, rule 14).
    pub mfa: bool,
    /// What SES last said about an email to this user (a password reset, a two-step notice).
    pub mail: MailState,
    /// How many chats the routing side may give them at once (1–[`MAX_CHATS_LIMIT`]): set
    /// from the company's default when they joined, then by an admin. Versioned and audited.
    pub max_chats: u32,
    /// Whether they take work now: not a change of the user (no version, no Cognito), written
    /// by its own single-item update and carried through every versioned change untouched.
    pub availability: AvailabilityState,
    /// Set when the company's identity provider manages this person through directory sync
    /// (docs/rules.md rule 22): the id it knows them by and the name parts it sent.
    pub managed: Option<Managed>,
}

/// What directory sync (SCIM) keeps of a person it manages, on their user record or invite.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Managed {
    /// The SCIM resource id the identity provider stores: the id of the record it first
    /// reached (the invite it created, or the user or invite it claimed), kept for life so
    /// an invite that becomes a user keeps the id the provider holds.
    pub scim_id: String,
    /// The provider's own id for the person (`externalId`), if it sent one.
    pub external_id: Option<String>,
    /// `name.givenName` and `name.familyName` as sent: the account has one name, these are
    /// answered back so the provider sees what it set.
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// A user's own status for the routing side: available for new conversations, away, or
/// not to be disturbed. Unlike the account's status it grants and removes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    #[default]
    Available,
    Away,
    Dnd,
}

impl Availability {
    pub fn parse(s: &str) -> Option<Availability> {
        match s {
            "available" => Some(Availability::Available),
            "away" => Some(Availability::Away),
            "dnd" => Some(Availability::Dnd),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Away => "away",
            Availability::Dnd => "dnd",
        }
    }
}

/// The availability as stored: who set it and when (`None` on a record nobody set it on: the
/// default, available).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvailabilityState {
    pub status: Availability,
    pub set_at: Option<OffsetDateTime>,
    /// The user themselves or an admin; the name as it was then, for the page that shows it.
    pub set_by: Option<(super::UserId, String)>,
}

/// The most chats one person may be given at once, and the default of a company that never
/// set one.
pub const MAX_CHATS_LIMIT: u32 = 50;
pub const DEFAULT_MAX_CHATS: u32 = 3;

/// "Online": a request recorded within this long. Activity is recorded at most once per
/// [`ACTIVITY_GRAIN`], so someone whose last request came within the grain after their recorded
/// one shows offline up to that much early; "online" is never shown for someone who was not.
pub const ONLINE_WINDOW: time::Duration = ACTIVITY_GRAIN;

/// The newest email event recorded for a user: not a change (no version, no audit entry),
/// carried through every change as read, like `last_active_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailState {
    /// SES's send time of the message the newest recorded event was about (its format orders
    /// as a string): an older message's event never overwrites a newer one's.
    pub sent_at: Option<String>,
    /// Why that email did not arrive; `None` once one was delivered.
    pub problem: Option<String>,
}

/// How fine "last active" is: a request records it only when the stored time is at least this
/// old, so a busy user costs one write per 5 minutes, not one per request.
pub const ACTIVITY_GRAIN: time::Duration = time::Duration::minutes(5);

/// Who a caller may see, from their current role (the role table in docs/rules.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    Tenant,
    /// Own team plus self. A supervisor without a team sees only themselves.
    Team(Option<String>),
    SelfOnly,
}

/// The users a caller may see, as a rule over users: the one definition that the list's query,
/// a self-only list and the single-user read all apply (the role table in docs/rules.md).
/// Always within the caller's own tenant (rule 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole tenant (admins).
    Tenant,
    /// One team, plus the caller (a supervisor with a team).
    TeamAndSelf { team: String, me: super::UserId },
    /// The caller alone (agents, and a supervisor without a team).
    SelfOnly { me: super::UserId },
}

impl Scope {
    /// Whether `u`, a user of the caller's tenant, is in this scope.
    pub fn admits(&self, u: &User) -> bool {
        match self {
            Scope::Tenant => true,
            Scope::TeamAndSelf { team, me } => u.id == *me || u.team.as_deref() == Some(team),
            Scope::SelfOnly { me } => u.id == *me,
        }
    }
}

/// What a user list is narrowed to within the caller's scope (`GET /users` query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Empty means active and suspended (tombstones only when asked for).
    pub statuses: Vec<UserStatus>,
    pub role: Option<Role>,
    pub team: Option<String>,
    /// Lower-cased substring of name or email.
    pub search: Option<String>,
    /// Only those online (`true`) or offline (`false`) at the list's time.
    pub presence: Option<Presence>,
    pub availability: Option<Availability>,
    /// The page's order (not a narrowing: `matches` ignores it).
    pub order: UserOrder,
}

/// How a user list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserOrder {
    /// By name (then id).
    #[default]
    Name,
    /// Most recently active first; never seen last. Someone who becomes active while a client
    /// pages moves to the front, so a long walk may show them twice or not at all: it is a
    /// view of a moving thing, as any "last seen" list is.
    LastActive,
}

/// The Online / Offline switch, judged against one instant so a whole list agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    pub online: bool,
    /// Recorded activity at or after this is online (`now - ONLINE_WINDOW`).
    pub since: OffsetDateTime,
}

impl UserFilter {
    /// The statuses the list shows.
    pub fn statuses(&self) -> Vec<UserStatus> {
        if self.statuses.is_empty() {
            vec![UserStatus::Active, UserStatus::Suspended]
        } else {
            self.statuses.clone()
        }
    }

    /// Whether `u` passes the filter: the definition the store's query expression follows
    /// (a test holds the two to the same answers).
    pub fn matches(&self, u: &User) -> bool {
        self.statuses().contains(&u.status)
            && self.role.is_none_or(|r| r == u.role)
            && self
                .team
                .as_ref()
                .is_none_or(|t| u.team.as_ref() == Some(t))
            && self
                .search
                .as_ref()
                .is_none_or(|q| u.search_text().contains(q.as_str()))
            && self
                .presence
                .is_none_or(|p| u.online_since(p.since) == p.online)
            && self.availability.is_none_or(|a| u.availability.status == a)
    }
}

impl User {
    /// What a search (`q`) matches: name and email, lower-cased.
    pub fn search_text(&self) -> String {
        format!("{} {}", self.name, self.email).to_lowercase()
    }

    /// Who this caller may see (`Scope`), from their current role and team.
    pub fn scope(&self) -> Scope {
        let me = self.id.clone();
        match (self.role, &self.team) {
            (Role::Admin, _) => Scope::Tenant,
            (Role::Supervisor, Some(team)) => Scope::TeamAndSelf {
                team: team.clone(),
                me,
            },
            (Role::Supervisor, None) | (Role::Agent, _) => Scope::SelfOnly { me },
        }
    }

    /// What the role's reach is called in `/me` (`tenant`, `team`, `self`); who is actually
    /// visible is `scope`.
    pub fn visibility(&self) -> Visibility {
        match self.role {
            Role::Admin => Visibility::Tenant,
            Role::Supervisor => Visibility::Team(self.team.clone()),
            Role::Agent => Visibility::SelfOnly,
        }
    }

    /// Whether this caller may read `other`. Another tenant is never visible (docs/rules.md, rule 7).
    pub fn can_see(&self, other: &User) -> bool {
        other.tenant_id == self.tenant_id && self.scope().admits(other)
    }

    /// The sign-in username: the normalized email (what accept created the identity with).
    pub fn login(&self) -> String {
        self.email.normalized().to_string()
    }

    /// Whether a token issued at `iat` (seconds since the epoch, Cognito's clock) may still
    /// act for this user. A token from the same second as the sign-out passes: `iat` has no
    /// finer grain, and refusing that second would also refuse a sign-in right after a quick
    /// reactivation.
    pub fn accepts_token_issued_at(&self, iat: i64) -> bool {
        self.signed_out_at
            .is_none_or(|out| iat >= out.unix_timestamp())
    }

    /// Whether a request at `now` should record the user's activity (the stored time is
    /// missing or at least [`ACTIVITY_GRAIN`] old).
    pub fn activity_due(&self, now: OffsetDateTime) -> bool {
        self.last_active_at
            .is_none_or(|seen| now - seen >= ACTIVITY_GRAIN)
    }

    /// Whether an active user's recorded activity is at or after `since` (online, for a list
    /// at `since + ONLINE_WINDOW`). A suspended or deleted user is never online, however
    /// recent their last request.
    pub fn online_since(&self, since: OffsetDateTime) -> bool {
        self.status == UserStatus::Active && self.last_active_at.is_some_and(|t| t >= since)
    }

    pub fn display_label(&self) -> String {
        if self.status == UserStatus::Deleted {
            format!("{} (deleted)", self.name)
        } else {
            self.name.clone()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn user(id: &str, tenant: &str, role: Role, team: Option<&str>) -> User {
        User {
            id: id.into(),
            tenant_id: tenant.into(),
            email: crate::domain::Email::parse(&format!("{id}@example.com")).unwrap(),
            name: id.to_uppercase(),
            role,
            team: team.map(Into::into),
            status: UserStatus::Active,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            version: 1,
            signed_out_at: None,
            signed_out_by: None,
            last_active_at: None,
            mfa: false,
            mail: Default::default(),
            max_chats: DEFAULT_MAX_CHATS,
            availability: Default::default(),
            managed: None,
        }
    }

    #[test]
    fn activity_is_recorded_at_most_once_per_grain() {
        let mut u = user("a", "t1", Role::Agent, None);
        let t = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert!(u.activity_due(t), "never recorded");
        u.last_active_at = Some(t);
        assert!(!u.activity_due(t + time::Duration::minutes(4)));
        assert!(u.activity_due(t + ACTIVITY_GRAIN));
        // A clock behind the stored time (another container's) writes nothing.
        assert!(!u.activity_due(t - time::Duration::minutes(1)));
    }

    /// Rule 16: online is recorded activity within the window, and only for an active user.
    #[test]
    fn only_an_active_user_with_recent_activity_is_online() {
        let mut u = user("a", "t1", Role::Agent, None);
        let t = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let since = t - ONLINE_WINDOW;
        assert!(!u.online_since(since), "never seen");
        u.last_active_at = Some(t);
        assert!(u.online_since(since));
        assert!(
            !u.online_since(t + time::Duration::SECOND),
            "before the window"
        );
        u.status = UserStatus::Suspended;
        assert!(!u.online_since(since), "suspended, however recent");
    }

    #[test]
    fn tokens_from_before_the_last_sign_out_are_refused() {
        let mut u = user("a", "t1", Role::Agent, None);
        assert!(u.accepts_token_issued_at(0), "never signed out");
        u.signed_out_at = Some(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
        assert!(!u.accepts_token_issued_at(999));
        assert!(u.accepts_token_issued_at(1_000));
        assert!(u.accepts_token_issued_at(1_001));
    }

    #[test]
    fn agents_see_only_themselves() {
        let me = user("a", "t1", Role::Agent, Some("sales"));
        assert!(me.can_see(&me));
        assert!(!me.can_see(&user("b", "t1", Role::Agent, Some("sales"))));
    }

    #[test]
    fn supervisors_see_their_team_and_themselves() {
        let sup = user("s", "t1", Role::Supervisor, Some("sales"));
        assert!(sup.can_see(&user("a", "t1", Role::Agent, Some("sales"))));
        assert!(!sup.can_see(&user("b", "t1", Role::Agent, Some("support"))));
        assert!(!sup.can_see(&user("c", "t1", Role::Agent, None)));
        let loner = user("l", "t1", Role::Supervisor, None);
        assert!(loner.can_see(&loner));
        assert!(!loner.can_see(&user("c", "t1", Role::Agent, None)));
    }

    #[test]
    fn admins_see_their_whole_tenant_and_no_other() {
        let admin = user("x", "t1", Role::Admin, None);
        assert!(admin.can_see(&user("a", "t1", Role::Agent, Some("sales"))));
        assert!(!admin.can_see(&user("a", "t2", Role::Agent, Some("sales"))));
        let sup = user("s", "t1", Role::Supervisor, Some("sales"));
        assert!(!sup.can_see(&user("a", "t2", Role::Agent, Some("sales"))));
    }

    #[test]
    fn a_scope_admits_exactly_whom_the_role_table_says() {
        let sales = |id: &str| user(id, "t1", Role::Agent, Some("sales"));
        let loner = user("l", "t1", Role::Supervisor, None);
        let sup = user("s", "t1", Role::Supervisor, Some("sales"));
        assert_eq!(
            sup.scope(),
            Scope::TeamAndSelf {
                team: "sales".into(),
                me: "s".into()
            }
        );
        assert!(sup.scope().admits(&sales("a")) && sup.scope().admits(&sup));
        assert!(!sup
            .scope()
            .admits(&user("b", "t1", Role::Agent, Some("support"))));
        assert_eq!(loner.scope(), Scope::SelfOnly { me: "l".into() });
        assert!(!loner.scope().admits(&sales("a")));
        assert_eq!(sales("a").scope(), Scope::SelfOnly { me: "a".into() });
        assert_eq!(user("x", "t1", Role::Admin, None).scope(), Scope::Tenant);
    }

    #[test]
    fn a_filter_defaults_to_live_users_and_narrows_by_each_field() {
        let mut u = user("ann", "t1", Role::Agent, Some("sales"));
        u.name = "Ann Lee".into();
        let any = UserFilter::default();
        assert!(any.matches(&u));
        u.status = UserStatus::Deleted;
        assert!(!any.matches(&u), "tombstones only when asked for");
        let deleted = UserFilter {
            statuses: vec![UserStatus::Deleted],
            ..Default::default()
        };
        assert!(deleted.matches(&u));
        u.status = UserStatus::Suspended;
        assert!(any.matches(&u));
        let narrow = |f: UserFilter| f.matches(&u);
        assert!(narrow(UserFilter {
            role: Some(Role::Agent),
            ..Default::default()
        }));
        assert!(!narrow(UserFilter {
            role: Some(Role::Admin),
            ..Default::default()
        }));
        assert!(!narrow(UserFilter {
            team: Some("support".into()),
            ..Default::default()
        }));
        assert!(narrow(UserFilter {
            search: Some("ann l".into()),
            ..Default::default()
        }));
        assert!(narrow(UserFilter {
            search: Some("@example".into()),
            ..Default::default()
        }));
        assert!(!narrow(UserFilter {
            search: Some("bob".into()),
            ..Default::default()
        }));
    }

    #[test]
    fn only_active_users_hold_a_seat() {
        assert!(UserStatus::Active.holds_seat());
        assert!(!UserStatus::Suspended.holds_seat());
        assert!(!UserStatus::Deleted.holds_seat());
    }

    #[test]
    fn a_deleted_user_keeps_a_readable_name() {
        let mut u = user("jane", "t1", Role::Agent, None);
        u.name = "Jane Doe".into();
        u.status = UserStatus::Deleted;
        assert_eq!(u.display_label(), "Jane Doe (deleted)");
    }
}
