//! `cruddur ddb scan [--limit N] [--segments N]`: every item of the table, following
//! LastEvaluatedKey (the old script stopped at the first 1 MB page), in parallel segments if
//! asked. With `--output jsonl` each page is printed as it arrives, so memory does not grow
//! with the table. `ddb export` reads the table through the same path.

use std::ops::ControlFlow;

use anyhow::Result;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::scan::ScanError;
use serde_json::{Map, Value};

use crate::cli::ScanArgs;
use crate::ctx::Ctx;
use crate::dynamodb::codec::to_json;
use crate::dynamodb::items::Item;
use crate::dynamodb::Ddb;
use crate::output::OutputFormat;
use crate::output::{Column, Lines, Outcome, View};

pub(super) fn run(ctx: &Ctx, scan: &ScanArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    let progress = ctx.printer.progress("scanning", None);
    let pages = Pages {
        segments: scan.segments,
        page_size: scan.page_size,
        limit: scan.limit,
    };
    if ctx.output == OutputFormat::Jsonl {
        // Each page is printed as it arrives: memory does not grow with the table.
        let mut lines = Lines::stdout(false);
        ctx.block_on(scan_pages(ddb, pages, |items| {
            progress.add(items.len());
            lines.write(items.iter().map(to_json))
        }))??;
        progress.finish();
        lines.finish()?;
        return Ok(Outcome::Nothing);
    }
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    ctx.block_on(scan_pages(ddb, pages, |items| {
        progress.add(items.len());
        rows.extend(items.iter().map(to_json));
        Ok(ControlFlow::Continue(()))
    }))??;
    progress.finish();
    Ok(Outcome::rows_with(
        vec![
            Column::new("pk"),
            Column::new("sk"),
            Column::new("user_handle").header("handle"),
            Column::new("message").view(View::Cut(40)),
        ],
        rows,
    ))
}

/// How to read the table.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pages {
    pub segments: i32,
    pub page_size: Option<i32>,
    pub limit: Option<usize>,
}

/// Read every page of the table (segments in parallel, each page handed to `sink` as it
/// arrives, at most `limit` items in all, until `sink` says `Break`); how many items were
/// handed over.
pub(super) async fn scan_pages(
    ddb: &Ddb,
    pages: Pages,
    mut sink: impl FnMut(&[Item]) -> Result<ControlFlow<()>>,
) -> Result<usize> {
    let segments = pages.segments.max(1);
    // Readers send their pages, or the SDK's error, which is explained here like any other.
    type Page = std::result::Result<Vec<Item>, SdkError<ScanError, HttpResponse>>;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Page>(segments as usize);
    let mut readers = tokio::task::JoinSet::new();
    for segment in 0..segments {
        let sender = sender.clone();
        let client = ddb.client.clone();
        let table = ddb.table.clone();
        readers.spawn(async move {
            let mut request = client.scan().table_name(&table).set_limit(pages.page_size);
            if segments > 1 {
                request = request.segment(segment).total_segments(segments);
            }
            // The SDK's paginator follows LastEvaluatedKey; the next page is asked for while
            // this one is being written out (the channel holds one page per segment).
            let mut stream = request.into_paginator().send();
            while let Some(page) = stream.next().await {
                let page = page.map(|page| page.items.unwrap_or_default());
                let failed = page.is_err();
                // A closed channel: the reader has all it wants.
                if sender.send(page).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    drop(sender);
    let mut seen = 0usize;
    while let Some(page) = receiver.recv().await {
        crate::interrupt::check(|| format!("the scan stopped after {seen} items"))?;
        let items = page.map_err(|e| ddb.explain("Scan", e))?;
        let room = pages.limit.map_or(usize::MAX, |limit| limit - seen);
        let take = items.len().min(room);
        let flow = sink(&items[..take])?;
        seen += take;
        if flow.is_break() || pages.limit.is_some_and(|limit| seen >= limit) {
            break;
        }
    }
    drop(receiver);
    readers.shutdown().await;
    Ok(seen)
}
