//! Ctrl-C, SIGTERM and SIGHUP. The first one asks the running command to stop at the next
//! safe point (between statements, batches, pages or steps), where it says what was done and
//! what was not and exits 130, 143 or 129; `main` handles a second one by stopping at once.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use crate::error::{Signal, Stop};

/// The first signal that came (0: none), as its exit code.
static SIGNALLED: AtomicU8 = AtomicU8::new(0);

type Cancel = Box<dyn Fn() + Send>;

/// What cancels the work in flight (the running Postgres statement), if any.
static CANCEL: Mutex<Option<Cancel>> = Mutex::new(None);

/// Record a signal; true when one had come already. The first one also cancels the work in
/// flight (on a thread of its own: cancelling may need the network).
pub(crate) fn request(signal: Signal) -> bool {
    let again = SIGNALLED
        .compare_exchange(0, signal.exit_code(), Ordering::SeqCst, Ordering::SeqCst)
        .is_err();
    if !again {
        if let Some(cancel) = CANCEL.lock().ok().and_then(|mut c| c.take()) {
            std::thread::spawn(cancel);
        }
    }
    again
}

/// What a Ctrl-C should cancel from now on (the newest connection's running statement).
pub(crate) fn on_interrupt(cancel: impl Fn() + Send + 'static) {
    if let Ok(mut slot) = CANCEL.lock() {
        *slot = Some(Box::new(cancel));
    }
}

pub(crate) fn requested() -> bool {
    signal().is_some()
}

/// The first signal that came.
pub(crate) fn signal() -> Option<Signal> {
    [Signal::Interrupt, Signal::Terminate, Signal::HangUp]
        .into_iter()
        .find(|s| s.exit_code() == SIGNALLED.load(Ordering::SeqCst))
}

/// Err(stopped, with what was done) once a signal came.
pub(crate) fn check(progress: impl FnOnce() -> String) -> anyhow::Result<()> {
    match signal() {
        Some(signal) => Err(stopped(signal, progress())),
        None => Ok(()),
    }
}

/// `interrupted: …` / `stopped by SIGTERM: …`, with the signal's exit code.
pub(crate) fn stopped(signal: Signal, what: String) -> anyhow::Error {
    Stop::Interrupted(signal, format!("{}: {what}", signal.words())).into()
}
