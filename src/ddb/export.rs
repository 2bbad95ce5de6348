//! `cruddur ddb export [--file PATH] [--dynamodb-json] [--segments N]`: the whole table as
//! JSON lines, streamed (memory does not grow with the table). The backup to take before
//! `ddb drop` or `ddb seed --replace` in production; `ddb import` writes it back.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use serde_json::json;

use super::codec::{to_json, to_typed_json};
use super::scan::{scan_pages, Pages};
use super::Ddb;
use crate::cli::{DdbArgs, ExportArgs};
use crate::ctx::Ctx;
use crate::output::{Outcome, Progress};

pub fn run(ctx: &Ctx, args: &DdbArgs, export: &ExportArgs) -> Result<Outcome> {
    let ddb = Ddb::connect(ctx, args)?;
    let started = Instant::now();
    // A file is written beside its name and renamed when whole: no half backup looks done.
    let partial = export.file.as_ref().map(|path| {
        let mut name = path.clone().into_os_string();
        name.push(".partial");
        PathBuf::from(name)
    });
    let mut out: Box<dyn Write> = match &partial {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("--file: cannot write {}", path.display())
            })?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let progress = Progress::new(ctx, "exporting", None);
    let pages = Pages {
        segments: export.segments,
        page_size: None,
        limit: None,
    };
    let written = ctx.block_on(scan_pages(&ddb, pages, |items| {
        progress.add(items.len());
        for item in items {
            let line = if export.dynamodb_json {
                to_typed_json(item)
            } else {
                to_json(item)
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }));
    progress.finish();
    let finished = written
        .and_then(|r| r)
        .and_then(|n| out.flush().map(|_| n).map_err(Into::into));
    drop(out);
    let items = match finished {
        Ok(items) => items,
        // stdout closed by its reader (`| head`): it has what it wanted, as with `ddb scan`.
        Err(error) if partial.is_none() && crate::output::is_broken_pipe(&error) => {
            return Ok(Outcome::Nothing)
        }
        Err(error) => {
            if let Some(path) = &partial {
                let _ = std::fs::remove_file(path);
            }
            return Err(error.context("the export is incomplete and was not kept"));
        }
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let format = if export.dynamodb_json {
        "DynamoDB JSON"
    } else {
        "plain JSON"
    };
    match (&export.file, &partial) {
        (Some(path), Some(partial)) => {
            std::fs::rename(partial, path).map_err(|e| {
                anyhow!(
                    "cannot rename {} to {}: {e}",
                    partial.display(),
                    path.display()
                )
            })?;
            Outcome::done(
                format!(
                    "exported {items} items of `{}` to {} ({format} lines) in {elapsed_ms} ms",
                    ddb.table,
                    path.display()
                ),
                json!({ "table": ddb.table, "file": path, "items": items, "format": format, "elapsed_ms": elapsed_ms }),
            )
        }
        _ => {
            ctx.info(format!(
                "exported {items} items of `{}` ({format} lines) in {elapsed_ms} ms",
                ddb.table
            ));
            Ok(Outcome::Nothing)
        }
    }
}
