//! The sample events of a function (`events/<function>/*.json`), with the status each one's
//! file name announces (`name.<status>.json`).

use super::repo_root;
use lambda_http::Request;

pub struct SampleEvent {
    pub name: String,
    pub request: Request,
    pub expected_status: u16,
}

pub fn sample_events(function: &str) -> Vec<SampleEvent> {
    let dir = repo_root().join("events").join(function);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("listing events").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let expected_status = name
                .rsplit('.')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{name}: name it <case>.<status>.json"));
            let text = std::fs::read_to_string(&file).expect("reading an event");
            let request = lambda_http::request::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
            SampleEvent {
                name,
                request,
                expected_status,
            }
        })
        .collect()
}
