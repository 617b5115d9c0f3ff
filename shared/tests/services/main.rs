//! The library against real local services (moto's DynamoDB, S3, SES and SSM; Prometheus with
//! backfilled data; InfluxDB; Pushgateway; the HTTP doubles of the services that cannot run
//! here): what only a real service proves. One test binary, so CI links the SDK once for all.
//! The rules themselves are tested without any service in `../fast`.

mod accounting;
mod api_keys;
mod collectors;
mod declared;
mod hardening;
mod heartbeat;
mod heartbeat_source;
mod influx_sink;
mod mapping_store;
mod metric_value;
mod monasca;
mod pings;
mod probe_status;
mod probe_submit;
mod stores;
mod validate_cli;
