//! The two mapping files' types, and the problems a file can have (`parse.rs` reads them).

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// One thing wrong with a mapping file, located by its JSON path (and, where known, its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Object keys from the root to the offending value.
    pub pointer: Vec<String>,
    pub message: String,
    pub line: Option<usize>,
}

impl Problem {
    pub(super) fn at(pointer: &[&str], message: impl Into<String>) -> Self {
        Problem {
            pointer: pointer.iter().map(|s| s.to_string()).collect(),
            message: message.into(),
            line: None,
        }
    }

    /// JSONPath of the offending value: `$.res.metrics.m1.type`, brackets for unusual keys.
    pub fn path(&self) -> String {
        let mut out = String::from("$");
        for key in &self.pointer {
            let plain = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if plain {
                out.push('.');
                out.push_str(key);
            } else {
                out.push('[');
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(']');
            }
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.path(), self.message),
            None => write!(f, "{}: {}", self.path(), self.message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricType {
    #[serde(rename = "STATE")]
    State,
    #[serde(rename = "EVENT")]
    Event,
}

/// The body of `GET /metrics/{resourceId}/{metricId}`; missing fields are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MetricMetadata {
    pub name: Option<String>,
    pub description: Option<String>,
    pub unit: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<MetricType>,
    pub eosc_metric_definition_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceMetadata {
    pub eosc_installation_id: Option<String>,
    pub metrics: HashMap<String, MetricMetadata>,
}

/// Hash maps: a lookup costs the same among 100,000 metrics as among four. Listings sort
/// (`catalog`, `accounting::push::select`).
pub type MetadataMappings = HashMap<String, ResourceMetadata>;

/// How a metric's value is computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A PromQL expression, possibly with `#R#` range tokens.
    PromQl(String),
    /// A custom computation: the text after the leading `#`, parsed and type-checked.
    Custom {
        text: String,
        computation: super::expr::Computation,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub query: Query,
    /// Accepted as a boolean or `"true"`/`"false"`; unused, kept for compatibility.
    pub is_counter: Option<bool>,
}

pub type MetricsMappings = HashMap<String, HashMap<String, MetricQuery>>;
