//! Reading the two mapping files: both accepted shapes of the metadata file, and validation
//! that reports every problem with its JSON path before anything is served.

use super::mappings::{
    MetadataMappings, MetricMetadata, MetricQuery, MetricType, MetricsMappings, Problem, Query,
    ResourceMetadata,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

fn parse_json(bytes: &[u8]) -> Result<Map<String, Value>, Vec<Problem>> {
    match crate::base::json::parse(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(vec![Problem::at(
            &[],
            format!(
                "the file must be a JSON object keyed by resourceId, not {}",
                kind(&other)
            ),
        )]),
        Err(e) => Err(vec![Problem {
            pointer: vec![],
            message: format!("not valid JSON: {e}"),
            line: Some(e.line()),
        }]),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    field: &str,
    at: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            let mut p = at.to_vec();
            p.push(field);
            problems.push(Problem::at(
                &p,
                format!("must be a string or null, not {}", kind(other)),
            ));
            None
        }
    }
}

/// True when a resource entry uses the full shape `{"metrics": {...}, "eoscInstallationId"}`.
/// The simple shape of the older README puts metrics directly under the resource; a metric
/// there is an object of strings, so a `metrics` member whose values are all objects can only
/// be the full shape's metric map.
fn is_full_shape(resource: &Map<String, Value>) -> bool {
    match resource.get("metrics") {
        Some(Value::Object(m)) => m.values().all(Value::is_object),
        _ => false,
    }
}

/// One metric of the metadata file; its problems are added to `problems`.
fn metric_metadata(
    metric: &Map<String, Value>,
    at: &[&str],
    problems: &mut Vec<Problem>,
) -> MetricMetadata {
    let kind_field = match metric.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "STATE" => Some(MetricType::State),
        Some(Value::String(s)) if s == "EVENT" => Some(MetricType::Event),
        Some(other) => {
            let mut p = at.to_vec();
            p.push("type");
            problems.push(Problem::at(
                &p,
                format!("must be \"STATE\" or \"EVENT\", not {other}"),
            ));
            None
        }
    };
    MetricMetadata {
        name: optional_string(metric, "name", at, problems),
        description: optional_string(metric, "description", at, problems),
        unit: optional_string(metric, "unit", at, problems),
        kind: kind_field,
        eosc_metric_definition_id: optional_string(metric, "eoscMetricDefinitionId", at, problems),
    }
}

