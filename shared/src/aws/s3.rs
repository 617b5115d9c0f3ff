//! Conditional reads of S3 objects (ETag revalidation).

use aws_sdk_s3::Client;

/// Outcome of a conditional GET.
#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// GET `s3://bucket/key`, sending `If-None-Match` when an ETag is known. The error is a message
/// fit for an operator: it names the object and what S3 (or the network) said.
pub async fn get_if_changed(
    client: &Client,
    bucket: &str,
    key: &str,
    etag: Option<&str>,
) -> Result<Fetched, String> {
    let mut req = client.get_object().bucket(bucket).key(key);
    if let Some(etag) = etag {
        req = req.if_none_match(etag);
    }
    match req.send().await {
        Ok(out) => {
            let etag = out.e_tag().map(str::to_string);
            let last_modified = out.last_modified().map(|t| t.to_string());
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| format!("s3://{bucket}/{key}: reading the body failed: {e}"))?
                .into_bytes()
                .to_vec();
            Ok(Fetched::Body {
                bytes,
                etag,
                last_modified,
            })
        }
        Err(err) => {
            if err.raw_response().map(|r| r.status().as_u16()) == Some(304) {
                return Ok(Fetched::NotModified);
            }
            Err(format!("{key}: {}", super::logged(&err)))
        }
    }
}
