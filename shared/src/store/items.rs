//! Item layout and conversions between domain values and DynamoDB attribute maps.

use super::StoreError;
use crate::domain::user::AvailabilityState;
use crate::domain::{
    timefmt, Actor, AuditAction, AuditEntry, DeliveryStatus, Email, Invite, InviteId, InviteStatus,
    Role, Target, Tenant, TenantId, Tier, User, UserId, UserStatus,
};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::HashMap;
use std::str::FromStr;
use time::OffsetDateTime;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub const TENANT_SK: &str = "TENANT";
pub const USER_SK: &str = "USER";
pub const INVITE_SK: &str = "INVITE";
pub const EMAIL_SK: &str = "EMAIL";
pub const IDEM_SK: &str = "IDEM";
pub const RESET_SK: &str = "RESET";

pub fn tenant_pk(id: &TenantId) -> String {
    format!("TENANT#{id}")
}
pub fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}
pub fn invite_pk(id: &InviteId) -> String {
    format!("INVITE#{id}")
}
/// The guard's key is the normalized address, so `Jane@X.com ` and `jane@x.com` collide.
pub fn email_pk(email: &Email) -> String {
    login_guard_pk(email.normalized())
}
/// The guard of a sign-in username (a normalized address).
/// A user's password reset: keyed by the user, so a newer link replaces the older in place.
pub fn reset_pk(user: &UserId) -> String {
    format!("RESET#{user}")
}

pub fn login_guard_pk(login: &str) -> String {
    format!("EMAIL#{login}")
}
/// An idempotency key's record (rule 11), per caller (`scope`: the caller's id, or `public`
/// on a route without one) and key.
pub fn idem_pk(scope: &str, key: &str) -> String {
    format!("IDEM#{scope}#{key}")
}
/// One partition for every pending invite's expiry. Writes to it are one per invite sent, far
/// below a partition's throughput; the job reads only the part that is due.
pub const EXPIRY_GSI2PK: &str = "PENDING";

pub fn users_gsi1pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#USER")
}
pub fn invites_gsi1pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#INVITE")
}
pub fn audit_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

/// The company's events item in the audit table (`EVENTS#<t>` / `EVENTS`): every transaction
/// that writes published audit entries rewrites it with their events and adds their count to
/// its `seq`. One item per company, so DynamoDB Streams, which keeps each item's records in
/// order, hands `publish-events` a company's events in commit order, numbered by `seq`.
pub fn events_pk(tenant: &TenantId) -> String {
    format!("{}{tenant}", crate::domain::event::ITEM_PREFIX)
}
pub const EVENTS_SK: &str = "EVENTS";

/// The company's users by recorded activity (`gsi2`, newest first): the list's "sort by last
/// active" and its online range. Every user carries it; one never seen sorts last (`0`).
pub fn users_seen_gsi2pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#SEEN")
}
pub fn user_seen_gsi2sk(id: &UserId, seen: Option<OffsetDateTime>) -> String {
    match seen {
        Some(t) => format!("{}#{id}", timefmt::format(t)),
        None => format!("0#{id}"),
    }
}

pub fn user_gsi1sk(u: &User) -> String {
    format!("{}#{}", u.name.to_lowercase(), u.id)
}
pub fn invite_gsi1sk(status: InviteStatus, i: &Invite) -> String {
    format!(
        "{}#{}#{}",
        status.as_str(),
        timefmt::format(i.created_at),
        i.id
    )
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub struct Row<'a>(pub &'a Item);

