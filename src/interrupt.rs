//! Ctrl-C. The first one asks the running command to stop at the next safe point (between
//! statements, batches, pages or steps), where it says what was done and what was not and
//! exits 130; `main` handles a second one by stopping at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::Stop;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

type Cancel = Box<dyn Fn() + Send>;

/// What cancels the work in flight (the running Postgres statement), if any.
static CANCEL: Mutex<Option<Cancel>> = Mutex::new(None);

/// Record a Ctrl-C; true when one had come already. The first one also cancels the work in
/// flight (on a thread of its own: cancelling may need the network).
pub fn request() -> bool {
    let again = INTERRUPTED.swap(true, Ordering::SeqCst);
    if !again {
        if let Some(cancel) = CANCEL.lock().ok().and_then(|mut c| c.take()) {
            std::thread::spawn(cancel);
        }
    }
    again
}

/// What a Ctrl-C should cancel from now on (the newest connection's running statement).
pub fn on_interrupt(cancel: impl Fn() + Send + 'static) {
    if let Ok(mut slot) = CANCEL.lock() {
        *slot = Some(Box::new(cancel));
    }
}

pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Err(interrupted, with what was done) once Ctrl-C came.
pub fn check(progress: impl FnOnce() -> String) -> anyhow::Result<()> {
    if requested() {
        Err(Stop::Interrupted(format!("interrupted: {}", progress())).into())
    } else {
        Ok(())
    }
}
