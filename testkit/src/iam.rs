//! moto with IAM enforced (`iam_moto.py serve`): an administrator sets the local stack up, and
//! each function runs as a principal holding exactly its template policy, resolved to the
//! local stack's ARNs (`iam_moto.py policy`). Every refusal is recorded with the key it was
//! refused to, so a test can tell which call a permission is for.

use super::{repo_root, venv_bin};
use aws_config::{Region, SdkConfig};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct IamMoto {
    pub endpoint: String,
    admin: (String, String),
    denials: PathBuf,
    child: Child,
}

fn helper() -> Command {
    let mut cmd = Command::new(venv_bin("python"));
    cmd.arg(repo_root().join("testkit/iam_moto.py"));
    cmd
}

impl IamMoto {
    pub fn start() -> IamMoto {
        let denials = std::env::temp_dir().join(format!("{}.denials", super::unique("iam")));
        let mut child = helper()
            .arg("serve")
            .env("IAM_DENIALS", &denials)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto with IAM enforced");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("reading moto's port");
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("moto with IAM did not start ({e}): {line:?}"));
        let key = |i: usize| info["admin"][i].as_str().expect("admin key").to_string();
        IamMoto {
            endpoint: format!("http://127.0.0.1:{}", info["port"]),
            admin: (key(0), key(1)),
            denials,
            child,
        }
    }

    /// The administrator's SDK configuration, for setting the stack up.
    pub async fn admin_sdk(&self) -> SdkConfig {
        telltale::adapters::aws::sdk_loader()
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &self.admin.0,
                &self.admin.1,
                None,
                None,
                "iam-admin",
            ))
            .load()
            .await
    }

    /// The statements of the template function `function_id`'s policy, for the local stack
    /// whose logical ids and parameters `names` gives.
    pub fn policy(&self, function_id: &str, names: &Value) -> Vec<Value> {
        let out = helper()
            .args(["policy", function_id, &names.to_string()])
            .output()
            .expect("running iam_moto.py policy");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the statements")
    }

    /// A new principal holding exactly `statements`: its access key and secret.
    pub fn principal(&self, name: &str, statements: &[Value]) -> (String, String) {
        let mut child = helper()
            .args([
                "principal",
                &self.endpoint,
                &self.admin.0,
                &self.admin.1,
                name,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running iam_moto.py principal");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(Value::from(statements.to_vec()).to_string().as_bytes())
            .expect("writing the statements");
        let out = child.wait_with_output().expect("its answer");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Vec<String> = serde_json::from_slice(&out.stdout).expect("a key pair");
        (keys[0].clone(), keys[1].clone())
    }

    /// What was refused to `key` so far: (action, resource), as `dynamodb:PutItem` on
    /// `arn:aws:dynamodb:…:table/name`.
    pub fn denied(&self, key: &str) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.denials)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|d| d["key"] == key)
            .map(|d| {
                let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                (text("action"), text("resource"))
            })
            .collect()
    }
}

impl Drop for IamMoto {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
