//! Every port of the library in memory, for the fast tier (`make test-fast`): no process, no
//! socket. Each keeps the guarantee its real adapter gives (conditional writes, atomic
//! counters, leases, ETags), so a rule tested here behaves as it does on DynamoDB, S3 or SES;
//! what only the real service can prove stays in the service tests. Every store can be told to
//! fail, as a dependency that is down would.

mod accounting;
mod collectors;
mod heartbeat;
mod metrics;
mod probes;
mod worlds;

pub use accounting::*;
pub use collectors::*;
pub use heartbeat::*;
pub use metrics::*;
pub use probes::*;
pub use worlds::*;

use std::sync::{Arc, Mutex};
use telltale::base::error::{Dependency, Error, Result};

/// Shared switch: while set, every call of the store fails as an unreachable DynamoDB would.
#[derive(Clone, Default)]
pub struct Outage(Arc<Mutex<bool>>);

impl Outage {
    pub fn set(&self, down: bool) {
        *self.0.lock().unwrap() = down;
    }

    fn check(&self, what: &str) -> Result<()> {
        if *self.0.lock().unwrap() {
            return Err(Error::unavailable(
                Dependency::DynamoDb,
                format!("{what}: not reachable"),
            ));
        }
        Ok(())
    }
}
