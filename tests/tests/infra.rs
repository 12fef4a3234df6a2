//! The deployment description and the code must agree: every function has a template entry,
//! every route the code serves is an API route in the template (public exactly where the code
//! says so) and in the OpenAPI description, every setting a function reads is set for it, and
//! every sample event is one the function can read.

use harness::app::routes;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The template's functions: logical id → (binary, the lines of its block).
fn template_functions() -> BTreeMap<String, (String, Vec<String>)> {
    let t = read("infra/template.yaml");
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in t.lines() {
        let is_resource =
            line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':');
        if is_resource {
            if let Some((id, lines)) = current.take() {
                if lines
                    .iter()
                    .any(|l| l.contains("Type: AWS::Serverless::Function"))
                {
                    let bin = lines
                        .iter()
                        .find_map(|l| l.trim().strip_prefix("Binary: "))
                        .unwrap_or_else(|| panic!("{id} has no BuildProperties.Binary"))
                        .to_string();
                    out.insert(id, (bin, lines));
                }
            }
            current = Some((line.trim().trim_end_matches(':').to_string(), vec![]));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line.to_string());
        }
    }
    if let Some((id, lines)) = current {
        if lines
            .iter()
            .any(|l| l.contains("Type: AWS::Serverless::Function"))
        {
            let bin = lines
                .iter()
                .find_map(|l| l.trim().strip_prefix("Binary: "))
                .unwrap()
                .to_string();
            out.insert(id, (bin, lines));
        }
    }
    out
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}: "))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.split('"').next();
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn crate_dirs() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

/// A function serves one invocation at a time, and its CPU-heavy steps (argon2id) run on
/// tokio's blocking threads, so a multi-threaded scheduler buys it nothing but its worker
/// threads, started at every cold start: 0.3-0.5 ms of init here (docs/benchmarks.md, the
/// attempts table). Every function's `main` runs on the current thread.
#[test]
fn every_function_runs_its_scheduler_on_one_thread() {
    for bin in crate_dirs() {
        let main = read(&format!("functions/{bin}/src/main.rs"));
        let attrs: Vec<&str> = main
            .lines()
            .filter(|l| l.trim_start().starts_with("#[tokio::main"))
            .collect();
        assert_eq!(
            attrs,
            vec![r#"#[tokio::main(flavor = "current_thread")]"#],
            "functions/{bin}/src/main.rs"
        );
        assert!(
            !main.contains("new_multi_thread") && !main.contains("worker_threads"),
            "functions/{bin}/src/main.rs builds its own multi-threaded runtime"
        );
    }
}

#[test]
fn every_function_crate_is_deployed_by_the_template_and_nothing_else_is() {
    let deployed: BTreeSet<String> = template_functions().into_values().map(|(b, _)| b).collect();
    assert_eq!(deployed, crate_dirs());
}

#[test]
fn the_template_routes_each_path_to_the_function_that_serves_it() {
    let mut in_template = BTreeSet::new();
    for (_, (bin, lines)) in template_functions() {
        for l in lines.iter().filter(|l| l.contains("Type: HttpApi")) {
            // An HttpApi event without Path and Method is the API's `$default` route (SAM's
            // HttpApi event: "If no Path and Method are specified, SAM will create a default
            // API path that routes any request that doesn't map to a different endpoint").
            let key = match (field(l, "Method"), field(l, "Path")) {
                (Some(method), Some(path)) => format!("{method} {path}"),
                (None, None) => shared::routes::DEFAULT_ROUTE.to_string(),
                _ => panic!("an HttpApi event with only one of Method and Path: {l}"),
            };
            // No route is the gateway's to refuse: each function checks the caller's token.
            assert!(!l.contains("Auth"), "a gateway authorizer on {key}");
            in_template.insert((key, bin.clone()));
        }
    }
    let mut in_code: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(k, f, _)| (k.to_string(), f.binary().to_string()))
        .collect();
    in_code.insert((
        shared::routes::DEFAULT_ROUTE.to_string(),
        shared::routes::FALLBACK_FUNCTION.to_string(),
    ));
    assert_eq!(in_template, in_code);
    let api = read("infra/template.yaml");
    assert!(
        !api.contains("Authorizers:") && !api.contains("DefaultAuthorizer"),
        "the HTTP API has an authorizer: a refused token would be API Gateway's 401/403, not the functions' problem"
    );
}

