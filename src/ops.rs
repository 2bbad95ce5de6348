//! The operations a write performs, as values: one enum per store ([`PgOp`], [`DdbOp`],
//! [`Ec2Op`], [`FileOp`]), gathered in [`Op`]. A writer's plan is a list of these; each renders
//! its own sentence (`Display`, what a dry run and a confirmation show) and its JSON
//! (`Serialize`, what `--dry-run --json` gives a machine: `{"store": …, "op": …, fields}`).
//! Plain values: nothing here connects, prints or decides.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::text::{cut, duration, visible};

/// One operation of a plan, on one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub(crate) enum Op {
    Postgres(PgOp),
    #[serde(rename = "dynamodb")]
    DynamoDb(DdbOp),
    Ec2(Ec2Op),
    File(FileOp),
    /// What `ddb serve` runs while it listens.
    Serve(ServeOp),
}

impl Op {
    /// What a store performs for it, as a recording store keeps it; what a recording store's
    /// test compares. None for the few operations of a plan that only say something about the
    /// ones around them: no backup is taken, no snapshot, no wait for an export (`--no-wait`),
    /// the marker could not be read, the values a statement is given, the sessions the DROP
    /// before ends. A bulk write, which a plan names by its purpose, is the BatchWriteItem
    /// calls the store makes.
    #[cfg(test)]
    pub(crate) fn performed(self) -> Option<Op> {
        match self {
            Op::DynamoDb(DdbOp::NoBackup | DdbOp::WaitExport { timeout: None })
            | Op::Postgres(
                PgOp::FileStatement { skipped: true, .. }
                | PgOp::NoSnapshot
                | PgOp::MarkerUnreadable { .. }
                | PgOp::Parameters { .. }
                | PgOp::TerminateSession { .. },
            ) => None,
            // A bulk write is named by its purpose; the store performs BatchWriteItem calls.
            Op::DynamoDb(
                DdbOp::WriteConversation {
                    items, requests, ..
                }
                | DdbOp::ImportItems {
                    items, requests, ..
                },
            ) => Some(
                DdbOp::BatchWrite {
                    puts: items,
                    deletes: 0,
                    requests,
                }
                .into(),
            ),
            Op::DynamoDb(DdbOp::ReplaceConversations {
                puts,
                deletes,
                requests,
                ..
            }) => Some(
                DdbOp::BatchWrite {
                    puts,
                    deletes,
                    requests,
                }
                .into(),
            ),
            // The old items are read again under the lease: none found, none deleted.
            Op::DynamoDb(DdbOp::DeleteStale { items: 0, .. }) => None,
            Op::DynamoDb(DdbOp::DeleteStale { items, requests }) => Some(
                DdbOp::BatchWrite {
                    puts: 0,
                    deletes: items,
                    requests,
                }
                .into(),
            ),
            op => Some(op),
        }
    }

    /// The lines a person reads for this operation: one, or (a transaction) a heading and one
    /// indented line per write.
    pub(crate) fn lines(&self) -> Vec<String> {
        match self {
            Op::DynamoDb(DdbOp::TransactWrite { writes }) => {
                std::iter::once(format!("TransactWriteItems of {} writes:", writes.len()))
                    .chain(writes.iter().map(|w| format!("  {w}")))
                    .collect()
            }
            _ => vec![self.to_string()],
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Op::Postgres(op) => op.fmt(f),
            Op::DynamoDb(op) => op.fmt(f),
            Op::Ec2(op) => op.fmt(f),
            Op::File(op) => op.fmt(f),
            Op::Serve(op) => op.fmt(f),
        }
    }
}

impl From<PgOp> for Op {
    fn from(op: PgOp) -> Op {
        Op::Postgres(op)
    }
}

impl From<DdbOp> for Op {
    fn from(op: DdbOp) -> Op {
        Op::DynamoDb(op)
    }
}

