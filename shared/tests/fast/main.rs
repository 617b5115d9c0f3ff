//! The fast tier (`make test-fast`): the library's rules through its routes and jobs on the
//! in-memory ports of `telltale_testkit::memory`. No process is started and no socket opened,
//! so it runs with no network at all (`unshare -n make test-fast`).

mod accounting;
mod collectors;
mod config;
mod events;
mod fuzz;
mod heartbeat;
mod heartbeat_source;
mod hostile;
mod metrics;
mod pings;
mod probes;
mod sweep;
