//! DynamoDB's own server-side export and import, for tables too big for one machine:
//! `ddb export --s3 s3://BUCKET/PREFIX` (ExportTableToPointInTime: a consistent snapshot in S3,
//! no read capacity spent) and `ddb import --s3 s3://BUCKET/PREFIX` (ImportTable: a new table
//! built from S3, with the app's keys, index and stream).

use std::fmt;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{ExportStatus, PointInTimeRecoveryStatus};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::dynamodb::table::{Ended, S3At};
use crate::dynamodb::Ddb;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::{DdbOp, StreamReason};
use crate::output::Outcome;

/// `s3://bucket/prefix`, as the flag gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Place {
    pub(crate) bucket: String,
    /// Without a trailing `/`; empty for the bucket's top.
    pub(crate) prefix: String,
}

impl S3Place {
    /// The place as the store takes it.
    fn at(&self) -> S3At<'_> {
        S3At {
            bucket: &self.bucket,
            prefix: &self.prefix,
            shown: self.to_string(),
        }
    }

    pub(crate) fn parse(text: &str) -> Result<S3Place> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| {
            anyhow!(
                "--s3 `{}` is not an S3 place: write it s3://BUCKET/PREFIX",
                crate::text::cut(&crate::text::visible(text), 80)
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            bail!(
                "--s3: `{}` is not a bucket name (3 to 63 of a-z, 0-9, `-` and `.`)",
                crate::text::cut(&crate::text::visible(bucket), 80)
            );
        }
        Ok(S3Place {
            bucket: bucket.to_string(),
            prefix: prefix.trim_end_matches('/').to_string(),
        })
    }
}

impl fmt::Display for S3Place {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Plain words for what S3 or DynamoDB said about the bucket.
fn explain_s3<E>(
    place: &S3Place,
    operation: &str,
    ddb: &Ddb,
    error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = error.message().unwrap_or_default().to_lowercase();
    match error.code() {
        _ if message.contains("bucket") && message.contains("not exist") => anyhow!(
            "{operation}: the bucket `{}` does not exist (or is in another account): create it, or name another with --s3; nothing was changed",
            place.bucket
        ),
        Some("AccessDeniedException") | Some("AccessDenied") => anyhow!(
            "{operation}: access to {place} was refused: the caller needs s3:PutObject / s3:GetObject and s3:ListBucket there, and dynamodb:{operation}; nothing was changed"
        ),
        _ => ddb.explain(operation, error),
    }
}

/// Whether point-in-time recovery is on (ExportTableToPointInTime needs it).
async fn pitr_on(ddb: &Ddb) -> Result<bool> {
    let answer = ddb
        .client
        .describe_continuous_backups()
        .table_name(&ddb.table)
        .send()
        .await
        .map_err(|e| ddb.explain("DescribeContinuousBackups", e))?;
    Ok(answer
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        == Some(&PointInTimeRecoveryStatus::Enabled))
}

/// `ddb export --s3`.
pub(crate) fn export(
    ctx: &Ctx,
    ddb: &Ddb,
    place: S3Place,
    enable_pitr: bool,
    wait: Option<Duration>,
) -> Result<Outcome> {
    let table = ctx.block_on(ddb.describe_table())??;
    let arn = table
        .table_arn()
        .ok_or_else(|| anyhow!("DescribeTable of `{}` gave no ARN", ddb.table))?
        .to_string();
    let on = ctx.block_on(pitr_on(ddb))??;
    if !on && !enable_pitr {
        bail!(
            "point-in-time recovery is off for table `{}`, and ExportTableToPointInTime needs it: \
             add --enable-pitr (an UpdateContinuousBackups, shown in the plan and confirmed; it \
             has a cost), or export client-side (without --s3); nothing was changed",
            ddb.table
        );
    }
    guarded::run(
        ctx,
        Prepared::Write(ServerExport {
            ddb,
            arn,
            place,
            turn_on_pitr: !on,
            wait,
        }),
    )
}

struct ServerExport<'a> {
    ddb: &'a Ddb,
    arn: String,
    place: S3Place,
    turn_on_pitr: bool,
    /// None: print the export's ARN and return (`--no-wait`).
    wait: Option<Duration>,
}

#[derive(Debug, Serialize)]
struct ExportReport {
    table: String,
    export_arn: String,
    status: String,
    s3: String,
    /// The manifest's key in the bucket, once the export is done.
    manifest: Option<String>,
    items: Option<i64>,
    bytes: Option<i64>,
}

