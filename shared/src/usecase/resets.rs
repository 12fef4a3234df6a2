//! Password resets (docs/rules.md, rule 13): the public "forgot password" form, an admin's
//! "send password reset", and a link setting a new password.
//!
//! The form answers the same whoever the address belongs to; the work behind it is alike on
//! every path (the same reads, the same hash) and its answer waits for a fixed floor, so
//! neither the body, the status nor the time says whether an account exists. A link sets the
//! password in rule 8's order: under the login's lock, Cognito first (the password, then every
//! session), then one transaction that marks the link used, stamps the user signed out and
//! writes the audit entry. A failure between leaves the old password or the new one working,
//! never neither, and the same link again finishes the job.

use crate::domain::email_template::{
    render_reset, render_two_step_reset, Inviter, ResetMail, TwoStepResetMail,
};
use crate::domain::reset::{LinkState, Matched, PasswordReset};
use crate::domain::views::answers;
use crate::domain::{
    ApiError, AuditAction, Change, Clock, Email, ResetToken, Tenant, User, UserId, UserStatus,
};
use crate::identity::Directory;
use crate::mail::Mailer;
use crate::mail::{About, MailKind};
use crate::signin::SignIn;
use crate::store::{Refusal, Store, WriteError};
use std::time::Duration;
use tokio::time::Instant;

/// The least time the public form takes to answer. Every path (an unknown address, an invite's,
/// a suspended user's, one past its limit, or a sent email) waits for it, so what differs
/// between them (a write and an SES call, tens of milliseconds on AWS) is hidden under it. An
/// answer that took longer (SES slow) is logged: that one request's time could differ.
pub const ANSWER_FLOOR: Duration = Duration::from_millis(400);

/// Waits until `floor` (the public form's answer time); an answer that is already later is
/// logged, since its time alone could tell a sent email from none.
pub async fn wait_for_floor(floor: Instant) {
    let now = Instant::now();
    if now > floor {
        tracing::warn!(
            over_ms = (now - floor).as_millis() as u64,
            "a reset request answered after its floor"
        );
    }
    tokio::time::sleep_until(floor).await;
}

/// Rounds of re-reading a user that another admin changed between our read and our commit.
const ROUNDS: usize = 3;

/// What resetting needs: the directory, the pool, the mailer, where links point, the clock.
pub struct Resets<'a> {
    pub store: &'a Store,
    pub directory: &'a Directory,
    pub mailer: &'a Mailer,
    pub app_url: &'a str,
    pub clock: &'a dyn Clock,
}

/// What the `reset-password` function holds for its lifetime.
pub struct ResetDeps {
    pub store: Store,
    pub directory: Directory,
    pub mailer: Mailer,
    pub clock: std::sync::Arc<dyn Clock>,
    /// The console's address, which reset links open.
    pub app_url: String,
    /// The pricing page a seat refusal points to (`SignIns` carries it for every sign-in
    /// change; the two-step reset never refuses a seat).
    pub pricing_url: String,
}

impl ResetDeps {
    /// As deployed: the SDK configuration, tables, pool, sender and console URL from Lambda's
    /// environment, and the system clock.
    pub fn from_env() -> Result<ResetDeps, crate::config::ConfigError> {
        let cfg = crate::config::aws()?;
        Ok(ResetDeps {
            store: Store::from_env(&cfg)?,
            directory: Directory::from_env(&cfg)?,
            mailer: Mailer::from_env(&cfg)?,
            clock: std::sync::Arc::new(crate::domain::SystemClock),
            app_url: crate::config::env("APP_URL")?,
            pricing_url: crate::config::env("PRICING_URL")?,
        })
    }

    /// For an admin's two-step reset, which is a sign-in change (`users::mfa_reset`).
    pub fn signins(&self) -> crate::usecase::users::SignIns<'_> {
        crate::usecase::users::SignIns::new(
            &self.store,
            &self.directory,
            &*self.clock,
            &self.pricing_url,
        )
    }

    pub fn resets(&self) -> Resets<'_> {
        Resets {
            store: &self.store,
            directory: &self.directory,
            mailer: &self.mailer,
            app_url: &self.app_url,
            clock: &*self.clock,
        }
    }
}