#[test]
fn the_openapi_description_lists_exactly_the_routes_the_code_serves() {
    let spec = read("infra/openapi.yaml");
    let mut described = BTreeSet::new();
    let mut path: Option<String> = None;
    let mut in_paths = false;
    for line in spec.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.is_empty() {
            break;
        }
        if !in_paths {
            continue;
        }
        if line.starts_with("  /") {
            path = Some(line.trim().trim_end_matches(':').to_string());
        } else if let Some(p) = &path {
            let t = line.trim_end();
            for m in ["get", "post", "put", "delete", "patch"] {
                if t == format!("    {m}:") {
                    described.insert(format!("{} {p}", m.to_uppercase()));
                }
            }
        }
    }
    let served: BTreeSet<String> = routes()
        .into_iter()
        .map(|(k, _, _)| k.to_string())
        .collect();
    assert_eq!(described, served);
    // Public in the spec exactly where no token is checked (the accept function's routes).
    let public_in_spec = spec.matches("      security: []").count();
    assert_eq!(
        public_in_spec,
        routes().iter().filter(|(_, _, p)| *p).count()
    );
}

/// The `from_env` constructors a function's settings come through, and where each is.
const CONSTRUCTORS: &[(&str, &str)] = &[
    ("Tables", "shared/src/store/mod.rs"),
    ("Store", "shared/src/store/mod.rs"),
    ("Directory", "shared/src/identity.rs"),
    ("Mailer", "shared/src/mail.rs"),
    ("UsersDeps", "shared/src/usecase/users.rs"),
    ("SignInDeps", "shared/src/usecase/users.rs"),
    ("InviteDeps", "shared/src/usecase/invites.rs"),
    ("ResetDeps", "shared/src/usecase/resets.rs"),
    ("PoolDeps", "shared/src/signin.rs"),
];

/// The body of `impl <name> { … fn from_env … }` in `src`, up to the next function.
fn from_env_body(src: &str, name: &str) -> Option<String> {
    let at = src.find(&format!("impl {name} {{"))?;
    let start = at + src[at..].find("fn from_env")?;
    let end = src[start + 2..]
        .find("fn ")
        .map(|i| start + 2 + i)
        .unwrap_or(src.len());
    Some(src[start..end].to_string())
}

/// Every setting (`env("…")`) a function reads at start, following `main.rs` through its
/// `Deps::from_env` and every shared constructor that calls, however they are nested.
fn settings_read_by(bin: &str) -> BTreeSet<String> {
    let main = read(&format!("functions/{bin}/src/main.rs"));
    let lib = read(&format!("functions/{bin}/src/lib.rs"));
    let mut texts = vec![main];
    if let Some(own) = from_env_body(&lib, "Deps") {
        texts.push(own);
    } else if let Some(i) = lib.find(" as Deps;") {
        let name = lib[..i].rsplit("::").next().unwrap().to_string();
        let (_, file) = CONSTRUCTORS.iter().find(|(n, _)| *n == name).unwrap();
        texts.push(from_env_body(&read(file), &name).unwrap());
    }
    let mut wanted = BTreeSet::new();
    let mut seen = BTreeSet::new();
    while let Some(text) = texts.pop() {
        for (i, _) in text.match_indices("env(\"") {
            wanted.insert(text[i + 5..].split('"').next().unwrap().to_string());
        }
        for (name, file) in CONSTRUCTORS {
            if text.contains(&format!("{name}::from_env")) && seen.insert(*name) {
                let body = from_env_body(&read(file), name)
                    .unwrap_or_else(|| panic!("no {name}::from_env in {file}"));
                texts.push(body);
            }
        }
    }
    wanted
}

#[test]
fn the_settings_walk_follows_shared_constructors() {
    let invite = settings_read_by("invite");
    for var in [
        "DIRECTORY_TABLE",
        "AUDIT_TABLE",
        "SENDER_EMAIL",
        "APP_URL",
        "PRICING_URL",
    ] {
        assert!(invite.contains(var), "{var} not found: {invite:?}");
    }
    let suspend = settings_read_by("suspend");
    assert!(suspend.contains("USER_POOL_ID"), "{suspend:?}");
}

#[test]
fn every_setting_a_function_reads_is_set_for_it_in_the_template() {
    let template = read("infra/template.yaml");
    let globals: String = template
        .split("Resources:")
        .next()
        .unwrap()
        .split("Globals:")
        .nth(1)
        .unwrap()
        .to_string();
    for (id, (bin, lines)) in template_functions() {
        let wanted = settings_read_by(&bin);
        // The fallback reads nothing by design: the route table is compiled in.
        assert!(
            !wanted.is_empty() || bin == shared::routes::FALLBACK_FUNCTION,
            "{id} ({bin}) reads no setting: the walk lost its way"
        );
        let block = lines.join("\n");
        for var in wanted {
            let set = block.contains(&format!("{var}:")) || globals.contains(&format!("{var}:"));
            assert!(
                set,
                "{id} ({bin}) reads {var} but the template does not set it"
            );
        }
    }
}

