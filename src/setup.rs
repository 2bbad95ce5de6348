//! `cruddur setup`: a fresh workspace in one command — `db setup`, then
//! `ddb schema-load --if-not-exists` and `ddb seed --replace`. Local only; safe to re-run.
//! This is what a Gitpod/Codespaces start task runs.

use anyhow::Result;
use serde_json::json;

use crate::cli::SetupArgs;
use crate::ctx::Ctx;
use crate::db::setup::{plan, refuse_prod, run_steps, SetupOptions, STEPS};
use crate::ddb::schema_load::{create_table, TableOptions};
use crate::ddb::seed::{seed_conversation, SeedOptions};
use crate::guarded::{self, Go};
use crate::output::Outcome;
use crate::steps::{StepEnd, Steps};

pub fn run(ctx: &Ctx, setup: &SetupArgs) -> Result<Outcome> {
    refuse_prod(ctx, "setup")?;
    // The ddb steps' own defaults (a test keeps them equal to the flags'), with these two set.
    let table = TableOptions {
        if_not_exists: true,
        ..TableOptions::default()
    };
    let seed = SeedOptions {
        replace: true,
        ..SeedOptions::default()
    };
    let ddb = ctx.ddb()?;
    let pg = ctx.pg()?;
    let options = SetupOptions::new(&setup.pool, &setup.dir);
    let mut plan = plan(ctx.app()?, pg, &options)?;
    plan.summary = format!(
        "set up the local stack from scratch: database `{}` and table `{}` at {}",
        pg.dbname, ddb.table, ddb.endpoint
    );
    plan.actions.push(format!(
        "create DynamoDB table `{}` unless it exists",
        ddb.table
    ));
    plan.actions.push(format!(
        "seed conversation {} (replacing it) between {} and {} when both are users, else the oldest two users",
        seed.message_group_uuid,
        crate::users::DEFAULT_PAIR[0],
        crate::users::DEFAULT_PAIR[1]
    ));
    if let Go::DryRun(plan) = guarded::check(ctx, &plan, None)? {
        return Ok(plan);
    }
    let all: Vec<&'static str> = STEPS
        .iter()
        .copied()
        .chain(["ddb schema-load", "ddb seed"])
        .collect();
    let mut steps = Steps::new(ctx, &all);
    run_steps(ctx, &options, &mut steps)?;
    steps.run("ddb schema-load", || {
        let report = create_table(ctx, ddb, table)?.executed()?;
        StepEnd::ok(report.summary(), &report)
    })?;
    steps.run("ddb seed", || {
        let report = seed_conversation(ctx, ddb, &seed)?.executed()?;
        StepEnd::ok(report.summary(), &report)
    })?;
    steps.outcome(
        format!(
            "the local stack is set up: database `{}` and table `{}`",
            pg.dbname, ddb.table
        ),
        json!({ "database": pg.dbname, "table": ddb.table }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{DdbSchemaLoadArgs, DdbSeedArgs};
    use clap::{Args, Parser};

    /// `setup` starts from these values: they must be the flags' own defaults.
    #[test]
    fn step_defaults_match_the_flags() {
        #[derive(Parser)]
        struct Of<T: Args> {
            #[command(flatten)]
            args: T,
        }
        let load = Of::<DdbSchemaLoadArgs>::try_parse_from(["x"]).unwrap().args;
        assert_eq!(TableOptions::from(&load), TableOptions::default());
        let seed = Of::<DdbSeedArgs>::try_parse_from(["x"]).unwrap().args;
        assert_eq!(SeedOptions::from(&seed), SeedOptions::default());
    }
}
