//! `cruddur db migrate [--to VERSION]`: apply the app's pending migrations, oldest first (as
//! time, not as integers), each with its marker update and its record in ONE transaction;
//! stop at the first failure, which applies nothing of that migration.

use std::fmt;

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::{require_folder, run_statements, split};
use crate::cli::MigrateArgs;
use crate::ctx::Ctx;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::migrations::{
    read_all, read_state, statuses, Folder, Migration, State, Version, CREATE_MARKER,
    CREATE_RECORDS,
};
use crate::ops::{Op, PgOp};
use crate::output::Outcome;
use crate::pg::perform::Writes;
use crate::pg::PgTarget;
use crate::sql;

#[derive(Debug, Default, Serialize)]
pub(crate) struct MigrateReport {
    pub database: String,
    /// `<version>_<name>` of each migration applied, in order.
    pub applied: Vec<String>,
    /// The app's marker afterwards.
    pub marker: String,
    /// Migrations edited after they were applied, accepted as they are now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    /// Applied migrations whose checksums were recorded now (they had none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recorded: Vec<String>,
}

impl Report for MigrateReport {}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.applied.len() {
            0 if self.accepted.is_empty() && self.recorded.is_empty() => write!(
                f,
                "`{}` has every migration (marker {}); nothing to do",
                self.database, self.marker
            ),
            0 => write!(
                f,
                "`{}` has every migration (marker {})",
                self.database, self.marker
            ),
            n => write!(
                f,
                "applied {n} migration{} to `{}`: {}; marker {}",
                if n == 1 { "" } else { "s" },
                self.database,
                self.applied.join(", "),
                self.marker
            ),
        }?;
        if !self.recorded.is_empty() {
            write!(f, "; checksums recorded: {}", self.recorded.join(", "))?;
        }
        if !self.accepted.is_empty() {
            write!(f, "; accepted as edited: {}", self.accepted.join(", "))?;
        }
        Ok(())
    }
}

pub(crate) fn run(ctx: &Ctx, args: &MigrateArgs) -> Result<Outcome> {
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
    let migrations = read_all(&folder)?;
    if let Some(baseline) = &args.baseline {
        let prepared = prepare_baseline(ctx, ctx.pg()?, &folder, &migrations, baseline)?;
        return guarded::run(ctx, prepared);
    }
    guarded::run(
        ctx,
        prepare_migrate(
            ctx,
            ctx.pg()?,
            &folder,
            &migrations,
            to.as_ref(),
            &args.accept_edited,
        )?,
    )
}

/// Whether `given` (an `--accept-edited` value) names `m`: its name, version or file stem.
fn names(given: &str, m: &Migration) -> bool {
    given == m.name || given == m.version.0 || given == format!("{}_{}", m.version.0, m.name)
}

/// The edited migrations `accept` names; an error for an edited one it does not name (the
/// database ran other SQL than the file holds), or for a name that is not an edited one.
fn accepted<'a>(
    migrations: &'a [Migration],
    statuses: &[crate::migrations::Status],
    accept: &[String],
    database: &str,
) -> Result<Vec<&'a Migration>> {
    let edited: Vec<(&Migration, &crate::migrations::Status)> = migrations
        .iter()
        .zip(statuses)
        .filter(|(_, status)| status.state == "edited")
        .collect();
    for given in accept {
        if !edited.iter().any(|(m, _)| names(given, m)) {
            return Err(anyhow!(
                "--accept-edited {given}: no migration of `{database}` has been edited since it was applied{}; nothing was applied",
                if edited.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (edited: {})",
                        edited
                            .iter()
                            .map(|(m, _)| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
        }
    }
    if let Some((m, status)) = edited
        .iter()
        .find(|(m, _)| !accept.iter().any(|given| names(given, m)))
    {
        return Err(anyhow!(
            "migration {}_{} ({}) was edited after it was applied to `{database}`: the database \
             ran {}, the file is now {}; nothing was applied. Put the file back as it was, or \
             pass --accept-edited {} to record it as it is now (its new SQL is not run)",
            m.version.0,
            m.name,
            m.shown,
            crate::text::checksum(status.recorded_checksum.as_deref().unwrap_or("")),
            crate::text::checksum(&m.checksum),
            m.name
        ));
    }
    Ok(edited.into_iter().map(|(m, _)| m).collect())
}

/// The pending migrations (up to `to`), each with its statements and the marker after it.
pub(crate) struct Migrate<'a> {
    pg: &'a PgTarget,
    /// The connection that holds the migrations lock.
    writes: Writes,
    migrations: &'a [Migration],
    state: State,
    /// Edited migrations accepted as they are now (`--accept-edited`).
    accepted: Vec<&'a Migration>,
    /// Applied migrations with no checksum recorded: recorded now.
    unrecorded: Vec<&'a Migration>,
    pending: Vec<Pending<'a>>,
    marker: Marker,
}

struct Pending<'a> {
    migration: &'a Migration,
    statements: Vec<sql::Statement<'a>>,
    /// The app's marker once it is applied.
    marker_after: Version,
}

