//! The Metrics Acquisition System: mapping files, their loading, and the lookups behind the
//! metric routes.

pub mod api;
pub mod catalog;
pub mod locate;
pub mod mappings;
pub mod store;
