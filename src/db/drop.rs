//! `cruddur db drop [--force]`: drop the URL's database if it exists, refusing while other
//! sessions use it unless --force terminates them.

use std::fmt;

use anyhow::{anyhow, Result};
use postgres::error::SqlState;
use serde::Serialize;

use crate::cli::DropArgs;
use crate::ctx::Ctx;
use crate::error::refused;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::{Op, PgOp};
use crate::output::Outcome;
use crate::pg::perform::Writes;
use crate::pg::{database_exists, marker};
use crate::pg::{db_message, quote_ident, sessions, PgTarget, Session};

pub(super) fn run(ctx: &Ctx, args: &DropArgs) -> Result<Outcome> {
    guarded::run(ctx, prepare(ctx.pg()?, args.force)?)
}

#[derive(Debug, Serialize)]
pub(crate) struct DropReport {
    pub database: String,
    pub dropped: bool,
    pub terminated: Vec<Session>,
}

impl Report for DropReport {}

impl fmt::Display for DropReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (self.dropped, self.terminated.len()) {
            (false, _) => write!(
                f,
                "database `{}` does not exist; nothing to drop",
                self.database
            ),
            (true, 0) => write!(f, "dropped database `{}`", self.database),
            (true, n) => write!(
                f,
                "dropped database `{}`, terminating {n} session{}: {}",
                self.database,
                if n == 1 { "" } else { "s" },
                describe_all(&self.terminated)
            ),
        }
    }
}

/// How the other sessions go before the database does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terminate {
    /// There are none.
    NoneOpen,
    /// Postgres ≥ 13: `WITH (FORCE)` terminates and drops in one step, so no session can slip
    /// in between.
    WithForce,
    /// Older servers: `pg_terminate_backend` first, then the drop.
    Backend,
}

/// The drop, on the maintenance connection that found the database and its sessions.
pub(crate) struct DropDatabase<'a> {
    pg: &'a PgTarget,
    writes: Writes,
    sessions: Vec<Session>,
    terminate: Terminate,
    marker: Marker,
}

/// Nothing to do when the database is not there; refused while other sessions use it unless
/// `force`; else the statements that drop it.
pub(crate) fn prepare(pg: &PgTarget, force: bool) -> Result<Prepared<DropDatabase<'_>>> {
    if ["postgres", "template0", "template1"].contains(&pg.dbname.as_str()) {
        return Err(refused(format!(
            "refusing to drop `{}`: it is one of the server's own databases",
            pg.dbname
        )));
    }
    let mut client = pg.connect_maintenance()?;
    if !database_exists(&mut client, &pg.dbname)? {
        return Ok(Prepared::Nothing(DropReport {
            database: pg.dbname.clone(),
            dropped: false,
            terminated: Vec::new(),
        }));
    }
    let others = sessions(&mut client, Some(&pg.dbname))?;
    if !others.is_empty() && !force {
        return Err(in_use(pg, &others));
    }
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])?
        .get(0);
    let terminate = match (force, version >= 130_000) {
        (false, _) => Terminate::NoneOpen,
        (true, true) => Terminate::WithForce,
        (true, false) => Terminate::Backend,
    };
    let marker = Marker::read(&marker(&mut client, &pg.dbname));
    Ok(Prepared::Write(DropDatabase {
        pg,
        writes: Writes::new(client),
        sessions: others,
        terminate,
        marker,
    }))
}

impl DropDatabase<'_> {
    fn statement(&self) -> String {
        let name = quote_ident(&self.pg.dbname);
        match self.terminate {
            Terminate::WithForce => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            Terminate::NoneOpen | Terminate::Backend => format!("DROP DATABASE IF EXISTS {name}"),
        }
    }
}

impl Write for DropDatabase<'_> {
    type Report = DropReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = Vec::new();
        if self.terminate == Terminate::Backend {
            ops.push(
                PgOp::TerminateOthers {
                    database: self.pg.dbname.clone(),
                }
                .into(),
            );
        }
        ops.push(
            PgOp::Statement {
                sql: self.statement(),
            }
            .into(),
        );
        ops.extend(self.sessions.iter().map(|s| {
            PgOp::TerminateSession {
                session: s.describe(),
            }
            .into()
        }));
        Plan::new(
            self.pg.destination(),
            format!("drop database `{}`", self.pg.dbname),
            ops,
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, _: &Ctx) -> Result<DropReport> {
        let pg = self.pg;
        let statement = self.statement();
        if self.terminate == Terminate::Backend {
            self.writes.terminate_others(&pg.dbname)?;
        }
        match self.writes.statement(&statement) {
            Ok(()) => Ok(DropReport {
                database: pg.dbname.clone(),
                dropped: true,
                terminated: self.sessions,
            }),
            // A session connected between the check and the drop.
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) => match self.writes.client() {
                Some(client) => Err(in_use(pg, &sessions(client, Some(&pg.dbname))?)),
                None => Err(anyhow!("database `{}` is in use", pg.dbname)),
            },
            Err(e) => Err(anyhow!(
                "could not drop database `{}` on {}: {}",
                pg.dbname,
                pg.server(),
                db_message(&e)
            )),
        }
    }
}

fn in_use(pg: &PgTarget, others: &[Session]) -> anyhow::Error {
    let list: Vec<String> = others
        .iter()
        .map(|s| format!("  {}", s.describe()))
        .collect();
    anyhow!(
        "database `{}` is in use by {} other session{}; nothing was dropped:\n{}\n\
         stop them (the app, psql), or re-run with --force to terminate them",
        pg.dbname,
        others.len(),
        if others.len() == 1 { "" } else { "s" },
        list.join("\n")
    )
}

fn describe_all(sessions: &[Session]) -> String {
    sessions
        .iter()
        .map(Session::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// Each way of ending the other sessions, then the DROP: what the plan said, in order.
    #[test]
    fn drop_performs_the_statements_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur_old");
        for (terminate, statements) in [
            (Terminate::NoneOpen, 1),
            (Terminate::WithForce, 1),
            (Terminate::Backend, 2),
        ] {
            let (writes, recorder) = Writes::recording();
            let write = DropDatabase {
                pg: &pg,
                writes,
                sessions: Vec::new(),
                terminate,
                marker: Marker::Unmarked,
            };
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
            assert_eq!(performed, planned, "{terminate:?}");
            assert_eq!(performed.len(), statements, "{terminate:?}");
        }
    }
}
