//! `change-role`: `PUT /users/{id}/role {role, team?, version?}`. Takes effect on the user's
//! next request (every request reads the current record), no sign-out needed.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::domain::manage::{require_admin, target};
use shared::domain::validation::{object, role, team};
use shared::domain::views::UserView;
use shared::domain::{ApiError, AuditAction, Clock, FieldError, User};
use shared::http::{
    body_json, commit_user_change, json, load_caller_and_user, respond_within, route_key,
    user_audit,
};
use shared::store::Store;
use std::sync::Arc;

pub const ROUTES: &[&str] = &["PUT /users/{id}/role"];

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_within(&req, async {
        match route_key(&req) {
            Some("PUT /users/{id}/role") => change(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

struct Change {
    role: shared::domain::Role,
    /// `None`: keep the team; `Some(None)`: no team.
    team: Option<Option<String>>,
    version: Option<u64>,
}

fn parse(body: &Value) -> Result<Change, ApiError> {
    let mut errs = Vec::new();
    let Some(obj) = object(body, &["role", "team", "version"], "", &mut errs) else {
        return Err(ApiError::Invalid(errs));
    };
    let r = role(obj, "role", "", &mut errs);
    let t = if obj.contains_key("team") {
        team(obj, "team", "", &mut errs).map(Some)
    } else {
        Some(None)
    };
    let version = match obj.get("version") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errs.push(FieldError::new(
                    "version",
                    "must be a whole number (omit it to skip the check)",
                ));
                None
            }
        },
    };
    match (r, t, errs.is_empty()) {
        (Some(role), Some(team), true) => Ok(Change {
            role,
            team,
            version,
        }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

async fn change(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = load_caller_and_user(&deps.store, req).await?;
    require_admin(&caller, "change roles")?;
    let change = parse(&body_json(req)?)?;
    let before = target(&caller, found)?;
    // A client that says which version it edited gets a 409 rather than overwriting a change
    // it never saw; without one, the version just read guards the write.
    if let Some(v) = change.version {
        if v != before.version {
            return Err(ApiError::VersionConflict {
                current: before.version,
            });
        }
    }
    let now = deps.clock.now();
    let after = User {
        role: change.role,
        team: change.team.unwrap_or_else(|| before.team.clone()),
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    if after.role == before.role && after.team == before.team {
        return Ok(json(200, &UserView::from(&before)));
    }
    // Rule 6 (the last admin) is the commit's condition on the tenant's admin count.
    let entry = user_audit(req, &caller, AuditAction::RoleChanged, &before, &after, now);
    commit_user_change(&deps.store, &before, &after, &entry, &deps.pricing_url).await?;
    Ok(json(200, &UserView::from(&after)))
}