/// Rule 13: the API's reset is the only way to a new password without the old one. Cognito's
/// own ForgotPassword would skip the limit, the audit entry and the sign-out stamp.
#[test]
fn cognitos_own_forgot_password_is_off() {
    let t = read("infra/template.yaml");
    let pool = t.split("  UserPool:\n").nth(1).unwrap();
    let pool = &pool[..pool.find("\n  UserPoolClient:").unwrap()];
    let mechanisms: Vec<&str> = pool
        .lines()
        .skip_while(|l| !l.contains("RecoveryMechanisms:"))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .collect();
    assert_eq!(
        mechanisms,
        vec!["          - {Name: admin_only, Priority: 1}"],
        "only admin_only (it can't be combined with another)"
    );
}

#[test]
fn the_audit_table_is_never_granted_update_or_delete() {
    for (id, (_, lines)) in template_functions() {
        let block = lines.join("\n");
        for stmt in block.split("- Effect: Allow").skip(1) {
            if stmt.contains("AuditTable.Arn") {
                assert!(
                    !stmt.contains("DeleteItem"),
                    "{id} may remove audit entries: {stmt}"
                );
                // The one batch write: publish-events' event log (`EVENTLOG#<company>`).
                if stmt.contains("BatchWriteItem") {
                    assert!(
                        stmt.contains("Action: dynamodb:BatchWriteItem\n")
                            && stmt.contains("dynamodb:LeadingKeys: [\"EVENTLOG#*\"]"),
                        "{id} may remove audit entries: {stmt}"
                    );
                }
                // The one update: a company's events item (`EVENTS#<company>`), under IAM's
                // own hold on its key and attributes, so no audit entry can be rewritten.
                if stmt.contains("UpdateItem") {
                    assert!(
                        stmt.contains("Action: dynamodb:UpdateItem\n")
                            && stmt.contains("dynamodb:LeadingKeys: [\"EVENTS#*\"]")
                            && stmt.contains("dynamodb:Attributes: [pk, sk, events, seq]"),
                        "{id} may change audit entries: {stmt}"
                    );
                }
            }
            assert!(
                !stmt.contains("Resource: \"*\"") && !stmt.contains("Action: \"*\""),
                "{id}: wildcard in {stmt}"
            );
        }
    }
}

#[test]
fn every_sample_event_is_one_its_function_can_read() {
    let dir = root().join("infra/events");
    let mut served: BTreeSet<String> = routes()
        .into_iter()
        .map(|(k, _, _)| k.to_string())
        .collect();
    served.insert(shared::routes::DEFAULT_ROUTE.to_string());
    served.insert(shared::routes::DEFAULT_ROUTE.to_string());
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("mail-events") {
            // `sam local invoke MailEventsFunction -e …`: what SES publishes, tagged as ours.
            let e = shared::domain::mail_event::parse(&v)
                .unwrap_or_else(|why| panic!("{name}: ignored ({})", why.0));
            assert!(
                shared::domain::mail_event::DETAIL_TYPES
                    .contains(&v["detail-type"].as_str().unwrap()),
                "{name}"
            );
            assert!(!e.message_id.is_empty());
        }
        if name.starts_with("publish-events") {
            // `sam local invoke PublishEventsFunction -e …`: a batch of the audit stream.
            for r in v["Records"].as_array().unwrap() {
                let read = shared::domain::event::read_record(r);
                assert!(
                    matches!(read, shared::domain::event::Record::Events(_)),
                    "{name}: {read:?}"
                );
            }
        }
        if let Some(route) = v["routeKey"].as_str() {
            assert!(served.contains(route), "{name}: {route} is not served");
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            covered.insert(route.to_string());
            // No gateway authorizer: the function reads the caller's token from the request.
            assert!(v["requestContext"].get("authorizer").is_none(), "{name}");
            let public = shared::routes::ROUTES
                .iter()
                .any(|r| r.public && r.key == route)
                || route == shared::routes::DEFAULT_ROUTE;
            assert_eq!(
                v["headers"].get("authorization").is_some(),
                !public,
                "{name}: a bearer token exactly where the route needs one"
            );
        }
    }
    for bin in crate_dirs() {
        let has = std::fs::read_dir(&dir).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(bin.as_str())
        });
        assert!(has, "no sample event for {bin}");
    }
    assert!(covered.len() >= 10, "{covered:?}");
}

