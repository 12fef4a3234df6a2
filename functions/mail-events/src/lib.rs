//! `mail-events`: what SES says happened to an email after it accepted it, recorded where the
//! console shows it. SES publishes the events of the configuration set every send names to
//! EventBridge; a rule hands this function each bounce, complaint, delivery and reject
//! (docs/rules.md, "Mail that did not arrive"). An event that is not about one of our emails,
//! or that an older message's event would misrecord, changes nothing. A store that cannot be
//! written, or an invite whose email's id is not written yet (the event came first), is an
//! error: Lambda invokes the function again a minute and then two minutes later (its
//! `EventInvokeConfig`), then keeps the event in the failed-mail-events queue. (The rule's own
//! retry policy covers only EventBridge failing to invoke Lambda.)

use serde::Serialize;
use shared::domain::mail_event::{self, Outcome, Subject};
use shared::store::{Recorded, Store, StoreError};

/// Why an event must be handed over again.
#[derive(Debug)]
pub enum Retry {
    Store(StoreError),
    /// The invite's email is not recorded as sent yet.
    Early,
}

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retry::Store(e) => write!(f, "{}", shared::domain::Chain(e)),
            Retry::Early => f.write_str("the invite's email is not recorded as sent yet"),
        }
    }
}

impl std::error::Error for Retry {}

pub struct Deps {
    pub store: Store,
}

impl Deps {
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        Ok(Deps {
            store: Store::from_env(&shared::config::aws()?)?,
        })
    }
}

/// The function's answer, and its one log line's fields: counts and ids, never an address.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    /// `recorded`, `stale` or `ignored`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<&'static str>,
}

pub async fn handle(deps: &Deps, event: &serde_json::Value) -> Result<Done, Retry> {
    let e = match mail_event::parse(event) {
        Ok(e) => e,
        Err(ignored) => {
            // Not retried: the same event would be ignored again.
            tracing::warn!(why = ignored.0, "mail event ignored");
            return Ok(Done {
                result: "ignored",
                why: Some(ignored.0),
            });
        }
    };
    let outcome = match &e.outcome {
        Outcome::Delivered => "delivered",
        Outcome::Bounced(_) => "bounced",
        Outcome::Complained(_) => "complained",
        Outcome::Rejected(_) => "rejected",
    };
    let subject = match &e.subject {
        Subject::Invite(id) => id.to_string(),
        Subject::User(id) => id.to_string(),
    };
    let recorded = deps.store.record_mail_event(&e).await.map_err(|err| {
        tracing::error!(
            kind = e.kind.as_str(), outcome, tenant = %e.tenant, subject,
            error = %shared::domain::Chain(&err), "mail event not recorded"
        );
        Retry::Store(err)
    })?;
    let result = match recorded {
        Recorded::Yes => "recorded",
        Recorded::Stale => "stale",
        Recorded::Early => {
            // Routine when a bulk invite's events overtake its last write: the retry a
            // minute later finds the id.
            tracing::warn!(kind = e.kind.as_str(), outcome, tenant = %e.tenant, subject, message_id = %e.message_id, "mail event early, retried later");
            return Err(Retry::Early);
        }
    };
    // A problem is worth a warning in the logs (someone will ask why an invite never came);
    // a delivery is routine.
    if matches!(e.outcome, Outcome::Delivered) {
        tracing::info!(kind = e.kind.as_str(), outcome, result, tenant = %e.tenant, subject, message_id = %e.message_id, "mail event");
    } else {
        tracing::warn!(kind = e.kind.as_str(), outcome, result, tenant = %e.tenant, subject, message_id = %e.message_id, "mail event");
    }
    Ok(Done { result, why: None })
}
