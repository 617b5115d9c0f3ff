//! The ports of the domains, implemented on real services. An adapter imports the domain it
//! serves; no domain imports an adapter.
//!
//! - `aws`: the SDK clients, DynamoDB tables (candidates and outbox, keys, accounting,
//!   heartbeats), S3 mapping files, SES, SSM parameters;
//! - `prometheus`: the instant-query API;
//! - `documents`: the declared collectors' GETs;
//! - `influx`: InfluxDB 1.x and 2.x writes (the collectors' and heartbeat's sink);
//! - `pushgateway`, `monasca`: the heartbeat source's other sinks;
//! - `notify`: the heartbeat notices' webhook and Alertmanager channels;
//! - `eosc`: the EOSC Accounting Service's metric endpoint and the OIDC token endpoint;
//! - `timing`: the one log line per dependency call, for all of them.

pub mod aws;
pub mod documents;
pub mod eosc;
pub mod influx;
pub mod monasca;
pub mod notify;
pub mod prometheus;
pub mod pushgateway;
pub mod timing;
