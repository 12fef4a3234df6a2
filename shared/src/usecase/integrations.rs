//! Integration tokens and the Events API (docs/rules.md rules 20 and 21): what an admin makes
//! and revokes, and how a token's request is let in.

use crate::domain::event;
use crate::domain::ids::IntegrationId;
use crate::domain::integration::{
    self, Integration, IntegrationToken, IntegrationView, Maker, Scope,
};
use crate::domain::{ApiError, AuditAction, Change, FieldError, TenantId, User};
use crate::store::{Store, WriteError};
use serde_json::Value;
use time::OffsetDateTime;

/// Makes a token for the caller's company: the answer holds its text, the only time it is
/// shown; the store keeps its argon2id hash.
pub async fn create(
    store: &Store,
    caller: &User,
    body: &Value,
    change: &Change,
) -> Result<(IntegrationView, String), ApiError> {
    let asked = integration::new_integration(body)?;
    let id = IntegrationId::generate();
    let token = IntegrationToken::generate(&id);
    // argon2id (4 MiB, one pass: `domain::token`) off the async workers.
    let hashed = token.clone();
    let token_hash = tokio::task::spawn_blocking(move || hashed.hash())
        .await
        .map_err(|e| ApiError::Internal(crate::domain::Cause::new(e)))?;
    let made = Integration {
        id,
        tenant_id: caller.tenant_id.clone(),
        name: asked.name,
        scopes: asked.scopes,
        token_hash,
        created_at: change.at,
        created_by: Maker::from(&change.actor),
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
    };
    let entry = change.on_integration(AuditAction::IntegrationCreated, None, &made);
    store
        .create_integration(&made, &entry)
        .await
        .map_err(write_error)?;
    Ok((IntegrationView::from(&made), integration::expose(&token)))
}

pub async fn of_company(store: &Store, caller: &User) -> Result<Vec<IntegrationView>, ApiError> {
    Ok(store
        .integrations(&caller.tenant_id)
        .await?
        .iter()
        .map(IntegrationView::from)
        .collect())
}

/// Revokes one of the caller's company's tokens: refused from its next request on. Revoking
/// a revoked token answers it as it is (a retry after a lost answer gets the same).
pub async fn revoke(
    store: &Store,
    caller: &User,
    raw_id: &str,
    change: &Change,
) -> Result<IntegrationView, ApiError> {
    let id = IntegrationId::parse(raw_id).ok_or(ApiError::NotFound("integration"))?;
    let before = store
        .integration(&id)
        .await?
        // Another company's token is as unknown as no token (rule 7).
        .filter(|i| i.tenant_id == caller.tenant_id)
        .ok_or(ApiError::NotFound("integration"))?;
    if before.revoked_at.is_some() {
        return Ok(IntegrationView::from(&before));
    }
    let after = Integration {
        revoked_at: Some(change.at),
        revoked_by: Some(Maker::from(&change.actor)),
        ..before.clone()
    };
    let entry = change.on_integration(AuditAction::IntegrationRevoked, Some(&before), &after);
    crate::journal::will_answer(crate::domain::idempotency::Answer::json(
        200,
        &IntegrationView::from(&after),
    ));
    match store.revoke_integration(&after, &entry).await {
        Ok(()) => Ok(IntegrationView::from(&after)),
        // Revoked meanwhile by another request: answer it as it is now.
        Err(WriteError::Refused(_)) => store
            .integration(&after.id)
            .await?
            .map(|i| IntegrationView::from(&i))
            .ok_or(ApiError::NotFound("integration")),
        Err(e) => Err(write_error(e)),
    }
}

fn write_error(e: WriteError) -> ApiError {
    match e {
        WriteError::Refused(_) => ApiError::Conflict("the integration changed meanwhile".into()),
        other => other.into(),
    }
}

/// A hash no secret matches, made once per container, for ids nobody has.
fn nobodys_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| IntegrationToken::generate(&IntegrationId::generate()).hash())
}

