//! Probe candidates: POEM's submission rules, the candidate model and its lifecycle, the emails
//! and the outbox (served by `http::probes`, retried by `jobs::email_retry`).

pub mod change;
pub mod config;
pub mod cursor;
pub mod details;
pub mod email;
pub mod listing;
pub mod model;
pub mod outbox;
pub mod ports;
pub mod status;
pub mod submit;
pub mod validate;
