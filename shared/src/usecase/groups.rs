//! Directory sync's groups (docs/rules.md rule 22): the identity provider's groups, kept as it
//! pushes them (`domain::group`). A group's members are people of the company by their SCIM
//! id; one the company does not have is refused, so a group never names a stranger. A person
//! the provider deletes leaves every group with them.

use crate::domain::group::{self, Group, GroupDesired, Mappings};
use crate::domain::ids::GroupId;
use crate::domain::scim;
use crate::domain::validation::RoleEdit;
use crate::domain::{ApiError, AuditAction, Change, Invite, Role, TenantId, UserStatus};
use crate::store::{Refusal, Store, WriteError};
use crate::usecase::people::{page, people, read_filter, strangers, Person};
use crate::usecase::users::{self, Users};
use serde_json::Value;
use std::collections::BTreeSet;
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
    Ok(page(matched, paging))
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

/// What a group's change will do to people (rule 22's mappings), decided before it is
/// written: the moves, or the refusal (the last admin) that leaves everything as it was.
async fn moves_for(
    users: &Users<'_>,
    change: &Change,
    tenant: &TenantId,
    before: Option<&Group>,
    after: Option<&Group>,
) -> Result<Vec<Move>, ApiError> {
    let store = users.store;
    let mappings = store.group_mappings(tenant).await?;
    let ids = touched(&mappings, before, after);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The company's groups as they will be: this one as changed (the list's index may not have
    // caught up with a write just made; this group's own change is in hand).
    let changed = before.or(after).map(|g| g.id.clone());
    let mut groups = store.groups(tenant).await?;
    groups.retain(|g| Some(&g.id) != changed.as_ref());
    groups.extend(after.cloned());
    let moves = plan(store, tenant, &ids, &groups, &mappings, change.at).await?;
    check_admins(store, tenant, &moves).await?;
    Ok(moves)
}

/// `POST /Groups`: kept, then its members placed as the mappings say.
pub async fn create(
    users: &Users<'_>,
    tenant: &TenantId,
    change: &Change,
    body: &Value,
) -> Result<Group, ApiError> {
    let store = users.store;
    let d = group::desired(body)?;
    if let Some(members) = &d.members {
        check_members(store, tenant, members.iter(), change.at).await?;
    }
    let name = d.display_name.clone();
    let g = Group::new(tenant, d, change.at);
    let moves = moves_for(users, change, tenant, None, Some(&g)).await?;
    store
        .create_group(&g)
        .await
        .map_err(|e| refusal(e, &name))?;
    apply(users, change, moves).await?;
    Ok(g)
}

/// A PUT's body, or the resource after a PATCH's operations: the group as `d` says, members
/// new to it checked, then the people it moves placed. One that changes nothing writes
/// nothing.
pub async fn replace(
    users: &Users<'_>,
    change: &Change,
    before: Group,
    d: GroupDesired,
) -> Result<Group, ApiError> {
    let store = users.store;
    if let Some(members) = &d.members {
        let added = members.difference(&before.members);
        check_members(store, &before.tenant_id, added, change.at).await?;
    }
    let name = d.display_name.clone();
    let Some(after) = before.with(d, change.at) else {
        return Ok(before);
    };
    let moves = moves_for(
        users,
        change,
        &before.tenant_id,
        Some(&before),
        Some(&after),
    )
    .await?;
    store
        .change_group(&before, &after)
        .await
        .map_err(|e| refusal(e, &name))?;
    apply(users, change, moves).await?;
    Ok(after)
}

