//! The status codes `infra/openapi.yaml` describes for each route, so the local gateway can
//! hold every answer a function gives to its description: every end-to-end test, the browser
//! suite and the contract fuzz then check the code's real answers against the published
//! contract, not a list someone keeps beside the code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// `METHOD /path` → the statuses described under its `responses:`.
pub type Described = BTreeMap<String, BTreeSet<u16>>;

/// The spec's paths block as (`METHOD /path`, line) for each line under an operation, the
/// operation's own line (`    post:`) first. The spec is ours and keeps one layout: a path at
/// two spaces, a method at four; `the_openapi_description_lists_exactly_the_routes_the_code_serves`
/// (infra test) fails if a route goes missing from what this finds.
pub fn route_lines(spec: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let (mut path, mut route) = ("", None::<String>);
    for line in spec.lines().take_while(|l| *l != "components:") {
        if line.starts_with("  /") {
            path = line.trim().trim_end_matches(':');
            route = None;
            continue;
        }
        if let Some(m) = ["get", "post", "put", "patch", "delete"]
            .iter()
            .find(|m| line == format!("    {m}:"))
        {
            route = Some(format!("{} {path}", m.to_uppercase()));
        }
        if let Some(r) = &route {
            out.push((r.clone(), line));
        }
    }
    out
}

/// Each response code is a quoted key at eight spaces (`"409": …`) under its operation;
/// deeper quoted keys are schema content.
pub fn described_statuses(spec: &str) -> Described {
    let mut out = Described::new();
    for (route, line) in route_lines(spec) {
        let codes = out.entry(route).or_default();
        let t = line.trim_start();
        let code = t
            .strip_prefix('"')
            .and_then(|t| t.split_once("\":"))
            .and_then(|(code, _)| code.parse::<u16>().ok());
        if let (Some(code), 8) = (code, line.len() - t.len()) {
            codes.insert(code);
        }
    }
    out
}

/// The repository's own description, read once.
pub fn described() -> &'static Described {
    static SPEC: OnceLock<Described> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        described_statuses(&text)
    })
}

/// Why an answer breaks the description, if it does.
pub fn violation(route_key: &str, status: u16) -> Option<String> {
    // What no route takes (the `$default` route on AWS) is a 404 or a 405 problem; the
    // description says so in its introduction, having no path to hang it on.
    if route_key == shared::routes::DEFAULT_ROUTE {
        return (!matches!(status, 404 | 405))
            .then(|| format!("$default answered {status}; only 404 and 405 are described"));
    }
    match described().get(route_key) {
        Some(codes) if codes.contains(&status) => None,
        Some(codes) => Some(format!(
            "{route_key} answered {status}, which infra/openapi.yaml does not describe \
             (it describes {codes:?})"
        )),
        None => Some(format!("{route_key} is not in infra/openapi.yaml")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_routes_response_codes_and_not_its_schemas_quoted_keys() {
        let spec = r##"paths:
  /users/{id}:
    get:
      responses:
        "200":
          description: One.
          content:
            application/json:
              schema:
                properties:
                  "404": {type: string}
        "404": {$ref: "#/components/responses/Problem"}
    post:
      responses:
        "201": {description: Made.}
components:
  responses:
    "500": {description: no}
"##;
        let d = described_statuses(spec);
        assert_eq!(d["GET /users/{id}"], BTreeSet::from([200, 404]));
        assert_eq!(d["POST /users/{id}"], BTreeSet::from([201]));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn the_repositorys_description_has_answers_for_every_route() {
        let d = described();
        assert!(d.len() >= 15, "{d:?}");
        for (route, codes) in d {
            assert!(
                codes.iter().any(|c| (200..300).contains(c)),
                "{route}: no success answer described"
            );
        }
        assert_eq!(violation("POST /users/{id}/suspend", 200), None);
        assert!(violation("POST /users/{id}/suspend", 418).is_some());
        assert!(violation("GET /nowhere", 200).is_some());
    }
}