impl Pending<'_> {
    /// The migration as one operation: its statements, its marker and its record.
    fn op(&self) -> PgOp {
        let m = self.migration;
        PgOp::Migrate {
            version: m.version.0.to_string(),
            name: m.name.clone(),
            file: m.shown.clone(),
            statements: self.statements.len(),
            marker_after: self.marker_after.0.to_string(),
        }
    }
}

/// What is pending (up to `to`) in `migrations` (the files of `folder`), holding the
/// migrations lock from here on: two runs at once (two CI jobs, two terminals), the second
/// waits, then finds what is left (a dry run too: it shows what would be left).
pub(crate) fn prepare_migrate<'a>(
    ctx: &Ctx,
    pg: &'a PgTarget,
    folder: &Folder,
    migrations: &'a [Migration],
    to: Option<&Version>,
    accept: &[String],
) -> Result<Prepared<Migrate<'a>>> {
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
    crate::pg::lock_migrations(&mut client, pg, |words| ctx.info(words))?;
    let state = read_state(&mut client)?;
    let statuses = statuses(migrations, &state);
    let accepted = accepted(migrations, &statuses, accept, &pg.dbname)?;
    // Without the records table, making it adopts them (`prepare`).
    let unrecorded = unrecorded(migrations, &statuses, &state);
    if !unrecorded.is_empty() {
        ctx.info(format!(
            "{} applied migration{} had no checksum (applied before cruddur recorded {}): \
             recorded now, as the files are",
            unrecorded.len(),
            if unrecorded.len() == 1 { "" } else { "s" },
            if unrecorded.len() == 1 { "it" } else { "them" }
        ));
    }
    let chosen: Vec<&Migration> = migrations
        .iter()
        .zip(&statuses)
        .filter(|(m, status)| status.state == "pending" && to.is_none_or(|to| m.version <= *to))
        .map(|(m, _)| m)
        .collect();
    if chosen.is_empty() && accepted.is_empty() && unrecorded.is_empty() {
        return Ok(Prepared::Nothing(MigrateReport {
            database: pg.dbname.clone(),
            applied: Vec::new(),
            marker: state.marker.0.clone(),
            accepted: Vec::new(),
            recorded: Vec::new(),
        }));
    }
    // Every file is split before anything runs: a file that cannot be read stops it all.
    let mut marker_after = state.marker.clone();
    let mut pending = Vec::new();
    for migration in chosen {
        marker_after = marker_after.max(migration.version.clone());
        pending.push(Pending {
            migration,
            statements: split(&migration.migrate)?,
            marker_after: marker_after.clone(),
        });
    }
    let marker = Marker::read(&crate::pg::marker(&mut client, &pg.dbname));
    Ok(Prepared::Write(Migrate {
        pg,
        writes: Writes::new(client),
        migrations,
        state,
        accepted,
        unrecorded,
        pending,
        marker,
    }))
}