impl Report for ExportReport {}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.status != ExportStatus::Completed.as_str() {
            return write!(
                f,
                "export of `{}` to {} is {} ({}); `aws dynamodb describe-export --export-arn {}` follows it",
                self.table, self.s3, self.status, self.export_arn, self.export_arn
            );
        }
        write!(
            f,
            "exported `{}` to {}: {} items{} ({})",
            self.table,
            self.s3,
            self.items.map_or("?".into(), |n| n.to_string()),
            self.manifest
                .as_ref()
                .map(|m| format!(", manifest {m}"))
                .unwrap_or_default(),
            self.export_arn
        )
    }
}

impl Write for ServerExport<'_> {
    type Report = ExportReport;

    fn plan(&self) -> Plan {
        let table = &self.ddb.table;
        let mut ops = Vec::new();
        if self.turn_on_pitr {
            ops.push(
                DdbOp::EnablePitr {
                    table: table.clone(),
                }
                .into(),
            );
        }
        ops.push(
            DdbOp::ExportToS3 {
                table: table.clone(),
                to: self.place.to_string(),
            }
            .into(),
        );
        ops.push(DdbOp::WaitExport { timeout: self.wait }.into());
        Plan::new(
            self.ddb.destination(),
            format!("export table `{table}` to {}", self.place),
            ops,
            table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<ExportReport> {
        let ddb = self.ddb;
        let place = &self.place;
        ctx.block_on(async {
            if self.turn_on_pitr {
                ddb.enable_pitr().await?;
                ctx.info(format!(
                    "turned on point-in-time recovery for `{}`",
                    ddb.table
                ));
            }
            let described = ddb
                .export_to_s3(&self.arn, &place.at(), |e| {
                    explain_s3(place, "ExportTableToPointInTime", ddb, e)
                })
                .await?;
            let export_arn = described.export_arn().unwrap_or_default().to_string();
            let report = |d: &aws_sdk_dynamodb::types::ExportDescription| ExportReport {
                table: ddb.table.clone(),
                export_arn: export_arn.clone(),
                status: d.export_status().map_or("?", |s| s.as_str()).to_string(),
                s3: place.to_string(),
                manifest: d.export_manifest().map(String::from),
                items: d.item_count(),
                bytes: d.billed_size_bytes(),
            };
            let Some(wait) = self.wait else {
                return Ok(ExportReport {
                    manifest: None,
                    ..report(&described)
                });
            };
            let progress = ctx.printer.progress("exporting", None);
            let done = match ddb.wait_export(&export_arn, wait).await? {
                Ended::Completed(done) => done,
                Ended::Failed(d) => {
                    return Err(export_failed(&d, &export_arn, place, self.turn_on_pitr))
                }
            };
            progress.finish();
            Ok(report(&done))
        })?
    }
}

/// A failed export, in words: a missing bucket, refused access, or DynamoDB's own reason.
fn export_failed(
    d: &aws_sdk_dynamodb::types::ExportDescription,
    export_arn: &str,
    place: &S3Place,
    turned_on_pitr: bool,
) -> anyhow::Error {
    match d.failure_code() {
        Some("S3NoSuchBucket") => anyhow!(
            "the export failed: the bucket `{}` does not exist (or is in another \
             account): create it, or name another with --s3{}",
            place.bucket,
            pitr_note(turned_on_pitr)
        ),
        Some("S3AccessDenied") => anyhow!(
            "the export failed: DynamoDB may not write to {place}: the caller needs \
             s3:PutObject there{}",
            pitr_note(turned_on_pitr)
        ),
        code => anyhow!(
            "the export {export_arn} failed: {}: {}{}",
            code.unwrap_or("?"),
            d.failure_message().unwrap_or("no message"),
            pitr_note(turned_on_pitr)
        ),
    }
}

/// What an export that failed after --enable-pitr leaves changed.
fn pitr_note(turned_on: bool) -> &'static str {
    if turned_on {
        " (point-in-time recovery, turned on first, stays on)"
    } else {
        ""
    }
}

/// `ddb import --s3`: ImportTable into the table `--table` names, which must not exist.
pub(crate) fn import(
    ctx: &Ctx,
    ddb: &Ddb,
    place: S3Place,
    gzip: bool,
    wait: Duration,
) -> Result<Outcome> {
    if ctx.block_on(ddb.describe_table())?.is_ok() {
        bail!(
            "table `{}` already exists at {}: ImportTable builds a new table. Name another with \
             --table, or import into this one client-side: download the export and run \
             `cruddur ddb import FOLDER` (it replaces items with the same keys); nothing was changed",
            ddb.table,
            ddb.endpoint
        );
    }
    let held = export_items(ctx, ddb, &place);
    guarded::run(
        ctx,
        Prepared::Write(ServerImport {
            ddb,
            place,
            gzip,
            wait,
            held,
        }),
    )
}

