//! `cruddur pull [--users N | --since DATE] [--no-dynamodb] [--mask-key KEY | --no-mask]`:
//! production's rows and conversations in the local stores, personal data masked.
//!
//! Production is only read: Postgres in one REPEATABLE READ, READ ONLY transaction (the server
//! itself refuses a write), DynamoDB with Query. Everything is read and masked before the
//! plan is made, so the plan holds exactly what will be written: the local tables emptied and
//! filled by COPY in one transaction, then the pulled conversations' partitions replaced with
//! the batch writer. A local database that is not there yet is made from the app's files up
//! to production's migration marker first; one whose shape differs from production's is
//! named difference by difference, and nothing is written.
//!
//! `postgres` chooses and reads the rows, `dynamodb` the conversations; masking itself is
//! `crate::mask`.

mod columns;
mod dynamodb;
mod postgres;
mod sample;

use std::fmt;
use std::time::Instant;

use anyhow::{anyhow, Result};
use serde::Serialize;

use self::dynamodb::Conversations;
use self::postgres::TableRows;
use self::sample::Sample;
use crate::app::SqlSource;
use crate::cli::PullArgs;
use crate::ctx::Ctx;
use crate::db::{create, drop, migrate, prepare_load, Load};
use crate::ddb::schema_load::{CreateTable, TableOptions};
use crate::dynamodb::batch::{self, BatchOptions};
use crate::dynamodb::Ddb;
use crate::error::refused;
use crate::guard::{Marker, Plan, Scope};
use crate::guarded::{self, Prepared, Report, Write};
use crate::mask::Masker;
use crate::migrations::{find_folder, read_all, Folder, Version};
use crate::ops::{DdbOp, Op, PgOp, SetupStep};
use crate::output::Outcome;
use crate::pg::perform::Writes;
use crate::pg::{db_message, PgTarget};

const SCOPE: Scope = Scope::LocalOnly {
    command: "pull",
    why: "writes the local stores, and its source is production already (PROD_CONNECTION_URL \
          and the production table): run it without --prod",
};

/// Why `--no-mask` needs a person to say yes.
const EXPOSES: &str = "it copies production's personal data, unmasked, onto this machine";

/// How the fakes are chosen, as the report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Masking {
    /// `--mask-key` / CRUDDUR_MASK_KEY: the same fakes on every pull.
    Key,
    /// A key of this run only.
    RandomKey,
    /// `--no-mask`.
    Off,
}

pub(crate) fn run(ctx: &Ctx, args: &PullArgs) -> Result<Outcome> {
    guarded::in_scope(ctx, SCOPE)?;
    let started = Instant::now();
    let sample = match (args.users, args.since) {
        (Some(n), _) => Sample::Users(n),
        (None, Some(since)) => Sample::Since(since),
        (None, None) => Sample::All,
    };
    let (masking, masker) = match (&args.mask_key, args.no_mask) {
        (_, true) => (Masking::Off, None),
        (Some(key), false) => (Masking::Key, Some(Masker::new(key.as_bytes()))),
        (None, false) => (
            Masking::RandomKey,
            Some(Masker::new(&crate::mask::random_key())),
        ),
    };
    // The destination first: local mode refuses a remote one before production is read.
    let local = ctx.pg()?;
    let local_ddb = if args.no_dynamodb {
        None
    } else {
        Some(ctx.ddb()?)
    };
    let source = ctx.source_pg()?;
    if local.server() == source.server() && local.dbname == source.dbname {
        return Err(same_database(local));
    }
    let source_ddb = match local_ddb {
        Some(local_ddb) => {
            let table = args.from_table.as_deref().unwrap_or(&local_ddb.table);
            let source_ddb = ctx.source_ddb(table, args.from_endpoint_url.as_deref())?;
            if ctx.block_on(same_table(&source_ddb, local_ddb))?? {
                return Err(refused(format!(
                    "the production table and the local one are the same (`{}` at {}): name \
                     production's with --from-table or --from-endpoint-url",
                    local_ddb.table, local_ddb.endpoint
                )));
            }
            Some((source_ddb, local_ddb))
        }
        None => None,
    };

    let read = postgres::read(source, sample, masker.as_ref())?;
    let db = LocalDb::read(ctx, local, &read)?;
    let conversations = match &source_ddb {
        Some((source_ddb, local_ddb)) => Some((
            *local_ddb,
            ctx.block_on(dynamodb::read(
                source_ddb,
                local_ddb,
                &read.people,
                masker.as_ref(),
            ))??,
        )),
        None => None,
    };
    let pull = Pull {
        pg: local,
        db,
        shape: read.shape,
        tables: read.tables,
        conversations,
        masking,
        started,
    };
    guarded::run(ctx, Prepared::Write(pull))
}

