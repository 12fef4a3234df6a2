//! `change-role`: `PUT /users/{id}/role {role, team?, version?}`. Takes effect on the user's
//! next request (every request reads the current record), no sign-out needed.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::domain::manage::{require_admin, target};
use shared::domain::validation::{object, role, team};
use shared::domain::views::answers;
use shared::domain::{ApiError, Clock, FieldError};
use shared::http::{
    answer, body_json, change_by, load_caller_and_user, respond_once, route_key, KeyScope,
};
use shared::store::Store;
use shared::usecase::users::{self, RoleEdit, Users};
use std::sync::Arc;

pub const ROUTES: &[&str] = &["PUT /users/{id}/role"];

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub pricing_url: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond_once(&req, &deps.store, KeyScope::Caller, async {
        match route_key(&req) {
            Some("PUT /users/{id}/role") => change(deps, &req).await,
            _ => Err(ApiError::NoRoute),
        }
    })
    .await
}

fn parse(body: &Value) -> Result<RoleEdit, ApiError> {
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
        (Some(role), Some(team), true) => Ok(RoleEdit {
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
    let edit = parse(&body_json(req)?)?;
    let before = target(&caller, found)?;
    let users = Users {
        store: &deps.store,
        pricing_url: &deps.pricing_url,
    };
    let change = change_by(req, &caller, deps.clock.now());
    let after = users::change_role(&users, &change, before, edit).await?;
    Ok(answer(&answers::user(&after)))
}