/// How many items a DynamoDB export held, by its manifest.
struct Held {
    items: i64,
    /// `s3://…/manifest-summary.json`.
    manifest: String,
}

/// The item count of the export whose `data/` folder `place` is, from the
/// `manifest-summary.json` DynamoDB writes beside it; None (said with -v) when `place` is not
/// such a folder or the manifest cannot be read: then nothing is compared.
fn export_items(ctx: &Ctx, ddb: &Ddb, place: &S3Place) -> Option<Held> {
    let folder = place.prefix.strip_suffix("/data")?;
    if !folder.split('/').any(|part| part == "AWSDynamoDB") {
        return None;
    }
    let key = format!("{folder}/manifest-summary.json");
    let manifest = format!("s3://{}/{key}", place.bucket);
    let read = || -> Result<Option<i64>> {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        // Where DynamoDB is, S3 is: AWS's own when the table is AWS's, else the same endpoint
        // (an emulator). Local mode's table is never AWS's (the guard's first rule), so
        // nothing here can reach AWS from it.
        let on_aws = crate::hosts::endpoint_host(&ddb.endpoint)
            .is_some_and(|host| crate::hosts::is_aws_host(&host));
        if on_aws && ctx.target == crate::ctx::Target::Local {
            return Ok(None);
        }
        let endpoint = (!on_aws).then(|| ddb.endpoint.clone());
        // The credentials DynamoDB's calls are signed with (an emulator's stand-ins locally).
        let provider = ddb
            .credentials
            .as_ref()
            .ok_or_else(|| anyhow!("no AWS credentials to read it with"))?;
        let credentials = ctx
            .block_on(provider.provide_credentials())?
            .map_err(|e| anyhow!("no AWS credentials to read it with: {e}"))?;
        let at = crate::s3::S3Endpoint {
            endpoint: endpoint.as_deref(),
            region: &ddb.region,
        };
        let Some(bytes) = crate::s3::get(credentials, &at, &place.bucket, &key)? else {
            return Ok(None);
        };
        let summary: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| anyhow!("it is not JSON ({e})"))?;
        summary["itemCount"]
            .as_i64()
            .map(Some)
            .ok_or_else(|| anyhow!("it has no itemCount"))
    };
    match read() {
        Ok(Some(items)) => {
            ctx.detail(format!("{manifest}: the export held {items} items"));
            Some(Held { items, manifest })
        }
        Ok(None) => {
            ctx.detail(format!(
                "no {manifest}: the items imported are not compared with the export's"
            ));
            None
        }
        Err(error) => {
            ctx.warn(format!(
                "could not read {manifest} ({error:#}): the items imported are not compared with the export's"
            ));
            None
        }
    }
}

struct ServerImport<'a> {
    ddb: &'a Ddb,
    place: S3Place,
    gzip: bool,
    wait: Duration,
    /// What the export held, when its manifest says.
    held: Option<Held>,
}

#[derive(Debug, Serialize)]
struct S3ImportReport {
    table: String,
    import_arn: String,
    status: String,
    s3: String,
    processed_items: i64,
    imported_items: i64,
    errors: i64,
    /// Where DynamoDB logged the lines it could not import.
    cloudwatch_log_group: Option<String>,
    /// The items the export held, by its manifest (None: no manifest to say).
    export_items: Option<i64>,
    #[serde(skip)]
    manifest: Option<String>,
}

impl S3ImportReport {
    /// The items the export held that ImportTable did not process.
    fn short_by(&self) -> i64 {
        self.export_items
            .map_or(0, |held| (held - self.processed_items).max(0))
    }
}

/// Fewer items processed than the export held is lost data: the report, then exit 1.
impl Report for S3ImportReport {
    fn into_outcome(self) -> Result<Outcome> {
        let short = self.short_by();
        if short == 0 {
            return Outcome::report(&self);
        }
        let error = anyhow!(
            "ImportTable processed {} of the {} items the export held ({}): {short} are not in \
             the new table `{}`. Check the export's files, drop the table (`cruddur ddb drop`) \
             and import again",
            self.processed_items,
            self.export_items.unwrap_or_default(),
            self.manifest.as_deref().unwrap_or("its manifest"),
            self.table
        );
        Ok(Outcome::Failing {
            outcome: Box::new(Outcome::report(&self)?),
            error,
        })
    }
}

