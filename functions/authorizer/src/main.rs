use authorizer_fn::{handle, Settings, Verifier};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::config::env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let issuer = env("TOKEN_ISSUER")?;
    let verifier = Verifier::new(Settings {
        // Empty means the pool's own JWKS (sam local sets it to the emulator's).
        jwks_url: env("JWKS_URL").unwrap_or_else(|_| format!("{issuer}/.well-known/jwks.json")),
        issuer,
        client_id: env("USER_POOL_CLIENT_ID")?,
    });
    run(service_fn(|ev: LambdaEvent<_>| async {
        handle(&verifier, ev.payload).await.map_err(Error::from)
    }))
    .await
}
