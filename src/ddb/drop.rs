//! `cruddur ddb drop [TABLE] [--if-exists]`: delete a table.

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use serde_json::json;

use crate::cli::DdbDropArgs;
use crate::ctx::Ctx;
use crate::dynamodb::Ddb;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;

pub fn run(ctx: &Ctx, drop: &DdbDropArgs) -> Result<Outcome> {
    // Another table than --table is resolved (and announced) by its own name.
    let other;
    let ddb: &Ddb = match &drop.table_name {
        Some(name) => {
            crate::dynamodb::check_table_name(name, "TABLE")?;
            other = ctx.ddb_table(name)?;
            &other
        }
        None => ctx.ddb()?,
    };
    // A protected table is said in plain words before anything is asked or sent.
    if let Ok(table) = ctx.block_on(super::schema_load::describe(ddb))? {
        if table.deletion_protection_enabled() == Some(true) {
            return Err(protected(ddb));
        }
    }
    let plan = Plan {
        destination: ddb.destination(),
        summary: format!(
            "delete table `{}` and every item in it (back it up first: `cruddur --prod ddb export --file backup.jsonl`)",
            ddb.table
        ),
        actions: vec![format!("DeleteTable {}", ddb.table)],
        confirm: ddb.table.clone(),
    };
    let deleted = match guarded::write(ctx, &plan, None, || {
        ctx.block_on(ddb.client.delete_table().table_name(&ddb.table).send())
    })? {
        Done::Planned(plan) => return Ok(plan),
        Done::Executed(deleted) => deleted,
    };
    match deleted {
        Ok(_) => Outcome::done(
            format!("deleted table `{}`", ddb.table),
            json!({ "table": ddb.table, "deleted": true }),
        ),
        Err(error) if error.code() == Some("ResourceNotFoundException") => {
            if drop.if_exists {
                Outcome::done(
                    format!("table `{}` does not exist; nothing to drop", ddb.table),
                    json!({ "table": ddb.table, "deleted": false }),
                )
            } else {
                Err(anyhow!(
                    "table `{}` does not exist at {} (add --if-exists to accept that)",
                    ddb.table,
                    ddb.endpoint
                ))
            }
        }
        // Turned on between the look and the call.
        Err(error)
            if error.code() == Some("ValidationException")
                && error.message().is_some_and(|m| m.contains("protected")) =>
        {
            Err(protected(ddb))
        }
        Err(error) => Err(ddb.explain("DeleteTable", error)),
    }
}

fn protected(ddb: &Ddb) -> anyhow::Error {
    anyhow!(
        "table `{}` has deletion protection on, so it was not deleted (nothing was changed). \
         If you mean to delete it, lift the protection first: `cruddur{} ddb deletion-protection off` \
         (itself confirmed like every write), then drop it",
        ddb.table,
        if ddb.endpoint.contains("amazonaws.com") { " --prod" } else { "" }
    )
}