impl Write for Migrate<'_> {
    type Report = MigrateReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = self
            .unrecorded_op()
            .into_iter()
            .map(Op::from)
            .chain(self.accepted.iter().map(|m| accept_op(m).into()))
            .chain(self.pending.iter().map(|p| p.op().into()))
            .collect();
        if let Some(made) = crate::migrations::tables_to_make(self.migrations, &self.state) {
            ops.insert(0, made.into());
        }
        let n = self.pending.len();
        // cruddur takes no RDS snapshot (that needs RDS permissions and minutes): the plan says
        // what protects the data instead.
        if self.pg.target == crate::target::Target::Prod {
            ops.insert(0, PgOp::NoSnapshot.into());
        }
        let summary = match (n, self.accepted.len()) {
            (0, 0) => "record the checksums of the applied migrations that have none".to_string(),
            (0, accepted) => format!(
                "accept {accepted} edited migration{} as {} now",
                if accepted == 1 { "" } else { "s" },
                if accepted == 1 { "it is" } else { "they are" }
            ),
            (n, _) => format!(
                "apply {n} migration{}, oldest first, each in one transaction with its marker",
                if n == 1 { "" } else { "s" }
            ),
        };
        Plan::new(self.pg.destination(), summary, ops, &self.pg.dbname)
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, ctx: &Ctx) -> Result<MigrateReport> {
        prepare(&mut self.writes, self.migrations, &self.state)?;
        let mut report = MigrateReport {
            database: self.pg.dbname.clone(),
            applied: Vec::new(),
            marker: self.state.marker.0.clone(),
            accepted: Vec::new(),
            recorded: Vec::new(),
        };
        if let Some(op) = record_op(&self.unrecorded) {
            let mut tx = self.writes.transaction()?;
            record(&mut tx, op, &self.unrecorded)?;
            tx.commit()?;
            report.recorded = self
                .unrecorded
                .iter()
                .map(|m| format!("{}_{}", m.version.0, m.name))
                .collect();
        }
        if !self.accepted.is_empty() {
            let mut tx = self.writes.transaction()?;
            for m in &self.accepted {
                tx.note(accept_op(m));
                if let Some(server) = tx.server() {
                    server.execute(
                        "UPDATE public.cruddur_migrations SET checksum = $2, how = 'accepted', \
                         applied_at = now() WHERE version = $1",
                        &[&m.version.0, &m.checksum],
                    )?;
                }
            }
            tx.commit()?;
            report.accepted = self
                .accepted
                .iter()
                .map(|m| format!("{}_{}", m.version.0, m.name))
                .collect();
        }
        let total = self.pending.len();
        for p in &self.pending {
            let m = p.migration;
            crate::interrupt::check(|| {
                format!(
                    "applied {} of {total} migrations; the rest are still pending",
                    report.applied.len(),
                )
            })?;
            let whole = Some(p.op());
            run_statements(ctx.printer, &mut self.writes, &m.migrate, &p.statements, whole, |tx| {
                let Some(tx) = tx.server() else {
                    return Ok(());
                };
                tx.execute(SET_MARKER, &[&p.marker_after.0])?;
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
                    report.marker
                )
            })?;
            report.applied.push(format!("{}_{}", m.version.0, m.name));
            report.marker = p.marker_after.0.clone();
        }
        Ok(report)
    }
}

impl Migrate<'_> {
    fn unrecorded_op(&self) -> Option<PgOp> {
        record_op(&self.unrecorded)
    }
}

/// Applied migrations with no checksum in cruddur's records (the app's own script applied
/// them). Without the records table, making it adopts them (`prepare`) instead. A later
/// record must never leave one of these behind it unrecorded: `statuses` would then take it
/// for a file that appeared late, and pending.
fn unrecorded<'a>(
    migrations: &'a [Migration],
    statuses: &[crate::migrations::Status],
    state: &State,
) -> Vec<&'a Migration> {
    migrations
        .iter()
        .zip(statuses)
        .filter(|(_, s)| state.has_records_table && s.applied() && s.recorded_checksum.is_none())
        .map(|(m, _)| m)
        .collect()
}

fn record_op(unrecorded: &[&Migration]) -> Option<PgOp> {
    (!unrecorded.is_empty()).then(|| PgOp::RecordChecksums {
        migrations: unrecorded
            .iter()
            .map(|m| format!("{}_{}", m.version.0, m.name))
            .collect(),
    })
}

/// Record `unrecorded`'s checksums as their files are now, in `tx`.
fn record(tx: &mut crate::pg::perform::Tx<'_>, op: PgOp, unrecorded: &[&Migration]) -> Result<()> {
    tx.note(op);
    if let Some(server) = tx.server() {
        for m in unrecorded {
            server.execute(
                "INSERT INTO public.cruddur_migrations (version, name, checksum, how) \
                 VALUES ($1, $2, $3, 'adopted') ON CONFLICT (version) DO NOTHING",
                &[&m.version.0, &m.name, &m.checksum],
            )?;
        }
    }
    Ok(())
}

/// What a baseline did.
#[derive(Debug, Serialize)]
pub(crate) struct BaselineReport {
    pub database: String,
    /// `<version>_<name>` of each migration marked as applied.
    pub marked: Vec<String>,
    /// The app's marker afterwards.
    pub marker: String,
}