impl From<Ec2Op> for Op {
    fn from(op: Ec2Op) -> Op {
        Op::Ec2(op)
    }
}

impl From<ServeOp> for Op {
    fn from(op: ServeOp) -> Op {
        Op::Serve(op)
    }
}

impl From<FileOp> for Op {
    fn from(op: FileOp) -> Op {
        Op::File(op)
    }
}

/// A duration in JSON: seconds, with their fraction (`--wait-timeout 1.5s` is 1.5).
fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn some_seconds<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => seconds(d, s),
        None => s.serialize_none(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The statement that ends every other session of database `$1`.
pub(crate) const TERMINATE_OTHERS: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                           WHERE datname = $1 AND pid <> pg_backend_pid()";

/// An operation on a Postgres database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum PgOp {
    /// One statement, as it is sent.
    Statement { sql: String },
    /// A statement of a file, by its line (shown cut to its first line); `skipped`: the file's
    /// own BEGIN or COMMIT, which its one transaction leaves out.
    FileStatement {
        line: usize,
        sql: String,
        skipped: bool,
    },
    /// Every other session of the database ended (`db drop --force` before Postgres 13).
    TerminateOthers { database: String },
    /// A session the DROP … WITH (FORCE) or the terminate before it ends (`db drop --force`).
    TerminateSession { session: String },
    /// The bound parameters of the statement before (their values made visible).
    Parameters { values: Vec<Parameter> },
    /// A schema that replaces a table under applied migrations resets the app's marker.
    ResetMigrations { applied: String },
    /// A migration, in its own transaction with its marker.
    Migrate {
        version: String,
        name: String,
        file: String,
        statements: usize,
        marker_after: String,
    },
    /// A migration undone, in its own transaction with its marker.
    Rollback {
        version: String,
        name: String,
        statements: usize,
        marker_after: String,
    },
    /// One handle's `cognito_user_id`: `current` is None when the handle has no row.
    LinkUser {
        handle: String,
        sub: String,
        current: Option<Option<String>>,
    },
    /// The migrations' own tables, made before the first migration runs or is undone: the
    /// app's marker (`schema_information`, at `'0'`) and cruddur's records
    /// (`cruddur_migrations`), which adopt the files up to the marker.
    MigrationTables {
        marker: bool,
        records: bool,
        adopted: usize,
    },
    /// A migration edited after it was applied, accepted as it is now (`--accept-edited`):
    /// its record takes the file's checksum.
    AcceptEdited {
        version: String,
        name: String,
        file: String,
        checksum: String,
    },
    /// Applied migrations with no checksum recorded (applied before cruddur recorded them, or
    /// by the app's own script): recorded as their files are now.
    RecordChecksums { migrations: Vec<String> },
    /// Every migration up to `version` marked as applied without running it (`--baseline`).
    Baseline {
        version: String,
        migrations: usize,
        marker_after: String,
    },
    /// A production write with no snapshot of its own: what protects the data.
    NoSnapshot,
    /// The database's environment marker could not be read (the guard decides on that).
    MarkerUnreadable { why: String },
    /// A step of a rebuild (`db setup`, `setup`), prepared when the steps before it are done.
    Step { step: SetupStep },
    /// A table's rows from production, masked, written with COPY … FROM STDIN (`pull`).
    CopyRows {
        table: String,
        rows: usize,
        /// The columns masked; `unlisted`: those among them that the app's list does not
        /// name (masked because they hold text).
        masked: Vec<String>,
        unlisted: Vec<String>,
    },
}

