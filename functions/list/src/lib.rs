//! `list`: `GET /me`, `GET /users`, `GET /users/{id}`, `GET /invites`, `GET /tenant`,
//! `GET /tenant/group-mappings`, `GET /teams`. Every read that shows a team reads the company's running team move first
//! (one consistent GetItem) and shows users and invites through it (rule 19).

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Verifier;
use shared::domain::manage::visible;
use shared::domain::team::{show_user, TeamMove};
use shared::domain::user::{Availability, Presence, UserOrder, ONLINE_WINDOW};
use shared::domain::views::{InviteView, MeView, TenantView, UserView};
use shared::domain::{ApiError, FieldError, Role, Scope, User, UserId, UserStatus};
use shared::http::admit;
use shared::http::require_admin;
use shared::http::{json, load_caller, page_limit, path_param, query, respond_within, route_key};
use shared::store::{InviteListFilter, InviteNarrow, UserFilter};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 1000;

pub use shared::usecase::users::UsersDeps as Deps;

/// `verifier` is the container's (its cached keys): `admit` checks the caller's token first.
pub async fn handle(deps: &Deps, verifier: &Verifier, req: Request) -> Response<Body> {
    let req = admit(verifier, req).await;
    respond_within(&req, route(deps, &req)).await
}

async fn route(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let route = route_key(req).ok_or(ApiError::NoRoute)?;
    if !shared::routes::serves("list", route) {
        return Err(ApiError::NoRoute);
    }
    let caller = load_caller(&deps.store, req).await?;
    if route == "GET /tenant" {
        return tenant(deps, &caller).await;
    }
    if route == "GET /tenant/group-mappings" {
        return group_mappings(deps, &caller).await;
    }
    // The wall clock, as the move's settling is judged by it (`team::SETTLE`).
    let now = shared::domain::Clock::now(&shared::domain::SystemClock);
    let moving = deps.store.team_move(&caller.tenant_id, now).await?;
    let moving = moving.as_ref();
    let caller = show_user(moving, caller);
    match route {
        "GET /me" => Ok(json(200, &MeView::from(&caller))),
        "GET /users" => users(deps, req, &caller, moving).await,
        "GET /users/export" => Box::pin(export(deps, req, &caller, moving)).await,
        "GET /users/{id}" => one_user(deps, req, &caller, moving).await,
        "GET /invites" => invites(deps, req, &caller, moving).await,
        _ => teams(deps, &caller, moving).await,
    }
}

/// The company's teams with their counts (rule 19): an admin's, all of them; a supervisor's,
/// their own team. An agent sees no one else, so no teams.
async fn teams(
    deps: &Deps,
    caller: &User,
    moving: Option<&TeamMove>,
) -> Result<Response<Body>, ApiError> {
    match caller.role {
        Role::Agent => return Err(ApiError::Forbidden("see the company's teams")),
        // Pending invites are counted: an admin's, behind the admin gate's two-step check.
        Role::Admin => require_admin(&deps.store, &deps.directory, caller, "see the teams").await?,
        Role::Supervisor => {}
    }
    let (users, invites) = Box::pin(deps.store.team_census(&caller.tenant_id)).await?;
    let mut list = shared::domain::team::count(&users, &invites, moving);
    if caller.role == Role::Supervisor {
        // Their team's members (they are one of them); pending invites are admins' business.
        list.retain(|t| t.name.is_some() && t.name == caller.team);
        for t in &mut list {
            t.invited = 0;
        }
    }
    // A move still running, for the admin who may finish it.
    let running = moving
        .filter(|m| m.done_at.is_none() && caller.role == Role::Admin)
        .map(|m| {
            json!({
                "kind": m.kind,
                "from": m.from,
                "to": m.to,
                "at": shared::domain::timefmt::format(m.at),
                "byName": m.by_name,
            })
        });
    Ok(json(200, &json!({ "teams": list, "moving": running })))
}

