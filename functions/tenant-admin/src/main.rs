use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tenant_admin_fn::{handle, Deps};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps::from_env()?;
    let deps = &deps;
    run(service_fn(move |ev: LambdaEvent<Value>| async move {
        // A refused request is a function error whose message is the problem document.
        let answer_by = shared::config::answer_by(ev.context.deadline());
        handle(deps, ev.payload, &ev.context.request_id, answer_by)
            .await
            .map_err(|e| Error::from(serde_json::to_string(&e.problem()).unwrap_or_default()))
    }))
    .await
}
