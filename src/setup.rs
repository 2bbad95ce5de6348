//! `cruddur setup`: a fresh workspace in one command — `db setup`, then
//! `ddb schema-load --if-not-exists` and `ddb seed --replace`. Local only; safe to re-run.
//! This is what a Gitpod/Codespaces start task runs.

use anyhow::Result;
use serde_json::json;

use crate::cli::{DdbSchemaLoadArgs, DdbSeedArgs, SetupArgs};
use crate::ctx::Ctx;
use crate::db::setup::{plan, refuse_prod, run_steps, STEPS};
use crate::ddb;
use crate::guard::{self, Go};
use crate::output::Outcome;
use crate::steps::Steps;

pub fn run(ctx: &Ctx, setup: &SetupArgs) -> Result<Outcome> {
    refuse_prod(ctx, "setup")?;
    // The ddb steps' own defaults (cli.rs keeps them equal to the flags'), with these two set.
    let schema = DdbSchemaLoadArgs {
        if_not_exists: true,
        ..DdbSchemaLoadArgs::default()
    };
    let seed = DdbSeedArgs {
        replace: true,
        ..DdbSeedArgs::default()
    };
    let ddb = ddb::Ddb::connect(ctx, &setup.ddb)?;
    let pg = ctx.pg()?;
    let mut plan = plan(pg, &setup.pool, &setup.dir)?;
    plan.summary = format!(
        "set up the local stack from scratch: database `{}` and table `{}` at {}",
        pg.dbname, ddb.table, ddb.endpoint
    );
    plan.actions.push(format!(
        "create DynamoDB table `{}` unless it exists",
        setup.ddb.table
    ));
    plan.actions.push(format!(
        "seed conversation {} (replacing it)",
        seed.message_group_uuid
    ));
    if let Go::DryRun(plan) = guard::check(ctx, &plan, None)? {
        return Ok(plan);
    }
    let all: Vec<&'static str> = STEPS
        .iter()
        .copied()
        .chain(["ddb schema-load", "ddb seed"])
        .collect();
    let mut steps = Steps::new(ctx, &all);
    run_steps(ctx, &setup.pool, &setup.dir, &mut steps)?;
    steps.run("ddb schema-load", || {
        Ok((
            "ok",
            message(ddb::schema_load::run(ctx, &setup.ddb, &schema)?),
        ))
    })?;
    steps.run("ddb seed", || {
        Ok(("ok", message(ddb::seed::run(ctx, &setup.ddb, &seed)?)))
    })?;
    steps.outcome(
        format!(
            "the local stack is set up: database `{}` and table `{}`",
            pg.dbname, setup.ddb.table
        ),
        json!({ "database": pg.dbname, "table": setup.ddb.table }),
    )
}

fn message(outcome: Outcome) -> String {
    match outcome {
        Outcome::Done { message, .. } => message,
        _ => String::new(),
    }
}
