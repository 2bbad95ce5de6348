//! `cruddur db seed [--file PATH]`: the seed data — the app's `seed.sql` inside its
//! repository, else the built-in one — in one transaction.

use anyhow::Result;

use super::{prepare_load, Load};
use crate::cli::SqlFileArgs;
use crate::ctx::Ctx;
use crate::guarded::{self, Prepared};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, args: &SqlFileArgs) -> Result<Outcome> {
    let source = ctx.app()?.seed(args.file.as_deref())?;
    let load = prepare_load(ctx, ctx.pg()?, &source, Load::Seed)?;
    guarded::run(ctx, Prepared::Write(load))
}
