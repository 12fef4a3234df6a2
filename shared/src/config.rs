//! Settings come from the environment under the same names the SAM template sets, so one
//! binary runs against moto locally and AWS when deployed.

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct ConfigError(pub String);

pub fn env(name: &str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError(name.to_string()))
}

/// `SENDER_EMAIL`: the bare address of the SES identity. The email puts the inviter's display
/// name in front of it per message (`email_template::mailbox`), so a value that already has
/// one ("VeloConnect <no-reply@…>") would make a broken From header: refused at start-up.
pub fn sender_address(raw: &str) -> Result<String, ConfigError> {
    crate::domain::Email::parse(raw)
        .map(|e| e.as_str().to_string())
        .map_err(|why| {
            ConfigError(format!(
                "SENDER_EMAIL ({why}: the bare address of the SES identity, no display name)"
            ))
        })
}

/// The roots every AWS endpoint we call chains to (Amazon Trust Services: Amazon Root CA 1–4
/// and the Starfield Services G2 cross-sign), from amazontrust.com/repository. Trusting these
/// alone, compiled in, instead of the platform store is what keeps start-up near a hello
/// world's: loading the platform store reads and parses a few hundred files on every cold
/// start. The only other HTTPS peer is the Cognito JWKS endpoint, which is AWS too.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");

/// Per-call limits. The SDK sets none by default, so a call that hangs would hold a function
/// until Lambda kills it at its timeout (10 s) with nothing answered. An attempt gets 3 s
/// (AWS answers these calls in milliseconds), the call with its retries 8 s, so a request
/// answers 503 (and converges what it can) before its function is killed.
#[cfg(feature = "aws")]
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(8))
        .build()
}

/// The SDK configuration: region and credentials from the variables Lambda sets (`AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `sam local` sets them
/// too), the rest (`AWS_ENDPOINT_URL` for moto, retries, timeouts) from the standard chain.
/// Naming the two providers skips building the default chains (profile files, web identity,
/// container and instance metadata), which took 0.4 ms of every cold start and are never
/// used on Lambda. `LOCAL_AWS_ENDPOINT` sets the endpoint under `sam local`, which only passes on
/// variables the template declares (the template declares it empty; empty means unset).
#[cfg(feature = "aws")]
pub async fn aws() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    let tls = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM))
        .build()
        .expect("the bundled roots are valid PEM");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts())
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    if let Ok(region) = env("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Ok(endpoint) = env("LOCAL_AWS_ENDPOINT") {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Time kept back from Lambda's deadline to log and send the answer.
#[cfg(any(feature = "aws", feature = "http"))]
pub const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_millis(750);

/// When an invocation must have its answer ready, on the runtime's clock: Lambda's deadline
/// (the context's wall-clock time) less `ANSWER_MARGIN`.
#[cfg(any(feature = "aws", feature = "http"))]
pub fn answer_by(lambda_deadline: std::time::SystemTime) -> tokio::time::Instant {
    let left = lambda_deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(std::time::Duration::ZERO);
    tokio::time::Instant::now() + left.saturating_sub(ANSWER_MARGIN)
}

#[cfg(any(feature = "aws", feature = "http"))]
tokio::task_local! {
    static DEADLINE: tokio::time::Instant;
}

/// Runs `work` as the request whose answer is due at `deadline`: steps deep inside it that
/// would otherwise run on their own budget (the sign-in converge's 15 s) stop in time to
/// clean up before the request is cut off.
#[cfg(any(feature = "aws", feature = "http"))]
pub async fn with_deadline<F: std::future::Future>(
    deadline: tokio::time::Instant,
    work: F,
) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// The deadline of the request this runs for, if it runs for one.
#[cfg(any(feature = "aws", feature = "http"))]
pub fn deadline() -> Option<tokio::time::Instant> {
    DEADLINE.try_with(|d| *d).ok()
}
