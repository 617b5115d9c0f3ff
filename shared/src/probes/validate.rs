//! POEM's rules for a submitted probe candidate, in POEM's order, plus what POEM lacked:
//! type checks, length limits, and every problem listed at once.

use crate::base::text::Lines;
use serde_json::{Map, Value};

pub use crate::base::error::FieldError;

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A submission that passed every rule. Optional fields left empty are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub name: String,
    pub description: Option<String>,
    pub docurl: String,
    pub command: String,
    pub contact: String,
    pub rpm: Option<String>,
    pub yum_baseurl: Option<String>,
    pub script: Option<String>,
}

pub const GUIDELINES_MESSAGE: &str = "Invalid 'command' field. Command must have -t/--timeout argument. Please refer to the probe development guidelines: https://argoeu.github.io/argo-monitoring/docs/monitoring/guidelines";

/// The fields a submission may have, in POEM's order.
pub const FIELDS: [&str; 8] = [
    "name",
    "description",
    "docurl",
    "command",
    "contact",
    "rpm",
    "yum_baseurl",
    "script",
];

/// POEM's column sizes: a name fits 128 characters, a command 2048, everything else 1024.
fn max_length(field: &str) -> usize {
    match field {
        "name" => 128,
        "command" => 2048,
        _ => 1024,
    }
}

/// An absolute http(s) URL with a host.
pub fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

pub fn is_email(s: &str) -> bool {
    email_address::EmailAddress::parse_with_options(
        s,
        email_address::Options::default().without_display_text(),
    )
    .is_ok()
}

/// Fields that may hold several lines; every other text field is one line.
pub const MULTI_LINE: [&str; 3] = ["description", "command", "rejection_reason"];

/// POEM-style message when `value` holds a character the text policy refuses (see
/// `crate::base::text`), naming the field and the code point.
pub fn text_problem(field: &str, value: &str) -> Option<String> {
    let lines = if MULTI_LINE.contains(&field) {
        Lines::Many
    } else {
        Lines::One
    };
    crate::base::text::problem(field, value, lines)
}

/// True when the command line sets a timeout as `-t N`, `--timeout N`, `--timeout=N` or
/// `-tN`. The line is split as a shell would split it, so a `-t` inside a quoted argument
/// does not count.
pub fn has_timeout(command: &str) -> bool {
    let Some(words) = shlex::split(command) else {
        return false;
    };
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    words.iter().enumerate().any(|(i, w)| {
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        match w.as_str() {
            "-t" | "--timeout" => number(next),
            _ => w
                .strip_prefix("--timeout=")
                .or_else(|| w.strip_prefix("-t"))
                .is_some_and(number),
        }
    })
}

/// The fields, by position in `FIELDS`.
type Values = [Option<String>; 8];

/// Validates a request body. On failure the errors are in POEM's order: the first is what
/// POEM itself would have answered.
pub fn validate(body: &Map<String, Value>) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let values = read(body, &mut errors);
    poems_rules(&values, &mut errors);
    sizes_and_characters(&values, &mut errors);
    let [name, description, docurl, command, contact, rpm, yum_baseurl, script] = values;
    match (name, docurl, command, contact) {
        (Some(name), Some(docurl), Some(command), Some(contact)) if errors.is_empty() => {
            Ok(Submission {
                name,
                description,
                docurl,
                command,
                contact,
                rpm,
                yum_baseurl,
                script,
            })
        }
        _ => Err(errors),
    }
}

/// Values that are present and strings; blank strings count as absent, like POEM's checks.
fn read(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Values {
    FIELDS.map(|field| match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            errors.push(err(field, format!("Field '{field}' must be a string")));
            None
        }
    })
}