impl Row<'_> {
    pub fn idempotency(&self) -> Result<crate::domain::idempotency::Record, StoreError> {
        use crate::domain::idempotency::{Answer, Record, State};
        let answer = match self.0.get("answerStatus") {
            None => None,
            Some(_) => Some(Answer {
                status: self.n("answerStatus")?,
                content_type: self.s("answerType")?,
                body: self.s("answerBody")?,
            }),
        };
        Ok(Record {
            print: self.s("print")?,
            state: self.parsed("state", State::parse)?,
            lease_id: self.s("leaseId")?,
            lease_until_ms: self.n("leaseUntil")?,
            answer,
            expires_at: self.n("ttl")?,
        })
    }

    fn bad(&self, key: &str) -> StoreError {
        let pk = self.0.get("pk").and_then(|v| v.as_s().ok()).cloned();
        StoreError::Corrupt(format!("{key} in {pk:?}"))
    }
    /// A string attribute, if there.
    pub fn opt(&self, key: &str) -> Option<String> {
        self.opt_s(key)
    }
    fn opt_s(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(|v| v.as_s().ok()).cloned()
    }
    fn s(&self, key: &str) -> Result<String, StoreError> {
        self.opt_s(key).ok_or_else(|| self.bad(key))
    }
    fn n<T: FromStr>(&self, key: &str) -> Result<T, StoreError> {
        self.0
            .get(key)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| self.bad(key))
    }
    fn t(&self, key: &str) -> Result<OffsetDateTime, StoreError> {
        timefmt::parse(&self.s(key)?).ok_or_else(|| self.bad(key))
    }
    /// A stored address parses: it was parsed before it was written.
    fn email(&self, key: &str) -> Result<Email, StoreError> {
        Email::parse(&self.s(key)?).map_err(|_| self.bad(key))
    }
    fn parsed<T>(&self, key: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
        f(&self.s(key)?).ok_or_else(|| self.bad(key))
    }

    pub fn reset(&self) -> Result<crate::domain::reset::PasswordReset, StoreError> {
        let time = |k: &str| {
            self.opt_s(k)
                .map(|v| timefmt::parse(&v).ok_or_else(|| self.bad(k)))
                .transpose()
        };
        let sends = match self.0.get("sends") {
            None => Vec::new(),
            Some(v) => v
                .as_l()
                .map_err(|_| self.bad("sends"))?
                .iter()
                .map(|t| {
                    t.as_s()
                        .ok()
                        .and_then(|t| timefmt::parse(t))
                        .ok_or_else(|| self.bad("sends"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(crate::domain::reset::PasswordReset {
            user_id: self.parsed("userId", UserId::parse)?,
            tenant_id: self.parsed("tenantId", TenantId::parse)?,
            token_hash: self.opt_s("tokenHash"),
            used_hash: self.opt_s("usedHash"),
            issued_at: self.t("issuedAt")?,
            expires_at: self.t("expiresAt")?,
            used_at: time("usedAt")?,
            sends,
            requested_by: self
                .opt_s("requestedBy")
                .map(|v| UserId::parse(&v).ok_or_else(|| self.bad("requestedBy")))
                .transpose()?,
        })
    }

    pub fn tenant(&self) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: self.parsed("tenantId", TenantId::parse)?,
            name: self.s("name")?,
            tier: self.parsed("tier", Tier::parse)?,
            seat_limit: self.n("seatLimit")?,
            seats_used: self.n("seatsUsed")?,
            active_admins: self.n("activeAdmins").unwrap_or(0),
            mfa_policy: match self.opt_s("mfaPolicy") {
                None => crate::domain::tenant::MfaPolicy::Off,
                Some(v) => crate::domain::tenant::MfaPolicy::parse(&v)
                    .ok_or_else(|| self.bad("mfaPolicy"))?,
            },
            default_max_chats: match self.0.get("defaultMaxChats") {
                None => crate::domain::user::DEFAULT_MAX_CHATS,
                Some(_) => self.n("defaultMaxChats")?,
            },
            created_at: self.t("createdAt")?,
        })
    }

    pub fn user(&self) -> Result<User, StoreError> {
        Ok(User {
            id: self.parsed("userId", UserId::parse)?,
            tenant_id: self.parsed("tenantId", TenantId::parse)?,
            email: self.email("email")?,
            name: self.s("name")?,
            role: self.parsed("role", Role::parse)?,
            team: self.opt_s("team"),
            status: self.parsed("status", UserStatus::parse)?,
            created_at: self.t("createdAt")?,
            updated_at: self.t("updatedAt")?,
            version: self.n("version")?,
            signed_out_at: self
                .opt_s("signedOutAt")
                .map(|v| timefmt::parse(&v).ok_or_else(|| self.bad("signedOutAt")))
                .transpose()?,
            signed_out_by: self
                .opt_s("signedOutBy")
                .map(|v| UserId::parse(&v).ok_or_else(|| self.bad("signedOutBy")))
                .transpose()?,
            last_active_at: self
                .opt_s("lastActiveAt")
                .map(|v| timefmt::parse(&v).ok_or_else(|| self.bad("lastActiveAt")))
                .transpose()?,
            mfa: match self.0.get("mfa") {
                None => false,
                Some(v) => *v.as_bool().map_err(|_| self.bad("mfa"))?,
            },
            mail: crate::domain::user::MailState {
                sent_at: self.opt_s("mailSentAt"),
                problem: self.opt_s("mailProblem"),
            },
            max_chats: match self.0.get("maxChats") {
                None => crate::domain::user::DEFAULT_MAX_CHATS,
                Some(_) => self.n("maxChats")?,
            },
            availability: crate::domain::user::AvailabilityState {
                status: match self.opt_s("availability") {
                    None => Default::default(),
                    Some(v) => crate::domain::user::Availability::parse(&v)
                        .ok_or_else(|| self.bad("availability"))?,
                },
                set_at: self
                    .opt_s("availabilityAt")
                    .map(|v| timefmt::parse(&v).ok_or_else(|| self.bad("availabilityAt")))
                    .transpose()?,
                set_by: match (
                    self.opt_s("availabilityById"),
                    self.opt_s("availabilityByName"),
                ) {
                    (Some(id), name) => Some((
                        UserId::parse(&id).ok_or_else(|| self.bad("availabilityById"))?,
                        name.unwrap_or_default(),
                    )),
                    (None, _) => None,
                },
            },
            managed: self.managed(),
        })
    }

    /// Directory sync's link (`scimId` and the provider's fields beside it), if any.
    fn managed(&self) -> Option<crate::domain::user::Managed> {
        Some(crate::domain::user::Managed {
            scim_id: self.opt_s("scimId")?,
            external_id: self.opt_s("externalId"),
            given_name: self.opt_s("givenName"),
            family_name: self.opt_s("familyName"),
        })
    }

    pub fn audit(&self) -> Result<AuditEntry, StoreError> {
        let json = |k: &str| -> Result<Option<serde_json::Value>, StoreError> {
            self.opt_s(k)
                .map(|v| serde_json::from_str(&v).map_err(|_| self.bad(k)))
                .transpose()
        };
        let pk = self.s("pk")?;
        Ok(AuditEntry {
            id: self.s("entryId")?,
            tenant_id: pk
                .strip_prefix("TENANT#")
                .and_then(TenantId::parse)
                .ok_or_else(|| self.bad("pk"))?,
            at: self.t("at")?,
            actor: Actor {
                id: self.s("actorId")?,
                email: self.opt_s("actorEmail"),
                name: self.opt_s("actorName"),
            },
            action: self.parsed("action", AuditAction::parse)?,
            target: Target {
                kind: self.s("targetKind")?,
                id: self.s("targetId")?,
                label: self.opt_s("targetLabel"),
            },
            before: json("before")?,
            after: json("after")?,
            request_id: self.s("requestId")?,
        })
    }

    pub fn logged(&self) -> Result<super::events::Logged, StoreError> {
        let event: serde_json::Value =
            serde_json::from_str(&self.s("event")?).map_err(|_| self.bad("event"))?;
        Ok(super::events::Logged {
            sequence: self.s("sk")?.parse().map_err(|_| self.bad("sk"))?,
            event,
            logged_at: self.t("loggedAt")?,
        })
    }

    pub fn group_mappings(&self) -> Result<crate::domain::group::Mappings, StoreError> {
        let text = self.s("mappings")?;
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&text).map_err(|_| self.bad("mappings"))?;
        let (list, _) =
            crate::domain::group::read_mappings(&serde_json::json!({ "mappings": rows }))
                .map_err(|_| self.bad("mappings"))?;
        Ok(crate::domain::group::Mappings {
            list,
            version: self.n("version")?,
        })
    }

    pub fn group(&self) -> Result<crate::domain::group::Group, StoreError> {
        use crate::domain::ids::GroupId;
        let members = match self.0.get("members") {
            None => Default::default(),
            Some(v) => v
                .as_ss()
                .map_err(|_| self.bad("members"))?
                .iter()
                .cloned()
                .collect(),
        };
        Ok(crate::domain::group::Group {
            tenant_id: self.parsed("tenantId", TenantId::parse)?,
            id: self.parsed("groupId", GroupId::parse)?,
            display_name: self.s("displayName")?,
            external_id: self.opt_s("externalId"),
            members,
            created_at: self.t("createdAt")?,
            updated_at: self.t("updatedAt")?,
            version: self.n("version")?,
        })
    }

    pub fn integration(&self) -> Result<crate::domain::integration::Integration, StoreError> {
        use crate::domain::integration::{Integration, Maker, Scope};
        let opt_t = |k: &str| -> Result<Option<OffsetDateTime>, StoreError> {
            self.opt_s(k)
                .map(|v| timefmt::parse(&v).ok_or_else(|| self.bad(k)))
                .transpose()
        };
        let scopes = self
            .s("scopes")?
            .split(' ')
            .map(|x| Scope::parse(x).ok_or_else(|| self.bad("scopes")))
            .collect::<Result<Vec<_>, _>>()?;
        let revoked_by = self.opt_s("revokedById").map(|id| Maker {
            id,
            name: self.opt_s("revokedByName"),
        });
        Ok(Integration {
            id: self.parsed("integrationId", crate::domain::ids::IntegrationId::parse)?,
            tenant_id: self.parsed("tenantId", TenantId::parse)?,
            name: self.s("name")?,
            scopes,
            token_hash: self.s("tokenHash")?,
            created_at: self.t("createdAt")?,
            created_by: Maker {
                id: self.s("createdById")?,
                name: self.opt_s("createdByName"),
            },
            last_used_at: opt_t("lastUsedAt")?,
            revoked_at: opt_t("revokedAt")?,
            revoked_by,
        })
    }

    pub fn invite(&self) -> Result<Invite, StoreError> {
        Ok(Invite {
            id: self.parsed("inviteId", InviteId::parse)?,
            tenant_id: self.parsed("tenantId", TenantId::parse)?,
            email: self.email("email")?,
            name: self.s("name")?,
            role: self.parsed("role", Role::parse)?,
            team: self.opt_s("team"),
            status: self.parsed("status", InviteStatus::parse)?,
            token_hash: self.opt_s("tokenHash").unwrap_or_default(),
            expires_at: self.t("expiresAt")?,
            invited_by: Actor {
                id: self.s("invitedById")?,
                email: self.opt_s("invitedByEmail"),
                name: self.opt_s("invitedByName"),
            },
            delivery: self.parsed("delivery", DeliveryStatus::parse)?,
            delivery_detail: self.opt_s("deliveryDetail"),
            message_id: self.opt_s("messageId"),
            created_at: self.t("createdAt")?,
            sent_at: self.t("sentAt")?,
            time_zone: self.opt_s("timeZone"),
            managed: self.managed(),
        })
    }
}