#[test]
fn a_sign_in_lock_outlasts_every_request_that_can_hold_it() {
    let lease = shared::domain::signin::CLAIM_LEASE.whole_seconds();
    let template = read("infra/template.yaml");
    let global: i64 = template
        .split("Globals:")
        .nth(1)
        .and_then(|g| g.lines().find_map(|l| field(l, "Timeout")))
        .and_then(|v| v.parse().ok())
        .expect("a global Timeout");
    for (id, (bin, lines)) in template_functions() {
        if !["accept", "suspend", "delete"].contains(&bin.as_str()) {
            continue;
        }
        let timeout: i64 = lines
            .iter()
            .find_map(|l| field(l, "Timeout"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(global);
        assert!(
            timeout < lease,
            "{id} may run {timeout} s, longer than the {lease} s sign-in lock it holds"
        );
    }
    // The reconciler runs longer than a lease, one converge at a time, each cut off in time.
    assert!(shared::signin::SETTLE_BUDGET.as_secs() < lease as u64);
}

#[test]
fn the_local_gateway_gives_each_function_the_templates_timeout() {
    let default: u64 = read("infra/template.yaml")
        .split("Globals:")
        .nth(1)
        .and_then(|g| g.lines().find_map(|l| l.trim().strip_prefix("Timeout: ")))
        .expect("Globals.Function.Timeout")
        .parse()
        .unwrap();
    let functions = template_functions();
    let mut seen = BTreeSet::new();
    let fallback = harness::app::Function::Fallback;
    for f in routes().into_iter().map(|(_, f, _)| f).chain([fallback]) {
        if !seen.insert(f.binary()) {
            continue;
        }
        let (_, lines) = functions
            .values()
            .find(|(bin, _)| bin == f.binary())
            .unwrap_or_else(|| panic!("no template function builds {}", f.binary()));
        let timeout = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("Timeout: "))
            .map(|v| v.parse().unwrap())
            .unwrap_or(default);
        assert_eq!(
            f.timeout().as_secs(),
            timeout,
            "{} runs locally with another timeout than the template gives it",
            f.binary()
        );
    }
}

#[test]
fn the_local_gateway_answers_cors_as_the_templates_configuration_says() {
    use harness::server::{
        CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE,
    };
    let list = |key: &str| -> Vec<String> {
        let v = template_values(key);
        assert_eq!(v.len(), 1, "one {key} in the template");
        v[0].trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    let strs = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(list("AllowHeaders"), strs(CORS_ALLOW_HEADERS));
    assert_eq!(list("AllowMethods"), strs(CORS_ALLOW_METHODS));
    assert_eq!(list("ExposeHeaders"), strs(CORS_EXPOSE_HEADERS));
    assert_eq!(list("MaxAge"), vec![CORS_MAX_AGE.to_string()]);
}

#[test]
fn the_local_gateway_throttles_each_route_as_the_templates_route_settings_say() {
    use harness::gateway::{PUBLIC_THROTTLE_BURST, PUBLIC_THROTTLE_RATE};
    use harness::gateway::{THROTTLE_BURST, THROTTLE_RATE};
    assert_eq!(
        template_values("ThrottlingBurstLimit"),
        vec![THROTTLE_BURST.to_string()]
    );
    assert_eq!(
        template_values("ThrottlingRateLimit"),
        vec![THROTTLE_RATE.to_string()]
    );
    // Every public route, and only those, has route settings of its own, below the default.
    let template = read("infra/template.yaml");
    let settings = template
        .split("      RouteSettings:\n")
        .nth(1)
        .expect("the API's RouteSettings");
    let mut limited = BTreeSet::new();
    for line in settings.lines().take_while(|l| l.starts_with("        ")) {
        let (key, limits) = line.trim().split_once(": ").unwrap();
        let burst = PUBLIC_THROTTLE_BURST.to_string();
        let rate = PUBLIC_THROTTLE_RATE.to_string();
        assert_eq!(
            field(limits, "ThrottlingBurstLimit"),
            Some(burst.as_str()),
            "{key}"
        );
        assert_eq!(
            field(limits, "ThrottlingRateLimit"),
            Some(rate.as_str()),
            "{key}"
        );
        limited.insert(key.trim_matches('"').to_string());
    }
    let public: BTreeSet<String> = shared::routes::ROUTES
        .iter()
        .filter(|r| r.public)
        .map(|r| r.key.to_string())
        .collect();
    assert_eq!(limited, public);
    const { assert!(PUBLIC_THROTTLE_BURST < THROTTLE_BURST && PUBLIC_THROTTLE_RATE < THROTTLE_RATE) };
}

/// Lambda stops a function at its `Timeout` and API Gateway then answers 500; an HTTP API's
/// integration timeout (30 s at most) would answer 503 instead. Every API function stops well
/// before it, so the gateway's 503 never comes first and the in-process gateway models only the
/// 500 (the `Timeout` each has is `Function::timeout`, checked with the other settings).
#[test]
fn every_api_function_times_out_before_the_http_apis_integration_timeout() {
    use harness::app::{routes, Function};
    let mut functions: Vec<Function> = routes().into_iter().map(|(_, f, _)| f).collect();
    functions.push(Function::Fallback);
    for f in functions {
        assert!(
            f.timeout() < std::time::Duration::from_secs(29),
            "{} may still run when API Gateway gives up on it",
            f.binary()
        );
    }
}

/// The roots every function trusts, compiled in instead of the platform store, are exactly the
/// ones AWS endpoints (DynamoDB, SES, Cognito and its JWKS) chain to: Amazon Root CA 1-4 and the
/// Starfield Services G2 cross-sign, by SHA-256 of each certificate, as amazontrust.com lists
/// them (Debian's ca-certificates has the same). A swapped, truncated or extra certificate fails
/// here; whether AWS's chains really end there is the one thing only a call to AWS shows.
#[test]
fn the_compiled_in_roots_are_amazon_trust_services() {
    use base64::Engine;
    use sha2::Digest;
    let wanted: BTreeSet<&str> = [
        "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E", // Amazon Root CA 1
        "1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4", // Amazon Root CA 2
        "18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4", // Amazon Root CA 3
        "E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092", // Amazon Root CA 4
        "568D6905A2C88708A4B3025190EDCFEDB1974A606A13C6E5290FCB2AE63EDAB5", // Starfield Services G2
    ]
    .into();
    let pem = shared::config::AMAZON_TRUST_SERVICES_PEM;
    let mut found = BTreeSet::new();
    for block in pem.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body = block
            .split("-----END CERTIFICATE-----")
            .next()
            .expect("each certificate ends");
        let b64: String = body.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64 DER");
        let fp: String = sha2::Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert!(found.insert(fp), "a certificate appears twice");
    }
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, wanted);
}

