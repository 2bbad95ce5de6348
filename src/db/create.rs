//! `cruddur db create`: create the URL's database through the maintenance database.

use std::fmt;

use anyhow::{anyhow, Result};
use postgres::error::SqlState;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::PgOp;
use crate::output::Outcome;
use crate::pg::database_exists;
use crate::pg::perform::Writes;
use crate::pg::{db_message, quote_ident, PgTarget};

pub(crate) fn run(ctx: &Ctx) -> Result<Outcome> {
    guarded::run(ctx, prepare(ctx.pg()?)?)
}

#[derive(Debug, Serialize)]
pub(crate) struct CreateReport {
    pub database: String,
    /// False: it was there already (or someone created it meanwhile).
    pub created: bool,
    #[serde(skip)]
    server: String,
}

impl Report for CreateReport {}

impl fmt::Display for CreateReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.created {
            write!(f, "created database `{}` on {}", self.database, self.server)
        } else {
            write!(
                f,
                "database `{}` already exists on {}; nothing to do",
                self.database, self.server
            )
        }
    }
}

/// `CREATE DATABASE`, on the maintenance connection that found it missing.
pub(crate) struct CreateDatabase<'a> {
    pg: &'a PgTarget,
    writes: Writes,
    statement: String,
}

/// Nothing to do when the database is there; else the statement that creates it.
pub(crate) fn prepare(pg: &PgTarget) -> Result<Prepared<CreateDatabase<'_>>> {
    let mut client = pg.connect_maintenance()?;
    if database_exists(&mut client, &pg.dbname)? {
        return Ok(Prepared::Nothing(report(pg, false)));
    }
    Ok(Prepared::Write(CreateDatabase {
        pg,
        writes: Writes::new(client),
        statement: format!("CREATE DATABASE {}", quote_ident(&pg.dbname)),
    }))
}

fn report(pg: &PgTarget, created: bool) -> CreateReport {
    CreateReport {
        database: pg.dbname.clone(),
        created,
        server: pg.server(),
    }
}

impl Write for CreateDatabase<'_> {
    type Report = CreateReport;

    fn plan(&self) -> Plan {
        Plan::new(
            self.pg.destination(),
            format!("create database `{}`", self.pg.dbname),
            vec![PgOp::Statement {
                sql: self.statement.clone(),
            }
            .into()],
            &self.pg.dbname,
        )
    }

    fn execute(mut self, _: &Ctx) -> Result<CreateReport> {
        let pg = self.pg;
        match self.writes.statement(&self.statement) {
            Ok(()) => Ok(report(pg, true)),
            // Someone else created it between the check and now.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(report(pg, false)),
            Err(e) => Err(anyhow!(
                "could not create database `{}` on {}: {}",
                pg.dbname,
                pg.server(),
                db_message(&e)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    #[test]
    fn create_performs_the_statement_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur_new");
        let (writes, recorder) = Writes::recording();
        let write = CreateDatabase {
            pg: &pg,
            writes,
            statement: "CREATE DATABASE \"cruddur_new\"".into(),
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 1);
    }
}
