//! The local stack's function environments, as `make dev` and `cargo lambda watch` give them:
//! the table of local values (`infra/local/functions.env`, rendered) and what the runner
//! (`scripts/function_env.py`) keeps of it for one function.

use super::{local_config, repo_root, venv_bin};
use std::path::Path;
use std::process::Command;

/// `infra/local/functions.env` with its placeholders filled in, as `KEY=VALUE` pairs. Those
/// of the emulator's IAM not given are a stack without IAM (no `LOCAL_IAM_DIR`).
pub fn local_values(placeholders: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = placeholders.to_vec();
    for (name, value) in [
        ("ADMIN_KEY", "local"),
        ("ADMIN_SECRET", "local"),
        ("IAM_DIR", ""),
    ] {
        if !all.iter().any(|(n, _)| *n == name) {
            all.push((name, value));
        }
    }
    local_config("functions.env", &all)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=VALUE: {l}"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

/// `scripts/function_env.py ARGS` with `table` as its whole environment (and `template`
/// instead of `infra/template.yaml` when given); what it prints.
pub fn runner(args: &[&str], table: &[(String, String)], template: Option<&Path>) -> String {
    let mut cmd = Command::new(venv_bin("python"));
    cmd.arg(repo_root().join("scripts/function_env.py"))
        .args(args)
        .env_clear()
        .envs(table.iter().cloned());
    if let Some(t) = template {
        cmd.env("TELLTALE_TEMPLATE", t);
    }
    let out = cmd.output().expect("running scripts/function_env.py");
    assert!(
        out.status.success(),
        "function_env.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `binary`'s environment as the runner gives it from `table`.
pub fn function_environment(
    binary: &str,
    table: &[(String, String)],
    template: Option<&Path>,
) -> Vec<(String, String)> {
    runner(&["show", binary], table, template)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
