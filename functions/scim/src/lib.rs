//! `scim`: directory sync (docs/rules.md rule 22), SCIM 2.0 (RFC 7643 and 7644) under
//! `/scim/v2` for the company's identity provider, with an integration token holding the
//! `scim` scope. Discovery (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`), `Users` and
//! `Groups`.
//! Every answer is `application/scim+json`; a refusal is a SCIM error document.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::domain::group::{self, Group};
use shared::domain::integration::{self, Scope};
use shared::domain::scim;
use shared::domain::{ApiError, TenantId};
use shared::http::{body_json, deadline, path_param, query, request_id, respond_within, route_key};
use shared::identity::Directory;
use shared::usecase::groups;
use shared::usecase::integrations;
use shared::usecase::invites::InviteDeps;
use shared::usecase::scim::{self as sync, Person, Scim};
use shared::usecase::users::SignIns;

pub struct Deps {
    pub invites: InviteDeps,
    /// Suspend, reactivate and delete stop and start sign-in at the pool.
    pub directory: Directory,
}

impl Deps {
    /// As deployed: `InviteDeps::from_env` and the pool `USER_POOL_ID` names.
    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        Ok(Deps {
            invites: InviteDeps::from_env()?,
            directory: Directory::from_env(&shared::config::aws()?)?,
        })
    }

    fn scim<'a>(&'a self, base: &'a str) -> Scim<'a> {
        let d = &self.invites;
        Scim {
            invites: d.invites(),
            signins: SignIns::new(&d.store, &self.directory, &*d.clock, &d.pricing_url),
            base,
        }
    }
}

/// Where ServiceProviderConfig's `documentationUri` points: how to connect a provider.
pub const DOCS: &str = "https://veloconnect.io/docs/directory-sync";

/// Requests one token may make a minute. The stage's SCIM routes share API Gateway's 100 a
/// second; 10 a second on average for one company's provider leaves the rest for the others,
/// and is far more than a provider's steady sync (Entra ID's cycle is every 40 minutes; a
/// bulk push of hundreds of people fits in a minute or two).
pub const PER_MINUTE: u32 = 600;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    let answer = respond_within(&req, Box::pin(route(deps, &req))).await;
    shared::http::scim_answer(answer)
}

/// The root every `meta.location` starts with, as the provider reached us.
fn base(req: &Request) -> String {
    let h = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let host = h("host").unwrap_or_else(|| "localhost".into());
    let proto = h("x-forwarded-proto").unwrap_or_else(|| {
        if host.starts_with("127.0.0.1") || host.starts_with("localhost") {
            "http".into()
        } else {
            "https".into()
        }
    });
    format!("{proto}://{host}/scim/v2")
}

fn scim_json(status: u16, v: &Value) -> Response<Body> {
    shared::http::json(status, v)
}

/// The company the request's token provisions: an integration token with the `scim` scope.
async fn tenant(
    deps: &Deps,
    req: &Request,
) -> Result<(TenantId, shared::domain::ids::IntegrationId), ApiError> {
    let raw = match shared::auth::bearer(req.headers()) {
        Ok(raw) => raw,
        Err(shared::auth::AuthError::Missing) => return Err(ApiError::Unauthorized),
        Err(_) => return Err(ApiError::InvalidToken),
    };
    if !raw.starts_with(integration::PREFIX) {
        // A person's sign-in is not a provisioning credential.
        return Err(ApiError::InvalidToken);
    }
    let now = deps.invites.clock.now();
    let found = integrations::authenticate(&deps.invites.store, raw, Scope::Scim, now).await?;
    integrations::throttle(&deps.invites.store, &found, PER_MINUTE, now).await?;
    Ok((found.tenant_id, found.id))
}

