//! The app's table in the store: its shape as DynamoDB's API spells it (what CreateTable and
//! ImportTable make), and the calls on the table as a whole that a plan names: CreateTable,
//! DescribeTable until ACTIVE, RestoreTableFromBackup, the stream turned on, point-in-time
//! recovery, and the server-side export to S3 and import from it. Like every operation of
//! `perform`, each records itself on a recording store instead of being sent.

use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::export_table_to_point_in_time::ExportTableToPointInTimeError;
use aws_sdk_dynamodb::operation::import_table::ImportTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, ExportDescription, ExportFormat, ExportStatus, ExportType,
    GlobalSecondaryIndex, ImportStatus, ImportTableDescription, InputCompressionType, InputFormat,
    KeySchemaElement, KeyType, PointInTimeRecoverySpecification, Projection, ProjectionType,
    ProvisionedThroughput, S3BucketSource, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableCreationParameters, TableDescription, TableStatus,
};

use super::{Ddb, INDEX};
use crate::ops::{DdbOp, StreamReason};
use crate::poll::{self, Probe, Wait};

/// How a server-side export or import ended, as DynamoDB describes it.
pub(crate) enum Ended<Done, Why> {
    Completed(Done),
    /// Failed or cancelled: its description says why.
    Failed(Why),
}

/// Where in S3 (plain values: the bucket, the prefix, and the place as the user wrote it).
pub(crate) struct S3At<'a> {
    pub(crate) bucket: &'a str,
    /// Empty for the bucket's top.
    pub(crate) prefix: &'a str,
    pub(crate) shown: String,
}

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

/// Poll a server-side `kind` (`export`, `import`) by its ARN until it has ended, for up to
/// `wait`; past that, say that it goes on in DynamoDB and how to follow it.
async fn until_ended<D, F, Fut>(wait: Duration, kind: &str, arn: &str, probe: F) -> Result<D>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Probe<D>>>,
{
    let (ended, _) = poll::until(
        Wait::backing_off(wait),
        || format!("the {kind} {arn} was still running"),
        probe,
        |last| {
            anyhow!(
                "the {kind} {arn} is still {last} after {}: it goes on in DynamoDB; \
                 follow it with `aws dynamodb describe-{kind} --{kind}-arn {arn}`",
                crate::text::duration(wait)
            )
        },
    )
    .await?;
    Ok(ended)
}

/// A status as a wait reports it.
fn status(status: Option<&str>) -> String {
    status.unwrap_or("without a status").to_string()
}