/// Whether the production table and the local one are one table, whatever the endpoints'
/// names (`localhost` and `127.0.0.1`): the same ARN, made at the same moment. Production's
/// must be there; a local one that is not cannot be it.
async fn same_table(source: &Ddb, local: &Ddb) -> Result<bool> {
    let production = source.describe_table().await?;
    if !local.exists().await? {
        return Ok(false);
    }
    let here = local.describe_table().await?;
    Ok(production.table_arn == here.table_arn
        && production.creation_date_time == here.creation_date_time)
}

/// PROD_CONNECTION_URL and CONNECTION_URL lead to one database (by the same URL, or by two).
fn same_database(local: &PgTarget) -> anyhow::Error {
    refused(format!(
        "PROD_CONNECTION_URL and CONNECTION_URL name the same database (`{}` at {}): pull \
         would replace production's rows with themselves. Point CONNECTION_URL at the local \
         database",
        local.dbname,
        local.server()
    ))
}

/// The local database as the pull found it.
enum LocalDb {
    /// There, with production's shape: its connection and what it says it is.
    There { writes: Writes, marker: Marker },
    /// Not there yet: made from the app's schema, then its migrations up to production's
    /// marker (None: production has applied none, or there is no folder).
    Missing {
        schema: SqlSource,
        migrate_to: Option<(Folder, Version)>,
    },
}

impl LocalDb {
    fn read(ctx: &Ctx, pg: &PgTarget, source: &postgres::Source) -> Result<LocalDb> {
        let mut maintenance = pg.connect_maintenance()?;
        if !crate::pg::database_exists(&mut maintenance, &pg.dbname)? {
            let app = ctx.app()?;
            let folder = find_folder(app, None)?;
            let migrate_to = match folder {
                Some(folder) if source.marker.0 != "0" => Some((folder, source.marker.clone())),
                _ => None,
            };
            return Ok(LocalDb::Missing {
                schema: app.schema(None)?,
                migrate_to,
            });
        }
        let marker = Marker::read(&crate::pg::marker(&mut maintenance, &pg.dbname));
        let mut client = pg.connect()?;
        let here = postgres::identity(&mut client)
            .map_err(|e| anyhow!("could not read `{}`: {}", pg.dbname, db_message(&e)))?;
        if here == source.identity {
            return Err(same_database(pg));
        }
        let shape = crate::pg::schema::read(&mut client)
            .map_err(|e| anyhow!("could not read the catalogs of `{}`: {e:#}", pg.dbname))?;
        check_shape(ctx, pg, &source.shape, &shape, false)?;
        Ok(LocalDb::There {
            writes: Writes::new(client),
            marker,
        })
    }
}

