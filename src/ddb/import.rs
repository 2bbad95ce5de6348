//! `cruddur ddb import PATH`: the items of a JSON-lines file (as `ddb export` writes them)
//! written through the bulk write path. The file is checked whole first — a malformed line
//! stops everything before any write, unless --skip-invalid — then streamed, never read into
//! memory at once.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::cli::ImportArgs;
use crate::ctx::Ctx;
use crate::dynamodb::batch;
use crate::dynamodb::codec::from_json_line;
use crate::dynamodb::items::{describe_key, text};
use crate::dynamodb::limits;
use crate::dynamodb::Ddb;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, import: &ImportArgs) -> Result<Outcome> {
    let (valid, skipped) = check(&import.path, import)?;
    let ddb = ctx.ddb()?;
    let write = Import {
        ddb,
        path: &import.path,
        dynamodb_json: import.dynamodb_json,
        valid,
        skipped: skipped.into_iter().map(|(n, _)| n).collect(),
        options: batch::BatchOptions::from(import.write),
    };
    let write = super::backup::with_backup(ctx, ddb, write, import.no_backup);
    guarded::run(ctx, Prepared::Write(write))
}

/// The file's valid lines as PutItem requests, streamed through the bulk writer.
struct Import<'a> {
    ddb: &'a Ddb,
    path: &'a Path,
    dynamodb_json: bool,
    /// How many items the check found.
    valid: usize,
    /// The malformed lines skipped (--skip-invalid), by number.
    skipped: Vec<usize>,
    options: batch::BatchOptions,
}

#[derive(Debug, Serialize)]
struct ImportReport {
    table: String,
    #[serde(skip)]
    file: String,
    items: usize,
    skipped_lines: Vec<usize>,
    requests: usize,
    retries: usize,
    capacity_units: f64,
    elapsed_ms: u64,
}

impl Report for ImportReport {}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "imported {} items from {} into `{}` in {} requests, {} retries, {} ms{}",
            self.items,
            self.file,
            self.table,
            self.requests,
            self.retries,
            self.elapsed_ms,
            if self.skipped_lines.is_empty() {
                String::new()
            } else {
                format!("; skipped {} malformed lines", self.skipped_lines.len())
            }
        )
    }
}

impl Write for Import<'_> {
    type Report = ImportReport;

    fn plan(&self) -> Plan {
        Plan {
            destination: self.ddb.destination(),
            summary: format!(
                "import {} items from {} (items with the same keys are replaced)",
                self.valid,
                self.path.display()
            ),
            actions: vec![format!(
                "{} BatchWriteItem requests, up to {} in flight; {} malformed lines skipped",
                self.valid.div_ceil(batch::BATCH_SIZE),
                self.options.concurrency,
                self.skipped.len()
            )],
            confirm: self.ddb.table.clone(),
        }
    }

    fn execute(self, ctx: &Ctx) -> Result<ImportReport> {
        let (ddb, valid) = (self.ddb, self.valid);
        let started = Instant::now();
        let skip: HashSet<usize> = self.skipped.iter().copied().collect();
        let requests = lines(self.path)?.filter_map(|(number, line)| match line {
            _ if skip.contains(&number) => None,
            Err(error) => Some(Err(error)),
            // The same checks as the first pass: a line it skipped is skipped here too.
            Ok(text) => from_json_line(&text, self.dynamodb_json)
                .ok()
                .filter(|item| limits::check_limits(item).is_ok())
                .map(batch::put),
        });
        let progress = ctx.printer.progress("importing", Some(valid));
        let report =
            ctx.block_on(batch::write_stream(ddb, requests, self.options, &progress))??;
        if !report.failed.is_empty() {
            bail!(
                "could not write {} of {valid} items after {} retries: {}; {} were written — import again to finish",
                report.failed.len(),
                self.options.max_retries,
                report.failed.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
                report.written
            );
        }
        ctx.detail(format!(
            "consumed {} write capacity units (the table's and its index's); at most {} calls were in flight",
            report.capacity_units, report.peak_in_flight
        ));
        Ok(ImportReport {
            table: ddb.table.clone(),
            file: self.path.display().to_string(),
            items: report.written,
            skipped_lines: self.skipped,
            requests: report.requests,
            retries: report.retries,
            capacity_units: report.capacity_units,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// Numbered non-empty lines of the file, read as they are needed.
fn lines(path: &Path) -> Result<impl Iterator<Item = (usize, Result<String>)>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let shown = path.display().to_string();
    Ok(BufReader::new(file)
        .lines()
        .enumerate()
        .map(move |(i, line)| {
            (
                i + 1,
                line.map_err(|e| anyhow!("{shown}:{}: cannot read: {e}", i + 1)),
            )
        })
        .filter(|(_, line)| line.as_ref().map_or(true, |text| !text.trim().is_empty())))
}

/// The whole file checked before anything is written: how many items, which lines are bad.
fn check(path: &Path, import: &ImportArgs) -> Result<(usize, Vec<(usize, String)>)> {
    let mut valid = 0;
    let mut skipped = Vec::new();
    // Each key's first line: DynamoDB refuses a batch with a key twice, and across batches a
    // later line would silently replace an earlier one.
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (number, line) in lines(path)? {
        let item = from_json_line(&line?, import.dynamodb_json)
            .and_then(|item| limits::check_limits(&item).map(|()| item))
            .and_then(|item| {
                let key = (
                    text(&item, "pk").unwrap_or_default().to_string(),
                    text(&item, "sk").unwrap_or_default().to_string(),
                );
                match seen.get(&key) {
                    Some(first) => Err(format!(
                        "the key {} is already on line {first}; each item may appear once",
                        describe_key(&item)
                    )),
                    None => {
                        seen.insert(key, number);
                        Ok(item)
                    }
                }
            });
        match item {
            Ok(_) => valid += 1,
            Err(why) if import.skip_invalid => skipped.push((number, why)),
            Err(why) => {
                bail!(
                "{}:{number}: {why}; nothing was written (fix the line, or pass --skip-invalid{})",
                path.display(),
                if import.dynamodb_json { "" } else { "; a typed export needs --dynamodb-json" }
            )
            }
        }
    }
    if valid == 0 {
        bail!(
            "{} holds no item to import; nothing was written",
            path.display()
        );
    }
    Ok((valid, skipped))
}
