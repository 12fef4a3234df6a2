//! Idempotency keys (docs/rules.md, rule 11): a client that sends `Idempotency-Key` with a
//! write and sends it again (a retry after a timeout, a 503, a lost connection) gets the
//! first attempt's answer, byte for byte, and nothing is changed twice. The conventions are
//! Stripe's and AWS Powertools': the key is the client's (a fresh one per user action), kept
//! 24 hours per caller; the same key on a different request is refused; a retry while the
//! first attempt still runs waits briefly or is told to come back.
//!
//! This module is the pure part: the key's shape, what identifies a request (its print), the
//! answer as recorded, and what a stored record means for a new attempt. The record lives in
//! the directory table (`store::idempotency`), is claimed before the work starts, moves to
//! `committed` inside the change's own transaction (with the answer the change gives), and to
//! `done` once the answer is sent.

use super::error::{ApiError, FieldError};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::Serialize;

/// The request header a client names its attempt with.
pub const KEY_HEADER: &str = "idempotency-key";
/// Set on an answer that repeats an earlier attempt's instead of doing the work again.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key's outcome is kept: a retry after that is a new request.
pub const KEEP_SECS: i64 = 24 * 60 * 60;
/// Longest a key may be (Stripe's limit).
pub const MAX_KEY_LEN: usize = 255;

/// A client's idempotency key: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, FieldError> {
        let field = "header.Idempotency-Key";
        if raw.is_empty() || raw.len() > MAX_KEY_LEN {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {MAX_KEY_LEN} characters (a new UUID per action is typical)"),
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                field,
                "may hold only visible ASCII characters (no spaces)",
            ));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests the same request: route, path and body. A JSON body counts by
/// its value, not its spelling (key order and spaces don't matter); anything else by its
/// bytes. Stored as a BLAKE2b-256 digest, or, for a public route whose body holds an invite
/// token and a password, only as an argon2id hash (`secret`), like the token itself.
#[derive(Clone)]
pub struct Print {
    canonical: Vec<u8>,
    secret: bool,
}

impl std::fmt::Debug for Print {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Print(<{} bytes>, secret: {})",
            self.canonical.len(),
            self.secret
        )
    }
}

const DIGEST_PREFIX: &str = "b2:";

impl Print {
    #[allow(
        clippy::expect_used,
        reason = "a serde_json::Value that was just parsed always serializes again"
    )]
    pub fn of(route: &str, path: &str, body: &[u8], secret: bool) -> Print {
        let body = match serde_json::from_slice::<serde_json::Value>(body) {
            // serde_json's maps are sorted, so this is one spelling per value.
            Ok(v) => serde_json::to_vec(&v).expect("a parsed value serializes"),
            Err(_) => body.to_vec(),
        };
        let mut canonical = Vec::with_capacity(route.len() + path.len() + body.len() + 2);
        canonical.extend_from_slice(route.as_bytes());
        canonical.push(0);
        canonical.extend_from_slice(path.as_bytes());
        canonical.push(0);
        canonical.extend_from_slice(&body);
        Print { canonical, secret }
    }

    /// The form kept in the record. Hashing a secret print costs one argon2id hash (about as
    /// much as accepting checks the token).
    pub fn stored(&self) -> String {
        if self.secret {
            super::token::hash_secret_in(&self.canonical, &mut super::token::HashMemory::new())
        } else {
            format!(
                "{DIGEST_PREFIX}{}",
                super::ids::hex(&Blake2b::<U32>::digest(&self.canonical))
            )
        }
    }

    /// Whether a stored print is this request's.
    pub fn matches(&self, stored: &str) -> bool {
        match stored.strip_prefix(DIGEST_PREFIX) {
            Some(_) if !self.secret => stored == self.stored(),
            Some(_) => false,
            None => self.secret && super::token::verify_secret(&self.canonical, stored),
        }
    }
}

