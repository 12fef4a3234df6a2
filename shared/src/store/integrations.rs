//! Integration tokens (docs/rules.md rule 21): made and revoked with their audit entry in one
//! transaction, listed by company, read consistently on every request a token makes.

use super::items::{self, s, Row};
use super::tx::{Refusal, Tag, Tx, WriteError};
use super::{Store, StoreError};
use crate::domain::ids::IntegrationId;
use crate::domain::integration::Integration;
use crate::domain::{timefmt, AuditEntry, TenantId};
use time::OffsetDateTime;

/// More than any company keeps; the list answers the newest this many.
pub const MAX_LISTED: usize = 200;

impl Store {
    pub async fn integration(&self, id: &IntegrationId) -> Result<Option<Integration>, StoreError> {
        self.get(items::integration_pk(id), items::INTEGRATION_SK)
            .await?
            .map(|m| Row(&m).integration())
            .transpose()
    }

    /// The company's tokens, newest first (revoked ones too: the list says when and by whom).
    pub async fn integrations(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        let page = self
            .query_gsi1(
                &items::integrations_gsi1pk(tenant),
                None,
                false,
                None,
                None,
                MAX_LISTED,
            )
            .await?;
        page.items.iter().map(|m| Row(m).integration()).collect()
    }

    pub async fn create_integration(
        &self,
        integration: &Integration,
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        let mut tx = Tx::new(&self.tables);
        tx.put_new(Tag::Integration, items::integration_item(integration));
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Revoked only if it still is not, in its own company; `Stale` when another revoke won.
    pub async fn revoke_integration(
        &self,
        after: &Integration,
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        let (Some(at), Some(by)) = (after.revoked_at, after.revoked_by.as_ref()) else {
            return Err(WriteError::Refused(Refusal::Stale));
        };
        // Only the revocation's attributes: a last use recorded meanwhile stays.
        let mut set = "SET revokedAt = :at, revokedById = :by".to_string();
        let mut values = vec![
            (":t", s(&after.tenant_id)),
            (":at", s(timefmt::format(at))),
            (":by", s(&by.id)),
        ];
        if let Some(name) = &by.name {
            set.push_str(", revokedByName = :name");
            values.push((":name", s(name)));
        }
        let mut tx = Tx::new(&self.tables);
        tx.update(
            Tag::Integration,
            items::integration_pk(&after.id),
            items::INTEGRATION_SK,
            &set,
            "attribute_exists(pk) AND attribute_not_exists(revokedAt) AND tenantId = :t",
            &[],
            values,
        );
        tx.audit(entry);
        tx.commit(&self.client)
            .await
            .map_err(|e| e.decided_by(|_| Refusal::Stale))
    }

    /// Spends one request of the token's budget for the minute `window` (whole minutes since
    /// the epoch): `true` if it had one left. One conditional write in the common case (the
    /// window's count under `max`), two when a new minute starts.
    pub async fn spend_request(
        &self,
        i: &Integration,
        window: i64,
        max: u32,
    ) -> Result<bool, StoreError> {
        let refused = |e: &aws_sdk_dynamodb::error::SdkError<_>| -> bool {
            matches!(e, aws_sdk_dynamodb::error::SdkError::ServiceError(se)
                if matches!(se.err(), aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_)))
        };
        let update = || {
            self.client
                .update_item()
                .table_name(&self.tables.directory)
                .key("pk", s(items::integration_pk(&i.id)))
                .key("sk", s(items::INTEGRATION_SK))
                .expression_attribute_values(":w", items::n(window))
        };
        let same_minute = update()
            .update_expression("SET rateCount = rateCount + :one")
            .condition_expression("rateWindow = :w AND rateCount < :max")
            .expression_attribute_values(":one", items::n(1))
            .expression_attribute_values(":max", items::n(max))
            .send()
            .await;
        match same_minute {
            Ok(_) => return Ok(true),
            Err(e) if refused(&e) => {}
            Err(e) => return Err(super::unavailable(e)),
        }
        let new_minute = update()
            .update_expression("SET rateWindow = :w, rateCount = :one")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(rateWindow) OR rateWindow < :w)",
            )
            .expression_attribute_values(":one", items::n(1))
            .send()
            .await;
        match new_minute {
            Ok(_) => Ok(true),
            // This minute's budget is spent (or a newer minute is already counting).
            Err(e) if refused(&e) => Ok(false),
            Err(e) => Err(super::unavailable(e)),
        }
    }

    /// Records a token's use at `now` unless a use within the grain is recorded already, and
    /// only while it is not revoked. Best effort: the request it serves does not wait on it
    /// failing.
    pub async fn touch_integration(&self, i: &Integration, now: OffsetDateTime) {
        let due = timefmt::format(now - crate::domain::integration::LAST_USED_GRAIN);
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(items::integration_pk(&i.id)))
            .key("sk", s(items::INTEGRATION_SK))
            .update_expression("SET lastUsedAt = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(revokedAt) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt <= :due)",
            )
            .expression_attribute_values(":now", s(timefmt::format(now)))
            .expression_attribute_values(":due", s(due))
            .send()
            .await;
        if let Err(e) = out {
            let refused = e
                .as_service_error()
                .is_some_and(|se| se.is_conditional_check_failed_exception());
            if !refused {
                tracing::warn!(error = %crate::domain::Chain(&e), "an integration's last use not recorded");
            }
        }
    }
}
