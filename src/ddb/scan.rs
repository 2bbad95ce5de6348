//! `cruddur ddb scan [--limit N]`: every item of the table, following LastEvaluatedKey
//! (the old script stopped at the first 1 MB page). With `--output jsonl` each page is
//! printed as it arrives, so memory does not grow with the table.

use anyhow::Result;
use serde_json::{Map, Value};

use super::items::{to_json, Item};
use super::Ddb;
use crate::cli::{DdbArgs, OutputFormat, ScanArgs};
use crate::ctx::Ctx;
use crate::output::{self, Column, Outcome, Progress, View};

pub fn run(ctx: &Ctx, args: &DdbArgs, scan: &ScanArgs) -> Result<Outcome> {
    let ddb = Ddb::connect(ctx, args)?;
    let streaming = ctx.output == OutputFormat::Jsonl;
    let progress = Progress::new(ctx, "scanning", None);
    let rows = ctx.block_on(async {
        let mut rows: Vec<Map<String, Value>> = Vec::new();
        let mut seen = 0usize;
        let mut start: Option<Item> = None;
        loop {
            crate::interrupt::check(|| format!("the scan stopped after {seen} items"))?;
            let page = ddb
                .client
                .scan()
                .table_name(&ddb.table)
                .set_exclusive_start_key(start.take())
                .set_limit(scan.page_size)
                .send()
                .await
                .map_err(|e| ddb.explain("Scan", e))?;
            let room = scan.limit.map_or(usize::MAX, |limit| limit - seen);
            let items: Vec<Map<String, Value>> =
                page.items().iter().take(room).map(to_json).collect();
            seen += items.len();
            progress.add(items.len());
            if streaming {
                if let Err(e) = output::write_lines(&items) {
                    if output::is_broken_pipe(&e) {
                        return Ok(rows);
                    }
                    return Err(e);
                }
            } else {
                rows.extend(items);
            }
            let done = scan.limit.is_some_and(|limit| seen >= limit);
            match page.last_evaluated_key() {
                Some(last) if !done => start = Some(last.clone()),
                _ => return Ok::<_, anyhow::Error>(rows),
            }
        }
    })??;
    progress.finish();
    if streaming {
        return Ok(Outcome::Nothing);
    }
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
