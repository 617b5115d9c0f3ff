//! Creating the DynamoDB tables and the S3 bucket on the local emulator: `telltale local setup`
//! (what `make dev` runs) and the tests' fixtures. Only the CLI and the test kit link this. Each
//! table and the bucket take their shape from `infra/template.yaml` (`crate::stores`), the one
//! description of them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use telltale::adapters::aws::describe;

/// The key the sample events in `events/` carry. `telltale local setup`, which only talks to
/// an emulator, registers it so `cargo lambda invoke --data-file` works locally; it is never
/// created in AWS.
pub const SAMPLE_EVENTS_KEY: &str = "tt_sample-events-key-for-local-emulator-only";

/// The candidate the sample events of `probe-status` address; `local setup` creates it.
pub const SAMPLE_CANDIDATE_ID: &str = "5a3e0c1d-7b2f-4e8a-9c61-0d4f2b8e7a10";

/// Stores the sample candidate (status `submitted`, version 1) unless it exists. Its email is
/// recorded as already sent, so seeding it mails nobody.
pub async fn ensure_sample_candidate(
    table: &telltale::adapters::aws::probes::ProbeTable,
) -> telltale::base::error::Result<()> {
    use telltale::probes::model::{Candidate, Status};
    use telltale::probes::ports::{email_id, CandidateStore, OutboxEmail};
    use telltale::probes::validate::Submission;
    if table.get(SAMPLE_CANDIDATE_ID).await?.is_some() {
        return Ok(());
    }
    let at = "2026-01-05T09:30:00Z".to_string();
    let submission = Submission {
        name: "sample-probe".into(),
        description: Some("The candidate the sample events address.".into()),
        docurl: "https://example.org/sample-probe/README.md".into(),
        command: "check_sample.py -H <hostname> -t 30".into(),
        contact: "sample-owner@example.org".into(),
        rpm: None,
        yum_baseurl: None,
        script: Some("https://example.org/sample-probe/check_sample.py".into()),
    };
    let candidate =
        Candidate::submitted(SAMPLE_CANDIDATE_ID.into(), submission, "sample-events", &at);
    let email = OutboxEmail {
        id: email_id(SAMPLE_CANDIDATE_ID, Status::Submitted),
        candidate_id: SAMPLE_CANDIDATE_ID.into(),
        status: Status::Submitted,
        email: telltale::probes::email::Email {
            from: String::new(),
            to: candidate.contact.clone(),
            bcc: vec![],
            subject: telltale::probes::email::subject(Status::Submitted),
            text: String::new(),
        },
        state: telltale::probes::ports::EmailState::Sent,
        attempts: 0,
        last_error: None,
        sent_at: Some(at.clone()),
        message_id: None,
        queued_at: Some(at),
    };
    table.create(&candidate, &email, None).await.map(|_| ())
}

pub use crate::stores::Store;

/// Creates the table `store` under `name` as the template declares it (key schema, attribute
/// definitions, global secondary indexes, TTL), if it does not exist yet.
pub async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    store: Store,
    name: &str,
) -> Result<(), String> {
    let spec = crate::stores::table(store)?;
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(
            spec.attributes
                .iter()
                .map(|(n, t)| attr(n, t))
                .collect::<Result<_, _>>()?,
        ))
        .set_key_schema(Some(key_schema(&spec.key)?));
    for index in &spec.indexes {
        create = create.global_secondary_indexes(gsi(index)?);
    }
    let created = created_or_existing(name, create.send().await)?;
    match spec.ttl {
        Some(attribute) if created => enable_ttl(client, name, &attribute).await,
        _ => Ok(()),
    }
}

/// `Ok(true)` if the table was created now, `Ok(false)` if it already existed.
fn created_or_existing<T>(
    table: &str,
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::create_table::CreateTableError,
        >,
    >,
) -> Result<bool, String> {
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(format!("creating table {table}: {}", describe(&e))),
    }
}

async fn enable_ttl(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    attribute: &str,
) -> Result<(), String> {
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("enabling TTL on {table}: {}", describe(&e)))
}

/// Creates the bucket if it does not exist yet, and versions it as the template says (a bucket
/// made before too).
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
        Ok(_) => {}
        // A bucket made before, perhaps by an older setup without versioning: it is brought
        // to what the template says below, as a new one is.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) => {}
        Err(e) => return Err(format!("creating bucket {bucket}: {}", describe(&e))),
    }
    if !crate::stores::bucket_versioned()? {
        return Ok(());
    }
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("enabling versioning on {bucket}: {}", describe(&e)))
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

fn attr(name: &str, kind: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::from(kind))
        .build()
        .map_err(|e| e.to_string())
}

fn key_schema(elements: &[(String, String)]) -> Result<Vec<KeySchemaElement>, String> {
    elements
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn gsi(index: &crate::stores::IndexSpec) -> Result<GlobalSecondaryIndex, String> {
    let projection = Projection::builder()
        .projection_type(ProjectionType::from(index.projection.as_str()))
        .set_non_key_attributes(
            (!index.non_key_attributes.is_empty()).then(|| index.non_key_attributes.clone()),
        )
        .build();
    GlobalSecondaryIndex::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(&index.key)?))
        .projection(projection)
        .build()
        .map_err(|e| e.to_string())
}

/// Lets SES send from this address (locally: moto accepts it at once).
pub async fn ensure_email_identity(
    client: &aws_sdk_sesv2::Client,
    address: &str,
) -> Result<(), String> {
    match client
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("creating SES identity {address}: {}", describe(&e))),
    }
}