/// A named query's parameter and the value it is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// A step of a rebuild, as its plan shows it: a Postgres step ([`PgOp::Step`]) or a DynamoDB
/// one ([`DdbOp::Step`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub(crate) enum SetupStep {
    Drop,
    Create,
    SchemaLoad {
        file: String,
    },
    Seed {
        file: String,
    },
    /// Linking users to this pool; None: skipped.
    Link {
        pool: Option<String>,
    },
    /// The pending migrations of this folder; None: skipped, and why.
    Migrate {
        folder: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        missing: Option<String>,
    },
    /// The DynamoDB table, unless it exists; None: it cannot be named, and why.
    TableLoad {
        table: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    TableSeed {
        message_group_uuid: String,
        between: [String; 2],
    },
    /// The migrations of this folder up to `version` (the one production's marker names).
    MigrateTo {
        folder: String,
        version: String,
    },
}

impl fmt::Display for PgOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PgOp::Statement { sql } => f.write_str(sql),
            PgOp::FileStatement { line, sql, skipped } => write!(
                f,
                "line {line}: {}{}",
                cut(sql.lines().next().unwrap_or(""), 80),
                if *skipped {
                    " (skipped: the file runs in one transaction)"
                } else {
                    ""
                }
            ),
            PgOp::TerminateOthers { database } => f.write_str(
                &TERMINATE_OTHERS.replace("$1", &format!("'{database}'")),
            ),
            PgOp::TerminateSession { session } => write!(f, "terminating session {session}"),
            PgOp::Parameters { values } => {
                f.write_str("parameters: ")?;
                for (at, Parameter { name, value }) in values.iter().enumerate() {
                    if at > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} = '{}'", visible(value))?;
                }
                Ok(())
            }
            PgOp::ResetMigrations { applied } => write!(
                f,
                "if the file replaces a table: reset schema_information to 0 (now {applied}) and \
                 clear cruddur's migration records, so that `cruddur db migrate` applies them again"
            ),
            PgOp::Migrate {
                version,
                name,
                file,
                statements: n,
                marker_after,
            } => write!(
                f,
                "{version}_{name}: {n} statement{} from {file}, then last_successful_run = {marker_after}{}",
                plural(*n),
                if *n == 0 {
                    " (its migrate_sql is empty)"
                } else {
                    ""
                }
            ),
            PgOp::AcceptEdited {
                version,
                name,
                file,
                checksum,
            } => write!(
                f,
                "accept {version}_{name} as edited (--accept-edited): record {file} as it is now, {}",
                crate::text::checksum(checksum)
            ),
            PgOp::RecordChecksums { migrations } => write!(
                f,
                "record the checksums of {} applied migration{} that had none ({}), as the files are now",
                migrations.len(),
                plural(migrations.len()),
                migrations.join(", ")
            ),
            PgOp::Baseline {
                version,
                migrations: n,
                marker_after,
            } => write!(
                f,
                "mark the {n} migration{} up to {version} as applied without running {}: \
                 last_successful_run = {marker_after}, each recorded with its checksum as `baseline`",
                plural(*n),
                if *n == 1 { "it" } else { "them" }
            ),
            PgOp::Rollback {
                version,
                name,
                statements: n,
                marker_after,
            } => write!(
                f,
                "undo {version}_{name}: {n} statement{} of its rollback_sql, then last_successful_run = {marker_after}{}",
                plural(*n),
                if *n == 0 {
                    " (its rollback_sql is empty: only the marker moves)"
                } else {
                    ""
                }
            ),
            PgOp::LinkUser {
                handle,
                sub,
                current,
            } => match current {
                None => write!(f, "{handle}: no row in public.users, nothing to set"),
                Some(Some(old)) if old == sub => write!(f, "{handle}: already {sub}"),
                Some(old) => write!(
                    f,
                    "{handle}: cognito_user_id {} → {sub}",
                    old.as_deref().unwrap_or("NULL")
                ),
            },
            PgOp::MigrationTables {
                marker,
                records,
                adopted,
            } => {
                let made = match (marker, records) {
                    (true, true) => "public.schema_information (at '0') and public.cruddur_migrations",
                    (true, false) => "public.schema_information (at '0')",
                    _ => "public.cruddur_migrations",
                };
                write!(f, "first create {made}")?;
                if *records {
                    write!(
                        f,
                        ", recording the {adopted} migration{} up to the marker as adopted",
                        plural(*adopted)
                    )?;
                }
                Ok(())
            }
            PgOp::NoSnapshot => f.write_str(
                "no snapshot is taken by cruddur: if this cannot be undone by `db rollback`, take an RDS \
                 snapshot first (`aws rds create-db-snapshot`); each migration runs in one transaction, \
                 so one that fails changes nothing",
            ),
            PgOp::MarkerUnreadable { why } => {
                write!(f, "(the environment marker could not be read: {why})")
            }
            PgOp::Step { step } => step.fmt(f),
            PgOp::CopyRows {
                table,
                rows,
                masked,
                unlisted,
            } => {
                write!(f, "COPY {table} FROM STDIN: {rows} row{} from production", plural(*rows))?;
                if masked.is_empty() {
                    f.write_str(", nothing masked")?;
                } else {
                    write!(f, ", masked: {}", masked.join(", "))?;
                }
                if !unlisted.is_empty() {
                    write!(
                        f,
                        " ({} not in the app's list of columns: masked because it holds text)",
                        unlisted.join(", ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for SetupStep {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SetupStep::Drop => f.write_str(
                "drop the database, terminating its sessions (DROP DATABASE … WITH (FORCE) on \
                 Postgres 13 and later, pg_terminate_backend before)",
            ),
            SetupStep::Create => f.write_str("create it"),
            SetupStep::SchemaLoad { file } => write!(
                f,
                "load {file} in one transaction, marking the database `local`"
            ),
            SetupStep::Seed { file } => write!(f, "load {file} in one transaction"),
            SetupStep::Link { pool: Some(pool) } => write!(f, "link users to Cognito pool {pool}"),
            SetupStep::Link { pool: None } => {
                f.write_str("skip linking Cognito users (no AWS_COGNITO_USER_POOL_ID)")
            }
            SetupStep::Migrate {
                folder: Some(folder),
                ..
            } => write!(f, "apply the pending migrations of {folder}"),
            SetupStep::Migrate {
                folder: None,
                missing,
            } => write!(
                f,
                "skip the migrations (no migrations folder: {})",
                missing.as_deref().unwrap_or("none found")
            ),
            SetupStep::TableLoad {
                table: Some(table), ..
            } => write!(f, "create DynamoDB table `{table}` unless it exists"),
            SetupStep::TableLoad { table: None, error } => write!(
                f,
                "create the DynamoDB table ({})",
                error.as_deref().unwrap_or("no table named")
            ),
            SetupStep::TableSeed {
                message_group_uuid,
                between: [a, b],
            } => write!(
                f,
                "seed conversation {message_group_uuid} (replacing it) between {a} and {b} when both are users, else the oldest two users"
            ),
            SetupStep::MigrateTo { folder, version } => write!(
                f,
                "migrate: apply the migrations of {folder} up to {version}, where production's marker is"
            ),
        }
    }
}