impl fmt::Display for S3ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "imported {} of {} items from {} into the new table `{}`{}; stream NEW_IMAGE on",
            self.imported_items,
            self.processed_items,
            self.s3,
            self.table,
            match (&self.cloudwatch_log_group, self.errors) {
                (_, 0) => String::new(),
                (Some(group), n) => format!("; {n} could not be (CloudWatch log group {group})"),
                (None, n) => format!("; {n} could not be"),
            }
        )?;
        if self.short_by() > 0 {
            write!(
                f,
                "; the export held {}",
                self.export_items.unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

impl Write for ServerImport<'_> {
    type Report = S3ImportReport;

    fn plan(&self) -> Plan {
        let table = &self.ddb.table;
        Plan::new(
            self.ddb.destination(),
            format!("build the new table `{table}` from {}", self.place),
            vec![
                DdbOp::ImportFromS3 {
                    from: self.place.to_string(),
                    gzip: self.gzip,
                    table: table.clone(),
                    index: crate::dynamodb::INDEX.to_string(),
                }
                .into(),
                DdbOp::WaitImport { timeout: self.wait }.into(),
                DdbOp::EnableStream {
                    table: table.clone(),
                    reason: StreamReason::Import,
                }
                .into(),
            ],
            table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<S3ImportReport> {
        let (ddb, place, wait) = (self.ddb, &self.place, self.wait);
        ctx.block_on(async {
            let import_arn = ddb
                .import_from_s3(&place.at(), self.gzip, |e| {
                    explain_s3(place, "ImportTable", ddb, e)
                })
                .await?;
            let (done, table) = match ddb
                .wait_import(&import_arn, wait, |words| ctx.detail(words))
                .await?
            {
                Ended::Completed(done) => done,
                Ended::Failed(d) => bail!(
                    "the import {import_arn} ended {}: {}: {}{}",
                    d.import_status().map_or("?", |s| s.as_str()),
                    d.failure_code().unwrap_or("?"),
                    d.failure_message().unwrap_or("no message"),
                    d.cloud_watch_log_group_arn()
                        .map(|g| format!(" (CloudWatch log group {g})"))
                        .unwrap_or_default()
                ),
            };
            // ImportTable cannot make a stream: it is turned on now.
            ddb.enable_stream(&table, StreamReason::Import).await?;
            let errors = done.error_count();
            if errors > 0 {
                ctx.warn(format!(
                    "{errors} item(s) of {place} could not be imported: see {}",
                    done.cloud_watch_log_group_arn()
                        .unwrap_or("the import's CloudWatch log group")
                ));
            }
            Ok(S3ImportReport {
                table: ddb.table.clone(),
                import_arn: import_arn.clone(),
                status: done.import_status().map_or("?", |s| s.as_str()).to_string(),
                s3: place.to_string(),
                processed_items: done.processed_item_count(),
                imported_items: done.imported_item_count(),
                errors,
                cloudwatch_log_group: done.cloud_watch_log_group_arn().map(String::from),
                export_items: self.held.as_ref().map(|held| held.items),
                manifest: self.held.as_ref().map(|held| held.manifest.clone()),
            })
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    fn place() -> S3Place {
        S3Place::parse("s3://cruddur-exports/2026").unwrap()
    }

    /// Point-in-time recovery (when asked), the export, the wait: what the plan said. With
    /// --no-wait the plan says no wait is done, and none is.
    #[test]
    fn an_export_performs_what_it_planned() {
        for (turn_on_pitr, wait) in [(true, Some(Duration::from_secs(600))), (false, None)] {
            let (ddb, recorder) = Ddb::recording("cruddur-messages");
            let write = ServerExport {
                ddb: &ddb,
                arn: "arn:aws:dynamodb:us-east-1:1:table/cruddur-messages".into(),
                place: place(),
                turn_on_pitr,
                wait,
            };
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
            assert_eq!(performed, planned);
            assert_eq!(performed.len(), if turn_on_pitr { 3 } else { 1 });
        }
    }

    /// The import, the wait (the import's, then the table's), the stream: what the plan said.
    #[test]
    fn an_import_performs_what_it_planned() {
        let (ddb, recorder) = Ddb::recording("imported");
        let write = ServerImport {
            ddb: &ddb,
            place: place(),
            gzip: true,
            wait: Duration::from_secs(1800),
            held: None,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 3);
    }

    #[test]
    fn s3_places_are_read_or_refused_in_words() {
        assert_eq!(
            S3Place::parse("s3://my-bucket/exports/2026/").unwrap(),
            S3Place {
                bucket: "my-bucket".into(),
                prefix: "exports/2026".into()
            }
        );
        assert_eq!(S3Place::parse("s3://bkt").unwrap().to_string(), "s3://bkt");
        assert!(S3Place::parse("my-bucket/x")
            .unwrap_err()
            .to_string()
            .contains("s3://BUCKET/PREFIX"));
        assert!(S3Place::parse("s3://Bad_Bucket/x")
            .unwrap_err()
            .to_string()
            .contains("not a bucket name"));
    }
}