async fn route(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let Some(key) = route_key(req) else {
        return Err(ApiError::NoRoute);
    };
    let (tenant, token) = tenant(deps, req).await?;
    let base = base(req);
    let now = deps.invites.clock.now();
    let id = || path_param(req, "id").unwrap_or_default();
    match key {
        "GET /scim/v2/ServiceProviderConfig" => {
            Ok(scim_json(200, &scim::service_provider_config(DOCS)))
        }
        "GET /scim/v2/ResourceTypes" => {
            let all = scim::resource_types(&base);
            Ok(scim_json(200, &scim::list(all.len(), 1, all)))
        }
        "GET /scim/v2/ResourceTypes/{id}" => {
            one_of(scim::resource_types(&base), &id(), "resource type")
        }
        "GET /scim/v2/Schemas" => {
            let all = scim::schemas(&base);
            Ok(scim_json(200, &scim::list(all.len(), 1, all)))
        }
        "GET /scim/v2/Schemas/{id}" => one_of(scim::schemas(&base), &id(), "schema"),
        "GET /scim/v2/Users" => {
            let asked = scim::Search {
                filter: query(req, "filter"),
                start_index: query(req, "startIndex"),
                count: query(req, "count"),
                attributes: query(req, "attributes"),
                excluded: query(req, "excludedAttributes"),
            };
            asked.check()?;
            Box::pin(users(deps, &tenant, &asked, &base, now)).await
        }
        // The same list, its query in the body (RFC 7644 3.4.3): a filter too long for a URL.
        "POST /scim/v2/Users/.search" => {
            let asked = scim::search(&body_json(req)?)?;
            Box::pin(users(deps, &tenant, &asked, &base, now)).await
        }
        // Across every resource type: the people, then the groups.
        "POST /scim/v2/.search" => {
            let asked = scim::search(&body_json(req)?)?;
            let paging = scim::paging(asked.start_index.as_deref(), asked.count.as_deref())
                .map_err(scim::invalid_value)?;
            let page = Box::pin(sync::search_all(
                &deps.invites.store,
                &tenant,
                asked.filter.as_deref(),
                paging,
                &base,
                now,
            ))
            .await?;
            Ok(scim_json(200, &projected(page, &asked)))
        }
        "POST /scim/v2/Users" => {
            let body = body_json(req)?;
            let change = sync::change(&token, now, &request_id(req));
            let made = Box::pin(sync::create(
                &deps.scim(&base),
                &tenant,
                &change,
                &body,
                deadline(req),
            ))
            .await?;
            Ok(scim_json(201, &made))
        }
        "GET /scim/v2/Users/{id}" => {
            scim::Search {
                attributes: query(req, "attributes"),
                excluded: query(req, "excludedAttributes"),
                ..Default::default()
            }
            .check()?;
            let p = person(deps, &tenant, &id(), now).await?;
            let mut r = p.resource(&base, now);
            scim::project(
                &mut r,
                query(req, "attributes").as_deref(),
                query(req, "excludedAttributes").as_deref(),
            );
            Ok(scim_json(200, &r))
        }
        "PUT /scim/v2/Users/{id}" | "PATCH /scim/v2/Users/{id}" => {
            let before = person(deps, &tenant, &id(), now).await?;
            let body = body_json(req)?;
            let desired = if key.starts_with("PUT") {
                scim::desired(&body)?
            } else {
                let mut r = before.resource(&base, now);
                scim::apply_patch(&mut r, &body)?;
                scim::desired(&r)?
            };
            let change = sync::change(&token, now, &request_id(req));
            let after = Box::pin(sync::apply(
                &deps.scim(&base),
                &change,
                before,
                desired,
                deadline(req),
            ))
            .await?;
            Ok(scim_json(200, &after.resource(&base, now)))
        }
        "DELETE /scim/v2/Users/{id}" => {
            let before = person(deps, &tenant, &id(), now).await?;
            let change = sync::change(&token, now, &request_id(req));
            Box::pin(sync::delete(&deps.scim(&base), &change, before)).await?;
            Ok(Response::builder()
                .status(204)
                .body(Body::Empty)
                .unwrap_or_default())
        }
        "GET /scim/v2/Groups" => {
            let asked = scim::Search {
                filter: query(req, "filter"),
                start_index: query(req, "startIndex"),
                count: query(req, "count"),
                attributes: query(req, "attributes"),
                excluded: query(req, "excludedAttributes"),
            };
            asked.check()?;
            groups_page(deps, &tenant, &asked, &base).await
        }
        "POST /scim/v2/Groups/.search" => {
            let asked = scim::search(&body_json(req)?)?;
            groups_page(deps, &tenant, &asked, &base).await
        }
        "POST /scim/v2/Groups" => {
            let body = body_json(req)?;
            let change = sync::change(&token, now, &request_id(req));
            let g = Box::pin(groups::create(
                &deps.scim(&base).signins.users,
                &tenant,
                &change,
                &body,
            ))
            .await?;
            Ok(scim_json(201, &g.resource(&base)))
        }
        "GET /scim/v2/Groups/{id}" => {
            scim::Search {
                attributes: query(req, "attributes"),
                excluded: query(req, "excludedAttributes"),
                ..Default::default()
            }
            .check()?;
            let mut r = group(deps, &tenant, &id()).await?.resource(&base);
            scim::project(
                &mut r,
                query(req, "attributes").as_deref(),
                query(req, "excludedAttributes").as_deref(),
            );
            Ok(scim_json(200, &r))
        }
        "PUT /scim/v2/Groups/{id}" | "PATCH /scim/v2/Groups/{id}" => {
            let before = group(deps, &tenant, &id()).await?;
            let body = body_json(req)?;
            let desired = if key.starts_with("PUT") {
                group::desired(&body)?
            } else {
                let mut r = before.resource(&base);
                scim::apply_patch(&mut r, &body)?;
                // The resource always lists its members: none left after the operations
                // means they were all removed, not that the body did not say.
                let mut d = group::desired(&r)?;
                d.members.get_or_insert_with(Default::default);
                d
            };
            let change = sync::change(&token, now, &request_id(req));
            let after = Box::pin(groups::replace(
                &deps.scim(&base).signins.users,
                &change,
                before,
                desired,
            ))
            .await?;
            Ok(scim_json(200, &after.resource(&base)))
        }
        "DELETE /scim/v2/Groups/{id}" => {
            let g = group(deps, &tenant, &id()).await?;
            let change = sync::change(&token, now, &request_id(req));
            Box::pin(groups::delete(&deps.scim(&base).signins.users, &change, g)).await?;
            Ok(Response::builder()
                .status(204)
                .body(Body::Empty)
                .unwrap_or_default())
        }
        _ => Err(ApiError::NoRoute),
    }
}

