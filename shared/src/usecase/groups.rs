//! Directory sync's groups (docs/rules.md rule 22): the identity provider's groups, kept as it
//! pushes them (`domain::group`). A group's members are people of the company by their SCIM
//! id; one the company does not have is refused, so a group never names a stranger. A person
//! the provider deletes leaves every group with them.

use crate::domain::group::{self, Group, GroupDesired};
use crate::domain::ids::GroupId;
use crate::domain::scim;
use crate::domain::{ApiError, TenantId};
use crate::store::{Refusal, Store, WriteError};
use crate::usecase::scim::{read_filter, strangers};
use serde_json::Value;
use time::OffsetDateTime;

/// The company's group `id` (another company's reads as none).
pub async fn get(store: &Store, tenant: &TenantId, id: &str) -> Result<Option<Group>, ApiError> {
    let Some(id) = GroupId::parse(id) else {
        return Ok(None);
    };
    Ok(store.group(&id).await?.filter(|g| &g.tenant_id == tenant))
}

/// `GET /Groups`: the groups `filter` matches, oldest first, from `start` (1-based), at most
/// `count`. `displayName eq "…"` (the lookup before a push) is read through the name's guard.
pub async fn list(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&str>,
    paging: (usize, usize),
    base: &str,
) -> Result<Value, ApiError> {
    let filter = read_filter(filter)?;
    let matched = matching(store, tenant, filter.as_ref(), base).await?;
    Ok(crate::usecase::scim::page(matched, paging))
}

/// The company's groups `filter` matches, as resources, oldest first.
pub async fn matching(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&scim::Filter>,
    base: &str,
) -> Result<Vec<Value>, ApiError> {
    let by_name = filter
        .and_then(scim::equality)
        .filter(|(p, _)| p.urn.is_none() && p.name == "displayname" && p.sub.is_none());
    let groups = match by_name {
        Some((_, name)) => store.group_named(tenant, name).await?.into_iter().collect(),
        None => store.groups(tenant).await?,
    };
    Ok(groups
        .iter()
        .map(|g| g.resource(base))
        .filter(|r| filter.is_none_or(|f| scim::matches(f, r)))
        .collect())
}

/// Refuses members the company does not have (the new ones read in one batch).
async fn check_members<'a>(
    store: &Store,
    tenant: &TenantId,
    added: impl Iterator<Item = &'a String>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let added: Vec<&str> = added.map(String::as_str).collect();
    let unknown = strangers(store, tenant, &added, now).await?;
    if unknown.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = unknown.iter().take(5).copied().collect();
    Err(scim::invalid_value(format!(
        "no user of this company has the id {}{}: create them (POST /Users) before adding them to a group",
        shown.join(", "),
        if unknown.len() > shown.len() {
            format!(" (and {} more)", unknown.len() - shown.len())
        } else {
            String::new()
        }
    )))
}

fn refusal(e: WriteError, name: &str) -> ApiError {
    match e {
        WriteError::Refused(Refusal::NameTaken) => ApiError::Scim {
            status: 409,
            scim_type: "uniqueness",
            detail: format!(
                "this company already has a group named {name:?}: look it up by displayName and update it instead"
            ),
        },
        WriteError::Refused(_) => ApiError::Conflict(
            "The group changed meanwhile (another request updated or deleted it); read it again."
                .into(),
        ),
        e => e.into(),
    }
}

/// `POST /Groups`.
pub async fn create(
    store: &Store,
    tenant: &TenantId,
    body: &Value,
    now: OffsetDateTime,
) -> Result<Group, ApiError> {
    let d = group::desired(body)?;
    if let Some(members) = &d.members {
        check_members(store, tenant, members.iter(), now).await?;
    }
    let name = d.display_name.clone();
    let g = Group::new(tenant, d, now);
    store
        .create_group(&g)
        .await
        .map_err(|e| refusal(e, &name))?;
    Ok(g)
}

/// A PUT's body, or the resource after a PATCH's operations: the group as `d` says, members
/// new to it checked. One that changes nothing writes nothing.
pub async fn replace(
    store: &Store,
    before: Group,
    d: GroupDesired,
    now: OffsetDateTime,
) -> Result<Group, ApiError> {
    if let Some(members) = &d.members {
        let added = members.difference(&before.members);
        check_members(store, &before.tenant_id, added, now).await?;
    }
    let name = d.display_name.clone();
    let Some(after) = before.with(d, now) else {
        return Ok(before);
    };
    store
        .change_group(&before, &after)
        .await
        .map_err(|e| refusal(e, &name))?;
    Ok(after)
}

/// `DELETE /Groups/{id}`: the group and its name; its members are untouched. A group
/// renamed meanwhile is read again; one deleted meanwhile is gone, as asked.
pub async fn delete(store: &Store, mut g: Group) -> Result<(), ApiError> {
    for _ in 0..3 {
        match store.delete_group(&g).await {
            Ok(()) => return Ok(()),
            Err(WriteError::Refused(_)) => match store.group(&g.id).await? {
                Some(fresh) => g = fresh,
                None => return Ok(()),
            },
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable(crate::domain::Cause::new(
        KeptChanging,
    )))
}

#[derive(Debug, thiserror::Error)]
#[error("the group was renamed during each of three deletes")]
struct KeptChanging;

/// Takes a person the provider deleted out of every group of the company that names them.
pub async fn forget_member(
    store: &Store,
    tenant: &TenantId,
    scim_id: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let holding = store.groups(tenant).await?;
    for mut g in holding.into_iter().filter(|g| g.members.contains(scim_id)) {
        // A group changed meanwhile is read again; three tries, then the provider's next push
        // (which no longer names them) settles it.
        for _ in 0..3 {
            let Some(after) = g.without(scim_id, now) else {
                break;
            };
            match store.change_group(&g, &after).await {
                Ok(()) => break,
                Err(WriteError::Refused(_)) => match store.group(&g.id).await? {
                    Some(fresh) => g = fresh,
                    None => break,
                },
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