/// Lets in a request that carries an integration token (`vc_…`): one consistent read of its
/// record, its secret checked against the hash, not revoked, and holding `scope`. Anything
/// else is the same 401 `invalid_token` (rule 12: nobody learns which part failed); a good
/// token without the scope is 403. Records the use (at most once per 5 minutes).
pub async fn authenticate(
    store: &Store,
    raw: &str,
    scope: Scope,
    now: OffsetDateTime,
) -> Result<Integration, ApiError> {
    let token = integration::parse(raw).ok_or(ApiError::InvalidToken)?;
    let found = store.integration(token.id()).await?;
    // An id nobody has is checked against a hash too, so the answer takes as long as for a
    // real token with a wrong secret: the time says nothing about which ids exist.
    let hash = found
        .as_ref()
        .map(|f| f.token_hash.clone())
        .unwrap_or_else(|| nobodys_hash().to_string());
    let checked = token.clone();
    let matches = tokio::task::spawn_blocking(move || checked.verify(&hash))
        .await
        .unwrap_or(false);
    let found = match found {
        Some(f) if matches && f.revoked_at.is_none() => f,
        other => {
            if let Some(f) = other {
                tracing::info!(integration = %f.id, "integration token refused");
            }
            return Err(ApiError::InvalidToken);
        }
    };
    if !found.allows(scope) {
        return Err(ApiError::Forbidden(
            "this integration token does not have the scope this route needs",
        ));
    }
    if found.use_is_news(now) {
        store.touch_integration(&found, now).await;
    }
    Ok(found)
}

/// Lets one more request of `token` through this minute, or refuses it with the seconds until
/// the next (rule 22: an identity provider's runaway loop can't take the whole API's rate).
pub async fn throttle(
    store: &Store,
    token: &Integration,
    per_minute: u32,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let secs = now.unix_timestamp();
    let window = secs.div_euclid(60);
    if store.spend_request(token, window, per_minute).await? {
        Ok(())
    } else {
        Err(ApiError::Throttled {
            per_minute,
            retry_after_secs: (60 - secs.rem_euclid(60)).max(1) as u64,
        })
    }
}

/// Most log entries one request reads (a page answers at most these, fewer with `types`).
const SCAN: usize = 1000;

/// A page of the company's events after `after` (`GET /events`).
pub async fn events(
    store: &Store,
    tenant: &TenantId,
    after: u64,
    types: &[AuditAction],
    limit: usize,
    now: OffsetDateTime,
) -> Result<(Vec<Value>, u64), ApiError> {
    let logged = store.event_log(tenant, after, SCAN).await?;
    let log: Vec<(u64, &Value, OffsetDateTime)> = logged
        .iter()
        .map(|l| (l.sequence, &l.event, l.logged_at))
        .collect();
    Ok(event::page(after, &log, types, limit, now))
}

/// `after` and `types` of `GET /events`, each problem named.
pub fn events_query(
    after: Option<&str>,
    types: Option<&str>,
    errs: &mut Vec<FieldError>,
) -> (u64, Vec<AuditAction>) {
    // Digits only: `u64::from_str` would also take "+5".
    let after = match after {
        None | Some("") => 0,
        Some(a) => Some(a)
            .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or_else(|| {
                errs.push(FieldError::new(
                "query.after",
                "must be the `next` of an earlier page, or an event's sequence (a whole number)",
            ));
                0
            }),
    };
    let mut wanted = Vec::new();
    for t in types.unwrap_or_default().split(',').map(str::trim) {
        if t.is_empty() {
            continue;
        }
        match AuditAction::parse(t).filter(|a| a.publishes()) {
            Some(a) => wanted.push(a),
            None => errs.push(FieldError::new(
                "query.types",
                format!("{t} is not an event type (docs/events/README.md lists them)"),
            )),
        }
    }
    (after, wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_digits_and_types_are_published_ones() {
        let read = |after: Option<&str>, types: Option<&str>| {
            let mut errs = Vec::new();
            let out = events_query(after, types, &mut errs);
            (out, errs.into_iter().map(|e| e.field).collect::<Vec<_>>())
        };
        assert_eq!(read(None, None), ((0, vec![]), vec![]));
        assert_eq!(read(Some(""), Some("")), ((0, vec![]), vec![]));
        assert_eq!(read(Some("42"), None).0 .0, 42);
        for bad in ["+5", " 5", "-1", "x", "99999999999999999999999"] {
            assert_eq!(read(Some(bad), None).1, ["query.after"], "{bad}");
        }
        let ((_, types), errs) = read(None, Some("user.deleted, user.suspended,,"));
        assert_eq!(
            types,
            [AuditAction::UserDeleted, AuditAction::UserSuspended]
        );
        assert!(errs.is_empty());
        // An export is audited but never published: not an event type.
        assert_eq!(
            read(None, Some("users.exported,nope")).1,
            ["query.types", "query.types"]
        );
    }
}
