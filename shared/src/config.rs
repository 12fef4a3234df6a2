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

/// `SENDER_DOMAIN` (the template's `SenderDomain`, verified as a domain identity with Easy
/// DKIM): the sender must be an address in it, or SES would refuse every send (the address
/// has no identity of its own) and DMARC could never align. Refused at start-up.
pub fn sender_in_domain(sender: &str, domain: Option<&str>) -> Result<(), ConfigError> {
    let Some(domain) = domain.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let at = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if at.eq_ignore_ascii_case(domain.trim_end_matches('.')) {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "SENDER_EMAIL ({sender} is not an address in SENDER_DOMAIN {domain})"
        )))
    }
}

/// The roots every AWS endpoint we call chains to (Amazon Trust Services: Amazon Root CA 1–4
/// and the Starfield Services G2 cross-sign), from amazontrust.com/repository. Trusting these
/// alone, compiled in, instead of the platform store is what keeps start-up near a hello
/// world's: loading the platform store reads and parses a few hundred files on every cold
/// start. The only other HTTPS peer is the Cognito JWKS endpoint, which is AWS too.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");

/// The same roots in DER, for the TLS clients we build ourselves (the token verifier's JWKS
/// fetch): handing rustls DER skips parsing the PEM text at every cold start, about as long
/// as reading the roots themselves. The SDK's client takes PEM only. A test holds the two
/// equal, in order.
pub const AMAZON_TRUST_SERVICES_DER: [&[u8]; 5] = [
    include_bytes!("../certs/amazon-root-ca-1.der"),
    include_bytes!("../certs/amazon-root-ca-2.der"),
    include_bytes!("../certs/amazon-root-ca-3.der"),
    include_bytes!("../certs/amazon-root-ca-4.der"),
    include_bytes!("../certs/starfield-services-root-certificate-authority-g2.der"),
];

/// Per-call limits. The SDK sets none by default, so a call that hangs would hold a function
/// until Lambda kills it at its timeout (10 s) with nothing answered. An attempt gets 3 s
/// (AWS answers these calls in milliseconds), the call with its retries 8 s, so a request
/// answers 503 (and converges what it can) before its function is killed.
#[cfg(feature = "aws")]
pub fn timeouts() -> aws_types::sdk_config::TimeoutConfig {
    aws_types::sdk_config::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(8))
        .build()
}

/// The SDK configuration of a deployed function, from the variables Lambda sets and nothing
/// else: region (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `sam local` sets them too), the standard
/// retry mode (3 attempts, what `aws-config` picks when nothing overrides it), our timeouts and
/// the bundled roots. `AWS_ENDPOINT_URL` points it at moto; `LOCAL_AWS_ENDPOINT` does under
/// `sam local`, which only passes on variables the template declares (the template declares
/// it empty; empty means unset).
///
/// Built by hand rather than by `aws-config`: its loader looks for profile files, web
/// identity, SSO, container and instance metadata and a dozen more variables on every cold
/// start, none of which exist on Lambda, and it links STS. A missing variable refuses to start
/// instead of failing the first call. `tests/tests/config.rs` holds this equal to what
/// `aws-config`'s default chain makes of the same environment.
#[cfg(feature = "aws")]
pub fn aws() -> Result<aws_types::SdkConfig, ConfigError> {
    sdk_config(|name| env(name).ok())
}

