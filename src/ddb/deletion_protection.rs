//! `cruddur ddb deletion-protection on|off`: DynamoDB's guard against DeleteTable. `--prod ddb
//! schema-load` turns it on; `ddb drop` of a protected table names this command, which is the
//! explicit, confirmed step that lifts it.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{DeletionProtectionArgs, OnOff};
use crate::ctx::Ctx;
use crate::dynamodb::Ddb;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::Outcome;

#[derive(Debug, Serialize)]
struct ProtectionReport {
    table: String,
    deletion_protection: bool,
    /// False when it was so already.
    changed: bool,
}

impl Report for ProtectionReport {}

impl fmt::Display for ProtectionReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.changed {
            write!(
                f,
                "table `{}` now has deletion protection {}",
                self.table,
                words(self.deletion_protection)
            )
        } else {
            write!(
                f,
                "table `{}` already has deletion protection {}; nothing to change",
                self.table,
                words(self.deletion_protection)
            )
        }
    }
}

fn words(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

pub(super) fn run(ctx: &Ctx, set: &DeletionProtectionArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    let on = set.state == OnOff::On;
    let now = ctx
        .block_on(ddb.describe_table())??
        .deletion_protection_enabled()
        .unwrap_or(false);
    let prepared = if now == on {
        Prepared::Nothing(ProtectionReport {
            table: ddb.table.clone(),
            deletion_protection: on,
            changed: false,
        })
    } else {
        Prepared::Write(SetProtection { ddb, on })
    };
    guarded::run(ctx, prepared)
}

/// UpdateTable with DeletionProtectionEnabled.
struct SetProtection<'a> {
    ddb: &'a Ddb,
    on: bool,
}

impl Write for SetProtection<'_> {
    type Report = ProtectionReport;

    fn plan(&self) -> Plan {
        let (table, on) = (&self.ddb.table, self.on);
        Plan::new(
            self.ddb.destination(),
            format!(
                "turn deletion protection {} on table `{table}`{}",
                words(on),
                if on {
                    ""
                } else {
                    " (DeleteTable is then allowed)"
                }
            ),
            vec![DdbOp::SetDeletionProtection {
                table: table.clone(),
                on,
            }
            .into()],
            table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<ProtectionReport> {
        ctx.block_on(self.ddb.set_deletion_protection(self.on))??;
        Ok(ProtectionReport {
            table: self.ddb.table.clone(),
            deletion_protection: self.on,
            changed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    #[test]
    fn turning_protection_on_or_off_performs_what_it_planned() {
        for on in [true, false] {
            let (ddb, recorder) = Ddb::recording("cruddur-messages");
            let write = SetProtection { ddb: &ddb, on };
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
            assert_eq!(performed, planned);
            assert_eq!(performed.len(), 1);
        }
    }
}
