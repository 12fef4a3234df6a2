//! `audit`: `GET /audit` for admins: newest first, cursor pagination, filters by action, actor,
//! target and time range. And what reads the company's history from outside: `GET /events`
//! (the published events by sequence, rule 20) for admins and integration tokens, and the
//! tokens themselves (`/integrations`, rule 21).

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Verifier;
use shared::domain::ids::looks_like_id;
use shared::domain::integration::{self, Scope};
use shared::domain::{timefmt, ApiError, AuditAction, Cause, FieldError, User};
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{
    change_by, json, load_caller, page_limit, query, respond_once, respond_within, route_key,
    KeyScope,
};
use shared::identity::Directory;
use shared::store::{AuditFilter, Store};
use shared::usecase::integrations;

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
    if route_key(&req) == Some("DELETE /integrations/{id}") {
        return respond_once(&req, &deps.store, KeyScope::Caller, async {
            Box::pin(revoke_integration(deps, &req)).await
        })
        .await;
    }
    respond_within(&req, async {
        match route_key(&req) {
            Some("GET /audit") => list(deps, &req).await,
            Some("GET /audit/export") => Box::pin(export(deps, &req)).await,
            Some("GET /events") => Box::pin(events(deps, &req)).await,
            Some("GET /integrations") => Box::pin(list_integrations(deps, &req)).await,
            // The answer holds the token's text, which is never kept: no key is honoured (a
            // retry makes another token, which the list shows and an admin can revoke).
            Some("POST /integrations") => Box::pin(create_integration(deps, &req)).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

/// An admin, with the gate's two-step check, for the integration routes.
async fn admin(deps: &Deps, req: &Request, what: &'static str) -> Result<User, ApiError> {
    let caller = load_caller(&deps.store, req).await?;
    require_admin(&deps.store, &deps.directory, &caller, what).await?;
    Ok(caller)
}

/// Most events one page of `GET /events` answers (the log is read 1,000 entries at most).
pub const EVENTS_PAGE: usize = 500;

/// The company's events after `after` (rule 20), for an integration token with `events:read`
/// or an admin. `next` is where to read on from; nothing new is an empty page with the same.
async fn events(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let now = deps.clock.now();
    let tenant = match shared::auth::bearer(req.headers()) {
        Ok(raw) if raw.starts_with(integration::PREFIX) => {
            integrations::authenticate(&deps.store, raw, Scope::EventsRead, now)
                .await?
                .tenant_id
        }
        _ => {
            admin(deps, req, "read the company's events")
                .await?
                .tenant_id
        }
    };
    let mut errs = Vec::new();
    let (after, types) = integrations::events_query(
        query(req, "after").as_deref(),
        query(req, "types").as_deref(),
        &mut errs,
    );
    let limit = page_limit(req, 100, EVENTS_PAGE, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    let (events, next) =
        integrations::events(&deps.store, &tenant, after, &types, limit, now).await?;
    Ok(json(
        200,
        &json!({ "events": events, "next": next.to_string() }),
    ))
}

async fn list_integrations(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(deps, req, "see the company's integrations").await?;
    let list = integrations::of_company(&deps.store, &caller).await?;
    Ok(json(200, &json!({ "integrations": list })))
}

async fn create_integration(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(deps, req, "make integration tokens").await?;
    let body = shared::http::body_json(req)?;
    let change = change_by(req, &caller, deps.clock.now());
    let (made, token) = integrations::create(&deps.store, &caller, &body, &change).await?;
    let mut answer = serde_json::to_value(&made).map_err(|e| ApiError::Internal(Cause::new(e)))?;
    answer["token"] = json!(token);
    Ok(json(201, &answer))
}

async fn revoke_integration(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(deps, req, "revoke integration tokens").await?;
    let id = shared::http::path_param(req, "id").unwrap_or_default();
    let change = change_by(req, &caller, deps.clock.now());
    let view = integrations::revoke(&deps.store, &caller, &id, &change).await?;
    Ok(json(200, &view))
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