/// Production's shape against the local database's: every difference named, or Ok.
fn check_shape(
    ctx: &Ctx,
    pg: &PgTarget,
    production: &crate::pg::schema::Shape,
    local: &crate::pg::schema::Shape,
    made_now: bool,
) -> Result<()> {
    let (differences, harmless) = postgres::differences(production, local);
    if !harmless.is_empty() {
        ctx.warn(format!(
            "production and `{}` differ in ways the copy does not need ({}); `cruddur db diff` \
             and `cruddur --prod db diff` say more",
            pg.dbname,
            crate::text::visible(&harmless.join("; "))
        ));
    }
    if differences.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "production's schema differs from the local database `{}`'s, so nothing was pulled:",
        pg.dbname
    );
    for difference in &differences {
        text.push_str("\n  - ");
        text.push_str(&crate::text::visible(difference));
    }
    text.push_str(if made_now {
        "\nThe app's files up to production's migration marker do not make production's shape \
         (`cruddur --prod db diff` shows how production has drifted); the database made for \
         the pull was dropped again."
    } else {
        "\nBring the local database to production's shape first: `cruddur db migrate`, or \
         `cruddur db drop` and pull again to make it from the app's files."
    });
    Err(anyhow!(text))
}

/// Everything a pull writes, read and masked already.
struct Pull<'a> {
    pg: &'a PgTarget,
    db: LocalDb,
    /// Production's shape: a database made for the pull must come out the same.
    shape: crate::pg::schema::Shape,
    tables: Vec<TableRows>,
    conversations: Option<(&'a Ddb, Conversations)>,
    masking: Masking,
    started: Instant,
}

