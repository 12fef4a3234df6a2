//! Changes to a user: role and team, suspend, reactivate, delete. Each builds the new record
//! and its audit entry from the caller's `Change`, commits both in one transaction and names
//! the rule that refused it (docs/rules.md: seats 1, last admin 6, concurrent edits). The
//! ones that touch sign-in keep the order of rule 8: under the login's lock, stop sign-in
//! first, commit, then the one converge step.

use crate::domain::manage::counter_deltas;
pub use crate::domain::validation::RoleEdit;
use crate::domain::{ApiError, AuditAction, AuditEntry, Change, Tenant, User};
use crate::store::{Refusal, Setting, Store, WriteError};
use serde_json::json;

/// What changing a user needs: the store, and the pricing page a seat refusal links to.
pub struct Users<'a> {
    pub store: &'a Store,
    pub pricing_url: &'a str,
}

/// What the functions that read or change users without touching sign-in (list and
/// change-role) hold for their lifetime. The pool only for the admin gate's two-step check
/// (`http::require_admin`).
#[cfg(feature = "cognito")]
pub struct UsersDeps {
    pub store: Store,
    pub directory: crate::identity::Directory,
    pub clock: std::sync::Arc<dyn crate::domain::Clock>,
    /// The pricing page a seat refusal and the plan view link to.
    pub pricing_url: String,
}

#[cfg(feature = "cognito")]
impl UsersDeps {
    /// As deployed: the SDK configuration, tables, pool and pricing page from Lambda's
    /// environment, and the system clock.
    pub fn from_env() -> Result<UsersDeps, crate::config::ConfigError> {
        let cfg = crate::config::aws()?;
        Ok(UsersDeps {
            store: Store::from_env(&cfg)?,
            directory: crate::identity::Directory::from_env(&cfg)?,
            clock: std::sync::Arc::new(crate::domain::SystemClock),
            pricing_url: crate::config::env("PRICING_URL")?,
        })
    }

    pub fn users(&self) -> Users<'_> {
        Users {
            store: &self.store,
            pricing_url: &self.pricing_url,
        }
    }
}

/// The next version of `before`, changed by `edit`, stamped at the change's time.
pub(crate) fn next(before: &User, change: &Change, edit: impl FnOnce(&mut User)) -> User {
    let mut after = User {
        version: before.version + 1,
        updated_at: change.at,
        ..before.clone()
    };
    edit(&mut after);
    after
}

/// Directory sync's change of a user's name or of the identity provider's link to them (rule
/// 22): a versioned change with its `user.updated` entry. One that changes nothing writes
/// nothing.
pub async fn set_profile(
    users: &Users<'_>,
    change: &Change,
    before: User,
    name: String,
    managed: Option<crate::domain::user::Managed>,
) -> Result<User, ApiError> {
    if before.name == name && before.managed == managed {
        return Ok(before);
    }
    let after = next(&before, change, |u| {
        u.name = name;
        u.managed = managed;
    });
    let entry = change.on_user(AuditAction::UserUpdated, &before, &after);
    commit(users, &before, &after, &entry).await?;
    Ok(after)
}

/// Role and team. Takes effect on the user's next request (rule 5); the last admin's demotion
/// is the commit's condition (rule 6). An edit that changes nothing writes nothing.
pub async fn change_role(
    users: &Users<'_>,
    change: &Change,
    before: User,
    edit: RoleEdit,
) -> Result<User, ApiError> {
    // A client that says which version it edited gets a 409 rather than overwriting a change
    // it never saw; without one, the version just read guards the write.
    if edit.version.is_some_and(|v| v != before.version) {
        return Err(ApiError::VersionConflict {
            current: before.version,
        });
    }
    let after = next(&before, change, |u| {
        u.role = edit.role;
        if let Some(team) = edit.team {
            u.team = team;
        }
        if let Some(n) = edit.max_chats {
            u.max_chats = n;
        }
    });
    let access = after.role != before.role || after.team != before.team;
    if !access && after.max_chats == before.max_chats {
        return Ok(before);
    }
    // One entry per change: a capacity alone has its own action; with a role or team it is
    // part of the role change's snapshots.
    let action = if access {
        AuditAction::RoleChanged
    } else {
        AuditAction::MaxChatsChanged
    };
    let entry = change.on_user(action, &before, &after);
    commit(users, &before, &after, &entry).await?;
    Ok(after)
}

