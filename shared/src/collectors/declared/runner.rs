//! The program's thread: decode each document, run the program over it with its variables,
//! shape the outputs into points. jaq's values are not `Send`, so everything from the decoded
//! document on lives here; what goes back is points.

use super::formats::{self, Format};

use super::{program, shape};
use crate::collectors::point::Point;
use crate::metrics::ports::QueryData;
use jaq_json::Val;
use std::collections::BTreeMap;
use std::time::Instant;
use time::OffsetDateTime;

/// What the program's thread is given: a document and the values of the variables.
pub(super) enum Input {
    Document { body: Vec<u8>, format: Format },
    Series(QueryData),
}

/// An instant query's answer as series; a range vector or a string has none.
pub(super) fn series(data: QueryData) -> Vec<(BTreeMap<String, String>, f64)> {
    match data {
        QueryData::Scalar(v) => vec![(BTreeMap::new(), v)],
        QueryData::Vector(v) => v,
        QueryData::Matrix(_) | QueryData::Text(_) => Vec::new(),
    }
}

/// On the program's thread: decode each input, run, shape the outputs.
pub(super) fn run_program(
    jq: &str,
    names: &[String],
    fixed: &[String],
    inputs: Vec<(Input, Vec<String>)>,
    now: OffsetDateTime,
    deadline: Instant,
) -> Result<(Vec<Point>, usize), String> {
    let program = program::compile(jq, names).map_err(|e| format!("jq: {}", e.message))?;
    let mut points = Vec::new();
    let mut left_out = 0;
    let mut index = 0;
    for (input, combination) in inputs {
        let (value, request) = match input {
            // The body is dropped at the end of this arm, before the program runs.
            Input::Document { body, format } => (formats::decode(&body, format)?, true),
            Input::Series(data) => (series_value(data), false),
        };
        let mut vars = vec![Val::from(now.unix_timestamp() as isize)];
        vars.extend(
            fixed
                .iter()
                .chain(combination.iter())
                .map(|v| Val::from(v.clone())),
        );
        let mut shape_error = None;
        let outcome = program.run(value, vars, deadline, &mut |out| {
            index += 1;
            match shape::point(&out, index, now, &mut left_out) {
                Ok(shape::Shaped::Point(p)) => points.push(p),
                Ok(shape::Shaped::Empty) => {}
                Err(e) => {
                    shape_error = Some(e);
                    return false;
                }
            }
            true
        });
        let where_ = if request && !combination.is_empty() {
            format!(" (with {})", combination.join(", "))
        } else {
            String::new()
        };
        match outcome {
            Err(program::RunError::Failed(e)) => return Err(format!("jq{where_}: {}", cut(&e))),
            Err(program::RunError::TooMany) => {
                return Err(format!(
                    "jq{where_}: more than {} outputs",
                    program::MAX_OUTPUTS
                ))
            }
            Err(program::RunError::OutOfTime) => {
                return Err(format!("jq{where_}: the run's budget ran out"))
            }
            Ok(_) => {}
        }
        if let Some(e) = shape_error {
            return Err(format!("jq{where_}: {e}"));
        }
    }
    Ok((points, left_out))
}

/// A PromQL answer as the program sees it: `[{labels: {…}, value: <number>}]`.
fn series_value(data: QueryData) -> Val {
    series(data)
        .into_iter()
        .map(|(labels, value)| {
            let labels = Val::obj(
                labels
                    .into_iter()
                    .map(|(k, v)| (Val::from(k), Val::from(v)))
                    .collect(),
            );
            Val::obj(
                [
                    (Val::from("labels".to_string()), labels),
                    (Val::from("value".to_string()), Val::from(value)),
                ]
                .into_iter()
                .collect(),
            )
        })
        .collect()
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
