//! `cruddur db seed [--file PATH]`: the seed data, in one transaction.

use anyhow::Result;

use super::schema_load::summary;
use super::{dry_run_file, load_file, SqlSource};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::sql;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let source = SqlSource::new(args.file.as_deref(), "sql/seed.sql", sql::SEED)?;
    if ctx.dry_run {
        return dry_run_file(pg, &source, false);
    }
    ctx.confirm_destructive(
        &format!(
            "load {} into `{}` on {}",
            source.name,
            pg.dbname,
            pg.server()
        ),
        &pg.dbname,
    )?;
    let report = load_file(ctx, pg, &source, false)?;
    Outcome::done(summary("seeded", &report), &report)
}