/// Commits a user change and turns a refused transaction into the rule that refused it:
/// a concurrent change (409 version), the last admin (409), or no free seat (409 with the
/// pricing link). The tenant is read only to word a seat refusal; the commit's conditions
/// decide every rule without a read first.
async fn commit(
    users: &Users<'_>,
    before: &User,
    after: &User,
    entry: &AuditEntry,
) -> Result<(), ApiError> {
    let store = users.store;
    crate::journal::will_answer(crate::domain::views::answers::user(after));
    let refusal = match store.change_user(before, after, entry).await {
        Ok(()) => return Ok(()),
        Err(WriteError::Refused(r)) => r,
        Err(e) => return Err(e.into()),
    };
    match refusal {
        Refusal::Stale => {
            let current = store
                .user(&before.id)
                .await?
                .map(|u| u.version)
                .unwrap_or(0);
            Err(ApiError::VersionConflict { current })
        }
        Refusal::LastAdmin => Err(ApiError::LastAdmin),
        Refusal::NoSeat => {
            let (seats, _) = counter_deltas(before, after);
            let t: Tenant = store
                .tenant(&before.tenant_id)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Err(crate::domain::tenant::SeatShortage {
                requested: seats.max(1) as u32,
                free: t.seats_free(),
                limit: t.seat_limit,
            }
            .into_error(users.pricing_url))
        }
        _ => Err(ApiError::Conflict(
            "The change could not be stored; reload and try again.".into(),
        )),
    }
}