impl Pull<'_> {
    fn postgres_ops(&self) -> Vec<Op> {
        let mut ops: Vec<Op> = Vec::new();
        if let LocalDb::Missing { schema, migrate_to } = &self.db {
            ops.push(
                PgOp::Step {
                    step: SetupStep::Create,
                }
                .into(),
            );
            ops.push(
                PgOp::Step {
                    step: SetupStep::SchemaLoad {
                        file: schema.name.clone(),
                    },
                }
                .into(),
            );
            if let Some((folder, version)) = migrate_to {
                ops.push(
                    PgOp::Step {
                        step: SetupStep::MigrateTo {
                            folder: folder.shown.clone(),
                            version: version.0.clone(),
                        },
                    }
                    .into(),
                );
            }
        }
        if !self.tables.is_empty() {
            ops.push(
                PgOp::Statement {
                    sql: postgres::truncate(&self.tables),
                }
                .into(),
            );
        }
        for table in &self.tables {
            ops.push(
                PgOp::CopyRows {
                    table: table.name.clone(),
                    rows: table.rows,
                    masked: table.masked.clone(),
                    unlisted: table.unlisted.clone(),
                }
                .into(),
            );
        }
        for table in &self.tables {
            for sql in &table.sequences {
                ops.push(PgOp::Statement { sql: sql.clone() }.into());
            }
        }
        ops
    }

    fn dynamodb_ops(&self) -> Vec<Op> {
        let Some((ddb, conversations)) = &self.conversations else {
            return Vec::new();
        };
        let mut ops: Vec<Op> = Vec::new();
        if conversations.create_table {
            ops.push(
                DdbOp::Step {
                    step: SetupStep::TableLoad {
                        table: Some(ddb.table.clone()),
                        error: None,
                    },
                }
                .into(),
            );
        }
        let (puts, deletes) = (conversations.puts.len(), conversations.deletes.len());
        ops.push(
            DdbOp::ReplaceConversations {
                partitions: conversations.partitions.len(),
                puts,
                deletes,
                requests: (puts + deletes).div_ceil(batch::BATCH_SIZE),
                masked: self.masking != Masking::Off,
            }
            .into(),
        );
        ops
    }

    /// Make the local database from the app's files, as production's marker says, and check
    /// that it has production's shape (else drop it again): its connection.
    fn make_database(
        ctx: &Ctx,
        pg: &PgTarget,
        production: &crate::pg::schema::Shape,
        schema: &SqlSource,
        migrate_to: Option<&(Folder, Version)>,
    ) -> Result<Writes> {
        guarded::step(ctx, create::prepare(pg)?)?;
        let made = (|| -> Result<Writes> {
            let load = prepare_load(ctx, pg, schema, Load::Schema)?;
            guarded::step(ctx, Prepared::Write(load))?;
            if let Some((folder, version)) = migrate_to {
                let migrations = read_all(folder)?;
                let prepared =
                    migrate::prepare_migrate(ctx, pg, folder, &migrations, Some(version), &[])?;
                guarded::step(ctx, prepared)?;
            }
            let mut client = pg.connect()?;
            let shape = crate::pg::schema::read(&mut client)?;
            check_shape(ctx, pg, production, &shape, true)?;
            Ok(Writes::new(client))
        })();
        if made.is_err() {
            // What the pull made, it takes back: the stores stay as they were.
            if let Ok(drop) = drop::prepare(pg, true) {
                let _ = guarded::step(ctx, drop);
            }
        }
        made
    }

    /// Empty the pulled tables and COPY production's rows in, in one transaction.
    fn copy_rows(pg: &PgTarget, tables: &[TableRows], writes: &mut Writes) -> Result<()> {
        let failed = |e: &dyn fmt::Display| match crate::interrupt::signal() {
            // A signal cancels the statement in flight: the stop, not the cancel, is the news.
            Some(signal) => crate::interrupt::stopped(
                signal,
                "nothing was written: the local database is as it was".to_string(),
            ),
            None => anyhow!(
                "could not write the pulled rows into `{}`: {e}; nothing was changed there",
                pg.dbname
            ),
        };
        let pg_failed = |e: ::postgres::Error| failed(&db_message(&e));
        let unchanged = || "nothing was written: the local database is as it was".to_string();
        let mut tx = writes.transaction().map_err(pg_failed)?;
        if !tables.is_empty() {
            let truncate = postgres::truncate(tables);
            let op = PgOp::Statement {
                sql: truncate.clone(),
            };
            tx.batch(&truncate, Some(op)).map_err(pg_failed)?;
        }
        for table in tables {
            crate::interrupt::check(unchanged)?;
            let op = PgOp::CopyRows {
                table: table.name.clone(),
                rows: table.rows,
                masked: table.masked.clone(),
                unlisted: table.unlisted.clone(),
            };
            tx.copy_in(&table.sql, &table.columns, &table.data, op)
                .map_err(|e| match e.downcast_ref::<::postgres::Error>() {
                    Some(pg) => failed(&format!("`{}`: {}", table.name, db_message(pg))),
                    None => failed(&format!("`{}`: {e:#}", table.name)),
                })?;
        }
        for table in tables {
            for sql in &table.sequences {
                tx.batch(sql, Some(PgOp::Statement { sql: sql.clone() }))
                    .map_err(pg_failed)?;
            }
        }
        crate::interrupt::check(unchanged)?;
        tx.commit().map_err(pg_failed)
    }

    /// Replace the pulled partitions' local items with production's: the counts written.
    fn write_conversations(
        ctx: &Ctx,
        ddb: &Ddb,
        conversations: Conversations,
    ) -> Result<(usize, usize)> {
        if conversations.create_table {
            let options = TableOptions {
                if_not_exists: true,
                ..TableOptions::default()
            };
            guarded::step(ctx, Prepared::Write(CreateTable::new(ctx, ddb, options)))?;
        }
        let (puts, deletes) = (conversations.puts.len(), conversations.deletes.len());
        let total = puts + deletes;
        let requests = conversations
            .deletes
            .into_iter()
            .map(batch::delete)
            .chain(conversations.puts.into_iter().map(batch::put));
        let progress = ctx.printer.progress("writing conversations", Some(total));
        let options = BatchOptions {
            concurrency: 32,
            max_retries: 10,
        };
        let how_far = |done: usize| {
            format!(
                "Postgres was pulled; the conversations stopped after {done} of {total} writes. \
                 Run `cruddur pull` again: it replaces them whole, so it is safe to repeat"
            )
        };
        let written = ctx
            .block_on(batch::write_stream(ddb, requests, options, &progress))?
            .map_err(|e| match crate::interrupt::signal() {
                Some(signal) => crate::interrupt::stopped(signal, how_far(progress.done())),
                None => e.context(
                    "Postgres was pulled, but the conversations could not be \
                                   written; `cruddur pull` again is safe",
                ),
            })?;
        progress.finish();
        crate::interrupt::check(|| how_far(written.written))?;
        if !written.failed.is_empty() {
            return Err(anyhow!(
                "Postgres was pulled, but {} of the conversations' {total} writes never went \
                 through (first: {}). Run `cruddur pull` again: it is safe to repeat",
                written.failed.len(),
                written.failed[0]
            ));
        }
        Ok((puts, deletes))
    }
}

