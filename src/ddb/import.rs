//! `cruddur ddb import PATH`: the items of a JSON-lines file (as `ddb export` writes them)
//! written through the bulk write path. The file is checked whole first — a malformed line
//! stops everything before any write, unless --skip-invalid — then streamed, never read into
//! memory at once.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
use crate::ops::DdbOp;
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, import: &ImportArgs) -> Result<Outcome> {
    let path = match (&import.path, &import.s3) {
        (_, Some(url)) => {
            let place = super::s3::S3Place::parse(url)?;
            let gzip = import.s3_compression == crate::cli::S3Compression::Gzip;
            return super::s3::import(ctx, ctx.ddb()?, place, gzip, import.wait_timeout);
        }
        (Some(path), None) => path,
        (None, None) => {
            anyhow::bail!("give the file (or folder) to import, or --s3 s3://BUCKET/PREFIX")
        }
    };
    let (valid, skipped) = check(path, import.dynamodb_json, import.skip_invalid)?;
    for skip in skipped.iter().take(20) {
        ctx.warn(format!("{}: skipped: {}", skip.place, skip.why));
    }
    if skipped.len() > 20 {
        ctx.warn(format!("and {} more lines skipped", skipped.len() - 20));
    }
    let ddb = ctx.ddb()?;
    let write = Import {
        ddb,
        path,
        dynamodb_json: import.dynamodb_json,
        valid,
        skipped: skipped
            .into_iter()
            .map(|s| (s.place.at, s.place.line))
            .collect(),
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
    /// The malformed lines skipped (--skip-invalid): their place in the whole input, and
    /// their line in their file.
    skipped: Vec<(usize, usize)>,
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
        Plan::new(
            self.ddb.destination(),
            format!(
                "import {} items from {} (items with the same keys are replaced)",
                self.valid,
                self.path.display()
            ),
            vec![DdbOp::ImportItems {
                items: self.valid,
                requests: self.valid.div_ceil(batch::BATCH_SIZE),
                concurrency: self.options.concurrency,
                skipped_lines: self.skipped.len(),
            }
            .into()],
            &self.ddb.table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<ImportReport> {
        let (ddb, valid) = (self.ddb, self.valid);
        let started = Instant::now();
        let skip: HashSet<usize> = self.skipped.iter().map(|(at, _)| *at).collect();
        let requests = lines(self.path)?.filter_map(|(place, line)| match line {
            _ if skip.contains(&place.at) => None,
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
            skipped_lines: self.skipped.iter().map(|(_, line)| *line).collect(),
            requests: report.requests,
            retries: report.retries,
            capacity_units: report.capacity_units,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// Where a line is: its file (as shown) and its number there; `at` counts the lines of every
/// file in order, for the skip list.
struct Place {
    at: usize,
    file: Arc<str>,
    line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The files to read: the file itself, or every data file of a folder laid out as DynamoDB's
/// S3 export (`AWSDynamoDB/<id>/data/*.json.gz`), in name order.
fn sources(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|folder| folder == "data")
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".gz") || n.ends_with(".json"))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    walk(path, &mut found)?;
    found.sort();
    if found.is_empty() {
        bail!(
            "{} is a folder without the data files of a DynamoDB S3 export \
             (AWSDynamoDB/<export id>/data/*.json.gz); nothing was written",
            path.display()
        );
    }
    Ok(found)
}

/// The file's lines, through gzip when it starts like gzip.
fn open(path: &Path) -> Result<(Box<dyn BufRead>, bool)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    file.seek(SeekFrom::Start(0))?;
    Ok(if gzip {
        (
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
            true,
        )
    } else {
        (Box::new(BufReader::new(file)), false)
    })
}

/// The non-empty lines of every source, in order, read as they are needed.
fn lines(path: &Path) -> Result<impl Iterator<Item = (Place, Result<String>)>> {
    let files = sources(path)?;
    let mut at = 0usize;
    Ok(files
        .into_iter()
        .flat_map(move |file| {
            let shown: Arc<str> = file.display().to_string().into();
            let opened = open(&file);
            let first = Place {
                at: 0,
                file: shown.clone(),
                line: 0,
            };
            let lines: Box<dyn Iterator<Item = (Place, Result<String>)>> = match opened {
                Err(error) => Box::new(std::iter::once((first, Err(error)))),
                Ok((reader, gzip)) => Box::new(reader.lines().enumerate().map(move |(i, line)| {
                    let place = Place {
                        at: 0,
                        file: shown.clone(),
                        line: i + 1,
                    };
                    let line = line.map_err(|e| {
                        anyhow!(
                            "{place}: cannot read: {e}{}",
                            if gzip {
                                " (a truncated or damaged gzip file?)"
                            } else {
                                ""
                            }
                        )
                    });
                    (place, line)
                })),
            };
            Box::new(
                lines
                    .filter(|(_, line)| line.as_ref().map_or(true, |text| !text.trim().is_empty())),
            ) as Box<dyn Iterator<Item = (Place, Result<String>)>>
        })
        .map(move |(mut place, line)| {
            at += 1;
            place.at = at;
            (place, line)
        }))
}

/// A line left out by --skip-invalid: where, and why.
struct Skipped {
    place: Place,
    why: String,
}

/// Every line checked before anything is written: how many items, which lines are bad.
fn check(path: &Path, dynamodb_json: bool, skip_invalid: bool) -> Result<(usize, Vec<Skipped>)> {
    let mut valid = 0;
    let mut skipped = Vec::new();
    // Each key's first line: DynamoDB refuses a batch with a key twice, and across batches a
    // later line would silently replace an earlier one.
    let mut seen: HashMap<(String, String), (Arc<str>, usize)> = HashMap::new();
    for (place, line) in lines(path)? {
        let item = from_json_line(&line?, dynamodb_json)
            .and_then(|item| limits::check_limits(&item).map(|()| item))
            .and_then(|item| {
                let key = (
                    text(&item, "pk").unwrap_or_default().to_string(),
                    text(&item, "sk").unwrap_or_default().to_string(),
                );
                match seen.get(&key) {
                    Some((file, line)) => Err(format!(
                        "the key {} is already on {}; each item may appear once",
                        describe_key(&item),
                        if *file == place.file {
                            format!("line {line}")
                        } else {
                            format!("{file}:{line}")
                        }
                    )),
                    None => {
                        seen.insert(key, (place.file.clone(), place.line));
                        Ok(item)
                    }
                }
            });
        match item {
            Ok(_) => valid += 1,
            Err(why) if skip_invalid => skipped.push(Skipped { place, why }),
            Err(why) => {
                bail!(
                    "{place}: {why}; nothing was written (fix the line, or pass --skip-invalid{})",
                    if dynamodb_json {
                        ""
                    } else {
                        "; a typed export without `{\"Item\": …}` needs --dynamodb-json"
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// The items the check let through, and only those, in BatchWriteItem calls of 25: a line
    /// skipped as malformed and a key given twice are not sent.
    #[test]
    fn an_import_performs_what_it_planned() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let path = dir.path().join("items.jsonl");
        let mut text: String = (0..30)
            .map(|i| format!("{{\"pk\": \"MSG#g\", \"sk\": \"2026-12-07T09:{i:02}:00Z\"}}\n"))
            .collect();
        text.push_str("{\"pk\": \"MSG#g\"\n");
        text.push_str("{\"pk\": \"MSG#g\", \"sk\": \"2026-12-07T09:00:00Z\"}\n");
        std::fs::write(&path, text).expect("the file");
        let (valid, skipped) = check(&path, false, true).expect("the check");
        assert_eq!((valid, skipped.len()), (30, 2));
        let (ddb, recorder) = Ddb::recording("cruddur-messages");
        let write = Import {
            ddb: &ddb,
            path: &path,
            dynamodb_json: false,
            valid,
            skipped: skipped.iter().map(|s| (s.place.at, s.place.line)).collect(),
            options: batch::BatchOptions {
                concurrency: 4,
                max_retries: 1,
            },
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(
            performed,
            [DdbOp::BatchWrite {
                puts: 30,
                deletes: 0,
                requests: 2,
            }
            .into()]
        );
    }
}
