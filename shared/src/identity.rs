//! The Cognito adapter. DynamoDB is the source of truth; Cognito follows it (docs/rules.md, rule 8). Every
//! step here is idempotent so that a request retried after a crash completes the same work.

use crate::domain::{Cause, UserId};
use aws_sdk_cognitoidentityprovider::error::SdkError;
use aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserError;
use aws_sdk_cognitoidentityprovider::operation::admin_set_user_password::AdminSetUserPasswordError;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;

/// A sign-in identity as Cognito holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: UserId,
    pub enabled: bool,
}

/// The `sub` among an identity's attributes, as a user id: a `sub` without an id's shape is
/// treated as missing, since the directory keys the user's record by it.
fn sub_in(attrs: &[AttributeType]) -> Option<UserId> {
    attrs
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .and_then(UserId::parse)
}

fn no_sub() -> IdentityError {
    IdentityError::Unavailable("user has no usable sub".into())
}

pub struct Directory {
    client: Client,
    pool_id: String,
    /// The console's app client: a password and code are checked by signing in through it.
    app_client_id: Option<String>,
    /// Logins Cognito lately said have two-step on (`totp_confirmed`).
    confirmed: Confirmed,
}

/// How long a container trusts Cognito's "two-step is on" for one login before the admin gate
/// asks again: the longest an authenticator turned off behind this API's back (rule 14's
/// bypass) keeps opening admin routes on a warm container that had just asked.
pub const TOTP_CONFIRMED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// What the gate remembers: a login and when Cognito last said it is on. Only "on" is kept: an
/// "off" is asked again each time, so turning it on again takes effect at once.
struct Confirmed {
    seen: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    ttl: std::time::Duration,
}

impl Confirmed {
    /// The most logins kept; past it the map starts afresh (a container sees its company's
    /// admins, a handful; the bound is against a flood, not for the working set).
    const MAX: usize = 10_000;

    fn new(ttl: std::time::Duration) -> Confirmed {
        Confirmed {
            seen: Default::default(),
            ttl,
        }
    }

    /// Whether Cognito said on for `login` within the ttl before `now`. A poisoned lock (a
    /// panic elsewhere while holding it) only means asking Cognito.
    fn fresh(&self, login: &str, now: std::time::Instant) -> bool {
        self.seen.lock().is_ok_and(|m| {
            m.get(login)
                .is_some_and(|at| now.saturating_duration_since(*at) < self.ttl)
        })
    }

    fn note(&self, login: &str, on: bool, now: std::time::Instant) {
        if let Ok(mut m) = self.seen.lock() {
            if !on {
                m.remove(login);
                return;
            }
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(login.to_string(), now);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The pool's password policy refused the password; the message names the rule.
    #[error("password refused: {0}")]
    WeakPassword(String),
    #[error("cognito did not answer")]
    Unavailable(#[source] Cause),
    /// ChangePassword: the current password is not the user's.
    #[error("the current password is wrong")]
    WrongPassword,
    /// ChangePassword: Cognito refused the access token itself (revoked there).
    #[error("the access token was refused")]
    TokenRefused,
    /// Cognito's own limit on password attempts.
    #[error("too many attempts")]
    TooManyAttempts,
    /// VerifySoftwareToken: the code is not the authenticator's current one.
    #[error("the code does not match")]
    WrongCode,
    /// VerifySoftwareToken: no secret is waiting to be verified (no set-up asked for, or one
    /// Cognito no longer holds).
    #[error("no authenticator set-up to verify")]
    NoSetUp,
}

/// A refused password names the rule on the `password` field; anything else is Cognito being
/// unavailable (nothing a client sent).
impl From<IdentityError> for crate::domain::ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::WeakPassword(msg) => {
                crate::domain::ApiError::WeakPassword(vec![crate::domain::FieldError::new(
                    "password", msg,
                )])
            }
            IdentityError::WrongPassword => {
                crate::domain::ApiError::Invalid(vec![crate::domain::FieldError::new(
                    "currentPassword",
                    "is not your current password",
                )])
            }
            IdentityError::TokenRefused => crate::domain::ApiError::InvalidToken,
            IdentityError::NoSetUp => crate::domain::ApiError::Conflict(
                "There is no set-up to finish: start it again to get a new QR code.".into(),
            ),
            IdentityError::WrongCode => {
                crate::domain::ApiError::Invalid(vec![crate::domain::FieldError::new(
                    "code",
                    "is not the current code from your authenticator app",
                )])
            }
            IdentityError::TooManyAttempts => crate::domain::ApiError::TooManyAttempts,
            e => crate::domain::ApiError::Unavailable(Cause::new(e)),
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "the builder's one required field, the name, is set"
)]
fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("name is set")
}

