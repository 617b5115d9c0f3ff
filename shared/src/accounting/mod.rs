//! Pushing metric values to the EOSC Accounting Service, with an OIDC access token kept fresh.

pub mod config;
pub mod model;
pub mod ports;
pub mod push;
pub mod service;
pub mod token;