fn put_opt(item: &mut Item, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(key.into(), s(v));
    }
}

pub fn tenant_item(t: &Tenant) -> Item {
    HashMap::from([
        ("pk".into(), s(tenant_pk(&t.id))),
        ("sk".into(), s(TENANT_SK)),
        ("tenantId".into(), s(&t.id)),
        ("name".into(), s(&t.name)),
        ("tier".into(), s(t.tier.as_str())),
        ("seatLimit".into(), n(t.seat_limit)),
        ("seatsUsed".into(), n(t.seats_used)),
        ("activeAdmins".into(), n(t.active_admins)),
        ("mfaPolicy".into(), s(t.mfa_policy.as_str())),
        ("defaultMaxChats".into(), n(t.default_max_chats)),
        ("createdAt".into(), s(timefmt::format(t.created_at))),
    ])
}

pub fn user_item(u: &User) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(user_pk(&u.id))),
        ("sk".into(), s(USER_SK)),
        ("gsi1pk".into(), s(users_gsi1pk(&u.tenant_id))),
        ("gsi1sk".into(), s(user_gsi1sk(u))),
        ("userId".into(), s(&u.id)),
        ("tenantId".into(), s(&u.tenant_id)),
        ("email".into(), s(u.email.as_str())),
        ("name".into(), s(&u.name)),
        ("search".into(), s(u.search_text())),
        ("role".into(), s(u.role.as_str())),
        ("status".into(), s(u.status.as_str())),
        ("createdAt".into(), s(timefmt::format(u.created_at))),
        ("updatedAt".into(), s(timefmt::format(u.updated_at))),
        ("version".into(), n(u.version)),
    ]);
    put_opt(&mut item, "team", &u.team);
    put_opt(
        &mut item,
        "signedOutAt",
        &u.signed_out_at.map(timefmt::format),
    );
    put_opt(
        &mut item,
        "signedOutBy",
        &u.signed_out_by.as_ref().map(|id| id.to_string()),
    );
    // Carried through a change as read; a request's touch in between may be lost, and the
    // next request past the grain records it again.
    put_opt(
        &mut item,
        "lastActiveAt",
        &u.last_active_at.map(timefmt::format),
    );
    if u.mfa {
        item.insert("mfa".into(), AttributeValue::Bool(true));
    }
    // Carried through a change as read, like `lastActiveAt`: a mail event recorded in between
    // may be lost, and the next one records it again.
    put_opt(&mut item, "mailSentAt", &u.mail.sent_at);
    put_opt(&mut item, "mailProblem", &u.mail.problem);
    item.insert("maxChats".into(), n(u.max_chats));
    item.insert("gsi2pk".into(), s(users_seen_gsi2pk(&u.tenant_id)));
    item.insert(
        "gsi2sk".into(),
        s(user_seen_gsi2sk(&u.id, u.last_active_at)),
    );
    for (k, v) in availability_attrs(&u.availability) {
        item.insert(k.into(), v);
    }
    for (k, v) in managed_attrs(u.managed.as_ref()) {
        if let Some(v) = v {
            item.insert(k.into(), v);
        }
    }
    item
}

