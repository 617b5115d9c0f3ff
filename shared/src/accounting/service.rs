//! The EOSC Accounting Service's metric endpoint: one POST per metric record. A 5xx, a 429 or
//! no answer is retried with backoff; a 401 gets one token refresh and a retry; any other
//! answer is the outcome. Errors are text for the push's report, never with the token.

use super::config::AccountingConfig;
use super::ports::{AccountingService, AccountingStore, Posted, TokenGrant};
use super::token::RunToken;
use serde_json::Value;

/// What a push talks to: the service, the token endpoint and the state table.
#[derive(Clone, Copy)]
pub struct Remote<'a> {
    pub service: &'a dyn AccountingService,
    pub grant: &'a dyn TokenGrant,
    pub table: &'a dyn AccountingStore,
    pub config: &'a AccountingConfig,
}

/// POSTs one record to `url`; the new record's `metric_id`, or why there is none.
pub async fn post_metric(
    remote: Remote<'_>,
    token: &RunToken,
    url: &str,
    body: &Value,
) -> Result<String, String> {
    let Remote {
        service,
        grant,
        table,
        config,
    } = remote;
    let (mut retries, mut refreshed) = (0u32, false);
    loop {
        let bearer = token
            .get(grant, config, table)
            .await
            .map_err(|e| e.to_string())?;
        let Posted { status, answer } = service.post(url, &bearer, body).await;
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
                    .refused(grant, config, table, &bearer)
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
