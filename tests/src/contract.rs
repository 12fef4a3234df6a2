//! The status codes `infra/openapi.yaml` describes for each route, so the local gateway can
//! hold every answer a function gives to its description: every end-to-end test, the browser
//! suite and the contract fuzz then check the code's real answers against the published
//! contract, not a list someone keeps beside the code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// `METHOD /path` → the statuses described under its `responses:`.
pub type Described = BTreeMap<String, BTreeSet<u16>>;

/// Reads the spec's paths block line by line: a path at two spaces, a method at four, and
/// each response code as a quoted key (`"409": …`) below it. The spec is ours and keeps that
/// layout; `the_openapi_description_lists_exactly_the_routes_the_code_serves` (infra test)
/// fails if a route goes missing from what this finds.
pub fn described_statuses(spec: &str) -> Described {
    let mut out = Described::new();
    let (mut path, mut route) = (String::new(), None::<String>);
    for line in spec.lines().take_while(|l| *l != "components:") {
        if line.starts_with("  /") {
            path = line.trim().trim_end_matches(':').to_string();
            route = None;
        } else if let Some(m) = ["get", "post", "put", "patch", "delete"]
            .iter()
            .find(|m| line == format!("    {m}:"))
        {
            let key = format!("{} {path}", m.to_uppercase());
            out.entry(key.clone()).or_default();
            route = Some(key);
        } else if let Some(r) = &route {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if let Some(code) = t
                .strip_prefix('"')
                .and_then(|t| t.split_once("\":"))
                .and_then(|(code, _)| code.parse::<u16>().ok())
            {
                // Response keys sit at eight spaces; deeper quoted keys are schema content.
                if indent == 8 {
                    out.get_mut(r).expect("route entry").insert(code);
                }
            }
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
