//! The heartbeat monitor (the seed's monasca-monitor, serverless): an end-to-end liveness loop.
//!
//! - `source/`: the scheduled `heartbeat-source` function's sinks (Pushgateway, InfluxDB,
//!   Monasca with a Keystone token);
//! - `webhook.rs`: what `POST /heartbeat` accepts (Monasca, Alertmanager, plain ping);
//! - `check.rs`: named checks as healthchecks.io has them, and their pings;
//! - `ports.rs`: the store the routes need (DynamoDB adapter in `aws::heartbeat`);
//! - `exposition.rs`: `GET /heartbeat/metrics`;
//! - `api.rs`: the routes; `config.rs`: their configuration.

pub mod api;
pub mod check;
pub mod config;
pub mod exposition;
pub mod ports;
pub mod source;
pub mod webhook;
