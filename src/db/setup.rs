//! `cruddur db setup`: local only. Drop (terminating other sessions), create, load the
//! schema and the seed, then link Cognito users and apply the migrations. Safe to re-run.
//! `cruddur setup` is the same composite with the DynamoDB steps after it ([`Rebuild`]).

use std::fmt;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::{create, drop, migrate, prepare_load, split, update_cognito_user_ids, Load};
use crate::app::SqlSource;
use crate::cli::{DbSetupArgs, MigrationsDirArgs, PoolArgs};
use crate::cognito::Pool;
use crate::ctx::Ctx;
use crate::ddb::schema_load::{CreateTable, TableOptions};
use crate::ddb::seed::SeedOptions;
use crate::guard::{Marker, Plan, Scope};
use crate::guarded::{self, Prepared, Report, Write};
use crate::migrations::{find_folder, read_all, Folder};
use crate::ops::{DdbOp, Op, PgOp, SetupStep};
use crate::output::Outcome;
use crate::pg::PgTarget;
use crate::steps::{StepEnd, StepLine, Steps};

/// What `db setup` needs besides the database (plain options, from the flags).
#[derive(Debug, Clone, Default)]
pub(crate) struct SetupOptions {
    /// The Cognito pool to link users to; None: the step is skipped.
    pub pool: Option<Pool>,
    /// `--migrations-dir`; None: looked for from here up.
    pub migrations_dir: Option<PathBuf>,
}

impl SetupOptions {
    pub(crate) fn new(pool: &PoolArgs, dir: &MigrationsDirArgs) -> SetupOptions {
        SetupOptions {
            pool: Pool::configured(pool),
            migrations_dir: dir.migrations_dir.clone(),
        }
    }
}

pub(crate) fn run(ctx: &Ctx, args: &DbSetupArgs) -> Result<Outcome> {
    let rebuild = Rebuild::database(
        ctx,
        &SetupOptions::new(&args.pool, &args.dir),
        Scope::LocalOnly {
            command: "db setup",
            why: crate::guard::REBUILDS,
        },
    )?;
    guarded::run(ctx, Prepared::Write(rebuild))
}

/// One step of a rebuild, as the value it runs: each is prepared against the stores as the
/// steps before it left them, then executed (the rebuild passed the guard as a whole).
pub(crate) enum Step {
    /// Drop the database, terminating its sessions.
    Drop,
    Create,
    /// The schema, read and split before anything is dropped.
    SchemaLoad(SqlSource),
    Seed(SqlSource),
    /// Link the users to this Cognito pool; None: skipped (no pool configured).
    Link(Option<Pool>),
    /// Apply the pending migrations of this folder; None: skipped (no folder).
    Migrate(Option<Folder>),
    /// Create the DynamoDB table unless it exists.
    TableLoad(TableOptions),
    /// Seed the conversation.
    TableSeed(SeedOptions),
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Drop => "drop",
            Step::Create => "create",
            Step::SchemaLoad(_) => "schema-load",
            Step::Seed(_) => "seed",
            Step::Link(_) => "update-cognito-user-ids",
            Step::Migrate(_) => "migrate",
            Step::TableLoad(_) => "ddb schema-load",
            Step::TableSeed(_) => "ddb seed",
        }
    }

    /// The step as the plan shows it.
    fn planned(&self, ctx: &Ctx) -> SetupStep {
        match self {
            Step::Drop => SetupStep::Drop,
            Step::Create => SetupStep::Create,
            Step::SchemaLoad(source) => SetupStep::SchemaLoad {
                file: source.name.clone(),
            },
            Step::Seed(source) => SetupStep::Seed {
                file: source.name.clone(),
            },
            Step::Link(pool) => SetupStep::Link {
                pool: pool.as_ref().map(|pool| pool.id.clone()),
            },
            Step::Migrate(Some(folder)) => SetupStep::Migrate {
                folder: Some(folder.shown.clone()),
                missing: None,
            },
            Step::Migrate(None) => SetupStep::Migrate {
                folder: None,
                missing: Some(
                    ctx.app()
                        .map_or_else(|e| format!("{e:#}"), |app| app.migrations_missing()),
                ),
            },
            Step::TableLoad(_) => match ctx.ddb() {
                Ok(ddb) => SetupStep::TableLoad {
                    table: Some(ddb.table.clone()),
                    error: None,
                },
                Err(error) => SetupStep::TableLoad {
                    table: None,
                    error: Some(format!("{error:#}")),
                },
            },
            Step::TableSeed(seed) => SetupStep::TableSeed {
                message_group_uuid: seed.message_group_uuid.clone(),
                between: crate::users::DEFAULT_PAIR.map(String::from),
            },
        }
    }

    /// Prepare the step's own write against the stores as they are now and execute it.
    fn run(&self, ctx: &Ctx, pg: &PgTarget) -> Result<StepEnd> {
        fn ok<R: Report>(report: R) -> Result<StepEnd> {
            StepEnd::ok(report.to_string(), &report)
        }
        match self {
            Step::Drop => ok(guarded::step(ctx, drop::prepare(pg, true)?)?),
            Step::Create => ok(guarded::step(ctx, create::prepare(pg)?)?),
            Step::SchemaLoad(source) => {
                let load = prepare_load(ctx, pg, source, Load::Schema)?;
                ok(guarded::step(ctx, Prepared::Write(load))?)
            }
            Step::Seed(source) => {
                let load = prepare_load(ctx, pg, source, Load::Seed)?;
                ok(guarded::step(ctx, Prepared::Write(load))?)
            }
            Step::Link(Some(pool)) => ok(guarded::step(
                ctx,
                update_cognito_user_ids::prepare(ctx, pool)?,
            )?),
            Step::Link(None) => StepEnd::skipped(
                "no AWS_COGNITO_USER_POOL_ID (or --pool-id): cognito_user_id stays 'MOCK'",
            ),
            Step::Migrate(Some(folder)) => {
                ctx.detail(format!("migrations: {}", folder.source));
                let migrations = read_all(folder)?;
                let prepared = migrate::prepare_migrate(ctx, pg, folder, &migrations, None, &[])?;
                ok(guarded::step(ctx, prepared)?)
            }
            Step::Migrate(None) => StepEnd::skipped(format!(
                "no migrations folder: {} (or --migrations-dir)",
                ctx.app()?.migrations_missing()
            )),
            Step::TableLoad(options) => {
                let create = CreateTable::new(ctx, ctx.ddb()?, *options);
                ok(guarded::step(ctx, Prepared::Write(create))?)
            }
            Step::TableSeed(seed) => {
                let seed = crate::ddb::seed::prepare(ctx, ctx.ddb()?, seed)?;
                ok(guarded::step(ctx, Prepared::Write(seed))?)
            }
        }
    }
}

