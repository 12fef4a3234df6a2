//! What SES says happened to an email after it accepted it (delivered, bounced, marked as spam,
//! rejected), read from the event SES publishes to EventBridge for the configuration set every
//! send names, and what the directory records of it.
//!
//! Every email carries three message tags (`About`); SES hands them back in `mail.tags`, so an
//! event finds its invite or user without a lookup by address. What a reader is shown is a fixed
//! sentence chosen here from SES's own classification, never the receiving server's text: a
//! remote server writes `diagnosticCode`, and it is not ours to put on an admin's screen.

use super::{InviteId, TenantId, UserId};
use serde_json::Value;

/// What an email is for, sent along as SES message tags. Ids are `[A-Za-z0-9_-]` by
/// construction (`ids::looks_like_id`), which is what a tag value may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub kind: MailKind,
    pub tenant: TenantId,
    /// The invite's id for an invite, else the user's.
    pub subject: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Invite,
    PasswordReset,
    TwoStepReset,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invite => "invite",
            MailKind::PasswordReset => "password-reset",
            MailKind::TwoStepReset => "two-step-reset",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        [
            MailKind::Invite,
            MailKind::PasswordReset,
            MailKind::TwoStepReset,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The tag names (SES allows letters, digits, `_` and `-`; the `ses:` prefix is SES's own).
pub const TAG_KIND: &str = "vc-kind";
pub const TAG_TENANT: &str = "vc-tenant";
pub const TAG_SUBJECT: &str = "vc-subject";

/// The detail types SES publishes to EventBridge for the event types the template's event
/// destination matches; the rule in the template lists the same four.
pub const DETAIL_TYPES: [&str; 4] = [
    "Email Delivered",
    "Email Bounced",
    "Email Complaint Received",
    "Email Rejected",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiving server accepted it.
    Delivered,
    /// It will not arrive: a hard bounce, or a soft one SES stopped retrying. The sentence
    /// says why in the admin's words.
    Bounced(String),
    /// It arrived and the recipient marked it as spam; SES suppresses the address from now on.
    Complained(String),
    /// SES did not send it (it found a virus in it).
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Invite(InviteId),
    User(UserId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEvent {
    pub kind: MailKind,
    pub tenant: TenantId,
    pub subject: Subject,
    /// SES's id of the message, as `SendEmail` answered it.
    pub message_id: String,
    /// When SES accepted the message (`mail.timestamp`), in the stored format
    /// (`timefmt::format`, so two of them order as strings): a later send's events win over an
    /// earlier one's.
    pub sent_at: String,
    pub outcome: Outcome,
}

/// Why an event changes nothing: not from SES, a type the directory does not record, not sent
/// by this product (no or bad tags), or malformed. Logged, never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored(pub &'static str);

/// Reads one EventBridge event as SES publishes it.
pub fn parse(event: &Value) -> Result<MailEvent, Ignored> {
    if event.get("source").and_then(Value::as_str) != Some("aws.ses") {
        return Err(Ignored("not from SES"));
    }
    let detail = event.get("detail").ok_or(Ignored("no detail"))?;
    let mail = detail.get("mail").ok_or(Ignored("no mail"))?;
    let tag =
        |name: &str| -> Option<&str> { mail.get("tags")?.get(name)?.as_array()?.first()?.as_str() };
    let kind = tag(TAG_KIND)
        .and_then(MailKind::parse)
        .ok_or(Ignored("not one of our emails (no kind tag)"))?;
    let tenant = tag(TAG_TENANT)
        .and_then(TenantId::parse)
        .ok_or(Ignored("no tenant tag"))?;
    let raw_subject = tag(TAG_SUBJECT).ok_or(Ignored("no subject tag"))?;
    let subject = match kind {
        MailKind::Invite => InviteId::parse(raw_subject).map(Subject::Invite),
        MailKind::PasswordReset | MailKind::TwoStepReset => {
            UserId::parse(raw_subject).map(Subject::User)
        }
    }
    .ok_or(Ignored("a subject tag that is not an id"))?;
    let message_id = mail
        .get("messageId")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty() && m.len() <= 200)
        .ok_or(Ignored("no message id"))?
        .to_string();
    // Stored in the one format every stored time has, so that times compare as text.
    let sent_at = mail
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(super::timefmt::parse)
        .map(super::timefmt::format)
        .ok_or(Ignored("no send time"))?;
    let outcome = match detail.get("eventType").and_then(Value::as_str) {
        Some("Delivery") => Outcome::Delivered,
        Some("Bounce") => Outcome::Bounced(bounce_reason(detail.get("bounce"))),
        Some("Complaint") => Outcome::Complained(
            "The recipient marked it as spam; no more email goes to this address.".into(),
        ),
        Some("Reject") => {
            Outcome::Rejected("Not sent: the email service found something harmful in it.".into())
        }
        _ => return Err(Ignored("an event type the directory does not record")),
    };
    Ok(MailEvent {
        kind,
        tenant,
        subject,
        message_id,
        sent_at,
        outcome,
    })
}

/// SES's bounce type and subtype, and the first recipient's enhanced status code where it
/// says more, as one sentence. Unknown values fall to the type's general sentence.
fn bounce_reason(bounce: Option<&Value>) -> String {
    let field = |k: &str| bounce.and_then(|b| b.get(k)).and_then(Value::as_str);
    let status = bounce
        .and_then(|b| b.get("bouncedRecipients"))
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .filter(|s| {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        });
    let by_status = match status {
        Some("5.1.1") => Some("The mailbox does not exist."),
        Some("5.1.2" | "5.1.10") => Some("The address's domain does not receive email."),
        Some("5.2.1") => Some("The mailbox is disabled."),
        Some("5.2.2" | "4.2.2") => Some("The mailbox is full."),
        _ => None,
    };
    let sentence = match (field("bounceType"), field("bounceSubType")) {
        (_, Some("Suppressed" | "OnAccountSuppressionList")) => {
            "Not sent: this address is on the suppression list (an earlier email to it bounced or was marked as spam)."
        }
        (Some("Permanent"), Some("NoEmail")) => "The mailbox does not exist.",
        (Some("Permanent"), _) => by_status.unwrap_or("The receiving server refused it for good."),
        (Some("Transient"), Some("MailboxFull")) => "The mailbox is full.",
        (Some("Transient"), Some("MessageTooLarge")) => "The receiving server found it too large.",
        (Some("Transient"), Some("ContentRejected" | "AttachmentRejected")) => {
            "The receiving server refused its content."
        }
        (Some("Transient"), _) => by_status
            .unwrap_or("The receiving server kept refusing it; the email service stopped trying."),
        _ => "The receiving server refused it for a reason it did not say.",
    };
    match status {
        Some(code) => format!("{sentence} ({code})"),
        None => sentence.to_string(),
    }
}

/// What SES publishes for a message: the shape `parse` reads. The local run's mailbox
/// simulator builds its events with it, so both sides of the contract are the one document.
pub fn ses_event(
    detail_type: &str,
    event_type: &str,
    mail: Value,
    body_key: &str,
    body: Value,
) -> Value {
    let mut detail = serde_json::Map::new();
    detail.insert("eventType".into(), Value::String(event_type.into()));
    detail.insert("mail".into(), mail);
    detail.insert(body_key.into(), body);
    serde_json::json!({
        "version": "0",
        "id": super::ids::new_id(),
        "detail-type": detail_type,
        "source": "aws.ses",
        "detail": detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mail(tags: Value) -> Value {
        json!({
            "timestamp": "2026-12-06T10:00:00.123Z",
            "source": "Demo Admin via VeloConnect <no-reply@veloconnect.io>",
            "messageId": "0102018f-abc",
            "destination": ["bounce@simulator.amazonses.com"],
            "tags": tags,
        })
    }

    fn ours() -> Value {
        json!({
            "ses:configuration-set": ["veloconnect-dev"],
            "vc-kind": ["invite"],
            "vc-tenant": ["t1"],
            "vc-subject": ["i1"],
        })
    }

    fn delivered(tags: Value) -> Value {
        ses_event(
            "Email Delivered",
            "Delivery",
            mail(tags),
            "delivery",
            json!({}),
        )
    }

    fn bounce(kind: &str, sub: &str, status: &str) -> Value {
        ses_event(
            "Email Bounced",
            "Bounce",
            mail(ours()),
            "bounce",
            json!({"bounceType": kind, "bounceSubType": sub, "bouncedRecipients": [
                {"emailAddress": "bounce@simulator.amazonses.com", "status": status,
                 "diagnosticCode": "smtp; 550 <script>alert(1)</script>"}]}),
        )
    }

    #[test]
    fn a_hard_bounce_reads_as_the_mailbox_that_does_not_exist() {
        let e = parse(&bounce("Permanent", "General", "5.1.1")).expect("ours");
        assert_eq!(e.kind, MailKind::Invite);
        assert_eq!(e.subject, Subject::Invite(InviteId::from("i1")));
        assert_eq!(e.tenant, TenantId::from("t1"));
        assert_eq!(e.message_id, "0102018f-abc");
        assert_eq!(e.sent_at, "2026-12-06T10:00:00.123Z");
        assert_eq!(
            e.outcome,
            Outcome::Bounced("The mailbox does not exist. (5.1.1)".into())
        );
    }

    #[test]
    fn the_send_time_is_kept_in_the_stored_format_so_times_compare_as_text() {
        for (given, kept) in [
            ("2026-12-06T10:00:00Z", "2026-12-06T10:00:00.000Z"),
            ("2026-12-06T11:00:00.5+01:00", "2026-12-06T10:00:00.500Z"),
            ("2026-12-06T10:00:00.123Z", "2026-12-06T10:00:00.123Z"),
        ] {
            let mut e = bounce("Permanent", "General", "5.1.1");
            e["detail"]["mail"]["timestamp"] = json!(given);
            assert_eq!(parse(&e).expect("ours").sent_at, kept, "{given}");
        }
    }

    #[test]
    fn the_servers_own_words_never_reach_the_reason() {
        for (t, s, code) in [
            ("Permanent", "General", "5.7.1"),
            ("Permanent", "General", "<b>"),
            ("Transient", "General", "9.9.99999"),
            ("Undetermined", "Undetermined", ""),
        ] {
            let Outcome::Bounced(why) = parse(&bounce(t, s, code)).expect("ours").outcome else {
                panic!("a bounce")
            };
            assert!(!why.contains("script") && !why.contains('<'), "{why}");
        }
        let Outcome::Bounced(why) = parse(&bounce("Permanent", "General", "<b>"))
            .expect("ours")
            .outcome
        else {
            panic!("a bounce")
        };
        assert_eq!(why, "The receiving server refused it for good.");
    }

    #[test]
    fn each_subtype_has_its_sentence() {
        let why = |t: &str, s: &str| match parse(&bounce(t, s, "")).expect("ours").outcome {
            Outcome::Bounced(w) => w,
            o => panic!("{o:?}"),
        };
        assert!(why("Permanent", "OnAccountSuppressionList").contains("suppression list"));
        assert!(why("Permanent", "Suppressed").contains("suppression list"));
        assert_eq!(why("Permanent", "NoEmail"), "The mailbox does not exist.");
        assert_eq!(why("Transient", "MailboxFull"), "The mailbox is full.");
        assert!(why("Transient", "AttachmentRejected").contains("content"));
        assert!(why("Transient", "General").contains("stopped trying"));
    }

    #[test]
    fn complaints_deliveries_and_rejects_are_read() {
        let c = ses_event(
            "Email Complaint Received",
            "Complaint",
            mail(ours()),
            "complaint",
            json!({"complainedRecipients": [{"emailAddress": "x@example.com"}], "complaintFeedbackType": "abuse"}),
        );
        assert!(
            matches!(parse(&c).expect("ours").outcome, Outcome::Complained(w) if w.contains("spam"))
        );
        let d = delivered(ours());
        assert_eq!(parse(&d).expect("ours").outcome, Outcome::Delivered);
        let r = ses_event(
            "Email Rejected",
            "Reject",
            mail(ours()),
            "reject",
            json!({"reason": "Bad content"}),
        );
        assert!(matches!(
            parse(&r).expect("ours").outcome,
            Outcome::Rejected(_)
        ));
        let o = ses_event("Email Opened", "Open", mail(ours()), "open", json!({}));
        assert!(parse(&o).is_err());
    }

    #[test]
    fn an_email_that_is_not_ours_or_malformed_is_ignored() {
        let mut other = ours();
        other["vc-kind"] = json!(["newsletter"]);
        for tags in [
            json!({}),
            other,
            json!({"vc-kind": ["invite"], "vc-tenant": ["t 1"], "vc-subject": ["i1"]}),
            json!({"vc-kind": ["password-reset"], "vc-tenant": ["t1"], "vc-subject": ["a/b"]}),
        ] {
            let e = delivered(tags);
            assert!(parse(&e).is_err(), "{e}");
        }
        let mut e = bounce("Permanent", "General", "5.1.1");
        e["source"] = json!("attacker.example");
        assert_eq!(parse(&e), Err(Ignored("not from SES")));
        for junk in [
            json!(null),
            json!([]),
            json!({"source": "aws.ses"}),
            json!({"source": "aws.ses", "detail": {"mail": 3}}),
        ] {
            assert!(parse(&junk).is_err());
        }
        let mut e = bounce("Permanent", "General", "5.1.1");
        e["detail"]["mail"]["timestamp"] = json!("yesterday");
        assert_eq!(parse(&e), Err(Ignored("no send time")));
    }

    #[test]
    fn a_reset_email_names_its_user() {
        let tags =
            json!({"vc-kind": ["password-reset"], "vc-tenant": ["t1"], "vc-subject": ["u-1"]});
        let e = delivered(tags);
        assert_eq!(
            parse(&e).expect("ours").subject,
            Subject::User(UserId::from("u-1"))
        );
    }
}
