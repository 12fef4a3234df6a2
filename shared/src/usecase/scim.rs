//! Directory sync (docs/rules.md rule 22): the company's identity provider manages its people
//! through SCIM 2.0 with an integration token holding the `scim` scope. Every request goes
//! through the same use cases as the console (invites, suspend, reactivate, delete), so seats,
//! one address per person, the last admin, audit, events and Cognito following DynamoDB hold
//! as they do there; only the shapes differ (`domain::scim`).
//!
//! A person is a SCIM User whether they have joined (a user) or not yet (a pending invite).
//! Their SCIM id is the id of the record the provider first reached, kept for life: a person
//! the provider created is known by their invite's id, before and after they accept.

use crate::domain::ids::IntegrationId;
use crate::domain::invite::InviteStatus;
use crate::domain::role::Role;
use crate::domain::scim::{self, Desired};
use crate::domain::user::Managed;
use crate::domain::validation::InviteInput;
use crate::domain::{ApiError, AuditAction, Change, Invite, TenantId, UserStatus};
use crate::store::{EmailHolder, InviteListFilter, InviteNarrow, Store, WriteError};
use crate::usecase::invites::{self, Invites, Sender};
use crate::usecase::people::invite_counts;
pub use crate::usecase::people::{find, page, people, read_filter, strangers, Person};
use crate::usecase::users::{self, SignIns};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

/// What a SCIM request needs: inviting (its mailer and links), the sign-in changes, and the
/// SCIM root its resources' `meta.location` starts with.
pub struct Scim<'a> {
    pub invites: Invites<'a>,
    pub signins: SignIns<'a>,
    pub base: &'a str,
}

impl Scim<'_> {
    fn store(&self) -> &Store {
        self.invites.store
    }
}

/// The company's person with the address `login`, if any (the lookup before a create): whoever
/// holds its guard (a user, a pending invite), else a person the provider made inactive
/// (a closed invite holds no address, so the company's invites are searched for it).
async fn holder(
    store: &Store,
    tenant: &TenantId,
    login: &str,
    now: OffsetDateTime,
) -> Result<Option<Person>, ApiError> {
    let person = match store.email_holder(login).await? {
        Some(EmailHolder::User(id)) => store.user(&id).await?.map(Person::User),
        Some(EmailHolder::Invite(id)) => store.invite(&id).await?.map(Person::Invite),
        None => return inactive_holder(store, tenant, login, now).await,
    };
    Ok(person.filter(|p| match p {
        Person::User(u) => &u.tenant_id == tenant && u.status != UserStatus::Deleted,
        Person::Invite(i) => &i.tenant_id == tenant && invite_counts(i, now),
    }))
}

async fn inactive_holder(
    store: &Store,
    tenant: &TenantId,
    login: &str,
    now: OffsetDateTime,
) -> Result<Option<Person>, ApiError> {
    let narrow = InviteNarrow {
        search: Some(login.to_string()),
        ..InviteNarrow::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_invites(
                tenant,
                InviteListFilter::All,
                &narrow,
                None,
                now,
                cursor.as_deref(),
                PAGE,
            )
            .await?;
        if let Some(i) = page.items.into_iter().find(|i| {
            i.email.normalized() == login
                && i.managed.is_some()
                && i.effective_status(now) != InviteStatus::Pending
                && invite_counts(i, now)
        }) {
            return Ok(Some(Person::Invite(i)));
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(None),
        }
    }
}

/// Most people one list reads from the store before filtering (a company's whole directory,
/// 1,000 per page).
const PAGE: usize = 1000;

/// Every person of the company: its users (not the deleted) and the invites that count.
async fn everyone(
    store: &Store,
    tenant: &TenantId,
    now: OffsetDateTime,
) -> Result<Vec<Person>, ApiError> {
    let mut people = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &crate::domain::Scope::Tenant,
                &crate::domain::UserFilter::default(),
                None,
                cursor.as_deref(),
                PAGE,
            )
            .await?;
        people.extend(page.items.into_iter().map(Person::User));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    loop {
        let page = store
            .list_invites(
                tenant,
                InviteListFilter::All,
                &InviteNarrow::default(),
                None,
                now,
                cursor.as_deref(),
                PAGE,
            )
            .await?;
        people.extend(
            page.items
                .into_iter()
                .filter(|i| invite_counts(i, now))
                .map(Person::Invite),
        );
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(people)
}

/// `GET /Users`: the people `filter` matches, oldest first, from `start` (1-based), at most
/// `count`. A filter that is exactly `userName eq "…"` (what Okta and Entra ID send before a
/// create) is answered from the address's guard in two reads; any other reads the company.
pub async fn list(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&str>,
    paging: (usize, usize),
    base: &str,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let filter = read_filter(filter)?;
    let matched = matching(store, tenant, filter.as_ref(), base, now).await?;
    Ok(page(matched, paging))
}

