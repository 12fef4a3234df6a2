//! The company's people (`USER#<sub>` / `USER`, listed by gsi1 `TENANT#<t>#USER`): their
//! reads, their one change (a role, team or status change at the version read) and how a
//! refused change names its rule, and the activity touch (not a change: no version, no audit).

use super::items::{self, n, s, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{Page, Store, StoreError};
use crate::domain::manage::counter_deltas;
use crate::domain::user::UserOrder;
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
    /// The activity index's key (`gsi2`) moves with it, so "sort by last active" and the
    /// online range read what was recorded.
    pub async fn touch_user(
        &self,
        tenant: &TenantId,
        id: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let cutoff = now - crate::domain::user::ACTIVITY_GRAIN;
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::user_pk(id)))
            .key("sk", s(items::USER_SK))
            .update_expression("SET lastActiveAt = :now, gsi2pk = :seen, gsi2sk = :seensk")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lastActiveAt) OR lastActiveAt <= :cutoff)",
            )
            .expression_attribute_values(":now", s(timefmt::format(now)))
            .expression_attribute_values(":seen", s(items::users_seen_gsi2pk(tenant)))
            .expression_attribute_values(":seensk", s(items::user_seen_gsi2sk(id, Some(now))))
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

    /// Several users in one consistent round trip (at most 100, distinct), in the order asked.
    pub async fn users(&self, ids: &[UserId]) -> Result<Vec<Option<User>>, StoreError> {
        let keys: Vec<(String, &str)> = ids
            .iter()
            .map(|id| (items::user_pk(id), items::USER_SK))
            .collect();
        self.get_many(&keys)
            .await?
            .iter()
            .map(|m| m.as_ref().map(|m| Row(m).user()).transpose())
            .collect()
    }

    /// A quick edit (rule 17): every row's versioned change (and its availability, when it
    /// sets one) at the version it was read at, the admins counter moved by their sum (a
    /// demotion only while another admin stays), and one audit entry per row, all in one
    /// transaction: every row or none. A refusal names the rows that changed since they were
    /// read (`StaleRows`), or the last admin.
    pub async fn quick_edit(&self, rows: &[QuickRow<'_>]) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let mut admins = 0;
        for r in rows {
            let also = r
                .availability
                .map(items::availability_attrs)
                .unwrap_or_default();
            // A row that sets availability also holds it to what was read (it moves no version):
            // a user's own set in between is not overwritten unseen, and the entry's "before" is
            // what it replaced.
            let mut values = vec![(":v", n(r.before.version)), (":t", s(&r.before.tenant_id))];
            let condition = match (r.availability, r.before.availability.set_at) {
                (None, _) => "#version = :v AND tenantId = :t",
                (Some(_), None) => {
                    "#version = :v AND tenantId = :t AND attribute_not_exists(availabilityAt)"
                }
                (Some(_), Some(at)) => {
                    values.push((":read", s(timefmt::format(at))));
                    "#version = :v AND tenantId = :t AND availabilityAt = :read"
                }
            };
            tx.update_user(Tag::Row(r.index), r.after, &also, condition, &[], values);
            admins += counter_deltas(r.before, r.after).1;
        }
        if let Some(first) = rows.first() {
            tx.tenant_counters(&first.before.tenant_id, 0, admins, None);
        }
        for r in rows {
            tx.audit(r.entry);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::quick_edit))
    }

    /// A user's own availability (rule 16): one conditional update of its own attributes, no
    /// version, no audit entry, while the user is an active user of `tenant`. Answers the record
    /// as stored after it (`None`: no longer active). The last of two concurrent sets wins, as
    /// DynamoDB orders them.
    pub async fn set_own_availability(
        &self,
        user: &User,
        state: &crate::domain::user::AvailabilityState,
    ) -> Result<Option<User>, WriteError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::user_pk(&user.id)))
            .key("sk", s(items::USER_SK))
            .condition_expression("attribute_exists(pk) AND tenantId = :t AND #st = :active")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":t", s(&user.tenant_id))
            .expression_attribute_values(":active", s(UserStatus::Active.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let mut sets = Vec::new();
        for (i, (k, v)) in items::availability_attrs(state).into_iter().enumerate() {
            sets.push(format!("{k} = :a{i}"));
            req = req.expression_attribute_values(format!(":a{i}"), v);
        }
        req = req.update_expression(format!("SET {}", sets.join(", ")));
        // Not a transaction: the journal is told by hand what the answer is and that a write
        // went out, so a request cut after it answers that (or that it couldn't confirm),
        // never that nothing changed.
        crate::journal::will_answer(crate::domain::views::answers::user(&User {
            availability: state.clone(),
            ..user.clone()
        }));
        let _ = crate::journal::sending();
        match req.send().await {
            Ok(out) => {
                crate::journal::settled(true);
                let item = out.attributes.unwrap_or_default();
                let user = Row(&item)
                    .user()
                    .map_err(|e| WriteError::Unknown(crate::domain::Cause::new(e)))?;
                Ok(Some(user))
            }
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
                if se.err().is_conditional_check_failed_exception() =>
            {
                crate::journal::settled(false);
                Ok(None)
            }
            // DynamoDB answered with an error (throttled, refused): nothing was written.
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se)) => {
                crate::journal::settled(false);
                Err(WriteError::Unavailable(crate::domain::Cause::new(
                    aws_sdk_dynamodb::error::SdkError::ServiceError(se),
                )))
            }
            // Cut, timed out or unanswered: it may have landed.
            Err(e) => Err(WriteError::Unknown(crate::domain::Cause::new(e))),
        }
    }

    /// An admin's set of another user's availability, with its audit entry: only while the
    /// record is still at the version and availability `before` was read at, so the entry's
    /// "before" is exactly what it replaced (a refusal is `Stale`: read again and retry).
    pub async fn set_availability(
        &self,
        before: &User,
        state: &crate::domain::user::AvailabilityState,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let mut values = vec![
            (":v", n(before.version)),
            (":t", s(&before.tenant_id)),
            (":active", s(UserStatus::Active.as_str())),
        ];
        let read = match before.availability.set_at {
            Some(at) => {
                values.push((":read", s(timefmt::format(at))));
                "availabilityAt = :read"
            }
            None => "attribute_not_exists(availabilityAt)",
        };
        let attrs = items::availability_attrs(state);
        const SLOTS: [&str; 4] = [":a0", ":a1", ":a2", ":a3"];
        let sets: Vec<String> = attrs
            .iter()
            .zip(SLOTS)
            .map(|((k, _), slot)| format!("{k} = {slot}"))
            .collect();
        for ((_, v), slot) in attrs.into_iter().zip(SLOTS) {
            values.push((slot, v));
        }
        tx.update(
            Tag::User,
            items::user_pk(&before.id),
            items::USER_SK,
            &format!("SET {}", sets.join(", ")),
            &format!("#version = :v AND tenantId = :t AND #st = :active AND {read}"),
            &[("#version", "version"), ("#st", "status")],
            values,
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// One page of the tenant's users in `scope` that pass `filter`: `Scope::admits` and
    /// `UserFilter::matches`, written as the query's filter expression.
    pub async fn list_users(
        &self,
        tenant_id: &TenantId,
        scope: &Scope,
        filter: &UserFilter,
        moving: Option<&crate::domain::team::TeamMove>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, StoreError> {
        let nobody = || Page {
            items: Vec::new(),
            cursor: None,
        };
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
            match super::teams::team_condition(
                team,
                moving,
                [":team", ":team2", ":team3"],
                &mut values,
            ) {
                Some(c) => conds.push(c),
                None => return Ok(nobody()),
            }
        }
        if let Some(q) = &filter.search {
            names.push(("#search", "search"));
            values.push((":q", s(q)));
            conds.push("contains(#search, :q)".into());
        }
        if let Some(p) = filter.presence {
            // `User::online_since`, as an expression.
            values.push((":since", s(timefmt::format(p.since))));
            values.push((":online", s(UserStatus::Active.as_str())));
            conds.push(if p.online {
                "(lastActiveAt >= :since AND #st = :online)".into()
            } else {
                "(attribute_not_exists(lastActiveAt) OR lastActiveAt < :since OR #st <> :online)"
                    .into()
            });
        }
        if let Some(a) = filter.availability {
            names.push(("#avail", "availability"));
            values.push((":avail", s(a.as_str())));
            // Never set reads as available (the record's default).
            conds.push(if a == crate::domain::user::Availability::Available {
                "(attribute_not_exists(#avail) OR #avail = :avail)".into()
            } else {
                "#avail = :avail".into()
            });
        }
        match scope {
            Scope::Tenant => {}
            Scope::TeamAndSelf { team, me } => {
                values.push((":self", s(items::user_pk(me))));
                // The caller's team as shown: under a running move, both names it is stored as.
                let shown = moving.map_or(team.as_str(), |m| m.shown(team));
                match super::teams::team_condition(
                    shown,
                    moving,
                    [":vteam", ":vteam2", ":vteam3"],
                    &mut values,
                ) {
                    Some(c) => conds.push(format!("({c} OR pk = :self)")),
                    None => conds.push("pk = :self".into()),
                }
            }
            Scope::SelfOnly { me } => {
                values.push((":self", s(items::user_pk(me))));
                conds.push("pk = :self".into());
            }
        }
        let filter_expr = conds.join(" AND ");
        let rows = match filter.order {
            UserOrder::Name => {
                let gsi1pk = items::users_gsi1pk(tenant_id);
                // Each order's query boxed: inline, both futures sit in this one's frame,
                // deep enough under the in-process gateway to overflow a debug test stack.
                Box::pin(self.query_gsi1(
                    &gsi1pk,
                    None,
                    true,
                    Some((&filter_expr, &names, values)),
                    cursor,
                    limit,
                ))
                .await?
            }
            UserOrder::LastActive => {
                // Online is a range of the activity index: only those rows are read. Only on
                // the first page: the bound moves with the clock, and a later page's start key
                // below it is one DynamoDB refuses (outside the key condition); the filter
                // holds the same line on every page.
                let since = filter.presence.filter(|_| cursor.is_none()).map(|p| {
                    let bound = s(timefmt::format(p.since));
                    let op = if p.online { ">=" } else { "<" };
                    (format!("gsi2sk {op} :r"), vec![(":r", bound)])
                });
                let q = super::Query {
                    table: &self.tables.directory,
                    index: Some("gsi2"),
                    partition: ("gsi2pk", items::users_seen_gsi2pk(tenant_id)),
                    key_attrs: &["pk", "sk", "gsi2sk"],
                    sort: since,
                    forward: false,
                    filter: Some(filter_expr),
                    names: names.clone(),
                    values,
                };
                Box::pin(self.query(q, cursor, limit)).await?
            }
        };
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
        tx.update_user(
            Tag::User,
            after,
            &[],
            "#version = :v",
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

/// One row of a quick edit, as `Store::quick_edit` commits it.
pub struct QuickRow<'a> {
    pub index: usize,
    pub before: &'a User,
    pub after: &'a User,
    pub availability: Option<&'a crate::domain::user::AvailabilityState>,
    pub entry: &'a AuditEntry,
}

mod decide {
    use super::{Refusal, Tag};

    /// A quick edit: rows whose record moved first (each named), else the admins counter.
    pub fn quick_edit(tags: &[Tag]) -> Refusal {
        let mut rows: Vec<usize> = tags
            .iter()
            .filter_map(|t| match t {
                Tag::Row(i) => Some(*i),
                _ => None,
            })
            .collect();
        rows.sort_unstable();
        if !rows.is_empty() {
            Refusal::StaleRows(rows)
        } else if tags.contains(&Tag::Tenant) {
            Refusal::LastAdmin
        } else {
            Refusal::Stale
        }
    }

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
        fn a_refused_quick_edit_names_its_stale_rows_before_the_last_admin() {
            assert_eq!(
                quick_edit(&[Row(3), Tenant, Row(1)]),
                Refusal::StaleRows(vec![1, 3])
            );
            assert_eq!(quick_edit(&[Tenant]), Refusal::LastAdmin);
            assert_eq!(quick_edit(&[Audit]), Refusal::Stale);
        }

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
