//! The deployed functions' SDK configuration (`shared::config::aws`), in a process of its own
//! because it reads the environment.

use aws_sdk_dynamodb::config::ProvideCredentials;

#[tokio::test]
async fn region_and_credentials_come_from_the_variables_lambda_sets() {
    std::env::set_var("AWS_REGION", "eu-central-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    std::env::set_var("AWS_SESSION_TOKEN", "session");
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let cfg = shared::config::aws().await;
    assert_eq!(cfg.region().map(|r| r.as_ref()), Some("eu-central-1"));
    assert_eq!(cfg.endpoint_url(), Some("http://127.0.0.1:9"));
    let creds = cfg
        .credentials_provider()
        .expect("a credentials provider")
        .provide_credentials()
        .await
        .expect("credentials from the environment");
    assert_eq!(creds.access_key_id(), "AKIDLAMBDAROLE");
    assert_eq!(creds.session_token(), Some("session"));
    // A call with its retries ends before Lambda kills the function (Globals: Timeout 10).
    let t = cfg.timeout_config().expect("timeouts are set");
    assert!(t.operation_timeout().unwrap() < std::time::Duration::from_secs(10));
    assert!(t.operation_attempt_timeout().unwrap() < t.operation_timeout().unwrap());
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
