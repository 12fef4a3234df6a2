use lambda_runtime::{service_fn, Error, LambdaEvent};
use publish_events_fn::{handle, Deps};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move {
        // Never an error for a record it could not publish: the answer names the first such
        // record (`batchItemFailures`), so the event source mapping retries from there and
        // keeps what came before it as done.
        let done = handle(deps, &ev.payload, std::time::SystemTime::now()).await;
        Ok::<_, Error>(serde_json::to_value(done.answer())?)
    }))
    .await
}
