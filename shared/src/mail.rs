//! The SES v2 adapter: sends a rendered email with an HTML and a text part.

use crate::domain::email_template::Rendered;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;

pub struct Mailer {
    client: Client,
    from: String,
}

#[derive(Debug, thiserror::Error)]
#[error("email not sent: {0}")]
pub struct MailError(pub String);

fn utf8(data: &str) -> Content {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .expect("data is set")
}

impl Mailer {
    pub fn new(client: Client, from: String) -> Mailer {
        Mailer { client, from }
    }

    /// `to` must be a parsed `Email` (no line breaks can reach the envelope).
    pub async fn send(&self, to: &crate::domain::Email, m: &Rendered) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(utf8(&m.subject))
            .body(
                Body::builder()
                    .html(utf8(&m.html))
                    .text(utf8(&m.text))
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| MailError(format!("{e:?}")))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
