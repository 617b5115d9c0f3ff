//! telltale: the library every Lambda function of the bundle links. Layers, each importing only
//! the ones below it (`scripts/deps.py` draws the graph and fails on a cycle):
//!
//! 1. `base`: errors, environment and secrets, deadlines, intervals, telemetry; knows nobody.
//! 2. Domains: `auth`, `probes`, `metrics`, `accounting`, `collectors`, `heartbeat`. Each has its
//!    model and rules, its `config.rs`, and its `ports.rs`: the traits it needs from the outside
//!    world. No SDK, no HTTP client, no Lambda type.
//! 3. `adapters`: the ports implemented on DynamoDB, S3, SES, SSM, Prometheus, InfluxDB,
//!    Pushgateway, Monasca/Keystone, the EOSC Accounting Service and the OIDC token endpoint.
//! 4. Entrypoints: `http` (each function's routes, the one error-to-status mapping) and `jobs`
//!    (the scheduled functions' handlers), generic over the ports.
//! 5. `wiring`: builds each deployed function's stack from the environment, once per cold start.

pub mod accounting;
pub mod adapters;
pub mod auth;
pub mod base;
pub mod collectors;
pub mod heartbeat;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod outbox;
pub mod probes;
pub mod wiring;

pub use base::error::{Dependency, Error, Result};
