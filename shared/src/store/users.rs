//! The company's people (`USER#<sub>` / `USER`, listed by gsi1 `TENANT#<t>#USER`): their
//! reads, their one change (a role, team or status change at the version read) and how a
//! refused change names its rule, and the activity touch (not a change: no version, no audit).

use super::items::{self, n, s, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{Page, Store, StoreError};
use crate::domain::manage::counter_deltas;
use crate::domain::{timefmt, AuditEntry, Scope, TenantId, User, UserFilter, UserId, UserStatus};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

impl Store {
    /// Consistent read: a role change or suspension shows on the very next request (docs/rules.md, rule 5).
    pub async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(items::user_pk(id), items::USER_SK)
            .await?
            .map(|m| Row(&m).user())
            .transpose()
    }

    /// Two users in one consistent round trip: the caller and the user they act on.
    pub async fn user_pair(
        &self,
        a: &UserId,
        b: &UserId,
    ) -> Result<(Option<User>, Option<User>), StoreError> {
        let (x, y) = self
            .get_two(
                (items::user_pk(a), items::USER_SK),
                (items::user_pk(b), items::USER_SK),
            )
            .await?;
        Ok((
            x.map(|m| Row(&m).user()).transpose()?,
            y.map(|m| Row(&m).user()).transpose()?,
        ))
    }

    /// Records that the user made a request at `now`, unless someone recorded a time within
    /// the grain already (`User::activity_due`, as the condition): two requests at once write
    /// once. Not a change of the user: the version and the audit log don't move.
    pub async fn touch_user(&self, id: &UserId, now: OffsetDateTime) -> Result<(), StoreError> {
        let cutoff = now - crate::domain::user::ACTIVITY_GRAIN;
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::user_pk(id)))
            .key("sk", s(items::USER_SK))
            .update_expression("SET lastActiveAt = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lastActiveAt) OR lastActiveAt <= :cutoff)",
            )
            .expression_attribute_values(":now", s(timefmt::format(now)))
            .expression_attribute_values(":cutoff", s(timefmt::format(cutoff)))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Someone recorded it within the grain already.
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
                if se.err().is_conditional_check_failed_exception() =>
            {
                Ok(())
            }
            Err(e) => Err(super::unavailable(e)),
        }
    }

    /// One page of the tenant's users in `scope` that pass `filter`: `Scope::admits` and
    /// `UserFilter::matches`, written as the query's filter expression.
    pub async fn list_users(
        &self,
        tenant_id: &TenantId,
        scope: &Scope,
        filter: &UserFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, StoreError> {
        let mut names = vec![("#st", "status")];
        let mut values: Vec<(&str, AttributeValue)> = Vec::new();
        let mut conds: Vec<String> = Vec::new();

        let statuses = filter.statuses();
        const ST: [&str; 3] = [":st0", ":st1", ":st2"];
        let mut st_conds = Vec::new();
        for (i, st) in statuses.iter().enumerate().take(3) {
            values.push((ST[i], s(st.as_str())));
            st_conds.push(format!("#st = {}", ST[i]));
        }
        conds.push(format!("({})", st_conds.join(" OR ")));
        if let Some(role) = filter.role {
            names.push(("#role", "role"));
            values.push((":role", s(role.as_str())));
            conds.push("#role = :role".into());
        }
        if let Some(team) = &filter.team {
            values.push((":team", s(team)));
            conds.push("team = :team".into());
        }
        if let Some(q) = &filter.search {
            names.push(("#search", "search"));
            values.push((":q", s(q)));
            conds.push("contains(#search, :q)".into());
        }
        match scope {
            Scope::Tenant => {}
            Scope::TeamAndSelf { team, me } => {
                values.push((":vteam", s(team)));
                values.push((":self", s(items::user_pk(me))));
                conds.push("(team = :vteam OR pk = :self)".into());
            }
            Scope::SelfOnly { me } => {
                values.push((":self", s(items::user_pk(me))));
                conds.push("pk = :self".into());
            }
        }
        let filter_expr = conds.join(" AND ");
        let gsi1pk = items::users_gsi1pk(tenant_id);
        let rows = self
            .query_gsi1(
                &gsi1pk,
                None,
                true,
                Some((&filter_expr, &names, values)),
                cursor,
                limit,
            )
            .await?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(|m| Row(m).user())
                .collect::<Result<_, _>>()?,
            cursor: rows.cursor,
        })
    }

    /// A user's role, team or status change: the new record replaces the old only at the
    /// version that was read (a concurrent change makes this fail, never lose an update), the
    /// tenant's counters follow, a deletion gives the email back, and the audit entry. A
    /// status change is made while holding the login's sign-in lock
    /// (`usecase::users`), whose marker records what Cognito owes.
    pub async fn change_user(
        &self,
        before: &User,
        after: &User,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_if(
            Tag::User,
            items::user_item(after),
            "version = :v",
            &[],
            vec![(":v", n(before.version))],
        );
        let (seats, admins) = counter_deltas(before, after);
        tx.tenant_counters(&before.tenant_id, seats, admins, None);
        if after.status == UserStatus::Deleted && before.status != UserStatus::Deleted {
            tx.delete_if(
                Tag::Email(0),
                items::email_pk(&before.email),
                items::EMAIL_SK,
                "refId = :ref",
                vec![(":ref", s(&before.id))],
            );
        }
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|tags| decide::user_change(tags, seats, admins)))
    }
}

mod decide {
    use super::{Refusal, Tag};

    /// A user change, given how it moves the tenant's counters: a concurrent change to the
    /// user first; the tenant's item carries both counters' conditions, so which rule refused
    /// follows from which counter this change moves down or up.
    pub fn user_change(tags: &[Tag], seats: i64, admins: i64) -> Refusal {
        if tags.contains(&Tag::User) {
            Refusal::Stale
        } else if tags.contains(&Tag::Tenant) && admins < 0 {
            Refusal::LastAdmin
        } else if tags.contains(&Tag::Tenant) && seats > 0 {
            Refusal::NoSeat
        } else {
            Refusal::Stale
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use Tag::*;

        #[test]
        fn a_refused_user_change_names_the_counter_it_moved() {
            assert_eq!(user_change(&[User, Tenant], 0, -1), Refusal::Stale);
            assert_eq!(user_change(&[Tenant], 0, -1), Refusal::LastAdmin);
            assert_eq!(user_change(&[Tenant], -1, -1), Refusal::LastAdmin);
            assert_eq!(user_change(&[Tenant], 1, 0), Refusal::NoSeat);
            assert_eq!(user_change(&[Tenant], 1, 1), Refusal::NoSeat);
            assert_eq!(user_change(&[Tenant], 0, 0), Refusal::Stale);
        }
    }
}
