//! The probe table in DynamoDB. One table, partition key `id`, three kinds of item:
//!
//! | kind | `id` | written when | notes |
//! |---|---|---|---|
//! | `candidate` | a UUID | submitted; every status change | `status` + `name_key` feed the `by-status` index; `version` is the optimistic lock |
//! | `email` | `email#<candidate>#<status>` | with the candidate or status change that causes it | `due = "pending"` until SES accepts it (or `"dead"` once given up) feeds the sparse `emails-due` index; one item per status, so a status email can never be created twice |
//! | `idempotency` | `idem#<sha256(API key's hash, Idempotency-Key)>` | with the candidate | `expires_at` is the table's TTL attribute |
//!
//! Access patterns: get a candidate by id (GetItem); list by status (Query `by-status`, sorted
//! by `name_key` = name, created, id); list all (one Query per status, merged: never a Scan);
//! emails to retry (Query `emails-due`); create = one transaction of candidate + email
//! (+ idempotency record), each conditional on not existing.

use crate::base::error::{Dependency, Error, Result};
use crate::probes::listing::{found, list_key};
use crate::probes::model::{Candidate, Status};
use crate::probes::ports::{
    CandidateStore, Created, EmailState, IdempotencyRecord, OutboxEmail, Page, PageQuery,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub const STATUS_INDEX: &str = "by-status";
pub const EMAILS_DUE_INDEX: &str = "emails-due";
/// Every candidate (`kind` = `candidate`) by `name_key`: a page of the whole list is one Query.
pub const NAME_INDEX: &str = "by-name";
/// The table as this adapter uses it (checked against the template).
pub const TABLE_USE: super::TableUse = super::TableUse {
    key: &["id"],
    indexes: &[
        (STATUS_INDEX, "status"),
        (EMAILS_DUE_INDEX, "due"),
        (NAME_INDEX, "kind"),
    ],
    ttl: Some("expires_at"),
};
const PENDING: &str = EmailState::Pending.as_str();
/// Given up: kept in the `emails-due` index under its own key, so the dead are one query too.
const DEAD: &str = EmailState::Dead.as_str();

mod outbox;

pub struct ProbeTable {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn store_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(Dependency::DynamoDb, format!("{what}: {e}"))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn candidate_item(c: &Candidate) -> Result<Item> {
    let mut item: Item = serde_dynamo::to_item(c)
        .map_err(|e| Error::Internal(format!("encoding candidate: {e}")))?;
    item.insert("kind".into(), s("candidate"));
    item.insert("name_key".into(), s(&list_key(c)));
    Ok(item)
}

fn email_item(e: &OutboxEmail) -> Result<Item> {
    let mut item: Item =
        serde_dynamo::to_item(e).map_err(|e| Error::Internal(format!("encoding email: {e}")))?;
    item.insert("kind".into(), s("email"));
    if e.state == EmailState::Pending {
        item.insert("due".into(), s(PENDING));
    }
    Ok(item)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item, what: &str) -> Result<T> {
    serde_dynamo::from_item(item)
        .map_err(|e| Error::Internal(format!("a stored {what} cannot be read: {e}")))
}

impl ProbeTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get_item(&self, id: &str) -> Result<Option<Item>> {
        super::get_by_id(&self.client, &self.table, id).await
    }

    fn put(&self, item: Item) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs a transaction (see `aws::transact`).
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
        what: &str,
    ) -> Result<Result<(), Vec<String>>> {
        super::transact(&self.client, writes, what).await
    }

    /// Writes candidates as they are, 25 per BatchWriteItem, with no email and no condition:
    /// for loading existing candidates in bulk (e.g. from POEM) and for benchmarks. Moto's
    /// transactions copy the whole table, so creating thousands one by one there is quadratic.
    pub async fn import(&self, candidates: &[Candidate]) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in candidates.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|c| {
                    let put = PutRequest::builder()
                        .set_item(Some(candidate_item(c)?))
                        .build()
                        .map_err(|e| Error::Internal(e.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>>>()?;
            for attempt in 0..8u64 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| store_error("importing candidates", super::logged(&e)))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt == 7 {
                    return Err(store_error(
                        "importing candidates",
                        "items left unprocessed",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn query_all(&self, index: &str, key: &str, value: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", s(value))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("querying the probe table", super::logged(&e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

impl ProbeTable {
    /// The first `limit + 1` candidates of one index partition (a status in `by-status`, or
    /// all of them in `by-name`) after the cursor that the search finds, in index order.
    /// Without a search DynamoDB stops after those; with one, each read page is filtered here
    /// (DynamoDB's filters cannot ignore case).
    async fn page_of(
        &self,
        (index, key, value): (&str, &str, &str),
        q: &PageQuery,
    ) -> Result<Vec<Candidate>> {
        let want = q.limit + 1;
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .expression_attribute_names("#s", key)
                .expression_attribute_values(":s", s(value))
                .set_exclusive_start_key(start)
                // A plain page reads only what it shows; a search reads on in large pages.
                .limit(if q.search.is_some() {
                    1000
                } else {
                    want as i32
                });
            query = match &q.after {
                Some(after) => query
                    .key_condition_expression("#s = :s AND name_key > :after")
                    .expression_attribute_values(":after", s(after)),
                None => query.key_condition_expression("#s = :s"),
            };
            let page = query
                .send()
                .await
                .map_err(|e| store_error("querying the probe table", super::logged(&e)))?;
            for item in page.items.unwrap_or_default() {
                let c: Candidate = from_item(item, "candidate")?;
                if q.search
                    .as_ref()
                    .is_none_or(|t| found(&c, t, q.search_contacts))
                {
                    out.push(c);
                    if out.len() == want {
                        return Ok(out);
                    }
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

impl CandidateStore for ProbeTable {
    async fn create(
        &self,
        candidate: &Candidate,
        email: &OutboxEmail,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Created> {
        let mut writes = vec![
            self.put(candidate_item(candidate)?)?,
            self.put(email_item(email)?)?,
        ];
        let idem_id = idempotency.map(|r| format!("idem#{}", r.key_id));
        if let (Some(r), Some(id)) = (idempotency, &idem_id) {
            let item: Item = HashMap::from([
                ("id".to_string(), s(id)),
                ("kind".to_string(), s("idempotency")),
                ("candidate_id".to_string(), s(&candidate.id)),
                ("request_hash".to_string(), s(&r.request_hash)),
                (
                    "expires_at".to_string(),
                    AttributeValue::N(r.expires_at.to_string()),
                ),
            ]);
            writes.push(self.put(item)?);
        }
        match self.transact(writes, "storing the candidate").await? {
            Ok(()) => Ok(Created::New),
            Err(reasons) => {
                // A committed request with the same key shows up as a failed condition on the
                // idempotency record.
                let idem_failed = reasons
                    .get(2)
                    .is_some_and(|c| c == "ConditionalCheckFailed");
                let (true, Some(id)) = (idem_failed, &idem_id) else {
                    return Err(store_error(
                        "storing the candidate",
                        format!("transaction cancelled: {reasons:?}"),
                    ));
                };
                let item = self
                    .get_item(id)
                    .await?
                    .ok_or_else(|| Error::Internal("idempotency record vanished".into()))?;
                let text = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                Ok(Created::Replay {
                    candidate_id: text("candidate_id"),
                    request_hash: text("request_hash"),
                })
            }
        }
    }

    async fn replace(
        &self,
        candidate: &Candidate,
        expected_version: u64,
        email: Option<&OutboxEmail>,
    ) -> Result<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(candidate_item(candidate)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(e) = email {
            writes.push(self.put(email_item(e)?)?);
        }
        match self.transact(writes, "changing the candidate").await? {
            Ok(()) => Ok(()),
            Err(reasons) if reasons.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                Err(Error::PreconditionFailed(format!(
                    "Probe candidate was changed by someone else since version {expected_version}; reload it and try again"
                )))
            }
            Err(reasons) => Err(store_error("changing the candidate", format!("transaction cancelled: {reasons:?}"))),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Candidate>> {
        match self.get_item(id).await? {
            Some(item)
                if item
                    .get("kind")
                    .and_then(|k| k.as_s().ok())
                    .is_some_and(|k| k == "candidate") =>
            {
                from_item(item, "candidate").map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn list(&self, status: Option<Status>) -> Result<Vec<Candidate>> {
        let statuses: Vec<Status> = match status {
            Some(st) => vec![st],
            None => Status::ALL.to_vec(),
        };
        let queries = statuses
            .iter()
            .map(|st| self.query_all(STATUS_INDEX, "status", st.as_str()));
        let mut out = Vec::new();
        for items in futures::future::try_join_all(queries).await? {
            for item in items {
                out.push(from_item(item, "candidate")?);
            }
        }
        Ok(out)
    }

    async fn page(&self, q: &PageQuery) -> Result<Page> {
        let partition = match q.status {
            Some(st) => (STATUS_INDEX, "status", st.as_str()),
            None => (NAME_INDEX, "kind", "candidate"),
        };
        let found = self.page_of(partition, q).await?;
        let (items, more) = crate::probes::listing::select(found, q);
        Ok(Page { items, more })
    }
}
