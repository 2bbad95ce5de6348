//! `cruddur db schema-load [--file PATH]`: the schema, in one transaction.

use anyhow::Result;

use super::{dry_run_file, load_file, LoadReport, SqlSource};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::sql;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let source = SqlSource::new(args.file.as_deref(), "sql/schema.sql", sql::SCHEMA)?;
    if ctx.dry_run {
        return dry_run_file(pg, &source, true);
    }
    ctx.confirm_destructive(
        &format!(
            "load {} into `{}` on {} (its tables are dropped and made anew)",
            source.name,
            pg.dbname,
            pg.server()
        ),
        &pg.dbname,
    )?;
    let report = load_file(ctx, pg, &source, true)?;
    Outcome::done(summary("loaded", &report), &report)
}

pub fn summary(verb: &str, report: &LoadReport) -> String {
    format!(
        "{verb} {} into `{}`: {} statement{} in {} ms",
        report.file,
        report.database,
        report.statements,
        if report.statements == 1 { "" } else { "s" },
        report.elapsed_ms
    )
}
