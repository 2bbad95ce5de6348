//! Ctrl-C. The first one asks the running command to stop at the next safe point (between
//! statements, batches, pages or steps), where it says what was done and what was not and
//! exits 130; `main` handles a second one by stopping at once.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Stop;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Record a Ctrl-C; true when one had come already.
pub fn request() -> bool {
    INTERRUPTED.swap(true, Ordering::SeqCst)
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
