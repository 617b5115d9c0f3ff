//! Every collector a function knows: the built-ins, then those declared in a file — the one
//! compiled in from `infra/collectors.yaml`, or another one read at cold start. The
//! `collector` function, `telltale collect` and the template's generated schedules all read
//! this one list.

use super::builtin::BUILTINS;
use super::declared::file::{read, Problem, Programs};
use super::Collector;

/// The declarations compiled into the bundle.
pub const COMPILED: &str = include_str!("../../../infra/collectors.yaml");

pub struct Registry {
    all: Vec<&'static dyn Collector>,
}

impl Registry {
    /// The built-ins alone.
    pub fn builtins() -> Registry {
        Registry {
            all: BUILTINS.to_vec(),
        }
    }

    /// The built-ins and the collectors `text` declares, every program compiled; every problem
    /// of the file otherwise.
    pub fn with_file(text: &str) -> Result<Registry, Vec<Problem>> {
        Registry::reading(text, Programs::Compile)
    }

    /// As `with_file`, but each program compiles when its collector runs: what a function's
    /// cold start reads (it runs one collector; the file was validated before deployment).
    pub fn for_runs(text: &str) -> Result<Registry, Vec<Problem>> {
        Registry::reading(text, Programs::Defer)
    }

    fn reading(text: &str, programs: Programs) -> Result<Registry, Vec<Problem>> {
        let mut registry = Registry::builtins();
        let taken = registry.names();
        for declared in read(text, &taken, programs)? {
            // Lives as long as the process, like the built-ins (see `declared`).
            registry.all.push(Box::leak(Box::new(declared)));
        }
        Ok(registry)
    }

    /// The built-ins and the compiled-in declarations.
    pub fn compiled() -> Result<Registry, Vec<Problem>> {
        Registry::with_file(COMPILED)
    }

    pub fn find(&self, name: &str) -> Option<&'static dyn Collector> {
        self.all.iter().copied().find(|c| c.name() == name)
    }

    /// In `telltale collect list`'s order: built-ins first, then the file's.
    pub fn all(&self) -> &[&'static dyn Collector] {
        &self.all
    }

    /// The names, for messages that list what exists.
    pub fn names(&self) -> Vec<&'static str> {
        self.all.iter().map(|c| c.name()).collect()
    }
}

/// The problems of a file, one per line, for a message.
pub fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_file_is_valid_and_adds_to_the_builtins() {
        let registry = Registry::compiled().unwrap_or_else(|p| panic!("{}", describe(&p)));
        assert!(registry.all().len() > BUILTINS.len());
        assert!(registry.find("probe_pipeline").is_some());
        assert!(registry.all().iter().any(|c| c.declared()));
    }
}
