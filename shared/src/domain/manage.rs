//! The rules for an admin acting on another user: who may, on whom, and what the tenant's
//! counters do when a user's role or status changes.

use super::{ApiError, Invite, Role, TenantId, User, UserStatus};

pub fn require_admin(caller: &User, what: &'static str) -> Result<(), ApiError> {
    if caller.role.manages_users() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(what))
    }
}

/// A record that belongs to one company, found by an id a client sent.
pub trait Owned {
    /// What a 404 calls it.
    const KIND: &'static str;
    fn tenant_id(&self) -> &TenantId;
}

impl Owned for User {
    const KIND: &'static str = "user";
    fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }
}

impl Owned for Invite {
    const KIND: &'static str = "invite";
    fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }
}

/// Rule 7's one home: the record at `{id}` if it is in the caller's company. A missing id and
/// another company's read the same, so an id says nothing about who else exists.
pub fn own<T: Owned>(caller: &User, found: Option<T>) -> Result<T, ApiError> {
    match found {
        Some(r) if r.tenant_id() == &caller.tenant_id => Ok(r),
        _ => Err(ApiError::NotFound(T::KIND)),
    }
}

/// A user the caller may read: one of the company's (`own`) within the caller's view
/// (`User::can_see`); a teammate outside it reads as missing too.
pub fn visible(caller: &User, found: Option<User>) -> Result<User, ApiError> {
    match own(caller, found)? {
        u if caller.can_see(&u) => Ok(u),
        _ => Err(ApiError::NotFound(User::KIND)),
    }
}

/// The user an admin changes: one of the company's (`own`), and not a tombstone.
pub fn target(caller: &User, found: Option<User>) -> Result<User, ApiError> {
    let u = own(caller, found)?;
    if u.status == UserStatus::Deleted {
        Err(ApiError::UserDeleted)
    } else {
        Ok(u)
    }
}

/// Seat and admin-count changes when a user goes from `before` to `after` (docs/rules.md, rules 1 and 6).
pub fn counter_deltas(before: &User, after: &User) -> (i64, i64) {
    let seat = |u: &User| i64::from(u.status.holds_seat());
    let admin = |u: &User| i64::from(u.status == UserStatus::Active && u.role == Role::Admin);
    (seat(after) - seat(before), admin(after) - admin(before))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn user(id: &str, tenant: &str, role: Role, status: UserStatus) -> User {
        User {
            id: id.into(),
            tenant_id: tenant.into(),
            email: crate::domain::Email::parse(&format!("{id}@example.com")).unwrap(),
            name: id.into(),
            role,
            team: None,
            status,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            version: 1,
            signed_out_at: None,
            signed_out_by: None,
            last_active_at: None,
            mfa: false,
            mail: Default::default(),
            max_chats: crate::domain::user::DEFAULT_MAX_CHATS,
            availability: Default::default(),
            managed: None,
        }
    }

    #[test]
    fn counters_follow_status_and_role() {
        use Role::*;
        use UserStatus::*;
        let d = |a, b| counter_deltas(&user("u", "t", a, b), &user("u", "t", a, b));
        assert_eq!(d(Agent, Active), (0, 0));
        let d = |a: (Role, UserStatus), b: (Role, UserStatus)| {
            counter_deltas(&user("u", "t", a.0, a.1), &user("u", "t", b.0, b.1))
        };
        assert_eq!(d((Agent, Active), (Agent, Suspended)), (-1, 0));
        assert_eq!(d((Admin, Active), (Admin, Suspended)), (-1, -1));
        assert_eq!(d((Admin, Suspended), (Admin, Active)), (1, 1));
        assert_eq!(d((Admin, Active), (Agent, Active)), (0, -1));
        assert_eq!(d((Agent, Active), (Admin, Active)), (0, 1));
        assert_eq!(d((Admin, Suspended), (Agent, Suspended)), (0, 0));
        assert_eq!(d((Supervisor, Active), (Supervisor, Deleted)), (-1, 0));
        assert_eq!(d((Agent, Suspended), (Agent, Deleted)), (0, 0));
    }

    #[test]
    fn admins_act_only_on_live_users_of_their_own_tenant() {
        let admin = user("a", "t1", Role::Admin, UserStatus::Active);
        assert_eq!(
            target(
                &admin,
                Some(user("x", "t2", Role::Agent, UserStatus::Active))
            ),
            Err(ApiError::NotFound("user"))
        );
        assert_eq!(target(&admin, None), Err(ApiError::NotFound("user")));
        assert_eq!(
            target(
                &admin,
                Some(user("x", "t1", Role::Agent, UserStatus::Deleted))
            ),
            Err(ApiError::UserDeleted)
        );
        assert!(target(
            &admin,
            Some(user("x", "t1", Role::Agent, UserStatus::Suspended))
        )
        .is_ok());
        let agent = user("b", "t1", Role::Agent, UserStatus::Active);
        assert_eq!(
            require_admin(&agent, "suspend users"),
            Err(ApiError::Forbidden("suspend users"))
        );
    }

    #[test]
    fn another_companys_invite_reads_as_missing() {
        let admin = user("a", "t1", Role::Admin, UserStatus::Active);
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut theirs = crate::domain::invite::tests::invite(now);
        theirs.tenant_id = "t2".into();
        assert_eq!(
            own(&admin, Some(theirs.clone())),
            Err(ApiError::NotFound("invite"))
        );
        assert_eq!(
            own::<Invite>(&admin, None),
            Err(ApiError::NotFound("invite"))
        );
        theirs.tenant_id = "t1".into();
        assert_eq!(own(&admin, Some(theirs.clone())), Ok(theirs));
    }

    #[test]
    fn a_teammate_outside_the_callers_view_reads_as_missing() {
        let agent = user("b", "t1", Role::Agent, UserStatus::Active);
        let other = user("c", "t1", Role::Agent, UserStatus::Active);
        assert_eq!(
            visible(&agent, Some(other)),
            Err(ApiError::NotFound("user"))
        );
        assert_eq!(visible(&agent, Some(agent.clone())), Ok(agent.clone()));
        let admin = user("a", "t1", Role::Admin, UserStatus::Active);
        let elsewhere = user("x", "t2", Role::Agent, UserStatus::Active);
        assert_eq!(
            visible(&admin, Some(elsewhere)),
            Err(ApiError::NotFound("user"))
        );
    }
}
