use audit_fn::{handle, Deps};
use lambda_http::{run, service_fn, Error};
use shared::config::aws;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = aws()?;
    let deps = Deps {
        store: Store::from_env(&cfg)?,
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, req).await)
    }))
    .await
}
