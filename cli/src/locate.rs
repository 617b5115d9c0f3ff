//! Line numbers for problems found in a mapping file, for the validation CLI. The loader works
//! on `serde_json` values, which keep no positions; here the text is parsed once more with a
//! parser that records where each value starts, and each problem's JSON path is looked up.

use jsonc_parser::ast::Value;
use jsonc_parser::common::Ranged;
use jsonc_parser::{parse_to_ast, CollectOptions, ParseOptions};
use telltale::metrics::mappings::Problem;

/// Fills `line` (1-based) of every problem whose path can be found in `text`.
pub fn add_lines(text: &str, problems: &mut [Problem]) {
    let Ok(parsed) = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default())
    else {
        return;
    };
    let Some(root) = parsed.value else { return };
    for problem in problems.iter_mut().filter(|p| p.line.is_none()) {
        let mut node = &root;
        let mut start = node.start();
        for key in &problem.pointer {
            let Value::Object(obj) = node else { break };
            // The last property of a name wins, as in serde_json.
            let Some(prop) = obj
                .properties
                .iter()
                .rev()
                .find(|p| p.name.as_str() == key.as_str())
            else {
                break;
            };
            start = prop.range.start;
            node = &prop.value;
        }
        problem.line = Some(line_of(text, start));
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::metrics::parse::parse_metadata;

    #[test]
    fn problems_get_the_line_of_their_property() {
        let text = "{\n  \"r1\": {\n    \"m1\": {\n      \"name\": \"ok\",\n      \"type\": \"GAUGE\"\n    }\n  },\n  \"r2\": 7\n}\n";
        let mut problems = parse_metadata(text.as_bytes()).unwrap_err();
        add_lines(text, &mut problems);
        let lines: Vec<_> = problems.iter().map(|p| (p.path(), p.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("$.r1.m1.type".to_string(), Some(5)),
                ("$.r2".to_string(), Some(8))
            ]
        );
    }
}
