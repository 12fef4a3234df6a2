use authorizer_fn::{handle, Settings, Verifier};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::config::env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let issuer = env("TOKEN_ISSUER")?;
    let verifier = Verifier::new(Settings {
        jwks_url: std::env::var("JWKS_URL")
            .unwrap_or_else(|_| format!("{issuer}/.well-known/jwks.json")),
        issuer,
        client_id: env("USER_POOL_CLIENT_ID")?,
    });
    run(service_fn(|ev: LambdaEvent<_>| async {
        Ok::<_, Error>(handle(&verifier, ev.payload).await)
    }))
    .await
}