pub fn reset_link(app_url: &str, token: &ResetToken) -> String {
    format!(
        "{}/reset#token={}",
        app_url.trim_end_matches('/'),
        token.expose()
    )
}

/// A new token for `user` and its hash, made off the async runtime.
async fn new_token(user: &UserId) -> Result<(ResetToken, String), ApiError> {
    let token = ResetToken::generate(user);
    let t = token.clone();
    let hash = tokio::task::spawn_blocking(move || t.hash())
        .await
        .map_err(|e| ApiError::Internal(crate::domain::Cause::new(e)))?;
    Ok((token, hash))
}

/// The public form (`POST /password-resets`): a link to `email` if it is an active user's and
/// the hour's limit allows. Only a failed lookup is an error: every path makes the same reads
/// first, so it says nothing about the address (and nothing was sent). Whatever fails after it
/// differs by path, so it is logged and the answer stays the same.
pub async fn request(
    r: &Resets<'_>,
    email: &Email,
    time_zone: Option<&str>,
    until: Instant,
) -> Result<(), ApiError> {
    let (user, prev) = r.store.reset_lookup(email).await?;
    let now = r.clock.now();
    // The same hash on every path: nobody's token costs what a user's does.
    let nobody = UserId::parse("nobody");
    let Some(id) = user.as_ref().map(|u| u.id.clone()).or(nobody) else {
        return Ok(());
    };
    let (token, hash) = new_token(&id).await?;
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
        return Ok(());
    };
    if let Some(next) = PasswordReset::next_send_at(prev.as_ref(), now) {
        tracing::info!(user = %user.id, next = %next, "reset limit reached; nothing sent");
        return Ok(());
    }
    let after = PasswordReset::issued(prev.as_ref(), &user, hash, now, None);
    if let Err(e) = r.store.save_reset(prev.as_ref(), &after, None).await {
        tracing::warn!(user = %user.id, error = %crate::domain::Chain(&e), "reset not saved; nothing sent");
        return Ok(());
    }
    if let Err(e) = send(r, &user, None, &after, &token, time_zone, until).await {
        tracing::warn!(user = %user.id, error = %crate::domain::Chain(&e), "reset email not sent");
    }
    Ok(())
}

