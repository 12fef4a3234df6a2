//! What SES does after it accepts an email, which moto does not: the mailbox simulator's
//! outcomes and the events a configuration set publishes to EventBridge, handed to the
//! `mail-events` handler as the template's rule would hand them.
//!
//! Modelled on SES (docs: "Using the mailbox simulator", "Event publishing"):
//! - only a message sent with a configuration set has events;
//! - `bounce@simulator.amazonses.com` (or with a `+label`): a hard bounce, 5.1.1 "user unknown";
//! - `complaint@simulator.amazonses.com`: delivered, then a complaint, and the address joins
//!   the account's suppression list (the template's set suppresses BOUNCE and COMPLAINT);
//! - an address on that list: not delivered, a bounce of subtype `OnAccountSuppressionList`;
//! - any other address: delivered (moto sends nothing anywhere).
//!
//! Where the model stops: SES delivers events at least once and in no set order; the handler's
//! conditions are tested against both by sending events again and out of order (tests/tests/
//! mail.rs), not by this simulator.

use crate::App;
use serde_json::{json, Value};
use shared::domain::mail_event::ses_event;
use std::collections::HashSet;
use std::sync::Mutex;

pub const BOUNCE: &str = "bounce@simulator.amazonses.com";
pub const COMPLAINT: &str = "complaint@simulator.amazonses.com";

/// SES's simulator takes a label after `+` (`bounce+anything@simulator.amazonses.com`), so
/// tests sharing one emulator can each have an address of their own.
pub fn labelled(simulator: &str, label: &str) -> String {
    let (local, domain) = simulator.split_once('@').expect("an address");
    format!("{local}+{label}@{domain}")
}

/// The simulator address `to` stands for, label removed.
fn simulated(to: &str) -> Option<String> {
    let (local, domain) = to.split_once('@')?;
    if domain != "simulator.amazonses.com" {
        return None;
    }
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Some(format!("{local}@{domain}"))
}

#[derive(Default)]
pub struct Mailbox {
    /// Messages already published, by SES message id.
    seen: Mutex<HashSet<String>>,
    /// How many messages the emulator had at the last read: the next reads only those after
    /// (`tests/moto/server.py`, `lighter_model_data`).
    read: Mutex<usize>,
    /// The account-level suppression list.
    suppressed: Mutex<HashSet<String>>,
    /// The last `mail.timestamp` given: each message's is later than the one before, as SES's
    /// acceptance times of messages sent one after another are.
    last: Mutex<Option<time::OffsetDateTime>>,
    /// Events the handler failed, with the tries left: handed over again on the next call, as
    /// Lambda's two retries of an asynchronous invocation would.
    again: Mutex<Vec<(Value, u8)>>,
}

/// One message as moto recorded it (`tests/moto/server.py` keeps the set and the tags).
struct Sent {
    id: String,
    to: Vec<String>,
    source: String,
    configuration_set: Option<String>,
    tags: serde_json::Map<String, Value>,
}

/// What the emulator says was sent after its first `after` messages, and how many it has in
/// all; `Err` when it can't be read (the emulator stopping under a local run's poll: the next
/// poll tries again, nothing is lost).
async fn sent(endpoint: &str, after: usize) -> Result<(Vec<Sent>, usize), String> {
    let url = format!("{endpoint}/moto-api/data.json?model=Message&service=ses&after={after}");
    let (_, body) = crate::moto::http_get(&url)
        .await
        .map_err(|e| format!("moto data.json: {e}"))?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| format!("moto data.json is not JSON: {e}"))?;
    let count = v["_count"].as_u64().unwrap_or(0) as usize;
    let mut out = Vec::new();
    for service in v.as_object().into_iter().flat_map(|o| o.values()) {
        for m in service
            .get("Message")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(Sent {
                id: m["id"].as_str().unwrap_or_default().to_string(),
                to: m["destinations"]["ToAddresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_lowercase))
                    .collect(),
                source: m["source"].as_str().unwrap_or_default().to_string(),
                configuration_set: m["configuration_set"].as_str().map(str::to_string),
                tags: m["tags"].as_object().cloned().unwrap_or_default(),
            });
        }
    }
    Ok((out, count))
}

