//! Monasca's notification methods and alarm definitions through its API (`/v2.0/notification-
//! methods`, `/v2.0/alarm-definitions`), as the `MonascaObjects` port of the loop's setup.

use super::Monasca;
use crate::heartbeat::ports::{Existing, Kind, MonascaObjects};
use reqwest::Method;
use serde_json::Value;

fn collection(kind: Kind) -> &'static str {
    match kind {
        Kind::NotificationMethod => "/notification-methods",
        Kind::AlarmDefinition => "/alarm-definitions",
    }
}

/// The answer's JSON, or an error naming Monasca, the status and its description.
fn answer(status: u16, text: &str, ok: &[u16]) -> Result<Value, String> {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if ok.contains(&status) {
        return Ok(body);
    }
    let why = body["description"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .or_else(|| body["title"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| text.trim().chars().take(200).collect());
    Err(format!("Monasca answered HTTP {status}: {why}"))
}

fn existing(element: &Value) -> Option<Existing> {
    Some(Existing {
        id: element["id"].as_str()?.to_string(),
        body: element.clone(),
    })
}

impl MonascaObjects for Monasca {
    async fn named(&self, kind: Kind, name: &str) -> Result<Vec<Existing>, String> {
        let mut found = Vec::new();
        let mut offset: Option<String> = None;
        // Pages are followed by their `offset` (the last id), as the API's `next` link does.
        for _ in 0..1_000 {
            let mut path = format!("{}?limit=1000", collection(kind));
            if kind == Kind::AlarmDefinition {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
                path.push_str(&format!("&name={encoded}"));
            }
            if let Some(o) = &offset {
                let encoded: String = url::form_urlencoded::byte_serialize(o.as_bytes()).collect();
                path.push_str(&format!("&offset={encoded}"));
            }
            let (status, text) = self.call(Method::GET, &path, None, "list").await?;
            let page = answer(status, &text, &[200])?;
            let elements = page["elements"].as_array().cloned().unwrap_or_default();
            found.extend(
                elements
                    .iter()
                    .filter(|e| e["name"] == name)
                    .filter_map(existing),
            );
            let next = page["links"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|l| l["rel"] == "next");
            match elements.last().and_then(|e| e["id"].as_str()) {
                Some(last) if next => offset = Some(last.to_string()),
                _ => return Ok(found),
            }
        }
        Err("Monasca's list did not end after 1,000 pages".into())
    }

    async fn create(&self, kind: Kind, body: &Value) -> Result<String, String> {
        let (status, text) = self
            .call(Method::POST, collection(kind), Some(body), "create")
            .await?;
        let created = answer(status, &text, &[200, 201])?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("Monasca created a {} without an id", kind.label()))
    }

    async fn patch(&self, kind: Kind, id: &str, body: &Value) -> Result<(), String> {
        let path = format!("{}/{id}", collection(kind));
        let (status, text) = self.call(Method::PATCH, &path, Some(body), "patch").await?;
        answer(status, &text, &[200]).map(|_| ())
    }
}