/// An admin's "send password reset" (`POST /users/{id}/password-reset`): the same email,
/// worded as theirs, under the same limit, audited. The target is one of the admin's company's
/// users (the handler checked); suspended and deleted users get nothing.
pub async fn send_by_admin(
    r: &Resets<'_>,
    change: &Change,
    admin: &User,
    target: User,
    time_zone: Option<&str>,
    until: Instant,
) -> Result<PasswordReset, ApiError> {
    match target.status {
        UserStatus::Deleted => return Err(ApiError::UserDeleted),
        UserStatus::Suspended => return Err(ApiError::UserSuspended),
        UserStatus::Active => {}
    }
    let (_, prev) = r.store.user_and_reset(&target.id).await?;
    let now = r.clock.now();
    if let Some(next) = PasswordReset::next_send_at(prev.as_ref(), now) {
        return Err(ApiError::TooManyResets {
            retry_after_secs: (next - now).whole_seconds().max(1) as u64,
        });
    }
    let (token, hash) = new_token(&target.id).await?;
    let after = PasswordReset::issued(prev.as_ref(), &target, hash, now, Some(admin.id.clone()));
    let mut entry = change.on_user(AuditAction::PasswordResetSent, &target, &target);
    entry.before = None;
    entry.after = Some(serde_json::json!({
        "sentTo": target.email,
        "expiresAt": crate::domain::timefmt::format(after.expires_at),
    }));
    crate::journal::will_answer(answers::reset_sent(&target, after.expires_at));
    match r.store.save_reset(prev.as_ref(), &after, Some(&entry)).await {
        Ok(()) => {}
        Err(WriteError::Refused(_)) => {
            return Err(ApiError::Conflict(
                "Another reset for this user was sent at the same moment. Check the audit log before sending again."
                    .into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    // Committed: the answer is 202 whatever SES says (the audit entry says it was sent; an
    // email that failed can be sent again, within the limit).
    if let Err(e) = send(r, &target, Some(admin), &after, &token, time_zone, until).await {
        tracing::warn!(user = %target.id, error = %crate::domain::Chain(&e), "reset email not sent");
    }
    Ok(after)
}

async fn send(
    r: &Resets<'_>,
    user: &User,
    admin: Option<&User>,
    reset: &PasswordReset,
    token: &ResetToken,
    time_zone: Option<&str>,
    until: Instant,
) -> Result<(), ApiError> {
    let tenant = company_of(r, user).await?;
    let link = reset_link(r.app_url, token);
    let mail = render_reset(&ResetMail {
        company: &tenant.name,
        name: &user.name,
        account: &user.email,
        sent_by: admin.map(|a| Inviter {
            name: &a.name,
            email: &a.email,
        }),
        expires_at: reset.expires_at,
        time_zone,
        link: &link,
    });
    deliver(r, user, &mail, MailKind::PasswordReset, until).await
}

/// After an admin reset `user`'s two-step verification (`users::mfa_reset`, committed): the
/// user is told by email, from the admin, with when it happened and how to set it up again. A
/// suspended user is not (they cannot sign in; reactivating them is its own change). A failed
/// send is logged and changes nothing: the reset stands, and the audit entry records it.
pub async fn tell_two_step_reset(
    r: &Resets<'_>,
    admin: &User,
    user: &User,
    at: time::OffsetDateTime,
    time_zone: Option<&str>,
    until: Instant,
) {
    if user.status != UserStatus::Active {
        return;
    }
    let sent = async {
        let tenant = company_of(r, user).await?;
        let link = format!("{}/", r.app_url.trim_end_matches('/'));
        let mail = render_two_step_reset(&TwoStepResetMail {
            company: &tenant.name,
            name: &user.name,
            account: &user.email,
            admin: Inviter {
                name: &admin.name,
                email: &admin.email,
            },
            at,
            time_zone,
            required: tenant.mfa_policy.requires(user.role),
            link: &link,
        });
        deliver(r, user, &mail, MailKind::TwoStepReset, until).await
    };
    if let Err(e) = sent.await {
        tracing::warn!(user = %user.id, error = %crate::domain::Chain(&e), "two-step reset email not sent");
    }
}

/// The user's company, for an email's words.
async fn company_of(r: &Resets<'_>, user: &User) -> Result<Tenant, ApiError> {
    r.store
        .tenant(&user.tenant_id)
        .await?
        .ok_or_else(|| ApiError::Internal("a user's company is missing".into()))
}

async fn deliver(
    r: &Resets<'_>,
    user: &User,
    mail: &crate::domain::email_template::Rendered,
    kind: MailKind,
    until: Instant,
) -> Result<(), ApiError> {
    let about = About {
        kind,
        tenant: user.tenant_id.clone(),
        subject: user.id.to_string(),
    };
    let sent = r
        .mailer
        .send_all(&[(&user.email, mail, &about)], until)
        .await;
    match sent.into_iter().next() {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(ApiError::Unavailable(crate::domain::Cause::new(e))),
        None => Err(ApiError::Unavailable("no send result".into())),
    }
}

/// The user and reset a link opens, with the hash its secret matched. Every link that opens
/// nothing (not ours, replaced, past its hour, its user not active) reads the same; the link
/// that already set a password says so.
async fn open(r: &Resets<'_>, raw: &str) -> Result<(User, PasswordReset, String), ApiError> {
    let token = ResetToken::parse(raw).ok_or(ApiError::ResetLinkInvalid)?;
    let (user, reset) = r.store.user_and_reset(token.id()).await?;
    let (Some(user), Some(reset)) = (user, reset) else {
        return Err(ApiError::ResetLinkInvalid);
    };
    if user.status != UserStatus::Active || user.tenant_id != reset.tenant_id {
        return Err(ApiError::ResetLinkInvalid);
    }
    let (newest, used) = (reset.token_hash.clone(), reset.used_hash.clone());
    let matched = tokio::task::spawn_blocking(move || {
        if newest.as_deref().is_some_and(|h| token.verify(h)) {
            newest.map(|h| (Matched::Newest, h))
        } else if used.as_deref().is_some_and(|h| token.verify(h)) {
            used.map(|h| (Matched::Used, h))
        } else {
            None
        }
    })
    .await
    .unwrap_or(None);
    match (
        reset.state(matched.as_ref().map(|m| m.0), r.clock.now()),
        matched,
    ) {
        (LinkState::Live, Some((_, hash))) => Ok((user, reset, hash)),
        (LinkState::Used, _) => Err(ApiError::ResetLinkUsed),
        _ => Err(ApiError::ResetLinkInvalid),
    }
}

/// What the reset page shows before a password is chosen: whose account, at which company,
/// and until when the link works.
pub async fn preview(r: &Resets<'_>, raw: &str) -> Result<(User, Tenant, PasswordReset), ApiError> {
    let (user, reset, _) = open(r, raw).await?;
    let tenant = r
        .store
        .tenant(&user.tenant_id)
        .await?
        .ok_or(ApiError::ResetLinkInvalid)?;
    Ok((user, tenant, reset))
}

/// A link sets `pw` (already checked against the pool's policy) as the user's password and
/// ends every session of theirs. `request_id` names the request in the audit entry.
pub async fn confirm(
    r: &Resets<'_>,
    raw: &str,
    pw: &str,
    request_id: &str,
) -> Result<User, ApiError> {
    let (user, _, hash) = open(r, raw).await?;
    let login = user.login();
    // One request at a time per login (rule 8): a double click's second request waits here
    // for the first, then finds its link used.
    let signin = SignIn::lock(r.store, r.directory, r.clock, &login).await?;
    let result = Box::pin(under_lock(
        r,
        &signin,
        user.id.clone(),
        &hash,
        pw,
        request_id,
    ))
    .await;
    if let Err(e) = signin.converge().await {
        tracing::warn!(error = %crate::domain::Chain(&e), "sign-in not converged after a reset");
    }
    result
}

async fn under_lock(
    r: &Resets<'_>,
    signin: &SignIn<'_>,
    id: UserId,
    hash: &str,
    pw: &str,
    request_id: &str,
) -> Result<User, ApiError> {
    // Read again under the lock: what the link opens now, not before the wait.
    let (user, reset) = r.store.user_and_reset(&id).await?;
    let (Some(mut user), Some(reset)) = (user, reset) else {
        return Err(ApiError::ResetLinkInvalid);
    };
    if reset.used_hash.as_deref() == Some(hash) {
        return Err(ApiError::ResetLinkUsed);
    }
    if user.status != UserStatus::Active || reset.token_hash.as_deref() != Some(hash) {
        return Err(ApiError::ResetLinkInvalid);
    }
    let login = user.login();
    r.directory.set_password(&login, pw).await?;
    // The password is the new one from here on: a failure after this can't say that nothing
    // was changed (rule 11), and the same link again finishes the rest.
    crate::journal::changed_elsewhere();
    r.directory.sign_out_everywhere(&login).await?;
    let stamp = super::users::sign_out_stamp()?;
    let change = Change::new(crate::domain::Actor::of(&user), r.clock.now(), request_id);
    for _ in 0..ROUNDS {
        let after = super::users::next(&user, &change, |u| {
            u.signed_out_at = Some(stamp);
            u.signed_out_by = Some(u.id.clone());
        });
        let entry = change.on_user(AuditAction::PasswordReset, &user, &after);
        crate::journal::will_answer(answers::password_reset(&after));
        match r
            .store
            .consume_reset(hash, change.at, &user, &after, signin.lock_id(), &entry)
            .await
        {
            Ok(()) => return Ok(after),
            // Another admin changed the user since our read (a role change): stamp the record
            // as it now is.
            Err(WriteError::Refused(Refusal::Stale)) => {
                user = match r.store.user(&id).await? {
                    Some(u) if u.status == UserStatus::Active => u,
                    // Suspended or deleted meanwhile: that change signed them out already and
                    // the link opens nothing any more.
                    _ => return Err(ApiError::ResetLinkInvalid),
                };
            }
            Err(WriteError::Refused(Refusal::NotPending)) => return Err(ApiError::ResetLinkUsed),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable(
        "the user kept changing while the reset was stored".into(),
    ))
}
