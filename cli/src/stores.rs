//! The stores as `infra/template.yaml` declares them: the one description of each DynamoDB
//! table (attributes, key schema, global secondary indexes with their projections, TTL
//! attribute) and of the mappings bucket's versioning. `telltale local setup` and the test kit
//! create the local stack from what this reads, so a table cannot exist locally in a shape it
//! will not have once deployed. The template is compiled in (the CLI carries the template it
//! was built with); a test holds this reader to cfn-lint's decoding of the same file, and
//! another the adapters' index and attribute names to it.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `infra/template.yaml`, as built.
pub const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// The DynamoDB tables of the stack, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    ApiKeys,
    Probes,
    Accounting,
    Heartbeat,
}

impl Store {
    pub const ALL: [Store; 4] = [
        Store::ApiKeys,
        Store::Probes,
        Store::Accounting,
        Store::Heartbeat,
    ];

    /// The table's logical id in the template.
    pub fn logical_id(self) -> &'static str {
        match self {
            Store::ApiKeys => "ApiKeysTable",
            Store::Probes => "ProbesTable",
            Store::Accounting => "AccountingTable",
            Store::Heartbeat => "HeartbeatTable",
        }
    }
}

/// The logical id of the mappings bucket.
pub const BUCKET: &str = "MappingsBucket";

/// A table as the template declares it (only what shapes it; encryption and backups are AWS's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Attribute name and scalar type (`S`, `N`, `B`).
    pub attributes: Vec<(String, String)>,
    /// Attribute name and key type (`HASH`, `RANGE`), in order.
    pub key: Vec<(String, String)>,
    pub indexes: Vec<IndexSpec>,
    /// The TTL attribute, when TTL is enabled.
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key: Vec<(String, String)>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    /// With `INCLUDE`: the attributes projected besides the keys.
    pub non_key_attributes: Vec<String>,
}

#[derive(Deserialize)]
struct Template {
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: Option<Properties>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Properties {
    attribute_definitions: Vec<AttributeDefinition>,
    key_schema: Vec<KeyElement>,
    global_secondary_indexes: Vec<Index>,
    time_to_live_specification: Option<Ttl>,
    versioning_configuration: Option<Versioning>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<KeyElement>,
    projection: Projection,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Projection {
    projection_type: String,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ttl {
    attribute_name: String,
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Versioning {
    status: String,
}

fn keys(elements: &[KeyElement]) -> Vec<(String, String)> {
    elements
        .iter()
        .map(|k| (k.attribute_name.clone(), k.key_type.clone()))
        .collect()
}

/// The resource `logical_id` of type `kind` in `template`.
fn resource(template: &str, logical_id: &str, kind: &str) -> Result<Properties, String> {
    let parsed: Template = serde_saphyr::from_str(template)
        .map_err(|e| format!("reading the template's resources: {e}"))?;
    let found = parsed
        .resources
        .into_iter()
        .find(|(id, _)| id == logical_id)
        .ok_or_else(|| format!("the template declares no {logical_id}"))?
        .1;
    if found.kind != kind {
        return Err(format!("{logical_id} is a {}, not a {kind}", found.kind));
    }
    Ok(found.properties.unwrap_or_default())
}

/// The table `store` as `template` declares it.
pub fn table_in(template: &str, store: Store) -> Result<TableSpec, String> {
    let p = resource(template, store.logical_id(), "AWS::DynamoDB::Table")?;
    Ok(TableSpec {
        attributes: p
            .attribute_definitions
            .iter()
            .map(|a| (a.attribute_name.clone(), a.attribute_type.clone()))
            .collect(),
        key: keys(&p.key_schema),
        indexes: p
            .global_secondary_indexes
            .iter()
            .map(|i| IndexSpec {
                name: i.index_name.clone(),
                key: keys(&i.key_schema),
                projection: i.projection.projection_type.clone(),
                non_key_attributes: i.projection.non_key_attributes.clone(),
            })
            .collect(),
        ttl: p
            .time_to_live_specification
            .filter(|t| t.enabled)
            .map(|t| t.attribute_name),
    })
}

/// The table `store` as the compiled-in template declares it.
pub fn table(store: Store) -> Result<TableSpec, String> {
    table_in(TEMPLATE, store)
}

/// Whether the template keeps every version of the mappings bucket's objects.
pub fn bucket_versioned() -> Result<bool, String> {
    let p = resource(TEMPLATE, BUCKET, "AWS::S3::Bucket")?;
    Ok(p.versioning_configuration
        .is_some_and(|v| v.status == "Enabled"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::adapters::aws::TableUse;

    /// Every name an adapter reads or writes as a key, an index or a TTL is the template's.
    #[test]
    fn the_adapters_names_are_the_templates() {
        use telltale::adapters::aws::{accounting, heartbeat, keys, probes};
        for (store, used) in [
            (Store::ApiKeys, keys::TABLE_USE),
            (Store::Probes, probes::TABLE_USE),
            (Store::Accounting, accounting::TABLE_USE),
            (Store::Heartbeat, heartbeat::TABLE_USE),
        ] {
            let spec = table(store).unwrap();
            check_use(store, &spec, &used);
        }
    }

    fn check_use(store: Store, spec: &TableSpec, used: &TableUse) {
        let key: Vec<&str> = spec.key.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(key, used.key, "{store:?}'s key");
        for (index, hash) in used.indexes {
            let found = spec
                .indexes
                .iter()
                .find(|i| i.name == *index)
                .unwrap_or_else(|| panic!("{store:?} has no index {index}"));
            assert_eq!(
                found.key.first().map(|(n, _)| n.as_str()),
                Some(*hash),
                "{store:?}'s index {index} is queried by {hash}"
            );
            assert_eq!(found.projection, "ALL", "the adapter reads whole items");
        }
        assert_eq!(spec.ttl.as_deref(), used.ttl, "{store:?}'s TTL attribute");
        for (name, _) in spec
            .key
            .iter()
            .chain(spec.indexes.iter().flat_map(|i| &i.key))
        {
            assert!(
                spec.attributes.iter().any(|(a, t)| a == name && t == "S"),
                "{store:?}: key attribute {name} is a declared string"
            );
        }
    }

    #[test]
    fn every_table_of_the_template_is_a_store() {
        let parsed: Template = serde_saphyr::from_str(TEMPLATE).unwrap();
        let tables: Vec<String> = parsed
            .resources
            .into_iter()
            .filter(|(_, r)| r.kind == "AWS::DynamoDB::Table")
            .map(|(id, _)| id)
            .collect();
        let stores: Vec<&str> = Store::ALL.iter().map(|s| s.logical_id()).collect();
        assert_eq!(tables.len(), stores.len(), "{tables:?}");
        for id in &tables {
            assert!(stores.contains(&id.as_str()), "{id} is created locally");
        }
    }

    #[test]
    fn a_table_the_template_lacks_is_named() {
        let err = table_in("Resources: {}\n", Store::Probes).unwrap_err();
        assert_eq!(err, "the template declares no ProbesTable");
        let wrong = "Resources:\n  ProbesTable:\n    Type: AWS::S3::Bucket\n";
        assert_eq!(
            table_in(wrong, Store::Probes).unwrap_err(),
            "ProbesTable is a AWS::S3::Bucket, not a AWS::DynamoDB::Table"
        );
    }
}
