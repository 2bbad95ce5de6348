//! `cruddur db migrations [--check]`: every migration file of the app, and whether the
//! database has it. A read: no table is created.

use anyhow::{anyhow, Result};

use super::require_folder;
use crate::cli::MigrationsArgs;
use crate::ctx::Ctx;
use crate::migrations::{read_all, read_state, statuses};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, args: &MigrationsArgs) -> Result<Outcome> {
    let folder = require_folder(ctx, args.dir.migrations_dir.as_deref())?;
    let migrations = read_all(&folder)?;
    let pg = ctx.pg()?;
    let mut client = pg.connect()?;
    let state = read_state(&mut client)?;
    let rows = statuses(&migrations, &state);
    for row in rows.iter().filter(|r| r.warning.is_some()) {
        ctx.warn(format!(
            "{}: {}",
            row.file,
            row.warning.as_deref().unwrap_or_default()
        ));
    }
    let pending = rows.iter().filter(|r| r.state == "pending").count();
    let outcome = Outcome::rows(&["version", "name", "state", "file", "warning"], &rows)?;
    if args.check && pending > 0 {
        return Ok(Outcome::Failing {
            outcome: Box::new(outcome),
            error: anyhow!(
                "{pending} migration{} pending in `{}`: apply with `cruddur db migrate`",
                if pending == 1 { " is" } else { "s are" },
                pg.dbname
            ),
        });
    }
    Ok(outcome)
}
