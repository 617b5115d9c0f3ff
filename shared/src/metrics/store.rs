//! The mapping files as a warm container sees them: fetched at cold start (from S3 as
//! deployed), re-checked
//! with a conditional GET at most once per interval, and replaced only by a version that
//! validated completely. A bad upload is logged and ignored; the last good version keeps serving.

use super::mappings::{MetadataMappings, MetricsMappings, Problem};
use super::parse::{parse_metadata, parse_metrics};
use super::ports::{Fetched, MappingSource};
use crate::base::error::{Dependency, Error, Result};
use crate::metrics::config::MappingsConfig;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// While a file has never loaded, retry this often rather than once per full interval, so a
/// bucket fixed by an operator is picked up quickly.
const RETRY_WHILE_EMPTY: Duration = Duration::from_secs(1);

/// A validated version of one mapping file.
#[derive(Debug)]
pub struct Version<T> {
    pub value: T,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub loaded_at: String,
}

struct FileState<T> {
    key: String,
    good: Option<Arc<Version<T>>>,
    /// ETag of the last version fetched, good or rejected, so a rejected upload is not
    /// downloaded and parsed again at every revalidation.
    seen_etag: Option<String>,
    last_error: Option<String>,
    /// Problems found in the newest upload when it was rejected; 0 once a version loads.
    rejected_problems: usize,
}

impl<T> FileState<T> {
    fn new(key: &str) -> Self {
        Self {
            key: key.to_string(),
            good: None,
            seen_etag: None,
            last_error: None,
            rejected_problems: 0,
        }
    }

    fn health(&self, bucket: &str) -> FileHealth {
        FileHealth {
            bucket: bucket.to_string(),
            key: self.key.clone(),
            loaded: self.good.is_some(),
            etag: self.good.as_ref().and_then(|g| g.etag.clone()),
            last_modified: self.good.as_ref().and_then(|g| g.last_modified.clone()),
            loaded_at: self.good.as_ref().map(|g| g.loaded_at.clone()),
            last_error: self.last_error.clone(),
            validation_errors: self.rejected_problems,
        }
    }

    fn current(&self, what: &str) -> Result<Arc<Version<T>>, String> {
        self.good.clone().ok_or_else(|| {
            format!(
                "{what} mappings are not loaded: {}",
                self.last_error.as_deref().unwrap_or("not fetched yet")
            )
        })
    }
}

struct State {
    metadata: FileState<MetadataMappings>,
    metrics: FileState<MetricsMappings>,
    checked_at: Option<Instant>,
}

pub struct MappingStore {
    source: Box<dyn MappingSource>,
    config: MappingsConfig,
    state: Mutex<State>,
}

/// What a request works with: each file's current good version, or why there is none.
pub struct View {
    pub metadata: Result<Arc<Version<MetadataMappings>>, String>,
    pub metrics: Result<Arc<Version<MetricsMappings>>, String>,
}

impl View {
    pub fn metadata(&self) -> Result<&MetadataMappings> {
        self.metadata
            .as_ref()
            .map(|v| &v.value)
            .map_err(|e| Error::unavailable(Dependency::Mappings, e.clone()))
    }

