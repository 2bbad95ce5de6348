//! `cruddur db seed [--file PATH]`: the seed data, in one transaction.

use anyhow::Result;

use super::schema_load::summary;
use super::{load_file, SqlSource};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::sql;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let source = SqlSource::new(args.file.as_deref(), "sql/seed.sql", sql::SEED)?;
    load_file(ctx, pg, &source, false)?
        .outcome(|report| Outcome::done(summary("seeded", &report), &report))
}
