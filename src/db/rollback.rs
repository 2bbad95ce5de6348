//! `cruddur db rollback [--steps N]`: undo the newest applied migrations, newest first, each
//! with its marker update in ONE transaction. Afterwards the marker names the newest
//! migration still applied, or `0` (the old script set it to the undone file's own number).

use anyhow::{anyhow, Result};
use serde_json::json;

use super::migrate::prepare;
use super::migration::{read_all, read_state, require_folder, statuses, Migration};
use super::{run_statements, split};
use crate::cli::RollbackArgs;
use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &RollbackArgs) -> Result<Outcome> {
    let folder = require_folder(ctx, args.dir.migrations_dir.as_deref())?;
    let migrations = read_all(&folder)?;
    let pg = ctx.pg()?;
    let mut client = pg.connect()?;
    if !ctx.dry_run {
        crate::pg::lock_migrations(&mut client, pg, |words| ctx.info(words))?;
    }
    let state = read_state(&mut client)?;
    // Applied, newest first; each undo leaves the next one as the newest applied.
    let applied: Vec<&Migration> = migrations
        .iter()
        .zip(statuses(&migrations, &state))
        .filter(|(_, status)| status.state == "applied")
        .map(|(m, _)| m)
        .rev()
        .collect();
    if applied.is_empty() {
        return Outcome::done(
            format!(
                "`{}` has no applied migration; nothing to roll back",
                pg.dbname
            ),
            json!({ "database": pg.dbname, "rolled_back": [], "marker": state.marker.0 }),
        );
    }
    if args.steps > applied.len() {
        ctx.warn(format!(
            "--steps {}: only {} migration{} applied; undoing them all",
            args.steps,
            applied.len(),
            if applied.len() == 1 { " is" } else { "s are" }
        ));
    }
    let undo: Vec<&Migration> = applied.iter().take(args.steps).copied().collect();
    let after = |i: usize| {
        applied
            .get(i + 1)
            .map_or_else(|| "0".to_string(), |m| m.version.0.clone())
    };
    let statements = undo
        .iter()
        .map(|m| split(&m.rollback))
        .collect::<Result<Vec<_>>>()?;
    let actions = undo
        .iter()
        .zip(&statements)
        .enumerate()
        .map(|(i, (m, statements))| {
            format!(
                "undo {}_{}: {} statement{} of its rollback_sql, then last_successful_run = {}{}",
                m.version.0,
                m.name,
                statements.len(),
                if statements.len() == 1 { "" } else { "s" },
                after(i),
                if statements.is_empty() {
                    " (its rollback_sql is empty: only the marker moves)"
                } else {
                    ""
                }
            )
        })
        .collect();
    let plan = Plan {
        destination: pg.destination(),
        summary: format!(
            "roll back {} migration{}, newest first, each in one transaction with its marker",
            undo.len(),
            if undo.len() == 1 { "" } else { "s" }
        ),
        actions,
        confirm: pg.dbname.clone(),
    };
    let current = crate::pg::marker(&mut client, &pg.dbname);
    let done = guarded::write(ctx, &plan, Some(current), || {
        prepare(&mut client, &migrations, &state)?;
        let mut undone: Vec<String> = Vec::new();
        for (i, (m, statements)) in undo.iter().zip(&statements).enumerate() {
            crate::interrupt::check(|| format!("rolled back {} of {}", undone.len(), undo.len()))?;
            let marker = after(i);
            run_statements(ctx, &mut client, &m.rollback, statements, |tx| {
                tx.execute(
                    "UPDATE public.schema_information SET last_successful_run = $1 WHERE id = 1",
                    &[&marker],
                )?;
                tx.execute(
                    "DELETE FROM public.cruddur_migrations WHERE version = $1",
                    &[&m.version.0],
                )?;
                Ok(())
            })
            .map_err(|error| {
                anyhow!(
                    "{error:#}\nmigration {}_{} is still applied{}",
                    m.version.0,
                    m.name,
                    if undone.is_empty() {
                        String::new()
                    } else {
                        format!(" (rolled back before it: {})", undone.join(", "))
                    }
                )
            })?;
            undone.push(format!("{}_{}", m.version.0, m.name));
        }
        Ok((undone, after(undo.len() - 1)))
    })?;
    let (undone, marker) = match done {
        Done::Planned(plan) => return Ok(plan),
        Done::Executed(result) => result,
    };
    Outcome::done(
        format!(
            "rolled back {} migration{} of `{}`: {}; marker {marker}",
            undone.len(),
            if undone.len() == 1 { "" } else { "s" },
            pg.dbname,
            undone.join(", ")
        ),
        json!({ "database": pg.dbname, "rolled_back": undone, "marker": marker }),
    )
}
