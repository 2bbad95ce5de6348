//! `cruddur`: Cruddur's operator tool. [`run`] is the whole program: it parses, builds the
//! [`Ctx`], routes each command group to its module, renders the outcome and turns an error
//! into its words and exit code. Public: `run`, and for the tests the command line (`cli`)
//! and the HTTP client of AWS calls (`aws::http_client`).

pub(crate) mod app;
pub mod aws;
pub mod cli;
pub(crate) mod cognito;
pub(crate) mod ctx;
pub(crate) mod db;
pub(crate) mod ddb;
pub(crate) mod doctor;
pub(crate) mod dynamodb;
pub(crate) mod envfile;
pub(crate) mod error;
pub(crate) mod guard;
pub(crate) mod guarded;
pub(crate) mod hosts;
pub(crate) mod interrupt;
pub(crate) mod mask;
pub(crate) mod migrations;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod pg;
pub(crate) mod poll;
pub(crate) mod printer;
pub(crate) mod proxy;
pub(crate) mod pull;
pub(crate) mod rds;
pub(crate) mod runtime;
pub(crate) mod s3;
pub(crate) mod setup;
pub(crate) mod sql;
pub(crate) mod steps;
pub(crate) mod target;
pub(crate) mod term;
#[cfg(test)]
mod testing;
pub(crate) mod text;
pub(crate) mod users;
pub(crate) mod wait;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::{code, exit_code};
use crate::guarded::reads;
use crate::output::Outcome;

/// The whole program: parse `args` (the process's arguments, the program first), build the
/// context, run the command, render its outcome; the exit code. `main.rs` only calls this.
pub fn run(args: Vec<OsString>) -> ExitCode {
    interrupt::watch();
    // Before clap, so that flags read from the environment see the file's variables.
    let loaded = envfile::load(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version go to stdout; usage errors to stderr.
            let _ = if error.use_stderr() {
                write!(std::io::stderr().lock(), "{}", error.render())
            } else {
                write!(std::io::stdout().lock(), "{}", error.render())
            };
            return ExitCode::from(if error.use_stderr() {
                code::USAGE
            } else {
                code::OK
            });
        }
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return fail(&error, &[], cli.global.verbose),
    };
    let ctx = match Ctx::new(&ctx::Settings::from(&cli.global)) {
        Ok(ctx) => ctx,
        Err(error) => return fail(&error, &[], cli.global.verbose),
    };
    if let Some(path) = &loaded.path {
        ctx.detail(format!(
            "loaded {}: set {}{}",
            path.display(),
            if loaded.set.is_empty() {
                "nothing".into()
            } else {
                loaded.set.join(", ")
            },
            if loaded.kept.is_empty() {
                String::new()
            } else {
                format!("; kept from the environment: {}", loaded.kept.join(", "))
            }
        ));
    }
    let secrets = ctx.secrets();
    match dispatch(&ctx, &cli.command) {
        Ok(Outcome::Failing { outcome, error }) => match output::render(&outcome, ctx.output) {
            Ok(()) => fail(&error, secrets, ctx.printer.verbose),
            Err(render_error) => fail(&render_error, secrets, ctx.printer.verbose),
        },
        Ok(outcome) => match output::render(&outcome, ctx.output) {
            Ok(()) => ExitCode::from(code::OK),
            Err(error) => fail(&error, secrets, ctx.printer.verbose),
        },
        Err(error) => fail(&error, secrets, ctx.printer.verbose),
    }
}

/// `error: …` and its causes on stderr, with any known secret scrubbed; the exit code.
fn fail(error: &anyhow::Error, secrets: &[String], verbose: bool) -> ExitCode {
    // `Ctx::secrets` keeps only those long enough to scrub, longest first.
    let scrub = |text: String| {
        secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret.as_str(), "***"))
    };
    let label = term::paint(term::colour_stderr(), term::Colour::BoldRed, "error:");
    // A Postgres error that reached here unworded says only "db error": the server's own
    // words (message, detail, hint, SQLSTATE) take its place, and its source is not repeated.
    let mut lines: Vec<(&str, String)> = Vec::new();
    let mut causes = error.chain();
    while let Some(cause) = causes.next() {
        let lead = if lines.is_empty() {
            label.as_str()
        } else {
            "caused by:"
        };
        match cause.downcast_ref::<postgres::Error>() {
            Some(pg) => {
                lines.push((lead, pg::db_message(pg)));
                if pg.as_db_error().is_some() {
                    causes.next();
                }
            }
            None => lines.push((lead, cause.to_string())),
        }
        // A library's own account of it (the SDK's debug structure), with -v only.
        if let Some(detailed) = cause.downcast_ref::<error::Detailed>() {
            if verbose {
                lines.push(("detail:", detailed.detail.clone()));
            }
        }
    }
    for (lead, line) in lines {
        printer::note(&format!("{lead} {}", text::visible(&scrub(line))));
    }
    ExitCode::from(exit_code(error))
}

/// Route the command to its group's module.
fn dispatch(ctx: &Ctx, command: &Command) -> Result<Outcome> {
    // A command that only reads says so at its arm here, or at its group's: `--dry-run` is
    // refused before it reads anything. A write goes through `guarded::run`.
    match command {
        Command::Db(command) => db::run(ctx, command),
        Command::Ddb(group) => ddb::run(ctx, group),
        Command::Cognito(command) => cognito::run(ctx, command),
        Command::Rds(command) => rds::run(ctx, command),
        Command::Setup(args) => setup::run(ctx, args),
        Command::Pull(args) => pull::run(ctx, args),
        Command::Wait(args) => reads(ctx, "`cruddur wait`").and_then(|()| wait::run(ctx, args)),
        Command::Doctor(args) => {
            reads(ctx, "`cruddur doctor`").and_then(|()| doctor::run(ctx, args))
        }
        Command::Completions(args) => {
            reads(ctx, "`cruddur completions`")?;
            let mut command = <cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "cruddur", &mut script);
            Ok(Outcome::Text(String::from_utf8(script)?))
        }
        Command::Man => {
            reads(ctx, "`cruddur man`")?;
            let mut page = Vec::new();
            clap_mangen::Man::new(<cli::Cli as clap::CommandFactory>::command())
                .render(&mut page)?;
            Ok(Outcome::Text(String::from_utf8(page)?))
        }
    }
}
