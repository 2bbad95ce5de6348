//! `cruddur ddb deletion-protection on|off`: DynamoDB's guard against DeleteTable. `--prod ddb
//! schema-load` turns it on; `ddb drop` of a protected table names this command, which is the
//! explicit, confirmed step that lifts it.

use anyhow::Result;
use serde::Serialize;

use super::schema_load::describe;
use crate::cli::{DeletionProtectionArgs, OnOff};
use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded;
use crate::output::Outcome;

#[derive(Debug, Serialize)]
struct ProtectionReport {
    table: String,
    deletion_protection: bool,
    /// False when it was so already.
    changed: bool,
}

pub fn run(ctx: &Ctx, set: &DeletionProtectionArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    let on = set.state == OnOff::On;
    let now = ctx
        .block_on(describe(ddb))??
        .deletion_protection_enabled()
        .unwrap_or(false);
    let words = |on: bool| if on { "on" } else { "off" };
    if now == on {
        let report = ProtectionReport {
            table: ddb.table.clone(),
            deletion_protection: on,
            changed: false,
        };
        return Outcome::done(
            format!(
                "table `{}` already has deletion protection {}; nothing to change",
                ddb.table,
                words(on)
            ),
            &report,
        );
    }
    let plan = Plan {
        destination: ddb.destination(),
        summary: format!(
            "turn deletion protection {} on table `{}`{}",
            words(on),
            ddb.table,
            if on {
                ""
            } else {
                " (DeleteTable is then allowed)"
            }
        ),
        actions: vec![format!(
            "UpdateTable {}: DeletionProtectionEnabled = {on}",
            ddb.table
        )],
        confirm: ddb.table.clone(),
    };
    guarded::write(ctx, &plan, None, || {
        ctx.block_on(
            ddb.client
                .update_table()
                .table_name(&ddb.table)
                .deletion_protection_enabled(on)
                .send(),
        )?
        .map_err(|e| ddb.explain("UpdateTable", e))
    })?
    .outcome(|_| {
        let report = ProtectionReport {
            table: ddb.table.clone(),
            deletion_protection: on,
            changed: true,
        };
        Outcome::done(
            format!(
                "table `{}` now has deletion protection {}",
                ddb.table,
                words(on)
            ),
            &report,
        )
    })
}
