//! The Metrics Acquisition System: mapping files, their loading, and the lookups behind the
//! metric routes.

pub mod api;
pub mod catalog;
pub mod expr;
pub mod mappings;
pub mod prometheus;
pub mod store;
pub mod value;
