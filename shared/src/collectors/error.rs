//! Why a collector run produced nothing to write.

#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The collector reads a store this function was not configured for.
    #[error("{variable} is not set: the {collector} collector reads the {store}")]
    NotConfigured {
        collector: &'static str,
        variable: &'static str,
        store: &'static str,
    },
    /// The store could not be read at all.
    #[error("{store} unavailable: {message}")]
    SourceDown {
        store: &'static str,
        message: String,
    },
    /// The event names no collector, or one that does not exist.
    #[error("{0}")]
    Unknown(String),
    /// A declared collector's run failed: a fetch, its program or an output's shape.
    #[error("{collector}: {message}")]
    Run { collector: String, message: String },
    /// A point would change a field's type.
    #[error(transparent)]
    FieldType(#[from] super::types::TypeConflict),
    /// The points could not be written.
    #[error("{0}")]
    Sink(String),
}