/// Directory sync's attributes: each with its value, or `None` where the record has none (a
/// versioned change removes those).
pub fn managed_attrs(
    m: Option<&crate::domain::user::Managed>,
) -> [(&'static str, Option<AttributeValue>); 4] {
    [
        ("scimId", m.map(|m| s(&m.scim_id))),
        ("externalId", m.and_then(|m| m.external_id.as_ref().map(s))),
        ("givenName", m.and_then(|m| m.given_name.as_ref().map(s))),
        ("familyName", m.and_then(|m| m.family_name.as_ref().map(s))),
    ]
}

/// The availability's stored attributes (none for a record nobody set it on).
pub fn availability_attrs(a: &AvailabilityState) -> Vec<(&'static str, AttributeValue)> {
    let mut out = Vec::new();
    if let Some(at) = a.set_at {
        out.push(("availability", s(a.status.as_str())));
        out.push(("availabilityAt", s(timefmt::format(at))));
        if let Some((id, name)) = &a.set_by {
            out.push(("availabilityById", s(id)));
            out.push(("availabilityByName", s(name)));
        }
    }
    out
}

/// The attributes a versioned change writes (`Store::change_user`): everything the user's
/// editor sees and its version, and nothing recorded beside it (activity, availability, mail
/// events), so a change made at version n never undoes what was recorded while it was read.
/// An attribute the new record lacks is removed. Gives the update expression and its values.
pub fn user_versioned_update(u: &User) -> (String, Vec<(String, AttributeValue)>) {
    let mut set = vec![
        ("gsi1sk", s(user_gsi1sk(u))),
        ("email", s(u.email.as_str())),
        ("name", s(&u.name)),
        ("search", s(u.search_text())),
        ("role", s(u.role.as_str())),
        ("status", s(u.status.as_str())),
        ("updatedAt", s(timefmt::format(u.updated_at))),
        ("version", n(u.version)),
        ("maxChats", n(u.max_chats)),
    ];
    let mut remove = Vec::new();
    let optional = [
        ("team", u.team.as_ref().map(s)),
        (
            "signedOutAt",
            u.signed_out_at.map(|t| s(timefmt::format(t))),
        ),
        ("signedOutBy", u.signed_out_by.as_ref().map(s)),
        ("mfa", u.mfa.then_some(AttributeValue::Bool(true))),
    ];
    // Directory sync's attributes only on a record it manages: no path unlinks a user, and a
    // longer expression on every other change costs the team moves' batches of 25 their time.
    let managed = u
        .managed
        .is_some()
        .then(|| managed_attrs(u.managed.as_ref()));
    let optional = optional.into_iter().chain(managed.into_iter().flatten());
    for (k, v) in optional {
        match v {
            Some(v) => set.push((k, v)),
            None => remove.push(k),
        }
    }
    let mut values = Vec::new();
    let mut sets: Vec<String> = set
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| {
            values.push((format!(":u{i}"), v));
            format!("#{k} = :u{i}")
        })
        .collect();
    // A record written before the activity index existed gets its key here, as of the
    // activity read; one that has it keeps it (the touch moves it, not this change).
    sets.push("#gsi2pk = if_not_exists(#gsi2pk, :seenpk)".into());
    sets.push("#gsi2sk = if_not_exists(#gsi2sk, :seensk)".into());
    values.push((":seenpk".into(), s(users_seen_gsi2pk(&u.tenant_id))));
    values.push((
        ":seensk".into(),
        s(user_seen_gsi2sk(&u.id, u.last_active_at)),
    ));
    let mut expr = format!("SET {}", sets.join(", "));
    if !remove.is_empty() {
        let rs: Vec<String> = remove.iter().map(|k| format!("#{k}")).collect();
        expr.push_str(&format!(" REMOVE {}", rs.join(", ")));
    }
    (expr, values)
}

