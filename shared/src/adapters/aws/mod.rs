//! AWS clients, built once per cold start from the standard `aws-config` chain.
//!
//! Local runs point every client at the emulator with the standard `AWS_ENDPOINT_URL`
//! variable; nothing here knows about the emulator except that S3 then needs path-style
//! addressing (bucket names cannot be resolved as host names on loopback).

pub mod accounting;
pub mod heartbeat;
pub mod keys;
pub mod probes;
pub mod s3;
pub mod ses;
pub mod ssm;

use super::timing::sdk::Timing;

/// What an adapter relies on in its table: the key's attribute names in order, the indexes it
/// queries with the attribute each is queried by, and the TTL attribute it writes. The
/// template (`infra/template.yaml`) is the one description of the tables; a test of the
/// command line's template reader holds these names to it.
#[derive(Debug, Clone, Copy)]
pub struct TableUse {
    pub key: &'static [&'static str],
    pub indexes: &'static [(&'static str, &'static str)],
    pub ttl: Option<&'static str>,
}
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Loaded once in `main` of the team's command line: the SDK's whole provider chain (profiles,
/// SSO-less `credential_process`, instance roles). Functions use `lambda_sdk_config`.
pub async fn sdk_config() -> SdkConfig {
    sdk_loader().timeout_config(timeouts()).load().await
}

/// Timeouts are bounded so a stuck dependency becomes a clear 503 instead of an invocation that
/// runs until Lambda kills it: an operation (with its retries) gets at most 5 s, so the several
/// calls of a submission fit the 15 s function timeout, and each HTTP route is in any case cut
/// at the invocation's deadline (`crate::base::deadline`).
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Loaded once in a function's `main`. Lambda gives a function its region and credentials in
/// the environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), so this reads only those, plus `AWS_ENDPOINT_URL` for local runs. The
/// SDK's loader would also bring its profile parser and the STS, SSO-token, IMDS and container
/// credential clients into every binary, and read files at cold start, for nothing.
pub fn lambda_sdk_config() -> SdkConfig {
    use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
    use aws_sdk_s3::config::SharedCredentialsProvider;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .map(aws_config::Region::new);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(timeouts());
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// The one HTTPS client every SDK client here uses: rustls on ring, the crypto reqwest already
/// brings (the SDK's default would link aws-lc-rs as well, a second crypto library in every
/// binary), trusting the same Mozilla roots as reqwest, compiled in. The SDK's default reads the
/// platform's certificate store when the first client is built, which is file I/O at every cold
/// start (hundreds of files on Debian).
fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    let builder =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(mozilla_roots_pem()))
        .build()
    {
        Ok(tls) => builder.tls_context(tls).build_https(),
        Err(err) => {
            tracing::warn!(error = %err, "compiled-in roots refused; using the platform's");
            builder.build_https()
        }
    }
}

/// `webpki-root-certs`' certificates as the PEM bundle the SDK's trust store takes.
fn mozilla_roots_pem() -> Vec<u8> {
    use base64::Engine;
    let mut pem = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2200);
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let text = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in text.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// The SDK's configuration loader with the one HTTPS client (`https_client`).
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .interceptor(Timing)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

// Every client logs each call it makes (`adapters::timing`).
pub fn ses_client(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    let conf = aws_sdk_sesv2::config::Builder::from(config)
        .interceptor(Timing)
        .build();
    aws_sdk_sesv2::Client::from_conf(conf)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(Timing)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Reads one item by its `id` partition key, strongly consistent (the tables written with
/// conditional writes are read back this way).
pub async fn get_by_id(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
) -> crate::base::error::Result<
    Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
> {
    let out = client
        .get_item()
        .table_name(table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(id.to_string()),
        )
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| {
            crate::base::error::Error::unavailable(
                crate::base::error::Dependency::DynamoDb,
                format!("reading an item: {}", logged(&e)),
            )
        })?;
    Ok(out.item)
}

/// What a caller may read of an SDK error: the service's error code (`ResourceNotFoundException`,
/// `ThrottlingException`, ...) or the class of transport failure. The full text, which can name
/// endpoints, tables and buckets, is logged here instead.
pub fn logged<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    tracing::warn!(error = %describe(err), "AWS call failed");
    match err {
        SdkError::ServiceError(se) => se.err().code().unwrap_or("service error").to_string(),
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "timed out".into(),
        SdkError::DispatchFailure(_) => "not reachable".into(),
        SdkError::ResponseError(_) => "answer not understood".into(),
        _ => "request failed".into(),
    }
}

/// The most precise text of an SDK error: service code and message where the service sent
/// them, otherwise the transport failure (connection refused, timeout, ...).
pub fn describe<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => e.to_string(),
            }
        }
        other => {
            // The Display of transport errors is terse ("dispatch failure"); the source chain
            // says what actually happened.
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// Whether a conditional write was refused because its condition did not hold: for the
/// writes here that is an answer (already claimed, changed meanwhile), not a failure.
pub fn condition_failed<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Runs a transaction; `Ok(Err(reasons))` when it was cancelled by a condition, with one
/// reason code per write. Transactions that collide with one in flight are retried.
pub async fn transact(
    client: &aws_sdk_dynamodb::Client,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    what: &str,
) -> crate::base::error::Result<Result<(), Vec<String>>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    let failed = |message: String| {
        crate::base::error::Error::unavailable(
            crate::base::error::Dependency::DynamoDb,
            format!("{what}: {message}"),
        )
    };
    for attempt in 0..5u64 {
        let result = client
            .transact_write_items()
            .set_transact_items(Some(writes.clone()))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Ok(())),
            Err(e) => e,
        };
        let (reasons, in_progress) = match err.as_service_error() {
            Some(E::TransactionCanceledException(t)) => (
                t.cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect(),
                false,
            ),
            Some(E::TransactionInProgressException(_)) => (Vec::new(), true),
            _ => return Err(failed(logged(&err))),
        };
        let conflict = in_progress || reasons.iter().any(|c: &String| c == "TransactionConflict");
        if conflict && attempt < 4 {
            tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
            continue;
        }
        if conflict {
            return Err(failed("too many conflicting writes".into()));
        }
        return Ok(Err(reasons));
    }
    Err(failed("too many conflicting writes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    /// The SDK's client parses the bundle with exactly this reader when it first connects (and
    /// panics on a bad one), so every compiled-in root must come back whole.
    #[test]
    fn the_compiled_in_roots_read_back_as_the_same_certificates() {
        let pem = mozilla_roots_pem();
        let read: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        assert!(read.len() > 100, "{} roots", read.len());
        assert_eq!(read.as_slice(), webpki_root_certs::TLS_SERVER_ROOT_CERTS);
        let mut store = rustls::RootCertStore::empty();
        let (valid, invalid) = store.add_parsable_certificates(read);
        assert_eq!(
            (valid, invalid),
            (webpki_root_certs::TLS_SERVER_ROOT_CERTS.len(), 0)
        );
    }
}
