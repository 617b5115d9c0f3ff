//! The heartbeat monitor (the seed's monasca-monitor, serverless): an end-to-end liveness loop.
//!
//! - `source.rs`: the scheduled `heartbeat-source` function's beat, sent to every sink port
//!   (Pushgateway, InfluxDB, Monasca);
//! - `webhook.rs`: what `POST /heartbeat` accepts (Monasca, Alertmanager, plain ping);
//! - `check.rs`: named checks as healthchecks.io has them, and their pings;
//! - `ports.rs`: the store the routes need, and the sink a beat is sent to;
//! - `exposition.rs`: `GET /heartbeat/metrics`;
//! - `config.rs`: the configuration; the routes are `http::heartbeat`.

pub mod check;
pub mod config;
pub mod exposition;
pub mod ports;
pub mod source;
pub mod webhook;