/// A page of the company's groups as `asked`, each projected to the attributes asked for.
async fn groups_page(
    deps: &Deps,
    tenant: &TenantId,
    asked: &scim::Search,
    base: &str,
) -> Result<Response<Body>, ApiError> {
    let paging = scim::paging(asked.start_index.as_deref(), asked.count.as_deref())
        .map_err(scim::invalid_value)?;
    let page = groups::list(
        &deps.invites.store,
        tenant,
        asked.filter.as_deref(),
        paging,
        base,
    )
    .await?;
    Ok(scim_json(200, &projected(page, asked)))
}

/// A list answer with each resource cut to the attributes `asked` names.
fn projected(mut page: Value, asked: &scim::Search) -> Value {
    for r in page["Resources"].as_array_mut().into_iter().flatten() {
        scim::project(r, asked.attributes.as_deref(), asked.excluded.as_deref());
    }
    page
}

async fn group(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Group, ApiError> {
    groups::get(&deps.invites.store, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("group"))
}

/// A page of the company's people as `asked`, each projected to the attributes asked for.
async fn users(
    deps: &Deps,
    tenant: &TenantId,
    asked: &scim::Search,
    base: &str,
    now: time::OffsetDateTime,
) -> Result<Response<Body>, ApiError> {
    let paging = scim::paging(asked.start_index.as_deref(), asked.count.as_deref())
        .map_err(scim::invalid_value)?;
    let page = Box::pin(sync::list(
        &deps.invites.store,
        tenant,
        asked.filter.as_deref(),
        paging,
        base,
        now,
    ))
    .await?;
    Ok(scim_json(200, &projected(page, asked)))
}

async fn person(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<Person, ApiError> {
    sync::find(&deps.invites.store, tenant, id, now)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

fn one_of(all: Vec<Value>, id: &str, what: &'static str) -> Result<Response<Body>, ApiError> {
    all.into_iter()
        .find(|r| r["id"].as_str() == Some(id))
        .map(|r| scim_json(200, &r))
        .ok_or(ApiError::NotFound(what))
}