impl Write for Pull<'_> {
    type Report = PullReport;

    fn plan(&self) -> Plan {
        let mut ops = self.postgres_ops();
        ops.extend(self.dynamodb_ops());
        let mut summary = format!("pull production's data into database `{}`", self.pg.dbname);
        if let Some((ddb, _)) = &self.conversations {
            summary.push_str(&format!(" and table `{}` at {}", ddb.table, ddb.endpoint));
        }
        Plan {
            destination: self.pg.destination(),
            scope: SCOPE,
            summary,
            ops,
            confirm: self.pg.dbname.clone(),
            exposes: (self.masking == Masking::Off).then_some(EXPOSES),
        }
    }

    fn marker(&self) -> Marker {
        match &self.db {
            LocalDb::There { marker, .. } => marker.clone(),
            LocalDb::Missing { .. } => Marker::Unmarked,
        }
    }

    fn execute(self, ctx: &Ctx) -> Result<PullReport> {
        let created = matches!(self.db, LocalDb::Missing { .. });
        let mut writes = match self.db {
            LocalDb::Missing { schema, migrate_to } => {
                Pull::make_database(ctx, self.pg, &self.shape, &schema, migrate_to.as_ref())?
            }
            LocalDb::There { writes, .. } => writes,
        };
        if let Err(error) = Pull::copy_rows(self.pg, &self.tables, &mut writes) {
            if created {
                // The database this pull made goes again: the stores are as they were.
                std::mem::drop(writes);
                if let Ok(drop) = drop::prepare(self.pg, true) {
                    let _ = guarded::step(ctx, drop);
                }
            }
            return Err(error);
        }
        let tables = self
            .tables
            .iter()
            .map(|t| TableCount {
                table: t.name.clone(),
                rows: t.rows,
                masked: t.masked.clone(),
                unlisted: t.unlisted.clone(),
            })
            .collect();
        let mut report = PullReport {
            database: self.pg.dbname.clone(),
            created,
            tables,
            conversations: None,
            masking: self.masking,
            elapsed_ms: 0,
        };
        if let Some((ddb, conversations)) = self.conversations {
            let partitions = conversations.partitions.len();
            let masked = conversations.masked.iter().cloned().collect();
            let unlisted = conversations.unlisted.iter().cloned().collect();
            let (items, deleted) = Pull::write_conversations(ctx, ddb, conversations)?;
            report.conversations = Some(ConversationCount {
                table: ddb.table.clone(),
                partitions,
                items,
                deleted,
                masked,
                unlisted,
            });
        }
        report.elapsed_ms = self.started.elapsed().as_millis() as u64;
        Ok(report)
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct PullReport {
    database: String,
    /// Made from the app's files for this pull.
    created: bool,
    tables: Vec<TableCount>,
    /// None: `--no-dynamodb`.
    conversations: Option<ConversationCount>,
    masking: Masking,
    elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
struct TableCount {
    table: String,
    rows: usize,
    masked: Vec<String>,
    /// Masked because they hold text, though the app's list does not name them.
    unlisted: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ConversationCount {
    table: String,
    partitions: usize,
    items: usize,
    deleted: usize,
    masked: Vec<String>,
    unlisted: Vec<String>,
}

impl Report for PullReport {}

impl fmt::Display for PullReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "pulled production into database `{}`{}:",
            self.database,
            if self.created {
                " (made from the app's files first)"
            } else {
                ""
            }
        )?;
        for table in &self.tables {
            write!(
                f,
                "\n  {}: {} row{}",
                table.table,
                table.rows,
                if table.rows == 1 { "" } else { "s" }
            )?;
            if !table.masked.is_empty() {
                write!(f, "; masked {}", table.masked.join(", "))?;
            }
            if !table.unlisted.is_empty() {
                write!(
                    f,
                    " ({} not in the app's list: masked as text)",
                    table.unlisted.join(", ")
                )?;
            }
        }
        if let Some(c) = &self.conversations {
            write!(
                f,
                "\n  table `{}`: {} conversation partitions, {} items written, {} local items \
                 production lacks deleted",
                c.table, c.partitions, c.items, c.deleted
            )?;
            if !c.masked.is_empty() {
                write!(f, "; masked {}", c.masked.join(", "))?;
            }
            if !c.unlisted.is_empty() {
                write!(
                    f,
                    " ({} not in the app's list: masked as text)",
                    c.unlisted.join(", ")
                )?;
            }
        }
        f.write_str(match self.masking {
            Masking::Key => "\nmasked with the key of --mask-key (or CRUDDUR_MASK_KEY): the same fakes on every pull",
            Masking::RandomKey => "\nmasked with a random key: give --mask-key (or CRUDDUR_MASK_KEY) for the same fakes on every pull",
            Masking::Off => "\nNOT masked (--no-mask): this machine now holds production's personal data",
        })?;
        write!(f, "\nin {} ms", self.elapsed_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn item(pk: &str, sk: &str) -> crate::dynamodb::items::Item {
        [("pk", pk), ("sk", sk)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    /// What a pull into existing stores performs is what its plan says: the TRUNCATE, a COPY
    /// per table, the sequences, then the conversations' BatchWriteItem calls.
    #[test]
    fn a_pull_performs_what_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, pg_recorder) = Writes::recording();
        let (ddb, ddb_recorder) = Ddb::recording("cruddur-messages");
        let table = |name: &str, rows: usize, sequences: Vec<String>| TableRows {
            name: name.into(),
            sql: name.into(),
            columns: "uuid, message".into(),
            rows,
            data: b"u\tm\n".repeat(rows),
            masked: vec!["message".into()],
            unlisted: Vec::new(),
            sequences,
        };
        let conversations = Conversations {
            partitions: vec!["GRP#u".into(), "MSG#g".into()],
            puts: (0..30).map(|n| item("MSG#g", &n.to_string())).collect(),
            deletes: vec![item("MSG#g", "old")],
            masked: ["message".to_string()].into(),
            unlisted: Default::default(),
            create_table: false,
        };
        let pull = Pull {
            pg: &pg,
            db: LocalDb::There {
                writes,
                marker: Marker::Unmarked,
            },
            shape: crate::pg::schema::Shape::default(),
            tables: vec![
                table("users", 2, Vec::new()),
                table("activities", 3, vec!["SELECT setval(…)".into()]),
            ],
            conversations: Some((&ddb, conversations)),
            masking: Masking::Key,
            started: Instant::now(),
        };
        let planned: Vec<Op> = pull
            .plan()
            .ops
            .into_iter()
            .filter_map(Op::performed)
            .collect();
        let report = pull
            .execute(&Ctx::for_tests(Target::Local))
            .expect("a pull on recording stores");
        let performed: Vec<Op> = pg_recorder
            .lock()
            .unwrap()
            .drain(..)
            .map(Op::from)
            .chain(ddb_recorder.lock().unwrap().drain(..).map(Op::from))
            .collect();
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 5);
        let conversations = report.conversations.expect("the conversations' counts");
        assert_eq!((conversations.items, conversations.deleted), (30, 1));
    }
}
