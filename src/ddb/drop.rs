//! `cruddur ddb drop [TABLE] [--if-exists]`: delete a table.

use std::fmt;

use anyhow::Result;
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
    if let Ok(table) = ctx.block_on(ddb.describe_table())? {
        if table.deletion_protection_enabled() == Some(true) {
            return Err(ddb.protected());
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
        let deleted = ctx.block_on(self.ddb.delete_table(self.if_exists))??;
        Ok(DeleteReport {
            table: self.ddb.table.clone(),
            deleted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;
    use crate::ops::{DdbOp, Op};

    fn drop_of(ctx: &Ctx, ddb: &Ddb, no_backup: bool) -> (Vec<Op>, Vec<Op>, Vec<Op>) {
        let (recording, recorder) = Ddb::recording(&ddb.table);
        let write = DeleteTable {
            ddb: &recording,
            if_exists: true,
        };
        let write = super::super::backup::with_backup(ctx, &recording, write, no_backup);
        let all = write.plan().ops;
        let (planned, performed) = planned_and_performed(ctx, write, &recorder);
        (all, planned, performed)
    }

    /// A production drop takes its backup, then deletes: what the plan said, in its order.
    #[test]
    fn a_drop_performs_what_it_planned() {
        let (ddb, _) = Ddb::recording("cruddur-messages");
        let (all, planned, performed) = drop_of(&Ctx::for_tests(Target::Prod), &ddb, false);
        assert_eq!(performed, planned);
        assert!(
            matches!(
                all[..],
                [
                    Op::DynamoDb(DdbOp::BackupFirst { .. }),
                    Op::DynamoDb(DdbOp::DeleteTable { .. })
                ]
            ),
            "{all:?}"
        );
        // --no-backup: the plan says so, and only the delete is performed.
        let (all, planned, performed) = drop_of(&Ctx::for_tests(Target::Prod), &ddb, true);
        assert_eq!(performed, planned);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(performed.len(), 1, "{performed:?}");
        // Locally no backup is due.
        let (all, planned, performed) = drop_of(&Ctx::for_tests(Target::Local), &ddb, false);
        assert_eq!((all.len(), &performed), (1, &planned));
    }
}
