use lambda_runtime::{service_fn, Error, LambdaEvent};
use mail_events_fn::{handle, Deps};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move {
        // An error only where the event must come again (the table could not be written, or
        // the invite's email id is not there yet): Lambda retries it twice (EventInvokeConfig),
        // then keeps it in the failed-mail-events queue.
        let done = handle(deps, &ev.payload).await?;
        Ok::<_, Error>(serde_json::to_value(done)?)
    }))
    .await
}
