//! The rules of a declarations file that are not its shape — names, variables, URL
//! templates — and the problems' places: a problem inside a program is placed in the file.

use super::program;
use serde_saphyr::Spanned;

/// Whether reading a file compiles its programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Programs {
    /// Every program is compiled and its errors placed (`telltale collect validate`, tests).
    Compile,
    /// Programs compile when their collector runs: a function runs one collector, so its cold
    /// start should not compile the others' (a compile error then fails that run).
    Defer,
}

/// One problem of a file, at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

pub(super) struct Checker<'t> {
    pub text: &'t str,
    pub problems: Vec<Problem>,
    pub programs: Programs,
}

impl Checker<'_> {
    pub fn at<T>(&mut self, place: &Spanned<T>, message: String) {
        self.problems.push(Problem {
            line: place.referenced.line(),
            column: place.referenced.column(),
            message,
        });
    }

    /// A compile error inside a program, placed in the file: a block scalar (`jq: |`) starts
    /// on the line after its key.
    pub fn in_program(&mut self, jq: &Spanned<String>, who: &str, e: program::CompileError) {
        let (line, column) = (jq.referenced.line(), jq.referenced.column());
        let raw = self
            .text
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or_default();
        let rest = raw
            .chars()
            .skip(column.saturating_sub(1) as usize)
            .collect::<String>();
        let block = rest.trim_start().starts_with(['|', '>']);
        // The place is the program's first character, or its block indicator.
        let (line, column) = if block {
            let body_line = line + e.line as u64;
            let indent = self
                .text
                .lines()
                .nth(body_line.saturating_sub(1) as usize)
                .map_or(0, |l| l.len() - l.trim_start().len());
            let first = self
                .text
                .lines()
                .nth(line as usize)
                .map_or(0, |l| l.len() - l.trim_start().len());
            (body_line, (first.min(indent) + e.column) as u64)
        } else {
            (line + e.line as u64 - 1, column - 1 + e.column as u64)
        };
        self.problems.push(Problem {
            line,
            column,
            message: format!("{who}: jq: {}", e.message),
        });
    }
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(super) fn valid_var(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "now"
        && name != "ENV"
}

/// The `{variable}` names a URL template uses, or the first stray brace.
pub fn placeholders(url: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a '}' without its '{'".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a '{' without its '}'".to_string())?;
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// The parser's first line without its own `error: line N column M:` prefix (the place is
/// given apart).
pub(super) fn saphyr_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    match rest.strip_prefix("line ") {
        Some(r) => r.split_once(": ").map_or(rest, |(_, m)| m).to_string(),
        None => rest.to_string(),
    }
}
