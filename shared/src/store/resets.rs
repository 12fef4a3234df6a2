//! Password resets (`RESET#<user>` / `RESET`, one per user): the public form's lookup, a new
//! link replacing the older, and a link consumed in the same transaction as the user's
//! sign-out stamp and the audit entry (docs/rules.md, rule 13).

use super::items::{self, s, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{Store, StoreError};
use crate::domain::reset::PasswordReset;
use crate::domain::{timefmt, AuditEntry, Email, User, UserId};
use time::OffsetDateTime;

/// The key the public form reads when an address belongs to no user: a user id no `sub` can
/// be (Cognito's are UUIDs), so the read finds nothing and costs what a real one does.
const NOBODY: &str = "nobody";

impl Store {
    /// A user and their reset in one consistent round trip.
    pub async fn user_and_reset(
        &self,
        user: &UserId,
    ) -> Result<(Option<User>, Option<PasswordReset>), StoreError> {
        let (x, y) = self
            .get_two(
                (items::user_pk(user), items::USER_SK),
                (items::reset_pk(user), items::RESET_SK),
            )
            .await?;
        Ok((
            x.map(|m| Row(&m).user()).transpose()?,
            y.map(|m| Row(&m).reset()).transpose()?,
        ))
    }

    /// The public form's reads: the address's guard, then the user it names and their reset.
    /// An address that names no user (unknown, an invite's) still makes the second read, of
    /// a key nobody holds, so the two paths make the same calls (rule 13).
    pub async fn reset_lookup(
        &self,
        email: &Email,
    ) -> Result<(Option<User>, Option<PasswordReset>), StoreError> {
        let holder = self.email_holder(email.normalized()).await?;
        let id = match holder {
            Some(super::EmailHolder::User(id)) => id,
            _ => UserId::parse(NOBODY).ok_or_else(|| StoreError::Corrupt(NOBODY.into()))?,
        };
        let (user, reset) = self.user_and_reset(&id).await?;
        // A record under `NOBODY` would be corrupt data, never someone's reset.
        match user {
            Some(u) if u.id == id && u.id != NOBODY => Ok((Some(u), reset)),
            _ => Ok((None, None)),
        }
    }

    /// A new link: the record replaces the one read (`before`), only if it is still that one,
    /// with the admin's audit entry when an admin sent it. A concurrent request for the same
    /// user makes this fail (`Stale`): one of the two sends, never both past the limit.
    pub async fn save_reset(
        &self,
        before: Option<&PasswordReset>,
        after: &PasswordReset,
        audit: Option<&AuditEntry>,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        match before {
            None => tx.put_new(Tag::Reset, items::reset_item(after)),
            Some(b) => tx.put_if(
                Tag::Reset,
                items::reset_item(after),
                "issuedAt = :issued",
                &[],
                vec![(":issued", s(timefmt::format(b.issued_at)))],
            ),
        }
        if let Some(a) = audit {
            tx.audit(a);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::save))
    }

    /// A link sets a password: the link marked used (unless it already is: a link sets a
    /// password once), every link of the user's gone with it, the user stamped signed out (at
    /// the version read, still active), the login's lock still this request's, and the audit
    /// entry, all at once. A newer link asked for meanwhile goes too: a new password was set.
    pub async fn consume_reset(
        &self,
        used_hash: &str,
        now: OffsetDateTime,
        before: &User,
        after: &User,
        lock_id: &str,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Reset,
            items::reset_pk(&before.id),
            items::RESET_SK,
            "SET usedHash = :hash, usedAt = :now REMOVE tokenHash",
            "attribute_exists(pk) AND (attribute_not_exists(usedHash) OR usedHash <> :hash)",
            &[],
            vec![(":hash", s(used_hash)), (":now", s(timefmt::format(now)))],
        );
        tx.update_user(
            Tag::User,
            after,
            &[],
            "#version = :v AND #status = :active",
            &[],
            vec![
                (":v", items::n(before.version)),
                (":active", s(crate::domain::UserStatus::Active.as_str())),
            ],
        );
        tx.signin_still_held(&before.login(), lock_id);
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::consume))
    }
}

mod decide {
    use super::{Refusal, Tag};

    /// A new link: another request wrote the record first.
    pub fn save(_: &[Tag]) -> Refusal {
        Refusal::Stale
    }

    /// A link's use: the link already used first, then the lock, then the user changed
    /// meanwhile.
    pub fn consume(tags: &[Tag]) -> Refusal {
        if tags.contains(&Tag::Reset) {
            Refusal::NotPending
        } else if tags.contains(&Tag::Marker) {
            Refusal::SignInLocked
        } else {
            Refusal::Stale
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use Tag::*;

        #[test]
        fn a_used_link_is_named_before_the_lock_or_the_user() {
            assert_eq!(consume(&[Reset, User, Marker]), Refusal::NotPending);
            assert_eq!(consume(&[Marker, User]), Refusal::SignInLocked);
            assert_eq!(consume(&[User]), Refusal::Stale);
            assert_eq!(save(&[Reset]), Refusal::Stale);
        }
    }
}
