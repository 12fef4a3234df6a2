//! The company's people as directory sync sees them (docs/rules.md rule 22): a user, or an
//! invite not yet accepted, known by the id the provider first reached. Shared by SCIM's Users
//! and Groups and by the group mappings' placements, which the console's functions run too.

use crate::domain::invite::InviteStatus;
use crate::domain::scim::{self, PersonView};
use crate::domain::user::Managed;
use crate::domain::{ApiError, Invite, InviteId, TenantId, User, UserId, UserStatus};
use crate::store::{EmailHolder, Store};
use serde_json::Value;
use time::OffsetDateTime;

/// One of the company's people as SCIM sees them.
#[derive(Debug, Clone)]
pub enum Person {
    User(User),
    Invite(Invite),
}

impl Person {
    pub(crate) fn managed(&self) -> Option<&Managed> {
        match self {
            Person::User(u) => u.managed.as_ref(),
            Person::Invite(i) => i.managed.as_ref(),
        }
    }

    /// The id the provider knows them by.
    pub fn scim_id(&self) -> String {
        match (self.managed(), self) {
            (Some(m), _) => m.scim_id.clone(),
            (None, Person::User(u)) => u.id.to_string(),
            (None, Person::Invite(i)) => i.id.to_string(),
        }
    }

    pub fn created(&self) -> OffsetDateTime {
        match self {
            Person::User(u) => u.created_at,
            Person::Invite(i) => i.created_at,
        }
    }

    pub fn resource(&self, base: &str, now: OffsetDateTime) -> Value {
        let id = self.scim_id();
        let view = match self {
            Person::User(u) => PersonView {
                id: &id,
                email: u.email.as_str(),
                name: &u.name,
                managed: u.managed.as_ref(),
                active: u.status == UserStatus::Active,
                created: u.created_at,
                modified: u.updated_at,
            },
            Person::Invite(i) => {
                let open = i.effective_status(now) == InviteStatus::Pending;
                PersonView {
                    id: &id,
                    email: i.email.as_str(),
                    name: &i.name,
                    managed: i.managed.as_ref(),
                    active: open,
                    created: i.created_at,
                    modified: i.sent_at,
                }
            }
        };
        scim::user_resource(&view, base)
    }
}

/// Whether an invite is one of SCIM's people on its own (not through the user it became): a
/// pending one, or a closed one the provider made and has not deleted (it reads as inactive,
/// so the provider can turn it on again).
pub(crate) fn invite_counts(i: &Invite, now: OffsetDateTime) -> bool {
    match i.effective_status(now) {
        InviteStatus::Pending => true,
        InviteStatus::Accepted => false,
        InviteStatus::Revoked | InviteStatus::Expired => i.managed.is_some(),
    }
}

/// The person the provider knows as `id`, in `tenant` only (another company's reads as no one).
pub async fn find(
    store: &Store,
    tenant: &TenantId,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<Person>, ApiError> {
    let (Some(uid), Some(iid)) = (UserId::parse(id), InviteId::parse(id)) else {
        return Ok(None);
    };
    let (user, invite) = store.user_and_invite(&uid, &iid).await?;
    if let Some(u) = user.filter(|u| &u.tenant_id == tenant && u.status != UserStatus::Deleted) {
        return Ok(Some(Person::User(u)));
    }
    let Some(i) = invite.filter(|i| &i.tenant_id == tenant) else {
        return Ok(None);
    };
    if invite_counts(&i, now) {
        return Ok(Some(Person::Invite(i)));
    }
    if i.status != InviteStatus::Accepted {
        return Ok(None);
    }
    // Accepted: the user it became holds the address and, if the provider made the invite,
    // its id.
    let Some(EmailHolder::User(uid)) = store.email_holder(i.email.normalized()).await? else {
        return Ok(None);
    };
    Ok(store
        .user(&uid)
        .await?
        .filter(|u| &u.tenant_id == tenant && u.status != UserStatus::Deleted)
        .filter(|u| u.managed.as_ref().is_some_and(|m| m.scim_id == id))
        .map(Person::User))
}

/// The people `ids` name in the company (`None` for an id that names nobody), in their order:
/// read in one batch (50 to a round trip); an id that reaches an accepted invite is followed
/// to its user as `find` does.
pub async fn people(
    store: &Store,
    tenant: &TenantId,
    ids: &[&str],
    now: OffsetDateTime,
) -> Result<Vec<Option<Person>>, ApiError> {
    let keys: Vec<Option<(UserId, InviteId)>> = ids
        .iter()
        .map(|id| Some((UserId::parse(id)?, InviteId::parse(id)?)))
        .collect();
    let wanted: Vec<(UserId, InviteId)> = keys.iter().flatten().cloned().collect();
    let mut found = store.users_and_invites(&wanted).await?.into_iter();
    let mut out = Vec::with_capacity(ids.len());
    for (id, key) in ids.iter().zip(keys) {
        let Some((user, invite)) = key.and_then(|_| found.next()) else {
            out.push(None);
            continue;
        };
        let user = user.filter(|u| &u.tenant_id == tenant && u.status != UserStatus::Deleted);
        let invite = invite.filter(|i| &i.tenant_id == tenant);
        out.push(match (user, invite) {
            (Some(u), _) => Some(Person::User(u)),
            (None, Some(i)) if invite_counts(&i, now) => Some(Person::Invite(i)),
            (None, Some(i)) if i.status == InviteStatus::Accepted => {
                find(store, tenant, id, now).await?
            }
            _ => None,
        });
    }
    Ok(out)
}

/// Which of `ids` name nobody of the company (in their order).
pub async fn strangers<'a>(
    store: &Store,
    tenant: &TenantId,
    ids: &[&'a str],
    now: OffsetDateTime,
) -> Result<Vec<&'a str>, ApiError> {
    let found = people(store, tenant, ids, now).await?;
    Ok(ids
        .iter()
        .zip(found)
        .filter(|(_, p)| p.is_none())
        .map(|(id, _)| *id)
        .collect())
}

/// A list's `filter` parameter: none, or one that reads (else a 400 `invalidFilter`).
pub fn read_filter(filter: Option<&str>) -> Result<Option<scim::Filter>, ApiError> {
    match filter.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(f) => scim::parse(f).map(Some).map_err(|e| ApiError::Scim {
            status: 400,
            scim_type: "invalidFilter",
            detail: format!("The filter can't be read: {}.", e.0),
        }),
    }
}

/// A list answer of `matched`'s page: from `start` (1-based), at most `count`.
pub fn page(matched: Vec<Value>, (start, count): (usize, usize)) -> Value {
    let total = matched.len();
    let page: Vec<Value> = matched.into_iter().skip(start - 1).take(count).collect();
    scim::list(total, start, page)
}