/// One line of the template that starts (after indentation) with `key: `, its value.
fn template_values(key: &str) -> Vec<String> {
    read("infra/template.yaml")
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn the_distribution_sends_the_headers_the_local_console_sends() {
    let policy = template_values("ContentSecurityPolicy");
    let wanted = harness::web::csp(&[
        "https://*.execute-api.${AWS::Region}.amazonaws.com",
        "https://cognito-idp.${AWS::Region}.amazonaws.com",
    ]);
    assert_eq!(policy, vec![format!("!Sub \"{wanted}\"")]);
    let t = read("infra/template.yaml");
    for header in [
        "ContentTypeOptions: {Override: true}",
        "FrameOptions: {FrameOption: DENY, Override: true}",
        "ReferrerPolicy: {ReferrerPolicy: no-referrer, Override: true}",
    ] {
        assert!(
            t.contains(header),
            "the response headers policy lacks {header}"
        );
    }
    // Every console behaviour carries the policy, and nothing is served over plain HTTP.
    assert_eq!(
        template_values("ResponseHeadersPolicyId"),
        vec!["!Ref ConsoleHeaders"; 2]
    );
    assert_eq!(
        template_values("ViewerProtocolPolicy"),
        vec!["redirect-to-https"; 2]
    );
}

#[test]
fn invite_links_cors_and_the_console_url_name_one_origin() {
    let origin = "!If [ConsoleAtDistributionUrl, !Sub \"https://${ConsoleDistribution.DomainName}\", !Ref AppUrl]";
    let app_urls = template_values("APP_URL");
    assert!(!app_urls.is_empty());
    assert!(app_urls.iter().all(|v| v == origin), "{app_urls:?}");
    let t = read("infra/template.yaml");
    assert!(
        t.contains(&format!("AllowOrigins:\n          - {origin}\n")),
        "the API's CORS must allow exactly the console's origin"
    );
    assert!(t.contains(&format!("ConsoleUrl:\n    Description: The web console; invite links point here unless AppUrl names another origin.\n    Value: {origin}\n")));
    // `sam deploy` must not pin AppUrl to an origin nobody serves.
    assert!(!read("samconfig.toml").contains("AppUrl="));
}

#[test]
fn the_publish_script_uploads_the_console_with_the_stacks_config() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = rt.block_on(harness::Moto::start_or_reuse());
    let out = std::process::Command::new(harness::moto::python())
        .args(["-m", "unittest", "-v", "infra/test_publish_console.py"])
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the emulator's python runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 7 tests"), "{log}");
}

/// The README's deploy steps take the stack name and region from samconfig.toml through
/// infra/stack-env.py (what `sam deploy --guided` saves wins), so a stack of another name or in
/// another region works step by step.
#[test]
fn the_deploy_steps_read_the_stack_name_and_region_sam_deploy_uses() {
    let out = std::process::Command::new(harness::moto::python())
        .args(["-m", "unittest", "-v", "infra/test_stack_env.py"])
        .current_dir(root())
        .output()
        .expect("python runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 4 tests"), "{log}");
    let readme = read("README.md");
    let steps = readme
        .split("eval \"$(python3 infra/stack-env.py)\"")
        .nth(1)
        .expect("the deploy steps set STACK and AWS_REGION")
        .split("```")
        .next()
        .unwrap();
    for line in steps.lines().filter(|l| l.trim_start().starts_with("aws ")) {
        assert!(
            line.contains("--region \"$AWS_REGION\""),
            "no region: {line}"
        );
    }
    assert!(
        !steps.contains("veloconnect-directory-dev"),
        "a fixed stack name in the steps"
    );
}

