use lambda_runtime::{service_fn, Error, LambdaEvent};
use reconcile_signin_fn::{run, Deps};
use serde_json::Value;

/// Pages per run: 100 markers each, well inside the function's timeout; the next scheduled
/// run picks up any remainder.
const MAX_PAGES: usize = 10;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        Ok::<_, Error>(serde_json::to_value(run(deps, MAX_PAGES).await)?)
    }))
    .await
}
