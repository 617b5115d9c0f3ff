//! JSON logs for CloudWatch. `lambda_runtime` opens a span per invocation carrying the request
//! id; printing the current span puts that id on every line.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Call once at the top of `main`. `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) sets the level.
pub fn init() {
    let filter = filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true);
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter)
        .try_init();
}

/// `RUST_LOG` as `info` or per target (`warn,telltale=debug`); if unset or unreadable, Lambda's
/// `AWS_LAMBDA_LOG_LEVEL` (`INFO`, `DEBUG`, ...); else `info`. `Targets` reads that syntax
/// without the regex engine `EnvFilter` would link into every binary (span-field directives
/// are not supported; nobody here uses them).
pub fn filter_from(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    rust_log
        .and_then(|s| s.parse::<Targets>().ok())
        .or_else(|| lambda_level.and_then(|l| l.to_lowercase().parse::<Targets>().ok()))
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn levels_come_from_rust_log_then_lambda_then_info() {
        let f = filter_from(Some("warn,telltale=debug"), Some("ERROR"));
        assert!(f.would_enable("telltale::probes", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        let f = filter_from(None, Some("DEBUG"));
        assert!(f.would_enable("anything", &Level::DEBUG));
        let f = filter_from(Some("not a level=="), None);
        assert!(f.would_enable("anything", &Level::INFO));
        assert!(!f.would_enable("anything", &Level::DEBUG));
    }
}