/// POEM's own checks, in its order and with its messages.
fn poems_rules(values: &Values, errors: &mut Vec<FieldError>) {
    let [name, _, docurl, command, contact, rpm, yum_baseurl, script] = values;
    for (field, value) in [
        ("name", name),
        ("docurl", docurl),
        ("command", command),
        ("contact", contact),
    ] {
        if value.is_none() && !errors.iter().any(|e| e.field == field) {
            errors.push(err(field, format!("Field '{field}' is mandatory")));
        }
    }
    if rpm.is_none() && script.is_none() {
        errors.push(err(
            "rpm",
            "You must provide either 'rpm' or 'script' field",
        ));
    }
    if docurl.as_deref().is_some_and(|u| !is_url(u)) {
        errors.push(err("docurl", "Field 'docurl' must be defined as valid URL"));
    }
    if let Some(rpm) = rpm {
        if yum_baseurl.is_none() && !is_url(rpm) {
            errors.push(err(
                "yum_baseurl",
                "Field 'yum_baseurl' is mandatory with 'rpm' field, unless 'rpm' field is defined as valid URL",
            ));
        }
    }
    if yum_baseurl.as_deref().is_some_and(|u| !is_url(u)) {
        errors.push(err(
            "yum_baseurl",
            "Field 'yum_baseurl' must be defined as valid URL",
        ));
    }
    if script.as_deref().is_some_and(|u| !is_url(u)) {
        errors.push(err("script", "Field 'script' must be defined as valid URL"));
    }
    // An address SES can never deliver to is refused now, not found out by two hours of
    // failing retries.
    let deliverable = |c: &str| is_email(c) && crate::outbox::email::undeliverable(c).is_none();
    if contact.as_deref().is_some_and(|c| !deliverable(c)) {
        errors.push(err("contact", "Field 'contact' is not valid email"));
    }
    if command.as_deref().is_some_and(|c| !has_timeout(c)) {
        errors.push(err("command", GUIDELINES_MESSAGE));
    }
}

