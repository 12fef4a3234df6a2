use accept_fn::{handle, Deps};
use lambda_http::{run, service_fn, Error};
use shared::config::aws;
use shared::domain::SystemClock;
use shared::identity::Directory;
use shared::store::Store;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = aws()?;
    let deps = Deps {
        store: Store::from_env(&cfg)?,
        directory: Directory::from_env(&cfg)?,
        clock: Arc::new(SystemClock),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, req).await)
    }))
    .await
}
