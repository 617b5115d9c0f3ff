//! The bottom layer: what every other module uses and that uses none of them.

pub mod deadline;
pub mod env;
pub mod error;
pub mod interval;
pub mod json;
pub mod telemetry;
pub mod text;
pub mod time;
