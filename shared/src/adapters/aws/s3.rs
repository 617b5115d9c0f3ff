//! Conditional reads of S3 objects (ETag revalidation): the mapping files' source.

use crate::metrics::ports::{Fetched, MappingSource};
use aws_sdk_s3::Client;
use futures::future::BoxFuture;

/// The mapping files in one bucket.
pub struct S3Mappings {
    client: Client,
    bucket: String,
    place: String,
}

impl S3Mappings {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        let bucket = bucket.into();
        Self {
            client,
            place: format!("s3://{bucket}"),
            bucket,
        }
    }
}

impl MappingSource for S3Mappings {
    fn place(&self) -> &str {
        &self.place
    }

    fn fetch<'a>(
        &'a self,
        key: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched, String>> {
        Box::pin(get_if_changed(&self.client, &self.bucket, key, etag))
    }
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

/// The mapping files of `config.bucket` as a warm container keeps them.
pub fn mapping_store(
    client: Client,
    config: crate::metrics::config::MappingsConfig,
) -> crate::metrics::store::MappingStore {
    let source = S3Mappings::new(client, config.bucket.clone());
    crate::metrics::store::MappingStore::new(source, config)
}
