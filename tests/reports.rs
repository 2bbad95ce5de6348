//! The machine output of cruddur's reports, pinned: each struct denies unknown fields, so a
//! key added, renamed or dropped in a report fails the test that reads it. Not every test
//! reads every field: a field is here to pin the shape.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;

/// `cruddur ddb seed --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedReport {
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
pub(crate) struct TableReport {
    pub table: String,
    pub created: bool,
    pub keys: BTreeMap<String, String>,
    pub indexes: Vec<IndexReport>,
    pub billing: String,
    pub throughput: Option<Throughput>,
    pub stream: Option<String>,
    pub deletion_protection: bool,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndexReport {
    pub name: String,
    pub keys: BTreeMap<String, String>,
    pub projection: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Throughput {
    pub read: Option<i64>,
    pub write: Option<i64>,
}

/// `cruddur db setup --json` and `cruddur setup --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupReport {
    pub target: BTreeMap<String, String>,
    pub elapsed_ms: u64,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
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
pub(crate) struct ImportReport {
    pub table: String,
    pub items: usize,
    pub skipped_lines: Vec<usize>,
    pub requests: usize,
    pub retries: usize,
    pub capacity_units: f64,
    pub elapsed_ms: u64,
}

/// `cruddur ddb export --file PATH --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportReport {
    pub table: String,
    pub file: String,
    pub items: usize,
    pub format: String,
    pub elapsed_ms: u64,
}

/// `cruddur db update-cognito-user-ids --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkReport {
    pub pool_id: String,
    pub updated: Vec<String>,
    pub missing: Vec<String>,
    pub ambiguous: Vec<String>,
    pub without_handle: Vec<String>,
}

/// `cruddur ddb patterns send-message --json`: the message as the app returns it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SentMessage {
    pub message_group_uuid: String,
    pub uuid: String,
    pub handle: String,
    pub display_name: String,
    pub message: String,
    pub created_at: String,
}

/// `cruddur db new-migration NAME --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMigration {
    pub path: String,
    pub version: String,
    pub class: String,
}

/// Any writer's `--dry-run --json`: the plan, nothing done.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DryRun {
    pub dry_run: bool,
    pub summary: String,
    pub actions: Vec<String>,
    /// The operations, as data: `{"store": …, "op": …, fields}` (pinned whole in whole.rs).
    pub ops: Vec<serde_json::Value>,
}

/// `cruddur rds update-sg-rule --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SgRuleReport {
    pub group_id: String,
    pub rule_id: String,
    pub ip: String,
    pub changed: bool,
    pub before: Rule,
    pub after: Rule,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub protocol: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr: Option<String>,
    pub description: Option<String>,
}

/// `cruddur db schema-load --json` and `db seed --json` (and those steps' reports).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoadReport {
    pub database: String,
    pub file: String,
    pub source: String,
    pub statements: usize,
    pub elapsed_ms: u64,
    pub migrations_reset: Option<MigrationsReset>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrationsReset {
    pub marker_was: String,
    pub records_cleared: usize,
    pub tables: Vec<String>,
}

/// `cruddur db query --json`: the named queries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryInfo {
    pub name: String,
    pub params: String,
    pub description: String,
    pub file: String,
    pub problem: Option<String>,
}

/// `cruddur db migrations --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrationRow {
    pub version: String,
    pub name: String,
    pub state: String,
    pub file: String,
    /// `sha256:` and 64 hex digits.
    pub checksum: String,
    pub recorded_checksum: Option<String>,
    pub warning: Option<String>,
}

/// `cruddur doctor --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Check {
    pub check: String,
    pub status: String,
    pub detail: String,
    pub fix: String,
}

/// `cruddur db query NAME --json` of a query that writes without RETURNING.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryWrite {
    pub query: String,
    pub file: String,
    pub rows_affected: u64,
}

/// `cruddur db migrate --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrateReport {
    pub database: String,
    pub applied: Vec<String>,
    pub marker: String,
}

/// `cruddur pull --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullReport {
    pub database: String,
    pub created: bool,
    pub tables: Vec<PulledTable>,
    pub conversations: Option<PulledConversations>,
    pub masking: String,
    pub elapsed_ms: u64,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct PulledTable {
    pub table: String,
    pub rows: usize,
    pub masked: Vec<String>,
    pub unlisted: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PulledConversations {
    pub table: String,
    pub partitions: usize,
    pub items: usize,
    pub deleted: usize,
    pub masked: Vec<String>,
    pub unlisted: Vec<String>,
}
