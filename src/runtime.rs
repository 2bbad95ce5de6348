//! The process's one Tokio runtime, made here on first use: a current-thread runtime, so
//! what a command awaits (`block_on`, through `Ctx::block_on`) runs on the command's own
//! thread, the bulk writer's calls and hyper's connections included: no hand-over between
//! threads. Measured on a 100,000-message `ddb seed` (release build, five runs each,
//! 2026-12-07): 0.89 s of client CPU this way, 0.98 s with the calls on a worker thread.
//!
//! Two things that once needed a second runtime do not:
//! - signals are watched by a plain thread of their own (`interrupt::watch`), which sees them
//!   even while a Postgres call blocks the command's thread;
//! - `ddb serve` spawns its server and upkeep on this runtime, and they run whenever the
//!   command's thread waits in [`block_on`], which is where `ddb serve` spends its life. (So
//!   while that thread is held elsewhere, the server waits too: a stderr that stops being
//!   read stalls both, where before only the printing stalled.)
//!
//! The `postgres` crate drives each connection on an executor of its own, inside the crate.

use std::future::Future;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Run `future` to its end on this thread (and what was spawned, while it waits).
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    Ok(runtime()?.block_on(future))
}

/// The runtime itself, for what is spawned on it or made inside it (`ddb serve`'s server).
pub(crate) fn runtime() -> Result<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    // Two first uses at once (unit tests): one runtime is kept, the other dropped unused.
    Ok(RUNTIME.get_or_init(|| built))
}