/// Where a rebuild's steps go.
enum Runs {
    /// Each step is prepared against the stores as they are then, and executed.
    Stores,
    /// Each step's operation, as the plan shows it, is kept instead (unit tests: the steps
    /// executed, compared with the steps planned).
    #[cfg(test)]
    Recorder(std::sync::Arc<std::sync::Mutex<Vec<Op>>>),
}

/// A rebuild from scratch of the local stack, or of its database: the steps in order.
pub(crate) struct Rebuild<'a> {
    ctx: &'a Ctx,
    pg: &'a PgTarget,
    runs: Runs,
    pub steps: Vec<Step>,
    /// What the database says it is, now (a local rebuild refuses one marked `prod`).
    marker: Marker,
    pub summary: String,
    /// The local stack only, named by its command (`db setup`, `setup`).
    pub scope: Scope,
}

impl<'a> Rebuild<'a> {
    /// The steps of `db setup`. The files are read and split now: a missing file, or one that
    /// cannot be split, stops the rebuild before anything is dropped.
    pub(crate) fn database(
        ctx: &'a Ctx,
        options: &SetupOptions,
        scope: Scope,
    ) -> Result<Rebuild<'a>> {
        // Refused before anything is read or connected to; the guard checks the plan again.
        guarded::in_scope(ctx, scope)?;
        let pg = ctx.pg()?;
        let app = ctx.app()?;
        let (schema, seed) = (app.schema(None)?, app.seed(None)?);
        split(&schema)?;
        split(&seed)?;
        let folder = find_folder(app, options.migrations_dir.as_deref())?;
        // The marker, when the database is there to say it.
        let marker = match pg.connect_maintenance() {
            Ok(mut client) => match crate::pg::database_exists(&mut client, &pg.dbname) {
                Ok(true) => Marker::read(&crate::pg::marker(&mut client, &pg.dbname)),
                Ok(false) => Marker::Unmarked,
                Err(error) => Marker::Unreadable(format!("{error:#}")),
            },
            Err(error) => Marker::Unreadable(format!("{error:#}")),
        };
        Ok(Rebuild {
            ctx,
            pg,
            runs: Runs::Stores,
            steps: vec![
                Step::Drop,
                Step::Create,
                Step::SchemaLoad(schema),
                Step::Seed(seed),
                Step::Link(options.pool.clone()),
                Step::Migrate(folder),
            ],
            marker,
            summary: format!("rebuild database `{}` from scratch", pg.dbname),
            scope,
        })
    }
}

impl Rebuild<'_> {
    /// `step` as an operation of the plan: the DynamoDB steps under DynamoDB, the rest under
    /// Postgres.
    fn op(&self, step: &Step) -> Op {
        match step.planned(self.ctx) {
            step @ (SetupStep::TableLoad { .. } | SetupStep::TableSeed { .. }) => {
                DdbOp::Step { step }.into()
            }
            step => PgOp::Step { step }.into(),
        }
    }
}

