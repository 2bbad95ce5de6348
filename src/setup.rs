//! `cruddur setup`: a fresh workspace in one command — `db setup`'s steps, then
//! `ddb schema-load --if-not-exists` and `ddb seed --replace`. Local only; safe to re-run.
//! This is what a Gitpod/Codespaces start task runs.

use anyhow::Result;

use crate::cli::SetupArgs;
use crate::ctx::Ctx;
use crate::db::setup::{Rebuild, SetupOptions, Step};
use crate::ddb::schema_load::TableOptions;
use crate::ddb::seed::SeedOptions;
use crate::guard::Scope;
use crate::guarded::{self, Prepared};
use crate::output::Outcome;

pub(crate) fn run(ctx: &Ctx, setup: &SetupArgs) -> Result<Outcome> {
    let scope = Scope::LocalOnly {
        command: "setup",
        why: crate::guard::REBUILDS,
    };
    guarded::in_scope(ctx, scope)?;
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
    let mut rebuild = Rebuild::database(ctx, &SetupOptions::new(&setup.pool, &setup.dir), scope)?;
    rebuild.summary = format!(
        "set up the local stack from scratch: database `{}` and table `{}` at {}",
        ctx.pg()?.dbname,
        ddb.table,
        ddb.endpoint
    );
    rebuild.steps.push(Step::TableLoad(table));
    rebuild.steps.push(Step::TableSeed(seed));
    guarded::run(ctx, Prepared::Write(rebuild))
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