    pub fn metrics(&self) -> Result<&MetricsMappings> {
        self.metrics
            .as_ref()
            .map(|v| &v.value)
            .map_err(|e| Error::unavailable(Dependency::Mappings, e.clone()))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileHealth {
    /// Not shown: the bucket's name is the deployment's business, not the caller's.
    #[serde(skip)]
    pub bucket: String,
    pub key: String,
    pub loaded: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub loaded_at: Option<String>,
    pub last_error: Option<String>,
    /// How many problems the newest upload had, when it was rejected (0 when it loaded).
    pub validation_errors: usize,
}

#[derive(Debug, Serialize)]
pub struct Health {
    /// `UP` when both files have a good version (even if a newer upload was rejected).
    pub status: &'static str,
    pub mappings: HealthFiles,
}

#[derive(Debug, Serialize)]
pub struct HealthFiles {
    pub metadata: FileHealth,
    pub metrics: FileHealth,
}

impl MappingStore {
    pub fn new(source: impl MappingSource + 'static, config: MappingsConfig) -> Self {
        let state = State {
            metadata: FileState::new(&config.metadata_key),
            metrics: FileState::new(&config.metrics_key),
            checked_at: None,
        };
        Self {
            source: Box::new(source),
            config,
            state: Mutex::new(state),
        }
    }

    /// The current versions, revalidating first when the interval has passed.
    pub async fn view(&self) -> View {
        let mut state = self.state.lock().await;
        self.revalidate_if_due(&mut state).await;
        View {
            metadata: state.metadata.current("metadata"),
            metrics: state.metrics.current("metrics"),
        }
    }

    /// Cold-start work: loads the mappings before the first request, giving up after `budget`
    /// (Lambda's init phase is limited to 10 s; a slow S3 must not make the whole start fail).
    /// What was not loaded in time is loaded by the first request.
    pub async fn prefetch(&self, budget: std::time::Duration) {
        let started = std::time::Instant::now();
        if tokio::time::timeout(budget, self.view()).await.is_ok() {
            // The share of the cold start that is S3 and validation (`make bench-cold` reads it).
            tracing::info!(
                prefetch_ms = started.elapsed().as_secs_f64() * 1000.0,
                "mappings prefetched"
            );
        } else {
            tracing::warn!(
                budget_ms = budget.as_millis() as u64,
                "the mappings did not load at cold start; the first request loads them"
            );
        }
    }

    pub async fn health(&self) -> Health {
        let mut state = self.state.lock().await;
        self.revalidate_if_due(&mut state).await;
        let metadata = state.metadata.health(&self.config.bucket);
        let metrics = state.metrics.health(&self.config.bucket);
        Health {
            status: if metadata.loaded && metrics.loaded {
                "UP"
            } else {
                "DOWN"
            },
            mappings: HealthFiles { metadata, metrics },
        }
    }

    async fn revalidate_if_due(&self, state: &mut State) {
        let empty = state.metadata.good.is_none() || state.metrics.good.is_none();
        let interval = if empty {
            self.config.revalidate_after.min(RETRY_WHILE_EMPTY)
        } else {
            self.config.revalidate_after
        };
        if state.checked_at.is_some_and(|t| t.elapsed() < interval) {
            return;
        }
        let (metadata, metrics) = (&mut state.metadata, &mut state.metrics);
        tokio::join!(
            refresh(self.source.as_ref(), metadata, parse_metadata),
            refresh(self.source.as_ref(), metrics, parse_metrics),
        );
        state.checked_at = Some(Instant::now());
    }
}

async fn refresh<T>(
    source: &dyn MappingSource,
    file: &mut FileState<T>,
    parse: fn(&[u8]) -> Result<T, Vec<Problem>>,
) {
    let bucket = source.place();
    let fetched = source.fetch(&file.key, file.seen_etag.as_deref()).await;
    match fetched {
        Ok(Fetched::NotModified) => {}
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        }) => {
            file.seen_etag = etag.clone();
            match parse(&bytes) {
                Ok(value) => {
                    tracing::info!(bucket, key = %file.key, etag = etag.as_deref().unwrap_or(""), "mapping file loaded");
                    file.good = Some(Arc::new(Version {
                        value,
                        etag,
                        last_modified,
                        loaded_at: OffsetDateTime::now_utc()
                            .format(&Rfc3339)
                            .unwrap_or_default(),
                    }));
                    file.last_error = None;
                    file.rejected_problems = 0;
                }
                Err(problems) => {
                    let listed: Vec<String> = problems.iter().map(Problem::to_string).collect();
                    let message = format!(
                        "{bucket}/{} (ETag {}) was rejected, {} problem(s): {}",
                        file.key,
                        etag.as_deref().unwrap_or("none"),
                        problems.len(),
                        listed.join("; ")
                    );
                    tracing::error!(bucket, key = %file.key, kept_previous = file.good.is_some(), "{message}");
                    // The problems quote the file (queries included): the log has them, callers
                    // get the count.
                    file.last_error = Some(format!(
                        "{} (ETag {}) was rejected with {} problem(s); the log and `telltale mappings validate` list them",
                        file.key,
                        etag.as_deref().unwrap_or("none"),
                        problems.len()
                    ));
                    file.rejected_problems = problems.len();
                }
            }
        }
        Err(message) => {
            tracing::error!(bucket, key = %file.key, kept_previous = file.good.is_some(), "{message}");
            // A transport failure says nothing about the object; keep the ETag we had.
            file.last_error = Some(message);
        }
    }
}