/// Why a table's stream is turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StreamReason {
    /// `ddb stream` follows it.
    Follow,
    /// A restore may leave it off.
    Restore,
    /// ImportTable cannot make one.
    Import,
}

/// A write of a DynamoDB transaction, by the key of its item (the item rides along).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TransactWrite {
    pub(crate) kind: WriteKind,
    /// `pk / sk`, each cut at 80 characters.
    pub(crate) key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WriteKind {
    /// A put that must not overwrite an item already there.
    PutNew,
    Put,
    /// A delete of an item that must still be there.
    Delete,
}

impl fmt::Display for TransactWrite {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let key = &self.key;
        match self.kind {
            WriteKind::PutNew => write!(f, "Put {key} (only if new)"),
            WriteKind::Put => write!(f, "Put {key}"),
            WriteKind::Delete => write!(f, "Delete {key} (only if still there)"),
        }
    }
}

/// An operation on a DynamoDB table (or its backups and exports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum DdbOp {
    CreateTable {
        table: String,
        index: String,
        stream: bool,
        deletion_protection: bool,
        if_not_exists: bool,
    },
    /// DescribeTable until the table is ACTIVE.
    WaitActive {
        #[serde(serialize_with = "seconds", rename = "timeout_seconds")]
        timeout: Duration,
    },
    DeleteTable {
        table: String,
        if_exists: bool,
    },
    SetDeletionProtection {
        table: String,
        on: bool,
    },
    /// UpdateTable: the stream on (NEW_IMAGE).
    EnableStream {
        table: String,
        reason: StreamReason,
    },
    /// A conditional PutItem that keeps other seeds of a conversation out until it is given back.
    TakeLease {
        key: String,
    },
    /// A conversation's items, in BatchWriteItem requests.
    WriteConversation {
        items: usize,
        groups: usize,
        messages: usize,
        first_message_at: String,
        last_message_at: String,
        requests: usize,
        concurrency: u16,
    },
    /// The old conversation's items the new one does not overwrite, read again under the lease
    /// (`items` is what the plan found).
    DeleteStale {
        items: usize,
        requests: usize,
    },
    /// What the store did for a bulk write a plan names by its purpose (WriteConversation,
    /// DeleteStale, ImportItems): BatchWriteItem requests of `puts` and `deletes`. A recording
    /// store keeps it; no plan lists it.
    BatchWrite {
        puts: usize,
        deletes: usize,
        requests: usize,
    },
    /// A file's items, in BatchWriteItem requests.
    ImportItems {
        items: usize,
        requests: usize,
        concurrency: u16,
        skipped_lines: usize,
    },
    TransactWrite {
        writes: Vec<TransactWrite>,
    },
    CreateBackup {
        table: String,
        name: String,
    },
    /// A backup before the write that follows; the write stops if it fails.
    BackupFirst {
        table: String,
        name: String,
    },
    /// `--no-backup`: the write that follows has none.
    NoBackup,
    RestoreBackup {
        arn: String,
        into: String,
    },
    /// UpdateContinuousBackups: point-in-time recovery on (`--enable-pitr`).
    EnablePitr {
        table: String,
    },
    ExportToS3 {
        table: String,
        to: String,
    },
    /// DescribeExport until it is done; None: `--no-wait`.
    WaitExport {
        #[serde(serialize_with = "some_seconds", rename = "timeout_seconds")]
        timeout: Option<Duration>,
    },
    ImportFromS3 {
        from: String,
        gzip: bool,
        table: String,
        index: String,
    },
    /// DescribeImport until it is done, then the table ACTIVE.
    WaitImport {
        #[serde(serialize_with = "seconds", rename = "timeout_seconds")]
        timeout: Duration,
    },
    /// A DynamoDB step of a rebuild (`setup`), prepared when the steps before it are done.
    Step {
        step: SetupStep,
    },
    /// A PartiQL statement that writes (`ddb sql`), with its parameters as typed JSON.
    ExecuteStatement {
        table: String,
        statement: String,
        parameters: Vec<String>,
    },
    /// Production's conversations, masked, in place of the local ones (`pull`): the items of
    /// these partitions that production does not have are deleted, the rest put.
    ReplaceConversations {
        partitions: usize,
        puts: usize,
        deletes: usize,
        requests: usize,
        masked: bool,
    },
    /// Follow every shard of the table's stream and do the stream Lambda's work for each
    /// message (`ddb stream`).
    FollowStream {
        table: String,
        /// From the oldest record, else from now.
        from_oldest: bool,
        /// Stop at the stream's end.
        once: bool,
    },
}

