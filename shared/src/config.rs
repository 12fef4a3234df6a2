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

/// The SDK configuration from the standard chain: `AWS_ENDPOINT_URL` (moto locally), region,
/// credentials. `LOCAL_AWS_ENDPOINT` does the same for `sam local`, which only passes on
/// variables the template declares (the template declares it empty; empty means unset).
#[cfg(feature = "aws")]
pub async fn aws() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Ok(endpoint) = env("LOCAL_AWS_ENDPOINT") {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
