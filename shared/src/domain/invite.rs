use super::audit::Actor;
use super::role::Role;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The guide: "The invite link is good for 7 days", counted from the last send.
pub const INVITE_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InviteStatus {
    pub fn parse(s: &str) -> Option<InviteStatus> {
        match s {
            "pending" => Some(InviteStatus::Pending),
            "accepted" => Some(InviteStatus::Accepted),
            "revoked" => Some(InviteStatus::Revoked),
            "expired" => Some(InviteStatus::Expired),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Revoked => "revoked",
            InviteStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Stored, email not attempted yet (or the function stopped before it could).
    Queued,
    /// SES accepted it.
    Sent,
    /// The receiving server accepted it (SES's delivery event).
    Delivered,
    /// It will not arrive (SES's bounce event); `delivery_detail` says why.
    Bounced,
    /// The recipient marked it as spam (SES's complaint event); SES suppresses the address.
    Complained,
    /// Not sent: SES refused it or no answer came in time; an admin can resend.
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "queued" => Some(DeliveryStatus::Queued),
            "sent" => Some(DeliveryStatus::Sent),
            "delivered" => Some(DeliveryStatus::Delivered),
            "bounced" => Some(DeliveryStatus::Bounced),
            "complained" => Some(DeliveryStatus::Complained),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Bounced => "bounced",
            DeliveryStatus::Complained => "complained",
            DeliveryStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub id: super::InviteId,
    pub tenant_id: super::TenantId,
    pub email: super::Email,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub status: InviteStatus,
    /// argon2id PHC string of the newest token's secret; the secret itself is never stored.
    pub token_hash: String,
    pub expires_at: OffsetDateTime,
    pub invited_by: Actor,
    pub delivery: DeliveryStatus,
    /// Why it was not delivered, in the admin's words (`mail_event`), where SES said.
    pub delivery_detail: Option<String>,
    /// SES's id of the newest email for this invite: only that message's events count.
    pub message_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: OffsetDateTime,
    /// The IANA zone the inviter's console runs in; the email writes the expiry in it.
    pub time_zone: Option<String>,
    /// Made or claimed by directory sync (rule 22); the user it becomes inherits it.
    pub managed: Option<super::user::Managed>,
}

impl Invite {
    /// Pending and not past its expiry by the clock; does not wait for the expiry job.
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.status == InviteStatus::Pending && now < self.expires_at
    }

    /// The status a reader should see: a pending invite past its expiry is expired even if
    /// the scheduled job has not marked it yet.
    pub fn effective_status(&self, now: OffsetDateTime) -> InviteStatus {
        if self.status == InviteStatus::Pending && now >= self.expires_at {
            InviteStatus::Expired
        } else {
            self.status
        }
    }

    /// Rule 1: a pending invite holds its seat until accepted, revoked or expired.
    pub fn holds_seat(&self) -> bool {
        self.status == InviteStatus::Pending
    }

    /// Closed (expired by the job, or revoked): its seat and address were given back, so
    /// opening it again takes them again.
    pub fn gave_seat_back(&self) -> bool {
        matches!(self.status, InviteStatus::Expired | InviteStatus::Revoked)
    }
}

impl Invite {
    /// What accepting makes: the active user with the invite's name, role and team, whose id
    /// is the new sign-in's `sub`, taking the company's chat capacity default of the moment,
    /// and the invite marked accepted.
    pub fn accepted_by(
        &self,
        sub: &super::UserId,
        now: OffsetDateTime,
        max_chats: u32,
    ) -> (super::User, Invite) {
        let user = super::User {
            id: sub.clone(),
            tenant_id: self.tenant_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            team: self.team.clone(),
            status: super::UserStatus::Active,
            created_at: now,
            updated_at: now,
            version: 1,
            signed_out_at: None,
            signed_out_by: None,
            last_active_at: None,
            mfa: false,
            mail: Default::default(),
            max_chats,
            availability: Default::default(),
            // The provider's id for the person stays what it was while they were invited.
            managed: self.managed.clone(),
        };
        let accepted = Invite {
            status: InviteStatus::Accepted,
            ..self.clone()
        };
        (user, accepted)
    }
}

/// Resend storms: one send per invite per minute.
pub const RESEND_MIN_INTERVAL: Duration = Duration::seconds(60);

impl Invite {
    /// Seconds until this invite may be sent again, if it was sent too recently. One closed
    /// before any email went (directory sync made the person inactive) was never sent.
    pub fn resend_wait(&self, now: OffsetDateTime) -> Option<u64> {
        let never_sent = self.status == InviteStatus::Revoked
            && self.delivery == DeliveryStatus::Queued
            && self.message_id.is_none();
        if never_sent {
            return None;
        }
        let next = self.sent_at + RESEND_MIN_INTERVAL;
        (now < next).then(|| (next - now).whole_seconds().max(1) as u64)
    }
}

/// A new pending invite for a validated row, and its token. The token's hash is left empty:
/// hashing is CPU-heavy, so the caller does it off the async runtime (see `usecase::invites`).
pub fn new_invite(
    row: &super::validation::InviteInput,
    tenant_id: &super::TenantId,
    inviter: &Actor,
    now: OffsetDateTime,
) -> (Invite, super::InviteToken) {
    let id = super::InviteId::generate();
    let id_text = id.to_string();
    let token = super::InviteToken::generate(&id);
    let invite = Invite {
        id,
        tenant_id: tenant_id.clone(),
        email: row.email.clone(),
        name: row.name.clone(),
        role: row.role,
        team: row.team.clone(),
        status: InviteStatus::Pending,
        token_hash: String::new(),
        expires_at: now + INVITE_TTL,
        invited_by: inviter.clone(),
        delivery: DeliveryStatus::Queued,
        delivery_detail: None,
        message_id: None,
        created_at: now,
        sent_at: now,
        time_zone: row.time_zone.clone(),
        managed: row.managed.clone().map(|m| super::user::Managed {
            scim_id: id_text.clone(),
            ..m
        }),
    };
    (invite, token)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn invite(now: OffsetDateTime) -> Invite {
        Invite {
            id: "i1".into(),
            tenant_id: "t1".into(),
            email: crate::domain::Email::parse("jane@example.com").unwrap(),
            name: "Jane".into(),
            role: Role::Agent,
            team: None,
            status: InviteStatus::Pending,
            token_hash: String::new(),
            expires_at: now + INVITE_TTL,
            invited_by: Actor::system(),
            delivery: DeliveryStatus::Sent,
            delivery_detail: None,
            message_id: None,
            created_at: now,
            sent_at: now,
            time_zone: None,
            managed: None,
        }
    }

    #[test]
    fn an_invite_is_open_for_exactly_seven_days() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let inv = invite(now);
        assert!(inv.is_open(now + Duration::days(7) - Duration::seconds(1)));
        assert!(!inv.is_open(now + Duration::days(7)));
        assert_eq!(
            inv.effective_status(now + Duration::days(8)),
            InviteStatus::Expired
        );
        assert_eq!(inv.effective_status(now), InviteStatus::Pending);
    }

    #[test]
    fn a_resend_waits_a_minute_after_the_last_send() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let inv = invite(now);
        assert_eq!(inv.resend_wait(now + Duration::seconds(15)), Some(45));
        assert_eq!(
            inv.resend_wait(now + Duration::milliseconds(59_500)),
            Some(1)
        );
        assert_eq!(inv.resend_wait(now + Duration::seconds(60)), None);
    }

    #[test]
    fn accepted_revoked_and_expired_invites_are_closed_and_free_their_seat() {
        let now = OffsetDateTime::UNIX_EPOCH;
        for st in [
            InviteStatus::Accepted,
            InviteStatus::Revoked,
            InviteStatus::Expired,
        ] {
            let mut inv = invite(now);
            inv.status = st;
            assert!(!inv.is_open(now));
            assert!(!inv.holds_seat());
        }
        assert!(invite(now).holds_seat());
    }
}
