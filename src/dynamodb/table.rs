//! The app's table in the store: its shape as DynamoDB's API spells it (what CreateTable and
//! ImportTable make), and the calls on the table as a whole that a plan names: CreateTable,
//! DescribeTable until ACTIVE, RestoreTableFromBackup, the stream turned on. Like every
//! operation of `perform`, each records itself on a recording store instead of being sent.

use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription, TableStatus,
};

use super::{Ddb, INDEX};
use crate::ops::{DdbOp, StreamReason};
use crate::poll::{self, Probe, Wait};

/// How CreateTable makes the table (plain values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableSpec {
    /// Stream NEW_IMAGE, as production's table has it.
    pub(crate) stream: bool,
    pub(crate) deletion_protection: bool,
    /// An existing table is fine: it is described, nothing is changed.
    pub(crate) if_not_exists: bool,
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

/// The stream production's table has, and `cruddur ddb stream` follows: new images.
pub(crate) fn stream() -> Result<StreamSpecification> {
    Ok(StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()?)
}

impl Ddb {
    /// CreateTable of the app's table. `Some`: it was there already and `if_not_exists`
    /// accepts that (its description; nothing was changed). `None`: it is being created.
    pub(crate) async fn create_table(&self, spec: TableSpec) -> Result<Option<TableDescription>> {
        if self.recorded(DdbOp::CreateTable {
            table: self.table.clone(),
            index: INDEX.to_string(),
            stream: spec.stream,
            deletion_protection: spec.deletion_protection,
            if_not_exists: spec.if_not_exists,
        }) {
            return Ok(None);
        }
        let shape = shape()?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .set_attribute_definitions(Some(shape.attributes))
            .set_key_schema(Some(shape.keys))
            .global_secondary_indexes(shape.index)
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(shape.capacity)
            .set_stream_specification(spec.stream.then(stream).transpose()?)
            .deletion_protection_enabled(spec.deletion_protection)
            .send()
            .await;
        match created {
            Ok(_) => Ok(None),
            Err(error) if error.code() == Some("ResourceInUseException") => {
                if spec.if_not_exists {
                    return Ok(Some(self.describe_table().await?));
                }
                Err(anyhow!(
                    "table `{}` already exists at {}; nothing was changed \
                     (add --if-not-exists to accept it, or `cruddur ddb drop` it first)",
                    self.table,
                    self.endpoint
                ))
            }
            Err(error) => Err(self.explain("CreateTable", error)),
        }
    }

    /// DescribeTable until the table is ACTIVE, for up to `wait`; `what` says what happened to
    /// it (`was created`, `was restored`) in the words of the timeout; `say` hears each wait.
    pub(crate) async fn wait_active(
        &self,
        wait: Duration,
        what: &str,
        say: impl Fn(String),
    ) -> Result<TableDescription> {
        let name = &self.table;
        if self.recorded(DdbOp::WaitActive { timeout: wait }) {
            return Ok(TableDescription::builder()
                .table_name(name)
                .table_status(TableStatus::Active)
                .build());
        }
        let (table, _) = poll::until(
            Wait::backing_off(wait),
            || format!("table `{name}` {what} but was not ACTIVE yet"),
            || async {
                let table = self.describe_table().await?;
                if table.table_status() == Some(&TableStatus::Active) {
                    return Ok(Probe::Ready(table));
                }
                say(format!("waiting for `{name}` to become ACTIVE…"));
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

    /// RestoreTableFromBackup of `arn` into this (new) table.
    pub(crate) async fn restore_backup(&self, arn: &str) -> Result<()> {
        if self.recorded(DdbOp::RestoreBackup {
            arn: arn.to_string(),
            into: self.table.clone(),
        }) {
            return Ok(());
        }
        self.client
            .restore_table_from_backup()
            .target_table_name(&self.table)
            .backup_arn(arn)
            .send()
            .await
            .map_err(|e| self.explain("RestoreTableFromBackup", e))?;
        Ok(())
    }

    /// UpdateTable: the stream on (NEW_IMAGE), unless `table` (as described) has one already.
    /// True: it was turned on.
    pub(crate) async fn enable_stream(
        &self,
        table: &TableDescription,
        reason: StreamReason,
    ) -> Result<bool> {
        if table
            .stream_specification()
            .is_some_and(|s| s.stream_enabled())
        {
            return Ok(false);
        }
        if self.recorded(DdbOp::EnableStream {
            table: self.table.clone(),
            reason,
        }) {
            return Ok(true);
        }
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(stream()?)
            .send()
            .await
            .map_err(|e| self.explain("UpdateTable", e))?;
        Ok(true)
    }

    /// DescribeTable (a read: nothing is recorded).
    pub(crate) async fn describe_table(&self) -> Result<TableDescription> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| self.explain("DescribeTable", e))?;
        output
            .table
            .ok_or_else(|| anyhow!("DescribeTable returned no table for `{}`", self.table))
    }
}