impl fmt::Display for DdbOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            DdbOp::CreateTable {
                table,
                index,
                stream,
                deletion_protection,
                if_not_exists,
            } => write!(
                f,
                "CreateTable {table}: pk (HASH, S) + sk (RANGE, S); index {index} on message_group_uuid (HASH, S) + sk (RANGE), projection ALL; PROVISIONED 5/5 on both; {}; deletion protection {}{}",
                if *stream {
                    "stream NEW_IMAGE (as production has it, for `cruddur ddb stream`)"
                } else {
                    "no stream (--no-stream)"
                },
                if *deletion_protection {
                    "on (`cruddur ddb deletion-protection off` lifts it)"
                } else {
                    "off"
                },
                if *if_not_exists {
                    "; an existing table is kept as it is"
                } else {
                    ""
                }
            ),
            DdbOp::WaitActive { timeout } => write!(
                f,
                "DescribeTable until ACTIVE (up to {})",
                duration(*timeout)
            ),
            DdbOp::DeleteTable { table, if_exists } => write!(
                f,
                "DeleteTable {table}{}",
                if *if_exists {
                    " (a missing table is fine: --if-exists)"
                } else {
                    ""
                }
            ),
            DdbOp::SetDeletionProtection { table, on } => {
                write!(f, "UpdateTable {table}: DeletionProtectionEnabled = {on}")
            }
            DdbOp::EnableStream { table, reason } => match reason {
                StreamReason::Follow => {
                    write!(f, "UpdateTable {table}: turn on its stream (NEW_IMAGE)")
                }
                StreamReason::Restore => write!(
                    f,
                    "UpdateTable `{table}`: turn on its stream (NEW_IMAGE) if the restore left it off, as the app's table has it"
                ),
                StreamReason::Import => write!(
                    f,
                    "UpdateTable `{table}`: turn on its stream (NEW_IMAGE), which ImportTable cannot make"
                ),
            },
            DdbOp::TakeLease { key } => write!(
                f,
                "take the lease {key} (a conditional PutItem), so that no other seed of this \
                 conversation interleaves; give it back at the end"
            ),
            DdbOp::WriteConversation {
                items,
                groups,
                messages,
                first_message_at,
                last_message_at,
                requests,
                concurrency,
            } => write!(
                f,
                "write {items} items ({groups} groups + {messages} messages, {first_message_at} → {last_message_at}): {requests} BatchWriteItem requests, up to {concurrency} in flight"
            ),
            DdbOp::DeleteStale { items: 0, .. } => f.write_str(
                "then delete the old conversation's items the new one does not overwrite, read \
                 again under the lease (none now)",
            ),
            DdbOp::DeleteStale { items, requests } => write!(
                f,
                "then delete the old conversation's {items} items the new one does not overwrite: {requests} BatchWriteItem requests"
            ),
            DdbOp::BatchWrite {
                puts,
                deletes,
                requests,
            } => write!(
                f,
                "BatchWriteItem: {puts} puts and {deletes} deletes in {requests} requests"
            ),
            DdbOp::ImportItems {
                requests,
                concurrency,
                skipped_lines,
                ..
            } => write!(
                f,
                "{requests} BatchWriteItem requests, up to {concurrency} in flight; {skipped_lines} malformed lines skipped"
            ),
            DdbOp::TransactWrite { writes } => {
                write!(f, "TransactWriteItems of {} writes", writes.len())?;
                for (at, write) in writes.iter().enumerate() {
                    write!(f, "{} {write}", if at == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            DdbOp::CreateBackup { table, name } => write!(
                f,
                "CreateBackup of `{table}` named `{name}` (on-demand: seconds, whatever its size)"
            ),
            DdbOp::BackupFirst { table, name } => write!(
                f,
                "first CreateBackup of `{table}` named `{name}` (on-demand: seconds, whatever its size); stop if it fails"
            ),
            DdbOp::NoBackup => f.write_str(
                "no backup first (--no-backup): what this changes cannot be restored by cruddur",
            ),
            DdbOp::RestoreBackup { arn, into } => {
                write!(f, "RestoreTableFromBackup {arn} → `{into}`")
            }
            DdbOp::EnablePitr { table } => write!(
                f,
                "UpdateContinuousBackups `{table}`: point-in-time recovery on (--enable-pitr)"
            ),
            DdbOp::ExportToS3 { table, to } => write!(
                f,
                "ExportTableToPointInTime `{table}` to {to} (full export, DynamoDB JSON, gzip; no read capacity spent)"
            ),
            DdbOp::WaitExport {
                timeout: Some(timeout),
            } => write!(
                f,
                "DescribeExport until it is done (up to {})",
                duration(*timeout)
            ),
            DdbOp::WaitExport { timeout: None } => {
                f.write_str("print the export's ARN without waiting (--no-wait)")
            }
            DdbOp::ImportFromS3 {
                from,
                gzip,
                table,
                index,
            } => write!(
                f,
                "ImportTable {from} (DynamoDB JSON, {}) into `{table}`: pk (HASH) + sk (RANGE); index {index} on message_group_uuid + sk; PROVISIONED 5/5",
                if *gzip { "gzip" } else { "not compressed" }
            ),
            DdbOp::WaitImport { timeout } => write!(
                f,
                "DescribeImport until it is done, then the table ACTIVE (up to {})",
                duration(*timeout)
            ),
            DdbOp::Step { step } => step.fmt(f),
            DdbOp::ExecuteStatement {
                table,
                statement,
                parameters,
            } => {
                write!(f, "ExecuteStatement on `{table}`: {}", visible(statement))?;
                for (at, parameter) in parameters.iter().enumerate() {
                    let lead = if at == 0 { " with " } else { ", " };
                    write!(f, "{lead}?{} = {}", at + 1, visible(parameter))?;
                }
                Ok(())
            }
            DdbOp::ReplaceConversations {
                partitions,
                puts,
                deletes,
                requests,
                masked,
            } => write!(
                f,
                "replace {partitions} conversation partition{} (GRP# and MSG#) with production's{}: {puts} puts, and {deletes} deletes of local items production lacks, in {requests} BatchWriteItem requests",
                plural(*partitions),
                if *masked { ", masked" } else { ", NOT masked" }
            ),
            DdbOp::FollowStream {
                from_oldest, once, ..
            } => write!(
                f,
                "follow every shard of the stream from {}, and for each MSG# item move both group items \
                 (TransactWriteItems: delete the old key, put the new one) to its time and text, never backwards{}",
                if *from_oldest {
                    "the oldest record"
                } else {
                    "now"
                },
                if *once {
                    "; stop when it is read to its end (--once)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// What `ddb serve` does while it runs.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum ServeOp {
    Listen {
        address: String,
        dynoxide: String,
    },
    /// Where the data is kept; None: in memory.
    KeepData {
        path: Option<String>,
    },
    /// The app's table, with its index and stream, unless it exists.
    CreateTable {
        table: String,
    },
    /// The stream Lambda's work on every new message, or not (`--no-stream-worker`).
    StreamWorker {
        on: bool,
    },
    SweepTtl {
        #[serde(serialize_with = "seconds", rename = "every_seconds")]
        every: Duration,
    },
}

impl fmt::Display for ServeOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ServeOp::Listen { address, dynoxide } => write!(
                f,
                "listen on {address} (dynoxide {dynoxide}, embedded) until Ctrl-C or SIGTERM"
            ),
            ServeOp::KeepData { path: Some(path) } => write!(
                f,
                "keep the data in {path} (made if missing); index its stream records and drop those \
                 older than 24 hours, as DynamoDB does"
            ),
            ServeOp::KeepData { path: None } => {
                f.write_str("keep the data in memory (gone when it stops)")
            }
            ServeOp::CreateTable { table } => write!(
                f,
                "create table `{table}` with its index and stream unless it exists"
            ),
            ServeOp::StreamWorker { on: true } => f.write_str(
                "run the stream Lambda's work on every new message (--no-stream-worker turns it off)",
            ),
            ServeOp::StreamWorker { on: false } => {
                f.write_str("no stream worker (--no-stream-worker)")
            }
            ServeOp::SweepTtl { every } => {
                write!(f, "remove expired TTL items every {}", duration(*every))
            }
        }
    }
}

/// An ingress rule of a security group, as a plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Rule {
    pub(crate) protocol: Option<String>,
    pub(crate) from_port: Option<i32>,
    pub(crate) to_port: Option<i32>,
    pub(crate) cidr: Option<String>,
    pub(crate) description: Option<String>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let port = |p: Option<i32>| p.map_or("?".into(), |p| p.to_string());
        write!(
            f,
            "{} {}-{} from {} ({})",
            self.protocol.as_deref().unwrap_or("?"),
            port(self.from_port),
            port(self.to_port),
            self.cidr.as_deref().unwrap_or("no IPv4 range"),
            self.description.as_deref().unwrap_or("no description")
        )
    }
}

