//! Steps that more than one function runs with the same adapters: hashing new invite tokens
//! and sending invite emails with their delivery status recorded.

use crate::domain::email_template::{render_invite, InviteMail, Inviter};
use crate::domain::token::HashMemory;
use crate::domain::{DeliveryStatus, Email, Invite, InviteToken, Tenant};
use crate::mail::Mailer;
use crate::store::Store;

/// Hashes the tokens on one blocking worker per core, each taking every k-th token: a 25-row
/// batch costs 25 / cores hashes of wall time, and memory holds one hash's working set per
/// core, allocated once, never 25 at once.
pub async fn hash_tokens(invites: &mut [Invite], tokens: &[InviteToken]) {
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
        for (i, hash) in h.await.expect("hashing does not panic") {
            invites[i].token_hash = hash;
        }
    }
}

pub fn accept_link(app_url: &str, token: &InviteToken) -> String {
    format!(
        "{}/accept#token={}",
        app_url.trim_end_matches('/'),
        token.expose()
    )
}

/// Time kept back from the request's deadline to record the delivery outcomes after the
/// sends (one DynamoDB write, normally milliseconds; its attempt timeout is 3 s).
pub const RECORD_RESERVE: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends one email per invite (paced to the SES rate, see `Mailer::send_all`) until
/// `deadline` less `RECORD_RESERVE`, then records every delivery status at once. A failed or
/// unsent email keeps its invite, marked `failed`, so an admin can resend it. `inviter` is the
/// person sending (From's display name and Reply-To); `None` for the tenant tool.
#[allow(clippy::too_many_arguments)]
pub async fn send_invites(
    store: &Store,
    mailer: &Mailer,
    app_url: &str,
    tenant: &Tenant,
    inviter: Option<Inviter<'_>>,
    invites: &mut [Invite],
    tokens: &[InviteToken],
    deadline: tokio::time::Instant,
) {
    let rendered: Vec<_> = invites
        .iter()
        .zip(tokens)
        .map(|(inv, token)| {
            let link = accept_link(app_url, token);
            let mail = render_invite(&InviteMail {
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
            });
            (Email::parse(&inv.email), mail)
        })
        .collect();
    let sendable: Vec<(&Email, &_)> = rendered
        .iter()
        .filter_map(|(to, m)| to.as_ref().ok().map(|to| (to, m)))
        .collect();
    let mut sent = mailer
        .send_all(
            &sendable,
            deadline.checked_sub(RECORD_RESERVE).unwrap_or(deadline),
        )
        .await
        .into_iter();
    let statuses: Vec<DeliveryStatus> = invites
        .iter()
        .zip(&rendered)
        .map(|(inv, (to, _))| match to {
            Err(_) => DeliveryStatus::Failed,
            Ok(_) => match sent.next().expect("one result per sendable message") {
                Ok(_) => DeliveryStatus::Sent,
                Err(e) => {
                    tracing::warn!(invite = %inv.id, error = %e, "invite email failed");
                    DeliveryStatus::Failed
                }
            },
        })
        .collect();
    let outcomes: Vec<(&str, DeliveryStatus)> = invites
        .iter()
        .map(|i| i.id.as_str())
        .zip(statuses.iter().copied())
        .collect();
    if let Err(e) = store.set_delivery(&outcomes).await {
        // The invites stand and the answer still says how each send went; only the stored
        // status lags (an admin sees "queued" and can resend).
        tracing::warn!(error = %e, "delivery status not recorded");
    }
    for (inv, st) in invites.iter_mut().zip(statuses) {
        inv.delivery = st;
    }
}