/// The names `user_versioned_update(u)`'s expression uses: these, and directory sync's on a
/// record it manages (DynamoDB refuses a name the expression does not use).
pub fn user_versioned_names(u: &User) -> Vec<(&'static str, &'static str)> {
    let mut names = USER_VERSIONED_NAMES.to_vec();
    if u.managed.is_some() {
        names.extend([
            ("#scimId", "scimId"),
            ("#externalId", "externalId"),
            ("#givenName", "givenName"),
            ("#familyName", "familyName"),
        ]);
    }
    names
}

/// The names `user_versioned_update`'s expression always uses (`#name` for every attribute,
/// so no reserved word needs a case of its own).
pub const USER_VERSIONED_NAMES: &[(&str, &str)] = &[
    ("#gsi1sk", "gsi1sk"),
    ("#email", "email"),
    ("#name", "name"),
    ("#search", "search"),
    ("#role", "role"),
    ("#status", "status"),
    ("#updatedAt", "updatedAt"),
    ("#version", "version"),
    ("#maxChats", "maxChats"),
    ("#team", "team"),
    ("#signedOutAt", "signedOutAt"),
    ("#signedOutBy", "signedOutBy"),
    ("#mfa", "mfa"),
    ("#gsi2pk", "gsi2pk"),
    ("#gsi2sk", "gsi2sk"),
];

pub fn reset_item(r: &crate::domain::reset::PasswordReset) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(reset_pk(&r.user_id))),
        ("sk".into(), s(RESET_SK)),
        ("userId".into(), s(&r.user_id)),
        ("tenantId".into(), s(&r.tenant_id)),
        ("issuedAt".into(), s(timefmt::format(r.issued_at))),
        ("expiresAt".into(), s(timefmt::format(r.expires_at))),
        (
            "sends".into(),
            AttributeValue::L(r.sends.iter().map(|t| s(timefmt::format(*t))).collect()),
        ),
        // DynamoDB's TTL removes it a day after it is of no more use (the code never relies on
        // that: every read judges the times itself).
        (
            "ttl".into(),
            n((r.forgettable_at() + time::Duration::days(1)).unix_timestamp()),
        ),
    ]);
    put_opt(&mut item, "tokenHash", &r.token_hash);
    put_opt(&mut item, "usedHash", &r.used_hash);
    put_opt(&mut item, "usedAt", &r.used_at.map(timefmt::format));
    put_opt(
        &mut item,
        "requestedBy",
        &r.requested_by.as_ref().map(|id| id.to_string()),
    );
    item
}

