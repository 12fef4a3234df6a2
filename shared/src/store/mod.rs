//! The DynamoDB adapter. Key design (also in docs/data-model.md):
//!
//! Directory table (`pk`, `sk`), one GSI `gsi1` (`gsi1pk`, `gsi1sk`):
//! - tenant  `TENANT#<t>` / `TENANT`: name, tier, seatLimit, seatsUsed
//! - user    `USER#<sub>` / `USER`:  gsi1 `TENANT#<t>#USER` / `<lower name>#<id>`
//! - invite  `INVITE#<i>` / `INVITE`: gsi1 `TENANT#<t>#INVITE` / `<status>#<createdAt>#<id>`
//! - guard   `EMAIL#<normalized email>` / `EMAIL`: tenantId, kind (user|invite), refId
//!
//! Users and invites are keyed by their own id, not under the tenant, so that a verified
//! token (its `sub`) and an invite token (its invite id) each find their record in one
//! consistent read; every such read then checks `tenantId` (docs/rules.md, rule 7).
//!
//! Audit table (`pk`, `sk`): `TENANT#<t>` / `<at>#<entry id>`, append-only.

mod idempotency;
mod items;
mod lifecycle;
mod signin;
mod tx;

pub use items::{decode_cursor, encode_cursor, idem_pk};
pub use lifecycle::{AuditFilter, Closing, CLOSE_BATCH};
pub use signin::{EmailHolder, Marker, Unlock};
use tx::{decide, Tag};
pub use tx::{Refusal, WriteError};

pub use crate::domain::UserFilter;
use crate::domain::{
    timefmt, AuditEntry, DeliveryStatus, Invite, InviteId, InviteStatus, Role, Scope, Tenant,
    TenantId, Tier, User, UserId,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use items::{s, Row};
use std::collections::HashMap;
use time::OffsetDateTime;
use tx::Tx;

#[derive(Debug, Clone)]
pub struct Tables {
    pub directory: String,
    pub audit: String,
}

impl Tables {
    pub fn from_env() -> Result<Tables, crate::config::ConfigError> {
        Ok(Tables {
            directory: crate::config::env("DIRECTORY_TABLE")?,
            audit: crate::config::env("AUDIT_TABLE")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("dynamodb: {0}")]
    Unavailable(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("the cursor was not issued by this API for this list")]
    BadCursor,
}

impl From<StoreError> for crate::domain::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => {
                crate::domain::ApiError::Invalid(vec![crate::domain::FieldError::new(
                    "cursor",
                    "is not a cursor this API issued for this list",
                )])
            }
            e => crate::domain::ApiError::Unavailable(e.to_string()),
        }
    }
}

fn unavailable<E: std::fmt::Debug>(e: E) -> StoreError {
    StoreError::Unavailable(format!("{e:?}"))
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
}

/// A scheduled job's walk over an index, page by page, within a budget of pages:
///
/// ```ignore
/// let mut sweep = Sweep::new(max_pages);
/// while let Some(cursor) = sweep.next_cursor() {
///     let page = store.due_invites(now, cursor, PAGE).await?;
///     for item in sweep.take(page) { /* … */ }
/// }
/// ```
///
/// The cursor moves on whatever the job made of a page, so an item that keeps failing can't
/// pin a job to its first page. (A loop, not a function taking async closures: a spawned
/// job's future must be `Send`, which rustc can't yet prove through them.)
#[derive(Debug)]
pub struct Sweep {
    max_pages: usize,
    cursor: Option<String>,
    /// Pages read.
    pub pages: usize,
    /// The budget ran out with more still due; the next run continues.
    pub more: bool,
}

impl Sweep {
    pub fn new(max_pages: usize) -> Sweep {
        Sweep {
            max_pages,
            cursor: None,
            pages: 0,
            more: false,
        }
    }

