//! JSON logs for CloudWatch. `lambda_runtime` opens a span per invocation carrying the request
//! id; printing the current span puts that id on every line.

use tracing_subscriber::{fmt, EnvFilter};

/// Call once at the top of `main`. `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) sets the level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .map_err(|e| e.to_string())
                .and_then(|l| EnvFilter::try_new(l.to_lowercase()).map_err(|e| e.to_string()))
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
}
