//! Invites: create (one or a batch, all or nothing), resend, revoke; and the steps they share
//! with the tenant tool, hashing new tokens off the async runtime and sending the emails with
//! their delivery status recorded. Seats (rule 1) and one address per person (rule 2) are the
//! commit's conditions; a refusal comes back as the rule, worded here.

use crate::domain::email_template::{render_invite, InviteMail, Inviter};
use crate::domain::invite::new_invite;
use crate::domain::token::HashMemory;
use crate::domain::validation::InviteInput;
use crate::domain::views::answers;
use crate::domain::{
    ApiError, AuditAction, AuditEntry, Change, DeliveryStatus, Email, FieldError, Invite, InviteId,
    InviteStatus, InviteToken, Tenant, User, INVITE_TTL,
};
use crate::mail::{About, MailKind, Mailer};
use crate::store::{Closing, Refusal, Sent, Store, WriteError};
use tokio::time::Instant;

/// What inviting needs: the store, the mailer, where links point and the pricing page a seat
/// refusal links to.
pub struct Invites<'a> {
    pub store: &'a Store,
    pub mailer: &'a Mailer,
    pub app_url: &'a str,
    pub pricing_url: &'a str,
}

/// What the functions that send invites (invite, tenant-admin) hold for their lifetime; each
/// request borrows `Invites` from it.
pub struct InviteDeps {
    pub store: Store,
    pub mailer: Mailer,
    pub clock: std::sync::Arc<dyn crate::domain::Clock>,
    /// The console's address, which invite links open.
    pub app_url: String,
    pub pricing_url: String,
}

impl InviteDeps {
    /// As deployed: the SDK configuration, tables, sender and URLs from Lambda's environment,
    /// and the system clock.
    pub fn from_env() -> Result<InviteDeps, crate::config::ConfigError> {
        let cfg = crate::config::aws()?;
        Ok(InviteDeps {
            store: Store::from_env(&cfg)?,
            mailer: Mailer::from_env(&cfg)?,
            clock: std::sync::Arc::new(crate::domain::SystemClock),
            app_url: crate::config::env("APP_URL")?,
            pricing_url: crate::config::env("PRICING_URL")?,
        })
    }

    pub fn invites(&self) -> Invites<'_> {
        Invites {
            store: &self.store,
            mailer: &self.mailer,
            app_url: &self.app_url,
            pricing_url: &self.pricing_url,
        }
    }
}

/// Who sends invites: their company, and the person the email names as inviting (none when
/// directory sync invites: the email then names only the company).
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    pub tenant: &'a crate::domain::TenantId,
    pub inviter: Option<Inviter<'a>>,
}

impl<'a> Sender<'a> {
    /// An admin inviting from the console.
    pub fn user(u: &'a User) -> Sender<'a> {
        Sender {
            tenant: &u.tenant_id,
            inviter: Some(Inviter {
                name: &u.name,
                email: &u.email,
            }),
        }
    }
}

impl Invites<'_> {
    async fn tenant_of(&self, by: &Sender<'_>) -> Result<Tenant, ApiError> {
        self.store
            .tenant(by.tenant)
            .await?
            .ok_or(ApiError::Unauthorized)
    }

    /// Rule 1 in words: enough free seats for `n`, or the seat problem with the pricing link.
    fn seats_for(&self, tenant: &Tenant, n: u32) -> Result<(), ApiError> {
        tenant
            .reserve(n)
            .map_err(|s| s.into_error(self.pricing_url))
    }

    /// After the commit found no seat: someone else took seats (or changed the tier) since
    /// our read, so the answer uses the numbers as they are now; if they now fit, `conflict`.
    async fn seats_gone(&self, tenant: &Tenant, n: u32, conflict: &str) -> ApiError {
        let fresh = match self.store.tenant(&tenant.id).await {
            Ok(Some(t)) => t,
            Ok(None) => tenant.clone(),
            Err(e) => return e.into(),
        };
        match self.seats_for(&fresh, n) {
            Err(e) => e,
            Ok(()) => ApiError::Conflict(conflict.into()),
        }
    }

    /// Emails `invites` from the sender (see `send_invites`).
    async fn send(
        &self,
        tenant: &Tenant,
        by: &Sender<'_>,
        invites: &mut [Invite],
        tokens: &[InviteToken],
        deadline: Instant,
    ) {
        send_invites(self, tenant, by.inviter, invites, tokens, deadline).await;
    }
}

