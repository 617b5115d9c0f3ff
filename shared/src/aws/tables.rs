//! Creating the DynamoDB tables and the S3 bucket on the local emulator, for `make dev` and the
//! tests. In AWS the SAM template (`infra/template.yaml`) declares them; keep the key schemas
//! here and there the same.

use super::describe;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// Partition key of the API-key table.
pub const API_KEYS_HASH_KEY: &str = "key_hash";

/// Creates the API-key table if it does not exist yet.
pub async fn ensure_api_keys_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), String> {
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(API_KEYS_HASH_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(API_KEYS_HASH_KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("creating table {table}: {}", describe(&e))),
    }
}

/// Creates the bucket if it does not exist yet.
pub async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), String> {
    let mut req = client.create_bucket().bucket(bucket);
    // Outside us-east-1 S3 wants the region named again in the request.
    if let Some(region) = client.config().region().map(|r| r.as_ref().to_string()) {
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        region.as_str(),
                    ))
                    .build(),
            );
        }
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("creating bucket {bucket}: {}", describe(&e))),
    }
}

pub async fn put_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("uploading s3://{bucket}/{key}: {}", describe(&e)))
}
