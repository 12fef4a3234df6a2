//! The one converge step: makes a login's Cognito identity match what DynamoDB says now
//! (docs/rules.md, "Sign-in follows the directory"). Every route that may touch sign-in ends
//! here whatever happened before (commit, refusal, no-op, a timeout that may or may not have
//! committed); the reconciler runs it for what a crash left. Nothing else writes to Cognito,
//! except an accept creating the identity while it holds the same lock.
//!
//! Under the login's lock (whose marker records the login as owed): read the identity and
//! the user record that owns it, make the one Cognito call `domain::signin::fix` asks for,
//! and give the lock back with the marker cleared; if Cognito could not be brought in line,
//! give it back with the marker due a minute later, for the reconciler.

use crate::domain::signin::{fix, want, Fix, Owner, RECONCILE_AFTER};
use crate::domain::{Clock, UserId, UserStatus};
use crate::identity::{Directory, IdentityError};
use crate::store::{EmailHolder, Marker, Store, StoreError, Unlock};
use std::time::Duration;
use time::OffsetDateTime;

/// Rounds before giving up on a record that keeps changing under us (the marker stays, so
/// the reconciler comes back).
const ROUNDS: usize = 4;
/// The most one converge may take while it holds the lock: well inside the lease, so the lock
/// can't run out under a converge that is still calling AWS (the reconciler's runs are longer
/// than a lease; each converge in them is not).
pub const SETTLE_BUDGET: Duration = Duration::from_secs(15);

/// Kept back from the request's deadline for giving the lock back after a converge cut short.
const UNLOCK_RESERVE: Duration = Duration::from_secs(1);

/// What the functions that make a login follow the directory without changing a user (accept
/// and the reconciler) hold for their lifetime: the store, the user pool and the clock.
pub struct PoolDeps {
    pub store: Store,
    pub directory: Directory,
    pub clock: std::sync::Arc<dyn Clock>,
}

impl PoolDeps {
    /// As deployed: the SDK configuration, tables and pool from Lambda's environment, and
    /// the system clock.
    pub fn from_env() -> Result<PoolDeps, crate::config::ConfigError> {
        let cfg = crate::config::aws()?;
        Ok(PoolDeps {
            store: Store::from_env(&cfg)?,
            directory: Directory::from_env(&cfg)?,
            clock: std::sync::Arc::new(crate::domain::SystemClock),
        })
    }
}

/// How long to wait for another request's lock on the same login, in steps (about 2.5 s in
/// all: a lock is held for tens of milliseconds, seconds only while AWS calls are retried).
const LOCK_WAITS: [u64; 7] = [20, 40, 80, 160, 320, 640, 1200];

#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    #[error("another request holds this sign-in; retry")]
    Busy,
    #[error("the user kept changing, or AWS kept failing, while sign-in was brought in line")]
    Unsettled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl From<ConvergeError> for crate::domain::ApiError {
    fn from(e: ConvergeError) -> Self {
        match e {
            ConvergeError::Identity(e) => e.into(),
            ConvergeError::Store(e) => e.into(),
            e => crate::domain::ApiError::Unavailable(crate::domain::Cause::new(e)),
        }
    }
}

/// What one converge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The Cognito calls it made (empty: Cognito already matched).
    pub fixes: Vec<Fix>,
    /// An active user has no identity at all: nothing here can make one without the user's
    /// password, so the marker stays and the reconciler reports it every run.
    pub missing: bool,
}

/// What decided the last round, compared with a second read to know the record stood still.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// The identity's owner: its status and version, or no record.
    Owned(Option<(UserStatus, u64)>),
    /// No identity: the active user who should have one, if any.
    NoIdentity(Option<UserId>),
}

/// A login's lock, held. Dropping it without `converge` leaves it to expire (the marker the
/// change wrote, or the accept's claim, brings the reconciler).
pub struct SignIn<'a> {
    store: &'a Store,
    directory: &'a Directory,
    login: String,
    lock: String,
    now: OffsetDateTime,
    /// The marker written with the lock: the login is owed until this request clears it.
    marker: Marker,
}

