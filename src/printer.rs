//! stderr for people: notices, details (`-v`), warnings, progress bars and the confirmation
//! prompt, decided by one small `Copy` value made once from the flags — no global state.
//! Results never come here: they go to stdout through `output`.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::error::refused;
use crate::term::Progress;
use crate::text::visible;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) verbose: bool,
    pub(crate) quiet: bool,
    /// stderr is a terminal and NO_COLOR is unset.
    pub(crate) colour: bool,
    /// stderr is a terminal: progress bars are drawn.
    pub(crate) terminal: bool,
    /// Both stdin and stderr are terminals: a person can answer a prompt.
    pub(crate) interactive: bool,
}

impl Printer {
    /// For this process's terminal.
    pub(crate) fn new(verbose: bool, quiet: bool) -> Printer {
        Printer {
            verbose,
            quiet,
            colour: crate::term::colour_stderr(),
            terminal: std::io::stderr().is_terminal(),
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    /// Progress and notices, unless --quiet.
    pub(crate) fn info(self, message: impl AsRef<str>) {
        if !self.quiet {
            note(message.as_ref());
        }
    }

    /// Details, with --verbose only.
    pub(crate) fn detail(self, message: impl AsRef<str>) {
        if self.verbose {
            note(message.as_ref());
        }
    }

    /// Warnings, even with --quiet.
    pub(crate) fn warn(self, message: impl AsRef<str>) {
        note(&format!("warning: {}", message.as_ref()));
    }

    /// A progress bar: drawn on a terminal, never with --quiet.
    pub(crate) fn progress(self, label: &str, total: Option<usize>) -> Arc<Progress> {
        Progress::new(self.terminal && !self.quiet, label, total)
    }

    /// Ask a person to type `name` to go on with `action` (shown with up to 20 of `details`).
    /// Without a person at a terminal it is refused at once (exit 3), never waiting for
    /// input that cannot come; a different answer is refused too.
    pub(crate) fn confirm(
        self,
        action: &str,
        details: &[String],
        name: &str,
        exposes: Option<&str>,
    ) -> Result<()> {
        if !self.interactive {
            return Err(refused(format!(
                "refusing to {action} in production without confirmation: re-run with --yes"
            )));
        }
        let mut stderr = std::io::stderr();
        for detail in details.iter().take(20) {
            writeln!(stderr, "  - {}", visible(detail))?;
        }
        if details.len() > 20 {
            writeln!(stderr, "  - … and {} more", details.len() - 20)?;
        }
        match exposes {
            Some(why) => write!(
                stderr,
                "About to {}: {why}. Type `{name}` to go on: ",
                visible(action)
            )?,
            None => write!(
                stderr,
                "About to {} in PRODUCTION. Type `{name}` to go on: ",
                visible(action)
            )?,
        }
        stderr.flush()?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("could not read the confirmation")?;
        if answer.trim() == name {
            Ok(())
        } else {
            Err(refused(format!(
                "not confirmed (expected `{name}`): nothing was done"
            )))
        }
    }
}

/// One line on stderr. A closed stderr is not worth dying for (nor a panic, which is what
/// `eprintln!` does): the line is dropped.
pub(crate) fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
