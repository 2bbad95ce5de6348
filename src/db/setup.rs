//! `cruddur db setup`: local only. Drop (terminating other sessions), create, load the
//! schema and the seed, then link Cognito users. Safe to re-run.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use super::migrate::migrate;
use super::migration::find_folder;
use super::schema_load::summary;
use super::{create, drop, load_file, split, update_cognito_user_ids, Load};
use crate::app::App;
use crate::cli::{DbSetupArgs, MigrationsDirArgs, PoolArgs};
use crate::cognito::Pool;
use crate::ctx::{Ctx, Target};
use crate::error::refused;
use crate::guard::Plan;
use crate::guarded::{self, Go};
use crate::output::Outcome;
use crate::pg::PgTarget;
use crate::steps::{StepEnd, Steps};

pub const STEPS: &[&str] = &[
    "drop",
    "create",
    "schema-load",
    "seed",
    "update-cognito-user-ids",
    "migrate",
];

/// What `db setup` needs besides the database (plain options, from the flags).
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// The Cognito pool to link users to; None: the step is skipped.
    pub pool: Option<Pool>,
    /// `--migrations-dir`; None: looked for from here up.
    pub migrations_dir: Option<PathBuf>,
}

impl SetupOptions {
    pub fn new(pool: &PoolArgs, dir: &MigrationsDirArgs) -> SetupOptions {
        SetupOptions {
            pool: Pool::configured(pool),
            migrations_dir: dir.migrations_dir.clone(),
        }
    }
}

pub fn run(ctx: &Ctx, args: &DbSetupArgs) -> Result<Outcome> {
    refuse_prod(ctx, "db setup")?;
    let pg = ctx.pg()?;
    let options = SetupOptions::new(&args.pool, &args.dir);
    if let Go::DryRun(plan) = guarded::check(ctx, &plan(ctx.app()?, pg, &options)?, None)? {
        return Ok(plan);
    }
    let mut steps = Steps::new(ctx, STEPS);
    run_steps(ctx, &options, &mut steps)?;
    steps.outcome(
        format!("database `{}` on {} is set up", pg.dbname, pg.server()),
        json!({ "database": pg.dbname }),
    )
}

/// The steps, for `db setup` and for `setup`, which goes on with DynamoDB.
pub fn run_steps(ctx: &Ctx, options: &SetupOptions, steps: &mut Steps) -> Result<()> {
    let pg = ctx.pg()?;
    steps.run("drop", || {
        let report = drop::drop_database(ctx, pg, true)?.executed()?;
        StepEnd::ok(report.summary(), &report)
    })?;
    steps.run("create", || {
        let created = create::create(ctx, pg)?.executed()?;
        StepEnd::ok(
            format!("created database `{}`", pg.dbname),
            &json!({ "database": pg.dbname, "created": created }),
        )
    })?;
    steps.run("schema-load", || {
        let source = ctx.app()?.schema(None)?;
        let report = load_file(ctx, pg, &source, Load::Schema)?.executed()?;
        StepEnd::ok(summary("loaded", &report), &report)
    })?;
    steps.run("seed", || {
        let source = ctx.app()?.seed(None)?;
        let report = load_file(ctx, pg, &source, Load::Seed)?.executed()?;
        StepEnd::ok(summary("seeded", &report), &report)
    })?;
    steps.run("update-cognito-user-ids", || match &options.pool {
        Some(pool) => {
            let report = update_cognito_user_ids::link(ctx, pool)?.executed()?;
            StepEnd::ok(report.summary(), &report)
        }
        None => StepEnd::skipped(
            "no AWS_COGNITO_USER_POOL_ID (or --pool-id): cognito_user_id stays 'MOCK'",
        ),
    })?;
    steps.run("migrate", || {
        let app = ctx.app()?;
        match find_folder(app, options.migrations_dir.as_deref())? {
            Some(folder) => {
                ctx.detail(format!("migrations: {}", folder.source));
                let report = migrate(ctx, pg, &folder, None)?.executed()?;
                StepEnd::ok(report.summary(), &report)
            }
            None => StepEnd::skipped(format!(
                "no migrations folder: {} (or --migrations-dir)",
                app.migrations_missing()
            )),
        }
    })
}

/// What the steps would do (each passes the guard again as it runs).
pub fn plan(app: &App, pg: &PgTarget, options: &SetupOptions) -> Result<Plan> {
    // Read and split now: a missing file, or one that cannot be split, stops the plan before
    // anything is dropped.
    let (schema, seed) = (app.schema(None)?, app.seed(None)?);
    split(&schema)?;
    split(&seed)?;
    let actions = vec![
        "drop the database, terminating its sessions (DROP DATABASE … WITH (FORCE))".into(),
        "create it".into(),
        format!(
            "load {} in one transaction, marking the database `local`",
            schema.name
        ),
        format!("load {} in one transaction", seed.name),
        match &options.pool {
            Some(pool) => format!("link users to Cognito pool {}", pool.id),
            None => "skip linking Cognito users (no AWS_COGNITO_USER_POOL_ID)".into(),
        },
        match find_folder(app, options.migrations_dir.as_deref())? {
            Some(folder) => format!("apply the pending migrations of {}", folder.shown),
            None => format!(
                "skip the migrations (no migrations folder: {})",
                app.migrations_missing()
            ),
        },
    ];
    Ok(Plan {
        destination: pg.destination(),
        summary: format!("rebuild database `{}` from scratch", pg.dbname),
        actions,
        confirm: pg.dbname.clone(),
    })
}

/// The commands that rebuild from scratch are for the local stack only.
pub fn refuse_prod(ctx: &Ctx, command: &str) -> Result<()> {
    if ctx.target == Target::Prod {
        return Err(refused(format!(
            "`{command}` rebuilds the stores from scratch and runs on the local stack only; \
             in production run the one step you mean (e.g. `cruddur --prod db schema-load`)"
        )));
    }
    Ok(())
}
