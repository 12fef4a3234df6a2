use fallback_fn::handle;
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    run(service_fn(|req| async { Ok::<_, Error>(handle(req)) })).await
}
