//! `cruddur db schema-load [--file PATH]`: the schema — the app's `schema.sql` inside its
//! repository, else the built-in one — in one transaction.

use anyhow::Result;

use super::{prepare_load, Load};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::guarded::{self, Prepared};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let source = ctx.app()?.schema(args.file.as_deref())?;
    let load = prepare_load(ctx, ctx.pg()?, &source, Load::Schema)?;
    guarded::run(ctx, Prepared::Write(load))
}
