//! `cruddur db …`: the app's Postgres database. One file per command; what several of them
//! share (running a SQL file in one transaction) lives here.

mod connect;
pub(crate) mod create;
pub(crate) mod diff;
pub(crate) mod drop;
pub(crate) mod migrate;
mod migrations;
mod new_migration;
mod query;
mod rollback;
mod schema_load;
mod seed;
mod sessions;
pub(crate) mod setup;
mod update_cognito_user_ids;

use std::time::Instant;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::app::{Origin, SqlSource};
use crate::cli::DbCommand;
use crate::ctx::Ctx;
use crate::guard::{Marker, Plan};
use crate::guarded::reads;
use crate::guarded::{Report, Write};
use crate::migrations::read_state;
use crate::migrations::{find_folder, Folder};
use crate::ops::{Op, PgOp};
use crate::output::Outcome;
use crate::pg::perform::{Tx, Writes};
pub(crate) use crate::pg::run::{run_statements, split};
use crate::pg::{db_message, mark_statement, PgTarget};
use crate::sql;
use crate::target::Target;

pub(crate) fn run(ctx: &Ctx, command: &DbCommand) -> Result<Outcome> {
    match command {
        DbCommand::Create => create::run(ctx),
        DbCommand::Drop(args) => drop::run(ctx, args),
        DbCommand::SchemaLoad(args) => schema_load::run(ctx, args),
        DbCommand::Seed(args) => seed::run(ctx, args),
        DbCommand::Sessions => {
            reads(ctx, "`cruddur db sessions`").and_then(|()| sessions::run(ctx))
        }
        DbCommand::Setup(args) => setup::run(ctx, args),
        DbCommand::Connect(args) => {
            reads(ctx, "`cruddur db connect`").and_then(|()| connect::run(ctx, args))
        }
        DbCommand::UpdateCognitoUserIds(pool) => update_cognito_user_ids::run(ctx, pool),
        DbCommand::Query(args) => query::run(ctx, args),
        DbCommand::Diff(args) => {
            reads(ctx, "`cruddur db diff`").and_then(|()| diff::run(ctx, args))
        }
        DbCommand::Migrations(args) => {
            reads(ctx, "`cruddur db migrations`").and_then(|()| migrations::run(ctx, args))
        }
        DbCommand::Migrate(args) => migrate::run(ctx, args),
        DbCommand::Rollback(args) => rollback::run(ctx, args),
        DbCommand::NewMigration(args) => new_migration::run(ctx, args),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct LoadReport {
    pub database: String,
    /// The file as the user would type it, or `built-in sql/schema.sql`.
    pub file: String,
    /// `app` (the app's folder), `flag` (`--file`) or `built_in`.
    pub source: Origin,
    pub statements: usize,
    pub elapsed_ms: u64,
    /// The schema replaced tables under applied migrations: what was reset (schema only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations_reset: Option<MigrationsReset>,
    #[serde(skip)]
    pub load: Load,
}

impl Report for LoadReport {}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{} {} into `{}`: {} statement{} in {} ms",
            match self.load {
                Load::Schema => "loaded",
                Load::Seed => "seeded",
            },
            self.file,
            self.database,
            self.statements,
            if self.statements == 1 { "" } else { "s" },
            self.elapsed_ms
        )
    }
}

/// Which file a load runs, and what else it does in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// The schema: marks the database's environment, and keeps the migration marker true.
    Schema,
    /// The seed data: the statements only.
    Seed,
}

/// A schema load that replaced tables under applied migrations: the app's `schema.sql`
/// recreates `users` and `activities` but keeps `schema_information`, whose marker would then
/// claim migrations the new tables lack. cruddur resets it (and its own records), in the
/// same transaction, so that `db migrate` applies them again.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MigrationsReset {
    /// The app's marker before (`last_successful_run`).
    pub marker_was: String,
    /// cruddur's records of applied migrations cleared.
    pub records_cleared: usize,
    /// The tables the file dropped or recreated.
    pub tables: Vec<String>,
}