pub fn invite_item(i: &Invite) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(invite_pk(&i.id))),
        ("sk".into(), s(INVITE_SK)),
        ("gsi1pk".into(), s(invites_gsi1pk(&i.tenant_id))),
        ("gsi1sk".into(), s(invite_gsi1sk(i.status, i))),
        ("inviteId".into(), s(&i.id)),
        ("tenantId".into(), s(&i.tenant_id)),
        ("email".into(), s(i.email.as_str())),
        ("name".into(), s(&i.name)),
        (
            "search".into(),
            s(format!("{} {}", i.name, i.email).to_lowercase()),
        ),
        ("role".into(), s(i.role.as_str())),
        ("status".into(), s(i.status.as_str())),
        ("expiresAt".into(), s(timefmt::format(i.expires_at))),
        ("invitedById".into(), s(&i.invited_by.id)),
        ("delivery".into(), s(i.delivery.as_str())),
        ("createdAt".into(), s(timefmt::format(i.created_at))),
        ("sentAt".into(), s(timefmt::format(i.sent_at))),
    ]);
    put_opt(&mut item, "team", &i.team);
    if !i.token_hash.is_empty() {
        item.insert("tokenHash".into(), s(&i.token_hash));
    }
    if i.status == InviteStatus::Pending {
        // Sparse index of what the expiry job must visit: only pending invites are in it.
        item.insert("gsi2pk".into(), s(EXPIRY_GSI2PK));
        item.insert(
            "gsi2sk".into(),
            s(format!("{}#{}", timefmt::format(i.expires_at), i.id)),
        );
    }
    put_opt(&mut item, "invitedByEmail", &i.invited_by.email);
    put_opt(&mut item, "invitedByName", &i.invited_by.name);
    put_opt(&mut item, "timeZone", &i.time_zone);
    put_opt(&mut item, "deliveryDetail", &i.delivery_detail);
    put_opt(&mut item, "messageId", &i.message_id);
    for (k, v) in managed_attrs(i.managed.as_ref()) {
        if let Some(v) = v {
            item.insert(k.into(), v);
        }
    }
    item
}

pub fn invite_guard(i: &Invite) -> Item {
    HashMap::from([
        ("pk".into(), s(email_pk(&i.email))),
        ("sk".into(), s(EMAIL_SK)),
        ("tenantId".into(), s(&i.tenant_id)),
        ("kind".into(), s("invite")),
        ("refId".into(), s(&i.id)),
    ])
}

/// An integration token's record (rule 21), listed by its company on gsi1, newest first.
pub fn integration_pk(id: &crate::domain::ids::IntegrationId) -> String {
    format!("INTEGRATION#{id}")
}
pub const INTEGRATION_SK: &str = "INTEGRATION";
pub fn integrations_gsi1pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#INTEGRATION")
}

pub fn integration_item(i: &crate::domain::integration::Integration) -> Item {
    let scopes: Vec<&str> = i.scopes.iter().map(|x| x.as_str()).collect();
    let mut item = HashMap::from([
        ("pk".into(), s(integration_pk(&i.id))),
        ("sk".into(), s(INTEGRATION_SK)),
        ("gsi1pk".into(), s(integrations_gsi1pk(&i.tenant_id))),
        (
            "gsi1sk".into(),
            s(format!("{}#{}", timefmt::format(i.created_at), i.id)),
        ),
        ("integrationId".into(), s(&i.id)),
        ("tenantId".into(), s(&i.tenant_id)),
        ("name".into(), s(&i.name)),
        ("scopes".into(), s(scopes.join(" "))),
        ("tokenHash".into(), s(&i.token_hash)),
        ("createdAt".into(), s(timefmt::format(i.created_at))),
        ("createdById".into(), s(&i.created_by.id)),
    ]);
    put_opt(&mut item, "createdByName", &i.created_by.name);
    put_opt(
        &mut item,
        "lastUsedAt",
        &i.last_used_at.map(timefmt::format),
    );
    put_opt(&mut item, "revokedAt", &i.revoked_at.map(timefmt::format));
    if let Some(by) = &i.revoked_by {
        item.insert("revokedById".into(), s(&by.id));
        put_opt(&mut item, "revokedByName", &by.name);
    }
    item
}

/// A directory group (rule 22): `GROUP#<id>`, listed by company on gsi1 oldest first.
pub fn group_pk(id: &crate::domain::ids::GroupId) -> String {
    format!("GROUP#{id}")
}
pub const GROUP_SK: &str = "GROUP";
pub fn groups_gsi1pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#GROUP")
}
/// The guard that keeps a group's name to one group of the company.
pub fn group_name_pk(tenant: &TenantId, name: &str) -> String {
    format!(
        "GROUPNAME#{tenant}#{}",
        crate::domain::group::name_key(name)
    )
}
pub const GROUP_NAME_SK: &str = "GROUPNAME";

