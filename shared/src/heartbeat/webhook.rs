//! What `POST /heartbeat` accepts: an empty body (a plain ping), monasca-notification's webhook
//! body, or Alertmanager's webhook body (version 4). Anything else is refused naming the three.

use crate::base::error::{Error, Result};
use crate::base::text::{self, Lines};
use serde_json::Value;

/// The longest alarm name kept; longer ones are cut.
const MAX_ALARM: usize = 256;

/// One webhook delivery, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `ping`, `monasca` or `alertmanager`.
    pub source: &'static str,
    /// How many notifications in each state (`OK`/`ALARM`/`UNDETERMINED` from Monasca,
    /// `firing`/`resolved` per alert from Alertmanager, `success` for a ping).
    pub counts: Vec<(String, u64)>,
    pub alarm: Option<String>,
}

impl Delivery {
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

const EXPECTED: &str = "expected an empty body (a plain ping), a Monasca webhook body (alarm_id, alarm_name, state, ...) or an Alertmanager webhook body (version \"4\", alerts[])";

/// Alarm names are stored and shown to people: the text policy's single-line rule (see
/// `crate::base::text`), and at most `MAX_ALARM` characters (longer ones are cut).
fn alarm_name(value: &Value, field: &str) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(name) => {
            if let Some(problem) = text::problem(field, name, Lines::One) {
                return Err(Error::BadRequest(problem));
            }
            Ok(Some(name.chars().take(MAX_ALARM).collect()))
        }
        _ => Err(Error::BadRequest(format!("{field} must be a string"))),
    }
}

const MONASCA_STATES: [&str; 3] = ["OK", "ALARM", "UNDETERMINED"];

/// The fields monasca-notification's webhook sends, each of its type when present.
fn monasca(body: &Value) -> Result<Delivery> {
    let bad = |m: String| Err(Error::BadRequest(format!("Monasca webhook: {m}")));
    let state = body["state"].as_str().unwrap_or_default();
    if !MONASCA_STATES.contains(&state) {
        return bad("\"state\" must be OK, ALARM or UNDETERMINED".into());
    }
    if !matches!(&body["old_state"], Value::Null)
        && !body["old_state"]
            .as_str()
            .is_some_and(|s| MONASCA_STATES.contains(&s))
    {
        return bad("\"old_state\" must be OK, ALARM or UNDETERMINED".into());
    }
    for field in [
        "alarm_id",
        "alarm_definition_id",
        "alarm_description",
        "message",
        "tenant_id",
    ] {
        if !matches!(&body[field], Value::Null | Value::String(_)) {
            return bad(format!("\"{field}\" must be a string"));
        }
    }
    if !matches!(&body["alarm_timestamp"], Value::Null | Value::Number(_)) {
        return bad(
            "\"alarm_timestamp\" must be a number (seconds or milliseconds since 1970)".into(),
        );
    }
    if !matches!(&body["metrics"], Value::Null | Value::Array(_)) {
        return bad("\"metrics\" must be an array".into());
    }
    Ok(Delivery {
        source: "monasca",
        counts: vec![(state.to_string(), 1)],
        alarm: alarm_name(&body["alarm_name"], "alarm_name")?,
    })
}

fn firing_or_resolved(value: &Value, field: &str) -> Result<Option<bool>> {
    match value.as_str() {
        Some("firing") => Ok(Some(true)),
        Some("resolved") => Ok(Some(false)),
        _ if value.is_null() && field == "status" => Ok(None),
        _ => Err(Error::BadRequest(format!(
            "Alertmanager webhook: {field} must be \"firing\" or \"resolved\""
        ))),
    }
}

