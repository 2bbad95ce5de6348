//! `cruddur ddb export [--file PATH] [--dynamodb-json] [--segments N]`: the whole table as
//! JSON lines, streamed (memory does not grow with the table). The backup to take before
//! `ddb drop` or `ddb seed --replace` in production; `ddb import` writes it back.

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use super::scan::{scan_pages, Pages};
use crate::cli::ExportArgs;
use crate::ctx::Ctx;
use crate::dynamodb::codec::{to_export_line, to_json};
use crate::output::{Lines, Outcome};

pub(super) fn run(ctx: &Ctx, export: &ExportArgs) -> Result<Outcome> {
    if let Some(url) = &export.s3 {
        let place = super::s3::S3Place::parse(url)?;
        let wait = (!export.no_wait).then_some(export.wait_timeout);
        return super::s3::export(ctx, ctx.ddb()?, place, export.enable_pitr, wait);
    }
    // To a file or stdout, it only reads the table (--s3 asks the table to write).
    crate::guarded::reads(ctx, "`cruddur ddb export` without --s3")?;
    let ddb = ctx.ddb()?;
    let started = Instant::now();
    let mut lines = match &export.file {
        Some(path) => Lines::file(path, export.gzip)?,
        None => Lines::stdout(export.gzip),
    };
    let progress = ctx.printer.progress("exporting", None);
    let pages = Pages {
        segments: export.segments,
        page_size: None,
        limit: None,
    };
    let scanned = ctx.block_on(scan_pages(ddb, pages, |items| {
        progress.add(items.len());
        if export.dynamodb_json {
            lines.write(items.iter().map(to_export_line))
        } else {
            lines.write(items.iter().map(to_json))
        }
    }));
    progress.finish();
    // An unfinished file is removed when `lines` goes; stdout has printed what it had.
    let written = scanned
        .and_then(|scanned| scanned)
        .and_then(|_| lines.finish())
        .context("the export is incomplete and was not kept")?;
    if written.reader_gone {
        return Ok(Outcome::Nothing);
    }
    let items = written.lines;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let format = match (export.dynamodb_json, export.gzip) {
        (true, false) => "DynamoDB JSON",
        (true, true) => "DynamoDB JSON, gzip",
        (false, false) => "plain JSON",
        (false, true) => "plain JSON, gzip",
    };
    match &export.file {
        Some(path) => {
            #[derive(Serialize)]
            struct ExportReport<'a> {
                table: &'a str,
                file: &'a std::path::Path,
                items: usize,
                format: &'a str,
                elapsed_ms: u64,
            }
            Outcome::done(
                format!(
                    "exported {items} items of `{}` to {} ({format} lines) in {elapsed_ms} ms",
                    ddb.table,
                    path.display()
                ),
                ExportReport {
                    table: &ddb.table,
                    file: path,
                    items,
                    format,
                    elapsed_ms,
                },
            )
        }
        None => {
            ctx.info(format!(
                "exported {items} items of `{}` ({format} lines) in {elapsed_ms} ms",
                ddb.table
            ));
            Ok(Outcome::Nothing)
        }
    }
}
