//! `fallback`: the HTTP API's `$default` route, which takes every request that no route of
//! the template takes. Without it AWS answers those itself (`404 {"message":"Not Found"}`, and
//! no 405 at all); with it they get the same problems the rest of the API gives: 404
//! `no-route`, or 405 `method-not-allowed` with `Allow` naming the path's methods, from the
//! shared route table. It reads no credential and touches no AWS service.

use lambda_http::http::header::ALLOW;
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::domain::ApiError;
use shared::routes::{resolve, Resolved};

pub fn handle(req: Request) -> Response<Body> {
    let path = path_without_stage(&req);
    let answer = answer(&req, &path);
    // Under directory sync's root, in SCIM's form (RFC 7644 3.12), as its routes answer.
    if path.starts_with("/scim/") {
        shared::http::scim_answer(answer)
    } else {
        answer
    }
}

fn answer(req: &Request, path: &str) -> Response<Body> {
    match resolve(req.method().as_str(), path) {
        Resolved::WrongMethod { allow } => {
            let mut resp = shared::http::problem(&ApiError::MethodNotAllowed);
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                resp.headers_mut().insert(ALLOW, v);
            }
            resp
        }
        Resolved::NoRoute => shared::http::problem(&ApiError::NoRoute),
        Resolved::Found { route, .. } => {
            // The template declares every route of the table (an infra test holds them equal),
            // so a route's request reaching `$default` means a deployed template that is not
            // this code's: say so where an operator looks, and answer as for a missing route.
            tracing::error!(route = route.key, "a route of the table reached $default");
            shared::http::problem(&ApiError::NoRoute)
        }
    }
}

/// The path as the route table writes it. On a named stage's URL an HTTP API's `rawPath`
/// starts with the stage (`/prod/users`); under `$default` and a custom domain it does not.
fn path_without_stage(req: &Request) -> String {
    let raw = req.raw_http_path();
    let raw = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    let stage = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    match stage.filter(|s| s != "$default") {
        Some(s) => {
            let prefix = format!("/{s}");
            match raw.strip_prefix(&prefix) {
                Some("") => "/".to_string(),
                Some(rest) if rest.starts_with('/') => rest.to_string(),
                _ => raw.to_string(),
            }
        }
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: &str, raw_path: &str, stage: &str) -> Request {
        let event = format!(
            r#"{{"version":"2.0","routeKey":"$default","rawPath":"{raw_path}","rawQueryString":"",
            "headers":{{}},"requestContext":{{"accountId":"1","apiId":"a","domainName":"d",
            "domainPrefix":"d","http":{{"method":"{method}","path":"{raw_path}","protocol":"HTTP/1.1",
            "sourceIp":"127.0.0.1","userAgent":"t"}},"requestId":"r","routeKey":"$default",
            "stage":"{stage}","time":"","timeEpoch":0}},"isBase64Encoded":false}}"#
        );
        lambda_http::request::from_str(&event).expect("an HTTP API event")
    }

    #[test]
    fn a_wrong_method_on_a_named_stage_is_a_405_naming_the_paths_methods() {
        let resp = handle(event("PATCH", "/prod/users/u1/role", "prod"));
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()[ALLOW], "PUT");
        let resp = handle(event("PATCH", "/users/u1/role", "$default"));
        assert_eq!(resp.headers()[ALLOW], "PUT");
    }

    #[test]
    fn an_unknown_path_is_a_404_problem_even_when_it_starts_like_the_stage() {
        for (path, stage) in [
            ("/prod", "prod"),
            ("/production/users", "prod"),
            ("/x", "$default"),
        ] {
            let resp = handle(event("GET", path, stage));
            assert_eq!(resp.status(), 404, "{path}");
            assert_eq!(resp.headers()["content-type"], "application/problem+json");
        }
    }
}
