//! The SES v2 adapter: sends a rendered email with an HTML and a text part, a batch of them
//! within the account's sending rate.

use crate::domain::email_template::{mailbox, Rendered};
pub use crate::domain::mail_event::{About, MailKind};
use crate::domain::mail_event::{TAG_KIND, TAG_SUBJECT, TAG_TENANT};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use aws_sdk_sesv2::Client;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// `about` as SES message tags, which SES hands back on the message's events.
#[allow(
    clippy::expect_used,
    reason = "a tag's two required fields, name and value, are set"
)]
fn tags(about: &About) -> Vec<MessageTag> {
    [
        (TAG_KIND, about.kind.as_str()),
        (TAG_TENANT, about.tenant.as_str()),
        (TAG_SUBJECT, about.subject.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| {
        MessageTag::builder()
            .name(k)
            .value(v)
            .build()
            .expect("name and value are set")
    })
    .collect()
}

/// SES's sending rate for an account out of the sandbox until it asks for more (the sandbox
/// allows 1 per second: set `SES_MAX_SEND_RATE=1` there).
pub const DEFAULT_SEND_RATE: u32 = 14;
/// Sends in flight at once, whatever the rate: bounds sockets and memory of a 25-row batch.
const IN_FLIGHT: usize = 8;
/// The first wait after SES says "too many requests" (after the SDK's own retries), doubled
/// on each further refusal.
const THROTTLE_BACKOFF: Duration = Duration::from_millis(500);

pub struct Mailer {
    client: Client,
    from: String,
    /// Named on every send, so SES reports each message's bounce, complaint and delivery
    /// (its event destination) and applies the set's suppression of addresses that bounced or
    /// complained. `None` only where no set exists (a bare test mailer).
    configuration_set: Option<String>,
    /// Time between two sends' starts (1 / rate).
    interval: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("email not sent")]
pub struct MailError(#[source] pub crate::domain::Cause);

/// Why a send failed, as far as retrying goes: SES refused it for the rate (nothing was
/// sent, so another try can't send twice), or anything else (a timed-out call may have been
/// sent, so it is never repeated).
enum Failure {
    Throttled(MailError),
    Final(MailError),
}

fn throttled<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(_))
        && matches!(
            e.code(),
            Some("TooManyRequestsException" | "ThrottlingException" | "Throttling")
        )
}

#[allow(
    clippy::expect_used,
    reason = "the builder's one required field, the data, is set"
)]
fn utf8(data: &str) -> Content {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .expect("data is set")
}

impl Mailer {
    pub fn new(client: Client, from: String) -> Mailer {
        Mailer {
            client,
            from,
            configuration_set: None,
            interval: Duration::from_secs(1) / DEFAULT_SEND_RATE,
        }
    }

    /// Every send names `set` (`SES_CONFIGURATION_SET`, the template's `MailConfigurationSet`).
    pub fn with_configuration_set(self, set: Option<String>) -> Mailer {
        Mailer {
            configuration_set: set,
            ..self
        }
    }

    /// At most `per_second` sends start in any second (at least one).
    pub fn with_send_rate(self, per_second: u32) -> Mailer {
        Mailer {
            interval: Duration::from_secs(1) / per_second.max(1),
            ..self
        }
    }

    /// As deployed: SES with `cfg`, from `SENDER_EMAIL` (the verified identity's bare
    /// address, `config::sender_address`, inside `SENDER_DOMAIN` when that is set) at
    /// `SES_MAX_SEND_RATE`, every send through `SES_CONFIGURATION_SET`.
    #[cfg(feature = "env")]
    pub fn from_env(cfg: &aws_types::SdkConfig) -> Result<Mailer, crate::config::ConfigError> {
        let from = crate::config::sender_address(&crate::config::env("SENDER_EMAIL")?)?;
        crate::config::sender_in_domain(
            &from,
            crate::config::env("SENDER_DOMAIN").ok().as_deref(),
        )?;
        Mailer::new(Client::new(cfg), from)
            .with_configuration_set(crate::config::env("SES_CONFIGURATION_SET").ok())
            .with_send_rate_from_env()
    }

    /// The rate from `SES_MAX_SEND_RATE` (the template's `SesMaxSendRate`), or the default.
    /// A value that is not a positive whole number is refused at start-up, not guessed.
    #[cfg(feature = "env")]
    pub fn with_send_rate_from_env(self) -> Result<Mailer, crate::config::ConfigError> {
        match crate::config::env("SES_MAX_SEND_RATE") {
            Err(_) => Ok(self),
            Ok(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(self.with_send_rate(n)),
                _ => Err(crate::config::ConfigError(format!(
                    "SES_MAX_SEND_RATE (a positive whole number, got {v:?})"
                ))),
            },
        }
    }

    /// Sends every message, starting them no faster than the send rate and at most
    /// `IN_FLIGHT` at once, and retrying a send SES refused for the rate after a backoff, all
    /// before `until`: a message whose turn or retry would come later is not sent and fails
    /// (its invite is marked `failed`, for a resend). One result per message, in order.
    pub async fn send_all(
        &self,
        messages: &[(&crate::domain::Email, &Rendered, &About)],
        until: Instant,
    ) -> Vec<Result<String, MailError>> {
        let next_start = Mutex::new(Instant::now());
        let in_flight = tokio::sync::Semaphore::new(IN_FLIGHT);
        let take_turn = || {
            // A pacing clock: whatever a panicking holder left is still a usable time.
            let mut next = next_start
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let turn = (*next).max(Instant::now());
            *next = turn + self.interval;
            turn
        };
        let jobs = messages.iter().map(|(to, m, about)| async {
            let mut backoff = THROTTLE_BACKOFF;
            loop {
                let turn = take_turn();
                if turn >= until {
                    return Err(MailError("no time left in this request".into()));
                }
                tokio::time::sleep_until(turn).await;
                let sent = {
                    let Ok(_slot) = in_flight.acquire().await else {
                        return Err(MailError("the send queue closed".into()));
                    };
                    tokio::time::timeout_at(until, self.try_send(to, m, about)).await
                };
                match sent {
                    Ok(Ok(id)) => return Ok(id),
                    Ok(Err(Failure::Final(e))) => return Err(e),
                    Err(_) => return Err(MailError("no answer from SES in time".into())),
                    Ok(Err(Failure::Throttled(e))) => {
                        if Instant::now() + backoff >= until {
                            return Err(e);
                        }
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                }
            }
        });
        futures_util::future::join_all(jobs).await
    }

    /// `to` must be a parsed `Email` (no line breaks can reach the envelope).
    async fn try_send(
        &self,
        to: &crate::domain::Email,
        m: &Rendered,
        about: &About,
    ) -> Result<String, Failure> {
        let message = Message::builder()
            .subject(utf8(&m.subject))
            .body(
                Body::builder()
                    .html(utf8(&m.html))
                    .text(utf8(&m.text))
                    .build(),
            )
            .build();
        // The display name says who invites; the address stays the verified identity, which
        // is what SES checks and what `ses:FromAddress` in the function's policy matches.
        let out = self
            .client
            .send_email()
            .from_email_address(mailbox(&m.from_name, &self.from))
            .set_reply_to_addresses(m.reply_to.clone().map(|a| vec![a]))
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(Some(tags(about)))
            .send()
            .await
            .map_err(|e| {
                let rate = throttled(&e);
                let why = MailError(crate::domain::Cause::new(e));
                if rate {
                    Failure::Throttled(why)
                } else {
                    Failure::Final(why)
                }
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