/// `DELETE /Groups/{id}`: the group and its name; its members leave it (a mapped group's
/// members are placed without it). A group renamed meanwhile is read again; one deleted
/// meanwhile is gone, as asked.
pub async fn delete(users: &Users<'_>, change: &Change, mut g: Group) -> Result<(), ApiError> {
    let store = users.store;
    for _ in 0..3 {
        let moves = moves_for(users, change, &g.tenant_id, Some(&g), None).await?;
        match store.delete_group(&g).await {
            Ok(()) => {
                apply(users, change, moves).await?;
                return Ok(());
            }
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

/// One person the mappings move, as they are now, and where to.
#[derive(Debug)]
pub struct Move {
    pub person: Person,
    pub role: Role,
    pub team: Option<String>,
}

/// The people among `ids` whose role or team `mappings` (over the company's `groups` as they
/// will be) say differ from what they have. Someone in no mapped group takes what the
/// mappings give nobody (`Mappings::placement`: an agent, no team) only where the company maps
/// that at all.
pub async fn plan(
    store: &Store,
    tenant: &TenantId,
    ids: &BTreeSet<String>,
    groups: &[Group],
    mappings: &Mappings,
    now: OffsetDateTime,
) -> Result<Vec<Move>, ApiError> {
    if mappings.list.is_empty() || ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<&str> = ids.iter().map(String::as_str).collect();
    let found = people(store, tenant, &list, now).await?;
    let mut moves = Vec::new();
    for (id, person) in list.iter().zip(found) {
        let Some(person) = person else { continue };
        let holding: Vec<&Group> = groups.iter().filter(|g| g.members.contains(*id)).collect();
        let place = mappings.placement(&holding);
        let (role_now, team_now) = match &person {
            Person::User(u) => (u.role, u.team.clone()),
            Person::Invite(i) => (i.role, i.team.clone()),
        };
        let role = place.role.unwrap_or(role_now);
        let team = place.team.unwrap_or_else(|| team_now.clone());
        if role != role_now || team != team_now {
            moves.push(Move { person, role, team });
        }
    }
    Ok(moves)
}

/// Refuses, before anything is written, moves that would leave the company without an active
/// admin (rule 6): the refusal is the provider's or the admin's to see, never a silent skip.
pub async fn check_admins(
    store: &Store,
    tenant: &TenantId,
    moves: &[Move],
) -> Result<(), ApiError> {
    let active = |m: &&Move| matches!(&m.person, Person::User(u) if u.status == UserStatus::Active);
    let was_admin = |m: &&Move| matches!(&m.person, Person::User(u) if u.role == Role::Admin);
    let demoted = moves
        .iter()
        .filter(|m| active(m) && was_admin(m) && m.role != Role::Admin)
        .count();
    if demoted == 0 {
        return Ok(());
    }
    let promoted = moves
        .iter()
        .filter(|m| active(m) && !was_admin(m) && m.role == Role::Admin)
        .count();
    let t = store
        .tenant(tenant)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    if t.active_admins as usize + promoted <= demoted {
        return Err(ApiError::LastAdmin);
    }
    Ok(())
}

/// Moves each person as planned, through the console's role change (a user) or an invite's
/// edit (a pending invite), each audited with `change`'s actor: promotions to admin first, so
/// the company's admins never dip below what the plan ends with. Run apart from the request's
/// idempotency record (its answer is the request's, not one person's); the request is marked
/// as having changed something once any commit was sent.
pub async fn apply(
    users: &Users<'_>,
    change: &Change,
    mut moves: Vec<Move>,
) -> Result<usize, ApiError> {
    if moves.is_empty() {
        return Ok(0);
    }
    moves.sort_by_key(|m| m.role != Role::Admin);
    let inner = crate::journal::Journal::new(None);
    let count = moves.len();
    let out = inner
        .scope(async {
            for m in moves {
                match m.person {
                    Person::User(u) => {
                        let edit = RoleEdit {
                            role: m.role,
                            team: Some(m.team),
                            version: None,
                            max_chats: None,
                        };
                        users::change_role(users, change, u, edit).await?;
                    }
                    Person::Invite(before) => {
                        let after = Invite {
                            role: m.role,
                            team: m.team,
                            ..before.clone()
                        };
                        let entry =
                            change.on_invite(AuditAction::InviteUpdated, Some(&before), &after);
                        match users.store.edit_invite(&before, &after, &entry).await {
                            Ok(()) | Err(WriteError::Refused(_)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
            Ok(count)
        })
        .await;
    if inner.progress() != crate::journal::Progress::Untouched {
        crate::journal::changed_elsewhere();
    }
    out
}

/// Who a group's change may move: everyone it held or holds when a mapping names it before or
/// after (a rename can make or unmake the match), else nobody.
pub fn touched(
    mappings: &Mappings,
    before: Option<&Group>,
    after: Option<&Group>,
) -> BTreeSet<String> {
    let mapped = |g: Option<&Group>| g.is_some_and(|g| mappings.names(g));
    if !mapped(before) && !mapped(after) {
        return BTreeSet::new();
    }
    let members = |g: Option<&Group>| g.map(|g| g.members.clone()).unwrap_or_default();
    let (b, a) = (members(before), members(after));
    let named_same = before
        .zip(after)
        .is_some_and(|(b, a)| mappings.list.iter().all(|m| m.names(b) == m.names(a)));
    if named_same {
        b.symmetric_difference(&a).cloned().collect()
    } else {
        b.union(&a).cloned().collect()
    }
}

/// What Settings › Directory sync shows: the mappings, and the provider's groups with how many
/// members each has and whether a mapping names it.
pub fn mappings_view(m: &Mappings, groups: &[Group], moved: Option<usize>) -> Value {
    let listed: Vec<Value> = groups
        .iter()
        .map(|g| {
            serde_json::json!({
                "id": g.id,
                "displayName": g.display_name,
                "members": g.members.len(),
                "mapped": m.names(g),
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "mappings": m.list,
        "version": m.version,
        "groups": listed,
    });
    if let Some(n) = moved {
        v["moved"] = n.into();
    }
    v
}

/// An admin's new mappings (rule 22), at the `version` they edited if they say (else the one
/// read): saved with their audit entry, then every member of a group the old or the new
/// mappings name placed as the new ones say, each as the console's role change. A change
/// that would leave no active admin is refused before anything is written; the same list
/// again saves nothing and places whoever is not yet where it says.
pub async fn set_mappings(
    users: &Users<'_>,
    change: &Change,
    tenant: &TenantId,
    list: Vec<group::Mapping>,
    version: Option<u64>,
) -> Result<Value, ApiError> {
    let store = users.store;
    let before = store.group_mappings(tenant).await?;
    if version.is_some_and(|v| v != before.version) {
        return Err(ApiError::VersionConflict {
            current: before.version,
        });
    }
    let groups = store.groups(tenant).await?;
    // The same list again writes no new version, but still places whoever it would move: a
    // save cut off midway is finished by saving it again.
    let same = list == before.list;
    let after = match same {
        true => before.clone(),
        false => Mappings {
            list,
            version: before.version + 1,
        },
    };
    let ids: BTreeSet<String> = groups
        .iter()
        .filter(|g| before.names(g) || after.names(g))
        .flat_map(|g| g.members.iter().cloned())
        .collect();
    let moves = plan(store, tenant, &ids, &groups, &after, change.at).await?;
    check_admins(store, tenant, &moves).await?;
    let answer = mappings_view(&after, &groups, Some(moves.len()));
    if same {
        apply(users, change, moves).await?;
        return Ok(answer);
    }
    let company = store
        .tenant(tenant)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    let entry = change.on_tenant(
        AuditAction::GroupMappingsChanged,
        &company,
        Some(serde_json::json!({ "groupMappings": before.list })),
        serde_json::json!({ "groupMappings": after.list }),
    );
    crate::journal::will_answer(crate::domain::idempotency::Answer::json(200, &answer));
    match store
        .set_group_mappings(tenant, &before, &after, &entry)
        .await
    {
        Ok(()) => {}
        Err(WriteError::Refused(_)) => {
            let current = store.group_mappings(tenant).await?.version;
            return Err(ApiError::VersionConflict { current });
        }
        Err(e) => return Err(e.into()),
    }
    apply(users, change, moves).await?;
    Ok(answer)
}
