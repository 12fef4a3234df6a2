use accept_fn::{handle, Deps};
use lambda_http::{run, service_fn, Error};
use shared::config::{aws, env};
use shared::domain::SystemClock;
use shared::identity::Directory;
use shared::store::{Store, Tables};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = aws()?;
    let deps = Deps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&cfg), Tables::from_env()?),
        directory: Directory::new(
            aws_sdk_cognitoidentityprovider::Client::new(&cfg),
            env("USER_POOL_ID")?,
        ),
        clock: Arc::new(SystemClock),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, req).await)
    }))
    .await
}