/// The lines of one resource's block in the template.
fn resource_block(id: &str) -> Vec<String> {
    let t = read("infra/template.yaml");
    let head = format!("  {id}:");
    t.lines()
        .skip_while(|l| *l != head)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn what_a_stack_change_must_never_delete_is_retained() {
    // The tables hold every tenant, the pool every sign-in; the sender identity is verified by
    // hand once, and a later deploy with CreateSenderIdentity=false removes it from the stack.
    // Kept once created: only the rollback of the deploy that created them may delete them
    // (RetainExceptOnCreate), so a failed first deploy can be retried.
    for id in ["DirectoryTable", "AuditTable", "UserPool", "SenderIdentity"] {
        let block = resource_block(id);
        assert!(!block.is_empty(), "{id} is in the template");
        for policy in [
            "DeletionPolicy: RetainExceptOnCreate",
            "UpdateReplacePolicy: Retain",
        ] {
            assert!(
                block.iter().any(|l| l.trim() == policy),
                "{id} lacks {policy}"
            );
        }
    }
}

/// A `{k: v, ...}` flow mapping's value for `key` (one level; enough for the spec's one-line
/// parameters).
fn flow_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("{key}: "))? + key.len() + 2;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// A query parameter as described: its name and, for `limit`, (default, maximum).
type Described = BTreeMap<String, Option<(usize, usize)>>;

/// Every route's query parameters in infra/openapi.yaml, `$ref`s to shared ones resolved.
fn described_query_parameters() -> BTreeMap<String, Described> {
    let spec = read("infra/openapi.yaml");
    let bounds = |line: &str| -> Option<(usize, usize)> {
        Some((
            flow_value(line, "default")?.parse().ok()?,
            flow_value(line, "maximum")?.parse().ok()?,
        ))
    };
    let shared: BTreeMap<String, (String, Option<(usize, usize)>)> = spec
        .lines()
        .skip_while(|l| *l != "  parameters:")
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .filter(|l| l.contains("in: query"))
        .map(|l| {
            let id = l.trim().split(':').next().unwrap().to_string();
            let name = flow_value(l, "{name").unwrap().to_string();
            (id, (name, bounds(l)))
        })
        .collect();
    let mut out: BTreeMap<String, Described> = BTreeMap::new();
    let mut pending_name = None::<String>;
    for (route, line) in harness::contract::route_lines(&spec) {
        let params = out.entry(route).or_default();
        let t = line.trim();
        // One parameter per `- …` line, or several in a flow list (`parameters: [{…}, {…}]`).
        let items: Vec<String> = match t.strip_prefix("parameters: [") {
            Some(list) => list
                .trim_end_matches(']')
                .split("}, {")
                .map(|p| format!("{{{}}}", p.trim_matches(['{', '}'])))
                .collect(),
            None => t
                .strip_prefix("- ")
                .map(str::to_string)
                .into_iter()
                .collect(),
        };
        for item in &items {
            let reference = item
                .strip_prefix("{$ref: \"#/components/parameters/")
                .or_else(|| item.strip_prefix("$ref: \"#/components/parameters/"));
            if let Some(id) = reference {
                if let Some((name, b)) = shared.get(id.trim_end_matches(['"', '}'])) {
                    params.insert(name.clone(), *b);
                }
            } else if item.starts_with("{name: ") && item.contains("in: query") {
                params.insert(flow_value(item, "{name").unwrap().to_string(), bounds(item));
            }
        }
        if items
            .iter()
            .any(|i| i.starts_with("{") || i.starts_with("$ref"))
        {
            continue;
        }
        if let Some(name) = t.strip_prefix("- name: ") {
            pending_name = Some(name.to_string());
        } else if t == "in: query" {
            if let Some(name) = pending_name.take() {
                params.insert(name, None);
            }
        }
    }
    out
}

