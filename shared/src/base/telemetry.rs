//! JSON logs for CloudWatch. `lambda_runtime` opens a span per invocation carrying the request
//! id; printing the current span puts that id on every line.

use std::sync::OnceLock;
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

/// The function's name for its one line per invocation: Lambda's (and `cargo lambda watch`'s)
/// `AWS_LAMBDA_FUNCTION_NAME`, else the binary's file name; read once.
pub fn function_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .or_else(|| {
                let exe = std::env::current_exe().ok()?;
                Some(exe.file_stem()?.to_string_lossy().into_owned())
            })
            .unwrap_or_default()
    })
}

/// A duration in milliseconds, to a tenth, for a line's `duration_ms`.
pub fn millis(took: std::time::Duration) -> f64 {
    (took.as_secs_f64() * 10_000.0).round() / 10.0
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

/// The JSON lines `run` logs, as `init` would write them, for the library's own tests.
#[cfg(test)]
pub(crate) async fn captured<T>(
    run: impl std::future::Future<Output = T>,
) -> (T, Vec<serde_json::Value>) {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .with_writer(move || writer.clone());
    let subscriber = tracing_subscriber::registry()
        .with(json)
        .with(Targets::new().with_default(LevelFilter::DEBUG));
    let guard = tracing::subscriber::set_default(subscriber);
    let out = run.await;
    drop(guard);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let parsed = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, parsed)
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
