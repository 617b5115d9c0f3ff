//! The EOSC Accounting Service's metric endpoint: one POST per metric record. A 5xx, a 429 or
//! no answer is retried with backoff; a 401 gets one token refresh and a retry; any other
//! answer is the outcome. Errors are text for the push's report, never with the token.

use super::token::RunToken;
use crate::aws::accounting::AccountingTable;
use crate::config::AccountingConfig;
use serde_json::{json, Value};

/// POSTs one record to `url`; the new record's `metric_id`, or why there is none.
pub async fn post_metric(
    http: &reqwest::Client,
    config: &AccountingConfig,
    table: &AccountingTable,
    token: &RunToken,
    url: &str,
    body: &Value,
) -> Result<String, String> {
    let (mut retries, mut refreshed) = (0u32, false);
    loop {
        let bearer = token
            .get(http, config, table)
            .await
            .map_err(|e| e.to_string())?;
        let sent = http
            .post(url)
            .bearer_auth(bearer.expose())
            .json(body)
            .send()
            .await;
        let (status, answer) = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"message": e.without_url().to_string()})),
        };
        let message = answer["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        match status {
            200 | 201 => {
                return answer["metric_id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "the service answered without a metric_id".to_string())
            }
            401 if !refreshed => {
                refreshed = true;
                token
                    .refused(http, config, table, &bearer)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            0 | 429 | 500..=599 if retries < config.retries => {
                let delay = config.retry_base * 2u32.saturating_pow(retries);
                retries += 1;
                tracing::info!(
                    status,
                    retries,
                    ?delay,
                    "accounting service busy or failing; retrying"
                );
                tokio::time::sleep(delay).await;
            }
            0 => return Err(format!("EOSC Accounting Service unreachable: {message}")),
            _ => {
                return Err(format!(
                    "EOSC Accounting Service answered HTTP {status}: {message}"
                ))
            }
        }
    }
}
