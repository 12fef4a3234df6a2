//! Following an invite link: the preview the accept page shows, and accepting it, in rule 8's
//! order for a new sign-in: claim the invite and the login's lock, make the Cognito identity,
//! commit the user, then converge. A crash anywhere leaves a marker the reconciler finishes;
//! every unusable link reads the same (rule 4).

use crate::domain::{
    ApiError, AuditAction, Change, Clock, Invite, InviteToken, Tenant, User, UserId, UserStatus,
};
use crate::identity::Directory;
use crate::signin::SignIn;
use crate::store::{Marker, Refusal, Store, WriteError};

/// What following a link needs: the directory, the pool and the clock.
pub struct Links<'a> {
    pub store: &'a Store,
    pub directory: &'a Directory,
    pub clock: &'a dyn Clock,
}

impl crate::signin::PoolDeps {
    pub fn links(&self) -> Links<'_> {
        Links {
            store: &self.store,
            directory: &self.directory,
            clock: &*self.clock,
        }
    }
}

/// The invite a token opens: it exists, the secret matches its newest hash, and it is pending
/// and unexpired by the clock. Every failure is the same answer, so a probe learns nothing.
async fn open_invite(l: &Links<'_>, raw: &str) -> Result<Invite, ApiError> {
    let token = InviteToken::parse(raw).ok_or(ApiError::InviteLinkInvalid)?;
    let invite = l
        .store
        .invite(token.invite_id())
        .await?
        .ok_or(ApiError::InviteLinkInvalid)?;
    if !invite.is_open(l.clock.now()) {
        return Err(ApiError::InviteLinkInvalid);
    }
    let hash = invite.token_hash.clone();
    let ok = tokio::task::spawn_blocking(move || token.verify(&hash))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ApiError::InviteLinkInvalid);
    }
    Ok(invite)
}

/// What the accept page shows before a password is chosen: the invite and its company.
pub async fn preview(l: &Links<'_>, raw: &str) -> Result<(Invite, Tenant), ApiError> {
    let invite = open_invite(l, raw).await?;
    let tenant = l
        .store
        .tenant(&invite.tenant_id)
        .await?
        .ok_or(ApiError::InviteLinkInvalid)?;
    Ok((invite, tenant))
}

/// Who joined: the new user and the username they sign in with.
pub struct Joined {
    pub user: User,
    pub username: String,
}

/// Accepts the invite `raw` opens with the password `pw` (already checked against the pool's
/// policy): 201's user, or the refusal. `request_id` names the request in the audit entry.
pub async fn accept(
    l: &Links<'_>,
    raw: &str,
    pw: &str,
    request_id: &str,
) -> Result<Joined, ApiError> {
    let invite = open_invite(l, raw).await?;
    // The company's capacity default as of joining (rule 16), read before any lock is held.
    let max_chats = l
        .store
        .tenant(&invite.tenant_id)
        .await?
        .map_or(crate::domain::user::DEFAULT_MAX_CHATS, |t| {
            t.default_max_chats
        });
    let username = invite.email.normalized().to_string();
    // Claim first, then Cognito, then DynamoDB: a second accept of this link is refused
    // before it can touch the identity.
    let (lock, marker) = claim(l, &invite, &username).await?;
    let now = l.clock.now();
    let signin = SignIn::held(l.store, l.directory, &lock, marker, now);
    let sub = match create_identity(l, &username, pw).await {
        Ok(sub) => sub,
        Err(e) => {
            // Whatever was made for this attempt goes; the invite stays usable.
            if let Err(c) = signin.converge().await {
                tracing::warn!(error = %crate::domain::Chain(&c), "sign-in not converged after a failed accept");
            }
            return Err(e);
        }
    };
    let (user, accepted) = invite.accepted_by(&sub, now, max_chats);
    let joiner = crate::domain::Actor::of(&user);
    let mut entry = Change::new(joiner, now, request_id).on_invite(
        AuditAction::InviteAccepted,
        Some(&invite),
        &accepted,
    );
    // Which user the invite became: the one fact the invite itself does not hold.
    if let Some(after) = entry.after.as_mut() {
        after["userId"] = serde_json::json!(sub);
    }
    crate::journal::will_answer(crate::domain::views::answers::joined(&user, &username));
    match l
        .store
        .accept_invite(&invite, &lock, &user, now, &entry)
        .await
    {
        Ok(()) => {
            // Committed: the answer is 201 whatever Cognito says next; the claim's marker
            // keeps what it still owes.
            if let Err(e) = signin.converge().await {
                tracing::warn!(error = %crate::domain::Chain(&e), "sign-in not converged after accept");
            }
        }
        Err(WriteError::Refused(refusal)) => {
            // Revoked, expired or rotated since we read it, or our lease ran out: the
            // identity made for this attempt goes (nobody DynamoDB doesn't know signs in).
            settle_failed(l, signin, None).await;
            return Err(if refusal == Refusal::NotPending {
                ApiError::InviteLinkInvalid
            } else {
                ApiError::Unavailable("the accept took too long; try again".into())
            });
        }
        Err(e) => {
            // A commit that may have landed: answer the truth once nothing more can land.
            match settle_failed(l, signin, Some(&sub)).await {
                (_, Some(_)) => crate::journal::settled(true),
                // Fenced and no user: the commit can no longer land, so nothing changed.
                (true, None) => {
                    crate::journal::settled(false);
                    return Err(ApiError::Unavailable(crate::domain::Cause::new(e)));
                }
                (false, None) => return Err(e.into()),
            }
        }
    }
    Ok(Joined { user, username })
}