    /// Where to read next (`Some(None)`: the start), or `None` when the sweep is over.
    pub fn next_cursor(&mut self) -> Option<Option<&str>> {
        // No cursor after a page read: the index is done.
        if self.pages > 0 && self.cursor.is_none() {
            return None;
        }
        if self.pages == self.max_pages {
            self.more = true;
            return None;
        }
        Some(self.cursor.as_deref())
    }

    /// Records a page read from `next_cursor`'s position and gives its items.
    pub fn take<T>(&mut self, page: Page<T>) -> Vec<T> {
        self.pages += 1;
        self.cursor = page.cursor;
        page.items
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    fn page(items: &[u8], cursor: Option<&str>) -> Page<u8> {
        Page {
            items: items.to_vec(),
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn a_sweep_follows_cursors_to_the_end_or_stops_at_its_budget() {
        let mut s = Sweep::new(5);
        assert_eq!(s.next_cursor(), Some(None));
        assert_eq!(s.take(page(&[1, 2], Some("c1"))), vec![1, 2]);
        assert_eq!(s.next_cursor(), Some(Some("c1")));
        assert_eq!(s.take(page(&[3], None)), vec![3]);
        assert_eq!(s.next_cursor(), None);
        assert_eq!((s.pages, s.more), (2, false));

        let mut s = Sweep::new(1);
        assert_eq!(s.next_cursor(), Some(None));
        s.take(page(&[], Some("c1")));
        assert_eq!(s.next_cursor(), None);
        assert_eq!((s.pages, s.more), (1, true));

        let mut s = Sweep::new(0);
        assert_eq!(s.next_cursor(), None);
        assert!(s.more);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteListFilter {
    /// Pending and not yet past expiry.
    Pending,
    /// Marked expired, or pending past expiry (the job may not have run yet).
    Expired,
    All,
}

/// Narrows an invite list the way the Users screen narrows users, so one filter applies to
/// both kinds of row.
#[derive(Debug, Clone, Default)]
pub struct InviteNarrow {
    pub role: Option<Role>,
    pub team: Option<String>,
    /// Lower-cased substring of name or email.
    pub search: Option<String>,
}

pub struct Store {
    client: Client,
    tables: Tables,
}

/// How many DynamoDB reads a filtered list page may take before it returns what it has
/// with a cursor, so one sparse filter can't make a request unbounded.
const MAX_QUERY_ROUNDS: usize = 8;

impl Store {
    pub fn new(client: Client, tables: Tables) -> Store {
        Store { client, tables }
    }

    /// As deployed: DynamoDB with `cfg`, the tables Lambda's environment names.
    pub fn from_env(cfg: &aws_types::SdkConfig) -> Result<Store, crate::config::ConfigError> {
        Ok(Store::new(Client::new(cfg), Tables::from_env()?))
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    async fn get(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Two items in one consistent round trip (BatchGetItem), in the order asked. Keys that
    /// DynamoDB leaves unprocessed under load are asked for again.
    async fn get_two(
        &self,
        a: (String, &str),
        b: (String, &str),
    ) -> Result<(Option<Item>, Option<Item>), StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        if a.0 == b.0 && a.1 == b.1 {
            // BatchGetItem refuses a repeated key.
            let one = self.get(a.0, a.1).await?;
            return Ok((one.clone(), one));
        }
        let key = |(pk, sk): &(String, &str)| {
            HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(*sk))])
        };
        let mut wanted = vec![key(&a), key(&b)];
        let mut found: Vec<Item> = Vec::new();
        for attempt in 0..5u64 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut wanted)))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.tables.directory, keys)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut rows) = out.responses.take() {
                found.extend(rows.remove(&self.tables.directory).unwrap_or_default());
            }
            wanted = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.tables.directory))
                .map(|k| k.keys)
                .unwrap_or_default();
            if wanted.is_empty() {
                let pick = |k: &(String, &str)| {
                    found
                        .iter()
                        .find(|i| {
                            i.get("pk").and_then(|v| v.as_s().ok()) == Some(&k.0)
                                && i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str)
                                    == Some(k.1)
                        })
                        .cloned()
                };
                return Ok((pick(&a), pick(&b)));
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed after retries".into(),
        ))
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

    /// A user and an invite in one consistent round trip: the caller and the invite they act on.
    pub async fn user_and_invite(
        &self,
        user: &UserId,
        invite: &InviteId,
    ) -> Result<(Option<User>, Option<Invite>), StoreError> {
        let (x, y) = self
            .get_two(
                (items::user_pk(user), items::USER_SK),
                (items::invite_pk(invite), items::INVITE_SK),
            )
            .await?;
        Ok((
            x.map(|m| Row(&m).user()).transpose()?,
            y.map(|m| Row(&m).invite()).transpose()?,
        ))
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(items::tenant_pk(id), items::TENANT_SK)
            .await?
            .map(|m| Row(&m).tenant())
            .transpose()
    }

    /// Consistent read: a role change or suspension shows on the very next request (docs/rules.md, rule 5).
    pub async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(items::user_pk(id), items::USER_SK)
            .await?
            .map(|m| Row(&m).user())
            .transpose()
    }

    pub async fn invite(&self, id: &InviteId) -> Result<Option<Invite>, StoreError> {
        self.get(items::invite_pk(id), items::INVITE_SK)
            .await?
            .map(|m| Row(&m).invite())
            .transpose()
    }

    /// A new tenant, its first admin's invite (which takes seat one) and both audit entries.
    pub async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_admin: &Invite,
        audit: &[AuditEntry],
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_new(Tag::Tenant, items::tenant_item(tenant));
        tx.put_new(Tag::Invite(0), items::invite_item(first_admin));
        tx.put_new(Tag::Email(0), items::invite_guard(first_admin));
        for a in audit {
            tx.audit(a);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::new_invites))
    }

    /// Invites as one transaction: the seats (under the limit, docs/rules.md rule 1), each invite, each email
    /// guard (docs/rules.md, rule 2) and each audit entry (docs/rules.md, rule 3). All or nothing.
    pub async fn create_invites(
        &self,
        tenant: &Tenant,
        invites: &[Invite],
        audit: &[AuditEntry],
    ) -> Result<(), WriteError> {
        let n = invites.len() as u32;
        let mut tx = Tx::new(&self.tables);
        tx.take_seats(tenant, n);
        for (i, inv) in invites.iter().enumerate() {
            tx.put_new(Tag::Invite(i), items::invite_item(inv));
            tx.put_new(Tag::Email(i), items::invite_guard(inv));
        }
        for a in audit {
            tx.audit(a);
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::new_invites))
    }

    /// Accept: the invite (still pending, same token, unexpired at `now`, and the login still
    /// locked by this accept) becomes accepted, the user appears, the email guard moves from the
    /// invite to the user, and the audit entry.
    /// The invite's seat becomes the user's, so the counter does not move.
    pub async fn accept_invite(
        &self,
        invite: &Invite,
        lock_id: &str,
        user: &User,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Invite(0),
            items::invite_pk(&invite.id),
            items::INVITE_SK,
            "SET #st = :accepted, gsi1sk = :g, acceptedAt = :now, userId = :uid \
             REMOVE tokenHash, gsi2pk, gsi2sk",
            "#st = :pending AND tokenHash = :hash AND expiresAt > :now",
            &[("#st", "status")],
            vec![
                (":accepted", s(InviteStatus::Accepted.as_str())),
                (":pending", s(InviteStatus::Pending.as_str())),
                (
                    ":g",
                    s(items::invite_gsi1sk(InviteStatus::Accepted, invite)),
                ),
                (":now", s(timefmt::format(now))),
                (":uid", s(&user.id)),
                (":hash", s(&invite.token_hash)),
            ],
        );
        tx.put_new(Tag::User, items::user_item(user));
        tx.signin_still_held(&user.login(), lock_id);
        if user.role == Role::Admin {
            tx.tenant_counters(&invite.tenant_id, 0, 1, None);
        }
        tx.update(
            Tag::Email(0),
            items::email_pk(&user.email),
            items::EMAIL_SK,
            "SET kind = :user, refId = :uid",
            "refId = :iid AND tenantId = :t",
            &[],
            vec![
                (":user", s("user")),
                (":uid", s(&user.id)),
                (":iid", s(&invite.id)),
                (":t", s(&invite.tenant_id)),
            ],
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::accept))
    }

    /// Records how each email went, in one round trip however many there are (a transaction
    /// of updates: BatchWriteItem can only replace whole items, which could undo a revoke
    /// that landed meanwhile). Not an audited change: it changes no one's access.
    pub async fn set_delivery(
        &self,
        outcomes: &[(&InviteId, DeliveryStatus)],
    ) -> Result<(), StoreError> {
        for chunk in outcomes.chunks(tx::MAX_ITEMS) {
            // One outcome alone is a plain update: half the write cost of a transaction.
            if let [(invite_id, status)] = chunk {
                self.client
                    .update_item()
                    .table_name(&self.tables.directory)
                    .key("pk", s(items::invite_pk(invite_id)))
                    .key("sk", s(items::INVITE_SK))
                    .update_expression("SET delivery = :d")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":d", s(status.as_str()))
                    .send()
                    .await
                    .map_err(unavailable)?;
                continue;
            }
            let mut tx = tx::Tx::new(&self.tables);
            for (i, (invite_id, status)) in chunk.iter().enumerate() {
                tx.update(
                    Tag::Invite(i),
                    items::invite_pk(invite_id),
                    items::INVITE_SK,
                    "SET delivery = :d",
                    "attribute_exists(pk)",
                    &[],
                    vec![(":d", s(status.as_str()))],
                );
            }
            tx.commit(&self.client)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }

    /// A new tier and seat limit; refused if the tenant already uses more seats than the new
    /// limit (they must free seats first, so docs/rules.md rule 1 keeps holding).
    pub async fn set_tier(
        &self,
        tenant: &Tenant,
        tier: Tier,
        seat_limit: u32,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Tenant,
            items::tenant_pk(&tenant.id),
            items::TENANT_SK,
            "SET tier = :tier, seatLimit = :limit",
            "attribute_exists(pk) AND seatsUsed <= :limit",
            &[],
            vec![
                (":tier", s(tier.as_str())),
                (":limit", items::n(seat_limit)),
            ],
        );
        tx.audit(audit);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide::tier))
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

    pub async fn list_invites(
        &self,
        tenant_id: &TenantId,
        which: InviteListFilter,
        narrow: &InviteNarrow,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Invite>, StoreError> {
        let gsi1pk = items::invites_gsi1pk(tenant_id);
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut conds: Vec<String> = Vec::new();
        let now = s(timefmt::format(now));
        match which {
            InviteListFilter::Pending => {
                values.push((":now", now));
                conds.push("expiresAt > :now".into());
            }
            InviteListFilter::Expired => {
                names.push(("#st", "status"));
                values.push((":now", now));
                values.push((":expired", s(InviteStatus::Expired.as_str())));
                values.push((":pending", s(InviteStatus::Pending.as_str())));
                conds.push("(#st = :expired OR (#st = :pending AND expiresAt <= :now))".into());
            }
            InviteListFilter::All => {}
        }
        if let Some(role) = narrow.role {
            names.push(("#role", "role"));
            values.push((":role", s(role.as_str())));
            conds.push("#role = :role".into());
        }
        if let Some(team) = &narrow.team {
            values.push((":team", s(team)));
            conds.push("team = :team".into());
        }
        if let Some(q) = &narrow.search {
            names.push(("#search", "search"));
            values.push((":q", s(q)));
            conds.push("contains(#search, :q)".into());
        }
        let filter_expr = conds.join(" AND ");
        let prefix = (which == InviteListFilter::Pending).then_some("pending#");
        let rows = self
            .query_gsi1(
                &gsi1pk,
                prefix,
                false,
                (!conds.is_empty()).then_some((filter_expr.as_str(), names.as_slice(), values)),
                cursor,
                limit,
            )
            .await?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(|m| Row(m).invite())
                .collect::<Result<_, _>>()?,
            cursor: rows.cursor,
        })
    }

    /// One page of a gsi1 partition (see `query`).
    #[allow(clippy::type_complexity)]
    async fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: Option<&str>,
        forward: bool,
        filter: Option<(&str, &[(&str, &str)], Vec<(&str, AttributeValue)>)>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Item>, StoreError> {
        let mut q = Query {
            table: &self.tables.directory,
            index: Some("gsi1"),
            partition: ("gsi1pk", gsi1pk.to_string()),
            key_attrs: &["pk", "sk", "gsi1sk"],
            sort: prefix.map(|p| ("begins_with(gsi1sk, :s1)".to_string(), vec![(":s1", s(p))])),
            forward,
            filter: None,
            names: vec![],
            values: vec![],
        };
        if let Some((expr, names, values)) = filter {
            q.filter = Some(expr.to_string());
            q.names = names.to_vec();
            q.values = values;
        }
        self.query(q, cursor, limit).await
    }

    /// Follows DynamoDB's pages until `limit` items passed the filter or `MAX_QUERY_ROUNDS`
    /// reads were spent, so one sparse filter can't make a request unbounded.
    async fn query(
        &self,
        q: Query<'_>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Item>, StoreError> {
        let (pattr, pval) = &q.partition;
        let mut start = cursor
            .map(|c| decode_cursor(c, pattr, pval, q.key_attrs))
            .transpose()?;
        let mut out = Vec::new();
        let key_cond = match &q.sort {
            Some((expr, _)) => format!("{pattr} = :p AND {expr}"),
            None => format!("{pattr} = :p"),
        };
        for _ in 0..MAX_QUERY_ROUNDS {
            let mut req = self
                .client
                .query()
                .table_name(q.table)
                .set_index_name(q.index.map(str::to_string))
                .scan_index_forward(q.forward)
                .limit((limit - out.len()) as i32)
                .key_condition_expression(&key_cond)
                .expression_attribute_values(":p", s(pval))
                .set_exclusive_start_key(start.take());
            if let Some((_, values)) = &q.sort {
                for (k, v) in values {
                    req = req.expression_attribute_values(*k, v.clone());
                }
            }
            if let Some(f) = &q.filter {
                req = req.filter_expression(f);
            }
            for (k, v) in &q.names {
                req = req.expression_attribute_names(*k, *v);
            }
            for (k, v) in &q.values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            let page = req.send().await.map_err(unavailable)?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || out.len() >= limit {
                break;
            }
        }
        Ok(Page {
            items: out,
            cursor: start.as_ref().map(|k| encode_cursor(k, pattr)),
        })
    }
}

type Item = HashMap<String, AttributeValue>;

struct Query<'a> {
    table: &'a str,
    index: Option<&'a str>,
    /// The partition attribute and its value, always from the caller's own scope.
    partition: (&'a str, String),
    /// The attributes of a `LastEvaluatedKey` other than the partition one.
    key_attrs: &'a [&'a str],
    sort: Option<(String, Vec<(&'a str, AttributeValue)>)>,
    forward: bool,
    filter: Option<String>,
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> Query<'a> {
    /// What a sparse due-index partition (`gsi2`) holds before `now`, oldest first: the
    /// scheduled jobs' reads, which cost what is due, not what exists.
    fn due(tables: &'a Tables, partition: &str, now: OffsetDateTime) -> Query<'a> {
        Query {
            table: &tables.directory,
            index: Some("gsi2"),
            partition: ("gsi2pk", partition.to_string()),
            key_attrs: &["pk", "sk", "gsi2sk"],
            sort: Some((
                "gsi2sk < :due".to_string(),
                vec![(":due", s(crate::domain::timefmt::format(now)))],
            )),
            forward: true,
            filter: None,
            names: vec![],
            values: vec![],
        }
    }
}
