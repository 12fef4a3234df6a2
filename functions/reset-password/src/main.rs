use lambda_http::{run, service_fn, Error};
use reset_password_fn::{handle, Deps};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let verifier = shared::auth::Verifier::from_env()?;
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, &verifier, req).await)
    }))
    .await
}
