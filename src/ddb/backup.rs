//! `cruddur ddb backup create|list|restore`: DynamoDB's own on-demand backups (seconds,
//! whatever the table's size), and the backup every destructive production write takes first
//! ([`with_backup`]): `--prod ddb drop`, `ddb seed --replace` and `ddb import` name it in
//! their plan and report, and do not go on if it fails; `--no-backup` is the explicit opt-out.

use std::fmt;
use std::time::Duration;

use anyhow::{bail, Result};
use aws_sdk_dynamodb::types::BackupStatus;
use serde::Serialize;

use crate::cli::{BackupCommand, BackupCreateArgs, BackupRestoreArgs};
use crate::ctx::{Ctx, Target};
use crate::dynamodb::perform::rfc3339;
use crate::dynamodb::Ddb;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::{DdbOp, StreamReason};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, command: &BackupCommand) -> Result<Outcome> {
    match command {
        BackupCommand::Create(args) => create(ctx, ctx.ddb()?, args),
        BackupCommand::List => {
            guarded::reads(ctx, "`cruddur ddb backup list`")?;
            list(ctx, ctx.ddb()?)
        }
        BackupCommand::Restore(args) => restore(ctx, ctx.ddb()?, args),
    }
}

/// A backup of the table, as DynamoDB describes it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BackupReport {
    pub(crate) table: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) status: String,
    /// RFC 3339.
    pub(crate) created_at: Option<String>,
    pub(crate) size_bytes: Option<i64>,
}

impl Report for BackupReport {}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "backup `{}` of `{}` is {} ({})",
            self.name, self.table, self.status, self.arn
        )
    }
}

fn create(ctx: &Ctx, ddb: &Ddb, args: &BackupCreateArgs) -> Result<Outcome> {
    let name = match &args.name {
        Some(name) => check_name(name)?,
        None => default_name(&ddb.table),
    };
    guarded::run(ctx, Prepared::Write(TakeBackup { ddb, name }))
}

/// A backup name DynamoDB takes: 3 to 255 of `A-Z a-z 0-9 _ - .`.
fn check_name(name: &str) -> Result<String> {
    let ok = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        bail!(
            "--name `{}` is not a backup name DynamoDB takes: 3 to 255 of A-Z, a-z, 0-9, `_`, `-` and `.`",
            crate::text::cut(&crate::text::visible(name), 60)
        );
    }
    Ok(name.to_string())
}

/// `cruddur-messages-20261130-154200`: the table and the time, sortable.
fn default_name(table: &str) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let mut table = table.to_string();
    table.truncate(200);
    format!("{table}-{stamp}")
}

/// CreateBackup of the table.
pub(crate) struct TakeBackup<'a> {
    ddb: &'a Ddb,
    name: String,
}

impl TakeBackup<'_> {
    fn op(&self) -> DdbOp {
        DdbOp::CreateBackup {
            table: self.ddb.table.clone(),
            name: self.name.clone(),
        }
    }

    /// CreateBackup; `before_write`: the one a destructive write takes first.
    async fn take(&self, before_write: bool) -> Result<BackupReport> {
        let made = self.ddb.create_backup(&self.name, before_write).await?;
        Ok(BackupReport {
            table: self.ddb.table.clone(),
            name: made.name,
            arn: made.arn,
            status: made.status,
            created_at: Some(made.created_at),
            size_bytes: made.size_bytes,
        })
    }
}

impl Write for TakeBackup<'_> {
    type Report = BackupReport;

    fn plan(&self) -> Plan {
        Plan::new(
            self.ddb.destination(),
            format!("back up table `{}`", self.ddb.table),
            vec![self.op().into()],
            &self.ddb.table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<BackupReport> {
        ctx.block_on(self.take(false))?
    }
}

/// A destructive write, with the backup taken first when one is due.
pub(crate) struct WithBackup<'a, W: Write> {
    backup: Backup<'a>,
    write: W,
}

/// What protects the data before a destructive write.
enum Backup<'a> {
    /// Not production: nothing is taken.
    NotDue,
    /// `--no-backup`, said in the plan.
    Declined,
    Take(TakeBackup<'a>),
}

