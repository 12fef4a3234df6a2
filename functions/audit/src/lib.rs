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
}

impl Deps {
    /// As deployed: the SDK configuration, tables and pool from Lambda's environment.
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        let cfg = shared::config::aws()?;
        Ok(Deps {
            store: Store::from_env(&cfg)?,
            directory: Directory::from_env(&cfg)?,
        })
    }
}

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_within(&req, async {
        match route_key(&req) {
            Some("GET /audit") => list(deps, &req).await,
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