/// New invites for validated rows, all or nothing: stored with their audit entries in one
/// transaction, then emailed (each invite's `delivery` says how its send went). `batch`
/// says how to name a taken address (`invites/N/email` or `email`).
pub async fn create(
    iv: &Invites<'_>,
    by: &Sender<'_>,
    change: &Change,
    rows: &[InviteInput],
    batch: bool,
    deadline: Instant,
) -> Result<Vec<Invite>, ApiError> {
    let tenant = iv.tenant_of(by).await?;
    iv.seats_for(&tenant, rows.len() as u32)?;
    let (mut invites, tokens): (Vec<_>, Vec<_>) = rows
        .iter()
        .map(|r| new_invite(r, &tenant.id, &change.actor, change.at))
        .unzip();
    hash_tokens(&mut invites, &tokens).await?;
    let audit: Vec<AuditEntry> = invites
        .iter()
        .map(|i| change.on_invite(AuditAction::InviteCreated, None, i))
        .collect();
    crate::journal::will_answer(answers::invites(&invites, batch, change.at));
    match iv.store.create_invites(&tenant, &invites, &audit).await {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(rows))) => {
            let at = |i: &usize| {
                if batch {
                    format!("invites/{i}/email")
                } else {
                    "email".into()
                }
            };
            return Err(ApiError::EmailTaken(
                rows.iter()
                    .map(|i| {
                        FieldError::new(at(i), "already belongs to a user or a pending invite")
                    })
                    .collect(),
            ));
        }
        Err(WriteError::Refused(Refusal::NoSeat)) => {
            let n = invites.len() as u32;
            let conflict = "The seat count changed while inviting; try again.";
            return Err(iv.seats_gone(&tenant, n, conflict).await);
        }
        Err(WriteError::Refused(_)) => {
            return Err(ApiError::Conflict(
                "The invite could not be stored; try again.".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    iv.send(&tenant, by, &mut invites, &tokens, deadline).await;
    Ok(invites)
}

/// Resend: rotates the token (the old link stops working), restarts the 7 days, sends again.
/// Works on an expired invite too if a seat is free; at most once a minute per invite.
pub async fn resend(
    iv: &Invites<'_>,
    by: &Sender<'_>,
    change: &Change,
    before: Invite,
    deadline: Instant,
) -> Result<Invite, ApiError> {
    if matches!(
        before.status,
        InviteStatus::Accepted | InviteStatus::Revoked
    ) {
        return Err(ApiError::InviteNotPending(before.status.as_str()));
    }
    reopen(iv, by, change, before, deadline).await
}

/// Directory sync's `active: true` for a person it invited and then deactivated (rule 22):
/// a revoked invite opens again as a resend does, taking a seat and its address again.
pub async fn reinvite(
    iv: &Invites<'_>,
    by: &Sender<'_>,
    change: &Change,
    before: Invite,
    deadline: Instant,
) -> Result<Invite, ApiError> {
    if before.status == InviteStatus::Accepted {
        return Err(ApiError::InviteNotPending(before.status.as_str()));
    }
    reopen(iv, by, change, before, deadline).await
}

async fn reopen(
    iv: &Invites<'_>,
    by: &Sender<'_>,
    change: &Change,
    before: Invite,
    deadline: Instant,
) -> Result<Invite, ApiError> {
    let now = change.at;
    if let Some(wait) = before.resend_wait(now) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let tenant = iv.tenant_of(by).await?;
    if before.gave_seat_back() {
        // The job (or a revoke) gave its seat back; it needs one again.
        iv.seats_for(&tenant, 1)?;
    }
    let tokens = vec![InviteToken::generate(&before.id)];
    let mut sent = vec![Invite {
        status: InviteStatus::Pending,
        expires_at: now + INVITE_TTL,
        sent_at: now,
        delivery: DeliveryStatus::Queued,
        delivery_detail: None,
        message_id: None,
        ..before.clone()
    }];
    hash_tokens(&mut sent, &tokens).await?;
    let entry = change.on_invite(AuditAction::InviteResent, Some(&before), &sent[0]);
    crate::journal::will_answer(answers::invite(&sent[0], now));
    match iv
        .store
        .reopen_invite(&before, &sent[0], &tenant, &entry)
        .await
    {
        Ok(()) => {}
        Err(WriteError::Refused(Refusal::EmailTaken(_))) => {
            return Err(ApiError::EmailTaken(vec![FieldError::new(
                "email",
                "was invited or joined elsewhere since this invite expired",
            )]))
        }
        Err(WriteError::Refused(Refusal::NoSeat)) => {
            return Err(iv
                .seats_gone(&tenant, 1, "The seat count changed; try again.")
                .await)
        }
        Err(WriteError::Refused(_)) => return Err(ApiError::Conflict(
            "The invite changed while resending (accepted, revoked, expired or resent); reload it."
                .into(),
        )),
        Err(e) => return Err(e.into()),
    }
    iv.send(&tenant, by, &mut sent, &tokens, deadline).await;
    Ok(sent.remove(0))
}

/// Revoke: the link stops working at once; the seat and the email are free again.
pub async fn revoke(store: &Store, change: &Change, before: Invite) -> Result<Invite, ApiError> {
    if before.status != InviteStatus::Pending {
        return Err(ApiError::InviteNotPending(before.status.as_str()));
    }
    let after = Invite {
        status: InviteStatus::Revoked,
        token_hash: String::new(),
        ..before.clone()
    };
    let entry = change.on_invite(AuditAction::InviteRevoked, Some(&before), &after);
    crate::journal::will_answer(answers::invite(&after, change.at));
    match store
        .close_invite(&before, &after, Closing::Revoke, &entry)
        .await
    {
        Ok(()) => Ok(after),
        Err(WriteError::Refused(_)) => {
            let current = store.invite(&before.id).await?.map(|i| i.status);
            match current {
                Some(InviteStatus::Pending) => Err(ApiError::Conflict(
                    "The invite was resent meanwhile; reload it.".into(),
                )),
                Some(other) => Err(ApiError::InviteNotPending(other.as_str())),
                None => Err(ApiError::InviteNotPending("gone")),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Hashes the tokens on one blocking worker per core, each taking every k-th token: a 25-row
/// batch costs 25 / cores hashes of wall time, and memory holds one hash's working set per
/// core, allocated once, never 25 at once.
pub async fn hash_tokens(invites: &mut [Invite], tokens: &[InviteToken]) -> Result<(), ApiError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, tokens.len().max(1));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let mine: Vec<(usize, InviteToken)> = tokens
                .iter()
                .cloned()
                .enumerate()
                .skip(w)
                .step_by(workers)
                .collect();
            tokio::task::spawn_blocking(move || {
                let mut memory = HashMemory::new();
                mine.into_iter()
                    .map(|(i, t)| (i, t.hash_in(&mut memory)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        // Before any write: a hashing thread that died changed nothing.
        let hashed = h
            .await
            .map_err(|e| ApiError::Unavailable(crate::domain::Cause::new(e)))?;
        for (i, hash) in hashed {
            invites[i].token_hash = hash;
        }
    }
    Ok(())
}

pub fn accept_link(app_url: &str, token: &InviteToken) -> String {
    format!(
        "{}/accept#token={}",
        app_url.trim_end_matches('/'),
        token.expose()
    )
}

/// A send that SES refused, or that found no answer or no turn before the deadline, as the
/// admin reads it: the code does not know which it was for SES, only that it was not accepted.
const NOT_SENT: &str = "The email service did not accept it. Resend to try again.";

/// Time kept back from the request's deadline to record the delivery outcomes after the
/// sends (one DynamoDB write, normally milliseconds; its attempt timeout is 3 s).
pub const RECORD_RESERVE: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends one email per invite (paced to the SES rate, see `Mailer::send_all`) until
/// `deadline` less `RECORD_RESERVE`, then records every delivery status at once. A failed or
/// unsent email keeps its invite, marked `failed`, so an admin can resend it. `inviter` is the
/// person sending (From's display name and Reply-To); `None` for the tenant tool.
pub async fn send_invites(
    iv: &Invites<'_>,
    tenant: &Tenant,
    inviter: Option<Inviter<'_>>,
    invites: &mut [Invite],
    tokens: &[InviteToken],
    deadline: Instant,
) {
    let rendered: Vec<_> = invites
        .iter()
        .zip(tokens)
        .map(|(inv, token)| {
            let link = accept_link(iv.app_url, token);
            render_invite(&InviteMail {
                company: &tenant.name,
                inviter,
                invitee: &inv.name,
                role: inv.role,
                team: inv.team.as_deref(),
                sent_at: inv.sent_at,
                expires_at: inv.expires_at,
                time_zone: inv.time_zone.as_deref(),
                // A resend moves `sent_at` and keeps `created_at`.
                resent: inv.sent_at > inv.created_at,
                link: &link,
            })
        })
        .collect();
    // Every recipient is an `Email` parsed when the invite was made: nothing that could break
    // the envelope reaches SES.
    let abouts: Vec<About> = invites
        .iter()
        .map(|i| About {
            kind: MailKind::Invite,
            tenant: i.tenant_id.clone(),
            subject: i.id.to_string(),
        })
        .collect();
    let messages: Vec<(&Email, &_, &About)> = invites
        .iter()
        .zip(&rendered)
        .zip(&abouts)
        .map(|((i, r), a)| (&i.email, r, a))
        .collect();
    let sent = iv
        .mailer
        .send_all(
            &messages,
            deadline.checked_sub(RECORD_RESERVE).unwrap_or(deadline),
        )
        .await;
    let statuses: Vec<Sent> = invites
        .iter()
        .zip(sent)
        .map(|(inv, sent)| match sent {
            Ok(message_id) => Sent::Accepted(message_id),
            Err(e) => {
                tracing::warn!(invite = %inv.id, error = %crate::domain::Chain(&e), "invite email failed");
                Sent::Failed(NOT_SENT)
            }
        })
        .collect();
    let outcomes: Vec<(&InviteId, &Sent)> = invites.iter().map(|i| &i.id).zip(&statuses).collect();
    if let Err(e) = iv.store.set_delivery(&outcomes).await {
        // The invites stand and the answer still says how each send went; only the stored
        // status lags (an admin sees "queued" and can resend).
        tracing::warn!(error = %crate::domain::Chain(&e), "delivery status not recorded");
    }
    for (inv, st) in invites.iter_mut().zip(statuses) {
        (inv.delivery, inv.delivery_detail, inv.message_id) = match st {
            Sent::Accepted(id) => (DeliveryStatus::Sent, None, Some(id)),
            Sent::Failed(why) => (DeliveryStatus::Failed, Some(why.to_string()), None),
        };
    }
}
