//! The local stack's tables and bucket as moto describes them after `ensure_table` and
//! `ensure_bucket`: the shape the template declares (read by `telltale_cli::stores`), TTL and
//! versioning included — what `telltale local setup` and every test fixture create.

use telltale::adapters::aws::{dynamodb_client, s3_client};
use telltale_cli::stores::{table, Store};
use telltale_cli::tables::{ensure_bucket, ensure_table};
use telltale_testkit::{moto::moto, unique};

/// An index as compared: name, key schema, projection type.
type Index = (String, Vec<(String, String)>, String);

#[tokio::test]
async fn each_table_is_created_as_the_template_declares_it() {
    let client = dynamodb_client(&moto().sdk_config().await);
    for store in Store::ALL {
        let name = unique("store");
        ensure_table(&client, store, &name).await.unwrap();
        ensure_table(&client, store, &name)
            .await
            .expect("a second setup finds it and changes nothing");
        let spec = table(store).unwrap();
        let described = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let t = described.table().unwrap();
        let key: Vec<(String, String)> = t
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(key, spec.key, "{store:?}");
        let mut indexes: Vec<Index> = t
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                (
                    i.index_name().unwrap_or_default().to_string(),
                    i.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.attribute_name().to_string(),
                                k.key_type().as_str().to_string(),
                            )
                        })
                        .collect(),
                    i.projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut declared: Vec<Index> = spec
            .indexes
            .iter()
            .map(|i| (i.name.clone(), i.key.clone(), i.projection.clone()))
            .collect();
        indexes.sort();
        declared.sort();
        assert_eq!(indexes, declared, "{store:?}");
        let ttl = client
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let enabled = ttl
            .time_to_live_description()
            .filter(|d| d.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED"))
            .and_then(|d| d.attribute_name())
            .map(str::to_string);
        assert_eq!(enabled, spec.ttl, "{store:?}");
    }
}

#[tokio::test]
async fn the_bucket_keeps_every_version_as_the_template_says() {
    // Outside us-east-1, where S3 answers a second CreateBucket with BucketAlreadyOwnedByYou.
    let sdk = moto()
        .sdk_config()
        .await
        .into_builder()
        .region(aws_config::Region::new("eu-central-1"))
        .build();
    let s3 = s3_client(&sdk);
    let bucket = unique("stores");
    // Made before without versioning (an older setup): setup brings it to the template's.
    ensure_bucket(&s3, &bucket).await.unwrap();
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ensure_bucket(&s3, &bucket).await.unwrap();
    ensure_bucket(&s3, &bucket).await.expect("found again");
    assert!(telltale_cli::stores::bucket_versioned().unwrap());
    // Read back by what versioning does (moto's GetBucketVersioning answer has a root element
    // the SDK does not parse): two writes of one key leave two versions.
    for body in ["first", "second"] {
        telltale_cli::tables::put_object(&s3, &bucket, "metadata.json", body.into())
            .await
            .unwrap();
    }
    let versions = s3
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2, "{versions:?}");
}
