//! Ctrl-C, SIGTERM and SIGHUP. The first one asks the running command to stop at the next
//! safe point (between statements, batches, pages or steps), where it says what was done and
//! what was not and exits 130, 143 or 129; `main` handles a second one by stopping at once.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use crate::error::{Signal, Stop};
use crate::printer;

/// Watch for signals from now on, on a thread of their own (no async runtime: a signal is
/// seen even while a Postgres call blocks the command's thread). The first Ctrl-C, SIGTERM
/// (`docker stop`, CI cancellation, `timeout`) or SIGHUP asks the command to stop at its next
/// safe point (it then says what was done and exits 130, 143 or 129); a second one stops at
/// once, with its own code.
pub(crate) fn watch() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Registered on the watcher's thread, and the command waits until they are, so that no
    // signal falls between; without that thread, a signal ends this program as it would any.
    let (ready, registered) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("cruddur-signals".into())
        .spawn(move || {
            let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]);
            let _ = ready.send(());
            let Ok(mut signals) = signals else {
                return;
            };
            for number in signals.forever() {
                let got = match number {
                    SIGINT => Signal::Interrupt,
                    SIGTERM => Signal::Terminate,
                    _ => Signal::HangUp,
                };
                if request(got) {
                    printer::note(&format!("{} again: stopping now", got.words()));
                    std::process::exit(i32::from(got.exit_code()));
                }
                let again = if got == Signal::Interrupt {
                    "Ctrl-C again"
                } else {
                    "a second signal"
                };
                printer::note(&format!(
                    "{}: stopping at the next safe point ({again} to stop at once)",
                    got.words()
                ));
            }
        });
    if spawned.is_ok() {
        let _ = registered.recv();
    }
}

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
