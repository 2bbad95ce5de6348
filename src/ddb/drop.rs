//! `cruddur ddb drop [TABLE] [--if-exists]`: delete a table.

use std::fmt;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use serde::Serialize;

use crate::cli::DdbDropArgs;
use crate::ctx::Ctx;
use crate::dynamodb::Ddb;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, drop: &DdbDropArgs) -> Result<Outcome> {
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
    let write = DeleteTable {
        ddb,
        if_exists: drop.if_exists,
    };
    let write = super::backup::with_backup(ctx, ddb, write, drop.no_backup);
    guarded::run(ctx, Prepared::Write(write))
}

#[derive(Debug, Serialize)]
pub(super) struct DeleteReport {
    pub table: String,
    /// False: it was not there (with --if-exists).
    pub deleted: bool,
}

impl Report for DeleteReport {}

impl fmt::Display for DeleteReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.deleted {
            write!(f, "deleted table `{}`", self.table)
        } else {
            write!(f, "table `{}` does not exist; nothing to drop", self.table)
        }
    }
}

/// DeleteTable; a missing table is fine with `if_exists`.
pub(super) struct DeleteTable<'a> {
    ddb: &'a Ddb,
    if_exists: bool,
}

impl Write for DeleteTable<'_> {
    type Report = DeleteReport;

    fn plan(&self) -> Plan {
        let table = &self.ddb.table;
        Plan::new(
            self.ddb.destination(),
            format!("delete table `{table}` and every item in it"),
            vec![DdbOp::DeleteTable {
                table: table.clone(),
                if_exists: self.if_exists,
            }
            .into()],
            table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<DeleteReport> {
        let ddb = self.ddb;
        let report = |deleted| DeleteReport {
            table: ddb.table.clone(),
            deleted,
        };
        match ctx.block_on(ddb.client.delete_table().table_name(&ddb.table).send())? {
            Ok(_) => Ok(report(true)),
            Err(error) if error.code() == Some("ResourceNotFoundException") => {
                if self.if_exists {
                    Ok(report(false))
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
