//! Where points are written, from the environment. Compatible with the seed's variables
//! (`INFLUXDB_HOSTNAME`, `INFLUXDB_PORT`, `INFLUXDB_USERNAME`, `INFLUXDB_PASSWORD`,
//! `INFLUXDB_DATABASE`; like the seed, a host name means HTTPS unless `INFLUXDB_SSL=false`),
//! plus `INFLUXDB_URL`, and InfluxDB 2's token, organisation and bucket.

use crate::base::env::{ConfigError, Env, SecretRef};
use crate::collectors::line::Precision;
use std::time::Duration;

/// The most points one write request carries (InfluxDB's own advice for batch size).
pub const MAX_BATCH: usize = 5000;

#[derive(Debug, Clone, PartialEq)]
pub enum Api {
    /// `POST /write?db=&rp=&precision=`, HTTP Basic when a user is given.
    V1 {
        database: String,
        retention_policy: Option<String>,
        username: Option<String>,
        password: Option<SecretRef>,
    },
    /// `POST /api/v2/write?org=&bucket=&precision=`, `Authorization: Token …`.
    V2 {
        org: String,
        bucket: String,
        token: SecretRef,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct InfluxConfig {
    /// Base URL without a trailing slash, e.g. `https://influx.example.org:8086`.
    pub url: String,
    pub api: Api,
    pub precision: Precision,
    /// Accept any certificate (self-signed test servers only); warned about at every run.
    pub insecure_skip_verify: bool,
    pub timeout: Duration,
    /// Retries of a 5xx, 429 or network failure, with doubling delays from `retry_base`.
    pub retries: u32,
    pub retry_base: Duration,
    pub batch_size: usize,
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn optional<F: Fn(&str) -> Option<String>>(env: &Env<F>, name: &str) -> Option<String> {
    (env.0)(name).filter(|v| !v.trim().is_empty())
}

fn base_url<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<String, ConfigError> {
    if let Some(url) = optional(env, "INFLUXDB_URL") {
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| invalid("INFLUXDB_URL", &url, &e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(invalid(
                "INFLUXDB_URL",
                &url,
                "use http(s)://host[:port][/path]",
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "INFLUXDB_URL",
                "(not shown)",
                "put credentials in INFLUXDB_USERNAME/INFLUXDB_PASSWORD, not in the URL",
            ));
        }
        return Ok(url.trim().trim_end_matches('/').to_string());
    }
    let host = env
        .required("INFLUXDB_HOSTNAME")
        .map_err(|_| ConfigError::Missing {
            name: "INFLUXDB_URL or INFLUXDB_HOSTNAME",
        })?;
    if host.contains(['/', ' ', '@']) {
        return Err(invalid(
            "INFLUXDB_HOSTNAME",
            &host,
            "a host name, without scheme or path",
        ));
    }
    let port = env.parsed_or::<u16>("INFLUXDB_PORT", 8086)?;
    if port == 0 {
        return Err(invalid("INFLUXDB_PORT", "0", "not a port"));
    }
    let scheme = if env.parsed_or::<bool>("INFLUXDB_SSL", true)? {
        "https"
    } else {
        "http"
    };
    let host = host.trim();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(format!("{scheme}://{host}:{port}"))
}

impl InfluxConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let url = base_url(env)?;
        let api = match env.secret("INFLUXDB_TOKEN", "INFLUXDB_TOKEN_PARAMETER") {
            Some(token) => Api::V2 {
                org: env.required("INFLUXDB_ORG")?,
                bucket: env.required("INFLUXDB_BUCKET")?,
                token,
            },
            None => {
                let username = optional(env, "INFLUXDB_USERNAME");
                let password = env.secret("INFLUXDB_PASSWORD", "INFLUXDB_PASSWORD_PARAMETER");
                if password.is_some() && username.is_none() {
                    return Err(ConfigError::Missing {
                        name: "INFLUXDB_USERNAME (a password is set)",
                    });
                }
                Api::V1 {
                    database: env.required("INFLUXDB_DATABASE")?,
                    retention_policy: optional(env, "INFLUXDB_RETENTION_POLICY"),
                    username,
                    password,
                }
            }
        };
        let precision_text = env.or("INFLUXDB_PRECISION", "s");
        let precision = Precision::parse(precision_text.trim())
            .ok_or_else(|| invalid("INFLUXDB_PRECISION", &precision_text, "use ns, us, ms or s"))?;
        let batch_size = env.parsed_or::<usize>("INFLUXDB_BATCH_SIZE", MAX_BATCH)?;
        if !(1..=MAX_BATCH).contains(&batch_size) {
            return Err(invalid(
                "INFLUXDB_BATCH_SIZE",
                &batch_size.to_string(),
                "between 1 and 5000",
            ));
        }
        let timeout = env.parsed_or::<u64>("INFLUXDB_TIMEOUT_SECONDS", 10)?;
        if timeout == 0 {
            return Err(invalid(
                "INFLUXDB_TIMEOUT_SECONDS",
                "0",
                "must be at least 1",
            ));
        }
        Ok(Self {
            url,
            api,
            precision,
            insecure_skip_verify: env.parsed_or::<bool>("INFLUXDB_INSECURE_SKIP_VERIFY", false)?,
            timeout: Duration::from_secs(timeout),
            retries: env.parsed_or::<u32>("INFLUXDB_RETRIES", 3)?,
            retry_base: Duration::from_millis(env.parsed_or::<u64>("INFLUXDB_RETRY_BASE_MS", 500)?),
            batch_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::env::Secret;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<InfluxConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        InfluxConfig::read(&Env(move |k: &str| map.get(k).cloned()))
    }

    #[test]
    fn the_seeds_variables_mean_https_to_host_and_port() {
        let c = read(&[
            ("INFLUXDB_HOSTNAME", "influx.example.org"),
            ("INFLUXDB_PORT", "8087"),
            ("INFLUXDB_USERNAME", "kpi"),
            ("INFLUXDB_PASSWORD", "pw"),
            ("INFLUXDB_DATABASE", "metrics"),
        ])
        .unwrap();
        assert_eq!(c.url, "https://influx.example.org:8087");
        assert_eq!(
            c.api,
            Api::V1 {
                database: "metrics".into(),
                retention_policy: None,
                username: Some("kpi".into()),
                password: Some(SecretRef::Value(Secret::new("pw"))),
            }
        );
        assert_eq!(c.precision, Precision::Seconds);
        assert!(!c.insecure_skip_verify);
        assert_eq!(c.batch_size, MAX_BATCH);
    }

    #[test]
    fn a_url_and_a_token_mean_influxdb_2() {
        let c = read(&[
            ("INFLUXDB_URL", "http://127.0.0.1:8086/"),
            ("INFLUXDB_TOKEN_PARAMETER", "/telltale/influxdb/token"),
            ("INFLUXDB_ORG", "team"),
            ("INFLUXDB_BUCKET", "kpis"),
            ("INFLUXDB_PRECISION", "ms"),
        ])
        .unwrap();
        assert_eq!(c.url, "http://127.0.0.1:8086");
        assert_eq!(
            c.api,
            Api::V2 {
                org: "team".into(),
                bucket: "kpis".into(),
                token: SecretRef::Parameter {
                    variable: "INFLUXDB_TOKEN_PARAMETER",
                    name: "/telltale/influxdb/token".into()
                }
            }
        );
        assert_eq!(c.precision, Precision::Milliseconds);
    }

    #[test]
    fn a_missing_or_malformed_variable_is_named() {
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[], "INFLUXDB_URL or INFLUXDB_HOSTNAME"),
            (&[("INFLUXDB_HOSTNAME", "h")], "INFLUXDB_DATABASE"),
            (
                &[("INFLUXDB_HOSTNAME", "h"), ("INFLUXDB_PORT", "http")],
                "INFLUXDB_PORT",
            ),
            (&[("INFLUXDB_URL", "influx:8086")], "INFLUXDB_URL"),
            (
                &[
                    ("INFLUXDB_URL", "https://u:secret@h"),
                    ("INFLUXDB_DATABASE", "d"),
                ],
                "INFLUXDB_URL",
            ),
            (
                &[("INFLUXDB_URL", "http://h"), ("INFLUXDB_TOKEN", "t")],
                "INFLUXDB_ORG",
            ),
            (
                &[
                    ("INFLUXDB_URL", "http://h"),
                    ("INFLUXDB_DATABASE", "d"),
                    ("INFLUXDB_PRECISION", "h"),
                ],
                "INFLUXDB_PRECISION",
            ),
            (
                &[
                    ("INFLUXDB_URL", "http://h"),
                    ("INFLUXDB_DATABASE", "d"),
                    ("INFLUXDB_BATCH_SIZE", "6000"),
                ],
                "INFLUXDB_BATCH_SIZE",
            ),
            (
                &[
                    ("INFLUXDB_URL", "http://h"),
                    ("INFLUXDB_DATABASE", "d"),
                    ("INFLUXDB_PASSWORD", "p"),
                ],
                "INFLUXDB_USERNAME",
            ),
        ];
        for (pairs, variable) in cases {
            let err = read(pairs).unwrap_err().to_string();
            assert!(err.contains(variable), "{pairs:?}: {err}");
            assert!(!err.contains("secret"), "{err} shows a credential");
        }
    }
}
