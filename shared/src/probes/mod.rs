//! Probe candidates: POEM's submission rules, the candidate model, the emails, the outbox, and
//! the routes of `probe-submit`.

pub mod api;
pub mod email;
pub mod model;
pub mod outbox;
pub mod ports;
pub mod status;
pub mod submit;
pub mod validate;
