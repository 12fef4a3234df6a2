//! `cargo run -p harness --bin local-api`: the whole product on loopback, emulator included.
//! Starts (or reuses, via MOTO_ENDPOINT) moto server, creates the tables, user pool, client and
//! SES identity, seeds a demo tenant whose admin can sign in, serves every route of the API, and
//! serves the web console on its own origin (the `APP_URL` invite links point at).

use harness::{App, Moto, Stack};
use serde_json::json;
use std::sync::Arc;

const ADMIN_EMAIL: &str = "admin@demo.veloconnect.test";
const ADMIN_PASSWORD: &str = "Demo-Admin-Passw0rd!";

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let port: u16 = std::env::var("LOCAL_API_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e} (set LOCAL_API_PORT)"));

    let console_port: u16 = std::env::var("LOCAL_CONSOLE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5173);
    let console_listener = tokio::net::TcpListener::bind(("127.0.0.1", console_port))
        .await
        .unwrap_or_else(|e| {
            panic!("cannot listen on 127.0.0.1:{console_port}: {e} (set LOCAL_CONSOLE_PORT)")
        });
    // The demo company's plan; `starter` (5 seats) reaches the seat limit in a few invites.
    let tier = std::env::var("DEMO_TIER").unwrap_or_else(|_| "team".into());

    let mut moto = Moto::start_or_reuse().await;
    let sdk = harness::stack::sdk_config(&moto.endpoint).await;
    let mut stack = Stack::create(&moto.endpoint, &sdk).await;
    stack.app_url = format!("http://127.0.0.1:{console_port}");
    let mut app = App::new(stack.clone(), sdk).await;
    app.strict_contract = false;
    let app = Arc::new(app);
    let (tenant_id, _) = app
        .provision_tenant(
            "Demo Company",
            &tier,
            None,
            ADMIN_EMAIL,
            "Demo Admin",
            ADMIN_PASSWORD,
        )
        .await
        .expect("seed the demo tenant");

    let api_url = format!("http://127.0.0.1:{port}");
    let console = Arc::new(harness::web::Console::new(&stack, &api_url));
    let info = json!({
        "apiUrl": api_url,
        "appUrl": stack.app_url,
        "awsEndpoint": stack.aws_endpoint,
        "region": stack.region,
        "userPoolId": stack.user_pool_id,
        "userPoolClientId": stack.user_pool_client_id,
        "tokenIssuer": stack.token_issuer,
        "jwksUrl": stack.jwks_url,
        "directoryTable": stack.directory_table,
        "auditTable": stack.audit_table,
        "eventBus": stack.event_bus,
        "eventsQueueUrl": stack.events_queue_url,
        "failedEventsQueueUrl": stack.events_dead_letter_url,
        "tenantId": tenant_id,
        "adminEmail": ADMIN_EMAIL,
        "adminPassword": ADMIN_PASSWORD,
        "motoPid": moto.pid(),
        // The interpreter with the emulator's packages (boto3 among them), for the scripts
        // that read this file (tests/moto/get_token.py, infra/sam-local-journey.py).
        "python": harness::moto::python(),
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/stack.json");
    std::fs::create_dir_all(out.parent().unwrap()).expect("create .local/");
    std::fs::write(&out, serde_json::to_string_pretty(&info).unwrap()).expect("write stack.json");

    // For `sam local invoke` / `sam local start-api` (Docker): the same settings, with the
    // emulator reached from inside the containers.
    let port_of = stack
        .aws_endpoint
        .rsplit(':')
        .next()
        .unwrap_or("5000")
        .to_string();
    let sam_env = json!({
        "Parameters": {
            "LOCAL_AWS_ENDPOINT": format!("http://host.docker.internal:{port_of}"),
            "AWS_REGION": stack.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "DIRECTORY_TABLE": stack.directory_table,
            "AUDIT_TABLE": stack.audit_table,
            "SENDER_EMAIL": stack.sender,
            "SES_CONFIGURATION_SET": stack.configuration_set,
            "APP_URL": stack.app_url,
            "PRICING_URL": stack.pricing_url,
            "EVENT_BUS_NAME": stack.event_bus,
            "EVENTS_DEAD_LETTER_QUEUE_URL": stack.events_dead_letter_url.replace("127.0.0.1", "host.docker.internal"),
            "USER_POOL_ID": stack.user_pool_id,
            "USER_POOL_CLIENT_ID": stack.user_pool_client_id,
            "TOKEN_ISSUER": stack.token_issuer,
            "JWKS_URL": format!("http://host.docker.internal:{port_of}/{}/.well-known/jwks.json", stack.user_pool_id),
        }
    });
    std::fs::write(
        out.with_file_name("sam-env.json"),
        serde_json::to_string_pretty(&sam_env).unwrap(),
    )
    .expect("write sam-env.json");

    println!(
        "\nOpen {app_url}/ and sign in as {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n\n\
         VeloConnect directory API on {api_url}\n\
         AWS emulator (moto) on {endpoint}, region {region}\n\
         Demo tenant {tenant_id}; admin {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n\n\
         Get a token:\n  \
         aws --endpoint-url {endpoint} --region {region} cognito-idp initiate-auth \\\n    \
         --auth-flow USER_PASSWORD_AUTH --client-id {client} \\\n    \
         --auth-parameters USERNAME={ADMIN_EMAIL},PASSWORD='{ADMIN_PASSWORD}' \\\n    \
         --query AuthenticationResult.AccessToken --output text\n\
         or: {python} tests/moto/get_token.py   (reads .local/stack.json)\n\n\
         Then: curl -H \"Authorization: Bearer $TOKEN\" {api_url}/me\n\
         Invite emails land in moto: {endpoint}/moto-api/data.json\n\
         The invite expiry job and the sign-in reconciler run every minute.\n\
         Directory events: publish-events reads the audit stream every second, as the event\n  \
         source mapping does, and puts them on the bus {bus}; a rule sends them all to a\n  \
         queue. Watch them arrive: {python} tests/events/tail.py   (--json: whole events)\n\
         Mail events (SES's mailbox simulator): invite bounce@simulator.amazonses.com or\n  \
         complaint@simulator.amazonses.com to see a bounce or a complaint.\n\
         Written to .local/stack.json. Ctrl-C stops the API and the emulator it started.\n",
        app_url = stack.app_url,
        endpoint = stack.aws_endpoint,
        region = stack.region,
        client = stack.user_pool_client_id,
        bus = stack.event_bus,
        python = harness::moto::python().display(),
    );

    // The scheduled jobs, as EventBridge would run them (hourly and every 5 minutes on AWS;
    // every minute here).
    let job_app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            expire_invites_fn::run(&job_app.expire, "local-schedule", 50).await;
            reconcile_signin_fn::run(&job_app.reconcile, 10).await;
        }
    });
    // What SES reports after a send (harness::mailbox): bounce@ and complaint@
    // simulator.amazonses.com show on the Users screen within a second or two.
    let mail_app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            mail_app.mailbox.publish(&mail_app).await;
        }
    });

    // The audit stream's event source mapping for publish-events (harness::events::Poller):
    // a change's events are on the bus a second or so after it commits.
    let events_app = app.clone();
    tokio::spawn(async move {
        let mut poller = events_app.poller().await;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            poller.poll(&events_app.publish).await;
        }
    });

    // As the template's CorsConfiguration: the console's origin only.
    let cors = harness::server::Cors {
        allow_origins: vec![stack.app_url.clone()],
    };
    tokio::select! {
        _ = harness::server::serve(app, listener, cors) => {}
        _ = harness::web::serve(console, console_listener) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    moto.stop();
}