/// The query parameters a piece of a function's code reads (`query(req, "…")`, and the audit
/// filter's `("…", &mut f.…)` pairs), and every `page_limit(req, default, max)` it calls,
/// constants resolved from the whole file `src`.
fn read_query_parameters(code: &str, src: &str) -> (BTreeSet<String>, BTreeSet<(usize, usize)>) {
    let quoted_after = |marker: &str| -> Vec<String> {
        code.match_indices(marker)
            .filter_map(|(i, _)| {
                let rest = &code[i + marker.len()..];
                rest.find('"').map(|end| rest[..end].to_string())
            })
            .collect()
    };
    let mut names: BTreeSet<String> = quoted_after("query(req, \"").into_iter().collect();
    for name in quoted_after("(\"") {
        if code.contains(&format!("(\"{name}\", &mut f.")) {
            names.insert(name);
        }
    }
    let constant = |v: &str| -> usize {
        v.parse().unwrap_or_else(|_| {
            let decl = format!("const {v}: usize = ");
            let at = src.find(&decl).unwrap_or_else(|| panic!("constant {v}")) + decl.len();
            src[at..].split(';').next().unwrap().trim().parse().unwrap()
        })
    };
    let limits: BTreeSet<(usize, usize)> = code
        .match_indices("page_limit(req, ")
        .map(|(i, _)| {
            let args: Vec<&str> = code[i + 16..].split(',').take(2).map(str::trim).collect();
            (constant(args[0]), constant(args[1]))
        })
        .collect();
    if !limits.is_empty() {
        names.insert("limit".into());
    }
    (names, limits)
}

/// A source file's top-level functions: name → text, from the `fn` line to the `}` that
/// closes it at the start of a line (rustfmt's layout).
fn local_fns(src: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = src.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ") else { continue };
        let head = &line[..at];
        if ![
            "",
            "async ",
            "pub ",
            "pub async ",
            "pub(crate) ",
            "pub(crate) async ",
        ]
        .contains(&head)
        {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = (i..lines.len())
            .find(|k| lines[*k] == "}")
            .unwrap_or(lines.len() - 1);
        out.insert(name, lines[i..=end].join("\n"));
    }
    out
}

/// The names `code` calls as `name(`.
fn calls(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = code.as_bytes();
    for (i, _) in code.match_indices('(') {
        let start = (0..i)
            .rev()
            .take_while(|k| b[*k].is_ascii_alphanumeric() || b[*k] == b'_')
            .last();
        if let Some(st) = start {
            out.insert(code[st..i].to_string());
        }
    }
    out
}

/// What each route runs inside its function's file: its dispatch arm (`"METHOD /path" =>` or
/// `Some("METHOD /path") =>`, up to the next arm; a `_ =>` arm serves the routes no arm names)
/// and every function of the file that arm reaches, transitively.
fn code_per_route(src: &str, routes: &[&str]) -> BTreeMap<String, String> {
    let fns = local_fns(src);
    let lines: Vec<&str> = src.lines().collect();
    let arm_route = |line: &str| -> Option<Option<String>> {
        let t = line.trim_start();
        let t = t.strip_prefix("Some(").unwrap_or(t);
        if t.starts_with("_ =>") {
            return Some(None);
        }
        let key = t.strip_prefix('"')?.split('"').next()?;
        let rest = t.strip_prefix('"')?.split_once('"')?.1;
        (routes.contains(&key) && rest.trim_start_matches(')').trim_start().starts_with("=>"))
            .then(|| Some(key.to_string()))
    };
    let starts: Vec<(usize, Option<String>)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| arm_route(l).map(|r| (i, r)))
        .collect();
    let mut arms: BTreeMap<String, String> = BTreeMap::new();
    let mut fallback = None;
    for (n, (i, route)) in starts.iter().enumerate() {
        // An arm ends where the next begins or where a line closes a block, whichever is first.
        let next = starts.get(n + 1).map_or(lines.len(), |(k, _)| *k);
        let close = (*i + 1..lines.len())
            .find(|k| lines[*k].trim_start().starts_with('}'))
            .map_or(lines.len(), |k| k + 1);
        let arm = lines[*i..next.min(close)].join("\n");
        match route {
            Some(r) => {
                arms.insert(r.clone(), arm);
            }
            // The dispatch's own catch-all is the first; later `_ =>` lines are other matches.
            None if fallback.is_none() && !arms.is_empty() => fallback = Some(arm),
            None => {}
        }
    }
    let mut out = BTreeMap::new();
    for r in routes {
        let arm = arms
            .get(*r)
            .or(fallback.as_ref())
            .unwrap_or_else(|| panic!("{r}: no dispatch arm found"));
        let (mut seen, mut todo) = (BTreeSet::new(), vec![arm.clone()]);
        let mut text = String::new();
        while let Some(code) = todo.pop() {
            for name in calls(&code) {
                if let Some(body) = fns.get(&name) {
                    if seen.insert(name) {
                        todo.push(body.clone());
                    }
                }
            }
            text.push_str(&code);
            text.push('\n');
        }
        out.insert(r.to_string(), text);
    }
    out
}