/// An answer as it was sent: what a replay sends again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    #[allow(
        clippy::expect_used,
        reason = "the answer types are plain structs of strings and numbers, which always serialize"
    )]
    pub fn json<T: Serialize>(status: u16, body: &T) -> Answer {
        Answer {
            status,
            content_type: "application/json".into(),
            body: serde_json::to_string(body).expect("answer types serialize"),
        }
    }
}

/// Where a key's attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Claimed; the change has not committed (or its commit's fate is not known yet).
    Running,
    /// The change committed, with the answer it gives; the answer may not have been sent.
    Committed,
    /// The answer was sent (or the attempt ended in a refusal that changed nothing).
    Done,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Committed => "committed",
            State::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "running" => Some(State::Running),
            "committed" => Some(State::Committed),
            "done" => Some(State::Done),
            _ => None,
        }
    }
}

/// A key's record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub print: String,
    pub state: State,
    /// Which attempt holds the key. The change's transaction is conditioned on it, so an
    /// attempt whose lease another took over can never commit.
    pub lease_id: String,
    /// Until when (ms since the epoch) the holder may still be working: its deadline.
    pub lease_until_ms: i64,
    pub answer: Option<Answer>,
    /// When the key is forgotten (seconds since the epoch; DynamoDB's TTL).
    pub expires_at: i64,
}

/// The hold one attempt has on a key: the record's partition key and the attempt's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub pk: String,
    pub lease_id: String,
}

/// What becomes of a key once its attempt has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The answer is the key's outcome: recorded, and replayed to every retry.
    Keep,
    /// Nothing changed and the answer is not final: the key is freed for a retry.
    Release,
    /// Whether the change landed is not known: the key stays held until its lease lapses.
    Leave,
}

impl Disposition {
    /// What an `Idempotency-Key` keeps of an error outcome (rule 11). A rule's refusal is the
    /// attempt's outcome, as a success is: a retry gets it again. A refusal of the request
    /// itself (its form, its caller, a wait it was told to honour) or a failure before any
    /// write changed nothing, so the key is freed for the retry to do the work. An unknown
    /// outcome leaves the key held until its lease lapses: by then the commit either landed
    /// with the key's answer or can no longer land.
    pub fn of(e: &ApiError) -> Disposition {
        match e {
            ApiError::SeatLimit { .. }
            | ApiError::EmailTaken(_)
            | ApiError::Conflict(_)
            | ApiError::VersionConflict { .. }
            | ApiError::LastAdmin
            | ApiError::RowsRefused(_)
            | ApiError::InviteNotPending(_)
            | ApiError::SelfAction(_)
            | ApiError::UserDeleted
            | ApiError::UserSuspended
            | ApiError::ResetLinkUsed
            | ApiError::MfaAlreadyOn
            | ApiError::MfaPolicy(_) => Disposition::Keep,
            ApiError::OutcomeUnknown(_) => Disposition::Leave,
            _ => Disposition::Release,
        }
    }
}

/// What a stored record means for an attempt that finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The first attempt's answer, to send again.
    Replay(Answer),
    /// The key was used for a different request.
    Mismatch,
    /// The first attempt may still be working (until its lease runs out, in ms from now).
    Running { for_ms: i64 },
    /// Nobody holds the key any more (the holder was cut off before its commit, or the key
    /// is past its 24 hours): this attempt may take it over, fencing the old holder out.
    Abandoned,
}