impl Mailbox {
    fn timestamp(&self) -> String {
        let mut last = self.last.lock().unwrap();
        let now = time::OffsetDateTime::now_utc();
        let t = match *last {
            Some(l) if now <= l => l + time::Duration::milliseconds(1),
            _ => now,
        };
        *last = Some(t);
        shared::domain::timefmt::format(t)
    }

    /// The events SES would publish for every message sent since the last call, in order.
    /// Only `set`'s messages: a stack's own (several stacks may share one emulator).
    pub async fn events(&self, endpoint: &str, set: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let after = *self.read.lock().unwrap();
        let sent = match sent(endpoint, after).await {
            Ok((sent, count)) => {
                // Fewer than before: a new emulator (or a reset one); read it from the start.
                *self.read.lock().unwrap() = if count < after { 0 } else { count };
                sent
            }
            Err(e) => {
                tracing::warn!(error = %e, "mailbox: the emulator's sent mail not read; next time");
                return events;
            }
        };
        for m in sent {
            if m.configuration_set.as_deref() != Some(set) {
                continue;
            }
            if m.id.is_empty() || !self.seen.lock().unwrap().insert(m.id.clone()) {
                continue;
            }
            let mut tags: serde_json::Map<String, Value> = m
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            tags.insert("ses:configuration-set".into(), json!([set]));
            let mail = json!({
                "timestamp": self.timestamp(),
                "source": m.source,
                "sendingAccountId": "123456789012",
                "messageId": m.id,
                "destination": m.to,
                "headersTruncated": false,
                "tags": tags,
            });
            for to in &m.to {
                let delivered = || {
                    ses_event(
                        "Email Delivered",
                        "Delivery",
                        mail.clone(),
                        "delivery",
                        json!({"recipients": [to], "smtpResponse": "250 2.6.0 Message received", "processingTimeMillis": 200}),
                    )
                };
                if self.suppressed.lock().unwrap().contains(to) {
                    events.push(ses_event(
                        "Email Bounced",
                        "Bounce",
                        mail.clone(),
                        "bounce",
                        json!({"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
                               "bouncedRecipients": [{"emailAddress": to, "action": "failed",
                                   "diagnosticCode": "Amazon SES did not send the message to this address because it is on the suppression list for your account."}]}),
                    ));
                } else if simulated(to).as_deref() == Some(BOUNCE) {
                    events.push(ses_event(
                        "Email Bounced",
                        "Bounce",
                        mail.clone(),
                        "bounce",
                        json!({"bounceType": "Permanent", "bounceSubType": "General",
                               "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                               "reportingMTA": "dsn; a1-23.smtp-out.amazonses.com"}),
                    ));
                } else if simulated(to).as_deref() == Some(COMPLAINT) {
                    events.push(delivered());
                    events.push(ses_event(
                        "Email Complaint Received",
                        "Complaint",
                        mail.clone(),
                        "complaint",
                        json!({"complainedRecipients": [{"emailAddress": to}], "complaintFeedbackType": "abuse",
                               "userAgent": "Amazon SES Mailbox Simulator"}),
                    ));
                    self.suppressed.lock().unwrap().insert(to.clone());
                } else {
                    events.push(delivered());
                }
            }
        }
        events
    }

    /// Publishes what was sent since the last call to the `mail-events` handler, as the rule
    /// invokes it: one event per invocation. Returns how many were handed over.
    pub async fn publish(&self, app: &App) -> usize {
        let events = self
            .events(&app.stack.aws_endpoint, &app.stack.configuration_set)
            .await;
        let retried = std::mem::take(&mut *self.again.lock().unwrap());
        let fresh = events.iter().map(|e| (e.clone(), 2));
        for (e, tries_left) in retried.into_iter().chain(fresh) {
            if let Err(err) = mail_events_fn::handle(&app.mail_events, &e).await {
                if tries_left > 0 {
                    self.again.lock().unwrap().push((e, tries_left - 1));
                } else {
                    // Where AWS would keep it in the failed-mail-events queue.
                    tracing::error!(error = %err, "mail event not recorded after two retries");
                }
            }
        }
        events.len()
    }
}