impl Report for BaselineReport {}

impl fmt::Display for BaselineReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.marked.len() {
            0 => write!(
                f,
                "`{}` is already at {}; nothing to mark",
                self.database, self.marker
            ),
            n => write!(
                f,
                "marked {n} migration{} of `{}` as applied without running {}: {}; marker {}",
                if n == 1 { "" } else { "s" },
                self.database,
                if n == 1 { "it" } else { "them" },
                self.marked.join(", "),
                self.marker
            ),
        }
    }
}

/// `db migrate --baseline VERSION`: the migrations up to VERSION that the database does not
/// have yet, marked as applied without being run (a database built before its migrations
/// were tracked), each recorded with its checksum.
pub(crate) struct Baseline<'a> {
    pg: &'a PgTarget,
    /// The connection that holds the migrations lock.
    writes: Writes,
    migrations: &'a [Migration],
    state: State,
    version: Version,
    marked: Vec<&'a Migration>,
    /// Applied migrations with no checksum: recorded in the same transaction.
    unrecorded: Vec<&'a Migration>,
    marker: Marker,
}

fn prepare_baseline<'a>(
    ctx: &Ctx,
    pg: &'a PgTarget,
    folder: &Folder,
    migrations: &'a [Migration],
    text: &str,
) -> Result<Prepared<Baseline<'a>>> {
    let version = Version::parse(text)
        .filter(|v| migrations.iter().any(|m| m.version == *v))
        .ok_or_else(|| {
            anyhow!(
                "--baseline {}: no file in {} has that version; its versions: {}",
                crate::text::cut(text, 40),
                folder.shown,
                if migrations.is_empty() {
                    "none".to_string()
                } else {
                    migrations
                        .iter()
                        .map(|m| format!("{} ({})", m.version.0, m.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        })?;
    let mut client = pg.connect()?;
    crate::pg::lock_migrations(&mut client, pg, |words| ctx.info(words))?;
    let state = read_state(&mut client)?;
    let statuses = statuses(migrations, &state);
    let marked: Vec<&Migration> = migrations
        .iter()
        .zip(&statuses)
        .filter(|(m, status)| !status.applied() && m.version <= version)
        .map(|(m, _)| m)
        .collect();
    let unrecorded = unrecorded(migrations, &statuses, &state);
    if marked.is_empty() {
        return Ok(Prepared::Nothing(BaselineReport {
            database: pg.dbname.clone(),
            marked: Vec::new(),
            marker: state.marker.0.clone(),
        }));
    }
    let marker = Marker::read(&crate::pg::marker(&mut client, &pg.dbname));
    Ok(Prepared::Write(Baseline {
        pg,
        writes: Writes::new(client),
        migrations,
        state,
        version,
        marked,
        unrecorded,
        marker,
    }))
}

impl Baseline<'_> {
    /// The marker never moves back: a baseline below it only records the files it missed.
    fn marker_after(&self) -> Version {
        self.state.marker.clone().max(self.version.clone())
    }

    fn op(&self) -> PgOp {
        PgOp::Baseline {
            version: self.version.0.clone(),
            migrations: self.marked.len(),
            marker_after: self.marker_after().0,
        }
    }
}

impl Write for Baseline<'_> {
    type Report = BaselineReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = record_op(&self.unrecorded)
            .into_iter()
            .map(Op::from)
            .chain([self.op().into()])
            .collect();
        if let Some(made) = crate::migrations::tables_to_make(self.migrations, &self.state) {
            ops.insert(0, made.into());
        }
        if self.pg.target == crate::target::Target::Prod {
            ops.insert(0, PgOp::NoSnapshot.into());
        }
        Plan::new(
            self.pg.destination(),
            format!(
                "mark the migrations up to {} as applied, without running them",
                self.version.0
            ),
            ops,
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, _ctx: &Ctx) -> Result<BaselineReport> {
        prepare(&mut self.writes, self.migrations, &self.state)?;
        let (op, marker_after) = (self.op(), self.marker_after());
        let mut tx = self.writes.transaction()?;
        if let Some(recorded) = record_op(&self.unrecorded) {
            record(&mut tx, recorded, &self.unrecorded)?;
        }
        tx.note(op);
        if let Some(server) = tx.server() {
            server.execute(SET_MARKER, &[&marker_after.0])?;
            for m in &self.marked {
                server.execute(
                    "INSERT INTO public.cruddur_migrations (version, name, checksum, how) \
                     VALUES ($1, $2, $3, 'baseline') ON CONFLICT (version) DO UPDATE \
                     SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, how = 'baseline', \
                     applied_at = now()",
                    &[&m.version.0, &m.name, &m.checksum],
                )?;
            }
        }
        tx.commit()?;
        Ok(BaselineReport {
            database: self.pg.dbname.clone(),
            marked: self
                .marked
                .iter()
                .map(|m| format!("{}_{}", m.version.0, m.name))
                .collect(),
            marker: marker_after.0,
        })
    }
}

fn accept_op(m: &Migration) -> PgOp {
    PgOp::AcceptEdited {
        version: m.version.0.clone(),
        name: m.name.clone(),
        file: m.shown.clone(),
        checksum: m.checksum.clone(),
    }
}

/// Moves the app's marker, in a migration's transaction.
pub(crate) const SET_MARKER: &str =
    "UPDATE public.schema_information SET last_successful_run = $1 WHERE id = 1";

/// The app's marker table (id 1, `'0'`) and cruddur's records, when missing. A database
/// whose marker the app's scripts set is adopted: every file up to the marker is recorded as
/// applied, so that a file that appears below it later is noticed.
pub(crate) fn prepare(writes: &mut Writes, migrations: &[Migration], state: &State) -> Result<()> {
    let mut tx = writes.transaction()?;
    if let Some(made) = crate::migrations::tables_to_make(migrations, state) {
        tx.note(made);
    }
    let Some(server) = tx.server() else {
        return Ok(());
    };
    server.batch_execute(CREATE_MARKER)?;
    if !state.has_records_table {
        server.batch_execute(CREATE_RECORDS)?;
        for m in migrations.iter().filter(|m| m.version <= state.marker) {
            server.execute(
                "INSERT INTO public.cruddur_migrations (version, name, checksum, how) \
                 VALUES ($1, $2, $3, 'adopted') ON CONFLICT (version) DO NOTHING",
                &[&m.version.0, &m.name, &m.checksum],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// On a database the app never migrated: the migrations' tables first, then each
    /// migration (its statements, marker and record) in order, as planned.
    #[test]
    fn migrating_performs_what_it_planned() {
        let (_dir, migrations) = crate::migrations::scratch();
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, recorder) = Writes::recording();
        let state = State {
            marker: Version("0".into()),
            has_marker_table: false,
            has_records_table: false,
            records: Default::default(),
        };
        let pending = migrations
            .iter()
            .map(|m| Pending {
                migration: m,
                statements: split(&m.migrate).unwrap(),
                marker_after: m.version.clone(),
            })
            .collect();
        let write = Migrate {
            pg: &pg,
            writes,
            migrations: &migrations,
            state,
            accepted: Vec::new(),
            unrecorded: Vec::new(),
            pending,
            marker: Marker::Unmarked,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 3, "{performed:?}");
    }

    /// An edited migration accepted (its record rewritten), then the pending one applied.
    #[test]
    fn accepting_an_edit_performs_what_it_planned() {
        let (_dir, migrations) = crate::migrations::scratch();
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, recorder) = Writes::recording();
        let (first, second) = (&migrations[0], &migrations[1]);
        let state = State {
            marker: first.version.clone(),
            has_marker_table: true,
            has_records_table: true,
            records: [(first.version.0.clone(), "sha256:0".to_string())].into(),
        };
        let write = Migrate {
            pg: &pg,
            writes,
            migrations: &migrations,
            state,
            accepted: vec![first],
            unrecorded: Vec::new(),
            pending: vec![Pending {
                migration: second,
                statements: split(&second.migrate).unwrap(),
                marker_after: second.version.clone(),
            }],
            marker: Marker::Unmarked,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 2, "{performed:?}");
    }

    /// The tables, then the one baseline: the marker and the records, nothing run.
    #[test]
    fn a_baseline_performs_what_it_planned() {
        let (_dir, migrations) = crate::migrations::scratch();
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, recorder) = Writes::recording();
        let write = Baseline {
            pg: &pg,
            writes,
            migrations: &migrations,
            state: State {
                marker: Version("0".into()),
                has_marker_table: false,
                has_records_table: false,
                records: Default::default(),
            },
            version: migrations[0].version.clone(),
            marked: vec![&migrations[0]],
            unrecorded: Vec::new(),
            marker: Marker::Unmarked,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 2, "{performed:?}");
    }
}
