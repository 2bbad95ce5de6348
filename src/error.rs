//! The few failures whose exit code is not 1. Everything else is an `anyhow::Error` (exit 1).

use std::fmt;

/// Exit codes, as the README documents them.
pub(crate) mod code {
    pub(crate) const OK: u8 = 0;
    pub(crate) const FAILED: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const REFUSED: u8 = 3;
    pub(crate) const INTERRUPTED: u8 = 130;
    pub(crate) const TERMINATED: u8 = 143;
    pub(crate) const HUNG_UP: u8 = 129;
}

/// A signal that asks a command to stop: Ctrl-C, `docker stop` / CI cancellation / `timeout`
/// (SIGTERM), or a closed terminal (SIGHUP). Each ends at the next safe point, with its own
/// exit code (128 + the signal's number, as shells report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Interrupt,
    Terminate,
    HangUp,
}

impl Signal {
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => code::INTERRUPTED,
            Signal::Terminate => code::TERMINATED,
            Signal::HangUp => code::HUNG_UP,
        }
    }

    /// How a message starts: `interrupted` (Ctrl-C), `stopped by SIGTERM`, …
    pub(crate) fn words(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted",
            Signal::Terminate => "stopped by SIGTERM",
            Signal::HangUp => "stopped by SIGHUP",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Stop {
    /// A guard said no, or a confirmation was declined or could not be asked (exit 3).
    Refused(String),
    /// Ctrl-C, SIGTERM or SIGHUP (exit 130, 143, 129).
    Interrupted(Signal, String),
    /// A flag that makes no sense for this command (exit 2, as clap's own usage errors).
    Usage(String),
}

impl Stop {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Stop::Refused(_) => code::REFUSED,
            Stop::Interrupted(signal, _) => signal.exit_code(),
            Stop::Usage(_) => code::USAGE,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Refused(why) | Stop::Interrupted(_, why) | Stop::Usage(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Stop {}

/// `return Err(refused("…"))` reads well in a handler.
pub(crate) fn refused(why: impl Into<String>) -> anyhow::Error {
    Stop::Refused(why.into()).into()
}

/// An error kept for later (the context resolves stores before a command asks for them):
/// its words and its exit code, rebuilt by [`Kept::error`] each time it is reported.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    stop: Option<Stop>,
    words: String,
}

impl Kept {
    pub(crate) fn new(error: &anyhow::Error) -> Kept {
        Kept {
            stop: error.downcast_ref::<Stop>().cloned(),
            words: format!("{error:#}"),
        }
    }

    pub(crate) fn error(&self) -> anyhow::Error {
        match &self.stop {
            Some(stop) => stop.clone().into(),
            None => anyhow::anyhow!("{}", self.words),
        }
    }
}

/// A command whose AWS SDK this build left out (`cargo install --no-default-features`).
#[cfg(not(all(feature = "ec2", feature = "cognito", feature = "serve")))]
pub(crate) fn missing_feature(feature: &str, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "this cruddur was built without {what} (cargo feature `{feature}`, on by default): \
         reinstall with `cargo install --locked --path . --features {feature}`, or without \
         --no-default-features"
    )
}

/// An error in plain words that keeps a library's own account of it (its debug structure)
/// for `-v`: `main` shows `detail` only then. No static verbosity is needed for that.
#[derive(Debug)]
pub(crate) struct Detailed {
    pub(crate) message: String,
    pub(crate) detail: String,
}

impl fmt::Display for Detailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Detailed {}

/// `message` for everyone, `detail` with `-v`.
pub(crate) fn detailed(message: impl Into<String>, detail: impl Into<String>) -> anyhow::Error {
    Detailed {
        message: message.into(),
        detail: detail.into(),
    }
    .into()
}

/// The exit code for any error a command returns.
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .downcast_ref::<Stop>()
        .map_or(code::FAILED, Stop::exit_code)
}
