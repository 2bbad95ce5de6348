//! `cruddur db schema-load [--file PATH]`: the schema, in one transaction.

use anyhow::Result;

use super::{load_file, LoadReport, SqlSource};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::sql;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let source = SqlSource::new(args.file.as_deref(), "sql/schema.sql", sql::SCHEMA)?;
    load_file(ctx, pg, &source, true)?
        .outcome(|report| Outcome::done(summary("loaded", &report), &report))
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