/// What `record` means for an attempt whose print `matches` or not, at `now_ms`.
pub fn judge(record: &Record, matches: bool, now_ms: i64) -> Seen {
    if record.expires_at * 1000 <= now_ms {
        return Seen::Abandoned;
    }
    if !matches {
        return Seen::Mismatch;
    }
    match (&record.state, &record.answer) {
        (State::Done | State::Committed, Some(a)) => Seen::Replay(a.clone()),
        _ if record.lease_until_ms > now_ms => Seen::Running {
            for_ms: record.lease_until_ms - now_ms,
        },
        // A commit without its answer can't be (the transaction writes both); read as
        // running, its lease lapsed, so a retry takes over rather than replaying nothing.
        _ => Seen::Abandoned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: State, answer: Option<Answer>, lease_until_ms: i64) -> Record {
        Record {
            print: "b2:x".into(),
            state,
            lease_id: "l1".into(),
            lease_until_ms,
            answer,
            expires_at: 100_000,
        }
    }

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("0f6c2f3a-7e1d-4c2b-9a55-1f2e3d4c5b6a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            let e = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(e.field, "header.Idempotency-Key", "{bad:?}");
        }
    }

    #[test]
    fn a_print_counts_a_json_body_by_value_and_tells_routes_paths_and_bodies_apart() {
        let a = Print::of(
            "PUT /users/{id}/role",
            "/users/u1/role",
            br#"{"role":"agent","team":"A"}"#,
            false,
        );
        let same = Print::of(
            "PUT /users/{id}/role",
            "/users/u1/role",
            b"{ \"team\": \"A\", \"role\": \"agent\" }",
            false,
        );
        assert!(same.matches(&a.stored()));
        for other in [
            Print::of(
                "PUT /users/{id}/role",
                "/users/u2/role",
                br#"{"role":"agent","team":"A"}"#,
                false,
            ),
            Print::of(
                "PUT /users/{id}/role",
                "/users/u1/role",
                br#"{"role":"admin","team":"A"}"#,
                false,
            ),
            Print::of(
                "POST /users/{id}/suspend",
                "/users/u1/role",
                br#"{"role":"agent","team":"A"}"#,
                false,
            ),
        ] {
            assert!(!other.matches(&a.stored()));
        }
        assert!(Print::of("DELETE /invites/{id}", "/invites/i", b"", false)
            .matches(&Print::of("DELETE /invites/{id}", "/invites/i", b"", false).stored()));
    }

    #[test]
    fn a_secret_print_is_stored_only_as_argon2id_and_still_matches() {
        let body = br#"{"token":"i1.secret","password":"Correct-Horse-9!"}"#;
        let p = Print::of("POST /invites/accept", "/invites/accept", body, true);
        let stored = p.stored();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("secret") && !stored.contains("Horse"));
        assert!(p.matches(&stored));
        let other = Print::of(
            "POST /invites/accept",
            "/invites/accept",
            br#"{"token":"i1.secret","password":"Other-Horse-9!!"}"#,
            true,
        );
        assert!(!other.matches(&stored));
        // A digest never stands in for a secret print, nor the other way round.
        let plain = Print::of("POST /invites/accept", "/invites/accept", body, false);
        assert!(!p.matches(&plain.stored()));
        assert!(!plain.matches(&stored));
    }

    #[test]
    fn a_finished_or_committed_attempt_is_replayed_to_the_same_request_only() {
        let a = Answer::json(200, &serde_json::json!({"id": "u1"}));
        assert_eq!(
            judge(&record(State::Done, Some(a.clone()), 0), true, 5_000),
            Seen::Replay(a.clone())
        );
        assert_eq!(
            judge(
                &record(State::Committed, Some(a.clone()), 9_000),
                true,
                5_000
            ),
            Seen::Replay(a.clone())
        );
        assert_eq!(
            judge(&record(State::Done, Some(a), 0), false, 5_000),
            Seen::Mismatch
        );
    }

    #[test]
    fn a_running_attempt_is_waited_for_until_its_lease_lapses_then_taken_over() {
        assert_eq!(
            judge(&record(State::Running, None, 6_000), true, 5_000),
            Seen::Running { for_ms: 1_000 }
        );
        assert_eq!(
            judge(&record(State::Running, None, 5_000), true, 5_000),
            Seen::Abandoned
        );
        // Past its 24 hours a key is free again, whatever it held.
        let a = Answer::json(201, &1);
        assert_eq!(
            judge(&record(State::Done, Some(a), 0), false, 100_000_000),
            Seen::Abandoned
        );
    }
}
