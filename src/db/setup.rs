//! `cruddur db setup`: local only. Drop (terminating other sessions), create, load the
//! schema and the seed, then link Cognito users. Safe to re-run.

use anyhow::Result;
use serde_json::json;

use super::schema_load::summary;
use super::{create, drop, load_file, update_cognito_user_ids, SqlSource};
use crate::cli::PoolArgs;
use crate::ctx::{Ctx, Target};
use crate::error::refused;
use crate::output::Outcome;
use crate::sql;
use crate::steps::Steps;

pub const STEPS: &[&str] = &[
    "drop",
    "create",
    "schema-load",
    "seed",
    "update-cognito-user-ids",
];

pub fn run(ctx: &Ctx, pool: &PoolArgs) -> Result<Outcome> {
    refuse_prod(ctx, "db setup")?;
    let pg = ctx.pg()?;
    if ctx.dry_run {
        return Outcome::dry_run(
            format!(
                "would rebuild database `{}` on {} from scratch",
                pg.dbname,
                pg.server()
            ),
            plan(pool),
        );
    }
    let mut steps = Steps::new(ctx, STEPS);
    run_steps(ctx, pool, &mut steps)?;
    steps.outcome(
        format!("database `{}` on {} is set up", pg.dbname, pg.server()),
        json!({ "database": pg.dbname }),
    )
}

/// The steps, for `db setup` and for `setup`, which goes on with DynamoDB.
pub fn run_steps(ctx: &Ctx, pool: &PoolArgs, steps: &mut Steps) -> Result<()> {
    let pg = ctx.pg()?;
    steps.run("drop", || {
        Ok(("ok", drop::drop_database(ctx, pg, true)?.summary()))
    })?;
    steps.run("create", || {
        create::create(pg)?;
        Ok(("ok", format!("created database `{}`", pg.dbname)))
    })?;
    steps.run("schema-load", || {
        let source = SqlSource::new(None, "sql/schema.sql", sql::SCHEMA)?;
        Ok(("ok", summary("loaded", &load_file(ctx, pg, &source, true)?)))
    })?;
    steps.run("seed", || {
        let source = SqlSource::new(None, "sql/seed.sql", sql::SEED)?;
        Ok((
            "ok",
            summary("seeded", &load_file(ctx, pg, &source, false)?),
        ))
    })?;
    steps.run("update-cognito-user-ids", || match pool_id(pool) {
        Some(pool_id) => Ok(("ok", update_cognito_user_ids::link(ctx, pool_id)?.summary())),
        None => Ok((
            "skipped",
            "no AWS_COGNITO_USER_POOL_ID (or --pool-id): cognito_user_id stays 'MOCK'".to_string(),
        )),
    })
}

/// What the steps would do, for --dry-run.
pub fn plan(pool: &PoolArgs) -> Vec<String> {
    vec![
        "drop the database, terminating its sessions (DROP DATABASE … WITH (FORCE))".into(),
        "create it".into(),
        "load sql/schema.sql (built in) in one transaction, marking the database `local`".into(),
        "load sql/seed.sql (built in) in one transaction".into(),
        match pool_id(pool) {
            Some(id) => format!("link users to Cognito pool {id}"),
            None => "skip linking Cognito users (no AWS_COGNITO_USER_POOL_ID)".into(),
        },
    ]
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