fn totp_settings(on: bool) -> aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType {
    aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType::builder()
        .enabled(on)
        .preferred_mfa(on)
        .build()
}

impl Directory {
    pub fn new(client: Client, pool_id: String) -> Directory {
        Directory {
            client,
            pool_id,
            app_client_id: None,
            confirmed: Confirmed::new(TOTP_CONFIRMED_FOR),
        }
    }

    /// With another time the gate trusts Cognito's "on" for (a test's zero asks every time).
    pub fn with_totp_confirmed_for(mut self, ttl: std::time::Duration) -> Directory {
        self.confirmed = Confirmed::new(ttl);
        self
    }

    /// With the app client `check_password_and_code` signs in through.
    pub fn with_app_client(mut self, id: String) -> Directory {
        self.app_client_id = Some(id);
        self
    }

    /// As deployed: Cognito with `cfg`, the pool `USER_POOL_ID` names, and the app client
    /// `USER_POOL_CLIENT_ID` (when set) names.
    pub fn from_env(cfg: &aws_types::SdkConfig) -> Result<Directory, crate::config::ConfigError> {
        let d = Directory::new(Client::new(cfg), crate::config::env("USER_POOL_ID")?);
        Ok(match crate::config::env("USER_POOL_CLIENT_ID") {
            Ok(id) => d.with_app_client(id),
            Err(_) => d,
        })
    }