/// The company's people `filter` matches, as resources, oldest first.
async fn matching(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&scim::Filter>,
    base: &str,
    now: OffsetDateTime,
) -> Result<Vec<Value>, ApiError> {
    let by_address = filter
        .and_then(scim::equality)
        .filter(|(p, _)| p.urn.is_none() && p.name == "username" && p.sub.is_none());
    let mut people = match by_address {
        Some((_, value)) => match crate::domain::Email::parse(value) {
            Ok(e) => holder(store, tenant, e.normalized(), now)
                .await?
                .into_iter()
                .collect(),
            // Not an address: nobody's userName.
            Err(_) => Vec::new(),
        },
        None => everyone(store, tenant, now).await?,
    };
    people.sort_by(|a, b| {
        a.created()
            .cmp(&b.created())
            .then_with(|| a.scim_id().cmp(&b.scim_id()))
    });
    Ok(people
        .iter()
        .map(|p| p.resource(base, now))
        .filter(|r| filter.is_none_or(|f| scim::matches(f, r)))
        .collect())
}

/// `POST /.search` (RFC 7644 3.4.3): every resource type at once, the people then the groups.
pub async fn search_all(
    store: &Store,
    tenant: &TenantId,
    filter: Option<&str>,
    paging: (usize, usize),
    base: &str,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let filter = read_filter(filter)?;
    let mut matched = matching(store, tenant, filter.as_ref(), base, now).await?;
    matched.extend(crate::usecase::groups::matching(store, tenant, filter.as_ref(), base).await?);
    Ok(page(matched, paging))
}

/// The change's actor: directory sync with this token.
pub fn change(integration: &IntegrationId, at: OffsetDateTime, request_id: &str) -> Change {
    Change::new(
        crate::domain::Actor::directory_sync(integration),
        at,
        request_id,
    )
}

fn sender(tenant: &TenantId) -> Sender<'_> {
    Sender {
        tenant,
        inviter: None,
    }
}

fn managed_as(d: &Desired, scim_id: String) -> Managed {
    Managed {
        scim_id,
        external_id: d.external_id.clone(),
        given_name: d.given_name.clone(),
        family_name: d.family_name.clone(),
    }
}

/// `POST /Users`: the person is invited (an agent with no team until a group mapping says
/// otherwise) and sets their password through the emailed link, as anyone an admin invites.
/// Seats and one address per person hold (a taken address is a 409 `uniqueness`).
pub async fn create(
    s: &Scim<'_>,
    tenant: &TenantId,
    change: &Change,
    body: &Value,
    deadline: Instant,
) -> Result<Value, ApiError> {
    let d = scim::desired(body)?;
    if let Some(p) = holder(s.store(), tenant, d.email.normalized(), change.at).await? {
        return Err(ApiError::Scim {
            status: 409,
            scim_type: "uniqueness",
            detail: format!(
                "{} already belongs to a person of this company (id {}): look them up by userName and update them instead",
                d.email,
                p.scim_id()
            ),
        });
    }
    let row = InviteInput {
        email: d.email.clone(),
        name: d.name.clone(),
        role: Role::Agent,
        team: None,
        time_zone: None,
        // Its scim id is the new invite's, filled in by `new_invite`.
        managed: Some(managed_as(&d, String::new())),
    };
    if d.active == Some(false) {
        return create_inactive(s, tenant, change, &row).await;
    }
    let made = invites::create(
        &s.invites,
        &sender(tenant),
        change,
        std::slice::from_ref(&row),
        false,
        deadline,
    )
    .await
    .map_err(|e| match e {
        // Held by another company (this one's was looked up above).
        ApiError::EmailTaken(_) => ApiError::Scim {
            status: 409,
            scim_type: "uniqueness",
            detail: format!("{} already has a VeloConnect account", d.email),
        },
        e => e,
    })?;
    let invite = made
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal(crate::domain::Cause::new(NoInvite)))?;
    Ok(Person::Invite(invite).resource(s.base, change.at))
}

#[derive(Debug, thiserror::Error)]
#[error("the invite create answered no invite")]
struct NoInvite;

