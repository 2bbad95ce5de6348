//! `cruddur db schema-load [--file PATH]`: the schema — the app's `schema.sql` inside its
//! repository, else the built-in one — in one transaction.

use anyhow::Result;

use super::{load_file, Load, LoadReport};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let source = ctx.app()?.schema(args.file.as_deref())?;
    let pg = ctx.pg()?;
    load_file(ctx, pg, &source, Load::Schema)?.outcome(|report| {
        if let Some(reset) = &report.migrations_reset {
            ctx.warn(reset.sentence(&report.file));
        }
        Outcome::done(summary("loaded", &report), &report)
    })
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
