//! `cruddur db setup`: local only. Drop (terminating other sessions), create, load the
//! schema and the seed, then link Cognito users. Safe to re-run.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use super::schema_load::summary;
use super::{create, drop, load_file, update_cognito_user_ids, SqlSource};
use crate::cli::PoolArgs;
use crate::ctx::{Ctx, Target};
use crate::error::refused;
use crate::output::Outcome;
use crate::sql;

#[derive(Debug, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub status: &'static str,
    pub elapsed_ms: u64,
    pub detail: String,
}

pub fn run(ctx: &Ctx, pool: &PoolArgs) -> Result<Outcome> {
    if ctx.target == Target::Prod {
        return Err(refused(
            "`db setup` rebuilds the database from scratch and runs on the local stack only; \
             in production run the one step you mean (e.g. `cruddur --prod db schema-load`)",
        ));
    }
    let pg = ctx.pg()?;
    let started = Instant::now();
    let mut steps = Vec::new();
    let mut step = |name: &'static str,
                    work: &mut dyn FnMut() -> Result<(&'static str, String)>|
     -> Result<()> {
        let at = Instant::now();
        let (status, detail) =
            work().map_err(|e| e.context(format!("`db setup` failed at step `{name}`")))?;
        let elapsed_ms = at.elapsed().as_millis() as u64;
        ctx.info(format!(
            "{name:<24} {status:<7} {elapsed_ms:>5} ms  {detail}"
        ));
        steps.push(Step {
            step: name,
            status,
            elapsed_ms,
            detail,
        });
        Ok(())
    };

    step("drop", &mut || {
        Ok(("ok", drop::drop_database(pg, true)?.summary()))
    })?;
    step("create", &mut || {
        create::create(pg)?;
        Ok(("ok", format!("created database `{}`", pg.dbname)))
    })?;
    step("schema-load", &mut || {
        let source = SqlSource::new(None, "sql/schema.sql", sql::SCHEMA)?;
        Ok(("ok", summary("loaded", &load_file(ctx, pg, &source)?)))
    })?;
    step("seed", &mut || {
        let source = SqlSource::new(None, "sql/seed.sql", sql::SEED)?;
        Ok(("ok", summary("seeded", &load_file(ctx, pg, &source)?)))
    })?;
    step("update-cognito-user-ids", &mut || match &pool.pool_id {
        Some(pool_id) if !pool_id.trim().is_empty() => {
            Ok(("ok", update_cognito_user_ids::link(ctx, pool_id)?.summary()))
        }
        _ => Ok((
            "skipped",
            "no AWS_COGNITO_USER_POOL_ID (or --pool-id): cognito_user_id stays 'MOCK'".to_string(),
        )),
    })?;

    let elapsed_ms = started.elapsed().as_millis() as u64;
    Outcome::done(
        format!(
            "database `{}` on {} is set up ({elapsed_ms} ms)",
            pg.dbname,
            pg.server()
        ),
        json!({ "database": pg.dbname, "elapsed_ms": elapsed_ms, "steps": steps }),
    )
}