impl MigrationsReset {
    pub(crate) fn sentence(&self, file: &str) -> String {
        format!(
            "{file} recreated {}, which lost what the migrations applied before had changed \
             (marker {}): schema_information is reset to 0{} — run `cruddur db migrate` to apply them again",
            self.tables.join(", "),
            self.marker_was,
            if self.records_cleared > 0 {
                format!(
                    " and cruddur's record of {} applied migration{} cleared",
                    self.records_cleared,
                    if self.records_cleared == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        )
    }
}

/// Every statement of `source`, to run in ONE transaction (the plan lists each one). On the
/// first error the transaction is rolled back (nothing applied) and the error names the
/// file, line and column. A [`Load::Schema`] also records which environment the database
/// belongs to, in the same transaction (in --prod, a marker that cannot be written fails the
/// load; locally a `prod` marker is never rewritten to `local`), and resets the migration
/// marker when the file replaced tables under applied migrations.
pub(crate) struct LoadFile<'a> {
    pg: &'a PgTarget,
    source: &'a SqlSource,
    statements: Vec<sql::Statement<'a>>,
    load: Load,
    /// The connection, or why there is none: a dry run still shows the plan, a run stops
    /// at the guard (the marker cannot be read) or here.
    client: Result<Writes>,
    /// The marker read with that connection (or why it could not be).
    marker: anyhow::Result<Option<String>>,
    /// The statement that marks the environment, when this load writes it.
    mark: Option<String>,
    /// The tables and the migrations' marker before the load (a schema over applied
    /// migrations), when they are applied.
    before: Option<Tables>,
}

/// Split `source` and connect: a file that cannot be split stops here, before anything runs.
/// A database that cannot be reached does not stop the plan (a dry run shows it, and says
/// so); it stops the run.
pub(crate) fn prepare_load<'a>(
    ctx: &Ctx,
    pg: &'a PgTarget,
    source: &'a SqlSource,
    load: Load,
) -> Result<LoadFile<'a>> {
    let statements = split(source)?;
    if statements.is_empty() {
        ctx.warn(format!("{} holds no SQL statement", source.name));
    }
    let (mut client, marker) = match pg.connect() {
        Ok(mut client) => {
            let current = crate::pg::marker(&mut client, &pg.dbname);
            (Ok(client), current)
        }
        Err(error) => {
            let why = anyhow!("{error:#}");
            (Err(error), Err(why))
        }
    };
    let keep_prod_marker = matches!(&marker, Ok(Some(m)) if m == Target::Prod.name());
    let schema = load == Load::Schema;
    let mark = (schema && !(pg.target == Target::Local && keep_prod_marker))
        .then(|| mark_statement(&pg.dbname, pg.target));
    let before = match (&mut client, schema) {
        (Ok(client), true) => Some(Tables::read(client)?).filter(|t| t.applied().is_some()),
        _ => None,
    };
    Ok(LoadFile {
        pg,
        source,
        statements,
        load,
        client: client.map(Writes::new),
        marker,
        mark,
        before,
    })
}

impl Write for LoadFile<'_> {
    type Report = LoadReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = self
            .statements
            .iter()
            .map(|s| {
                PgOp::FileStatement {
                    line: sql::line_col(&self.source.text, s.start).0,
                    sql: s.text.to_string(),
                    skipped: crate::pg::run::skipped(s.text),
                }
                .into()
            })
            .collect();
        ops.extend(
            self.mark
                .iter()
                .map(|sql| PgOp::Statement { sql: sql.clone() }.into()),
        );
        if let Some(applied) = self.before.as_ref().and_then(Tables::applied) {
            ops.push(
                PgOp::ResetMigrations {
                    applied: applied.to_string(),
                }
                .into(),
            );
        }
        if let Err(why) = &self.marker {
            ops.push(
                PgOp::MarkerUnreadable {
                    why: format!("{why:#}"),
                }
                .into(),
            );
        }
        Plan::new(
            self.pg.destination(),
            format!(
                "run {} statements of {} in one transaction",
                self.statements.len(),
                self.source.name
            ),
            ops,
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        Marker::read(&self.marker)
    }

    fn execute(self, ctx: &Ctx) -> Result<LoadReport> {
        let started = Instant::now();
        let LoadFile {
            pg,
            source,
            statements,
            load,
            client,
            mark,
            before,
            ..
        } = self;
        let mut writes = client?;
        let mut reset = None;
        let ran = run_statements(ctx.printer, &mut writes, source, &statements, None, |tx| {
            // In the plan's order: the mark, then the reset.
            if let Some(mark) = &mark {
                tx.batch(mark, Some(PgOp::Statement { sql: mark.clone() }))
                    .map_err(|error| {
                        anyhow!(
                            "could not record on `{}` that it belongs to {} ({}); nothing was applied. \
                             The guard relies on that mark: load the schema as the database's owner",
                            pg.dbname,
                            pg.target.name(),
                            db_message(&error)
                        )
                    })?;
            }
            if let Some(before) = &before {
                reset = reset_migrations(tx, before)?;
            }
            Ok(())
        })?;
        if let Some(reset) = &reset {
            ctx.warn(reset.sentence(&source.name));
        }
        Ok(LoadReport {
            database: pg.dbname.clone(),
            file: source.name.clone(),
            source: source.origin,
            statements: ran,
            elapsed_ms: started.elapsed().as_millis() as u64,
            migrations_reset: reset,
            load,
        })
    }
}

