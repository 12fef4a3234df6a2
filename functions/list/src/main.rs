use lambda_http::{run, service_fn, Error};
use list_fn::{handle, Deps};
use shared::config::{aws, env};
use shared::domain::SystemClock;
use shared::store::Store;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = aws()?;
    let deps = Deps {
        store: Store::from_env(&cfg)?,
        clock: Arc::new(SystemClock),
        pricing_url: env("PRICING_URL")?,
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, req).await)
    }))
    .await
}