/// A person the provider creates with `active: false` (Okta's staged users, Entra ID's
/// disabled accounts in scope): an invite already closed, holding no seat and no address and
/// sent to nobody, until `active: true` invites them.
async fn create_inactive(
    s: &Scim<'_>,
    tenant: &TenantId,
    change: &Change,
    row: &InviteInput,
) -> Result<Value, ApiError> {
    let (made, _) = crate::domain::invite::new_invite(row, tenant, &change.actor, change.at);
    let closed = Invite {
        status: InviteStatus::Revoked,
        expires_at: change.at,
        ..made
    };
    let entry = change.on_invite(AuditAction::InviteCreated, None, &closed);
    match s.store().create_closed_invite(&closed, &entry).await {
        Ok(()) => Ok(Person::Invite(closed).resource(s.base, change.at)),
        Err(WriteError::Refused(_)) => Err(ApiError::Conflict(
            "The person could not be stored; try again.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Brings `person` to what the provider asks (a PUT's body, or the resource after a PATCH):
/// first `active` (suspend or reactivate a user, revoke or reopen an invite), where the rules
/// that refuse live (last admin, seats), so a refusal has changed nothing; then the name and
/// the provider's link. The address can't change (`mutability`). Addressed this way, a person
/// an admin invited becomes managed by the provider (it claims them by their id).
pub async fn apply(
    s: &Scim<'_>,
    change: &Change,
    person: Person,
    d: Desired,
    deadline: Instant,
) -> Result<Person, ApiError> {
    let (email, id) = match &person {
        Person::User(u) => (&u.email, person.scim_id()),
        Person::Invite(i) => (&i.email, person.scim_id()),
    };
    if email.normalized() != d.email.normalized() {
        return Err(ApiError::Scim {
            status: 400,
            scim_type: "mutability",
            detail: format!(
                "userName is the address {email} signs in with and can't be changed here; delete the person and create them with the new address"
            ),
        });
    }
    let managed = Some(managed_as(&d, id));
    let person = match person {
        Person::User(before) => {
            let now = match (d.active, before.status) {
                (Some(false), UserStatus::Active) => {
                    Box::pin(users::suspend(&s.signins, change, before)).await?
                }
                (Some(true), UserStatus::Suspended) => {
                    Box::pin(users::reactivate(&s.signins, change, before)).await?
                }
                _ => before,
            };
            Person::User(
                users::set_profile(&s.signins.users, change, now, d.name.clone(), managed).await?,
            )
        }
        Person::Invite(before) => {
            let open = before.effective_status(change.at) == InviteStatus::Pending;
            let now = match d.active {
                Some(false) if open => invites::revoke(s.store(), change, before).await?,
                Some(true) if !open => {
                    let tenant = before.tenant_id.clone();
                    Box::pin(invites::reinvite(
                        &s.invites,
                        &sender(&tenant),
                        change,
                        before,
                        deadline,
                    ))
                    .await?
                }
                _ => before,
            };
            Person::Invite(edit_invite(s.store(), change, now, &d.name, managed).await?)
        }
    };
    Ok(person)
}

/// An invite's name and link, with its `invite.updated` entry; unchanged, nothing is written.
async fn edit_invite(
    store: &Store,
    change: &Change,
    before: Invite,
    name: &str,
    managed: Option<Managed>,
) -> Result<Invite, ApiError> {
    if before.name == name && before.managed == managed {
        return Ok(before);
    }
    let after = Invite {
        name: name.to_string(),
        managed,
        ..before.clone()
    };
    let entry = change.on_invite(AuditAction::InviteUpdated, Some(&before), &after);
    match store.edit_invite(&before, &after, &entry).await {
        Ok(()) => Ok(after),
        Err(WriteError::Refused(_)) => Err(ApiError::Conflict(
            "The invite changed meanwhile (accepted, resent, revoked or expired); read it again."
                .into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /Users/{id}`: a user is deleted as the console deletes (history kept, the seat and
/// the address free); an invite is revoked and unlinked, so the id reads as no one from then.
pub async fn delete(s: &Scim<'_>, change: &Change, person: Person) -> Result<(), ApiError> {
    let (tenant, id) = match &person {
        Person::User(u) => (u.tenant_id.clone(), person.scim_id()),
        Person::Invite(i) => (i.tenant_id.clone(), person.scim_id()),
    };
    match person {
        Person::User(u) => {
            Box::pin(users::delete(&s.signins, change, u)).await?;
        }
        Person::Invite(i) if i.effective_status(change.at) == InviteStatus::Pending => {
            // Revoked and unlinked in one commit (the revoke writes the record it is given).
            invites::revoke(s.store(), change, Invite { managed: None, ..i }).await?;
        }
        Person::Invite(i) => {
            let name = i.name.clone();
            edit_invite(s.store(), change, i, &name, None).await?;
        }
    }
    // The person is gone for the provider: no group names them any more.
    crate::usecase::groups::forget_member(s.store(), &tenant, &id, change.at).await
}