/// An operation on EC2.
#[cfg_attr(not(feature = "ec2"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Ec2Op {
    ModifySecurityGroupRule {
        group_id: String,
        rule_id: String,
        before: Rule,
        after: Rule,
    },
}

impl fmt::Display for Ec2Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Ec2Op::ModifySecurityGroupRule {
                rule_id,
                before,
                after,
                ..
            } => write!(f, "ModifySecurityGroupRules {rule_id}: {before} → {after}"),
        }
    }
}

/// An operation on the workspace's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum FileOp {
    CreateFolder {
        path: String,
    },
    /// A new migration file, from the app's template.
    WriteMigration {
        path: String,
        class: String,
        version: String,
    },
}

impl fmt::Display for FileOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FileOp::CreateFolder { path } => write!(f, "create the folder {path}"),
            FileOp::WriteMigration {
                path,
                class,
                version,
            } => write!(f, "write {path}: class {class}, version {version}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine reads an operation as its store, its name and its fields.
    #[test]
    fn an_operation_is_its_store_its_name_and_its_fields() {
        let op = Op::from(DdbOp::WaitActive {
            timeout: Duration::from_secs(120),
        });
        assert_eq!(
            serde_json::to_value(&op).unwrap(),
            serde_json::json!({"store": "dynamodb", "op": "wait_active", "timeout_seconds": 120.0})
        );
        assert_eq!(op.to_string(), "DescribeTable until ACTIVE (up to 2m)");
        let step = Op::from(PgOp::Step {
            step: SetupStep::Link { pool: None },
        });
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            serde_json::json!({"store": "postgres", "op": "step", "step": {"step": "link", "pool": null}})
        );
    }

    /// A transaction reads as a heading and a line per write; its one-line form keeps them all.
    #[test]
    fn a_transaction_is_a_heading_and_its_writes() {
        let op = Op::from(DdbOp::TransactWrite {
            writes: vec![
                TransactWrite {
                    kind: WriteKind::PutNew,
                    key: "MSG#g / 2026".into(),
                },
                TransactWrite {
                    kind: WriteKind::Delete,
                    key: "GRP#a / 2025".into(),
                },
            ],
        });
        assert_eq!(
            op.lines(),
            [
                "TransactWriteItems of 2 writes:",
                "  Put MSG#g / 2026 (only if new)",
                "  Delete GRP#a / 2025 (only if still there)"
            ]
        );
        assert_eq!(
            op.to_string(),
            "TransactWriteItems of 2 writes: Put MSG#g / 2026 (only if new); Delete GRP#a / 2025 (only if still there)"
        );
    }

    /// Parameter values reach the terminal with their control characters made visible.
    #[test]
    fn parameters_show_control_characters() {
        let op = PgOp::Parameters {
            values: vec![Parameter {
                name: "handle".into(),
                value: "a\u{1b}[31mb".into(),
            }],
        };
        assert_eq!(op.to_string(), "parameters: handle = 'a\\x1b[31mb'");
    }
}
