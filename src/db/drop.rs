//! `cruddur db drop [--force]`: drop the URL's database if it exists, refusing while other
//! sessions use it unless --force terminates them.

use anyhow::{anyhow, Result};
use postgres::error::SqlState;
use serde::Serialize;

use crate::cli::DropArgs;
use crate::ctx::Ctx;
use crate::error::refused;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;
use crate::pg::{database_exists, marker};
use crate::pg::{db_message, quote_ident, sessions, PgTarget, Session};

#[derive(Debug, Serialize)]
pub struct DropReport {
    pub database: String,
    pub dropped: bool,
    pub terminated: Vec<Session>,
}

impl DropReport {
    pub fn summary(&self) -> String {
        match (self.dropped, self.terminated.len()) {
            (false, _) => format!(
                "database `{}` does not exist; nothing to drop",
                self.database
            ),
            (true, 0) => format!("dropped database `{}`", self.database),
            (true, n) => format!(
                "dropped database `{}`, terminating {n} session{}: {}",
                self.database,
                if n == 1 { "" } else { "s" },
                describe_all(&self.terminated)
            ),
        }
    }
}

pub fn run(ctx: &Ctx, args: &DropArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    drop_database(ctx, pg, args.force)?.outcome(|report| Outcome::done(report.summary(), &report))
}

/// Drop the database if it exists, through the guard; refused while others use it unless
/// `force`.
pub fn drop_database(ctx: &Ctx, pg: &PgTarget, force: bool) -> Result<Done<DropReport>> {
    if ["postgres", "template0", "template1"].contains(&pg.dbname.as_str()) {
        return Err(refused(format!(
            "refusing to drop `{}`: it is one of the server's own databases",
            pg.dbname
        )));
    }
    let mut client = pg.connect_maintenance()?;
    let mut report = DropReport {
        database: pg.dbname.clone(),
        dropped: false,
        terminated: Vec::new(),
    };
    if !database_exists(&mut client, &pg.dbname)? {
        return Ok(Done::Executed(report));
    }
    let others = sessions(&mut client, Some(&pg.dbname))?;
    let name = quote_ident(&pg.dbname);
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])?
        .get(0);
    // WITH (FORCE) terminates and drops in one step, so no session can slip in between.
    let statement = if force && version >= 130_000 {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    } else {
        format!("DROP DATABASE IF EXISTS {name}")
    };
    let mut actions = vec![statement.clone()];
    actions.extend(others.iter().map(|s| {
        format!(
            "{} session {}",
            if force { "terminate" } else { "refuse while" },
            s.describe()
        )
    }));
    let plan = Plan {
        destination: pg.destination(),
        summary: format!("drop database `{}`", pg.dbname),
        actions,
        confirm: pg.dbname.clone(),
    };
    let marker = marker(&mut client, &pg.dbname);
    guarded::write(ctx, &plan, Some(marker), || {
        if !others.is_empty() && !force {
            return Err(in_use(pg, &others));
        }
        let result = if force && version >= 130_000 {
            client.batch_execute(&statement)
        } else {
            if force {
                client.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&pg.dbname],
                )?;
            }
            client.batch_execute(&statement)
        };
        match result {
            Ok(()) => {
                report.dropped = true;
                report.terminated = if force { others } else { Vec::new() };
                Ok(report)
            }
            // A session connected between the check and the drop.
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) => {
                let now = sessions(&mut client, Some(&pg.dbname))?;
                Err(in_use(pg, &now))
            }
            Err(e) => Err(anyhow!(
                "could not drop database `{}` on {}: {}",
                pg.dbname,
                pg.server(),
                db_message(&e)
            )),
        }
    })
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