/// Alertmanager's version-4 body: the group's `status` and every alert's, timestamps as
/// strings, labels as objects.
fn alertmanager(body: &Value) -> Result<Delivery> {
    let Some(alerts) = body["alerts"].as_array().filter(|a| !a.is_empty()) else {
        return Err(Error::BadRequest(
            "Alertmanager webhook: \"alerts\" must be a non-empty array".into(),
        ));
    };
    firing_or_resolved(&body["status"], "status")?;
    for field in ["receiver", "groupKey", "externalURL"] {
        if !matches!(&body[field], Value::Null | Value::String(_)) {
            return Err(Error::BadRequest(format!(
                "Alertmanager webhook: \"{field}\" must be a string"
            )));
        }
    }
    let (mut firing, mut resolved) = (0u64, 0u64);
    for (i, alert) in alerts.iter().enumerate() {
        match firing_or_resolved(&alert["status"], &format!("alerts[{i}].status"))? {
            Some(true) => firing += 1,
            _ => resolved += 1,
        }
        for field in ["startsAt", "endsAt"] {
            if !matches!(&alert[field], Value::Null | Value::String(_)) {
                return Err(Error::BadRequest(format!(
                    "Alertmanager webhook: alerts[{i}].{field} must be an RFC 3339 time string"
                )));
            }
        }
    }
    let counts = [("firing", firing), ("resolved", resolved)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    let mut alarm = None;
    for labels in ["commonLabels", "groupLabels"] {
        if alarm.is_none() {
            alarm = alarm_name(&body[labels]["alertname"], "alertname")?;
        }
    }
    Ok(Delivery {
        source: "alertmanager",
        counts,
        alarm,
    })
}

/// Why a body was not read, saying which: JSON nested too deep and a number no double holds
/// are JSON all the same, and a sender told "not JSON" would look for the wrong mistake.
fn unreadable(e: serde_json::Error) -> Error {
    let text = e.to_string();
    let (line, column) = (e.line(), e.column());
    let what = if text.starts_with("recursion limit exceeded") {
        format!("the body nests deeper than 128 levels (line {line}, column {column})")
    } else if text.starts_with("number out of range") {
        format!("the body holds a number out of a double's range (line {line}, column {column})")
    } else if e.is_data() {
        format!("the body is not JSON ({text})")
    } else {
        format!("the body is not JSON (line {line}, column {column})")
    };
    Error::BadRequest(format!("{what}: {EXPECTED}"))
}

/// Reads a delivery. The body is never echoed in an error; a key given twice is refused.
pub fn parse(body: &[u8]) -> Result<Delivery> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Delivery {
            source: "ping",
            counts: vec![("success".into(), 1)],
            alarm: None,
        });
    }
    let value: Value = crate::base::json::parse(body).map_err(unreadable)?;
    let Some(map) = value.as_object() else {
        return Err(Error::BadRequest(format!(
            "the body is not an object: {EXPECTED}"
        )));
    };
    let is_monasca = map.contains_key("alarm_id") && map.contains_key("state");
    let is_alertmanager = map.contains_key("version") && map.contains_key("alerts");
    match (is_monasca, is_alertmanager) {
        (true, true) => Err(Error::BadRequest(
            "the body has both a Monasca webhook's fields (alarm_id, state) and an Alertmanager webhook's (version, alerts); send one".into(),
        )),
        (true, false) => monasca(&value),
        (false, true) if map.get("version").and_then(Value::as_str) == Some("4") => {
            alertmanager(&value)
        }
        (false, true) => Err(Error::BadRequest(
            "Alertmanager webhook: \"version\" must be \"4\"".into(),
        )),
        (false, false) => Err(Error::BadRequest(EXPECTED.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_too_deep_or_out_of_range_is_named_as_such() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for (body, says) in [
            (
                deep.as_str(),
                "the body nests deeper than 128 levels (line 1, column ",
            ),
            (
                r#"{"alarm_timestamp": 1e400}"#,
                "the body holds a number out of a double's range (line 1, column ",
            ),
            ("{\"a\"", "the body is not JSON (line 1, column "),
        ] {
            let message = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(message.starts_with(says), "{body:.40}: {message}");
        }
    }

    #[test]
    fn the_three_shapes() {
        assert_eq!(parse(b"").unwrap().source, "ping");
        assert_eq!(parse(b" \n").unwrap().total(), 1);
        let m = json!({"alarm_id": "a1", "alarm_definition_id": "d1", "alarm_name": "heartbeat",
                       "alarm_description": "Heartbeat", "alarm_timestamp": 1795939200, "state": "ALARM",
                       "old_state": "OK", "message": "Thresholds were exceeded", "tenant_id": "t",
                       "metrics": [{"name": "monascamonitor.heartbeat", "dimensions": {"hostname": "h"}}]});
        let d = parse(m.to_string().as_bytes()).unwrap();
        assert_eq!(
            (d.source, d.counts.clone(), d.alarm.as_deref()),
            ("monasca", vec![("ALARM".to_string(), 1)], Some("heartbeat"))
        );
        let a = json!({"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "receiver": "telltale",
                       "status": "firing", "groupLabels": {"alertname": "TelltaleHeartbeat"},
                       "commonLabels": {"alertname": "TelltaleHeartbeat"}, "commonAnnotations": {},
                       "externalURL": "http://am", "alerts": [
            {"status": "firing", "labels": {}, "annotations": {}, "startsAt": "2026-11-23T10:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "1"},
            {"status": "resolved", "labels": {}, "annotations": {}, "startsAt": "2026-11-23T10:00:00Z",
             "endsAt": "2026-11-23T10:01:00Z", "generatorURL": "", "fingerprint": "2"},
            {"status": "firing", "labels": {}, "annotations": {}, "startsAt": "2026-11-23T10:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "3"}]});
        let d = parse(a.to_string().as_bytes()).unwrap();
        assert_eq!(d.source, "alertmanager");
        assert_eq!(
            d.counts,
            vec![("firing".to_string(), 2), ("resolved".to_string(), 1)]
        );
        assert_eq!(d.alarm.as_deref(), Some("TelltaleHeartbeat"));
    }

    #[test]
    fn anything_else_is_refused_without_echoing_it() {
        let secret = "s3cr3t-body-content";
        for body in [
            format!("{{\"{secret}\": 1}}"),
            format!("[\"{secret}\"]"),
            format!("not json {secret}"),
            json!({"alarm_id": secret, "state": "BROKEN"}).to_string(),
            json!({"version": "4", "alerts": []}).to_string(),
            json!({"version": "4", "alerts": [{"status": secret}]}).to_string(),
            json!({"version": 4, "alerts": [{"status": "firing"}]}).to_string(),
        ] {
            let err = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(!err.contains(secret), "{err}");
            assert!(matches!(parse(body.as_bytes()), Err(Error::BadRequest(_))));
        }
    }

    #[test]
    fn alarm_names_are_cut_and_invisible_characters_refused() {
        let body = json!({"alarm_id": "a", "state": "OK", "alarm_name": "y".repeat(500)});
        let d = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(d.alarm.unwrap().chars().count(), 256);
        for (c, code) in [
            ('\u{1b}', "U+001B"),
            ('\u{202e}', "U+202E"),
            ('\u{2066}', "U+2066"),
            ('\u{200b}', "U+200B"),
        ] {
            let m = json!({"alarm_id": "a", "state": "OK", "alarm_name": format!("x{c}y")});
            let a = json!({"version": "4", "status": "firing", "alerts": [{"status": "firing"}],
                           "commonLabels": {"alertname": format!("x{c}y")}});
            for body in [m, a] {
                let err = parse(body.to_string().as_bytes()).unwrap_err().to_string();
                assert!(
                    err.contains(code)
                        && (err.contains("'alarm_name'") || err.contains("'alertname'")),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn typed_fields_are_checked_and_one_shape_is_chosen() {
        let firing = json!({"status": "firing", "startsAt": "2026-11-23T10:00:00Z"});
        for (body, says) in [
            (
                json!({"version": "4", "status": "bogus", "alerts": [firing]}),
                "status must be",
            ),
            (
                json!({"version": "4", "status": "firing", "alerts": [{"status": "firing", "startsAt": 5}]}),
                "startsAt",
            ),
            (
                json!({"alarm_id": "a", "state": "OK", "alarm_timestamp": "now"}),
                "alarm_timestamp",
            ),
            (
                json!({"alarm_id": "a", "state": "OK", "old_state": "maybe"}),
                "old_state",
            ),
            (json!({"alarm_id": 7, "state": "OK"}), "alarm_id"),
            (
                json!({"alarm_id": "a", "state": "OK", "version": "4", "alerts": [firing]}),
                "both",
            ),
            (json!({"version": "3", "alerts": [firing]}), "\"4\""),
        ] {
            let err = parse(body.to_string().as_bytes()).unwrap_err().to_string();
            assert!(err.contains(says), "{body}: {err}");
        }
        let dup = br#"{"alarm_id":"a","state":"OK","state":"ALARM"}"#;
        let err = parse(dup).unwrap_err().to_string();
        assert!(err.contains("duplicate key \"state\""), "{err}");
    }
}
