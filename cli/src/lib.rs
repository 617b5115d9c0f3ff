//! What the `telltale` command is made of beyond its argument parsing: the probe API client and
//! its tables, the local stack's tables and buckets, the collectors' template section, mapping
//! problems located in the file, and terminal-safe printing of stored text.

pub mod client;
pub mod emails;
pub mod fixtures;
pub mod locate;
pub mod stores;
pub mod tables;
pub mod template;
pub mod terminal;
