//! Steps that more than one function runs with the same adapters: hashing new invite tokens
//! and sending invite emails with their delivery status recorded.

use crate::domain::email_template::{render_invite, InviteMail};
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

/// Sends one email per invite (concurrently), then records every delivery status at once. A
/// failed send keeps the invite, marked `failed`, so an admin can resend it.
pub async fn send_invites(
    store: &Store,
    mailer: &Mailer,
    app_url: &str,
    tenant: &Tenant,
    inviter_name: &str,
    invites: &mut [Invite],
    tokens: &[InviteToken],
) {
    let sends = invites.iter().zip(tokens).map(|(inv, token)| async move {
        let link = accept_link(app_url, token);
        let rendered = render_invite(&InviteMail {
            company: &tenant.name,
            inviter: inviter_name,
            invitee: &inv.name,
            role: inv.role,
            team: inv.team.as_deref(),
            expires_at: inv.expires_at,
            link: &link,
        });
        match Email::parse(&inv.email) {
            Ok(to) => match mailer.send(&to, &rendered).await {
                Ok(_) => DeliveryStatus::Sent,
                Err(e) => {
                    tracing::warn!(invite = %inv.id, error = %e, "invite email failed");
                    DeliveryStatus::Failed
                }
            },
            Err(_) => DeliveryStatus::Failed,
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
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