/// `write`, preceded in production by a backup of `ddb`'s table (unless `no_backup`).
pub(crate) fn with_backup<'a, W: Write>(
    ctx: &Ctx,
    ddb: &'a Ddb,
    write: W,
    no_backup: bool,
) -> WithBackup<'a, W> {
    let backup = match (ctx.target, no_backup) {
        (Target::Local, _) => Backup::NotDue,
        (Target::Prod, true) => Backup::Declined,
        (Target::Prod, false) => Backup::Take(TakeBackup {
            ddb,
            name: format!("{}-before-cruddur", default_name(&ddb.table)),
        }),
    };
    WithBackup { backup, write }
}

/// The write's own report, and the backup taken before it.
#[derive(Debug, Serialize)]
pub(crate) struct BackedUp<R: Serialize> {
    #[serde(flatten)]
    report: R,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<BackupReport>,
}

impl<R: Report> Report for BackedUp<R> {}

impl<R: Report> fmt::Display for BackedUp<R> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.report.fmt(f)?;
        if let Some(backup) = &self.backup {
            write!(f, "; backup `{}` taken first ({})", backup.name, backup.arn)?;
        }
        Ok(())
    }
}

impl<W: Write> Write for WithBackup<'_, W> {
    type Report = BackedUp<W::Report>;

    fn plan(&self) -> Plan {
        let mut plan = self.write.plan();
        match &self.backup {
            Backup::NotDue => {}
            Backup::Declined => plan.ops.insert(0, DdbOp::NoBackup.into()),
            Backup::Take(take) => plan.ops.insert(
                0,
                DdbOp::BackupFirst {
                    table: take.ddb.table.clone(),
                    name: take.name.clone(),
                }
                .into(),
            ),
        }
        plan
    }

    fn marker(&self) -> Marker {
        self.write.marker()
    }

    fn execute(self, ctx: &Ctx) -> Result<Self::Report> {
        let backup = match self.backup {
            Backup::Take(take) => {
                let report = ctx.block_on(take.take(true))?.map_err(|error| {
                    error.context(
                        "the backup before the write failed, so nothing was changed \
                         (--no-backup goes on without one, when you mean it)",
                    )
                })?;
                ctx.info(format!("took backup `{}` ({})", report.name, report.arn));
                Some(report)
            }
            Backup::NotDue | Backup::Declined => None,
        };
        Ok(BackedUp {
            report: self.write.execute(ctx)?,
            backup,
        })
    }
}

/// The table's backups, newest first (every page of ListBackups).
async fn backups(ddb: &Ddb) -> Result<Vec<BackupReport>> {
    let mut found = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = ddb
            .client
            .list_backups()
            .table_name(&ddb.table)
            .set_exclusive_start_backup_arn(start.take())
            .send()
            .await
            .map_err(|e| ddb.explain("ListBackups", e))?;
        for backup in page.backup_summaries() {
            found.push(BackupReport {
                table: backup.table_name().unwrap_or(&ddb.table).to_string(),
                name: backup.backup_name().unwrap_or_default().to_string(),
                arn: backup.backup_arn().unwrap_or_default().to_string(),
                status: backup
                    .backup_status()
                    .map_or("?", BackupStatus::as_str)
                    .to_string(),
                created_at: backup.backup_creation_date_time().map(rfc3339),
                size_bytes: backup.backup_size_bytes(),
            });
        }
        match page.last_evaluated_backup_arn() {
            Some(next) => start = Some(next.to_string()),
            None => break,
        }
    }
    found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(found)
}

fn list(ctx: &Ctx, ddb: &Ddb) -> Result<Outcome> {
    let found = ctx.block_on(backups(ddb))??;
    if found.is_empty() {
        ctx.info(format!(
            "table `{}` has no backup (`cruddur ddb backup create` takes one)",
            ddb.table
        ));
    }
    Outcome::rows(
        &["name", "created_at", "status", "size_bytes", "arn"],
        &found,
    )
}

