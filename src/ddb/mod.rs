//! `cruddur ddb …`: the direct-messages table in DynamoDB. One file per command; the item
//! shapes in `items.rs`, the bulk write path in `batch.rs`. The connection to the table
//! (local or production) is `crate::dynamodb`, made once by the context.

pub(crate) mod backup;
mod deletion_protection;
mod diff;
mod drop;
mod export;
mod fixture;
mod import;
mod list_tables;
mod patterns;
mod s3;
mod scan;
pub(crate) mod schema_load;
pub(crate) mod seed;
#[cfg(feature = "serve")]
pub(crate) mod serve;
mod sql;
mod stream;

use anyhow::Result;

use crate::cli::{DdbCommand, DdbGroup};
use crate::ctx::Ctx;
use crate::guarded::reads;
use crate::output::Outcome;

/// The app's seed.sql (or the built-in one), whose order names person 1 and person 2 among
/// users made together; None when it cannot be read (then the order is by handle).
fn seed_text(ctx: &Ctx) -> Option<String> {
    Some(ctx.app().ok()?.seed(None).ok()?.text)
}

pub(crate) fn run(ctx: &Ctx, group: &DdbGroup) -> Result<Outcome> {
    match &group.command {
        DdbCommand::SchemaLoad(a) => schema_load::run(ctx, a),
        DdbCommand::Seed(a) => seed::run(ctx, a),
        DdbCommand::Scan(a) => reads(ctx, "`cruddur ddb scan`").and_then(|()| scan::run(ctx, a)),
        DdbCommand::Drop(a) => drop::run(ctx, a),
        DdbCommand::DeletionProtection(a) => deletion_protection::run(ctx, a),
        DdbCommand::Diff(a) => reads(ctx, "`cruddur ddb diff`").and_then(|()| diff::run(ctx, a)),
        DdbCommand::ListTables => {
            reads(ctx, "`cruddur ddb list-tables`").and_then(|()| list_tables::run(ctx))
        }
        DdbCommand::Export(a) => export::run(ctx, a),
        DdbCommand::Import(a) => import::run(ctx, a),
        DdbCommand::Patterns(command) => patterns::run(ctx, command),
        DdbCommand::Stream(a) => stream::run(ctx, a),
        DdbCommand::Sql(a) => sql::run(ctx, a),
        DdbCommand::Backup(command) => backup::run(ctx, command),
        #[cfg(feature = "serve")]
        DdbCommand::Serve(a) => serve::run(ctx, a),
        #[cfg(not(feature = "serve"))]
        DdbCommand::Serve(_) => Err(crate::error::missing_feature(
            "serve",
            "the embedded DynamoDB (`ddb serve`)",
        )),
    }
}