/// What a rebuild did: each step's line and report.
#[derive(Debug, Serialize)]
pub(crate) struct RebuildReport {
    pub target: Rebuilt,
    pub elapsed_ms: u64,
    pub steps: Vec<StepLine>,
}

/// What was rebuilt.
#[derive(Debug, Serialize)]
pub(crate) struct Rebuilt {
    pub database: String,
    /// The DynamoDB table (`setup`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

impl Report for RebuildReport {}

impl fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let database = &self.target.database;
        match &self.target.table {
            Some(table) => write!(
                f,
                "the local stack is set up: database `{database}` and table `{table}` ({} ms)",
                self.elapsed_ms
            ),
            None => write!(
                f,
                "database `{database}` is set up ({} ms)",
                self.elapsed_ms
            ),
        }
    }
}

impl Write for Rebuild<'_> {
    type Report = RebuildReport;

    fn plan(&self) -> Plan {
        Plan {
            destination: self.pg.destination(),
            scope: self.scope,
            summary: self.summary.clone(),
            ops: self.steps.iter().map(|step| self.op(step)).collect(),
            confirm: self.pg.dbname.clone(),
            exposes: None,
        }
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(self, ctx: &Ctx) -> Result<RebuildReport> {
        let names: Vec<&'static str> = self.steps.iter().map(Step::name).collect();
        let mut steps = Steps::new(ctx, &names);
        for step in &self.steps {
            steps.run(step.name(), || match &self.runs {
                Runs::Stores => step.run(ctx, self.pg),
                #[cfg(test)]
                Runs::Recorder(recorder) => {
                    recorder
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(self.op(step));
                    StepEnd::skipped("recorded")
                }
            })?;
        }
        let table = self
            .steps
            .iter()
            .any(|s| matches!(s, Step::TableLoad(_) | Step::TableSeed(_)))
            .then(|| ctx.ddb().map(|ddb| ddb.table.clone()))
            .transpose()?;
        let (elapsed_ms, steps) = steps.finish();
        Ok(RebuildReport {
            target: Rebuilt {
                database: self.pg.dbname.clone(),
                table,
            },
            elapsed_ms,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use crate::app::Origin;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    fn source(name: &str) -> SqlSource {
        SqlSource {
            name: name.into(),
            text: "SELECT 1;".into(),
            origin: Origin::Flag,
        }
    }

    /// Every step of `setup`, a skipped one included, in the order the plan gives.
    fn rebuild<'a>(ctx: &'a Ctx, pg: &'a PgTarget, recorder: &Arc<Mutex<Vec<Op>>>) -> Rebuild<'a> {
        Rebuild {
            ctx,
            pg,
            runs: Runs::Recorder(recorder.clone()),
            steps: vec![
                Step::Drop,
                Step::Create,
                Step::SchemaLoad(source("db/schema.sql")),
                Step::Seed(source("db/seed.sql")),
                Step::Link(None),
                Step::Migrate(Some(Folder {
                    path: PathBuf::from("/app/backend-flask/db/migrations"),
                    shown: "backend-flask/db/migrations".into(),
                    source: "--migrations-dir".into(),
                })),
                Step::TableLoad(TableOptions::default()),
                Step::TableSeed(SeedOptions::default()),
            ],
            marker: Marker::Unmarked,
            summary: "set up the local stack from scratch".into(),
            scope: Scope::LocalOnly {
                command: "setup",
                why: crate::guard::REBUILDS,
            },
        }
    }

    #[test]
    fn a_rebuild_executes_the_steps_it_planned_in_order() {
        let ctx = Ctx::for_tests(Target::Local);
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let recorder = Arc::new(Mutex::new(Vec::new()));
        let (planned, performed) =
            planned_and_performed(&ctx, rebuild(&ctx, &pg, &recorder), &recorder);
        assert_eq!(performed, planned);
        let sentences: Vec<String> = performed.iter().map(|op| op.to_string()).collect();
        assert_eq!(
            sentences,
            [
                "drop the database, terminating its sessions (DROP DATABASE … WITH (FORCE) on \
                 Postgres 13 and later, pg_terminate_backend before)",
                "create it",
                "load db/schema.sql in one transaction, marking the database `local`",
                "load db/seed.sql in one transaction",
                "skip linking Cognito users (no AWS_COGNITO_USER_POOL_ID)",
                "apply the pending migrations of backend-flask/db/migrations",
                "create DynamoDB table `cruddur-messages` unless it exists",
                "seed conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 (replacing it) between \
                 timmy-cde and tim-suarez when both are users, else the oldest two users",
            ]
        );
    }
}
