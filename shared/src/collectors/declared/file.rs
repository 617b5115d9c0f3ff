//! `infra/collectors.yaml`, read and checked: every problem of a file is found at once, each
//! with its line and column, so `telltale collect validate` can list them all and the
//! function refuses a broken file at cold start naming the first.

use super::checks::{placeholders, saphyr_message, valid_name, valid_var, Checker};
pub use super::checks::{Problem, Programs};
use super::formats::Format;
use super::program;
use super::{Declared, Fetch, HttpFetch, RUN_BUDGET};
use crate::base::interval;
use crate::collectors::ports::HeaderValue;
use crate::collectors::types::FieldType;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest `http.timeout`: a run also fetches its matrix and runs its program under the
/// function's 60 s.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests per run (a matrix's combinations).
pub const MAX_REQUESTS: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    collectors: Vec<Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    every: Spanned<String>,
    #[serde(default)]
    http: Option<Spanned<HttpEntry>>,
    #[serde(default)]
    promql: Option<Spanned<String>>,
    #[serde(default)]
    measurement: Option<Spanned<String>>,
    #[serde(default)]
    vars: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    matrix: Option<Spanned<BTreeMap<String, Vec<String>>>>,
    #[serde(default)]
    jq: Option<Spanned<String>>,
    #[serde(default)]
    fields: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    budget: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpEntry {
    url: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
}

/// Reads a declarations file; `taken` are the built-ins' names.
pub fn read(text: &str, taken: &[&str], programs: Programs) -> Result<Vec<Declared>, Vec<Problem>> {
    let doc: FileDoc = serde_saphyr::from_str(text).map_err(|e| {
        let at = e.location();
        vec![Problem {
            line: at.map_or(1, |l| l.line()),
            column: at.map_or(1, |l| l.column()),
            message: saphyr_message(&e.to_string()),
        }]
    })?;
    let mut checker = Checker {
        text,
        problems: Vec::new(),
        programs,
    };
    let mut seen: Vec<String> = taken.iter().map(|s| s.to_string()).collect();
    let mut declared = Vec::new();
    for entry in &doc.collectors {
        if let Some(d) = entry_of(&mut checker, entry, &mut seen, taken) {
            declared.push(d);
        }
    }
    if checker.problems.is_empty() {
        Ok(declared)
    } else {
        checker.problems.sort_by_key(|p| (p.line, p.column));
        Err(checker.problems)
    }
}

fn entry_of(
    c: &mut Checker,
    spanned: &Spanned<Entry>,
    seen: &mut Vec<String>,
    builtins: &[&str],
) -> Option<Declared> {
    let e = &spanned.value;
    let name = e.name.value.clone();
    let who = format!("collector {:?}", name.chars().take(64).collect::<String>());
    let before = c.problems.len();
    check_name(c, e, &who, seen, builtins);
    let every = match interval::parse(&e.every.value)
        .map_err(|err| err.to_string())
        .and_then(|d| interval::rate_expression(d).map(|_| d))
    {
        Ok(d) => Some(d),
        Err(err) => {
            c.at(&e.every, format!("{who}: every: {err}"));
            None
        }
    };
    let (vars, matrix) = variables(c, e, &who);
    let mut names: Vec<String> = vec!["now".into()];
    names.extend(vars.keys().cloned());
    names.extend(matrix.iter().map(|(k, _)| k.clone()));
    let fetch = source_of(c, e, &who, &names);
    let fields = fields_of(c, e, &who);
    let budget = budget_of(c, e, &who);
    if c.problems.len() > before || every.is_none() {
        return None;
    }
    Some(Declared::new(
        name,
        e.description.clone().unwrap_or_default(),
        e.every.value.clone(),
        fetch?,
        vars,
        matrix,
        e.jq.as_ref().map(|j| j.value.clone()),
        e.measurement.as_ref().map(|m| m.value.clone()),
        fields,
        budget?,
    ))
}

fn check_name(c: &mut Checker, e: &Entry, who: &str, seen: &mut Vec<String>, builtins: &[&str]) {
    let name = &e.name.value;
    if !valid_name(name) {
        c.at(
            &e.name,
            format!("{who}: a name is 1 to 64 of a-z, 0-9 and _"),
        );
    } else if builtins.contains(&name.as_str()) {
        c.at(
            &e.name,
            format!("{who}: a built-in collector has this name"),
        );
    } else if seen.contains(name) {
        c.at(&e.name, format!("{who}: declared twice"));
    }
    seen.push(name.clone());
}

type Matrix = Vec<(String, Vec<String>)>;

/// `vars` and `matrix`, their names checked (valid, not in both) and the matrix's size.
fn variables(c: &mut Checker, e: &Entry, who: &str) -> (BTreeMap<String, String>, Matrix) {
    let vars = e.vars.as_ref().map(|v| v.value.clone()).unwrap_or_default();
    let matrix: Matrix = e
        .matrix
        .as_ref()
        .map(|m| m.value.clone().into_iter().collect())
        .unwrap_or_default();
    let places = vars
        .keys()
        .map(|k| (k, e.vars.as_ref().map(|v| &v.referenced)))
        .chain(
            matrix
                .iter()
                .map(|(k, _)| (k, e.matrix.as_ref().map(|m| &m.referenced))),
        );
    for (var, place) in places {
        let problem = if !valid_var(var) {
            Some(format!("{who}: variable {var:?}: a name is a letter or _ then letters, digits or _ (not now)"))
        } else if vars.contains_key(var) && matrix.iter().any(|(k, _)| k == var) {
            Some(format!(
                "{who}: variable {var:?} is in both vars and matrix"
            ))
        } else {
            None
        };
        if let (Some(message), Some(place)) = (problem, place) {
            c.problems.push(Problem {
                line: place.line(),
                column: place.column(),
                message,
            });
        }
    }
    if let Some(m) = &e.matrix {
        let combinations: usize = matrix.iter().map(|(_, v)| v.len()).product();
        if matrix.iter().any(|(_, v)| v.is_empty()) || combinations > MAX_REQUESTS {
            c.at(m, format!("{who}: matrix: every variable needs a value, and at most {MAX_REQUESTS} combinations in all"));
        }
    }
    (vars, matrix)
}