    /// Creates the sign-in identity for `email` with `password` (permanent, email verified, no
    /// Cognito invitation message) and returns its `sub`, and whether it existed already. An
    /// existing one (a retry after a crash before the DynamoDB commit) gets the password set
    /// again and keeps its `sub`.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(UserId, bool), IdentityError> {
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attr("email", email))
            .user_attributes(attr("email_verified", "true"))
            .send()
            .await;
        // A new identity's `sub` comes back with it; only a retry has to ask for it.
        let (existing, sub) = match created {
            Ok(out) => (false, out.user().and_then(|u| sub_in(u.attributes()))),
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), AdminCreateUserError::UsernameExistsException(_)) =>
            {
                (true, None)
            }
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), AdminCreateUserError::InvalidPasswordException(_)) =>
            {
                return Err(IdentityError::WeakPassword(
                    se.err().meta().message().unwrap_or("").to_string(),
                ))
            }
            Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
        };
        if let Err(e) = self.set_password(email, password).await {
            if matches!(e, IdentityError::WeakPassword(_)) && !existing {
                // Don't leave a half-made identity behind for a password we refused.
                let _ = self.delete_user(email).await;
            }
            return Err(e);
        }
        let sub = match sub {
            Some(sub) => sub,
            None => self.sub_of(email).await?,
        };
        Ok((sub, existing))
    }

    /// Sets the identity's password, permanent (AdminSetUserPassword): an accept's new
    /// identity, or a reset link's new password. Idempotent: the same password again is the
    /// same state, so a retry finishes what a cut attempt started.
    pub async fn set_password(&self, email: &str, password: &str) -> Result<(), IdentityError> {
        match self
            .client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(email)
            .password(password)
            .permanent(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    AdminSetUserPasswordError::InvalidPasswordException(_)
                ) =>
            {
                Err(IdentityError::WeakPassword(
                    se.err().meta().message().unwrap_or("").to_string(),
                ))
            }
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// The identity a login names now, if there is one: its `sub` and whether it may sign in.
    pub async fn get(&self, login: &str) -> Result<Option<Identity>, IdentityError> {
        let out = match self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(login)
            .send()
            .await
        {
            Ok(out) => out,
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => {
                return Ok(None)
            }
            Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
        };
        let sub = sub_in(out.user_attributes()).ok_or_else(no_sub)?;
        Ok(Some(Identity {
            sub,
            enabled: out.enabled(),
        }))
    }

    pub async fn sub_of(&self, email: &str) -> Result<UserId, IdentityError> {
        let out = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map_err(|e| IdentityError::Unavailable(Cause::new(e)))?;
        sub_in(out.user_attributes()).ok_or_else(no_sub)
    }

    /// Idempotent: a user that is already gone is fine.
    pub async fn delete_user(&self, email: &str) -> Result<(), IdentityError> {
        match self
            .client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => Ok(()),
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// Suspend and delete, step one: no new sign-in, and signed out everywhere.
    /// AdminDisableUser blocks sign-in and refresh only while the user stays disabled; a
    /// reactivation would bring the old refresh tokens back, so AdminUserGlobalSignOut
    /// revokes them for good. (Access tokens already issued are JWTs Cognito can't recall:
    /// the user record's `signed_out_at` refuses them.) Idempotent; a missing identity is
    /// already as good as disabled.
    pub async fn disable_user(&self, email: &str) -> Result<(), IdentityError> {
        match self
            .client
            .admin_disable_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
        {
            Ok(_) => {}
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => {
                return Ok(())
            }
            Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
        }
        self.sign_out_everywhere(email).await
    }

    /// The user's own password change (ChangePassword), with their access token: Cognito checks
    /// the current password itself, and needs no IAM grant for it (the token is the
    /// authority). Nothing else changes here; the caller then ends the other sessions.
    pub async fn change_password(
        &self,
        access_token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), IdentityError> {
        match self
            .client
            .change_password()
            .access_token(access_token)
            .previous_password(current)
            .proposed_password(new)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) => {
                let e = se.err();
                let message = e.meta().message().unwrap_or_default().to_ascii_lowercase();
                if e.is_invalid_password_exception() {
                    Err(IdentityError::WeakPassword(
                        e.meta()
                            .message()
                            .unwrap_or("refused by the password policy")
                            .to_string(),
                    ))
                } else if e.is_limit_exceeded_exception() || e.is_too_many_requests_exception() {
                    Err(IdentityError::TooManyAttempts)
                } else if e.is_not_authorized_exception() && message.contains("access token") {
                    // "Access Token has been revoked": refused at Cognito, not by us.
                    Err(IdentityError::TokenRefused)
                } else if e.is_not_authorized_exception() {
                    // The token was verified before this call, so the refusal is the
                    // current password's ("Incorrect username or password.").
                    Err(IdentityError::WrongPassword)
                } else {
                    Err(IdentityError::Unavailable(Cause::new(
                        SdkError::ServiceError(se),
                    )))
                }
            }
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// Every refresh token of the user revoked (AdminUserGlobalSignOut): no session of theirs
    /// gets a new access token again; the ones already issued are refused by the record's
    /// `signed_out_at`. Idempotent; a missing identity has no session.
    pub async fn sign_out_everywhere(&self, email: &str) -> Result<(), IdentityError> {
        match self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => Ok(()),
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// A new authenticator secret for the caller (AssociateSoftwareToken, with their own access
    /// token, so no IAM grant): nothing is on until a code from it is verified.
    pub async fn new_totp_secret(&self, access_token: &str) -> Result<String, IdentityError> {
        match self
            .client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
        {
            Ok(out) => out
                .secret_code()
                .map(str::to_string)
                .ok_or_else(|| IdentityError::Unavailable("no secret in the answer".into())),
            Err(SdkError::ServiceError(se)) if se.err().is_not_authorized_exception() => {
                Err(IdentityError::TokenRefused)
            }
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// The first code from the new secret (VerifySoftwareToken), then the authenticator made
    /// the user's preferred second step (SetUserMFAPreference): from then on Cognito asks
    /// for a code at every sign-in. Both with the caller's access token.
    pub async fn turn_on_totp(&self, access_token: &str, code: &str) -> Result<(), IdentityError> {
        match self
            .client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .friendly_device_name("VeloConnect")
            .send()
            .await
        {
            Ok(_) => {}
            Err(SdkError::ServiceError(se)) => {
                let e = se.err();
                if e.is_code_mismatch_exception() || e.is_enable_software_token_mfa_exception() {
                    return Err(IdentityError::WrongCode);
                }
                if e.is_too_many_requests_exception() {
                    return Err(IdentityError::TooManyAttempts);
                }
                if e.is_not_authorized_exception() {
                    return Err(IdentityError::TokenRefused);
                }
                if e.is_software_token_mfa_not_found_exception()
                    || e.is_invalid_parameter_exception()
                {
                    return Err(IdentityError::NoSetUp);
                }
                return Err(IdentityError::Unavailable(Cause::new(
                    SdkError::ServiceError(se),
                )));
            }
            Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
        }
        match self
            .client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(totp_settings(true))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_not_authorized_exception() => {
                Err(IdentityError::TokenRefused)
            }
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// The authenticator no longer asked for (AdminSetUserMFAPreference): the user's own
    /// "turn off" once they signed in again with a code, or an admin's reset for a lost
    /// device. Idempotent; a missing identity has nothing to turn off.
    pub async fn turn_off_totp(&self, login: &str) -> Result<(), IdentityError> {
        match self
            .client
            .admin_set_user_mfa_preference()
            .user_pool_id(&self.pool_id)
            .username(login)
            .software_token_mfa_settings(totp_settings(false))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => Ok(()),
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// The user's password and a current code, checked the one way Cognito offers: a sign-in
    /// (AdminInitiateAuth, then the SOFTWARE_TOKEN_MFA challenge), whose refresh token is
    /// revoked at once, since nobody holds it. A login Cognito asks no code of is checked on
    /// its password alone.
    pub async fn check_password_and_code(
        &self,
        login: &str,
        password: &str,
        code: &str,
    ) -> Result<(), IdentityError> {
        use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};
        let client_id = self
            .app_client_id
            .as_deref()
            .ok_or_else(|| IdentityError::Unavailable("no app client configured".into()))?;
        let refusal = |e: &dyn aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata,
                       code_mismatch: bool,
                       not_authorized: IdentityError| {
            match e.code() {
                Some("CodeMismatchException" | "ExpiredCodeException") if code_mismatch => {
                    Some(IdentityError::WrongCode)
                }
                Some("TooManyRequestsException" | "LimitExceededException")
                | Some("TooManyFailedAttemptsException") => Some(IdentityError::TooManyAttempts),
                Some("NotAuthorizedException") => Some(not_authorized),
                _ => None,
            }
        };
        let out = match self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", login)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
        {
            Ok(out) => out,
            Err(SdkError::ServiceError(se)) => {
                // Cognito's lockout is a NotAuthorizedException too, told by its message.
                let locked = se
                    .err()
                    .meta()
                    .message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("attempts exceeded"));
                let not_authorized = if locked {
                    IdentityError::TooManyAttempts
                } else {
                    IdentityError::WrongPassword
                };
                return Err(refusal(se.err(), false, not_authorized).unwrap_or_else(|| {
                    IdentityError::Unavailable(Cause::new(SdkError::ServiceError(se)))
                }));
            }
            Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
        };
        let result = match out.challenge_name() {
            None => out.authentication_result,
            Some(ChallengeNameType::SoftwareTokenMfa) => {
                match self
                    .client
                    .admin_respond_to_auth_challenge()
                    .user_pool_id(&self.pool_id)
                    .client_id(client_id)
                    .challenge_name(ChallengeNameType::SoftwareTokenMfa)
                    .session(out.session().unwrap_or_default())
                    .challenge_responses("USERNAME", login)
                    .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
                    .send()
                    .await
                {
                    Ok(done) => done.authentication_result,
                    Err(SdkError::ServiceError(se)) => {
                        // A refused session is Cognito's end of the tries for this sign-in.
                        return Err(refusal(se.err(), true, IdentityError::TooManyAttempts)
                            .unwrap_or_else(|| {
                                IdentityError::Unavailable(Cause::new(SdkError::ServiceError(se)))
                            }));
                    }
                    Err(e) => return Err(IdentityError::Unavailable(Cause::new(e))),
                }
            }
            Some(other) => {
                return Err(IdentityError::Unavailable(
                    format!("unexpected challenge {}", other.as_str()).into(),
                ))
            }
        };
        if let Some(refresh) = result.and_then(|r| r.refresh_token) {
            if let Err(e) = self
                .client
                .revoke_token()
                .client_id(client_id)
                .token(refresh)
                .send()
                .await
            {
                tracing::warn!(error = %crate::domain::Chain(&e), "the check's own refresh token was not revoked");
            }
        }
        Ok(())
    }

    /// Whether Cognito asks this login for an authenticator code (AdminGetUser's MFA
    /// settings): what the record's `mfa` is set from, never from what a browser says.
    pub async fn totp_on(&self, login: &str) -> Result<bool, IdentityError> {
        match self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(login)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .user_mfa_setting_list()
                .iter()
                .any(|m| m == "SOFTWARE_TOKEN_MFA")),
            Err(SdkError::ServiceError(se)) if se.err().is_user_not_found_exception() => Ok(false),
            Err(e) => Err(IdentityError::Unavailable(Cause::new(e))),
        }
    }

    /// Whether Cognito said two-step is on for `login` within `TOTP_CONFIRMED_FOR` (no call).
    pub fn totp_recently_confirmed(&self, login: &str) -> bool {
        self.confirmed.fresh(login, std::time::Instant::now())
    }

    /// `totp_on` for the admin gate: Cognito's "on" is trusted for `TOTP_CONFIRMED_FOR` per
    /// login in this container, so an admin's requests ask Cognito about once a minute per
    /// function, not on every click.
    pub async fn totp_confirmed(&self, login: &str) -> Result<bool, IdentityError> {
        if self.confirmed.fresh(login, std::time::Instant::now()) {
            return Ok(true);
        }
        let on = self.totp_on(login).await?;
        self.confirmed.note(login, on, std::time::Instant::now());
        Ok(on)
    }

    /// Reactivate, after DynamoDB says active. Idempotent.
    pub async fn enable_user(&self, email: &str) -> Result<(), IdentityError> {
        self.client
            .admin_enable_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| IdentityError::Unavailable(Cause::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::Confirmed;
    use std::time::{Duration, Instant};

    #[test]
    fn the_gate_trusts_cognitos_on_for_its_ttl_and_never_remembers_an_off() {
        let c = Confirmed::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!c.fresh("ann", t0), "nothing asked yet");
        c.note("ann", true, t0);
        assert!(c.fresh("ann", t0 + Duration::from_secs(59)));
        assert!(!c.fresh("ann", t0 + Duration::from_secs(60)), "asked again");
        assert!(!c.fresh("bob", t0), "per login");
        c.note("ann", false, t0 + Duration::from_secs(1));
        assert!(
            !c.fresh("ann", t0 + Duration::from_secs(2)),
            "an off forgets the on"
        );

        let none = Confirmed::new(Duration::ZERO);
        none.note("ann", true, t0);
        assert!(!none.fresh("ann", t0), "a zero ttl asks every time");

        let full = Confirmed::new(Duration::from_secs(60));
        for i in 0..Confirmed::MAX {
            full.note(&format!("u{i}"), true, t0);
        }
        full.note("ann", true, t0);
        assert!(full.fresh("ann", t0) && !full.fresh("u0", t0), "bounded");
    }
}
