//! Directory groups (docs/rules.md rule 22; `domain::group`): one item each, listed by company,
//! and a guard item per name (`GROUPNAME#<company>#<name, case-folded>`) written in the same
//! transaction, so two groups of one company never share a name and a mapping by name names
//! one group.

use super::items::{self, n, s, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{Store, StoreError};
use crate::domain::group::{name_key, Group, Mappings};
use crate::domain::ids::GroupId;
use crate::domain::TenantId;

/// Most groups one list reads: a company's provider pushes a few dozen (one per team and role).
pub const MAX_GROUPS: usize = 1000;

impl Store {
    pub async fn group(&self, id: &GroupId) -> Result<Option<Group>, StoreError> {
        self.get(items::group_pk(id), items::GROUP_SK)
            .await?
            .map(|m| Row(&m).group())
            .transpose()
    }

    /// The company's group named `name` (case aside), read consistently through its guard:
    /// what a provider's `displayName eq "…"` lookup before a create must not miss.
    pub async fn group_named(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<Group>, StoreError> {
        let Some(guard) = self
            .get(items::group_name_pk(tenant, name), items::GROUP_NAME_SK)
            .await?
        else {
            return Ok(None);
        };
        let Some(id) = Row(&guard).opt("groupId").and_then(|i| GroupId::parse(&i)) else {
            return Ok(None);
        };
        Ok(self.group(&id).await?.filter(|g| &g.tenant_id == tenant))
    }

    /// The company's groups, oldest first, at most [`MAX_GROUPS`].
    pub async fn groups(&self, tenant: &TenantId) -> Result<Vec<Group>, StoreError> {
        let page = self
            .query_gsi1(
                &items::groups_gsi1pk(tenant),
                None,
                true,
                None,
                None,
                MAX_GROUPS,
            )
            .await?;
        page.items.iter().map(|m| Row(m).group()).collect()
    }

    /// `NameTaken` when the company has a group of that name.
    pub async fn create_group(&self, g: &Group) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let stamp = tx.stamp(Tag::Group, items::group_pk(&g.id), items::GROUP_SK);
        tx.put_new(Tag::Group, stamped(g, stamp));
        tx.put_new(Tag::GroupName, items::group_name_item(g));
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide))
    }

    /// `after` over `before`, only if the group is still as read (`Stale` if not); a new name
    /// moves its guard (`NameTaken` when another group has it).
    pub async fn change_group(&self, before: &Group, after: &Group) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let stamp = tx.stamp(Tag::Group, items::group_pk(&after.id), items::GROUP_SK);
        tx.put_if(
            Tag::Group,
            stamped(after, stamp),
            "version = :v AND tenantId = :t",
            &[],
            vec![(":v", n(before.version)), (":t", s(&before.tenant_id))],
        );
        if name_key(&before.display_name) != name_key(&after.display_name) {
            // The old guard is this group's (a failure there reads as stale, never as taken).
            tx.delete_if(
                Tag::Group,
                items::group_name_pk(&before.tenant_id, &before.display_name),
                items::GROUP_NAME_SK,
                "groupId = :g",
                vec![(":g", s(&before.id))],
            );
            tx.put_new(Tag::GroupName, items::group_name_item(after));
        }
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide))
    }

    /// The group and its name's guard, whatever its members now; `Stale` if it was renamed
    /// meanwhile (the guard read is no longer its).
    pub async fn delete_group(&self, g: &Group) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.gone(Tag::Group, items::group_pk(&g.id), items::GROUP_SK);
        tx.delete_if(
            Tag::Group,
            items::group_pk(&g.id),
            items::GROUP_SK,
            "tenantId = :t",
            vec![(":t", s(&g.tenant_id))],
        );
        tx.delete_if(
            Tag::Group,
            items::group_name_pk(&g.tenant_id, &g.display_name),
            items::GROUP_NAME_SK,
            "groupId = :g",
            vec![(":g", s(&g.id))],
        );
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(decide))
    }
}

impl Store {
    /// The company's group mappings (none, at version 0, before any was saved), consistently.
    pub async fn group_mappings(&self, tenant: &TenantId) -> Result<Mappings, StoreError> {
        let Some(item) = self
            .get(items::tenant_pk(tenant), items::GROUP_MAPPINGS_SK)
            .await?
        else {
            return Ok(Mappings::default());
        };
        Row(&item).group_mappings()
    }

    /// The company's mappings as `after`, with the admin's entry, only if they are still at
    /// `before`'s version (`Stale` if another admin saved meanwhile).
    pub async fn set_group_mappings(
        &self,
        tenant: &TenantId,
        before: &Mappings,
        after: &Mappings,
        entry: &crate::domain::AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        let (condition, values) = if before.version == 0 {
            ("attribute_not_exists(pk)", vec![])
        } else {
            ("version = :v", vec![(":v", n(before.version))])
        };
        tx.put_if(
            Tag::Tenant,
            items::group_mappings_item(tenant, after),
            condition,
            &[],
            values,
        );
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }
}

/// The group's item with this write's id: what tells a retried write that its own earlier
/// attempt landed (group writes have no audit entry to prove it).
fn stamped(g: &Group, write_id: String) -> super::items::Item {
    let mut item = items::group_item(g);
    item.insert(super::tx::WRITE_ID.to_string(), s(write_id));
    item
}

fn decide(tags: &[Tag]) -> Refusal {
    if tags.contains(&Tag::GroupName) {
        Refusal::NameTaken
    } else {
        Refusal::Stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_is_told_apart_from_a_stale_group() {
        assert_eq!(decide(&[Tag::GroupName]), Refusal::NameTaken);
        assert_eq!(decide(&[Tag::Group, Tag::GroupName]), Refusal::NameTaken);
        assert_eq!(decide(&[Tag::Group]), Refusal::Stale);
    }
}
