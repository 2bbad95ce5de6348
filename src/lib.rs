//! `cruddur`: Cruddur's operator tool. `main.rs` parses, builds the [`Ctx`], calls [`run`]
//! and renders; this file only routes each command group to its module.

pub mod aws;
pub mod cli;
pub mod cognito;
pub mod ctx;
pub mod db;
pub mod ddb;
pub mod envfile;
pub mod error;
pub mod output;
pub mod pg;
pub mod rds;
pub mod sql;

use anyhow::Result;

use crate::cli::Command;
pub use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, command: &Command) -> Result<Outcome> {
    match command {
        Command::Db(command) => db::run(ctx, command),
        Command::Ddb(group) => ddb::run(ctx, group),
        Command::Cognito(command) => cognito::run(ctx, command),
        Command::Rds(command) => rds::run(ctx, command),
    }
}
