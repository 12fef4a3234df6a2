//! The deployed functions' SDK configuration (`shared::config::aws`), in a process of its own
//! because it reads the environment.

use aws_sdk_dynamodb::config::ProvideCredentials;
use aws_sdk_dynamodb::config::SharedCredentialsProvider;

async fn credentials(p: Option<SharedCredentialsProvider>) -> (String, String, Option<String>) {
    let c = p
        .expect("a credentials provider")
        .provide_credentials()
        .await
        .expect("credentials from the environment");
    (
        c.access_key_id().to_string(),
        c.secret_access_key().to_string(),
        c.session_token().map(str::to_string),
    )
}

/// One test, not several, because each sets the process's environment.
#[tokio::test]
async fn the_configuration_is_what_aws_configs_default_chain_makes_of_lambdas_environment() {
    // What Lambda sets, and no profile files (a function's file system has none).
    for (k, v) in [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_DEFAULT_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "session"),
        ("AWS_LAMBDA_FUNCTION_NAME", "veloconnect-list"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
    ] {
        std::env::set_var(k, v);
    }
    for k in [
        "AWS_ENDPOINT_URL",
        "LOCAL_AWS_ENDPOINT",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_PROFILE",
    ] {
        std::env::remove_var(k);
    }
    let ours = shared::config::aws().expect("Lambda's variables are enough");
    let theirs = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    assert_eq!(ours.region(), theirs.region());
    assert_eq!(ours.region().map(|r| r.as_ref()), Some("eu-central-1"));
    assert_eq!(ours.endpoint_url(), None);
    assert_eq!(ours.endpoint_url(), theirs.endpoint_url());
    assert_eq!(ours.retry_config(), theirs.retry_config());
    assert_eq!(ours.behavior_version(), theirs.behavior_version());
    assert_eq!(
        credentials(ours.credentials_provider()).await,
        credentials(theirs.credentials_provider()).await
    );
    assert_eq!(
        credentials(ours.credentials_provider()).await,
        (
            "AKIDLAMBDAROLE".into(),
            "secret".into(),
            Some("session".into())
        )
    );
    assert!(
        ours.http_client().is_some() && ours.sleep_impl().is_some() && ours.time_source().is_some()
    );
    // A call with its retries ends before Lambda kills the function (Globals: Timeout 10).
    let t = ours.timeout_config().expect("timeouts are set");
    assert_eq!(t, &shared::config::timeouts());
    assert!(t.operation_timeout().unwrap() < std::time::Duration::from_secs(10));
    assert!(t.operation_attempt_timeout().unwrap() < t.operation_timeout().unwrap());

    // Locally the same binary goes to moto: AWS_ENDPOINT_URL, or LOCAL_AWS_ENDPOINT first
    // under sam local (an empty value is unset).
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    assert_eq!(
        shared::config::aws().unwrap().endpoint_url(),
        Some("http://127.0.0.1:9")
    );
    std::env::set_var("LOCAL_AWS_ENDPOINT", "");
    assert_eq!(
        shared::config::aws().unwrap().endpoint_url(),
        Some("http://127.0.0.1:9")
    );
    std::env::set_var("LOCAL_AWS_ENDPOINT", "http://172.17.0.1:5000");
    assert_eq!(
        shared::config::aws().unwrap().endpoint_url(),
        Some("http://172.17.0.1:5000")
    );
}

#[test]
fn a_missing_lambda_variable_refuses_to_start_and_names_it() {
    let lambda = [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        let e = shared::config::sdk_config(|name| {
            lambda
                .iter()
                .find(|(k, _)| *k == name && *k != missing)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_err();
        assert_eq!(e.0, missing);
    }
    // Without a session token (long-lived keys, as in sam local's defaults) it still starts.
    let cfg = shared::config::sdk_config(|name| {
        lambda
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    });
    assert!(cfg.is_ok());
}

#[test]
fn the_sender_must_be_a_bare_address_since_each_email_adds_its_own_display_name() {
    use shared::config::sender_address;
    assert_eq!(
        sender_address(" no-reply@veloconnect.io ").unwrap(),
        "no-reply@veloconnect.io"
    );
    for bad in [
        "VeloConnect <no-reply@veloconnect.io>",
        "no-reply",
        "a@b\r\nBcc: x@y.io",
    ] {
        let e = sender_address(bad).unwrap_err();
        assert!(e.0.starts_with("SENDER_EMAIL ("), "{bad:?}: {}", e.0);
    }
}

/// The deployed configuration's HTTP client is the SDK's, minus the connector it would build and
/// drop at every client's construction (`config::NoThrowawayConnector`): calls through it are
/// still answered, for each client, as the functions make them.
#[tokio::test]
async fn clients_on_the_deployed_configuration_are_answered() {
    let moto = harness::moto::Moto::start_or_reuse().await;
    let lambda = [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
    ];
    let cfg = shared::config::sdk_config(|name| {
        lambda
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&cfg);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&cfg);
    // Twice each: the first call builds the connector, the second reuses it.
    for _ in 0..2 {
        dynamodb
            .list_tables()
            .send()
            .await
            .expect("DynamoDB answers");
        cognito
            .list_user_pools()
            .max_results(1)
            .send()
            .await
            .expect("Cognito answers");
    }
}
