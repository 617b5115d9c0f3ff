//! The Monasca side of the loop, set up by one command that can run again (the seed typed
//! `monasca notification-create` and `monasca alarm-definition-create` by hand): a `WEBHOOK`
//! notification method at the heartbeat URL and an alarm definition on the source's metric
//! whose alarm and OK actions both point at it, so every transition reaches `POST /heartbeat`.
//! Each is found by name, created when missing, put back with a PATCH of what was changed by
//! hand, and never created twice.

pub use super::ports::{Existing, Kind, MonascaObjects};
use serde_json::{json, Value};

/// The source's metric summed over Monasca's 60 s period: one beat a minute
/// (`HeartbeatSourceRate`), valued 1 in even minutes and 0 in odd ones, sums to 1 and 0 in
/// turn, so the alarm changes state every minute. (The seed's source beat once a second, hence
/// its `>= 50`.) For a source beating every R seconds with flips every F seconds (F ≥ 60), the
/// threshold is the beats of value 1 a 60 s period holds: 60 / R.
pub const DEFAULT_EXPRESSION: &str = "sum(monascamonitor.heartbeat{}) >= 1";

/// What the loop needs from Monasca.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// `…/heartbeat?token=<key>`: never printed whole.
    pub webhook_url: String,
    pub alarm_name: String,
    pub expression: String,
    pub severity: String,
}

impl Wanted {
    /// The method's name, as the seed named it (`heartbeat_webhook`).
    pub fn method_name(&self) -> String {
        format!("{}_webhook", self.alarm_name)
    }

    fn method(&self) -> Value {
        json!({"name": self.method_name(), "type": "WEBHOOK", "address": self.webhook_url, "period": 0})
    }

    fn definition(&self, method_id: &str) -> Value {
        json!({"name": self.alarm_name, "description": "telltale heartbeat loop",
               "expression": self.expression, "severity": self.severity.to_uppercase(),
               "alarm_actions": [method_id], "ok_actions": [method_id]})
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Unchanged,
    /// The fields put back.
    Repaired(Vec<String>),
}

/// What was done (or, in a dry run, would be) to one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub kind: Kind,
    pub name: String,
    pub id: Option<String>,
    pub outcome: Outcome,
}

/// The fields of `want` that `have` holds otherwise. Types are compared as Monasca compares
/// them (upper case); action lists as sets.
fn differing(want: &Value, have: &Value) -> Vec<String> {
    let Some(want) = want.as_object() else {
        return Vec::new();
    };
    let same = |key: &str, w: &Value| {
        let h = &have[key];
        match (w, h) {
            (Value::String(w), Value::String(h)) if key == "type" || key == "severity" => {
                w.eq_ignore_ascii_case(h)
            }
            (Value::Array(w), Value::Array(h)) => {
                let (mut w, mut h) = (w.clone(), h.clone());
                w.sort_by_key(Value::to_string);
                h.sort_by_key(Value::to_string);
                w == h
            }
            _ => w == h,
        }
    };
    want.iter()
        .filter(|(k, w)| k.as_str() != "name" && !same(k, w))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Finds the one object of `kind` named `name`; several is for the operator to resolve.
async fn one(
    api: &impl MonascaObjects,
    kind: Kind,
    name: &str,
) -> Result<Option<Existing>, String> {
    let mut found = api.named(kind, name).await?;
    match found.len() {
        0 | 1 => Ok(found.pop()),
        n => Err(format!(
            "Monasca holds {n} {}s named '{name}'; delete all but one",
            kind.label()
        )),
    }
}

/// Creates or repairs one object towards `want`.
async fn reconcile(
    api: &impl MonascaObjects,
    kind: Kind,
    want: Value,
    dry_run: bool,
) -> Result<Step, String> {
    let name = want["name"].as_str().unwrap_or_default().to_string();
    let step = |id: Option<String>, outcome| Step {
        kind,
        name: name.clone(),
        id,
        outcome,
    };
    match one(api, kind, &name).await? {
        None if dry_run => Ok(step(None, Outcome::Created)),
        None => Ok(step(Some(api.create(kind, &want).await?), Outcome::Created)),
        Some(have) => {
            let fields = differing(&want, &have.body);
            if fields.is_empty() {
                return Ok(step(Some(have.id), Outcome::Unchanged));
            }
            if !dry_run {
                let mut patch = serde_json::Map::new();
                for f in &fields {
                    patch.insert(f.clone(), want[f].clone());
                }
                // A notification method's PATCH is validated whole: it carries every field.
                let body = match kind {
                    Kind::NotificationMethod => want.clone(),
                    Kind::AlarmDefinition => Value::Object(patch),
                };
                api.patch(kind, &have.id, &body).await?;
            }
            Ok(step(Some(have.id), Outcome::Repaired(fields)))
        }
    }
}

/// Sets up (or, with `dry_run`, only says what it would do to) the method, then the
/// definition pointing at it.
pub async fn set_up(
    api: &impl MonascaObjects,
    want: &Wanted,
    dry_run: bool,
) -> Result<Vec<Step>, String> {
    let method = reconcile(api, Kind::NotificationMethod, want.method(), dry_run).await?;
    // In a dry run a method still to be created has no id: the definition is compared with
    // a placeholder, so its actions show as to be set.
    let method_id = method.id.clone().unwrap_or_else(|| "(new)".into());
    let definition = reconcile(
        api,
        Kind::AlarmDefinition,
        want.definition(&method_id),
        dry_run,
    )
    .await?;
    Ok(vec![method, definition])
}

/// A URL as printed: without its query (the token), which shows as `?…`.
pub fn shown_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

/// One line per object: what was (or would be) done.
pub fn line(step: &Step, dry_run: bool) -> String {
    let what = match (&step.outcome, dry_run) {
        (Outcome::Created, false) => "created".to_string(),
        (Outcome::Created, true) => "would be created".to_string(),
        (Outcome::Unchanged, _) => "unchanged".to_string(),
        (Outcome::Repaired(f), false) => format!("repaired ({})", f.join(", ")),
        (Outcome::Repaired(f), true) => format!("would be repaired ({})", f.join(", ")),
    };
    let id = step
        .id
        .as_deref()
        .map(|id| format!(", id {id}"))
        .unwrap_or_default();
    format!("{} {}: {what}{id}", step.kind.label(), step.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_differs_is_named_and_case_and_order_do_not_count() {
        let want = json!({"name": "h", "type": "WEBHOOK", "address": "https://a/x", "period": 0});
        let have = json!({"name": "h", "type": "webhook", "address": "https://b/x", "period": 0});
        assert_eq!(differing(&want, &have), vec!["address".to_string()]);
        let want = json!({"name": "h", "alarm_actions": ["a", "b"], "severity": "LOW"});
        let have = json!({"name": "h", "alarm_actions": ["b", "a"], "severity": "low"});
        assert!(differing(&want, &have).is_empty());
        assert_eq!(
            shown_url("https://x/heartbeat?token=tt_1"),
            "https://x/heartbeat?…"
        );
    }
}
