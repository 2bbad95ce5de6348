//! `cruddur db seed [--file PATH]`: the seed data — the app's `seed.sql` inside its
//! repository, else the built-in one — in one transaction.

use anyhow::Result;

use super::schema_load::summary;
use super::{load_file, Load};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let source = ctx.app()?.seed(args.file.as_deref())?;
    let pg = ctx.pg()?;
    load_file(ctx, pg, &source, Load::Seed)?
        .outcome(|report| Outcome::done(summary("seeded", &report), &report))
}
