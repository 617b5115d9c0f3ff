//! The heartbeat monitor (the seed's monasca-monitor, serverless): an end-to-end liveness loop.
//!
//! - `source.rs`: the scheduled `heartbeat-source` function's beat, sent to every sink port
//!   (Pushgateway, InfluxDB, Monasca);
//! - `webhook.rs`: what `POST /heartbeat` accepts (Monasca, Alertmanager, plain ping);
//! - `check.rs`: named checks as healthchecks.io has them, and their pings;
//! - `state.rs`: a check's state machine (ping or clock in, state and flip out);
//! - `schedule.rs`: when a ping is due (a period, or cron in a time zone);
//! - `ping.rs`: healthchecks.io's ping URLs, and the job output a ping keeps;
//! - `receive.rs`: a ping received: recorded, its state settled, logged;
//! - `notice.rs`: what a check's channels hear of a flip (email, webhook, Alertmanager);
//! - `channel.rs`: where a check's notices go;
//! - `sweep.rs`: the scheduled `heartbeat-sweep`: the clock's flips, and the notices delivered;
//! - `ports.rs`: the store the routes need, and the sink a beat is sent to;
//! - `exposition.rs`: `GET /heartbeat/metrics`;
//! - `config.rs`: the configuration; the routes are `http::heartbeat`.

pub mod alarm_setup;
pub mod channel;
pub mod check;
pub mod config;
pub mod exposition;
pub mod notice;
pub mod ping;
pub mod ports;
pub mod receive;
pub mod schedule;
pub mod source;
pub mod state;
pub mod sweep;
pub mod webhook;
