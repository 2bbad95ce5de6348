//! The process's two Tokio runtimes, both made here on first use:
//! - the command's: one thread, the command's own, drives what it awaits (`block_on`, through
//!   `Ctx::block_on`), the bulk writer's calls included;
//! - the background's: one worker thread runs what must go on while the command's thread is
//!   busy elsewhere: the signal watcher (a signal is seen even while a Postgres call blocks)
//!   and `ddb serve`'s server and upkeep.
//!
//! Why two and not one: with one runtime, the command's spawned work (the bulk writer's
//! calls, hyper's connections) would run on the background's worker, and every hand-over
//! between the two threads costs. Measured on a 100,000-message `ddb seed` (release build,
//! five runs each, 2026-12-07): 0.89 s of client CPU with two runtimes, 0.98 s with one.
//! Postgres calls go in neither: the `postgres` crate drives its connection itself.

use std::future::Future;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use tokio::runtime::{Builder, Runtime};

static COMMAND: OnceLock<Runtime> = OnceLock::new();
static BACKGROUND: OnceLock<Runtime> = OnceLock::new();

/// Run `future` to its end on this thread, on the command's runtime.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = made(&COMMAND, || {
        Builder::new_current_thread().enable_all().build()
    })?;
    Ok(runtime.block_on(future))
}

/// The background's runtime: its one worker runs what is spawned on it.
pub(crate) fn background() -> Result<&'static Runtime> {
    made(&BACKGROUND, || {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cruddur-background")
            .enable_all()
            .build()
    })
}

fn made(
    cell: &'static OnceLock<Runtime>,
    build: impl FnOnce() -> std::io::Result<Runtime>,
) -> Result<&'static Runtime> {
    if let Some(runtime) = cell.get() {
        return Ok(runtime);
    }
    let built = build().context("could not start the async runtime")?;
    // Two first uses at once (unit tests): one runtime is kept, the other dropped unused.
    Ok(cell.get_or_init(|| built))
}
