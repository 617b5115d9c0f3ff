//! The Metrics Acquisition System: mapping files, their loading, the computation language, and
//! the lookups behind the metric routes (served by `http::metrics`).

pub mod catalog;
pub mod config;
pub mod expr;
pub mod mappings;
pub mod parse;
pub mod ports;
pub mod promql;
pub mod store;
pub mod value;