/// The source (`http` or `promql`), and the program or measurement that goes with it.
fn source_of(c: &mut Checker, e: &Entry, who: &str, names: &[String]) -> Option<Fetch> {
    let fetch = match (&e.http, &e.promql) {
        (Some(http), None) => http_of(c, http, who, names).map(Fetch::Http),
        (None, Some(q)) => match promql_parser::parser::parse(&q.value) {
            Ok(_) => Some(Fetch::Promql(q.value.clone())),
            Err(err) => {
                let first = err.lines().next().unwrap_or_default().to_string();
                c.at(q, format!("{who}: promql: {first}"));
                None
            }
        },
        _ => {
            c.at(&e.name, format!("{who}: give one source, http or promql"));
            None
        }
    };
    if let Some(jq) = &e.jq {
        if c.programs == Programs::Compile {
            if let Err(err) = program::compile(&jq.value, names) {
                c.in_program(jq, who, err);
            }
        }
    } else if e.http.is_some() {
        c.at(
            &e.name,
            format!("{who}: an http collector needs a jq program"),
        );
    } else if e.measurement.is_none() {
        c.at(
            &e.name,
            format!("{who}: a promql collector needs a measurement or a jq program"),
        );
    }
    if let Some(m) = &e.measurement {
        if e.jq.is_some() {
            c.at(
                m,
                format!("{who}: measurement is for promql without jq; a program names its own"),
            );
        } else if m.value.is_empty() {
            c.at(m, format!("{who}: measurement is empty"));
        }
    }
    fetch
}

fn fields_of(c: &mut Checker, e: &Entry, who: &str) -> BTreeMap<String, FieldType> {
    let mut fields = BTreeMap::new();
    if let Some(f) = &e.fields {
        for (field, kind) in &f.value {
            match FieldType::parse(kind) {
                Some(t) => {
                    fields.insert(field.clone(), t);
                }
                None => c.at(f, format!("{who}: fields: {field:?} is {kind:?}; use integer, float, boolean or string")),
            }
        }
    }
    fields
}

fn budget_of(c: &mut Checker, e: &Entry, who: &str) -> Option<Duration> {
    let Some(b) = &e.budget else {
        return Some(RUN_BUDGET);
    };
    match interval::parse(&b.value) {
        Ok(d) if d <= RUN_BUDGET && !d.is_zero() => Some(d),
        _ => {
            let most = RUN_BUDGET.as_secs();
            c.at(b, format!("{who}: budget is a time span up to {most}s"));
            None
        }
    }
}

fn http_of(
    c: &mut Checker,
    http: &Spanned<HttpEntry>,
    who: &str,
    names: &[String],
) -> Option<HttpFetch> {
    let h = &http.value;
    let before = c.problems.len();
    match placeholders(&h.url.value) {
        Ok(used) => {
            for name in used {
                if name == "now" || !names.iter().any(|n| n == name) {
                    c.at(
                        &h.url,
                        format!("{who}: url uses {{{name}}}, which is not a declared variable"),
                    );
                }
            }
            let sample = h.url.value.replace(['{', '}'], "");
            match url::Url::parse(&sample) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => c.at(&h.url, format!("{who}: url is not an http or https URL")),
            }
        }
        Err(e) => c.at(&h.url, format!("{who}: url: {e}")),
    }
    let mut headers = Vec::new();
    for (k, v) in &h.headers {
        let valid_name = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        let value = match v.strip_prefix("${ssm:").and_then(|r| r.strip_suffix('}')) {
            Some(p) if p.starts_with('/') && !p.contains(['{', '}']) => {
                HeaderValue::Secret(p.to_string())
            }
            _ if v.contains("${") => {
                c.at(&h.url, format!("{who}: header {k:?}: a secret is written \"${{ssm:/parameter/name}}\", the whole value"));
                continue;
            }
            _ => HeaderValue::Literal(v.clone()),
        };
        if !valid_name || v.chars().any(char::is_control) {
            c.at(
                &h.url,
                format!("{who}: header {k:?}: not a valid header name or value"),
            );
            continue;
        }
        headers.push((k.clone(), value));
    }
    let timeout = match &h.timeout {
        None => Some(DEFAULT_TIMEOUT),
        Some(t) => match interval::parse(&t.value) {
            Ok(d) if d <= MAX_TIMEOUT && !d.is_zero() => Some(d),
            Ok(_) => {
                c.at(
                    t,
                    format!("{who}: timeout is at most {}s", MAX_TIMEOUT.as_secs()),
                );
                None
            }
            Err(e) => {
                c.at(t, format!("{who}: timeout: {e}"));
                None
            }
        },
    };
    let format = match &h.format {
        None => Some(Format::Json),
        Some(f) => Format::parse(&f.value).or_else(|| {
            c.at(f, format!("{who}: format is json, yaml, csv or text"));
            None
        }),
    };
    if c.problems.len() > before {
        return None;
    }
    Some(HttpFetch {
        url: h.url.value.clone(),
        headers,
        timeout: timeout?,
        format: format?,
    })
}
