use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::config::{aws, env};
use shared::domain::SystemClock;
use shared::mail::Mailer;
use shared::store::{Store, Tables};
use std::sync::Arc;
use tenant_admin_fn::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = aws()?;
    let deps = Deps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&cfg), Tables::from_env()?),
        mailer: Mailer::new(
            aws_sdk_sesv2::Client::new(&cfg),
            shared::config::sender_address(&env("SENDER_EMAIL")?)?,
        )
        .with_send_rate_from_env()?,
        clock: Arc::new(SystemClock),
        app_url: env("APP_URL")?,
        pricing_url: env("PRICING_URL")?,
    };
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
