//! A user's password reset (docs/rules.md, rule 13): one record per user, holding the newest
//! link's hash while it is unused, the hash of the link that was used (so that link, opened
//! again, says it was used rather than that it never existed), and the sends of the last hour
//! that the per-address limit counts. No I/O here: the store keeps the record, the use case
//! (`usecase::resets`) decides with these rules.

use super::{TenantId, User, UserId};
use time::{Duration, OffsetDateTime};

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::hours(1);
/// Reset emails to one address within any hour; past it nothing is sent (and the public
/// route's answer does not change).
pub const SENDS_PER_HOUR: usize = 3;
/// The window the limit counts in.
pub const SEND_WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Clone, PartialEq)]
pub struct PasswordReset {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    /// The newest link's argon2id hash, while that link is unused.
    pub token_hash: Option<String>,
    /// The hash of the link that set a password, until a newer link replaces it.
    pub used_hash: Option<String>,
    /// When the newest link was made.
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    /// Sends within the last hour before the newest one, and it: oldest first, at most
    /// [`SENDS_PER_HOUR`].
    pub sends: Vec<OffsetDateTime>,
    /// Who asked for the newest link: `None` the user themselves (the public form), or the
    /// admin who sent it.
    pub requested_by: Option<UserId>,
}

/// What a presented link opens, once its secret was checked against the record's hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The newest link, unused and unexpired: it may set a password.
    Live,
    /// The link that already set a password.
    Used,
    /// Anything else: never issued, replaced by a newer link, or past its hour. One answer
    /// for all, as for invite links.
    Dead,
}

impl PasswordReset {
    /// When another reset email to this user may go: `None` now, or the time the oldest of the
    /// hour's sends leaves the window.
    pub fn next_send_at(
        prev: Option<&PasswordReset>,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let recent = recent_sends(prev, now);
        if recent.len() < SENDS_PER_HOUR {
            return None;
        }
        recent.first().map(|t| *t + SEND_WINDOW)
    }

    /// A new link for `user`, replacing any older one (its hash is gone, so it opens nothing),
    /// with this send counted. The caller checked [`next_send_at`](Self::next_send_at).
    pub fn issued(
        prev: Option<&PasswordReset>,
        user: &User,
        token_hash: String,
        now: OffsetDateTime,
        requested_by: Option<UserId>,
    ) -> PasswordReset {
        let mut sends = recent_sends(prev, now);
        sends.push(now);
        let keep = sends.len().saturating_sub(SENDS_PER_HOUR);
        sends.drain(..keep);
        PasswordReset {
            user_id: user.id.clone(),
            tenant_id: user.tenant_id.clone(),
            token_hash: Some(token_hash),
            used_hash: None,
            issued_at: now,
            expires_at: now + RESET_TTL,
            used_at: None,
            sends,
            requested_by,
        }
    }

    /// The link whose secret matched `matched` (a hash this record holds) at `now`.
    pub fn state(&self, matched: Option<Matched>, now: OffsetDateTime) -> LinkState {
        match matched {
            Some(Matched::Newest) if now < self.expires_at => LinkState::Live,
            Some(Matched::Used) => LinkState::Used,
            _ => LinkState::Dead,
        }
    }

    /// When the record is of no more use to anyone: its link expired and its sends left the
    /// window (DynamoDB's TTL removes it some time after).
    pub fn forgettable_at(&self) -> OffsetDateTime {
        let last_send = self.sends.last().copied().unwrap_or(self.issued_at);
        self.expires_at.max(last_send + SEND_WINDOW)
    }
}

/// Which of a record's hashes a link's secret matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    Newest,
    Used,
}

fn recent_sends(prev: Option<&PasswordReset>, now: OffsetDateTime) -> Vec<OffsetDateTime> {
    prev.map(|p| {
        p.sends
            .iter()
            .copied()
            .filter(|t| *t > now - SEND_WINDOW && *t <= now)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Role, UserStatus};
    use time::macros::datetime;

    fn user() -> User {
        User {
            id: "u1".into(),
            tenant_id: "t1".into(),
            email: Email::parse("ann@acme.test").unwrap(),
            name: "Ann".into(),
            role: Role::Agent,
            team: None,
            status: UserStatus::Active,
            created_at: datetime!(2026-12-01 09:00 UTC),
            updated_at: datetime!(2026-12-01 09:00 UTC),
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
    fn three_sends_an_hour_then_none_until_the_oldest_leaves_the_window() {
        let t0 = datetime!(2026-12-06 10:00 UTC);
        let mut r: Option<PasswordReset> = None;
        for i in 0..3 {
            let now = t0 + Duration::minutes(10 * i);
            assert_eq!(
                PasswordReset::next_send_at(r.as_ref(), now),
                None,
                "send {i}"
            );
            r = Some(PasswordReset::issued(
                r.as_ref(),
                &user(),
                format!("h{i}"),
                now,
                None,
            ));
        }
        let now = t0 + Duration::minutes(30);
        assert_eq!(
            PasswordReset::next_send_at(r.as_ref(), now),
            Some(t0 + Duration::hours(1))
        );
        // An hour after the first, one may go again; the window keeps at most three.
        let later = t0 + Duration::hours(1) + Duration::seconds(1);
        assert_eq!(PasswordReset::next_send_at(r.as_ref(), later), None);
        let next = PasswordReset::issued(r.as_ref(), &user(), "h3".into(), later, None);
        assert_eq!(next.sends.len(), 3);
        assert_eq!(next.sends[0], t0 + Duration::minutes(10));
    }

    #[test]
    fn a_newer_link_replaces_the_older_and_a_used_link_reads_used() {
        let t0 = datetime!(2026-12-06 10:00 UTC);
        let first = PasswordReset::issued(None, &user(), "h1".into(), t0, None);
        assert_eq!(first.state(Some(Matched::Newest), t0), LinkState::Live);
        assert_eq!(first.state(None, t0), LinkState::Dead);
        assert_eq!(
            first.state(Some(Matched::Newest), t0 + RESET_TTL),
            LinkState::Dead,
            "an hour later the link is dead"
        );
        let second = PasswordReset::issued(Some(&first), &user(), "h2".into(), t0, None);
        assert_eq!(second.token_hash.as_deref(), Some("h2"));
        assert_eq!(
            second.state(Some(Matched::Used), t0 + Duration::hours(5)),
            LinkState::Used,
            "a used link reads used, also past its hour"
        );
        assert_eq!(second.forgettable_at(), t0 + Duration::hours(1));
    }
}
