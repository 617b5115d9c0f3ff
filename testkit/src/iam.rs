//! Policies as statements: what a statement grants, and a policy less one grant, for proving
//! each grant is needed (`Moto::policy`, `Moto::principal`, `Moto::denied`).

use serde_json::{json, Value};

pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The statements with statement `i` granting everything it granted but `action` on
/// `resource` (one statement per remaining action and resource).
pub fn without(statements: &[Value], i: usize, action: &str, resource: &str) -> Vec<Value> {
    let mut out: Vec<Value> = statements
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, s)| s.clone())
        .collect();
    for a in strings(&statements[i]["Action"]) {
        for r in strings(&statements[i]["Resource"]) {
            if (a.as_str(), r.as_str()) != (action, resource) {
                out.push(json!({"Effect": "Allow", "Action": a, "Resource": r}));
            }
        }
    }
    out
}

/// Whether an IAM resource pattern (`*` for any run of characters) covers `resource`.
pub fn covers(pattern: &str, resource: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == resource;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if resource.len() < first.len() + last.len()
        || !resource.starts_with(first)
        || !resource.ends_with(last)
    {
        return false;
    }
    let mut rest = &resource[first.len()..resource.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}
