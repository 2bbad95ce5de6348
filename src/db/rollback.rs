//! `cruddur db rollback [--steps N]`: undo the newest applied migrations, newest first, each
//! with its marker update in ONE transaction. Afterwards the marker names the newest
//! migration still applied, or `0` (the old script set it to the undone file's own number).

use std::fmt;

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::migrate::{prepare, SET_MARKER};
use super::require_folder;
use super::{run_statements, split};
use crate::cli::RollbackArgs;
use crate::ctx::Ctx;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::migrations::{read_all, read_state, statuses, Migration, State};
use crate::ops::{Op, PgOp};
use crate::output::Outcome;
use crate::pg::perform::Writes;
use crate::pg::PgTarget;
use crate::sql;

#[derive(Debug, Serialize)]
pub(super) struct RollbackReport {
    pub database: String,
    /// `<version>_<name>` of each migration undone, newest first.
    pub rolled_back: Vec<String>,
    /// The app's marker afterwards.
    pub marker: String,
}

impl Report for RollbackReport {}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.rolled_back.len() {
            0 => write!(
                f,
                "`{}` has no applied migration; nothing to roll back",
                self.database
            ),
            n => write!(
                f,
                "rolled back {n} migration{} of `{}`: {}; marker {}",
                if n == 1 { "" } else { "s" },
                self.database,
                self.rolled_back.join(", "),
                self.marker
            ),
        }
    }
}

pub(super) fn run(ctx: &Ctx, args: &RollbackArgs) -> Result<Outcome> {
    let folder = require_folder(ctx, args.dir.migrations_dir.as_deref())?;
    let migrations = read_all(&folder)?;
    guarded::run(
        ctx,
        prepare_rollback(ctx, ctx.pg()?, &migrations, args.steps)?,
    )
}

/// The newest `steps` applied migrations, newest first, each with its rollback statements
/// and the marker after it.
pub(super) struct Rollback<'a> {
    pg: &'a PgTarget,
    /// The connection that holds the migrations lock.
    writes: Writes,
    migrations: &'a [Migration],
    state: State,
    undo: Vec<Undo<'a>>,
    marker: Marker,
}

struct Undo<'a> {
    migration: &'a Migration,
    statements: Vec<sql::Statement<'a>>,
    /// The newest migration still applied once this one is undone, or `0`.
    marker_after: String,
}

impl Undo<'_> {
    /// The undo as one operation: its statements, its marker and its record.
    fn op(&self) -> PgOp {
        let m = self.migration;
        PgOp::Rollback {
            version: m.version.0.to_string(),
            name: m.name.clone(),
            statements: self.statements.len(),
            marker_after: self.marker_after.to_string(),
        }
    }
}

/// What to undo, holding the migrations lock from here on (a dry run too).
fn prepare_rollback<'a>(
    ctx: &Ctx,
    pg: &'a PgTarget,
    migrations: &'a [Migration],
    steps: usize,
) -> Result<Prepared<Rollback<'a>>> {
    let mut client = pg.connect()?;
    crate::pg::lock_migrations(&mut client, pg, |words| ctx.info(words))?;
    let state = read_state(&mut client)?;
    // Applied, newest first; each undo leaves the next one as the newest applied.
    let applied: Vec<&Migration> = migrations
        .iter()
        .zip(statuses(migrations, &state))
        .filter(|(_, status)| status.applied())
        .map(|(m, _)| m)
        .rev()
        .collect();
    if applied.is_empty() {
        return Ok(Prepared::Nothing(RollbackReport {
            database: pg.dbname.clone(),
            rolled_back: Vec::new(),
            marker: state.marker.0.clone(),
        }));
    }
    if steps > applied.len() {
        ctx.warn(format!(
            "--steps {steps}: only {} migration{} applied; undoing them all",
            applied.len(),
            if applied.len() == 1 { " is" } else { "s are" }
        ));
    }
    let undo = applied
        .iter()
        .take(steps)
        .enumerate()
        .map(|(i, m)| {
            Ok(Undo {
                migration: m,
                statements: split(&m.rollback)?,
                marker_after: applied
                    .get(i + 1)
                    .map_or_else(|| "0".to_string(), |next| next.version.0.clone()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let marker = Marker::read(&crate::pg::marker(&mut client, &pg.dbname));
    Ok(Prepared::Write(Rollback {
        pg,
        writes: Writes::new(client),
        migrations,
        state,
        undo,
        marker,
    }))
}

impl Write for Rollback<'_> {
    type Report = RollbackReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = self.undo.iter().map(|u| u.op().into()).collect();
        if let Some(made) = crate::migrations::tables_to_make(self.migrations, &self.state) {
            ops.insert(0, made.into());
        }
        let n = self.undo.len();
        // cruddur takes no RDS snapshot (that needs RDS permissions and minutes): the plan says
        // what protects the data instead.
        if self.pg.target == crate::target::Target::Prod {
            ops.insert(0, PgOp::NoSnapshot.into());
        }
        Plan::new(
            self.pg.destination(),
            format!(
                "roll back {n} migration{}, newest first, each in one transaction with its marker",
                if n == 1 { "" } else { "s" }
            ),
            ops,
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, ctx: &Ctx) -> Result<RollbackReport> {
        prepare(&mut self.writes, self.migrations, &self.state)?;
        let mut report = RollbackReport {
            database: self.pg.dbname.clone(),
            rolled_back: Vec::new(),
            marker: self.state.marker.0.clone(),
        };
        let total = self.undo.len();
        for u in &self.undo {
            let m = u.migration;
            crate::interrupt::check(|| {
                format!("rolled back {} of {total}", report.rolled_back.len())
            })?;
            run_statements(
                ctx.printer,
                &mut self.writes,
                &m.rollback,
                &u.statements,
                Some(u.op()),
                |tx| {
                    let Some(tx) = tx.server() else {
                        return Ok(());
                    };
                    tx.execute(SET_MARKER, &[&u.marker_after])?;
                    tx.execute(
                        "DELETE FROM public.cruddur_migrations WHERE version = $1",
                        &[&m.version.0],
                    )?;
                    Ok(())
                },
            )
            .map_err(|error| {
                anyhow!(
                    "{error:#}\nmigration {}_{} is still applied{}",
                    m.version.0,
                    m.name,
                    if report.rolled_back.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (rolled back before it: {})",
                            report.rolled_back.join(", ")
                        )
                    }
                )
            })?;
            report
                .rolled_back
                .push(format!("{}_{}", m.version.0, m.name));
            report.marker = u.marker_after.clone();
        }
        Ok(report)
    }
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;
    use crate::migrations::Version;

    /// Both migrations undone, newest first, each with its marker and record, as planned.
    #[test]
    fn rolling_back_performs_what_it_planned() {
        let (_dir, migrations) = crate::migrations::scratch();
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, recorder) = Writes::recording();
        let state = State {
            marker: migrations[1].version.clone(),
            has_marker_table: true,
            has_records_table: true,
            records: Default::default(),
        };
        let undo = vec![
            Undo {
                migration: &migrations[1],
                statements: split(&migrations[1].rollback).unwrap(),
                marker_after: migrations[0].version.0.clone(),
            },
            Undo {
                migration: &migrations[0],
                statements: split(&migrations[0].rollback).unwrap(),
                marker_after: Version("0".into()).0,
            },
        ];
        let write = Rollback {
            pg: &pg,
            writes,
            migrations: &migrations,
            state,
            undo,
            marker: Marker::Unmarked,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 2, "{performed:?}");
    }
}
