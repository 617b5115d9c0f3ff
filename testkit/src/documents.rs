//! The documents declared collectors read, served locally: `tests/fixtures/collectors/`, laid
//! out by host (`/<host>/<path>`, as `telltale collect localize` points the examples), and a
//! few answers no real site should give: `/faults/status/503`, `/faults/html` (a 200 that is
//! not JSON), `/faults/slow` (answers after 5 s), `/faults/big` (11 MB).

use super::{repo_root, serve};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;

/// The fixtures' folder.
pub fn fixtures() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/collectors")
}

async fn fixture(Path(path): Path<String>) -> Response {
    if path.split('/').any(|s| s == ".." || s.is_empty()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(fixtures().join(&path)).await {
        Ok(body) => ([("content-type", "application/json")], body).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
    }
}

/// Serves the fixtures and the faults; the base URL.
pub async fn documents() -> String {
    let app = Router::new()
        .route(
            "/faults/status/503",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream is down for maintenance\n",
                )
            }),
        )
        .route(
            "/faults/html",
            get(|| async { "<html><body>token=do-not-echo</body></html>" }),
        )
        .route(
            "/faults/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "{}"
            }),
        )
        .route(
            "/faults/big",
            get(|| async { format!("[{}0]", "0,".repeat(11 * 512 * 1024)) }),
        )
        .route("/{*path}", get(fixture));
    serve(app).await
}

/// The compiled-in declarations pointed at `base`, written to a file of its own.
pub fn localized_declarations(base: &str) -> std::path::PathBuf {
    let text = telltale_cli::fixtures::localized(telltale::collectors::registry::COMPILED, base);
    let path = std::env::temp_dir().join(format!("{}.yaml", super::unique("collectors")));
    std::fs::write(&path, text).expect("writing the declarations");
    path
}