fn user_filter(req: &Request, errs: &mut Vec<FieldError>) -> UserFilter {
    let mut f = UserFilter::default();
    if let Some(s) = query(req, "status") {
        for part in s.split(',') {
            match UserStatus::parse(part.trim()) {
                Some(st) if !f.statuses.contains(&st) => f.statuses.push(st),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    "query.status",
                    "must be active, suspended or deleted (comma-separated for several)",
                )),
            }
        }
    }
    let narrow = narrow(req, errs);
    f.role = narrow.role;
    f.team = narrow.team;
    f.search = narrow.search;
    match query(req, "presence").as_deref().map(str::trim) {
        None => {}
        Some(p @ ("online" | "offline")) => {
            // The wall clock, as activity is recorded by it.
            let now = shared::domain::Clock::now(&shared::domain::SystemClock);
            f.presence = Some(Presence {
                online: p == "online",
                since: now - ONLINE_WINDOW,
            });
        }
        Some(_) => errs.push(FieldError::new(
            "query.presence",
            "must be online or offline",
        )),
    }
    if let Some(a) = query(req, "availability") {
        match Availability::parse(a.trim()) {
            Some(a) => f.availability = Some(a),
            None => errs.push(FieldError::new(
                "query.availability",
                "must be available, away or dnd",
            )),
        }
    }
    match query(req, "sort").as_deref().map(str::trim) {
        None | Some("name") => {}
        Some("lastActive") => f.order = UserOrder::LastActive,
        Some(_) => errs.push(FieldError::new("query.sort", "must be name or lastActive")),
    }
    f
}

/// `role`, `team` and `q`: the same narrowing for users and invites, so the Users screen can
/// show both kinds of row under one filter.
fn narrow(req: &Request, errs: &mut Vec<FieldError>) -> InviteNarrow {
    let mut n = InviteNarrow::default();
    if let Some(r) = query(req, "role") {
        match Role::parse(r.trim()) {
            Some(r) => n.role = Some(r),
            None => errs.push(FieldError::new(
                "query.role",
                "must be one of agent, supervisor, admin",
            )),
        }
    }
    if let Some(t) = query(req, "team") {
        match shared::domain::validation::text(&t, 64) {
            Ok(t) => n.team = Some(t),
            Err(m) => errs.push(FieldError::new("query.team", m)),
        }
    }
    if let Some(q) = query(req, "q") {
        match shared::domain::validation::text(&q, 100) {
            Ok(q) => n.search = Some(q.to_lowercase()),
            Err(m) => errs.push(FieldError::new("query.q", m)),
        }
    }
    n
}

