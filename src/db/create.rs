//! `cruddur db create`: create the URL's database through the maintenance database.

use anyhow::Result;
use postgres::error::SqlState;
use serde_json::json;

use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;
use crate::pg::database_exists;
use crate::pg::{db_message, quote_ident, PgTarget};

pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let pg = ctx.pg()?;
    create(ctx, pg)?.outcome(|created| {
        let message = if created {
            format!("created database `{}` on {}", pg.dbname, pg.server())
        } else {
            format!(
                "database `{}` already exists on {}; nothing to do",
                pg.dbname,
                pg.server()
            )
        };
        Outcome::done(
            message,
            json!({ "database": pg.dbname, "created": created }),
        )
    })
}

/// Create the database unless it is there, through the guard; true when this call created it.
pub fn create(ctx: &Ctx, pg: &PgTarget) -> Result<Done<bool>> {
    let mut client = pg.connect_maintenance()?;
    if database_exists(&mut client, &pg.dbname)? {
        return Ok(Done::Executed(false));
    }
    let statement = format!("CREATE DATABASE {}", quote_ident(&pg.dbname));
    let plan = Plan {
        destination: pg.destination(),
        summary: format!("create database `{}`", pg.dbname),
        actions: vec![statement.clone()],
        confirm: pg.dbname.clone(),
    };
    guarded::write(ctx, &plan, None, || {
        match client.batch_execute(&statement) {
            Ok(()) => Ok(true),
            // Someone else created it between the check and now.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(false),
            Err(e) => Err(anyhow::anyhow!(
                "could not create database `{}` on {}: {}",
                pg.dbname,
                pg.server(),
                db_message(&e)
            )),
        }
    })
}
