//! `infra/template.yaml` as an operator would review it before deploying, read as
//! CloudFormation reads it: every function logs JSON to a log group of its own that expires,
//! is traced, and, if it runs on a schedule, sends its failed runs to an encrypted queue with
//! an alarm and runs one at a time; the policies are exactly the least-privilege statements
//! they were (plus the optional customer-managed key); every scanner skip says why; every alarm
//! notifies the alarm topic and has its runbook entry; the saved queries are in the docs.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use telltale_testkit::{decoded_template, repo_root};

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

fn functions(t: &Value) -> Vec<(&String, &Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect()
}

fn event_types(f: &Value) -> BTreeSet<String> {
    f["Properties"]["Events"]
        .as_object()
        .map(|e| {
            e.values()
                .filter_map(|v| v["Type"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Invoked by a schedule (asynchronously), as opposed to by API Gateway.
fn scheduled(f: &Value) -> bool {
    let types = event_types(f);
    assert!(!types.is_empty(), "a function without events: {f}");
    let asynchronous = types.iter().all(|t| t == "Schedule" || t == "ScheduleV2");
    assert!(
        asynchronous || types.iter().all(|t| t == "Api"),
        "mixed invocation types {types:?}"
    );
    asynchronous
}

fn if_cmk(then: Value) -> Value {
    json!({"Fn::If": ["UseCmk", then, {"Ref": "AWS::NoValue"}]})
}

#[test]
fn every_function_logs_json_to_its_own_group_that_expires() {
    let t = decoded_template();
    let all = resources(&t);
    assert_eq!(t["Parameters"]["LogRetentionDays"]["Default"], 30);
    let mut groups = BTreeSet::new();
    for (id, f) in functions(&t) {
        let logging = &f["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{id}");
        let group = logging["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no LoggingConfig.LogGroup"));
        assert!(groups.insert(group), "{id} shares the log group {group}");
        let g = &all[group];
        assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{id}");
        assert_eq!(
            g["Properties"]["RetentionInDays"],
            json!({"Ref": "LogRetentionDays"}),
            "{id}"
        );
        assert_eq!(
            g["Properties"]["KmsKeyId"],
            if_cmk(json!({"Ref": "KmsKeyArn"})),
            "{id}"
        );
        let short = f["Properties"]["FunctionName"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .trim_start_matches("${AWS::StackName}-");
        assert_eq!(
            g["Properties"]["LogGroupName"]["Fn::Sub"],
            format!("/aws/lambda/${{AWS::StackName}}/{short}"),
            "{id}"
        );
    }
    // The access log expires too.
    assert_eq!(
        all["ApiAccessLogs"]["Properties"]["RetentionInDays"],
        json!({"Ref": "LogRetentionDays"})
    );
    assert_eq!(
        groups.len() + 1,
        all.values()
            .filter(|r| r["Type"] == "AWS::Logs::LogGroup")
            .count(),
        "a log group no function uses"
    );
}

#[test]
fn requests_are_traced_and_the_access_log_says_who_called_what() {
    let t = decoded_template();
    assert_eq!(t["Globals"]["Function"]["Tracing"], "Active");
    for (id, f) in functions(&t) {
        let own = &f["Properties"]["Tracing"];
        assert!(own.is_null() || *own == "Active", "{id} turns tracing off");
    }
    let api = &resources(&t)["Api"]["Properties"];
    assert_eq!(api["TracingEnabled"], true);
    let access = &api["AccessLogSetting"];
    assert_eq!(
        access["DestinationArn"],
        json!({"Fn::GetAtt": ["ApiAccessLogs", "Arn"]})
    );
    let format = access["Format"].as_str().unwrap();
    let line: Value = serde_json::from_str(format).expect("the access log format is JSON");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("xrayTraceId", "$context.xrayTraceId"),
        ("ip", "$context.identity.sourceIp"),
        ("method", "$context.httpMethod"),
        ("resource", "$context.resourcePath"),
        ("status", "$context.status"),
        ("latencyMs", "$context.responseLatency"),
        ("apiKeyId", "$context.identity.apiKeyId"),
    ] {
        assert_eq!(line[field], variable, "{field}");
    }
    // The key's id only, never the key; no query string (a heartbeat's ?token=), no headers;
    // no path (a ping URL's key or UUID).
    for leak in [
        "$context.path",
        "$context.identity.apiKey\"",
        "querystring",
        "$input",
        "$context.authorizer",
    ] {
        assert!(!format.contains(leak), "the access log would log {leak}");
    }
}

#[test]
fn scheduled_functions_keep_their_failed_runs_and_never_overlap() {
    let t = decoded_template();
    let all = resources(&t);
    let mut scheduled_count = 0;
    for (id, f) in functions(&t) {
        let p = &f["Properties"];
        if scheduled(f) {
            scheduled_count += 1;
            assert_eq!(
                p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"],
                json!({"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailedRunsQueue", "Arn"]}}),
                "{id}"
            );
            assert_eq!(p["ReservedConcurrentExecutions"], 1, "{id}");
        } else {
            assert!(p["EventInvokeConfig"].is_null(), "{id} is synchronous");
            assert!(p["ReservedConcurrentExecutions"].is_null(), "{id}");
        }
    }
    assert_eq!(
        scheduled_count, 15,
        "email-retry, accounting-push, token-refresh, heartbeat-source, heartbeat-sweep, 5 built-in and 5 declared collectors"
    );
    let queue = &all["FailedRunsQueue"]["Properties"];
    assert_eq!(queue["KmsMasterKeyId"], if_cmk(json!({"Ref": "KmsKeyArn"})));
    assert_eq!(
        queue["SqsManagedSseEnabled"],
        json!({"Fn::If": ["UseCmk", {"Ref": "AWS::NoValue"}, true]})
    );
    let depth = &all["FailedRunsQueueDepth"]["Properties"];
    assert_eq!(depth["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        depth["Dimensions"],
        json!([{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedRunsQueue", "QueueName"]}}])
    );
    assert_eq!(depth["Threshold"], 1);
}

/// A resource as the expected table writes it: `X.Arn`, a `Sub` string, `Ref X`, or JSON.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ if v.get("Fn::GetAtt").is_some() => {
            let parts: Vec<&str> = v["Fn::GetAtt"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            parts.join(".")
        }
        _ if v.get("Fn::Sub").is_some() => v["Fn::Sub"].as_str().unwrap().to_string(),
        _ if v.get("Ref").is_some() => format!("Ref {}", v["Ref"].as_str().unwrap()),
        _ => v.to_string(),
    }
}

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Every function's statements, as they were before the customer-managed key was added (and
/// probe-submit's on the `by-name` index the list's pages read).
const LEAST_PRIVILEGE: &[(&str, &[&str])] = &[
    (
        "ProbeSubmitFunction",
        &[
            "dynamodb:GetItem ApiKeysTable.Arn",
            "dynamodb:GetItem ProbesTable.Arn",
            "dynamodb:PutItem ProbesTable.Arn",
            "dynamodb:Query ${ProbesTable.Arn}/index/by-name",
            "dynamodb:Query ${ProbesTable.Arn}/index/by-status",
            "dynamodb:UpdateItem ProbesTable.Arn",
            "ses:SendEmail arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}",
        ],
    ),
    (
        "ProbeStatusFunction",
        &[
            "dynamodb:GetItem ApiKeysTable.Arn",
            "dynamodb:GetItem ProbesTable.Arn",
            "dynamodb:PutItem ProbesTable.Arn",
            "dynamodb:UpdateItem ProbesTable.Arn",
            "ses:SendEmail arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}",
        ],
    ),
    (
        "EmailRetryFunction",
        &[
            "dynamodb:Query ${ProbesTable.Arn}/index/emails-due",
            "dynamodb:UpdateItem ProbesTable.Arn",
            "ses:SendEmail arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}",
        ],
    ),
    (
        "MetricMetadataFunction",
        &[
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
        ],
    ),
    (
        "MetricValueFunction",
        &[
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
        ],
    ),
    (
        "AccountingPushFunction",
        &[
            "dynamodb:DeleteItem AccountingTable.Arn",
            "dynamodb:GetItem AccountingTable.Arn",
            "dynamodb:PutItem AccountingTable.Arn",
            "dynamodb:UpdateItem AccountingTable.Arn",
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${OidcClientSecretParameter}",
            "ssm:GetParameter {\"Fn::If\":[\"InitialRefreshTokenFromSsm\",{\"Fn::Sub\":\"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InitialRefreshTokenParameter}\"},{\"Ref\":\"AWS::NoValue\"}]}",
        ],
    ),
    (
        "TokenRefreshFunction",
        &[
            "dynamodb:DeleteItem AccountingTable.Arn",
            "dynamodb:GetItem AccountingTable.Arn",
            "dynamodb:PutItem AccountingTable.Arn",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${OidcClientSecretParameter}",
            "ssm:GetParameter {\"Fn::If\":[\"InitialRefreshTokenFromSsm\",{\"Fn::Sub\":\"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InitialRefreshTokenParameter}\"},{\"Ref\":\"AWS::NoValue\"}]}",
        ],
    ),
    (
        "HeartbeatFunction",
        &[
            "dynamodb:GetItem ApiKeysTable.Arn",
            "dynamodb:GetItem HeartbeatTable.Arn",
            "dynamodb:PutItem HeartbeatTable.Arn",
            "dynamodb:Query HeartbeatTable.Arn",
            "dynamodb:UpdateItem HeartbeatTable.Arn",
        ],
    ),
    (
        "TeamPageFunction",
        &[
        ],
    ),
    (
        "HeartbeatSourceFunction",
        &[
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${OsPasswordParameter}",
        ],
    ),
    (
        "HeartbeatSweepFunction",
        &[
            "dynamodb:GetItem HeartbeatTable.Arn",
            "dynamodb:PutItem HeartbeatTable.Arn",
            "dynamodb:Query HeartbeatTable.Arn",
            "dynamodb:UpdateItem HeartbeatTable.Arn",
            "ses:SendEmail arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${HeartbeatWebhookSecretPath}*",
        ],
    ),
    (
        "CollectorProbePipelineFunction",
        &[
            "dynamodb:Query ${ProbesTable.Arn}/index/by-status",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
        ],
    ),
    (
        "CollectorEmailOutboxFunction",
        &[
            "dynamodb:Query ${ProbesTable.Arn}/index/emails-due",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
        ],
    ),
    (
        "CollectorMetricValuesFunction",
        &[
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
        ],
    ),
    (
        "CollectorMasCatalogFunction",
        &[
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
        ],
    ),
    (
        "CollectorAccountingPushFunction",
        &[
            "dynamodb:BatchGetItem AccountingTable.Arn",
            "s3:GetObject ${MappingsBucket.Arn}/metadata_mappings.json",
            "s3:GetObject ${MappingsBucket.Arn}/metrics_mappings.json",
            "s3:ListBucket MappingsBucket.Arn",
            "ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}",
        ],
    ),
    // Declared collectors (infra/collectors.yaml) read documents over HTTP: only the sink's
    // secret, and each secret header's parameter.
    (
        "CollectorAutopkgtestQueueFunction",
        &["ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}"],
    ),
    (
        "CollectorAutopkgtestRunningFunction",
        &["ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}"],
    ),
    (
        "CollectorSponsoringQueueFunction",
        &["ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}"],
    ),
    (
        "CollectorRlsBugTasksFunction",
        &["ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}"],
    ),
    (
        "CollectorScrapeTargetsUpFunction",
        &["ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${InfluxDbSecretParameter}"],
    ),
];

#[test]
fn the_policies_are_the_least_privilege_ones_plus_the_optional_key() {
    let t = decoded_template();
    let expected: BTreeMap<&str, BTreeSet<String>> = LEAST_PRIVILEGE
        .iter()
        .map(|(id, s)| (*id, s.iter().map(|x| x.to_string()).collect()))
        .collect();
    let cmk = if_cmk(json!({
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
        "Resource": {"Ref": "KmsKeyArn"},
    }));
    let mut seen = BTreeSet::new();
    for (id, f) in functions(&t) {
        let mut granted = BTreeSet::new();
        let mut key_statements = 0;
        for policy in f["Properties"]["Policies"].as_array().into_iter().flatten() {
            for statement in policy["Statement"].as_array().unwrap() {
                if statement.get("Fn::If").is_some() {
                    assert_eq!(*statement, cmk, "{id}");
                    key_statements += 1;
                    continue;
                }
                assert_eq!(statement["Effect"], "Allow", "{id}");
                for action in one_or_many(&statement["Action"]) {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: {action}");
                    for resource in one_or_many(&statement["Resource"]) {
                        let resource = render(resource);
                        assert_ne!(resource, "*", "{id}: {action} on every resource");
                        granted.insert(format!("{action} {resource}"));
                    }
                }
            }
        }
        let want = expected
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in the expected table"));
        assert_eq!(&granted, want, "{id}'s policy changed");
        // The page reads nothing, so it needs no key either.
        assert_eq!(key_statements, usize::from(!want.is_empty()), "{id}");
        seen.insert(id.as_str());
    }
    assert_eq!(
        seen,
        expected.keys().copied().collect(),
        "a function disappeared"
    );
}

#[test]
fn the_optional_key_encrypts_every_store() {
    let t = decoded_template();
    let all = resources(&t);
    let key = if_cmk(json!({"Ref": "KmsKeyArn"}));
    for table in [
        "ApiKeysTable",
        "ProbesTable",
        "AccountingTable",
        "HeartbeatTable",
    ] {
        let sse = &all[table]["Properties"]["SSESpecification"];
        assert_eq!(sse["KMSMasterKeyId"], key, "{table}");
        assert_eq!(
            sse["SSEType"],
            json!({"Fn::If": ["UseCmk", "KMS", {"Ref": "AWS::NoValue"}]}),
            "{table}"
        );
        assert_eq!(
            all[table]["Properties"]["PointInTimeRecoverySpecification"]
                ["PointInTimeRecoveryEnabled"],
            true,
            "{table}"
        );
    }
    let bucket = &all["MappingsBucket"]["Properties"]["BucketEncryption"]
        ["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        bucket["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(
        bucket["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        key
    );
    assert_eq!(all["AlarmTopic"]["Properties"]["KmsMasterKeyId"], key);
    assert_eq!(t["Globals"]["Function"]["KmsKeyArn"], key);
}

#[test]
fn every_scanner_skip_says_why() {
    let t = decoded_template();
    let mut skips = 0;
    for (id, r) in resources(&t) {
        for skip in r["Metadata"]["checkov"]["skip"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let check = skip["id"].as_str().unwrap_or_default();
            assert!(check.starts_with("CKV_AWS_"), "{id}: {skip}");
            let comment = skip["comment"].as_str().unwrap_or_default();
            assert!(
                comment.len() >= 60,
                "{id}: {check} is skipped without a reason"
            );
            skips += 1;
        }
    }
    assert!(skips > 0);
}

/// The `### <name>` headings under the runbook's "CloudWatch alarms".
fn runbook_alarms() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/runbook.md")).unwrap();
    let section = text
        .split("\n## CloudWatch alarms")
        .nth(1)
        .expect("docs/runbook.md has a '## CloudWatch alarms' section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn every_alarm_notifies_the_topic_and_has_a_runbook_entry() {
    let t = decoded_template();
    let mut alarms = BTreeSet::new();
    for (id, r) in resources(&t) {
        if r["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let p = &r["Properties"];
        assert_eq!(
            p["AlarmName"],
            json!({"Fn::Sub": format!("${{AWS::StackName}}-{id}")}),
            "{id}"
        );
        assert_eq!(p["AlarmActions"], json!([{"Ref": "AlarmTopic"}]), "{id}");
        assert_eq!(p["OKActions"], json!([{"Ref": "AlarmTopic"}]), "{id}");
        assert!(
            p["AlarmDescription"].as_str().is_some_and(|d| d.len() > 20),
            "{id}"
        );
        alarms.insert(id.clone());
    }
    assert_eq!(
        runbook_alarms(),
        alarms,
        "docs/runbook.md must have one '### <alarm>' entry per alarm of the template, and no other"
    );
}

#[test]
fn the_saved_queries_are_in_the_template_and_the_runbook() {
    let t = decoded_template();
    let runbook = std::fs::read_to_string(repo_root().join("docs/runbook.md")).unwrap();
    let mut found = 0;
    for entry in std::fs::read_dir(repo_root().join("infra/insights")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let body: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
        let body = body.trim();
        assert!(
            runbook.contains(body),
            "docs/runbook.md does not show infra/insights/{name}.query as it is"
        );
        let defined = resources(&t).values().any(|r| {
            r["Type"] == "AWS::Logs::QueryDefinition"
                && r["Properties"]["QueryString"].as_str().map(str::trim) == Some(body)
                && r["Properties"]["Name"]["Fn::Sub"] == format!("${{AWS::StackName}}/{name}")
        });
        assert!(defined, "{name} is not a saved query of the template");
        found += 1;
    }
    assert!(
        found >= 3,
        "errors by function, slowest invocations, dependency failures"
    );
}

#[test]
fn every_parameter_is_in_the_deployment_docs() {
    let t = decoded_template();
    let docs = std::fs::read_to_string(repo_root().join("docs/deployment.md")).unwrap();
    let table: BTreeSet<&str> = docs
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| l.split('|').nth(1).unwrap_or("").split(','))
        .map(|name| name.trim().trim_matches('`'))
        .collect();
    for name in t["Parameters"].as_object().unwrap().keys() {
        assert!(
            table.contains(name.as_str()),
            "docs/deployment.md's parameter table lacks `{name}`"
        );
    }
}

/// The local stack's tables are created from what the command line's template reader gives
/// (`telltale_cli::stores`); here that reading is held to cfn-lint's decoding of the same file,
/// table by table, so neither can read the template differently.
#[test]
fn the_local_stores_read_the_tables_as_cloudformation_does() {
    use telltale_cli::stores::{table, Store};
    let t = decoded_template();
    let pairs = |v: &Value, a: &str, b: &str| -> Vec<(String, String)> {
        v.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| (render(&i[a]), render(&i[b])))
                    .collect()
            })
            .unwrap_or_default()
    };
    let tables: Vec<&String> = resources(&t)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(tables.len(), Store::ALL.len(), "{tables:?}");
    for store in Store::ALL {
        let p = &resources(&t)[store.logical_id()]["Properties"];
        let spec = table(store).unwrap();
        let what = store.logical_id();
        assert_eq!(
            spec.attributes,
            pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType"),
            "{what}"
        );
        assert_eq!(
            spec.key,
            pairs(&p["KeySchema"], "AttributeName", "KeyType"),
            "{what}"
        );
        let indexes = p["GlobalSecondaryIndexes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(spec.indexes.len(), indexes.len(), "{what}");
        for (ours, theirs) in spec.indexes.iter().zip(&indexes) {
            assert_eq!(ours.name, render(&theirs["IndexName"]), "{what}");
            assert_eq!(
                ours.key,
                pairs(&theirs["KeySchema"], "AttributeName", "KeyType"),
                "{what}"
            );
            assert_eq!(
                ours.projection,
                render(&theirs["Projection"]["ProjectionType"]),
                "{what}"
            );
        }
        let ttl = &p["TimeToLiveSpecification"];
        let theirs = (ttl["Enabled"] == true).then(|| render(&ttl["AttributeName"]));
        assert_eq!(spec.ttl, theirs, "{what}");
    }
    let bucket = &resources(&t)["MappingsBucket"]["Properties"];
    assert_eq!(
        telltale_cli::stores::bucket_versioned().unwrap(),
        bucket["VersioningConfiguration"]["Status"] == "Enabled"
    );
}
