//! `cruddur`: Cruddur's operator tool. `main.rs` parses, builds the [`Ctx`], calls [`run`]
//! and renders; this file only routes each command group to its module.

pub(crate) mod app;
pub mod aws;
pub mod cli;
pub(crate) mod cognito;
pub mod ctx;
pub(crate) mod db;
pub(crate) mod ddb;
pub(crate) mod doctor;
pub(crate) mod dynamodb;
pub mod envfile;
pub mod error;
pub(crate) mod guard;
pub(crate) mod guarded;
pub(crate) mod hosts;
pub mod interrupt;
pub(crate) mod migrations;
pub(crate) mod ops;
pub mod output;
pub mod pg;
pub(crate) mod poll;
pub mod printer;
pub(crate) mod proxy;
pub(crate) mod rds;
pub(crate) mod setup;
pub(crate) mod sql;
pub(crate) mod steps;
pub(crate) mod target;
pub mod term;
#[cfg(test)]
mod testing;
pub mod text;
pub(crate) mod users;
pub(crate) mod wait;

use anyhow::Result;

use crate::cli::{BackupCommand, CognitoCommand, Command, DbCommand, DdbCommand, PatternsCommand};
pub use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, command: &Command) -> Result<Outcome> {
    if !writes(command) {
        guarded::reads(ctx, "this command")?;
    }
    match command {
        Command::Db(command) => db::run(ctx, command),
        Command::Ddb(group) => ddb::run(ctx, group),
        Command::Cognito(command) => cognito::run(ctx, command),
        Command::Rds(command) => rds::run(ctx, command),
        Command::Setup(args) => setup::run(ctx, args),
        Command::Wait(args) => wait::run(ctx, args),
        Command::Doctor(args) => doctor::run(ctx, args),
        Command::Completions(args) => {
            let mut command = <cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "cruddur", &mut script);
            Ok(Outcome::Text(String::from_utf8(script)?))
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<cli::Cli as clap::CommandFactory>::command())
                .render(&mut page)?;
            Ok(Outcome::Text(String::from_utf8(page)?))
        }
    }
}

/// Whether a command may write (and so plans, and takes --dry-run). `db query` decides by its
/// statement, so it takes the flag and refuses it itself for a read.
pub fn writes(command: &Command) -> bool {
    match command {
        Command::Db(db) => !matches!(
            db,
            DbCommand::Sessions | DbCommand::Connect(_) | DbCommand::Migrations(_)
        ),
        Command::Ddb(group) => match &group.command {
            DdbCommand::Export(export) => export.s3.is_some(),
            DdbCommand::Scan(_)
            | DdbCommand::ListTables
            | DdbCommand::Backup(BackupCommand::List) => false,
            DdbCommand::Patterns(pattern) => matches!(pattern, PatternsCommand::SendMessage(_)),
            _ => true,
        },
        Command::Cognito(CognitoCommand::ListUsers(_)) => false,
        Command::Rds(_) | Command::Setup(_) => true,
        Command::Wait(_) | Command::Doctor(_) | Command::Completions(_) | Command::Man => false,
    }
}