/// The sign-in identity for this acceptance, made while this request holds the login's lock
/// (so no other accept or clean-up touches it meanwhile). An identity that already exists is
/// either left by an earlier attempt that never committed (no user record has its `sub`:
/// reuse it, with this password) or a deleted user's whose removal didn't finish (its `sub`
/// is a tombstone: remove it, start fresh).
async fn create_identity(l: &Links<'_>, login: &str, pw: &str) -> Result<UserId, ApiError> {
    let (sub, existed) = l.directory.create_user(login, pw).await?;
    if !existed {
        return Ok(sub);
    }
    match l.store.user(&sub).await? {
        None => Ok(sub),
        Some(u) if u.status == UserStatus::Deleted => {
            l.directory.delete_user(login).await?;
            let (sub, _) = l.directory.create_user(login, pw).await?;
            Ok(sub)
        }
        // The email guard belongs to this invite, so no live user can have this login.
        Some(_) => Err(ApiError::Unavailable(
            "the sign-in identity belongs to a live user".into(),
        )),
    }
}

/// Holds the invite and the login's lock. Another request holding them (a double-clicked
/// button) is waited for briefly, then answered 409 without touching Cognito.
async fn claim(l: &Links<'_>, invite: &Invite, login: &str) -> Result<(String, Marker), ApiError> {
    let lock = crate::domain::ids::new_id();
    for wait_ms in [250, 250, 0] {
        match l
            .store
            .claim_invite(invite, login, &lock, l.clock.now())
            .await
        {
            Ok(marker) => return Ok((lock, marker)),
            Err(WriteError::Refused(Refusal::SignInLocked)) => {
                if wait_ms == 0 {
                    return Err(ApiError::AcceptInProgress);
                }
                tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            }
            Err(WriteError::Refused(_)) => return Err(ApiError::InviteLinkInvalid),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::AcceptInProgress)
}

/// After a commit that did not answer success: fence off anything still in flight under our
/// lock, bring Cognito in line with whatever DynamoDB says, and answer whether the fence
/// held (so no commit of this attempt can land any more) and whether the user exists after
/// all.
async fn settle_failed(
    l: &Links<'_>,
    signin: SignIn<'_>,
    sub: Option<&UserId>,
) -> (bool, Option<User>) {
    let fenced = match signin.fence().await {
        Ok(fenced) => {
            if let Err(e) = fenced.converge().await {
                // The marker from the claim stays: the reconciler finishes it.
                tracing::warn!(error = %crate::domain::Chain(&e), "sign-in not converged after a failed accept");
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %crate::domain::Chain(&e), "accept lock not fenced");
            false
        }
    };
    let Some(sub) = sub else {
        return (fenced, None);
    };
    match l.store.user(sub).await {
        Ok(Some(u)) if u.status == UserStatus::Active => (fenced, Some(u)),
        Ok(_) => (fenced, None),
        // Not readable: whether it landed is not known.
        Err(_) => (false, None),
    }
}
