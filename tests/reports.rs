//! The machine output of cruddur's reports, pinned: each struct denies unknown fields, so a
//! key added, renamed or dropped in a report fails the test that reads it. Not every test
//! reads every field: a field is here to pin the shape.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;

/// `cruddur ddb seed --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedReport {
    pub table: String,
    pub message_group_uuid: String,
    pub between: [String; 2],
    pub items: usize,
    pub groups: usize,
    pub messages: usize,
    pub deleted: usize,
    pub requests: usize,
    pub retries: usize,
    pub capacity_units: f64,
    pub elapsed_ms: u64,
    pub first_message_at: String,
    pub last_message_at: String,
}

/// `cruddur ddb schema-load --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableReport {
    pub table: String,
    pub created: bool,
    pub keys: BTreeMap<String, String>,
    pub indexes: Vec<IndexReport>,
    pub billing: String,
    pub throughput: Option<Throughput>,
    pub stream: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexReport {
    pub name: String,
    pub keys: BTreeMap<String, String>,
    pub projection: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    pub read: Option<i64>,
    pub write: Option<i64>,
}

/// `cruddur db setup --json` and `cruddur setup --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupReport {
    pub target: BTreeMap<String, String>,
    pub elapsed_ms: u64,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub step: String,
    pub status: String,
    pub elapsed_ms: u64,
    pub detail: String,
    /// The step's own report (a skipped step has none).
    pub report: Option<serde_json::Value>,
}

/// `cruddur ddb import --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportReport {
    pub table: String,
    pub items: usize,
    pub skipped_lines: Vec<usize>,
    pub requests: usize,
    pub retries: usize,
    pub capacity_units: f64,
    pub elapsed_ms: u64,
}