/// What POEM lacked: its column sizes, and no control characters or bidi overrides.
fn sizes_and_characters(values: &Values, errors: &mut Vec<FieldError>) {
    for (field, value) in FIELDS.iter().zip(values) {
        if let Some(message) = value.as_deref().and_then(|v| text_problem(field, v)) {
            errors.push(err(field, message));
        }
        let limit = max_length(field);
        if value.as_ref().is_some_and(|v| v.chars().count() > limit) {
            errors.push(err(
                field,
                format!("Field '{field}' must be at most {limit} characters"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn rpm_example() -> Value {
        json!({
            "name": "poem-probe",
            "description": "A generic probe to check service status.",
            "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
            "rpm": "argo-probe-argo-servicestatus-0.2.0-1.el7.noarch.rpm",
            "yum_baseurl": "http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/",
            "command": "/usr/libexec/argo/probes/argo-servicestatus/check_status.py -u <URL> -t 30",
            "contact": "test@example.com"
        })
    }

    #[test]
    fn control_format_and_separator_characters_are_refused() {
        for (field, value) in [
            ("name", "probe\u{0}"),
            ("name", "\u{1b}[31mred"),
            ("name", "a\u{202e}b"),
            ("name", "two\nlines"),
            ("contact", "x@example.com\u{7}"),
            ("description", "ok\u{2066}"),
            ("command", "check -t 3 \u{1b}]0;x\u{7}"),
        ] {
            let errors = validate(&body(with(rpm_example(), field, json!(value)))).unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|e| e.field == field && e.message.contains("must not contain U+")),
                "{field}={value:?}: {errors:?}"
            );
        }
        let multi = with(
            rpm_example(),
            "description",
            json!("line one\nline two\ttab"),
        );
        validate(&body(multi)).unwrap();
    }

    fn first(v: Value) -> String {
        validate(&body(v)).unwrap_err()[0].message.clone()
    }

    fn with(mut v: Value, field: &str, value: Value) -> Value {
        v[field] = value;
        v
    }

    fn without(mut v: Value, field: &str) -> Value {
        v.as_object_mut().unwrap().remove(field);
        v
    }

    #[test]
    fn the_seed_examples_are_valid() {
        let s = validate(&body(rpm_example())).unwrap();
        assert_eq!(s.name, "poem-probe");
        assert_eq!(s.script, None);
        let script = json!({
            "name": "poem-probe", "docurl": "https://example.org/doc",
            "script": "https://some.url.com/script", "command": "check_status.py -u <URL> -t 30",
            "contact": "test@example.com"
        });
        assert!(validate(&body(script)).is_ok());
    }

    #[test]
    fn each_poem_message_for_its_case() {
        let e = rpm_example();
        assert_eq!(
            first(without(e.clone(), "name")),
            "Field 'name' is mandatory"
        );
        assert_eq!(
            first(with(e.clone(), "name", json!("   "))),
            "Field 'name' is mandatory"
        );
        assert_eq!(
            first(without(e.clone(), "docurl")),
            "Field 'docurl' is mandatory"
        );
        assert_eq!(
            first(without(e.clone(), "command")),
            "Field 'command' is mandatory"
        );
        assert_eq!(
            first(without(e.clone(), "contact")),
            "Field 'contact' is mandatory"
        );
        assert_eq!(
            first(without(without(e.clone(), "rpm"), "yum_baseurl")),
            "You must provide either 'rpm' or 'script' field"
        );
        assert_eq!(
            first(with(e.clone(), "docurl", json!("not a url"))),
            "Field 'docurl' must be defined as valid URL"
        );
        assert_eq!(
            first(without(e.clone(), "yum_baseurl")),
            "Field 'yum_baseurl' is mandatory with 'rpm' field, unless 'rpm' field is defined as valid URL"
        );
        assert_eq!(
            first(with(e.clone(), "yum_baseurl", json!("ftp:/x"))),
            "Field 'yum_baseurl' must be defined as valid URL"
        );
        assert_eq!(
            first(with(e.clone(), "script", json!("script.sh"))),
            "Field 'script' must be defined as valid URL"
        );
        assert_eq!(
            first(with(e.clone(), "contact", json!("test@"))),
            "Field 'contact' is not valid email"
        );
        assert_eq!(
            first(with(e.clone(), "command", json!("check.py -u <URL>"))),
            GUIDELINES_MESSAGE
        );
    }

    #[test]
    fn rpm_alone_is_allowed_when_it_is_a_url() {
        let e = without(
            with(
                rpm_example(),
                "rpm",
                json!("https://repo.example.org/p-1.0.rpm"),
            ),
            "yum_baseurl",
        );
        assert!(validate(&body(e)).is_ok());
    }

    #[test]
    fn all_errors_are_listed_in_poems_order() {
        let errors = validate(&body(json!({
            "docurl": "nope", "command": "x", "contact": "bad", "script": "s"
        })))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["name", "docurl", "script", "contact", "command"]
        );
    }

    #[test]
    fn non_strings_and_long_values_are_400s_not_500s() {
        let errors = validate(&body(with(rpm_example(), "name", json!(42)))).unwrap_err();
        assert_eq!(errors, vec![err("name", "Field 'name' must be a string")]);
        let errors =
            validate(&body(with(rpm_example(), "command", json!(["-t", "3"])))).unwrap_err();
        assert_eq!(errors[0].message, "Field 'command' must be a string");
        let long = "x".repeat(129);
        assert_eq!(
            first(with(rpm_example(), "name", json!(long))),
            "Field 'name' must be at most 128 characters"
        );
    }

    #[test]
    fn timeouts_are_found_as_a_shell_reads_them() {
        for ok in [
            "p -t 30",
            "p --timeout 30",
            "p --timeout=30",
            "p -t30",
            "p -u '<URL>' -t 5 -v",
        ] {
            assert!(has_timeout(ok), "{ok}");
        }
        for bad in [
            "p",
            "p -t",
            "p --timeout",
            "p -tx",
            "p '-t 30'",
            "p --timeout=",
            "p -u 'a -t 3'",
            "p -t 'unbalanced",
        ] {
            assert!(!has_timeout(bad), "{bad}");
        }
    }
}
