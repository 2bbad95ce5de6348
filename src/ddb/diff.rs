//! `cruddur ddb diff`: is the live table still the table `ddb schema-load` makes? Its keys,
//! indexes, stream, capacity and TTL are compared with the app's shape, each difference said
//! in words; exit 1 when one of those has drifted, so that a CI step or a scheduled job can
//! fail on it. The two protections a team turns on by choice (point-in-time recovery,
//! deletion protection) are listed but not counted. It only reads, in `--prod` too.

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::DdbDiffArgs;
use crate::ctx::{Ctx, Target};
use crate::dynamodb::drift::{compare, Difference, Layout};
use crate::dynamodb::table::shape;
use crate::output::Outcome;

/// What a diff found, for machines.
#[derive(Debug, Serialize)]
struct DiffReport<'a> {
    table: &'a str,
    endpoint: &'a str,
    /// No part counted as drift differs.
    matches: bool,
    differences: &'a [Difference],
}

pub(super) fn run(ctx: &Ctx, args: &DdbDiffArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    // Deletion protection as schema-load gives it by default: on in production.
    let expected = Layout::expected(&shape()?, !args.no_stream, ctx.target == Target::Prod);
    let found = ctx.block_on(ddb.layout())??;
    let differences = compare(&expected, &found);
    let drifted = differences.iter().filter(|d| d.drift).count();
    let (table, endpoint) = (ddb.table.as_str(), ddb.endpoint.as_str());
    let mut message = match (drifted, differences.len()) {
        (0, 0) => {
            format!("table `{table}` at {endpoint} matches what `cruddur ddb schema-load` makes")
        }
        (0, listed) => format!(
            "table `{table}` at {endpoint} matches what `cruddur ddb schema-load` makes; {listed} \
             part{} not counted as drift:",
            if listed == 1 { "" } else { "s" }
        ),
        (_, listed) => format!(
            "table `{table}` at {endpoint} differs from what `cruddur ddb schema-load` makes in \
             {listed} part{}:",
            if listed == 1 { "" } else { "s" }
        ),
    };
    for difference in &differences {
        message.push_str("\n  - ");
        message.push_str(&difference.to_string());
    }
    let outcome = Outcome::done(
        message,
        DiffReport {
            table,
            endpoint,
            matches: drifted == 0,
            differences: &differences,
        },
    )?;
    if drifted == 0 {
        return Ok(outcome);
    }
    Ok(Outcome::Failing {
        outcome: Box::new(outcome),
        error: anyhow!(
            "table `{table}` has drifted: {drifted} part{} differ{} from the app's shape; \
             nothing was changed",
            if drifted == 1 { "" } else { "s" },
            if drifted == 1 { "s" } else { "" }
        ),
    })
}
