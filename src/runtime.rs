//! The process's one Tokio runtime. The command's own thread drives what it awaits
//! (`block_on`, through `Ctx::block_on`); one worker thread runs what is spawned: the signal
//! watcher (from the first moment, so that a signal is seen even while a Postgres call
//! blocks), the bulk writer's calls, and `ddb serve`'s server. Postgres calls never go in
//! here: the `postgres` crate drives its connection inside its own calls.

use std::future::Future;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime, made on first use.
pub(crate) fn get() -> Result<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("cruddur-async")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    // Two first uses at once (unit tests): one runtime is kept, the other dropped unused.
    Ok(RUNTIME.get_or_init(|| built))
}

/// Run `future` to its end on this thread.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    Ok(get()?.block_on(future))
}