pub fn group_item(g: &crate::domain::group::Group) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(group_pk(&g.id))),
        ("sk".into(), s(GROUP_SK)),
        ("gsi1pk".into(), s(groups_gsi1pk(&g.tenant_id))),
        (
            "gsi1sk".into(),
            s(format!("{}#{}", timefmt::format(g.created_at), g.id)),
        ),
        ("groupId".into(), s(&g.id)),
        ("tenantId".into(), s(&g.tenant_id)),
        ("displayName".into(), s(&g.display_name)),
        ("createdAt".into(), s(timefmt::format(g.created_at))),
        ("updatedAt".into(), s(timefmt::format(g.updated_at))),
        ("version".into(), n(g.version)),
    ]);
    put_opt(&mut item, "externalId", &g.external_id);
    // A string set can't be empty: no members, no attribute.
    if !g.members.is_empty() {
        item.insert(
            "members".into(),
            AttributeValue::Ss(g.members.iter().cloned().collect()),
        );
    }
    item
}

/// The company's group mappings: beside its record, in its partition.
pub const GROUP_MAPPINGS_SK: &str = "GROUPMAPPINGS";

pub fn group_mappings_item(tenant: &TenantId, m: &crate::domain::group::Mappings) -> Item {
    HashMap::from([
        ("pk".into(), s(tenant_pk(tenant))),
        ("sk".into(), s(GROUP_MAPPINGS_SK)),
        ("tenantId".into(), s(tenant)),
        (
            "mappings".into(),
            s(serde_json::to_string(&m.list).unwrap_or_else(|_| "[]".into())),
        ),
        ("version".into(), n(m.version)),
    ])
}

pub fn group_name_item(g: &crate::domain::group::Group) -> Item {
    HashMap::from([
        ("pk".into(), s(group_name_pk(&g.tenant_id, &g.display_name))),
        ("sk".into(), s(GROUP_NAME_SK)),
        ("groupId".into(), s(&g.id)),
        ("tenantId".into(), s(&g.tenant_id)),
    ])
}

/// The company's event log in the audit table (`EVENTLOG#<t>` / the sequence, 20 digits so
/// text order is number order): what `GET /events` reads, written by publish-events from the
/// stream (rule 20).
pub fn event_log_pk(tenant: &str) -> String {
    format!("EVENTLOG#{tenant}")
}
pub fn event_log_sk(seq: u64) -> String {
    format!("{seq:020}")
}

pub fn audit_sk(a: &AuditEntry) -> String {
    format!("{}#{}", timefmt::format(a.at), a.id)
}

pub fn audit_item(a: &AuditEntry) -> Item {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    let mut item = HashMap::from([
        ("pk".into(), s(audit_pk(&a.tenant_id))),
        ("sk".into(), s(audit_sk(a))),
        ("entryId".into(), s(&a.id)),
        ("at".into(), s(timefmt::format(a.at))),
        ("actorId".into(), s(&a.actor.id)),
        ("action".into(), s(a.action.as_str())),
        ("targetKind".into(), s(&a.target.kind)),
        ("targetId".into(), s(&a.target.id)),
        ("requestId".into(), s(&a.request_id)),
    ]);
    put_opt(&mut item, "actorEmail", &a.actor.email);
    put_opt(&mut item, "actorName", &a.actor.name);
    put_opt(&mut item, "targetLabel", &a.target.label);
    put_opt(&mut item, "before", &json(&a.before));
    put_opt(&mut item, "after", &json(&a.after));
    item
}

/// A cursor is the query's `LastEvaluatedKey` without its partition attribute: the partition
/// is rebuilt from the caller's tenant when the cursor comes back, so a forged cursor can only
/// move within the caller's own partition.
pub fn encode_cursor(key: &Item, partition_attr: &str) -> String {
    let map: serde_json::Map<String, serde_json::Value> = key
        .iter()
        .filter(|(k, _)| k.as_str() != partition_attr)
        .filter_map(|(k, v)| Some((k.clone(), serde_json::Value::String(v.as_s().ok()?.clone()))))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::Value::Object(map).to_string())
}