/// Parses and validates `metadata_mappings.json` in either accepted shape.
pub fn parse_metadata(bytes: &[u8]) -> Result<MetadataMappings, Vec<Problem>> {
    let root = parse_json(bytes)?;
    let mut problems = Vec::new();
    let mut out = MetadataMappings::new();
    for (rid, rv) in &root {
        let Value::Object(resource) = rv else {
            problems.push(Problem::at(
                &[rid],
                format!("a resource must be an object, not {}", kind(rv)),
            ));
            continue;
        };
        let mut entry = ResourceMetadata {
            eosc_installation_id: optional_string(
                resource,
                "eoscInstallationId",
                &[rid],
                &mut problems,
            ),
            metrics: HashMap::new(),
        };
        let full = is_full_shape(resource);
        let base: Vec<&str> = if full {
            vec![rid, "metrics"]
        } else {
            vec![rid]
        };
        let members = match resource.get("metrics") {
            Some(Value::Object(m)) if full => m,
            _ => resource,
        };
        let metrics = members
            .iter()
            .filter(|(k, _)| full || k.as_str() != "eoscInstallationId");
        for (mid, mv) in metrics {
            let mut at = base.clone();
            at.push(mid);
            let Value::Object(metric) = mv else {
                problems.push(Problem::at(
                    &at,
                    format!("a metric must be an object, not {}", kind(mv)),
                ));
                continue;
            };
            entry
                .metrics
                .insert(mid.clone(), metric_metadata(metric, &at, &mut problems));
        }
        out.insert(rid.clone(), entry);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Parses and validates `metrics_mappings.json`: every query must be valid PromQL (after the
/// `#R#` token is given a stand-in duration) or a valid custom computation.
pub fn parse_metrics(bytes: &[u8]) -> Result<MetricsMappings, Vec<Problem>> {
    let root = parse_json(bytes)?;
    let mut problems = Vec::new();
    let mut out = MetricsMappings::new();
    for (rid, rv) in &root {
        let Value::Object(resource) = rv else {
            problems.push(Problem::at(
                &[rid],
                format!("a resource must be an object, not {}", kind(rv)),
            ));
            continue;
        };
        let mut metrics = HashMap::new();
        for (mid, mv) in resource {
            let at = [rid.as_str(), mid.as_str()];
            let Value::Object(metric) = mv else {
                problems.push(Problem::at(
                    &at,
                    format!("a metric must be an object, not {}", kind(mv)),
                ));
                continue;
            };
            let is_counter = match metric.get("isCounter") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) if s == "true" => Some(true),
                Some(Value::String(s)) if s == "false" => Some(false),
                Some(other) => {
                    problems.push(Problem::at(
                        &[rid, mid, "isCounter"],
                        format!("must be true, false, \"true\" or \"false\", not {other}"),
                    ));
                    None
                }
            };
            let query = match metric.get("query") {
                Some(Value::String(q)) => match check_query(q) {
                    Ok(query) => Some(query),
                    Err(message) => {
                        problems.push(Problem::at(&[rid, mid, "query"], message));
                        None
                    }
                },
                None | Some(Value::Null) => {
                    problems.push(Problem::at(&at, "the field \"query\" is required"));
                    None
                }
                Some(other) => {
                    problems.push(Problem::at(
                        &[rid, mid, "query"],
                        format!("must be a string, not {}", kind(other)),
                    ));
                    None
                }
            };
            if let Some(query) = query {
                metrics.insert(mid.clone(), MetricQuery { query, is_counter });
            }
        }
        out.insert(rid.clone(), metrics);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn check_query(text: &str) -> Result<Query, String> {
    if text.trim().is_empty() {
        return Err("the query is empty".into());
    }
    if let Some(expr) = text.strip_prefix('#') {
        let computation = super::expr::compile(expr)
            .map_err(|e| format!("not a valid custom computation: {e}"))?;
        return Ok(Query::Custom {
            text: expr.to_string(),
            computation,
        });
    }
    super::promql::check_syntax(text).map_err(|e| format!("not a valid PromQL expression: {e}"))?;
    Ok(Query::PromQl(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_shape_loads() {
        let m = parse_metadata(
            br#"{"r1": {"metrics": {"m1": {"name": "N", "description": "D", "unit": "u",
                 "type": "STATE", "eoscMetricDefinitionId": "def"}}, "eoscInstallationId": "inst"}}"#,
        )
        .unwrap();
        let r = &m["r1"];
        assert_eq!(r.eosc_installation_id.as_deref(), Some("inst"));
        assert_eq!(r.metrics["m1"].kind, Some(MetricType::State));
        assert_eq!(
            r.metrics["m1"].eosc_metric_definition_id.as_deref(),
            Some("def")
        );
    }

    #[test]
    fn simple_shape_loads_with_nulls_for_missing_fields() {
        let m = parse_metadata(br#"{"r1": {"m1": {"name": "N", "type": "EVENT"}, "metrics": {"name": "a metric called metrics"}}}"#)
            .unwrap();
        let r = &m["r1"];
        assert_eq!(r.eosc_installation_id, None);
        assert_eq!(r.metrics["m1"].unit, None);
        assert_eq!(
            r.metrics["metrics"].name.as_deref(),
            Some("a metric called metrics")
        );
        let json = serde_json::to_value(&r.metrics["m1"]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "N", "description": null, "unit": null, "type": "EVENT", "eoscMetricDefinitionId": null})
        );
    }

    #[test]
    fn every_metadata_problem_is_reported_with_its_path() {
        let problems = parse_metadata(
            br#"{"r1": {"metrics": {"m1": {"type": "GAUGE", "name": 3}}}, "r 2": [], "r3": {"m": "x"}}"#,
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "$.r1.metrics.m1.type: must be \"STATE\" or \"EVENT\", not \"GAUGE\"",
                "$.r1.metrics.m1.name: must be a string or null, not a number",
                "$[\"r 2\"]: a resource must be an object, not an array",
                "$.r3.m: a metric must be an object, not a string",
            ]
        );
    }

    #[test]
    fn metrics_file_checks_promql_and_is_counter() {
        let problems = parse_metrics(
            br##"{"r": {"ok": {"query": "increase(x[#R#])", "isCounter": "false"},
                       "bad": {"query": "sum(rate(x[5m])"},
                       "flag": {"query": "up", "isCounter": "yes"},
                       "none": {"isCounter": true},
                       "custom": {"query": "#sumPeriods('a', 'b', 42)"}}}"##,
        )
        .unwrap_err();
        let paths: Vec<String> = problems.iter().map(Problem::path).collect();
        assert_eq!(
            paths,
            vec!["$.r.bad.query", "$.r.flag.isCounter", "$.r.none"]
        );
        assert!(problems[0]
            .message
            .starts_with("not a valid PromQL expression"));
    }

    #[test]
    fn metrics_file_loads_both_is_counter_forms() {
        let m = parse_metrics(
            br##"{"r": {"a": {"query": "up", "isCounter": true, "extra": 1}, "b": {"query": "#query('up') * 2", "isCounter": "true"}}}"##,
        )
        .unwrap();
        assert_eq!(m["r"]["a"].query, Query::PromQl("up".into()));
        assert_eq!(m["r"]["a"].is_counter, Some(true));
        assert!(
            matches!(&m["r"]["b"].query, Query::Custom { text, .. } if text == "query('up') * 2")
        );
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let problems = parse_metrics(b"{\n\"r\": {\n}\n,}").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(4));
        let problems = parse_metrics(b"[]").unwrap_err();
        assert!(problems[0].message.contains("not an array"));
    }
}