/// Per route: the parameters each route's own code reads (its dispatch arm and the functions of
/// its file it reaches) against those its description lists. `list` serves `/users` and
/// `/invites` from one file, so this is what catches a parameter described on one of them and
/// read only for the other.
#[test]
fn every_query_parameter_and_its_bounds_agree_between_the_code_and_the_openapi_description() {
    let described = described_query_parameters();
    let mut by_function: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (route, f, _) in routes() {
        by_function.entry(f.binary()).or_default().push(route);
    }
    for (function, its_routes) in by_function {
        let src = read(&format!("functions/{function}/src/lib.rs"));
        for (route, code) in code_per_route(&src, &its_routes) {
            let (read_names, limits) = read_query_parameters(&code, &src);
            let spec = &described[&route];
            let spec_names: BTreeSet<String> = spec.keys().cloned().collect();
            let spec_limits: BTreeSet<(usize, usize)> = spec
                .iter()
                .filter(|(name, _)| *name == "limit")
                .map(|(_, b)| b.unwrap_or_else(|| panic!("{route}: limit without bounds")))
                .collect();
            assert_eq!(
                read_names, spec_names,
                "{route} ({function}): the query parameters its code reads vs those described"
            );
            assert_eq!(
                limits, spec_limits,
                "{route}: page_limit(default, max) vs the described limit's (default, maximum)"
            );
        }
    }
    // The page size's lower bound is 1 in the code and in every description of it.
    assert!(read("shared/src/http.rs").contains("(1..=max).contains(&n)"));
    let spec = read("infra/openapi.yaml");
    let limit_lines: Vec<&str> = spec
        .lines()
        .filter(|l| l.contains("{name: limit,"))
        .collect();
    assert!(!limit_lines.is_empty());
    for l in limit_lines {
        assert_eq!(flow_value(l, "minimum"), Some("1"), "{l}");
    }
}

/// Each metric filter's `$.fields.<name>` is a field the function writing that log group logs
/// (its summary line; the function's own tests show that line is an ERROR when it counts), and
/// a filter on the API's access log reads a field of its format.
#[test]
fn every_metric_filter_reads_a_field_its_function_logs() {
    let t = read("infra/template.yaml");
    let functions = template_functions();
    let mut filters = 0;
    let ids: Vec<&str> = t
        .lines()
        .zip(t.lines().skip(1))
        .filter(|(_, next)| next.trim() == "Type: AWS::Logs::MetricFilter")
        .map(|(id, _)| id.trim().trim_end_matches(':'))
        .collect();
    for id in ids {
        let block = resource_block(id).join("\n");
        let group = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("LogGroupName: !Ref "))
            .expect("a filter names its log group");
        if group == "ApiAccessLogs" {
            // The API's own access log: its format names the field.
            for (i, _) in block.match_indices("$.") {
                let name: String = block[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                assert!(t.contains(&format!("\"{name}\":\"$context.")), "{name}");
                filters += 1;
            }
            continue;
        }
        let (bin, _) = functions
            .values()
            .find(|(_, lines)| {
                lines
                    .iter()
                    .any(|l| l.trim() == format!("LogGroup: !Ref {group}"))
            })
            .unwrap_or_else(|| panic!("no function writes {group}"));
        let code = read(&format!("functions/{bin}/src/lib.rs"));
        let pattern = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("FilterPattern: "))
            .unwrap();
        for (i, _) in pattern.match_indices("$.fields.") {
            let name: String = pattern[i + 9..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                code.contains(&format!("{name} = ")),
                "{group}'s filter reads `{name}`, which {bin} does not log"
            );
            filters += 1;
        }
    }
    assert!(
        filters >= 4,
        "the drift, both jobs' failed counts, the API's 5xx"
    );
}

/// A first deploy may roll back (a new account's CloudFront not yet verified, say): it can
/// delete what it made only if deletion protection is off then, so the README's first deploy
/// says ProtectData=false and its next step turns protection on; the default is on.
#[test]
fn a_first_deploy_can_be_retried_and_protection_is_turned_on_after_it() {
    let t = read("infra/template.yaml");
    let param = resource_block("ProtectData").join("\n");
    assert!(param.contains("Default: \"true\""), "{param}");
    for id in ["DirectoryTable", "AuditTable"] {
        assert!(resource_block(id)
            .iter()
            .any(|l| l.trim() == "DeletionProtectionEnabled: !If [Protected, true, false]"));
    }
    assert!(resource_block("UserPool")
        .iter()
        .any(|l| l.trim() == "DeletionProtection: !If [Protected, ACTIVE, INACTIVE]"));
    assert!(t.contains("Protected: !Equals [!Ref ProtectData, \"true\"]"));
    let readme = read("README.md");
    let first = readme
        .find("ProtectData=false")
        .expect("the first deploy turns it off");
    let then = readme[first..]
        .find("ProtectData=true")
        .expect("a later step turns it on");
    assert!(readme[first + then..].contains("sam deploy"));
    assert!(
        !read("samconfig.toml").contains("ProtectData=false"),
        "a saved config must not keep it off"
    );
}
