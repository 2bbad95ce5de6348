//! `cruddur ddb schema-load [--if-not-exists]`: the messages table with its index, as the
//! app expects it, waited for until ACTIVE.

use std::fmt;
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription, TableStatus,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::DdbSchemaLoadArgs;
use crate::ctx::Ctx;
use crate::dynamodb::{Ddb, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::Outcome;
use crate::poll::{self, Probe, Wait};

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
        ctx.block_on(create(ctx, self.ddb, self.options))?
    }
}

/// The app's table, as DynamoDB's API spells it: its keys, its index, its capacity. What
/// CreateTable and ImportTable (`ddb import --s3`) both make.
pub(crate) struct Shape {
    pub(crate) attributes: Vec<AttributeDefinition>,
    pub(crate) keys: Vec<KeySchemaElement>,
    pub(crate) index: GlobalSecondaryIndex,
    pub(crate) capacity: ProvisionedThroughput,
}

pub(crate) fn shape() -> Result<Shape> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let capacity = ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(5)
        .build()?;
    let index = GlobalSecondaryIndex::builder()
        .index_name(INDEX)
        .key_schema(key("message_group_uuid", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .provisioned_throughput(capacity.clone())
        .build()?;
    Ok(Shape {
        attributes: vec![string("pk")?, string("sk")?, string("message_group_uuid")?],
        keys: vec![key("pk", KeyType::Hash)?, key("sk", KeyType::Range)?],
        index,
        capacity,
    })
}

async fn create(ctx: &Ctx, ddb: &Ddb, options: TableOptions) -> Result<TableReport> {
    let shape = shape()?;
    let created = ddb
        .client
        .create_table()
        .table_name(&ddb.table)
        .set_attribute_definitions(Some(shape.attributes))
        .set_key_schema(Some(shape.keys))
        .global_secondary_indexes(shape.index)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(shape.capacity)
        .set_stream_specification(options.stream.then(stream).transpose()?)
        .deletion_protection_enabled(options.deletion_protection == Some(true))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error) if error.code() == Some("ResourceInUseException") => {
            if options.if_not_exists {
                return Ok(TableReport::new(&describe(ddb).await?, false));
            }
            return Err(anyhow!(
                "table `{}` already exists at {}; nothing was changed \
                 (add --if-not-exists to accept it, or `cruddur ddb drop` it first)",
                ddb.table,
                ddb.endpoint
            ));
        }
        Err(error) => return Err(ddb.explain("CreateTable", error)),
    }
    let table = until_active(ctx, ddb, options.wait_timeout, "was created").await?;
    Ok(TableReport::new(&table, true))
}

/// DescribeTable until the table is ACTIVE, for up to `wait`; `what` says what happened to it
/// (`was created`, `was restored`) in the words of the timeout.
pub(crate) async fn until_active(
    ctx: &Ctx,
    ddb: &Ddb,
    wait: Duration,
    what: &str,
) -> Result<TableDescription> {
    let name = &ddb.table;
    let (table, _) = poll::until(
        Wait::backing_off(wait),
        || format!("table `{name}` {what} but was not ACTIVE yet"),
        || async {
            let table = describe(ddb).await?;
            if table.table_status() == Some(&TableStatus::Active) {
                return Ok(Probe::Ready(table));
            }
            ctx.detail(format!("waiting for `{name}` to become ACTIVE…"));
            Ok(Probe::NotYet(
                table
                    .table_status()
                    .map_or("without a status", |s| s.as_str())
                    .to_string(),
            ))
        },
        |last| {
            anyhow!(
                "table `{name}` {what} but is still {last} after {}; check it later with `cruddur doctor`",
                crate::text::duration(wait)
            )
        },
    )
    .await?;
    Ok(table)
}

/// The stream production's table has, and `cruddur ddb stream` follows: new images.
pub(crate) fn stream() -> Result<StreamSpecification> {
    Ok(StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()?)
}

pub(crate) async fn describe(ddb: &Ddb) -> Result<TableDescription> {
    let output = ddb
        .client
        .describe_table()
        .table_name(&ddb.table)
        .send()
        .await
        .map_err(|e| ddb.explain("DescribeTable", e))?;
    output
        .table
        .ok_or_else(|| anyhow!("DescribeTable returned no table for `{}`", ddb.table))
}
