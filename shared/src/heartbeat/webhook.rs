//! What `POST /heartbeat` accepts: an empty body (a plain ping), monasca-notification's webhook
//! body, or Alertmanager's webhook body (version 4). Anything else is refused naming the three.

use crate::base::error::{Error, Result};
use serde_json::{Map, Value};

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

/// Alarm names are shown to people: keep them short and without control characters.
fn clean(name: &str) -> String {
    name.chars()
        .take(MAX_ALARM)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn monasca(body: &Map<String, Value>) -> Result<Delivery> {
    let state = body["state"].as_str().unwrap_or_default();
    if !["OK", "ALARM", "UNDETERMINED"].contains(&state) {
        return Err(Error::BadRequest(format!(
            "Monasca webhook: \"state\" must be OK, ALARM or UNDETERMINED, not {}",
            body["state"]
                .to_string()
                .chars()
                .take(40)
                .collect::<String>()
        )));
    }
    Ok(Delivery {
        source: "monasca",
        counts: vec![(state.to_string(), 1)],
        alarm: body["alarm_name"].as_str().map(clean),
    })
}

fn alertmanager(body: &Map<String, Value>) -> Result<Delivery> {
    let Some(alerts) = body["alerts"].as_array().filter(|a| !a.is_empty()) else {
        return Err(Error::BadRequest(
            "Alertmanager webhook: \"alerts\" must be a non-empty array".into(),
        ));
    };
    let (mut firing, mut resolved) = (0u64, 0u64);
    for (i, alert) in alerts.iter().enumerate() {
        match alert["status"].as_str() {
            Some("firing") => firing += 1,
            Some("resolved") => resolved += 1,
            _ => {
                return Err(Error::BadRequest(format!(
                    "Alertmanager webhook: alerts[{i}].status must be \"firing\" or \"resolved\""
                )))
            }
        }
    }
    let counts = [("firing", firing), ("resolved", resolved)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    let alarm = ["commonLabels", "groupLabels"]
        .iter()
        .find_map(|k| body[*k]["alertname"].as_str())
        .map(clean);
    Ok(Delivery {
        source: "alertmanager",
        counts,
        alarm,
    })
}

/// Reads a delivery. The body is never echoed in an error.
pub fn parse(body: &[u8]) -> Result<Delivery> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Delivery {
            source: "ping",
            counts: vec![("success".into(), 1)],
            alarm: None,
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Error::BadRequest(format!(
            "the body is not JSON (line {}, column {}): {EXPECTED}",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(Error::BadRequest(format!(
            "the body is not an object: {EXPECTED}"
        )));
    };
    if map.contains_key("alarm_id") && map.contains_key("state") {
        monasca(&map)
    } else if map.get("version").and_then(Value::as_str) == Some("4") && map.contains_key("alerts")
    {
        alertmanager(&map)
    } else {
        Err(Error::BadRequest(EXPECTED.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn alarm_names_are_cut_and_cleaned() {
        let body = json!({"alarm_id": "a", "state": "OK", "alarm_name": format!("x\u{1b}[31m{}", "y".repeat(500))});
        let d = parse(body.to_string().as_bytes()).unwrap();
        let name = d.alarm.unwrap();
        assert_eq!(name.chars().count(), 256);
        assert!(!name.chars().any(char::is_control));
    }
}