fn restore(ctx: &Ctx, ddb: &Ddb, args: &BackupRestoreArgs) -> Result<Outcome> {
    crate::dynamodb::check_table_name(&args.into, "--into")?;
    if args.into == ddb.table {
        bail!(
            "--into `{}` is the table itself: a restore makes a new table; name another (and \
             point the app at it, or drop and restore in two steps)",
            args.into
        );
    }
    let backup = if args.backup.starts_with("arn:") {
        // An ARN is used as it is: RestoreTableFromBackup says if there is no such backup.
        BackupReport {
            table: ddb.table.clone(),
            name: args
                .backup
                .rsplit('/')
                .next()
                .unwrap_or(&args.backup)
                .to_string(),
            arn: args.backup.clone(),
            status: "?".to_string(),
            created_at: None,
            size_bytes: None,
        }
    } else {
        by_name(ctx, ddb, &args.backup)?
    };
    let into = ctx.ddb_table(&args.into)?;
    if ctx.block_on(into.describe_table())?.is_ok() {
        bail!(
            "table `{}` already exists at {}: a restore makes a new table; name another with --into",
            into.table,
            into.endpoint
        );
    }
    guarded::run(
        ctx,
        Prepared::Write(Restore {
            into,
            backup,
            wait: args.wait_timeout,
        }),
    )
}

/// The table's one backup of this name.
fn by_name(ctx: &Ctx, ddb: &Ddb, wanted: &str) -> Result<BackupReport> {
    let found = ctx.block_on(backups(ddb))??;
    let chosen: Vec<&BackupReport> = found.iter().filter(|b| b.name == wanted).collect();
    Ok(match chosen.as_slice() {
        [one] => (*one).clone(),
        [] => bail!(
            "table `{}` has no backup named `{}`{}",
            ddb.table,
            crate::text::cut(&crate::text::visible(wanted), 80),
            if found.is_empty() {
                String::new()
            } else {
                format!(
                    "; its backups: {}",
                    found
                        .iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        several => bail!(
            "{} backups are named `{}`: name one by its ARN: {}",
            several.len(),
            wanted,
            several
                .iter()
                .map(|b| b.arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// RestoreTableFromBackup into a new table, then its stream (a restore does not bring it back).
struct Restore {
    into: Ddb,
    backup: BackupReport,
    wait: Duration,
}

#[derive(Debug, Serialize)]
struct RestoreReport {
    table: String,
    from_backup: String,
    backup_arn: String,
    status: String,
    stream: bool,
}

impl Report for RestoreReport {}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "restored backup `{}` into table `{}` ({}{})",
            self.from_backup,
            self.table,
            self.status,
            if self.stream {
                ", stream NEW_IMAGE turned on"
            } else {
                ""
            }
        )
    }
}

impl Write for Restore {
    type Report = RestoreReport;

    fn plan(&self) -> Plan {
        let into = &self.into.table;
        Plan::new(
            self.into.destination(),
            format!(
                "restore backup `{}` into the new table `{into}`",
                self.backup.name
            ),
            vec![
                DdbOp::RestoreBackup {
                    arn: self.backup.arn.clone(),
                    into: into.clone(),
                }
                .into(),
                DdbOp::WaitActive { timeout: self.wait }.into(),
                DdbOp::EnableStream {
                    table: into.clone(),
                    reason: StreamReason::Restore,
                }
                .into(),
            ],
            into,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<RestoreReport> {
        let into = &self.into;
        ctx.block_on(async {
            into.restore_backup(&self.backup.arn).await?;
            let table = into
                .wait_active(self.wait, "was restored", |words| ctx.detail(words))
                .await?;
            let turned_on = into.enable_stream(&table, StreamReason::Restore).await?;
            Ok(RestoreReport {
                table: into.table.clone(),
                from_backup: self.backup.name.clone(),
                backup_arn: self.backup.arn.clone(),
                status: table.table_status().map_or("?", |s| s.as_str()).to_string(),
                stream: turned_on,
            })
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guarded::planned_and_performed;

    #[test]
    fn a_backup_performs_what_it_planned() {
        let (ddb, recorder) = Ddb::recording("cruddur-messages");
        let write = TakeBackup {
            ddb: &ddb,
            name: default_name(&ddb.table),
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 1);
    }

    /// Restore, wait until ACTIVE, then the stream: what the plan said.
    #[test]
    fn a_restore_performs_what_it_planned() {
        let (into, recorder) = Ddb::recording("restored");
        let write = Restore {
            backup: BackupReport {
                table: "cruddur-messages".into(),
                name: "cruddur-messages-20261207-080000".into(),
                arn: "arn:aws:dynamodb:us-east-1:1:table/cruddur-messages/backup/1".into(),
                status: "AVAILABLE".into(),
                created_at: None,
                size_bytes: None,
            },
            into,
            wait: std::time::Duration::from_secs(600),
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 3);
    }
}