/// The key to resume from, if `cursor` holds exactly the attributes this query's keys have.
pub fn decode_cursor(
    cursor: &str,
    partition_attr: &str,
    partition_value: &str,
    attrs: &[&str],
) -> Result<Item, StoreError> {
    if cursor.len() > 4096 {
        return Err(StoreError::BadCursor);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::BadCursor)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let obj = v.as_object().ok_or(StoreError::BadCursor)?;
    if obj.len() != attrs.len() {
        return Err(StoreError::BadCursor);
    }
    let mut key = HashMap::new();
    for a in attrs {
        let val = obj
            .get(*a)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty() && x.len() <= 1024)
            .ok_or(StoreError::BadCursor)?;
        key.insert(a.to_string(), s(val));
    }
    key.insert(partition_attr.to_string(), s(partition_value));
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GSI1: &[&str] = &["pk", "sk", "gsi1sk"];

    /// Rule 16: a versioned change writes what the version covers and nothing recorded beside
    /// it; an optional attribute the new record lacks is removed, and every name it declares
    /// is used (DynamoDB refuses an unused one).
    #[test]
    fn a_versioned_update_leaves_what_is_recorded_beside_the_version() {
        let mut u = crate::domain::user::tests::user("u1", "t1", Role::Agent, Some("Night"));
        u.last_active_at = Some(OffsetDateTime::UNIX_EPOCH);
        u.availability.set_at = Some(OffsetDateTime::UNIX_EPOCH);
        u.mail.problem = Some("bounced".into());
        let (expr, values) = user_versioned_update(&u);
        for beside in ["lastActiveAt", "availability", "mailSentAt", "mailProblem"] {
            assert!(!expr.contains(beside), "{beside} in {expr}");
        }
        assert!(
            expr.contains("#gsi2sk = if_not_exists(#gsi2sk, :seensk)"),
            "an older record gets the activity key, a newer one keeps its own: {expr}"
        );
        let (set, remove) = expr.split_once(" REMOVE ").unwrap();
        assert!(
            set.contains("#team = ") && set.contains("#maxChats = "),
            "{set}"
        );
        assert_eq!(
            remove, "#signedOutAt, #signedOutBy, #mfa",
            "a person directory sync does not manage: none of its attributes named"
        );
        for (name, _) in user_versioned_names(&u) {
            assert!(expr.contains(name), "{name} unused in {expr}");
        }
        assert!(!expr.contains("scimId"), "{expr}");
        for (k, _) in &values {
            assert!(expr.contains(k.as_str()), "{k} unused in {expr}");
        }
        u.team = None;
        u.mfa = true;
        u.managed = Some(crate::domain::user::Managed {
            scim_id: "i1".into(),
            external_id: Some("00u1".into()),
            given_name: None,
            family_name: Some("Lovelace".into()),
        });
        let (expr, values) = user_versioned_update(&u);
        assert!(
            expr.ends_with("REMOVE #team, #signedOutAt, #signedOutBy, #givenName"),
            "{expr}"
        );
        for (name, _) in user_versioned_names(&u) {
            assert!(expr.contains(name), "{name} unused in {expr}");
        }
        for (attr, v) in [
            ("#scimId", "i1"),
            ("#externalId", "00u1"),
            ("#familyName", "Lovelace"),
        ] {
            let slot = expr
                .split(", ")
                .find_map(|c| c.strip_prefix(&format!("{attr} = ")))
                .unwrap_or_else(|| panic!("{attr} not set: {expr}"));
            let slot = slot.split(' ').next().unwrap();
            assert!(
                values
                    .iter()
                    .any(|(k, x)| k == slot && x.as_s().is_ok_and(|s| s == v)),
                "{attr}"
            );
        }
        assert!(expr.contains("#mfa = "), "{expr}");
    }

    #[test]
    fn a_cursor_round_trips_and_is_rebound_to_the_callers_partition() {
        let key = HashMap::from([
            ("pk".to_string(), s("USER#abc")),
            ("sk".to_string(), s(USER_SK)),
            ("gsi1pk".to_string(), s("TENANT#other#USER")),
            ("gsi1sk".to_string(), s("jane#abc")),
        ]);
        let c = encode_cursor(&key, "gsi1pk");
        assert!(!String::from_utf8(URL_SAFE_NO_PAD.decode(&c).unwrap())
            .unwrap()
            .contains("other"));
        let back = decode_cursor(&c, "gsi1pk", "TENANT#mine#USER", GSI1).unwrap();
        assert_eq!(back["gsi1pk"], s("TENANT#mine#USER"));
        assert_eq!(back["gsi1sk"], s("jane#abc"));
        assert_eq!(back["pk"], s("USER#abc"));
    }

    #[test]
    fn forged_or_foreign_cursors_are_refused() {
        let other_shape = URL_SAFE_NO_PAD.encode(r#"{"pk":"TENANT#x","sk":"a"}"#);
        let extra = URL_SAFE_NO_PAD.encode(r#"{"pk":"a","sk":"b","gsi1sk":"c","gsi1pk":"d"}"#);
        let empty = URL_SAFE_NO_PAD.encode(r#"{"pk":"","sk":"b","gsi1sk":"c"}"#);
        for bad in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("{}"),
            &other_shape,
            &extra,
            &empty,
        ] {
            assert!(
                decode_cursor(bad, "gsi1pk", "TENANT#t#USER", GSI1).is_err(),
                "{bad}"
            );
        }
        assert!(decode_cursor(&other_shape, "pk", "TENANT#t", &["sk"]).is_err());
        let audit = URL_SAFE_NO_PAD.encode(r#"{"sk":"2026#x"}"#);
        assert!(decode_cursor(&audit, "pk", "TENANT#t", &["sk"]).is_ok());
    }

    /// Rule 7's typed ids start at the store's edge: a stored id without an id's shape reads
    /// as corrupt, never as an id a later key expression would carry.
    #[test]
    fn a_stored_id_without_an_ids_shape_reads_as_corrupt() {
        let u = crate::domain::user::tests::user("u1", "t1", Role::Agent, None);
        let item = user_item(&u);
        assert_eq!(Row(&item).user().unwrap(), u);
        for (key, bad) in [("userId", "u#1"), ("tenantId", "t 1")] {
            let mut broken = item.clone();
            broken.insert(key.into(), s(bad));
            assert!(
                matches!(Row(&broken).user(), Err(StoreError::Corrupt(_))),
                "{key}"
            );
        }
    }
}
