//! `cruddur db setup`: local only. Drop (terminating other sessions), create, load the
//! schema and the seed, then link Cognito users. Safe to re-run.

use anyhow::Result;
use serde_json::json;

use super::migrate::migrate;
use super::migration::find_folder;
use super::schema_load::summary;
use super::{create, drop, load_file, update_cognito_user_ids, SqlSource};
use crate::cli::{DbSetupArgs, MigrationsDirArgs, PoolArgs};
use crate::ctx::{Ctx, Target};
use crate::error::refused;
use crate::guard::{self, Go, Plan};
use crate::output::Outcome;
use crate::pg::PgTarget;
use crate::sql;
use crate::steps::Steps;

pub const STEPS: &[&str] = &[
    "drop",
    "create",
    "schema-load",
    "seed",
    "update-cognito-user-ids",
    "migrate",
];

pub fn run(ctx: &Ctx, args: &DbSetupArgs) -> Result<Outcome> {
    refuse_prod(ctx, "db setup")?;
    let pg = ctx.pg()?;
    if let Go::DryRun(plan) = guard::check(ctx, &plan(pg, &args.pool, &args.dir)?, None)? {
        return Ok(plan);
    }
    let mut steps = Steps::new(ctx, STEPS);
    run_steps(ctx, &args.pool, &args.dir, &mut steps)?;
    steps.outcome(
        format!("database `{}` on {} is set up", pg.dbname, pg.server()),
        json!({ "database": pg.dbname }),
    )
}

/// The steps, for `db setup` and for `setup`, which goes on with DynamoDB.
pub fn run_steps(
    ctx: &Ctx,
    pool: &PoolArgs,
    dir: &MigrationsDirArgs,
    steps: &mut Steps,
) -> Result<()> {
    let pg = ctx.pg()?;
    steps.run("drop", || {
        Ok((
            "ok",
            drop::drop_database(ctx, pg, true)?.executed()?.summary(),
        ))
    })?;
    steps.run("create", || {
        create::create(ctx, pg)?.executed()?;
        Ok(("ok", format!("created database `{}`", pg.dbname)))
    })?;
    steps.run("schema-load", || {
        let source = SqlSource::new(None, "sql/schema.sql", sql::SCHEMA)?;
        let report = load_file(ctx, pg, &source, true)?.executed()?;
        Ok(("ok", summary("loaded", &report)))
    })?;
    steps.run("seed", || {
        let source = SqlSource::new(None, "sql/seed.sql", sql::SEED)?;
        let report = load_file(ctx, pg, &source, false)?.executed()?;
        Ok(("ok", summary("seeded", &report)))
    })?;
    steps.run("update-cognito-user-ids", || match pool_id(pool) {
        Some(pool_id) => Ok((
            "ok",
            update_cognito_user_ids::link(ctx, pool, pool_id)?
                .executed()?
                .summary(),
        )),
        None => Ok((
            "skipped",
            "no AWS_COGNITO_USER_POOL_ID (or --pool-id): cognito_user_id stays 'MOCK'".to_string(),
        )),
    })?;
    steps.run("migrate", || match find_folder(dir.migrations_dir.as_deref())? {
        Some(folder) => {
            let report = migrate(ctx, pg, &folder.path, None)?.executed()?;
            Ok(("ok", report.summary()))
        }
        None => Ok((
            "skipped",
            "no migrations folder (backend-flask/db/migrations or db/migrations here or above; or --migrations-dir)"
                .to_string(),
        )),
    })
}

/// What the steps would do (each passes the guard again as it runs).
pub fn plan(pg: &PgTarget, pool: &PoolArgs, dir: &MigrationsDirArgs) -> Result<Plan> {
    let actions = vec![
        "drop the database, terminating its sessions (DROP DATABASE … WITH (FORCE))".into(),
        "create it".into(),
        "load sql/schema.sql (built in) in one transaction, marking the database `local`".into(),
        "load sql/seed.sql (built in) in one transaction".into(),
        match pool_id(pool) {
            Some(id) => format!("link users to Cognito pool {id}"),
            None => "skip linking Cognito users (no AWS_COGNITO_USER_POOL_ID)".into(),
        },
        match find_folder(dir.migrations_dir.as_deref())? {
            Some(folder) => format!("apply the migrations of {}", folder.path.display()),
            None => "skip the migrations (no migrations folder)".into(),
        },
    ];
    Ok(Plan {
        destination: pg.destination(),
        summary: format!("rebuild database `{}` from scratch", pg.dbname),
        actions,
        confirm: pg.dbname.clone(),
    })
}

fn pool_id(pool: &PoolArgs) -> Option<&str> {
    pool.pool_id.as_deref().filter(|id| !id.trim().is_empty())
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
