/// Structured JSON logs for CloudWatch; level from `RUST_LOG` (default `info`). Request
/// bodies and tokens are never logged anywhere in this workspace.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
}
