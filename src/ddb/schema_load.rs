//! `cruddur ddb schema-load [--if-not-exists]`: the messages table with its index, as the
//! app expects it, waited for until ACTIVE.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use aws_sdk_dynamodb::types::{KeySchemaElement, TableDescription};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::DdbSchemaLoadArgs;
use crate::ctx::Ctx;
use crate::dynamodb::table::TableSpec;
use crate::dynamodb::{Ddb, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::Outcome;

/// How to create the table (plain options: from `ddb schema-load`'s flags, or from `setup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableOptions {
    /// An existing table is fine: report it, change nothing.
    pub if_not_exists: bool,
    /// How long to wait for the table to become ACTIVE.
    pub wait_timeout: Duration,
    /// Give the table its NEW_IMAGE stream, as production has it.
    pub stream: bool,
    /// Deletion protection; None: on in --prod, off locally.
    pub deletion_protection: Option<bool>,
}

/// The flags' defaults (`setup` starts from them; a test keeps them equal).
impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            if_not_exists: false,
            wait_timeout: Duration::from_secs(60),
            stream: true,
            deletion_protection: None,
        }
    }
}

impl From<&DdbSchemaLoadArgs> for TableOptions {
    fn from(args: &DdbSchemaLoadArgs) -> TableOptions {
        TableOptions {
            if_not_exists: args.if_not_exists,
            wait_timeout: args.wait_timeout,
            stream: !args.no_stream,
            deletion_protection: if args.deletion_protection {
                Some(true)
            } else if args.no_deletion_protection {
                Some(false)
            } else {
                None
            },
        }
    }
}

/// The table as DescribeTable reports it once it is ACTIVE (or as it already was).
#[derive(Debug, Serialize)]
pub(crate) struct TableReport {
    pub table: String,
    /// False when it existed already (`--if-not-exists`).
    pub created: bool,
    /// Key attribute → HASH / RANGE.
    pub keys: Map<String, Value>,
    pub indexes: Vec<IndexReport>,
    pub billing: String,
    pub throughput: Option<Throughput>,
    /// The stream's view type (NEW_IMAGE), if it has one.
    pub stream: Option<String>,
    /// Whether DeleteTable is refused until it is turned off.
    pub deletion_protection: bool,
    pub status: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct IndexReport {
    pub name: String,
    pub keys: Map<String, Value>,
    pub projection: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Throughput {
    pub read: Option<i64>,
    pub write: Option<i64>,
}

impl TableReport {
    fn new(table: &TableDescription, created: bool) -> TableReport {
        let keys = |schema: &[KeySchemaElement]| -> Map<String, Value> {
            schema
                .iter()
                .map(|k| {
                    (
                        k.attribute_name().to_string(),
                        Value::String(k.key_type().as_str().to_string()),
                    )
                })
                .collect()
        };
        TableReport {
            table: table.table_name().unwrap_or_default().to_string(),
            created,
            keys: keys(table.key_schema()),
            indexes: table
                .global_secondary_indexes()
                .iter()
                .map(|index| IndexReport {
                    name: index.index_name().unwrap_or_default().to_string(),
                    keys: keys(index.key_schema()),
                    projection: index
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string()),
                    status: index.index_status().map(|s| s.as_str().to_string()),
                })
                .collect(),
            billing: table
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|b| b.as_str().to_string())
                .unwrap_or_else(|| "PROVISIONED".into()),
            throughput: table.provisioned_throughput().map(|t| Throughput {
                read: t.read_capacity_units(),
                write: t.write_capacity_units(),
            }),
            stream: table
                .stream_specification()
                .filter(|s| s.stream_enabled())
                .and_then(|s| s.stream_view_type())
                .map(|v| v.as_str().to_string()),
            deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
            status: table.table_status().map(|s| s.as_str().to_string()),
        }
    }

    /// One line for people.
    pub(crate) fn summary(&self) -> String {
        let show = |n: Option<i64>| n.map_or("?".to_string(), |n| n.to_string());
        format!(
            "{}: keys pk (HASH) + sk (RANGE); index {}; {} {}; stream {}; deletion protection {}; status {}",
            if self.created {
                format!("created table `{}`", self.table)
            } else {
                format!("table `{}` exists, skipped", self.table)
            },
            self.indexes
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            self.billing,
            self.throughput
                .as_ref()
                .map(|t| format!("{}/{}", show(t.read), show(t.write)))
                .unwrap_or_default(),
            self.stream.as_deref().unwrap_or("none"),
            if self.deletion_protection { "on" } else { "off" },
            self.status.as_deref().unwrap_or("?")
        )
    }
}

impl Report for TableReport {}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

pub(crate) fn run(ctx: &Ctx, load: &DdbSchemaLoadArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    guarded::run(
        ctx,
        Prepared::Write(CreateTable::new(ctx, ddb, TableOptions::from(load))),
    )
}

/// CreateTable with the app's keys, index and stream, then DescribeTable until ACTIVE.
pub(crate) struct CreateTable<'a> {
    ddb: &'a Ddb,
    /// Deletion protection decided (on in --prod unless said otherwise).
    options: TableOptions,
}

impl CreateTable<'_> {
    pub(crate) fn new<'a>(ctx: &Ctx, ddb: &'a Ddb, options: TableOptions) -> CreateTable<'a> {
        let protect = options
            .deletion_protection
            .unwrap_or(ctx.target == crate::ctx::Target::Prod);
        CreateTable {
            ddb,
            options: TableOptions {
                deletion_protection: Some(protect),
                ..options
            },
        }
    }
}

impl Write for CreateTable<'_> {
    type Report = TableReport;

    fn plan(&self) -> Plan {
        let (ddb, options) = (self.ddb, self.options);
        Plan::new(
            ddb.destination(),
            format!("create table `{}` (billed capacity)", ddb.table),
            vec![
                DdbOp::CreateTable {
                    table: ddb.table.clone(),
                    index: INDEX.to_string(),
                    stream: options.stream,
                    deletion_protection: options.deletion_protection == Some(true),
                    if_not_exists: options.if_not_exists,
                }
                .into(),
                DdbOp::WaitActive {
                    timeout: options.wait_timeout,
                }
                .into(),
            ],
            &ddb.table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<TableReport> {
        let (ddb, options) = (self.ddb, self.options);
        ctx.block_on(async {
            let spec = TableSpec {
                stream: options.stream,
                deletion_protection: options.deletion_protection == Some(true),
                if_not_exists: options.if_not_exists,
            };
            if let Some(existing) = ddb.create_table(spec).await? {
                return Ok(TableReport::new(&existing, false));
            }
            let table = ddb
                .wait_active(options.wait_timeout, "was created", |words| {
                    ctx.detail(words)
                })
                .await?;
            Ok(TableReport::new(&table, true))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// Create, then wait until ACTIVE: what the plan said, with and without a stream. (A
    /// table already there with --if-not-exists is described, not waited for: the
    /// integration tests cover that branch against dynoxide.)
    #[test]
    fn a_new_table_performs_what_it_planned() {
        for (stream, if_not_exists) in [(true, false), (false, true)] {
            let (ddb, recorder) = Ddb::recording("cruddur-messages");
            let ctx = Ctx::for_tests(Target::Prod);
            let options = TableOptions {
                stream,
                if_not_exists,
                ..TableOptions::default()
            };
            let write = CreateTable::new(&ctx, &ddb, options);
            let (planned, performed) = planned_and_performed(&ctx, write, &recorder);
            assert_eq!(performed, planned);
            assert_eq!(performed.len(), 2);
        }
    }
}
