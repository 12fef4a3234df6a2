use expire_invites_fn::{run, Deps};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// Pages per run: 100 invites each, well inside the function's timeout; an hourly schedule
/// picks up any remainder.
const MAX_PAGES: usize = 50;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move {
        let summary = run(deps, &ev.context.request_id, MAX_PAGES).await;
        Ok::<_, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
