use invite_fn::{handle, Deps};
use lambda_http::{run, service_fn, Error};
use shared::config::{aws, env};
use shared::domain::SystemClock;
use shared::mail::Mailer;
use shared::store::{Store, Tables};
use std::sync::Arc;

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
    run(service_fn(|req| async {
        Ok::<_, Error>(handle(&deps, req).await)
    }))
    .await
}
