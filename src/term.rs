//! The terminal: colour (only on a terminal, never with NO_COLOR) and progress bars (on
//! stderr only, only on a terminal, never with --quiet, cleared when done). Nothing here
//! decides what a command prints; `output` does.

use std::io::IsTerminal;
use std::time::Duration;

use std::fmt::Write;

use indicatif::{
    HumanCount, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle,
};

/// The colours cruddur uses: status words and the `error:` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Colour {
    Green,
    Yellow,
    Red,
    BoldRed,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Green => "32",
            Colour::Yellow => "33",
            Colour::Red => "31",
            Colour::BoldRed => "1;31",
        }
    }

    /// The colour of a status word: `ok` green, `warn` yellow, `fail` red; others none.
    pub(crate) fn of_status(status: &str) -> Option<Colour> {
        match status {
            "ok" => Some(Colour::Green),
            "warn" | "skipped" => Some(Colour::Yellow),
            "fail" => Some(Colour::Red),
            _ => None,
        }
    }
}

/// Whether stdout may carry colour: a terminal, and NO_COLOR unset.
pub(crate) fn colour_stdout() -> bool {
    std::io::stdout().is_terminal() && no_color_unset()
}

/// Whether stderr may carry colour: a terminal, and NO_COLOR unset.
pub(crate) fn colour_stderr() -> bool {
    std::io::stderr().is_terminal() && no_color_unset()
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none()
}

/// `text` in `colour` when `on`; plain otherwise.
pub(crate) fn paint(on: bool, colour: Colour, text: &str) -> String {
    if on {
        format!("\x1b[{}m{text}\x1b[0m", colour.code())
    } else {
        text.to_string()
    }
}

/// A progress bar for long work (seed, import, export, scan): with a total, a bar, the count,
/// the rate and the time left; without one, the count and the rate. Redrawn at most ten
/// times a second; hidden off a terminal and with --quiet; cleared by [`Progress::finish`]
/// (and when dropped, so an error never leaves a half bar above its message).
pub(crate) struct Progress {
    bar: ProgressBar,
    /// How many were added: the bar's own position jumps to its length when it is cleared.
    done: std::sync::atomic::AtomicUsize,
}

impl Progress {
    /// A bar drawn when `shown` (stderr is a terminal and not --quiet: the printer decides).
    pub(crate) fn new(shown: bool, label: &str, total: Option<usize>) -> std::sync::Arc<Progress> {
        // The draw target first: a bar made with the default one draws at once, even with -q.
        let target = if shown {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(total.map(|n| n as u64), target);
        let template = match total {
            Some(_) => "{msg} [{bar:30}] {human_pos}/{human_len} · {rate} · {left}",
            None => "{msg} {human_pos} items · {rate} · {elapsed}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(
                style
                    .progress_chars("#>.")
                    .with_key("rate", |state: &ProgressState, w: &mut dyn Write| {
                        let _ = write!(w, "{}/s", HumanCount(state.per_sec() as u64));
                    })
                    // No guess until something is done: `0s left` at the start would be a lie.
                    .with_key("left", |state: &ProgressState, w: &mut dyn Write| {
                        let _ = match state.pos() {
                            0 => write!(w, "time left unknown"),
                            _ => write!(w, "{:#} left", HumanDuration(state.eta())),
                        };
                    }),
            );
        }
        bar.set_message(label.to_string());
        if shown {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        std::sync::Arc::new(Progress {
            bar,
            done: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    pub(crate) fn add(&self, n: usize) {
        self.bar.inc(n as u64);
        self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many were added, cleared or not.
    pub(crate) fn done(&self) -> usize {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Clear the bar's line.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(paint(false, Colour::Red, "fail"), "fail");
        assert_eq!(paint(true, Colour::Green, "ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(Colour::of_status("warn"), Some(Colour::Yellow));
        assert_eq!(Colour::of_status("other"), None);
    }
}
