//! The API's route table: every route, the function that serves it, and whether it is public.
//!
//! One table, read by everything that routes: each function checks that what reached it is
//! its own, the `fallback` function (the HTTP API's `$default` route on AWS) answers what no
//! route takes with a 404 or a 405 naming the methods the path has, and the in-process gateway
//! matches requests with `resolve`, the way an HTTP API picks a route. The infra tests hold
//! infra/template.yaml and infra/openapi.yaml to this table.

/// One route: `METHOD /path` as the template's event declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub key: &'static str,
    /// The binary serving it (the template's `BuildProperties.Binary`).
    pub function: &'static str,
    /// Public routes take no credential (the invite link's own token is checked instead).
    pub public: bool,
}

const fn route(key: &'static str, function: &'static str) -> Route {
    Route {
        key,
        function,
        public: false,
    }
}

pub const ROUTES: &[Route] = &[
    route("POST /invites", "invite"),
    route("POST /invites/{id}/resend", "invite"),
    route("DELETE /invites/{id}", "invite"),
    Route {
        public: true,
        ..route("POST /invites/preview", "accept")
    },
    Route {
        public: true,
        ..route("POST /invites/accept", "accept")
    },
    route("GET /me", "list"),
    route("GET /users", "list"),
    route("GET /users/{id}", "list"),
    route("GET /users/export", "list"),
    route("GET /invites", "list"),
    route("GET /tenant", "list"),
    route("GET /tenant/group-mappings", "list"),
    route("GET /teams", "list"),
    route("PUT /users/{id}/role", "change-role"),
    route("PATCH /users", "change-role"),
    route("PUT /users/{id}/availability", "change-role"),
    route("PUT /me/availability", "change-role"),
    route("PUT /tenant/max-chats", "change-role"),
    route("PUT /tenant/group-mappings", "change-role"),
    route("POST /teams/rename", "change-role"),
    route("POST /teams/merge", "change-role"),
    route("POST /users/{id}/suspend", "suspend"),
    route("POST /users/{id}/reactivate", "suspend"),
    route("POST /users/{id}/sign-out", "suspend"),
    route("POST /me/sign-out", "suspend"),
    route("POST /me/password", "suspend"),
    route("POST /me/mfa/setup", "suspend"),
    route("POST /me/mfa", "suspend"),
    route("POST /me/mfa/disable", "suspend"),
    route("POST /users/{id}/mfa-reset", "reset-password"),
    route("PUT /tenant/mfa-policy", "suspend"),
    route("DELETE /users/{id}", "delete"),
    Route {
        public: true,
        ..route("POST /password-resets", "reset-password")
    },
    Route {
        public: true,
        ..route("POST /password-resets/preview", "reset-password")
    },
    Route {
        public: true,
        ..route("POST /password-resets/confirm", "reset-password")
    },
    route("POST /users/{id}/password-reset", "reset-password"),
    route("GET /audit", "audit"),
    route("GET /audit/export", "audit"),
    // Read by an admin, or by an integration token with `events:read` (rule 21).
    route("GET /events", "audit"),
    route("GET /integrations", "audit"),
    route("POST /integrations", "audit"),
    route("DELETE /integrations/{id}", "audit"),
    // Directory sync (rule 22): an integration token with the `scim` scope, never a person.
    route("GET /scim/v2/ServiceProviderConfig", "scim"),
    route("GET /scim/v2/ResourceTypes", "scim"),
    route("GET /scim/v2/ResourceTypes/{id}", "scim"),
    route("GET /scim/v2/Schemas", "scim"),
    route("GET /scim/v2/Schemas/{id}", "scim"),
    route("GET /scim/v2/Users", "scim"),
    route("POST /scim/v2/Users", "scim"),
    route("POST /scim/v2/Users/.search", "scim"),
    route("POST /scim/v2/.search", "scim"),
    route("GET /scim/v2/Users/{id}", "scim"),
    route("PUT /scim/v2/Users/{id}", "scim"),
    route("PATCH /scim/v2/Users/{id}", "scim"),
    route("DELETE /scim/v2/Users/{id}", "scim"),
    route("GET /scim/v2/Groups", "scim"),
    route("POST /scim/v2/Groups", "scim"),
    route("POST /scim/v2/Groups/.search", "scim"),
    route("GET /scim/v2/Groups/{id}", "scim"),
    route("PUT /scim/v2/Groups/{id}", "scim"),
    route("PATCH /scim/v2/Groups/{id}", "scim"),
    route("DELETE /scim/v2/Groups/{id}", "scim"),
];

