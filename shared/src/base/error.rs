//! The one error type of the library. Every fallible operation that a route can surface ends
//! here; the HTTP entrypoints' error mapping is the single place that turns it into a response.

use std::fmt;

/// Which outside system failed, so a 5xx always says whom to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    S3,
    DynamoDb,
    Ses,
    Prometheus,
    Mappings,
    TokenEndpoint,
    Accounting,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dependency::S3 => "S3",
            Dependency::DynamoDb => "DynamoDB",
            Dependency::Ses => "SES",
            Dependency::Prometheus => "Prometheus",
            Dependency::Mappings => "mapping files",
            Dependency::TokenEndpoint => "OIDC token endpoint",
            Dependency::Accounting => "EOSC Accounting Service",
        })
    }
}

pub use super::text::echoed;

/// A field of a request body and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body broke one or more rules (400); the first is the headline.
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("invalid request"))]
    Validation(Vec<FieldError>),
    /// The body is not of a media type the route reads (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request conflicts with the resource's state (409).
    #[error("{0}")]
    Conflict(String),
    /// The resource changed since the version the client named (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// Well-formed but refused, e.g. an idempotency key reused for another body (422).
    #[error("{0}")]
    Unprocessable(String),
    /// Missing, unknown or insufficient credentials (403, as POEM answers).
    #[error("{0}")]
    Forbidden(String),
    /// No credentials, or unknown ones, where the route answers 401 (the heartbeat routes).
    #[error("{0}")]
    Unauthorized(String),
    /// The addressed thing does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not served on this path (405).
    #[error("method {} is not allowed on {}", echoed(method), echoed(path))]
    MethodNotAllowed {
        method: String,
        path: String,
        /// The methods the path does serve, for the `Allow` header.
        allow: &'static str,
    },
    /// The body is larger than the route accepts (413).
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A dependency could not be reached or is not usable (503).
    #[error("{dependency} unavailable: {message}")]
    Unavailable {
        dependency: Dependency,
        message: String,
    },
    /// A dependency answered with an error of its own (502).
    #[error("{dependency} answered with an error: {message}")]
    BadGateway {
        dependency: Dependency,
        message: String,
    },
    /// The invocation's time ran out before the answer was ready (503): a dependency was slow.
    #[error("the request did not finish within the function's time limit (a dependency is slow); try again")]
    OutOfTime,
    /// Our own fault, described precisely; never a panic (500).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn unavailable(dependency: Dependency, message: impl Into<String>) -> Self {
        Error::Unavailable {
            dependency,
            message: message.into(),
        }
    }

    pub fn bad_gateway(dependency: Dependency, message: impl Into<String>) -> Self {
        Error::BadGateway {
            dependency,
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