impl<'a> SignIn<'a> {
    /// Takes the login's lock, waiting a little for a request that holds it.
    pub async fn lock(
        store: &'a Store,
        directory: &'a Directory,
        clock: &dyn Clock,
        login: &str,
    ) -> Result<SignIn<'a>, ConvergeError> {
        for wait in LOCK_WAITS.iter().copied().chain([0]) {
            let now = clock.now();
            if let Some((lock, marker)) = store.lock_signin(login, now, None).await? {
                return Ok(SignIn {
                    store,
                    directory,
                    login: login.to_string(),
                    lock,
                    now,
                    marker,
                });
            }
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
        }
        Err(ConvergeError::Busy)
    }

    /// The lock an accept took with its claim, and the marker written with it.
    pub fn held(
        store: &'a Store,
        directory: &'a Directory,
        lock: &str,
        marker: Marker,
        now: OffsetDateTime,
    ) -> SignIn<'a> {
        SignIn {
            store,
            directory,
            login: marker.login.clone(),
            lock: lock.to_string(),
            now,
            marker,
        }
    }

    pub fn id(&self) -> &str {
        &self.lock
    }

    pub fn login(&self) -> &str {
        &self.login
    }

    /// The lock this request holds, for a commit that must still hold it
    /// (`Tx::signin_still_held`).
    pub fn lock_id(&self) -> &str {
        &self.lock
    }

    /// Swaps the lock for a new id, so a commit still in flight under the old one (they are
    /// conditioned on it) can never land after what we do next. `Busy` if someone else has
    /// it now.
    pub async fn fence(self) -> Result<SignIn<'a>, ConvergeError> {
        match self
            .store
            .lock_signin(&self.login, self.now, Some(&self.lock))
            .await?
        {
            Some((lock, marker)) => Ok(SignIn {
                lock,
                marker,
                ..self
            }),
            None => Err(ConvergeError::Busy),
        }
    }

    /// Stops sign-in before a change that may stop the user is committed, so nobody DynamoDB
    /// stops can sign in for a moment after. `converge` puts it back if the change did not
    /// happen, whoever refused it.
    pub async fn disable_first(&self) -> Result<(), IdentityError> {
        self.directory.disable_user(&self.login).await
    }

    /// Brings Cognito in line with DynamoDB now, then gives the lock back (always).
    /// Inside a request it stops in time to give the lock back before the request's
    /// deadline, so the retry its 503 asks for finds the login free (the marker stays owed).
    pub async fn converge(self) -> Result<Report, ConvergeError> {
        let mut until = tokio::time::Instant::now() + SETTLE_BUDGET;
        if let Some(request) = crate::config::deadline() {
            until = until.min(request.checked_sub(UNLOCK_RESERVE).unwrap_or(request));
        }
        let outcome = tokio::time::timeout_at(until, self.settle())
            .await
            .unwrap_or(Err(ConvergeError::Unsettled));
        let how = match &outcome {
            Ok(report) if !report.missing => Unlock::Settled(Some(&self.marker)),
            // Not finished (or an active user without an identity): the reconciler comes back.
            _ => Unlock::Owed(self.now + RECONCILE_AFTER),
        };
        let unlocked = self.store.unlock_signin(&self.login, &self.lock, how).await;
        let report = outcome?;
        if let Err(e) = unlocked {
            // The lock expires by itself; the marker (if still there) brings the reconciler.
            tracing::warn!(error = %crate::domain::Chain(&e), "sign-in lock not released");
        }
        if report.missing {
            tracing::error!(
                login_hash = %short_hash(&self.login),
                "an active user has no sign-in identity"
            );
        }
        Ok(report)
    }

    /// Under the lock no other request changes this login's status or identity, so one read
    /// decides; after a Cognito call the record is read again, in case a holder that ran past
    /// its lease committed meanwhile, and the round repeats if it moved.
    async fn settle(&self) -> Result<Report, ConvergeError> {
        let mut report = Report::default();
        for _ in 0..ROUNDS {
            let identity = self.directory.get(&self.login).await?;
            let sub = identity.as_ref().map(|i| &i.sub);
            let seen = self.seen(sub).await?;
            let mut fixed = false;
            match (&identity, &seen) {
                (Some(id), Seen::Owned(owner)) => {
                    let owner = owner.map_or(Owner::Nobody, |(status, _)| Owner::User(status));
                    if let Some(f) = fix(id.enabled, want(owner)) {
                        self.apply(f).await?;
                        report.fixes.push(f);
                        fixed = true;
                    }
                }
                (_, Seen::NoIdentity(active)) => report.missing = active.is_some(),
                // `seen` reads an owner exactly when there is an identity.
                (None, Seen::Owned(_)) => {}
            }
            if !fixed || self.seen(sub).await? == seen {
                return Ok(report);
            }
            report.missing = false;
        }
        Err(ConvergeError::Unsettled)
    }

    async fn seen(&self, sub: Option<&UserId>) -> Result<Seen, StoreError> {
        Ok(match sub {
            Some(sub) => Seen::Owned(self.store.user(sub).await?.map(|u| (u.status, u.version))),
            None => Seen::NoIdentity(match self.store.email_holder(&self.login).await? {
                Some(EmailHolder::User(id)) => self
                    .store
                    .user(&id)
                    .await?
                    .filter(|u| u.status == UserStatus::Active)
                    .map(|u| u.id),
                _ => None,
            }),
        })
    }

    async fn apply(&self, f: Fix) -> Result<(), IdentityError> {
        match f {
            Fix::Enable => self.directory.enable_user(&self.login).await,
            Fix::Disable => self.directory.disable_user(&self.login).await,
            Fix::Delete => self.directory.delete_user(&self.login).await,
        }
    }
}

/// Locks `login`, converges it and unlocks: what a route runs after its change, and what the
/// reconciler runs for each marker.
pub async fn converge(
    store: &Store,
    directory: &Directory,
    clock: &dyn Clock,
    login: &str,
) -> Result<Report, ConvergeError> {
    SignIn::lock(store, directory, clock, login)
        .await?
        .converge()
        .await
}

/// Logs name a login by a short hash, not the address.
fn short_hash(login: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in login.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_login_is_logged_by_a_stable_hash_that_is_not_the_address() {
        let a = super::short_hash("jane@example.com");
        assert_eq!(a, super::short_hash("jane@example.com"));
        assert_ne!(a, super::short_hash("john@example.com"));
        assert!(!a.contains("jane"));
    }
}
