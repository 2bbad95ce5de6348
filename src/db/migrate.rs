//! `cruddur db migrate [--to VERSION]`: apply the app's pending migrations, oldest first (as
//! time, not as integers), each with its marker update and its record in ONE transaction;
//! stop at the first failure, which applies nothing of that migration.

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::migration::{
    read_all, read_state, require_folder, statuses, Folder, Migration, State, Version,
    CREATE_MARKER, CREATE_RECORDS,
};
use super::{run_statements, split};
use crate::cli::MigrateArgs;
use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;
use crate::pg::PgTarget;

#[derive(Debug, Default, Serialize)]
pub struct MigrateReport {
    pub database: String,
    /// `<version>_<name>` of each migration applied, in order.
    pub applied: Vec<String>,
    /// The app's marker afterwards.
    pub marker: String,
}

impl MigrateReport {
    pub fn summary(&self) -> String {
        match self.applied.len() {
            0 => format!(
                "`{}` has every migration (marker {}); nothing to do",
                self.database, self.marker
            ),
            n => format!(
                "applied {n} migration{} to `{}`: {}; marker {}",
                if n == 1 { "" } else { "s" },
                self.database,
                self.applied.join(", "),
                self.marker
            ),
        }
    }
}

pub fn run(ctx: &Ctx, args: &MigrateArgs) -> Result<Outcome> {
    let folder = require_folder(ctx, args.dir.migrations_dir.as_deref())?;
    let to = match &args.to {
        Some(text) => Some(Version::parse(text).ok_or_else(|| {
            anyhow!(
                "--to `{}` is not a migration version (the digits of a file name)",
                crate::text::cut(text, 40)
            )
        })?),
        None => None,
    };
    let pg = ctx.pg()?;
    migrate(ctx, pg, &folder, to.as_ref())?
        .outcome(|report| Outcome::done(report.summary(), &report))
}

/// Apply what is pending (up to `to`), through the guard.
pub fn migrate(
    ctx: &Ctx,
    pg: &PgTarget,
    folder: &Folder,
    to: Option<&Version>,
) -> Result<Done<MigrateReport>> {
    let migrations = read_all(folder)?;
    if let Some(to) = to {
        if !migrations.iter().any(|m| m.version == *to) {
            return Err(anyhow!(
                "--to {}: no file in {} has that version",
                to.0,
                folder.shown
            ));
        }
    }
    let mut client = pg.connect()?;
    // Two runs at once (two CI jobs, two terminals): the second waits, then finds what is left.
    if !ctx.dry_run {
        crate::pg::lock_migrations(&mut client, pg, |words| ctx.info(words))?;
    }
    let state = read_state(&mut client)?;
    let pending: Vec<&Migration> = migrations
        .iter()
        .zip(statuses(&migrations, &state))
        .filter(|(m, status)| status.state == "pending" && to.is_none_or(|to| m.version <= *to))
        .map(|(m, _)| m)
        .collect();
    let mut report = MigrateReport {
        database: pg.dbname.clone(),
        applied: Vec::new(),
        marker: state.marker.0.clone(),
    };
    if pending.is_empty() {
        return Ok(Done::Executed(report));
    }
    // Every file is split before anything runs: a file that cannot be read stops it all.
    let statements = pending
        .iter()
        .map(|m| split(&m.migrate))
        .collect::<Result<Vec<_>>>()?;
    let mut marker = state.marker.clone();
    let mut actions = Vec::new();
    for (m, statements) in pending.iter().zip(&statements) {
        marker = marker.max(m.version.clone());
        actions.push(format!(
            "{}_{}: {} statement{} from {}, then last_successful_run = {}{}",
            m.version.0,
            m.name,
            statements.len(),
            if statements.len() == 1 { "" } else { "s" },
            m.shown,
            marker.0,
            if statements.is_empty() {
                " (its migrate_sql is empty)"
            } else {
                ""
            }
        ));
    }
    let plan = Plan {
        destination: pg.destination(),
        summary: format!(
            "apply {} migration{}, oldest first, each in one transaction with its marker",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" }
        ),
        actions,
        confirm: pg.dbname.clone(),
    };
    let current = crate::pg::marker(&mut client, &pg.dbname);
    guarded::write(ctx, &plan, Some(current), || {
        prepare(&mut client, &migrations, &state)?;
        let mut marker = state.marker.clone();
        for (m, statements) in pending.iter().zip(&statements) {
            crate::interrupt::check(|| {
                format!(
                    "applied {} of {} migrations; the rest are still pending",
                    report.applied.len(),
                    pending.len()
                )
            })?;
            let next = marker.clone().max(m.version.clone());
            run_statements(ctx, &mut client, &m.migrate, statements, |tx| {
                tx.execute(
                    "UPDATE public.schema_information SET last_successful_run = $1 WHERE id = 1",
                    &[&next.0],
                )?;
                tx.execute(
                    "INSERT INTO public.cruddur_migrations (version, name, checksum, how) \
                     VALUES ($1, $2, $3, 'applied') ON CONFLICT (version) DO UPDATE \
                     SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, how = 'applied', applied_at = now()",
                    &[&m.version.0, &m.name, &m.checksum],
                )?;
                Ok(())
            })
            .map_err(|error| {
                anyhow!(
                    "{error:#}\nmigration {}_{} was not applied{}; the marker stays at {}",
                    m.version.0,
                    m.name,
                    if report.applied.is_empty() {
                        String::new()
                    } else {
                        format!(" (applied before it: {})", report.applied.join(", "))
                    },
                    marker.0
                )
            })?;
            marker = next;
            report.applied.push(format!("{}_{}", m.version.0, m.name));
            report.marker = marker.0.clone();
        }
        Ok(report)
    })
}

/// The app's marker table (id 1, `'0'`) and cruddur's records, when missing. A database
/// whose marker the app's scripts set is adopted: every file up to the marker is recorded as
/// applied, so that a file that appears below it later is noticed.
pub fn prepare(
    client: &mut postgres::Client,
    migrations: &[Migration],
    state: &State,
) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(CREATE_MARKER)?;
    if !state.has_records_table {
        tx.batch_execute(CREATE_RECORDS)?;
        for m in migrations.iter().filter(|m| m.version <= state.marker) {
            tx.execute(
                "INSERT INTO public.cruddur_migrations (version, name, checksum, how) \
                 VALUES ($1, $2, $3, 'adopted') ON CONFLICT (version) DO NOTHING",
                &[&m.version.0, &m.name, &m.checksum],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}