/// A table as a recording store answers: ACTIVE, nothing else known.
fn active(name: &str) -> TableDescription {
    TableDescription::builder()
        .table_name(name)
        .table_status(TableStatus::Active)
        .build()
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
        if self.recorded(DdbOp::WaitActive { timeout: wait }) {
            return Ok(active(&self.table));
        }
        self.until_active(wait, what, say).await
    }

    /// [`Ddb::wait_active`]'s polling, for the operations that end with it.
    async fn until_active(
        &self,
        wait: Duration,
        what: &str,
        say: impl Fn(String),
    ) -> Result<TableDescription> {
        let name = &self.table;
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

    /// UpdateContinuousBackups: point-in-time recovery on.
    pub(crate) async fn enable_pitr(&self) -> Result<()> {
        if self.recorded(DdbOp::EnablePitr {
            table: self.table.clone(),
        }) {
            return Ok(());
        }
        self.client
            .update_continuous_backups()
            .table_name(&self.table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| self.explain("UpdateContinuousBackups", e))?;
        Ok(())
    }

    /// ExportTableToPointInTime of the table (`table_arn`) to `to`: a full export in DynamoDB
    /// JSON; `explain` words a refusal (a bucket that is not there, access).
    pub(crate) async fn export_to_s3(
        &self,
        table_arn: &str,
        to: &S3At<'_>,
        explain: impl FnOnce(SdkError<ExportTableToPointInTimeError, HttpResponse>) -> anyhow::Error,
    ) -> Result<ExportDescription> {
        if self.recorded(DdbOp::ExportToS3 {
            table: self.table.clone(),
            to: to.shown.clone(),
        }) {
            return Ok(ExportDescription::builder()
                .export_arn("arn:recorded")
                .export_status(ExportStatus::InProgress)
                .build());
        }
        let mut call = self
            .client
            .export_table_to_point_in_time()
            .table_arn(table_arn)
            .s3_bucket(to.bucket)
            .export_format(ExportFormat::DynamodbJson)
            .export_type(ExportType::FullExport);
        if !to.prefix.is_empty() {
            call = call.s3_prefix(to.prefix);
        }
        let started = call.send().await.map_err(explain)?;
        started
            .export_description()
            .cloned()
            .ok_or_else(|| anyhow!("ExportTableToPointInTime gave no description"))
    }

    /// DescribeExport of `export_arn` until it is done, for up to `wait`.
    pub(crate) async fn wait_export(
        &self,
        export_arn: &str,
        wait: Duration,
    ) -> Result<Ended<ExportDescription, ExportDescription>> {
        if self.recorded(DdbOp::WaitExport {
            timeout: Some(wait),
        }) {
            return Ok(Ended::Completed(
                ExportDescription::builder()
                    .export_arn(export_arn)
                    .export_status(ExportStatus::Completed)
                    .build(),
            ));
        }
        until_ended(wait, "export", export_arn, || async {
            let now = self
                .client
                .describe_export()
                .export_arn(export_arn)
                .send()
                .await
                .map_err(|e| self.explain("DescribeExport", e))?;
            let d = now
                .export_description()
                .ok_or_else(|| anyhow!("DescribeExport gave no description"))?
                .clone();
            Ok(match d.export_status() {
                Some(ExportStatus::Completed) => Probe::Ready(Ended::Completed(d)),
                Some(ExportStatus::Failed) => Probe::Ready(Ended::Failed(d)),
                other => Probe::NotYet(status(other.map(|s| s.as_str()))),
            })
        })
        .await
    }

    /// ImportTable from `from` into this (new) table, with the app's keys, index and capacity;
    /// `explain` words a refusal. The import's ARN.
    pub(crate) async fn import_from_s3(
        &self,
        from: &S3At<'_>,
        gzip: bool,
        explain: impl FnOnce(SdkError<ImportTableError, HttpResponse>) -> anyhow::Error,
    ) -> Result<String> {
        if self.recorded(DdbOp::ImportFromS3 {
            from: from.shown.clone(),
            gzip,
            table: self.table.clone(),
            index: INDEX.to_string(),
        }) {
            return Ok("arn:recorded".into());
        }
        let shape = shape()?;
        let mut source = S3BucketSource::builder().s3_bucket(from.bucket);
        if !from.prefix.is_empty() {
            source = source.s3_key_prefix(from.prefix);
        }
        let started = self
            .client
            .import_table()
            .s3_bucket_source(source.build()?)
            .input_format(InputFormat::DynamodbJson)
            .input_compression_type(if gzip {
                InputCompressionType::Gzip
            } else {
                InputCompressionType::None
            })
            .table_creation_parameters(
                TableCreationParameters::builder()
                    .table_name(&self.table)
                    .set_attribute_definitions(Some(shape.attributes))
                    .set_key_schema(Some(shape.keys))
                    .global_secondary_indexes(shape.index)
                    .billing_mode(BillingMode::Provisioned)
                    .provisioned_throughput(shape.capacity)
                    .build()?,
            )
            .send()
            .await
            .map_err(explain)?;
        Ok(started
            .import_table_description()
            .and_then(|d| d.import_arn())
            .ok_or_else(|| anyhow!("ImportTable gave no ARN"))?
            .to_string())
    }

    /// DescribeImport of `import_arn` until it is done, then the table until ACTIVE, for up
    /// to `wait` each; `say` hears the waits. A completed import comes with the table.
    pub(crate) async fn wait_import(
        &self,
        import_arn: &str,
        wait: Duration,
        say: impl Fn(String),
    ) -> Result<Ended<(ImportTableDescription, TableDescription), ImportTableDescription>> {
        if self.recorded(DdbOp::WaitImport { timeout: wait }) {
            return Ok(Ended::Completed((
                ImportTableDescription::builder()
                    .import_arn(import_arn)
                    .import_status(ImportStatus::Completed)
                    .build(),
                active(&self.table),
            )));
        }
        let ended = until_ended(wait, "import", import_arn, || async {
            let now = self
                .client
                .describe_import()
                .import_arn(import_arn)
                .send()
                .await
                .map_err(|e| self.explain("DescribeImport", e))?;
            let d = now
                .import_table_description()
                .ok_or_else(|| anyhow!("DescribeImport gave no description"))?
                .clone();
            Ok(match d.import_status() {
                Some(ImportStatus::Completed) => Probe::Ready(Ended::Completed(d)),
                Some(ImportStatus::Failed) | Some(ImportStatus::Cancelled) => {
                    Probe::Ready(Ended::Failed(d))
                }
                other => Probe::NotYet(status(other.map(|s| s.as_str()))),
            })
        })
        .await?;
        match ended {
            Ended::Failed(d) => Ok(Ended::Failed(d)),
            Ended::Completed(d) => {
                let table = self.until_active(wait, "was imported", say).await?;
                Ok(Ended::Completed((d, table)))
            }
        }
    }

    /// DescribeTable (a read: nothing is recorded).
    /// Whether the table is there (DescribeTable; a recording store's is).
    pub(crate) async fn exists(&self) -> Result<bool> {
        if self.is_recording() {
            return Ok(true);
        }
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&error)
                    == Some("ResourceNotFoundException") =>
            {
                Ok(false)
            }
            Err(error) => Err(self.explain("DescribeTable", error)),
        }
    }

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
