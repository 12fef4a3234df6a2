//! Steps that more than one function runs with the same adapters: hashing new invite tokens
//! and sending invite emails with their delivery status recorded.

use crate::domain::email_template::{render_invite, InviteMail};
use crate::domain::{DeliveryStatus, Email, Invite, InviteToken, Tenant};
use crate::mail::Mailer;
use crate::store::Store;

/// Hashes each token with argon2id on the blocking pool, all at once: on a multi-core Lambda
/// a 25-row batch then costs about one hash of wall time per core, not 25.
pub async fn hash_tokens(invites: &mut [Invite], tokens: &[InviteToken]) {
    let handles: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|t| tokio::task::spawn_blocking(move || t.hash()))
        .collect();
    for (inv, h) in invites.iter_mut().zip(handles) {
        inv.token_hash = h.await.expect("hashing does not panic");
    }
}

pub fn accept_link(app_url: &str, token: &InviteToken) -> String {
    format!(
        "{}/accept#token={}",
        app_url.trim_end_matches('/'),
        token.expose()
    )
}

/// Sends one email per invite (concurrently) and records each delivery status. A failed send
/// keeps the invite, marked `failed`, so an admin can resend it.
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
        let status = match Email::parse(&inv.email) {
            Ok(to) => match mailer.send(&to, &rendered).await {
                Ok(_) => DeliveryStatus::Sent,
                Err(e) => {
                    tracing::warn!(invite = %inv.id, error = %e, "invite email failed");
                    DeliveryStatus::Failed
                }
            },
            Err(_) => DeliveryStatus::Failed,
        };
        let recorded = store.set_delivery(&inv.id, status).await;
        if let Err(e) = recorded {
            tracing::warn!(invite = %inv.id, error = %e, "delivery status not recorded");
        }
        status
    });
    let statuses = futures_util::future::join_all(sends).await;
    for (inv, st) in invites.iter_mut().zip(statuses) {
        inv.delivery = st;
    }
}