/// Availability (rule 16). A user sets their own (not audited, no version); an admin sets
/// anyone's in the company (audited, with exactly what it replaced: the write is conditioned on
/// the record as read, and re-read and tried again when something moved in between). Only an
/// active user has one to set. The same status again still records who set it and when.
pub async fn set_availability(
    store: &Store,
    change: &Change,
    caller: &User,
    mut target: User,
    status: crate::domain::user::Availability,
) -> Result<User, ApiError> {
    use crate::domain::user::AvailabilityState;
    let state = AvailabilityState {
        status,
        set_at: Some(change.at),
        set_by: Some((caller.id.clone(), caller.name.clone())),
    };
    let gone = || ApiError::Conflict("Only an active user has an availability to set.".into());
    if target.id == caller.id {
        return Box::pin(store.set_own_availability(caller, &state))
            .await?
            .ok_or_else(gone);
    }
    for _ in 0..3 {
        if target.status != crate::domain::UserStatus::Active {
            return Err(gone());
        }
        let after = User {
            availability: state.clone(),
            ..target.clone()
        };
        let entry = change.on_availability(&target, &after);
        crate::journal::will_answer(crate::domain::views::answers::user(&after));
        match Box::pin(store.set_availability(&target, &state, &entry)).await {
            Ok(()) => return Ok(after),
            Err(WriteError::Refused(_)) => {
                target = store
                    .user(&target.id)
                    .await?
                    .filter(|u| u.tenant_id == caller.tenant_id)
                    .ok_or(ApiError::NotFound("user"))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(
        "This user's record kept changing; try again.".into(),
    ))
}

/// A quick edit (rule 17): up to 25 users' role, team, availability and capacity, each at the
/// version its row was read at, all or nothing. Every rule a single change keeps holds (the
/// caller's company only, no deleted user, the last admin, availability only for an active
/// user); a refusal names every row that failed and why, and changes nothing. One audit entry
/// per user that changed; a row that changes nothing writes nothing. The answer is the users as
/// they are now, in the rows' order.
pub async fn quick_edit(
    store: &Store,
    change: &Change,
    caller: &User,
    edits: Vec<crate::domain::validation::RowEdit>,
) -> Result<Vec<User>, ApiError> {
    use crate::domain::error::RowRefusal;
    use crate::domain::user::AvailabilityState;
    use crate::domain::UserStatus;

    /// One row as it will be written: the record it was read as, the record it answers (the
    /// version moves only with a versioned field), and its entry if anything changes.
    struct Plan {
        index: usize,
        before: User,
        after: User,
        availability: Option<AvailabilityState>,
        entry: Option<AuditEntry>,
    }
    let refuse = |index: usize, problem, detail: &str| RowRefusal {
        index,
        id: edits[index].id.to_string(),
        problem,
        detail: detail.to_string(),
        current_version: None,
    };
    const STALE: &str = "Changed by someone else since you loaded it.";
    let ids: Vec<_> = edits.iter().map(|e| e.id.clone()).collect();
    let found = Box::pin(store.users(&ids)).await?;
    let mut refused = Vec::new();
    let mut plans = Vec::new();
    for (index, (edit, user)) in edits.iter().zip(found).enumerate() {
        let Some(before) = user.filter(|u| u.tenant_id == caller.tenant_id) else {
            refused.push(refuse(index, "not-found", "No such user in your company."));
            continue;
        };
        if before.status == UserStatus::Deleted {
            refused.push(refuse(index, "user-deleted", "This user was deleted."));
            continue;
        }
        if before.version != edit.version {
            refused.push(RowRefusal {
                current_version: Some(before.version),
                ..refuse(index, "version-conflict", STALE)
            });
            continue;
        }
        let availability = edit
            .availability
            .filter(|a| *a != before.availability.status);
        if availability.is_some() && before.status != UserStatus::Active {
            refused.push(refuse(
                index,
                "not-active",
                "Only an active user has an availability to set.",
            ));
            continue;
        }
        let moved = |u: &User| {
            edit.role.is_some_and(|r| r != u.role)
                || edit.team.as_ref().is_some_and(|t| *t != u.team)
                || edit.max_chats.is_some_and(|n| n != u.max_chats)
        };
        let mut after = if moved(&before) {
            next(&before, change, |u| {
                u.role = edit.role.unwrap_or(u.role);
                if let Some(t) = &edit.team {
                    u.team = t.clone();
                }
                u.max_chats = edit.max_chats.unwrap_or(u.max_chats);
            })
        } else {
            before.clone()
        };
        let availability = availability.map(|status| AvailabilityState {
            status,
            set_at: Some(change.at),
            set_by: Some((caller.id.clone(), caller.name.clone())),
        });
        if let Some(a) = &availability {
            after.availability = a.clone();
        }
        let action = if after.role != before.role || after.team != before.team {
            Some(AuditAction::RoleChanged)
        } else if after.max_chats != before.max_chats {
            Some(AuditAction::MaxChatsChanged)
        } else if availability.is_some() {
            Some(AuditAction::AvailabilityChanged)
        } else {
            None
        };
        let entry = action.map(|action| {
            // Availability alone reads as the single route's entry does.
            if action == AuditAction::AvailabilityChanged {
                return change.on_availability(&before, &after);
            }
            let mut entry = change.on_user(action, &before, &after);
            let avail = |u: &User| json!(u.availability.status.as_str());
            if let (Some(b), Some(a)) = (entry.before.as_mut(), entry.after.as_mut()) {
                b["availability"] = avail(&before);
                a["availability"] = avail(&after);
            }
            entry
        });
        plans.push(Plan {
            index,
            before,
            after,
            availability,
            entry,
        });
    }
    if !refused.is_empty() {
        return Err(ApiError::RowsRefused(refused));
    }
    let answer: Vec<User> = plans.iter().map(|p| p.after.clone()).collect();
    let rows: Vec<crate::store::QuickRow<'_>> = plans
        .iter()
        .filter_map(|p| {
            p.entry.as_ref().map(|entry| crate::store::QuickRow {
                index: p.index,
                before: &p.before,
                after: &p.after,
                availability: p.availability.as_ref(),
                entry,
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(answer);
    }
    crate::journal::will_answer(crate::domain::views::answers::users(&answer));
    let refusal = match Box::pin(store.quick_edit(&rows)).await {
        Ok(()) => return Ok(answer),
        Err(WriteError::Refused(r)) => r,
        Err(e) => return Err(e.into()),
    };
    let refused = match refusal {
        Refusal::StaleRows(stale) => {
            let now = Box::pin(store.users(&ids)).await?;
            stale
                .into_iter()
                .map(|i| RowRefusal {
                    current_version: now.get(i).and_then(Option::as_ref).map(|u| u.version),
                    ..refuse(i, "version-conflict", STALE)
                })
                .collect()
        }
        Refusal::LastAdmin => plans
            .iter()
            .filter(|p| counter_deltas(&p.before, &p.after).1 < 0)
            .map(|p| {
                refuse(
                    p.index,
                    "last-admin",
                    "The company would be left without an active admin.",
                )
            })
            .collect(),
        _ => {
            return Err(ApiError::Conflict(
                "The change could not be stored; reload and try again.".into(),
            ))
        }
    };
    Err(ApiError::RowsRefused(refused))
}

/// The chat capacity users who join start with (an admin's, audited). Users already in the
/// company keep theirs.
pub async fn set_default_max_chats(
    store: &Store,
    change: &Change,
    caller: &User,
    max_chats: u32,
    pricing_url: &str,
) -> Result<Tenant, ApiError> {
    change_setting(
        store,
        change,
        caller,
        Setting::DefaultMaxChats(max_chats),
        pricing_url,
    )
    .await
}

/// A company admin's "require two-step verification" (rule 14), audited. Requiring it of one's
/// own role without having it is refused: the very next admin request would be.
pub async fn set_mfa_policy(
    store: &Store,
    change: &Change,
    caller: &User,
    policy: crate::domain::tenant::MfaPolicy,
    pricing_url: &str,
) -> Result<Tenant, ApiError> {
    if policy.requires(caller.role) && !caller.mfa {
        return Err(ApiError::MfaPolicy("not-set-up"));
    }
    change_setting(
        store,
        change,
        caller,
        Setting::MfaPolicy(policy),
        pricing_url,
    )
    .await
}

/// A company setting, audited: conditioned on the value read, so the entry's "before" is what
/// it replaced; another admin's change in between is read again and tried again (three times
/// in all). The same value again writes nothing.
async fn change_setting(
    store: &Store,
    change: &Change,
    caller: &User,
    setting: Setting,
    pricing_url: &str,
) -> Result<Tenant, ApiError> {
    for _ in 0..3 {
        let tenant = store
            .tenant(&caller.tenant_id)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        let (action, before, after) = match setting {
            Setting::DefaultMaxChats(n) => (
                AuditAction::DefaultMaxChatsChanged,
                json!({"defaultMaxChats": tenant.default_max_chats}),
                Tenant {
                    default_max_chats: n,
                    ..tenant.clone()
                },
            ),
            Setting::MfaPolicy(p) => (
                AuditAction::MfaPolicyChanged,
                json!({"mfaPolicy": tenant.mfa_policy.as_str()}),
                Tenant {
                    mfa_policy: p,
                    ..tenant.clone()
                },
            ),
        };
        if after == tenant {
            return Ok(tenant);
        }
        let now = match setting {
            Setting::DefaultMaxChats(n) => json!({"defaultMaxChats": n}),
            Setting::MfaPolicy(p) => json!({"mfaPolicy": p.as_str()}),
        };
        let entry = change.on_tenant(action, &tenant, Some(before), now);
        crate::journal::will_answer(crate::domain::idempotency::Answer::json(
            200,
            &crate::domain::views::TenantView::new(&after, pricing_url),
        ));
        match Box::pin(store.set_tenant_setting(&tenant, setting, &entry)).await {
            Ok(()) => return Ok(after),
            Err(WriteError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable(
        "the company's settings kept changing; nothing was changed, try again".into(),
    ))
}

#[cfg(all(feature = "cognito", feature = "ses"))]
pub(crate) use signin::sign_out_stamp;
#[cfg(feature = "cognito")]
pub use signin::{
    change_password, delete, mfa_reset, mfa_secret, mfa_turn_off, mfa_turn_on, reactivate,
    sign_out, sign_out_user, suspend, SignInDeps, SignIns,
};

#[cfg(feature = "cognito")]
mod signin {
    use super::*;
    use crate::domain::{Clock, UserStatus};
    use crate::identity::Directory;

    /// What a change that touches sign-in needs besides `Users`: the pool, and the clock the
    /// login's lock is leased by.
    pub struct SignIns<'a> {
        pub users: Users<'a>,
        pub directory: &'a Directory,
        pub clock: &'a dyn Clock,
    }

    /// What the functions whose routes change sign-in (suspend and reactivate, delete) hold
    /// for their lifetime; each request borrows a `SignIns` from it.
    pub struct SignInDeps {
        pub store: Store,
        pub directory: Directory,
        pub clock: std::sync::Arc<dyn Clock>,
        pub pricing_url: String,
    }

    impl SignInDeps {
        /// As deployed: the SDK configuration, tables, pool and pricing page from Lambda's
        /// environment, and the system clock.
        pub fn from_env() -> Result<SignInDeps, crate::config::ConfigError> {
            let cfg = crate::config::aws()?;
            Ok(SignInDeps {
                store: Store::from_env(&cfg)?,
                directory: Directory::from_env(&cfg)?,
                clock: std::sync::Arc::new(crate::domain::SystemClock),
                pricing_url: crate::config::env("PRICING_URL")?,
            })
        }

        pub fn signins(&self) -> SignIns<'_> {
            SignIns::new(
                &self.store,
                &self.directory,
                &*self.clock,
                &self.pricing_url,
            )
        }
    }

    impl<'a> SignIns<'a> {
        pub fn new(
            store: &'a Store,
            directory: &'a Directory,
            clock: &'a dyn Clock,
            pricing_url: &'a str,
        ) -> SignIns<'a> {
            SignIns {
                users: Users { store, pricing_url },
                directory,
                clock,
            }
        }
    }

    /// Suspend: signed out everywhere and unable to sign in, the seat free (rule 1), the data
    /// kept. An admin can't suspend themselves.
    pub async fn suspend(s: &SignIns<'_>, change: &Change, before: User) -> Result<User, ApiError> {
        if change.actor.id == before.id.as_str() {
            return Err(ApiError::SelfAction("suspend"));
        }
        // Rule 6 needs no read first: the caller is another active admin, so only a
        // concurrent change can make the target the last one, and the commit's condition
        // catches that.
        set_status(
            s,
            change,
            before,
            UserStatus::Suspended,
            AuditAction::UserSuspended,
        )
        .await
    }

    /// Reactivate: takes a seat again, the commit's condition (`seatsUsed < seatLimit`).
    pub async fn reactivate(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
    ) -> Result<User, ApiError> {
        set_status(
            s,
            change,
            before,
            UserStatus::Active,
            AuditAction::UserReactivated,
        )
        .await
    }

    /// Sign out everywhere (rule 5): every session of the user ends and the account, its role
    /// and its seat stay as they are. An admin does it to a user who lost a device ("sign out
    /// of all devices"), anyone to themselves ("sign out everywhere"). Cognito first (no
    /// refresh token works again), then the stamp that refuses every access token issued
    /// before it; a failure between the two leaves the tokens refreshless and a retry stamps.
    /// A suspended user was signed out when suspended, so nothing is done twice.
    pub async fn sign_out(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
    ) -> Result<User, ApiError> {
        match before.status {
            UserStatus::Deleted => return Err(ApiError::UserDeleted),
            UserStatus::Suspended => return Ok(before),
            UserStatus::Active => {}
        }
        end_sessions(s, change, before, AuditAction::UserSignedOut).await
    }

    /// An admin's "sign out of all devices" for another user; their own sessions they end with
    /// `sign_out` ("sign out everywhere" on their profile).
    pub async fn sign_out_user(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
    ) -> Result<User, ApiError> {
        if change.actor.id == before.id.as_str() {
            return Err(ApiError::SelfAction("sign out"));
        }
        sign_out(s, change, before).await
    }

    /// A user's own new password (rule 5): Cognito checks the current password and sets the
    /// new one, authorized by the caller's own access token; then every session of theirs ends
    /// as with `sign_out`, this one included, and the change is audited. A failure after
    /// Cognito took the password can't say that nothing was changed (rule 11).
    pub async fn change_password(
        s: &SignIns<'_>,
        change: &Change,
        caller: User,
        access_token: &str,
        pw: &crate::domain::validation::PasswordChange,
    ) -> Result<User, ApiError> {
        s.directory
            .change_password(access_token, &pw.current, &pw.new)
            .await
            .map_err(|e| match e {
                crate::identity::IdentityError::WeakPassword(m) => {
                    ApiError::WeakPassword(vec![crate::domain::FieldError::new("newPassword", m)])
                }
                e => e.into(),
            })?;
        crate::journal::changed_elsewhere();
        end_sessions(s, change, caller, AuditAction::PasswordChanged).await
    }

    /// Every session of an active user ended at Cognito, then stamped on the record (with the
    /// audit entry `action`).
    async fn end_sessions(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
        action: AuditAction,
    ) -> Result<User, ApiError> {
        s.directory
            .sign_out_everywhere(before.email.as_str())
            .await?;
        // The sessions are gone whatever the commit does: a failure from here on can't say
        // that nothing was changed (rule 11), and a retry with the key finishes the stamp.
        crate::journal::changed_elsewhere();
        let stamp = sign_out_stamp()?;
        let by = crate::domain::UserId::parse(&change.actor.id);
        record_on_current(s, change, before, action, |u| {
            u.signed_out_at = Some(stamp);
            u.signed_out_by = by.clone();
        })
        .await
    }

    /// What Cognito already did, recorded on the user as the record now is: another edit of
    /// the user in between (a role change) is no reason to fail. Each turn follows a commit of
    /// someone else's, and the request's deadline bounds them all (rule 11 words that answer).
    /// A user suspended meanwhile was signed out by that change already.
    async fn record_on_current(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
        action: AuditAction,
        edit: impl Fn(&mut User),
    ) -> Result<User, ApiError> {
        record_on(s, change, before, action, edit, false).await
    }

    /// As `record_on_current`; with `also_suspended`, a user suspended meanwhile still gets
    /// the edit (what Cognito now holds of their two-step verification is true of them too).
    async fn record_on(
        s: &SignIns<'_>,
        change: &Change,
        mut before: User,
        action: AuditAction,
        edit: impl Fn(&mut User),
        also_suspended: bool,
    ) -> Result<User, ApiError> {
        loop {
            let after = next(&before, change, &edit);
            let entry = change.on_user(action, &before, &after);
            match commit(&s.users, &before, &after, &entry).await {
                Err(ApiError::VersionConflict { .. }) => {}
                done => return done.map(|()| after),
            }
            before = match s.users.store.user(&before.id).await? {
                Some(u) if u.status == UserStatus::Active => u,
                Some(u) if u.status == UserStatus::Suspended && also_suspended => u,
                Some(u) if u.status == UserStatus::Suspended => return Ok(u),
                _ => return Err(ApiError::UserDeleted),
            };
        }
    }

    /// Set-up, step one: a new authenticator secret for the caller, from Cognito with their
    /// own token. Nothing is on, stored or audited until a code from it is verified.
    /// Cognito is asked first, whatever the record says, and the record follows it:
    /// - on at Cognito, off in the record (a set-up cut before its commit): recorded as on and
    ///   answered `mfa-on`: a new secret would not take over until verified, and the app the
    ///   user already has is the one Cognito asks for;
    /// - off at Cognito, on in the record (turned off with the user's own token, outside this
    ///   API: rule 14's bypass, which the admin gate refuses): recorded as off, audited, and
    ///   the set-up goes on, so the way back the gate points to is open.
    pub async fn mfa_secret(
        s: &SignIns<'_>,
        change: &Change,
        caller: User,
        access_token: &str,
    ) -> Result<String, ApiError> {
        let on = s.directory.totp_on(&caller.login()).await?;
        if on != caller.mfa {
            let after = next(&caller, change, |u| u.mfa = on);
            let action = if on {
                AuditAction::MfaEnabled
            } else {
                AuditAction::MfaDisabled
            };
            let entry = change.on_user(action, &caller, &after);
            // Not through `commit`, which would make the user this request's answer: the
            // answer is the 409 or the secret. A change landed meanwhile is left to the next
            // request.
            match s.users.store.change_user(&caller, &after, &entry).await {
                Ok(()) | Err(WriteError::Refused(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if on {
            return Err(ApiError::MfaAlreadyOn);
        }
        Ok(s.directory.new_totp_secret(access_token).await?)
    }

    /// Set-up, step two (rule 14): the first code verified and the authenticator preferred at
    /// Cognito, then read back from Cognito; the record's `mfa` is what Cognito said.
    pub async fn mfa_turn_on(
        s: &SignIns<'_>,
        change: &Change,
        caller: User,
        access_token: &str,
        code: &str,
    ) -> Result<User, ApiError> {
        if caller.mfa {
            return Err(ApiError::MfaAlreadyOn);
        }
        // Already on at Cognito (a set-up cut before its commit): this retry only records it.
        if !s.directory.totp_on(&caller.login()).await? {
            // Marked before the call: once sent, Cognito may have taken it though the answer
            // is lost (a refusal stays what it is; only "unavailable" is reworded).
            crate::journal::changed_elsewhere();
            s.directory.turn_on_totp(access_token, code).await?;
        }
        record_mfa(s, change, caller, AuditAction::MfaEnabled).await
    }

    /// The caller's own "turn off" (rule 14): refused while the company requires it of their
    /// role, and unless their password and a current code pass a sign-in at Cognito now
    /// (`Directory::check_password_and_code`). No session ends: it is their own choice.
    pub async fn mfa_turn_off(
        s: &SignIns<'_>,
        change: &Change,
        caller: User,
        proof: &crate::domain::validation::MfaOff,
        policy: crate::domain::tenant::MfaPolicy,
    ) -> Result<User, ApiError> {
        if policy.requires(caller.role) {
            return Err(ApiError::MfaPolicy("required"));
        }
        let login = caller.login();
        s.directory
            .check_password_and_code(&login, &proof.password, &proof.code)
            .await
            .map_err(|e| match e {
                crate::identity::IdentityError::WrongPassword => {
                    ApiError::Invalid(vec![crate::domain::FieldError::new(
                        "password",
                        "is not your password",
                    )])
                }
                e => e.into(),
            })?;
        crate::journal::changed_elsewhere();
        s.directory.turn_off_totp(&login).await?;
        record_mfa(s, change, caller, AuditAction::MfaDisabled).await
    }

    /// An admin's reset for a user who lost their device (rule 14): the authenticator off at
    /// Cognito and every session ended, then both recorded with the audit entry. Cognito
    /// first, always: a record that says off while Cognito still asks (a set-up cut before
    /// its commit) is brought in line by the same reset.
    pub async fn mfa_reset(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
    ) -> Result<User, ApiError> {
        if change.actor.id == before.id.as_str() {
            return Err(ApiError::SelfAction("reset two-step verification for"));
        }
        if before.status == UserStatus::Deleted {
            return Err(ApiError::UserDeleted);
        }
        let login = before.login();
        crate::journal::changed_elsewhere();
        s.directory.turn_off_totp(&login).await?;
        s.directory.sign_out_everywhere(&login).await?;
        let on = s.directory.totp_on(&login).await?;
        let stamp = sign_out_stamp()?;
        let by = crate::domain::UserId::parse(&change.actor.id);
        let edit = |u: &mut User| {
            u.mfa = on;
            if u.status == UserStatus::Active {
                u.signed_out_at = Some(stamp);
                u.signed_out_by = by.clone();
            }
        };
        record_on(s, change, before, AuditAction::MfaReset, edit, true).await
    }

    /// Cognito read back (AdminGetUser) and its answer recorded: the record never says on
    /// unless Cognito does. Unchanged, nothing is written.
    async fn record_mfa(
        s: &SignIns<'_>,
        change: &Change,
        caller: User,
        action: AuditAction,
    ) -> Result<User, ApiError> {
        let on = s.directory.totp_on(&caller.login()).await?;
        if on == caller.mfa {
            return Ok(caller);
        }
        record_on(s, change, caller, action, |u| u.mfa = on, true).await
    }

    /// When a sign-out made now takes effect: Cognito's `iat` is whole seconds and a token is
    /// refused only when issued before the stamp's second, so the stamp is the next second: a
    /// token issued in this one, before the sign-out, is refused too. Wall clock, as Cognito's
    /// (the domain clock is the tests').
    pub(crate) fn sign_out_stamp() -> Result<time::OffsetDateTime, ApiError> {
        let now = crate::domain::SystemClock.now().unix_timestamp();
        time::OffsetDateTime::from_unix_timestamp(now + 1)
            .map_err(|e| ApiError::Internal(crate::domain::Cause::new(e)))
    }

    /// Delete (rule 9): a tombstone that keeps the name, the seat and the email free at once,
    /// the sign-in identity removed by the converge step. An admin can't delete themselves.
    pub async fn delete(s: &SignIns<'_>, change: &Change, before: User) -> Result<User, ApiError> {
        if change.actor.id == before.id.as_str() {
            return Err(ApiError::SelfAction("delete"));
        }
        // Rule 6 is the commit's condition (see `suspend` for why no read first).
        set_status(
            s,
            change,
            before,
            UserStatus::Deleted,
            AuditAction::UserDeleted,
        )
        .await
    }

    /// A user already in the status asked for (perhaps a retry after the commit) only gets
    /// Cognito brought in line; anyone else is changed and committed in rule 8's order.
    async fn set_status(
        s: &SignIns<'_>,
        change: &Change,
        before: User,
        to: UserStatus,
        action: AuditAction,
    ) -> Result<User, ApiError> {
        if before.status == to {
            converge(s, &before).await?;
            return Ok(before);
        }
        let after = next(&before, change, |u| u.status = to);
        // An active admin stopping: refused before sign-in is touched when they are the last
        // (rule 6). An admin in the console is another active admin, so only a race can make
        // the target the last one, and the commit's condition catches that; directory sync
        // (rule 22) is no admin, and without this read its refused change would still have
        // signed the last admin out everywhere.
        if crate::domain::manage::counter_deltas(&before, &after).1 < 0 {
            let tenant = s.users.store.tenant(&before.tenant_id).await?;
            if tenant.is_some_and(|t| t.active_admins <= 1) {
                return Err(ApiError::LastAdmin);
            }
        }
        let entry = change.on_user(action, &before, &after);
        commit_signin(s, &before, after, &entry).await
    }

    /// A user change that touches sign-in, under the login's lock: a change that stops the
    /// user stops sign-in first, then the commit, then the one converge step whatever the
    /// commit answered (its refusal may have come from another admin's change, so nothing
    /// here assumes what Cognito should be). The answer is the commit's: once committed, what
    /// Cognito still owes is in the lock's marker.
    async fn commit_signin(
        s: &SignIns<'_>,
        before: &User,
        mut after: User,
        entry: &AuditEntry,
    ) -> Result<User, ApiError> {
        let store = s.users.store;
        let signin =
            crate::signin::SignIn::lock(store, s.directory, s.clock, &after.login()).await?;
        if after.status != UserStatus::Active {
            if let Err(e) = signin.disable_first().await {
                // It may have landed anyway; DynamoDB did not change, so converge puts it back.
                if let Err(c) = signin.converge().await {
                    tracing::warn!(error = %crate::domain::Chain(&c), "sign-in not converged after a failed disable");
                }
                return Err(e.into());
            }
            // Stamped once sign-in and refresh are stopped, so no token can be issued after
            // it: every token older than this is refused for good (rule 5). Read from the wall
            // clock, as Cognito's `iat` is, not the domain clock (which tests move).
            after.signed_out_at = Some(crate::domain::SystemClock.now());
            after.signed_out_by = crate::domain::UserId::parse(&entry.actor.id);
        }
        let committed = commit(&s.users, before, &after, entry).await;
        if let Err(e) = signin.converge().await {
            tracing::warn!(error = %crate::domain::Chain(&e), "sign-in not converged after a user change");
        }
        committed.map(|()| after)
    }

    /// The converge step alone: a retry of a change that already committed finishes here.
    async fn converge(s: &SignIns<'_>, user: &User) -> Result<(), ApiError> {
        crate::signin::converge(s.users.store, s.directory, s.clock, &user.login()).await?;
        Ok(())
    }
}