/// The tables of `public` (name → oid) and the migrations' marker: what a schema load is
/// compared against.
struct Tables {
    oids: Vec<(String, u32)>,
    marker: String,
    has_marker: bool,
    records: usize,
}

const MIGRATION_TABLES: [&str; 2] = ["schema_information", "cruddur_migrations"];

impl Tables {
    fn read(client: &mut impl postgres::GenericClient) -> Result<Tables> {
        let read =
            |e: postgres::Error| anyhow!("cannot read the database's tables: {}", db_message(&e));
        let oids = client
            .query(
                "SELECT c.relname::text, c.oid FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
                &[],
            )
            .map_err(read)?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let state = read_state(client)?;
        Ok(Tables {
            oids,
            marker: state.marker.0,
            has_marker: state.has_marker_table,
            records: state.records.len(),
        })
    }

    /// The marker, when migrations are applied.
    fn applied(&self) -> Option<&str> {
        (self.marker != "0" || self.records > 0).then_some(self.marker.as_str())
    }
}

/// After the schema's statements, in its transaction: when the file dropped or recreated a
/// table while migrations stay recorded as applied, reset the marker and clear the records.
fn reset_migrations(tx: &mut Tx, before: &Tables) -> Result<Option<MigrationsReset>> {
    let Some(applied) = before.applied() else {
        return Ok(None);
    };
    tx.note(PgOp::ResetMigrations {
        applied: applied.to_string(),
    });
    let Some(tx) = tx.server() else {
        return Ok(None);
    };
    let after = Tables::read(tx)?;
    if after.applied().is_none() {
        return Ok(None); // the file reset them itself (the built-in schema drops both tables)
    }
    let tables: Vec<String> = before
        .oids
        .iter()
        .filter(|(name, _)| !MIGRATION_TABLES.contains(&name.as_str()))
        .filter(|(name, oid)| !after.oids.iter().any(|(n, o)| n == name && o == oid))
        .map(|(name, _)| name.clone())
        .collect();
    if tables.is_empty() {
        return Ok(None);
    }
    let failed = |e: postgres::Error| {
        anyhow!(
            "could not reset the migration marker after the schema replaced {}: {}; nothing was applied",
            tables.join(", "),
            db_message(&e)
        )
    };
    if after.has_marker {
        tx.batch_execute(
            "UPDATE public.schema_information SET last_successful_run = '0' WHERE id = 1",
        )
        .map_err(failed)?;
    }
    if after.records > 0 {
        tx.batch_execute("DELETE FROM public.cruddur_migrations")
            .map_err(failed)?;
    }
    Ok(Some(MigrationsReset {
        marker_was: after.marker,
        records_cleared: after.records,
        tables,
    }))
}

/// The folder, or an error that says where it was looked for; `-v` says which it is.
pub(crate) fn require_folder(ctx: &Ctx, flag: Option<&std::path::Path>) -> Result<Folder> {
    let app = ctx.app()?;
    let folder = find_folder(app, flag)?.ok_or_else(|| {
        anyhow!(
            "no migrations folder: {}; run from the app's repository, or pass --app-dir \
             (CRUDDUR_APP_DIR) or --migrations-dir (CRUDDUR_MIGRATIONS_DIR)",
            app.migrations_missing()
        )
    })?;
    ctx.detail(format!("migrations: {}", folder.source));
    Ok(folder)
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::guarded::planned_and_performed;

    /// A schema load over applied migrations: its statements (not its own BEGIN/COMMIT), the
    /// environment mark, then the migrations' reset, as planned.
    #[test]
    fn a_file_load_performs_what_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let source = SqlSource {
            name: "backend-flask/db/schema.sql".into(),
            text: "BEGIN;\nDROP TABLE IF EXISTS public.users;\nCREATE TABLE public.users (id int);\nCOMMIT;\n".into(),
            origin: crate::app::Origin::App,
        };
        let (writes, recorder) = Writes::recording();
        let write = LoadFile {
            pg: &pg,
            source: &source,
            statements: split(&source).unwrap(),
            load: Load::Schema,
            client: Ok(writes),
            marker: Ok(None),
            mark: Some(mark_statement(&pg.dbname, pg.target)),
            before: Some(Tables {
                oids: vec![("users".into(), 16384)],
                marker: "1683000000123456".into(),
                has_marker: true,
                records: 2,
            }),
        };
        let ctx = Ctx::for_tests(Target::Local);
        let (planned, performed) = planned_and_performed(&ctx, write, &recorder);
        assert_eq!(performed, planned);
        // Two statements of four (BEGIN and COMMIT are skipped), the mark, the reset.
        assert_eq!(performed.len(), 4, "{performed:?}");
    }
}