/// `aws` over any source of variables, so it can be tested without touching the process's.
#[cfg(feature = "aws")]
#[allow(
    clippy::expect_used,
    reason = "the TLS context is built from constant settings; a failure is a build defect, seen at the first cold start"
)]
pub fn sdk_config(
    var: impl Fn(&str) -> Option<String>,
) -> Result<aws_types::SdkConfig, ConfigError> {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    use aws_types::sdk_config::{RetryConfig, SharedCredentialsProvider};
    let need = |name: &str| var(name).ok_or_else(|| ConfigError(name.to_string()));
    let credentials = aws_credential_types::Credentials::new(
        need("AWS_ACCESS_KEY_ID")?,
        need("AWS_SECRET_ACCESS_KEY")?,
        var("AWS_SESSION_TOKEN"),
        None,
        "LambdaEnvironment",
    );
    let tls = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM))
        .build()
        .expect("the bundled roots are valid PEM");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https();
    let http =
        aws_smithy_runtime_api::client::http::SharedHttpClient::new(NoThrowawayConnector(http));
    let mut builder = aws_types::SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(aws_types::region::Region::new(need("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard())
        .time_source(aws_types::sdk_config::SharedTimeSource::default());
    builder.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    if let Some(endpoint) = var("LOCAL_AWS_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL")) {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// The SDK's HTTPS client without its start-up check. Every SDK client's construction calls
/// `validate_base_client_config`, which in `aws-smithy-http-client` builds a whole connector
/// (our roots parsed from PEM, a rustls configuration, a hyper client) and drops it, only so
/// that the platform's certificate store is loaded at start rather than on the first call. We
/// trust compiled-in roots and load no platform store, so those builds were pure waste: two
/// per function with two clients, about 0.1 ms of every cold start (docs/benchmarks.md,
/// attempts table). The connector a call uses is built and cached by `http_connector` on the
/// first call, as before.
#[cfg(feature = "aws")]
#[derive(Debug)]
struct NoThrowawayConnector(aws_smithy_runtime_api::client::http::SharedHttpClient);

#[cfg(feature = "aws")]
impl aws_smithy_runtime_api::client::http::HttpClient for NoThrowawayConnector {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
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

#[cfg(test)]
mod tests {
    use super::sender_in_domain;

    /// An SDK client's construction asks its HTTP client to check itself (the check that
    /// built and dropped a connector); wrapped, the check never reaches the inner client.
    #[cfg(feature = "dynamo")]
    #[test]
    fn building_a_client_asks_no_connector_of_the_wrapped_http_client() {
        use aws_sdk_dynamodb::config::ConfigBag;
        use aws_smithy_runtime_api::box_error::BoxError;
        use aws_smithy_runtime_api::client::http::{
            HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
        };
        use aws_smithy_runtime_api::client::runtime_components::{
            RuntimeComponents, RuntimeComponentsBuilder,
        };
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        #[derive(Debug)]
        struct Checked(SharedHttpClient, Arc<AtomicUsize>);
        impl HttpClient for Checked {
            fn http_connector(
                &self,
                settings: &HttpConnectorSettings,
                components: &RuntimeComponents,
            ) -> SharedHttpConnector {
                self.0.http_connector(settings, components)
            }
            fn validate_base_client_config(
                &self,
                _: &RuntimeComponentsBuilder,
                _: &ConfigBag,
            ) -> Result<(), BoxError> {
                self.1.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
        let client_with = |http: SharedHttpClient| {
            let conf = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
                .http_client(http)
                .build();
            aws_sdk_dynamodb::Client::from_conf(conf)
        };
        let inner = || aws_smithy_http_client::Builder::new().build_http();
        let checks = Arc::new(AtomicUsize::new(0));
        let _bare = client_with(SharedHttpClient::new(Checked(inner(), checks.clone())));
        assert_eq!(
            checks.load(Ordering::SeqCst),
            1,
            "the SDK asks for the check"
        );
        let wrapped = SharedHttpClient::new(super::NoThrowawayConnector(SharedHttpClient::new(
            Checked(inner(), checks.clone()),
        )));
        let _client = client_with(wrapped);
        assert_eq!(checks.load(Ordering::SeqCst), 1, "the wrapper skips it");
    }

    #[cfg(feature = "auth")]
    #[test]
    fn the_der_roots_are_the_pem_roots() {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let pem: Vec<Vec<u8>> =
            CertificateDer::pem_slice_iter(super::AMAZON_TRUST_SERVICES_PEM.as_bytes())
                .map(|c| c.unwrap().to_vec())
                .collect();
        let der: Vec<Vec<u8>> = super::AMAZON_TRUST_SERVICES_DER
            .iter()
            .map(|d| d.to_vec())
            .collect();
        assert_eq!(pem.len(), 5);
        assert_eq!(der, pem);
    }

    #[test]
    fn the_sender_must_be_in_the_verified_domain_when_one_is_set() {
        assert!(sender_in_domain("no-reply@veloconnect.io", None).is_ok());
        assert!(sender_in_domain("no-reply@veloconnect.io", Some("")).is_ok());
        assert!(sender_in_domain("no-reply@veloconnect.io", Some("veloconnect.io")).is_ok());
        assert!(sender_in_domain("no-reply@veloconnect.io", Some("VeloConnect.IO.")).is_ok());
        let e = sender_in_domain("no-reply@mail.veloconnect.io", Some("veloconnect.io"))
            .expect_err("a subdomain is another identity");
        assert!(e.0.contains("SENDER_DOMAIN veloconnect.io"), "{}", e.0);
        assert!(sender_in_domain("no-reply@other.example", Some("veloconnect.io")).is_err());
    }
}
