//! Parse → build the context → run → render → exit code. The only place that exits.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cruddur::cli::Cli;
use cruddur::error::{code, exit_code};
use cruddur::output::Outcome;
use cruddur::{envfile, interrupt, output, term, Ctx};

fn main() -> ExitCode {
    watch_ctrl_c();
    let args: Vec<OsString> = std::env::args_os().collect();
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
        Err(error) => return fail(&error, &[]),
    };
    let ctx = match Ctx::new(&cli.global) {
        Ok(ctx) => ctx,
        Err(error) => return fail(&error, &[]),
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
    match cruddur::run(&ctx, &cli.command) {
        Ok(Outcome::Failing { outcome, error }) => match output::render(&outcome, ctx.output) {
            Ok(()) => fail(&error, secrets),
            Err(render_error) => fail(&render_error, secrets),
        },
        Ok(outcome) => match output::render(&outcome, ctx.output) {
            Ok(()) => ExitCode::from(code::OK),
            Err(error) => fail(&error, secrets),
        },
        Err(error) => fail(&error, secrets),
    }
}

/// The first Ctrl-C asks the command to stop at its next safe point (it then says what was
/// done and exits 130); a second one stops at once, with the same code.
fn watch_ctrl_c() {
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            while tokio::signal::ctrl_c().await.is_ok() {
                if interrupt::request() {
                    output::note("interrupted again: stopping now");
                    std::process::exit(i32::from(code::INTERRUPTED));
                }
                output::note(
                    "interrupted: stopping at the next safe point (Ctrl-C again to stop at once)",
                );
            }
        });
    });
}

/// `error: …` and its causes on stderr, with any known secret scrubbed; the exit code.
fn fail(error: &anyhow::Error, secrets: &[String]) -> ExitCode {
    // `Ctx::secrets` keeps only those long enough to scrub, longest first.
    let scrub = |text: String| {
        secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret.as_str(), "***"))
    };
    let label = term::paint(term::colour_stderr(), term::Colour::BoldRed, "error:");
    let mut causes = error.chain();
    if let Some(top) = causes.next() {
        output::note(&format!(
            "{label} {}",
            output::visible(&scrub(top.to_string()))
        ));
    }
    for cause in causes {
        output::note(&format!(
            "caused by: {}",
            output::visible(&scrub(cause.to_string()))
        ));
    }
    ExitCode::from(exit_code(error))
}
