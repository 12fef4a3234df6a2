//! One error enum for every use case, mapped to RFC 9457 problem+json in one place.

use serde::Serialize;
use serde_json::{Map, Value};

pub const PROBLEM_BASE: &str = "https://veloconnect.io/problems/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON-pointer-like path into the request: `email`, `invites/3/role`, `query.status`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a dependency failed, kept whole (the SDK's error and everything under it) for the one
/// log line of the request that met it. It never reaches a client: a problem's words are
/// fixed, whatever the cause.
#[derive(Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

/// A cause this code words itself (a deadline, an answer that never came).
#[derive(Debug)]
struct Said(String);

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Said {}

impl Cause {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(std::sync::Arc::new(e))
    }
}

impl From<&str> for Cause {
    fn from(why: &str) -> Cause {
        Cause::new(Said(why.to_string()))
    }
}

impl From<String> for Cause {
    fn from(why: String) -> Cause {
        Cause::new(Said(why))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cause({})", Chain(self))
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two causes are alike when they read alike (errors can't be compared otherwise).
impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        Chain(self).to_string() == Chain(other).to_string()
    }
}

/// An error and every cause under it, outermost first, joined by `: `: what a log line says.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No credential was sent.
    #[error("no credentials")]
    Unauthorized,
    /// A credential was sent and refused: malformed, forged, expired, for another client or
    /// pool, or revoked (its user suspended, deleted or signed out since it was issued).
    #[error("credentials refused")]
    InvalidToken,
    /// A valid token of an active user, issued before they were last signed out everywhere:
    /// refused as `InvalidToken` is, saying why (`reason`), so the console can tell the user.
    #[error("signed out everywhere since the token was issued")]
    SignedOut { by_admin: bool },
    /// Cognito's limit on password attempts was reached.
    #[error("too many password attempts")]
    TooManyAttempts,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invite link invalid")]
    InviteLinkInvalid,
    /// Another request is accepting the same invite right now (a double-clicked button).
    #[error("invite is being accepted by another request")]
    AcceptInProgress,
    /// A password-reset link that opens nothing: never issued, replaced by a newer one, past
    /// its hour, or its user no longer active. One answer for all (rule 13).
    #[error("reset link invalid")]
    ResetLinkInvalid,
    /// The reset link already set a password.
    #[error("reset link already used")]
    ResetLinkUsed,
    /// An admin asked for a reset past the per-address limit.
    #[error("too many reset emails; retry in {retry_after_secs}s")]
    TooManyResets { retry_after_secs: u64 },
    /// The user is suspended: nothing may reach their sign-in until they are reactivated.
    #[error("user is suspended")]
    UserSuspended,
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("weak password")]
    WeakPassword(Vec<FieldError>),
    #[error("seat limit: {requested} requested, {free} free of {limit}")]
    SeatLimit {
        requested: u32,
        free: u32,
        limit: u32,
        pricing_url: String,
    },
    #[error("email already in use")]
    EmailTaken(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A rename to a name a team already has (rule 19): merging is the other action.
    #[error("team {0} exists")]
    TeamExists(String),
    /// Someone changed the record since the caller read it (optimistic concurrency).
    #[error("version conflict: now at {current}")]
    VersionConflict { current: u64 },
    /// Rule 6: the tenant's last active admin can't be demoted, suspended or deleted.
    #[error("last admin")]
    LastAdmin,
    /// A quick edit (`PATCH /users`, rule 17) refused as a whole: each row that can't be
    /// changed as asked, and why. Nothing was changed.
    #[error("{} row(s) refused", .0.len())]
    RowsRefused(Vec<RowRefusal>),
    #[error("invite is {0}")]
    InviteNotPending(&'static str),
    #[error("cannot {0} yourself")]
    SelfAction(&'static str),
    #[error("user is deleted")]
    UserDeleted,
    #[error("too many requests; retry in {retry_after_secs}s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A token over its requests a minute (directory sync's per-token throttle, rule 22).
    #[error("over {per_minute} requests a minute; retry in {retry_after_secs}s")]
    Throttled {
        per_minute: u32,
        retry_after_secs: u64,
    },
    /// A directory sync (SCIM) request refused for a reason RFC 7644 names (`scim_type`:
    /// `invalidFilter`, `invalidPath`, `mutability`, `invalidValue`, …), answered as its error
    /// document. Nothing was changed.
    #[error("SCIM {scim_type}: {detail}")]
    Scim {
        status: u16,
        scim_type: &'static str,
        detail: String,
    },
    /// A dependency failed before any part of the change was sent: nothing changed.
    #[error("a dependency failed; nothing was changed")]
    Unavailable(#[source] Cause),
    /// The change's commit was sent and its fate is not known (cut at the deadline, or its
    /// answer lost and the read-back failed too): it may or may not have happened.
    #[error("the change's outcome is unknown")]
    OutcomeUnknown(#[source] Cause),
    /// A fault of ours that no retry mends (a stored record that can't be read).
    #[error("internal fault")]
    Internal(#[source] Cause),
    /// The company requires two-step verification of the caller's role and the caller has
    /// none (rule 14): every admin route refuses until they set it up.
    #[error("two-step verification required")]
    MfaRequired,
    /// Setting up two-step verification again while it is on.
    #[error("two-step verification is already on")]
    MfaAlreadyOn,
    /// The caller asked to require two-step verification without having it themselves, or to
    /// turn off their own while the company requires it.
    #[error("two-step verification: {0}")]
    MfaPolicy(&'static str),
    /// An `Idempotency-Key` already used for a different request (rule 11).
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    /// Another attempt with the same `Idempotency-Key` is still running (rule 11).
    #[error("a request with this idempotency key is in progress")]
    IdempotencyInProgress,
}

/// One row of a refused quick edit: its place in the request, whose it was, and the problem
/// a single change of that user would have answered (`version-conflict`, `last-admin`,
/// `not-found`, `user-deleted`, `not-active`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowRefusal {
    pub index: usize,
    pub id: String,
    pub problem: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

/// The wire form of an error (RFC 9457), with our extension members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        self.problem().status
    }

    pub fn problem(&self) -> Problem {
        let mut ext = Map::new();
        let mut errors = Vec::new();
        let (slug, title, status, detail) = match self {
            ApiError::Unauthorized => (
                "unauthorized",
                "Sign-in required",
                401,
                "Send a valid access token in the Authorization header.".to_string(),
            ),
            ApiError::InvalidToken => (
                "unauthorized",
                "Sign-in required",
                401,
                "The access token was refused: it is malformed, expired, not ours, or no longer valid for this user. Sign in again.".to_string(),
            ),
            ApiError::SignedOut { by_admin } => {
                let (reason, detail) = if *by_admin {
                    ("signed-out-by-admin", "An admin signed you out of every device. Sign in again.")
                } else {
                    ("signed-out", "You signed out of every device. Sign in again.")
                };
                ext.insert("reason".into(), reason.into());
                ("unauthorized", "Sign-in required", 401, detail.to_string())
            }
            ApiError::Forbidden(what) => (
                "forbidden",
                "Not allowed for your role",
                403,
                format!("Your role may not {what}."),
            ),
            ApiError::NotFound(what) => (
                "not-found",
                "Not found",
                404,
                format!("No {what} with that id."),
            ),
            ApiError::NoRoute => (
                "no-route",
                "Not found",
                404,
                "There is no such route.".to_string(),
            ),
            ApiError::MethodNotAllowed => (
                "method-not-allowed",
                "Method not allowed",
                405,
                "This route does not take that method.".to_string(),
            ),
            ApiError::InviteLinkInvalid => (
                "invite-link-invalid",
                "This invite link can't be used",
                404,
                "The link is invalid, was already used, was revoked or has expired. Ask an admin of your company to send a new invite."
                    .to_string(),
            ),
            ApiError::AcceptInProgress => (
                "accept-in-progress",
                "This invite is being accepted",
                409,
                "Another request is accepting this invite right now. Wait a moment, then sign in; if that fails, open the link again."
                    .to_string(),
            ),
            ApiError::ResetLinkInvalid => (
                "reset-link-invalid",
                "This reset link can't be used",
                404,
                "The link is invalid, was replaced by a newer one or has expired (links work for 1 hour). Ask for a new one from the sign-in page."
                    .to_string(),
            ),
            ApiError::ResetLinkUsed => (
                "reset-link-used",
                "This reset link was already used",
                409,
                "A new password was already set with this link. Sign in with it, or ask for a new link from the sign-in page."
                    .to_string(),
            ),
            ApiError::TooManyResets { retry_after_secs } => {
                ext.insert("retryAfter".into(), (*retry_after_secs).into());
                (
                    "too-many-resets",
                    "Too many reset emails",
                    429,
                    format!("This address got 3 reset emails in the last hour. Try again in {} minutes.", retry_after_secs.div_ceil(60)),
                )
            }
            ApiError::UserSuspended => (
                "user-suspended",
                "User suspended",
                409,
                "This user is suspended. Reactivate them first.".to_string(),
            ),
            ApiError::MalformedBody(why) => (
                "malformed-body",
                "Malformed request body",
                400,
                format!("The body must be a JSON object: {why}"),
            ),
            ApiError::Invalid(list) => {
                errors = list.clone();
                (
                    "invalid-request",
                    "Invalid request",
                    400,
                    format!("{} field(s) need attention.", list.len()),
                )
            }
            ApiError::WeakPassword(list) => {
                errors = list.clone();
                (
                    "weak-password",
                    "Password too weak",
                    400,
                    "The password does not meet the password policy.".to_string(),
                )
            }
            ApiError::SeatLimit {
                requested,
                free,
                limit,
                pricing_url,
            } => {
                ext.insert("requested".into(), (*requested).into());
                ext.insert("free".into(), (*free).into());
                ext.insert("seatLimit".into(), (*limit).into());
                ext.insert("pricingUrl".into(), pricing_url.clone().into());
                (
                    "seat-limit",
                    "Not enough seats",
                    409,
                    format!(
                        "{requested} requested, {free} free of your plan's {limit} seats. Suspend or delete users, revoke pending invites, or upgrade your plan: {pricing_url}"
                    ),
                )
            }
            ApiError::EmailTaken(list) => {
                errors = list.clone();
                (
                    "email-taken",
                    "Email already in use",
                    409,
                    "Each user needs their own email; these already belong to a user or a pending invite.".to_string(),
                )
            }
            ApiError::Conflict(why) => ("conflict", "Conflict", 409, why.clone()),
            ApiError::TeamExists(name) => (
                "team-exists",
                "Team already exists",
                409,
                format!("A team is already called {name}. Merge into it instead, or choose another name."),
            ),
            ApiError::RowsRefused(rows) => {
                ext.insert(
                    "rows".into(),
                    serde_json::to_value(rows).unwrap_or(Value::Null),
                );
                (
                    "rows-refused",
                    "Nothing was changed",
                    409,
                    format!(
                        "{} of the rows can't be changed as asked, so none was. Fix or leave out those rows and save again.",
                        rows.len()
                    ),
                )
            }
            ApiError::VersionConflict { current } => {
                ext.insert("currentVersion".into(), (*current).into());
                (
                    "version-conflict",
                    "Changed by someone else",
                    409,
                    "This user was changed since you loaded it. Reload and try again.".to_string(),
                )
            }
            ApiError::LastAdmin => (
                "last-admin",
                "A company needs an admin",
                409,
                "This is the last active admin. Make someone else an admin first.".to_string(),
            ),
            ApiError::InviteNotPending(status) => {
                ext.insert("inviteStatus".into(), (*status).into());
                (
                    "invite-not-pending",
                    "Invite no longer pending",
                    409,
                    format!("The invite is {status}."),
                )
            }
            ApiError::SelfAction(what) => (
                "self-action",
                "Not on yourself",
                409,
                match *what {
                    "sign out" => "To end your own sessions, use “Sign out everywhere” on your profile.".to_string(),
                    _ => format!("You can't {what} yourself; ask another admin."),
                },
            ),
            ApiError::UserDeleted => (
                "user-deleted",
                "User deleted",
                409,
                "This user was deleted; deletion is permanent.".to_string(),
            ),
            ApiError::TooManyRequests { retry_after_secs } => {
                ext.insert("retryAfter".into(), (*retry_after_secs).into());
                (
                    "too-many-requests",
                    "Too soon",
                    429,
                    format!("This invite was just sent. Try again in {retry_after_secs} seconds."),
                )
            }
            ApiError::Throttled {
                per_minute,
                retry_after_secs,
            } => {
                ext.insert("retryAfter".into(), (*retry_after_secs).into());
                (
                    "throttled",
                    "Too many requests",
                    429,
                    format!("This token may make {per_minute} requests a minute. Retry in {retry_after_secs} seconds."),
                )
            }
            ApiError::Scim {
                status,
                scim_type,
                detail,
            } => {
                ext.insert("scimType".into(), (*scim_type).into());
                (
                    "scim",
                    "Refused by directory sync",
                    *status,
                    detail.clone(),
                )
            }
            ApiError::TooManyAttempts => {
                ext.insert("retryAfter".into(), 60.into());
                (
                    "too-many-attempts",
                    "Too many attempts",
                    429,
                    "Too many password attempts. Wait a minute and try again.".to_string(),
                )
            }
            ApiError::Unavailable(_) => (
                "unavailable",
                "Temporarily unavailable",
                503,
                "A service we depend on did not answer. Nothing was changed; try again.".to_string(),
            ),
            ApiError::Internal(_) => (
                "internal",
                "Something went wrong on our side",
                500,
                "We could not read a record this request needs. Trying again will not help; contact support with the request id.".to_string(),
            ),
            ApiError::OutcomeUnknown(_) => (
                "outcome-unknown",
                "Couldn't confirm",
                503,
                "We couldn't confirm whether this went through. Check before trying again, or send it again with the same Idempotency-Key to get its outcome without doing it twice.".to_string(),
            ),
            ApiError::MfaRequired => (
                "mfa-required",
                "Two-step verification required",
                403,
                "Your company requires admins to use two-step verification. Set it up on your profile to continue.".to_string(),
            ),
            ApiError::MfaAlreadyOn => (
                "mfa-on",
                "Two-step verification is already on",
                409,
                "Two-step verification is already on. To move it to another device, turn it off first.".to_string(),
            ),
            ApiError::MfaPolicy(why) => (
                match *why {
                    "required" => "mfa-required-by-policy",
                    _ => "mfa-not-set-up",
                },
                match *why {
                    "required" => "Required by your company",
                    _ => "Set it up on your account first",
                },
                409,
                match *why {
                    "required" => "Your company requires two-step verification for your role, so it can't be turned off.",
                    _ => "Turn on two-step verification on your own profile before requiring it: otherwise you would lock yourself out.",
                }
                .to_string(),
            ),
            ApiError::IdempotencyKeyReused => (
                "idempotency-key-reused",
                "Idempotency key already used",
                422,
                "This Idempotency-Key was already used for a different request. Use a new key for a new action.".to_string(),
            ),
            ApiError::IdempotencyInProgress => (
                "idempotency-in-progress",
                "Still in progress",
                409,
                "A request with this Idempotency-Key is still being processed. Send it again with the same key in a moment to get its outcome.".to_string(),
            ),
        };
        Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_string(),
            status,
            detail,
            errors,
            extensions: ext,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seat_limit_problem_says_how_many_and_links_the_pricing_page() {
        let p = ApiError::SeatLimit {
            requested: 5,
            free: 3,
            limit: 10,
            pricing_url: "https://veloconnect.io/pricing".into(),
        }
        .problem();
        assert_eq!(p.status, 409);
        assert!(p.detail.contains("5 requested, 3 free"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["pricingUrl"], "https://veloconnect.io/pricing");
        assert_eq!(json["type"], "https://veloconnect.io/problems/seat-limit");
    }

    #[test]
    fn validation_problems_name_every_field() {
        let p = ApiError::Invalid(vec![
            FieldError::new("email", "is required"),
            FieldError::new("role", "must be one of agent, supervisor, admin"),
        ])
        .problem();
        assert_eq!(p.status, 400);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["errors"][1]["field"], "role");
    }

    #[test]
    fn a_cause_keeps_its_whole_chain_for_the_log() {
        #[derive(Debug, thiserror::Error)]
        #[error("dynamodb did not answer")]
        struct Outer(#[source] std::io::Error);
        let e = ApiError::Unavailable(Cause::new(Outer(std::io::Error::other("connection reset"))));
        assert_eq!(
            Chain(&e).to_string(),
            "a dependency failed; nothing was changed: dynamodb did not answer: connection reset"
        );
        assert!(!e.problem().detail.contains("connection reset"));
    }

    #[test]
    fn a_record_we_cannot_read_is_a_500_that_says_retrying_will_not_help() {
        let p = ApiError::Internal("stored item is malformed".into()).problem();
        assert_eq!(p.status, 500);
        assert!(p.type_.ends_with("/internal"));
        assert!(p.detail.contains("will not help"));
        assert!(!p.detail.contains("malformed"));
    }

    #[test]
    fn service_faults_are_503_not_500() {
        assert_eq!(ApiError::Unavailable("x".into()).status(), 503);
        assert_eq!(ApiError::OutcomeUnknown("x".into()).status(), 503);
    }

    #[test]
    fn only_a_failure_before_any_write_claims_that_nothing_changed() {
        let nothing = ApiError::Unavailable("x".into()).problem();
        let unknown = ApiError::OutcomeUnknown("x".into()).problem();
        assert!(nothing.detail.contains("Nothing was changed"));
        assert!(!unknown.detail.to_lowercase().contains("nothing"));
        assert!(unknown.detail.contains("couldn't confirm"));
        assert_ne!(nothing.type_, unknown.type_);
        assert!(unknown.type_.ends_with("/outcome-unknown"));
    }
}
