//! `audit`: `GET /audit` for admins: newest first, cursor pagination, filters by action, actor,
//! target and time range.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Verifier;
use shared::domain::ids::looks_like_id;
use shared::domain::{timefmt, ApiError, AuditAction, FieldError};
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{json, load_caller, page_limit, query, respond_within, route_key};
use shared::identity::Directory;
use shared::store::{AuditFilter, Store};

pub struct Deps {
    pub store: Store,
    /// Only for the admin gate's two-step check (`http::require_admin`).
    pub directory: Directory,
    /// The export's audit entry and its file's date.
    pub clock: std::sync::Arc<dyn shared::domain::Clock>,
}

impl Deps {
    /// As deployed: the SDK configuration, tables and pool from Lambda's environment.
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        let cfg = shared::config::aws()?;
        Ok(Deps {
            store: Store::from_env(&cfg)?,
            directory: Directory::from_env(&cfg)?,
            clock: std::sync::Arc::new(shared::domain::SystemClock),
        })
    }
}

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_within(&req, async {
        match route_key(&req) {
            Some("GET /audit") => list(deps, &req).await,
            Some("GET /audit/export") => Box::pin(export(deps, &req)).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

fn filter(req: &Request, errs: &mut Vec<FieldError>) -> AuditFilter {
    let mut f = AuditFilter::default();
    if let Some(a) = query(req, "action") {
        match AuditAction::parse(a.trim()) {
            Some(a) => f.action = Some(a),
            None => errs.push(FieldError::new(
                "query.action",
                "must be an audit action such as invite.created or user.roleChanged",
            )),
        }
    }
    for (key, slot) in [("actor", &mut f.actor), ("target", &mut f.target)] {
        if let Some(v) = query(req, key) {
            let v = v.trim().to_string();
            // `system` and `platform` are actors too.
            if looks_like_id(&v) {
                *slot = Some(v);
            } else {
                errs.push(FieldError::new(format!("query.{key}"), "must be an id"));
            }
        }
    }
    for (key, slot) in [("from", &mut f.from), ("to", &mut f.to)] {
        if let Some(v) = query(req, key) {
            match timefmt::parse(v.trim()) {
                Some(t) => *slot = Some(t),
                None => errs.push(FieldError::new(
                    format!("query.{key}"),
                    "must be an RFC 3339 time such as 2026-11-23T05:00:00Z",
                )),
            }
        }
    }
    if let (Some(from), Some(to)) = (f.from, f.to) {
        if from > to {
            errs.push(FieldError::new("query.from", "must not be after query.to"));
        }
    }
    f
}

async fn list(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, "read the audit log").await?;
    let mut errs = Vec::new();
    let f = filter(req, &mut errs);
    let limit = page_limit(req, 50, 500, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    let page = deps
        .store
        .list_audit(
            &caller.tenant_id,
            &f,
            query(req, "cursor").as_deref(),
            limit,
        )
        .await?;
    Ok(json(
        200,
        &json!({ "entries": page.items, "nextCursor": page.cursor }),
    ))
}

/// Entries per part of an export (rule 18): each one response, far under Lambda's 6 MB.
pub const EXPORT_PART: usize = 1000;

/// The audit log with the list's filters (a date range with `from` and `to`) as CSV, newest
/// first, one part per request: the first part carries the header row and is audited before
/// any entry is given out; `Next-Cursor` names where the next part starts.
async fn export(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    use shared::domain::csv::Csv;
    let caller = load_caller(&deps.store, req).await?;
    require_admin(
        &deps.store,
        &deps.directory,
        &caller,
        "export the audit log",
    )
    .await?;
    let mut errs = Vec::new();
    let f = filter(req, &mut errs);
    let limit = page_limit(req, EXPORT_PART, EXPORT_PART, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    let raw = query(req, "cursor");
    let cursor =
        shared::http::export_cursor(&deps.store, req, &caller, AuditAction::AuditExported).await?;
    let page = Box::pin(
        deps.store
            .list_audit(&caller.tenant_id, &f, cursor.as_deref(), limit),
    )
    .await?;
    let header = [
        "at",
        "action",
        "actorId",
        "actorName",
        "actorEmail",
        "targetKind",
        "targetId",
        "targetName",
        "before",
        "after",
        "requestId",
    ];
    let mut csv = Csv::part(&header, cursor.is_none());
    let js = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    for e in &page.items {
        csv.row(&[
            timefmt::format(e.at),
            e.action.as_str().to_string(),
            e.actor.id.clone(),
            e.actor.name.clone().unwrap_or_default(),
            e.actor.email.clone().unwrap_or_default(),
            e.target.kind.clone(),
            e.target.id.clone(),
            e.target.label.clone().unwrap_or_default(),
            js(&e.before),
            js(&e.after),
            e.request_id.clone(),
        ]);
    }
    shared::http::export_part(
        &deps.store,
        req,
        &caller,
        AuditAction::AuditExported,
        "Audit log",
        csv,
        raw.as_deref(),
        page.cursor.as_deref(),
        deps.clock.now(),
    )
    .await
}