async fn users(
    deps: &Deps,
    req: &Request,
    caller: &User,
    moving: Option<&TeamMove>,
) -> Result<Response<Body>, ApiError> {
    let mut errs = Vec::new();
    let filter = user_filter(req, &mut errs);
    let limit = page_limit(req, DEFAULT_PAGE, MAX_PAGE, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    let cursor = query(req, "cursor");
    let scope = caller.scope();
    if let Scope::SelfOnly { .. } = scope {
        // Seeing only oneself needs no query: the caller's own record was just read.
        let users = if filter.matches(caller) && cursor.is_none() {
            vec![UserView::from(caller)]
        } else {
            vec![]
        };
        return Ok(json(200, &json!({ "users": users, "nextCursor": null })));
    }
    let page = deps
        .store
        .list_users(
            &caller.tenant_id,
            &scope,
            &filter,
            moving,
            cursor.as_deref(),
            limit,
        )
        .await?;
    // `online` as the list judged it, at one instant for the whole page.
    let since = filter.presence.map_or_else(
        || shared::domain::Clock::now(&shared::domain::SystemClock) - ONLINE_WINDOW,
        |p| p.since,
    );
    let users: Vec<UserView> = page
        .items
        .iter()
        .map(|u| UserView {
            online: u.online_since(since),
            ..UserView::from(&show_user(moving, u.clone()))
        })
        .collect();
    Ok(json(
        200,
        &json!({ "users": users, "nextCursor": page.cursor }),
    ))
}

/// Rows per part of an export: each part one response, far under Lambda's 6 MB, read in a
/// few DynamoDB pages.
pub const EXPORT_PART: usize = 2000;

/// The users the caller can see, with the list's filters, as CSV (rule 18), one part per
/// request: the first part carries the header row and is audited before any row is given out;
/// `Next-Cursor` names where the next part starts.
async fn export(
    deps: &Deps,
    req: &Request,
    caller: &User,
    moving: Option<&TeamMove>,
) -> Result<Response<Body>, ApiError> {
    use shared::domain::csv::Csv;
    let mut errs = Vec::new();
    let mut filter = user_filter(req, &mut errs);
    let limit = page_limit(req, EXPORT_PART, EXPORT_PART, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    // Always by name: an order that moves while the parts are read (last activity) would
    // skip whoever moves ahead of the cursor.
    filter.order = shared::domain::user::UserOrder::Name;
    let raw = query(req, "cursor");
    let action = shared::domain::AuditAction::UsersExported;
    let cursor = shared::http::export_cursor(&deps.store, req, caller, action).await?;
    let scope = caller.scope();
    let page = match scope {
        // Oneself needs no query (as the list).
        Scope::SelfOnly { .. } => shared::store::Page {
            items: [caller.clone()]
                .into_iter()
                .filter(|u| filter.matches(u) && cursor.is_none())
                .collect(),
            cursor: None,
        },
        _ => {
            Box::pin(deps.store.list_users(
                &caller.tenant_id,
                &scope,
                &filter,
                moving,
                cursor.as_deref(),
                limit,
            ))
            .await?
        }
    };
    let now = deps.clock.now();
    // `online` as the filter judged it, when it did.
    let since = filter.presence.map_or_else(
        || shared::domain::Clock::now(&shared::domain::SystemClock) - ONLINE_WINDOW,
        |p| p.since,
    );
    let header = [
        "id",
        "name",
        "email",
        "role",
        "team",
        "status",
        "availability",
        "maxChats",
        "online",
        "lastActiveAt",
        "createdAt",
        "twoStep",
    ];
    let mut csv = Csv::part(&header, cursor.is_none());
    for u in &page.items {
        csv.row(&[
            u.id.to_string(),
            u.name.clone(),
            u.email.to_string(),
            u.role.as_str().to_string(),
            shared::domain::team::shown(moving, u.team.clone()).unwrap_or_default(),
            u.status.as_str().to_string(),
            u.availability.status.as_str().to_string(),
            u.max_chats.to_string(),
            u.online_since(since).to_string(),
            u.last_active_at
                .map(shared::domain::timefmt::format)
                .unwrap_or_default(),
            shared::domain::timefmt::format(u.created_at),
            u.mfa.to_string(),
        ]);
    }
    shared::http::export_part(
        &deps.store,
        req,
        caller,
        action,
        "Users",
        csv,
        raw.as_deref(),
        page.cursor.as_deref(),
        now,
    )
    .await
}

async fn one_user(
    deps: &Deps,
    req: &Request,
    caller: &User,
    moving: Option<&TeamMove>,
) -> Result<Response<Body>, ApiError> {
    let Some(id) = path_param(req, "id").and_then(|id| UserId::parse(&id)) else {
        return Err(ApiError::NotFound("user"));
    };
    if id == caller.id {
        return Ok(json(200, &UserView::from(caller)));
    }
    let found = deps.store.user(&id).await?.map(|u| show_user(moving, u));
    let u = visible(caller, found)?;
    Ok(json(200, &UserView::from(&u)))
}

async fn invites(
    deps: &Deps,
    req: &Request,
    caller: &User,
    moving: Option<&TeamMove>,
) -> Result<Response<Body>, ApiError> {
    require_admin(&deps.store, &deps.directory, caller, "list invites").await?;
    let mut errs = Vec::new();
    let which = match query(req, "status").as_deref().map(str::trim) {
        None | Some("pending") => InviteListFilter::Pending,
        Some("expired") => InviteListFilter::Expired,
        Some("all") => InviteListFilter::All,
        Some(_) => {
            errs.push(FieldError::new(
                "query.status",
                "must be pending, expired or all",
            ));
            InviteListFilter::Pending
        }
    };
    let narrow = narrow(req, &mut errs);
    let limit = page_limit(req, DEFAULT_PAGE, MAX_PAGE, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::Invalid(errs));
    }
    let now = deps.clock.now();
    let page = deps
        .store
        .list_invites(
            &caller.tenant_id,
            which,
            &narrow,
            moving,
            now,
            query(req, "cursor").as_deref(),
            limit,
        )
        .await?;
    let invites: Vec<InviteView> = page
        .items
        .into_iter()
        .map(|mut i| {
            i.team = shared::domain::team::shown(moving, i.team.take());
            InviteView::new(&i, now)
        })
        .collect();
    Ok(json(
        200,
        &json!({ "invites": invites, "nextCursor": page.cursor }),
    ))
}

/// Directory sync's group mappings and the provider's groups (rule 22), for Settings.
async fn group_mappings(deps: &Deps, caller: &User) -> Result<Response<Body>, ApiError> {
    require_admin(
        &deps.store,
        &deps.directory,
        caller,
        "read the directory's group mappings",
    )
    .await?;
    let tenant = &caller.tenant_id;
    let (m, groups) = (
        deps.store.group_mappings(tenant).await?,
        deps.store.groups(tenant).await?,
    );
    Ok(json(
        200,
        &shared::usecase::groups::mappings_view(&m, &groups, None),
    ))
}

async fn tenant(deps: &Deps, caller: &User) -> Result<Response<Body>, ApiError> {
    require_admin(
        &deps.store,
        &deps.directory,
        caller,
        "read the plan and seats",
    )
    .await?;
    let t = deps
        .store
        .tenant(&caller.tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    Ok(json(200, &TenantView::new(&t, &deps.pricing_url)))
}
