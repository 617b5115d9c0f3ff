//! telltale: the library every Lambda function of the bundle links.
//!
//! Organised by concern: `metrics` (mapping files and the metric routes), `auth` (API keys),
//! `aws` (SDK clients and table/bucket access), `http` (routing, responses, the error mapping),
//! `config` (environment), `error` (the error type), `telemetry` (JSON logs).

pub mod accounting;
pub mod auth;
pub mod aws;
pub mod collectors;
pub mod config;
pub mod deadline;
pub mod error;
pub mod heartbeat;
pub mod http;
pub mod metrics;
pub mod probes;
pub mod team_page;
pub mod telemetry;

pub use error::{Dependency, Error, Result};
