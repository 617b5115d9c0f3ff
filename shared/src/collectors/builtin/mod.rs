//! The built-in collectors and their registry. Each reads the bundle's own stores, by key or
//! through an index, never with a scan.

mod accounting_push;
mod email_outbox;
mod mas_catalog;
mod metric_values;
mod probe_pipeline;

use super::Collector;

pub use accounting_push::AccountingPush;
pub use email_outbox::EmailOutbox;
pub use mas_catalog::MasCatalog;
pub use metric_values::MetricValues;
pub use probe_pipeline::ProbePipeline;

/// Every built-in collector, in the order `telltale collect list` shows them.
pub static BUILTINS: [&dyn Collector; 5] = [
    &ProbePipeline,
    &EmailOutbox,
    &MetricValues,
    &MasCatalog,
    &AccountingPush,
];

pub fn find(name: &str) -> Option<&'static dyn Collector> {
    BUILTINS.iter().copied().find(|c| c.name() == name)
}

/// The names, for messages that list what exists.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|c| c.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::interval;

    #[test]
    fn every_builtin_has_a_unique_name_and_a_schedulable_interval() {
        let mut seen = std::collections::HashSet::new();
        for c in BUILTINS {
            assert!(seen.insert(c.name()), "{} twice", c.name());
            assert!(
                c.name()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{}",
                c.name()
            );
            let every = interval::parse(c.interval()).unwrap();
            interval::rate_expression(every).unwrap();
            assert!(!c.description().is_empty());
            assert!(!c.sources().is_empty());
        }
        assert_eq!(find("email_outbox").map(|c| c.interval()), Some("5m"));
        assert!(find("nope").is_none());
    }
}
