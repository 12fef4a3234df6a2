//! What SES said about an email (`domain::mail_event`), written where the console reads it: on
//! the invite, or on the user a password reset or two-step notice went to. Not a change of
//! anyone's access: no version, no audit entry. Each write is conditioned so that SES's
//! at-least-once, unordered delivery of events cannot make a wrong record: only the invite's
//! newest message counts, a delivery never hides a bounce or complaint of the same message, and
//! a user's record follows the newest message an event was recorded for. An invite's event
//! that comes before the request that sent the email has written its message id (a bulk
//! invite writes them all once the batch is sent) is not stale but early: the handler fails
//! it, so Lambda hands it over again a minute later.

use super::items::{self, s};
use super::{Store, StoreError};
use crate::domain::mail_event::{MailEvent, Outcome, Subject};
use crate::domain::DeliveryStatus;
use aws_sdk_dynamodb::types::AttributeValue;

/// Whether an event changed the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Yes,
    /// Its message is not the newest, its company or subject does not match, or a stronger
    /// outcome of the same message is already recorded.
    Stale,
    /// The invite's email is not recorded as sent yet (`delivery` still `queued`): the event
    /// must come back once it is.
    Early,
}

impl Store {
    pub async fn record_mail_event(&self, e: &MailEvent) -> Result<Recorded, StoreError> {
        let tenant = s(&e.tenant);
        let (pk, sk, update, condition, mut values): (_, _, _, _, Vec<(&str, AttributeValue)>) =
            match &e.subject {
                Subject::Invite(id) => {
                    // Which stored delivery the outcome may replace: a delivery or a reject
                    // only `sent`, a bounce anything but a complaint, a complaint anything.
                    let (status, detail, guard) = match &e.outcome {
                        Outcome::Delivered => (
                            DeliveryStatus::Delivered,
                            None,
                            Some(("=", DeliveryStatus::Sent)),
                        ),
                        Outcome::Bounced(d) => (
                            DeliveryStatus::Bounced,
                            Some(d),
                            Some(("<>", DeliveryStatus::Complained)),
                        ),
                        Outcome::Complained(d) => (DeliveryStatus::Complained, Some(d), None),
                        Outcome::Rejected(d) => (
                            DeliveryStatus::Failed,
                            Some(d),
                            Some(("=", DeliveryStatus::Sent)),
                        ),
                    };
                    let mut values = vec![
                        (":d", s(status.as_str())),
                        (":m", s(&e.message_id)),
                        (":t", tenant),
                    ];
                    let mut condition = "tenantId = :t AND messageId = :m".to_string();
                    if let Some((op, than)) = guard {
                        condition.push_str(&format!(" AND delivery {op} :g"));
                        values.push((":g", s(than.as_str())));
                    }
                    let update = match detail {
                        Some(d) => {
                            values.push((":x", s(d.as_str())));
                            "SET delivery = :d, deliveryDetail = :x"
                        }
                        None => "SET delivery = :d REMOVE deliveryDetail",
                    };
                    (
                        items::invite_pk(id),
                        items::INVITE_SK,
                        update,
                        condition,
                        values,
                    )
                }
                Subject::User(id) => {
                    let mut values = vec![(":at", s(&e.sent_at)), (":t", tenant)];
                    // A delivery clears only an older message's problem (strictly older: a
                    // bounce that comes after its own message's delivery stands); a problem is
                    // recorded for the newest message or the same one.
                    let (update, newer) = match &e.outcome {
                        Outcome::Delivered => ("SET mailSentAt = :at REMOVE mailProblem", "<"),
                        Outcome::Bounced(d) | Outcome::Complained(d) | Outcome::Rejected(d) => {
                            values.push((":x", s(d.as_str())));
                            ("SET mailSentAt = :at, mailProblem = :x", "<=")
                        }
                    };
                    (
                        items::user_pk(id),
                        items::USER_SK,
                        update,
                        format!(
                            "tenantId = :t AND (attribute_not_exists(mailSentAt) OR mailSentAt {newer} :at)"
                        ),
                        values,
                    )
                }
            };
        let mut call = self
            .client
            .update_item()
            .table_name(&self.tables.directory)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(update)
            .condition_expression(condition);
        for (k, v) in values.drain(..) {
            call = call.expression_attribute_values(k, v);
        }
        match call.send().await {
            Ok(_) => Ok(Recorded::Yes),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
                if se.err().is_conditional_check_failed_exception() =>
            {
                let Subject::Invite(id) = &e.subject else {
                    return Ok(Recorded::Stale);
                };
                // Refused: because the message is another one, or because its id is not
                // written yet? Only the second is worth a retry.
                let early = self.invite(id).await?.is_some_and(|i| {
                    i.tenant_id == e.tenant && i.delivery == DeliveryStatus::Queued
                });
                Ok(if early {
                    Recorded::Early
                } else {
                    Recorded::Stale
                })
            }
            Err(e) => Err(super::unavailable(e)),
        }
    }
}