/// The route key API Gateway gives a request that no route takes.
pub const DEFAULT_ROUTE: &str = "$default";
/// The function behind `$default`.
pub const FALLBACK_FUNCTION: &str = "fallback";

/// Whether `key` is one of `function`'s routes: a function answers only its own.
pub fn serves(function: &str, key: &str) -> bool {
    ROUTES
        .iter()
        .any(|r| r.function == function && r.key == key)
}

impl Route {
    pub fn method(&self) -> &'static str {
        self.key.split_once(' ').map_or(self.key, |(m, _)| m)
    }
    pub fn path(&self) -> &'static str {
        self.key.split_once(' ').map_or("/", |(_, p)| p)
    }
}

/// A route's path parameters by name, as sent (API Gateway decodes them).
pub type Params = Vec<(&'static str, String)>;

/// What the table makes of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A route takes it, with its path parameters (raw, as sent: API Gateway decodes them).
    Found {
        route: Route,
        params: Params,
    },
    /// The path is a route's, the method is not: the methods it has (RFC 9110's `Allow`).
    WrongMethod {
        allow: Vec<&'static str>,
    },
    NoRoute,
}

/// Matches `path` against a route's template segment by segment; a `{name}` takes one
/// non-empty segment.
fn matches(template: &'static str, path: &str) -> Option<Params> {
    let t: Vec<&'static str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, ps) in t.into_iter().zip(p) {
        match ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(_) if ps.is_empty() => return None,
            Some(name) => params.push((name, ps.to_string())),
            None if ts != ps => return None,
            None => {}
        }
    }
    Some(params)
}

/// Picks the route for `method` and `path` as an HTTP API does: of the routes whose path
/// matches, the most specific (fewest parameters: `/invites/preview` over `/invites/{id}`)
/// whose method is the request's. When the path matches but no method does, `allow` names the
/// methods of the most specific matching paths.
pub fn resolve(method: &str, path: &str) -> Resolved {
    let mut candidates: Vec<(usize, Route, Params)> = ROUTES
        .iter()
        .filter_map(|r| matches(r.path(), path).map(|p| (p.len(), *r, p)))
        .collect();
    candidates.sort_by_key(|(n, _, _)| *n);
    if let Some(i) = candidates
        .iter()
        .position(|(_, r, _)| r.method().eq_ignore_ascii_case(method))
    {
        let (_, route, params) = candidates.swap_remove(i);
        return Resolved::Found { route, params };
    }
    let Some(fewest) = candidates.first().map(|(n, _, _)| *n) else {
        return Resolved::NoRoute;
    };
    let mut allow: Vec<&'static str> = candidates
        .iter()
        .filter(|(n, _, _)| *n == fewest)
        .map(|(_, r, _)| r.method())
        .collect();
    allow.dedup();
    Resolved::WrongMethod { allow }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> Option<(&'static str, Params)> {
        match resolve(method, path) {
            Resolved::Found { route, params } => Some((route.key, params)),
            _ => None,
        }
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        assert_eq!(
            found("POST", "/invites/preview"),
            Some(("POST /invites/preview", vec![]))
        );
        assert_eq!(
            found("DELETE", "/invites/preview"),
            Some(("DELETE /invites/{id}", vec![("id", "preview".into())]))
        );
        assert_eq!(
            found("post", "/users/u1/suspend"),
            Some(("POST /users/{id}/suspend", vec![("id", "u1".into())]))
        );
    }

    #[test]
    fn a_path_without_its_method_names_the_methods_it_has() {
        assert_eq!(
            resolve("PUT", "/invites"),
            Resolved::WrongMethod {
                allow: vec!["POST", "GET"]
            }
        );
        assert_eq!(
            resolve("GET", "/users/u1/role"),
            Resolved::WrongMethod { allow: vec!["PUT"] }
        );
        // `/invites/accept` is a literal path of its own: GET on it names only POST.
        assert_eq!(
            resolve("GET", "/invites/accept"),
            Resolved::WrongMethod {
                allow: vec!["POST"]
            }
        );
    }

    #[test]
    fn anything_else_is_no_route() {
        for path in ["/", "/nope", "/users/u1/extra/more", "/users//role"] {
            assert_eq!(resolve("GET", path), Resolved::NoRoute, "{path}");
        }
    }

    #[test]
    fn every_route_is_served_by_one_function_and_resolves_to_itself() {
        for r in ROUTES {
            assert!(serves(r.function, r.key));
            let path = r.path().replace("{id}", "x1");
            assert_eq!(found(r.method(), &path).map(|(k, _)| k), Some(r.key));
        }
        assert!(!serves("list", "POST /invites"));
    }
}
