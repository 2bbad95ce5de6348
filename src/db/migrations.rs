//! `cruddur db migrations [--check]`: every migration file of the app, and whether the
//! database has it (applied, edited since, or pending). A read: no table is created.

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
    let edited: Vec<&str> = rows
        .iter()
        .filter(|r| r.state == "edited")
        .map(|r| r.name.as_str())
        .collect();
    let outcome = Outcome::rows(&["version", "name", "state", "file", "warning"], &rows)?;
    if args.check && !edited.is_empty() {
        return Ok(Outcome::Failing {
            outcome: Box::new(outcome),
            error: anyhow!(
                "{} migration{} of `{}` {} edited since {} applied ({}): put the file back, or \
                 record it as it is now with `cruddur db migrate --accept-edited NAME`",
                edited.len(),
                if edited.len() == 1 { "" } else { "s" },
                pg.dbname,
                if edited.len() == 1 { "was" } else { "were" },
                if edited.len() == 1 {
                    "it was"
                } else {
                    "they were"
                },
                edited.join(", ")
            ),
        });
    }
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
