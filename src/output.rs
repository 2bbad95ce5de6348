//! The one place that prints results. Commands return an [`Outcome`]; `main` hands it here.
//! Results go to stdout; everything else (progress, notices, errors) goes to stderr.

use std::fmt::Display;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::printer::note;
use crate::term::{colour_stdout, paint, Colour};
use crate::text::{cut, visible};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Tables and sentences for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON value per line.
    Jsonl,
}

/// What a command found or did, as data.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Records with the same keys: a table for people, an array (json) or lines (jsonl).
    /// The columns say which keys the table shows, and how; JSON always has every key, whole.
    Rows {
        columns: Vec<Column>,
        rows: Vec<Map<String, Value>>,
        /// Say how many rows under the table (not for a report such as `doctor`'s).
        count: bool,
    },
    /// Plain values (names, ids): one column for people, an array of values for machines.
    List { header: String, values: Vec<Value> },
    /// One result: a sentence for people, an object for machines.
    Done { message: String, data: Value },
    /// A JSON document (a query that builds its result as JSON): indented for people and
    /// `json`, on one line for `jsonl`. Null (nothing found) is a note for people.
    Document(Value),
    /// The command printed what it had to itself (psql, streamed output).
    Nothing,
    /// Text printed as it is, whatever the format (completion scripts, the man page).
    Text(String),
    /// A result to show that still ends in failure (`doctor` with a failed check).
    Failing {
        outcome: Box<Outcome>,
        error: anyhow::Error,
    },
}

impl Outcome {
    /// Rows from any serializable records; `columns` are the keys shown in the table, in order.
    pub(crate) fn rows<T: Serialize>(columns: &[&str], items: &[T]) -> Result<Outcome> {
        let rows = items
            .iter()
            .map(|item| match serde_json::to_value(item)? {
                Value::Object(map) => Ok(map),
                other => anyhow::bail!("internal: a row must be an object, got {other}"),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Outcome::Rows {
            columns: columns.iter().map(|key| Column::new(key)).collect(),
            rows,
            count: true,
        })
    }

    /// Rows already in JSON form, with columns that may cut or reformat values in the table.
    pub(crate) fn rows_with(columns: Vec<Column>, rows: Vec<Map<String, Value>>) -> Outcome {
        Outcome::Rows {
            columns,
            rows,
            count: true,
        }
    }

    /// The same rows without the count under the table: a report, not a listing.
    pub(crate) fn uncounted(self) -> Outcome {
        match self {
            Outcome::Rows { columns, rows, .. } => Outcome::Rows {
                columns,
                rows,
                count: false,
            },
            other => other,
        }
    }

    /// What a `--dry-run` would have done: a summary and the actions, nothing done.
    /// A typed report: its sentence for people, its fields for machines.
    pub(crate) fn report<R: Display + Serialize>(report: &R) -> Result<Outcome> {
        Outcome::done(report.to_string(), report)
    }

    pub(crate) fn done(message: impl Into<String>, data: impl Serialize) -> Result<Outcome> {
        Ok(Outcome::Done {
            message: message.into(),
            data: serde_json::to_value(data)?,
        })
    }
}

/// A column of a table: which key, under which header, shown how.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) key: String,
    pub(crate) header: String,
    pub(crate) view: View,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Plain,
    /// At most this many characters, then `…`.
    Cut(usize),
    /// An ISO-8601 timestamp as `YYYY-MM-DD hh:mm AM`.
    Clock,
    /// `ok` / `warn` / `fail`, green / yellow / red when stdout is a terminal without NO_COLOR.
    Status,
}

impl Column {
    pub(crate) fn new(key: &str) -> Column {
        Column {
            key: key.to_string(),
            header: key.to_string(),
            view: View::Plain,
        }
    }

    pub(crate) fn header(mut self, header: &str) -> Column {
        self.header = header.to_string();
        self
    }

    pub(crate) fn view(mut self, view: View) -> Column {
        self.view = view;
        self
    }

    fn show(&self, value: &Value) -> String {
        let text = cell(value);
        let shown = match self.view {
            View::Plain => text,
            View::Cut(max) => cut(&text, max),
            View::Clock => clock(&text).unwrap_or(text),
            View::Status => {
                let Some(colour) = Colour::of_status(&text) else {
                    return visible(&text).into_owned();
                };
                return paint(colour_stdout(), colour, &text);
            }
        };
        visible(&shown).into_owned()
    }
}

fn clock(text: &str) -> Option<String> {
    let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(time.format("%Y-%m-%d %I:%M %p").to_string())
}

/// JSON lines written as they are produced (`ddb scan --output jsonl`, `ddb export`, `ddb
/// stream`): to stdout, or to a file written beside its name (`NAME.partial`) and renamed into
/// place when whole, so a half backup never looks done.
///
/// The one rule for a closed pipe: when stdout's reader goes away (`… | head`), writing stops
/// quietly and the producer is told to stop ([`ControlFlow::Break`]); the command then ends
/// with success, since the reader has what it wanted. A file that cannot be written is an
/// error, and a file not finished (an error, Ctrl-C) is removed.
pub(crate) struct Lines {
    out: Box<dyn Finish>,
    /// The file being written, and the name it gets when whole.
    file: Option<(PathBuf, PathBuf)>,
    written: usize,
    reader_gone: bool,
}

/// A sink that can end its stream: a gzip one writes its trailer.
trait Finish: Write {
    fn end(&mut self) -> io::Result<()>;
}

impl<W: Write> Finish for io::BufWriter<W> {
    fn end(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl<W: Write> Finish for flate2::write::GzEncoder<W> {
    fn end(&mut self) -> io::Result<()> {
        self.try_finish()?;
        self.get_mut().flush()
    }
}

fn compressed<W: Write + 'static>(out: io::BufWriter<W>, gzip: bool) -> Box<dyn Finish> {
    if gzip {
        Box::new(flate2::write::GzEncoder::new(
            out,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(out)
    }
}

/// What a [`Lines`] wrote.
#[derive(Debug)]
pub(crate) struct LinesWritten {
    pub(crate) lines: usize,
    /// stdout's reader went away before the end.
    pub(crate) reader_gone: bool,
}

impl Lines {
    /// Lines to stdout; with `gzip`, compressed.
    pub(crate) fn stdout(gzip: bool) -> Lines {
        let out = io::BufWriter::new(io::stdout().lock());
        Lines {
            out: compressed(out, gzip),
            file: None,
            written: 0,
            reader_gone: false,
        }
    }

    /// Lines to `path`, written first to `path.partial`; with `gzip`, compressed.
    pub(crate) fn file(path: &Path, gzip: bool) -> Result<Lines> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("--file: cannot write {}", partial.display()))?;
        Ok(Lines {
            out: compressed(io::BufWriter::new(file), gzip),
            file: Some((partial, path.to_path_buf())),
            written: 0,
            reader_gone: false,
        })
    }

    /// Write these rows, one line each, and flush them (a reader sees them now).
    /// `Break` when stdout's reader has gone: produce no more.
    pub(crate) fn write<T: Serialize>(
        &mut self,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<ControlFlow<()>> {
        if self.reader_gone {
            return Ok(ControlFlow::Break(()));
        }
        let result = self.put_all(rows);
        self.settle(result)
    }

    fn put_all<T: Serialize>(&mut self, rows: impl IntoIterator<Item = T>) -> Result<()> {
        for row in rows {
            serde_json::to_writer(&mut self.out, &row)?;
            self.out.write_all(b"\n")?;
            self.written += 1;
        }
        self.out.flush()?;
        Ok(())
    }

    /// The one rule for a failed write: stdout's reader gone is `Break`, anything else an error.
    fn settle(&mut self, result: Result<()>) -> Result<ControlFlow<()>> {
        match result {
            Ok(()) => Ok(ControlFlow::Continue(())),
            Err(error) if self.file.is_none() && is_broken_pipe(&error) => {
                self.reader_gone = true;
                Ok(ControlFlow::Break(()))
            }
            Err(error) => Err(error),
        }
    }

    /// Whether stdout's reader has gone: nothing more will be written.
    pub(crate) fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    /// Flush (a gzip stream gets its trailer), and give a file its name.
    pub(crate) fn finish(mut self) -> Result<LinesWritten> {
        if !self.reader_gone {
            let flushed = self.out.end().map_err(anyhow::Error::from);
            // A reader gone now is recorded in `reader_gone`; the lines it took were enough.
            let _ = self.settle(flushed)?;
        }
        if let Some((partial, path)) = self.file.take() {
            if let Err(e) = std::fs::rename(&partial, &path) {
                let _ = std::fs::remove_file(&partial);
                anyhow::bail!(
                    "cannot rename {} to {}: {e}",
                    partial.display(),
                    path.display()
                );
            }
        }
        Ok(LinesWritten {
            lines: self.written,
            reader_gone: self.reader_gone,
        })
    }
}

impl Drop for Lines {
    /// A file not finished is removed: no half file is left under a name that looks whole.
    fn drop(&mut self) {
        if let Some((partial, _)) = &self.file {
            let _ = std::fs::remove_file(partial);
        }
    }
}

pub(crate) fn render(outcome: &Outcome, format: OutputFormat) -> Result<()> {
    match write(outcome, format) {
        // `cruddur … | head` closed the pipe: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Whether writing failed because the reader went away (`cruddur … | head`).
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let kind = error
        .downcast_ref::<io::Error>()
        .map(io::Error::kind)
        .or_else(|| {
            error
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
        });
    kind == Some(io::ErrorKind::BrokenPipe)
}

fn write(outcome: &Outcome, format: OutputFormat) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match (outcome, format) {
        (Outcome::Nothing, _) => {}
        (Outcome::Text(text), _) => write!(out, "{text}")?,
        (Outcome::Failing { outcome, .. }, format) => write(outcome, format)?,
        (
            Outcome::Rows {
                columns,
                rows,
                count,
            },
            OutputFormat::Table,
        ) => {
            // A report (not a listing) is read in CI logs too: wrapped there as well.
            writeln!(out, "{}", table(columns, rows, !*count))?;
            if *count {
                let noun = if rows.len() == 1 { "row" } else { "rows" };
                note(&format!("({} {noun})", rows.len()));
            }
        }
        (Outcome::Rows { rows, .. }, format) => json_list(&mut out, rows, format)?,
        (Outcome::List { header, values }, OutputFormat::Table) => {
            let mut table = Table::new();
            table
                .load_style(presets::UTF8_FULL_CONDENSED)
                .set_header([header]);
            for value in values {
                table.add_row([visible(&cell(value)).into_owned()]);
            }
            writeln!(out, "{table}")?;
            let plural = if values.len() == 1 { "" } else { "s" };
            note(&format!("({} {header}{plural})", values.len()));
        }
        (Outcome::List { values, .. }, format) => json_list(&mut out, values, format)?,
        (Outcome::Document(Value::Null), OutputFormat::Table) => note("(no row)"),
        (Outcome::Document(document), OutputFormat::Jsonl) => {
            serde_json::to_writer(&mut out, document)?;
            writeln!(out)?;
        }
        (Outcome::Document(document), _) => {
            serde_json::to_writer_pretty(&mut out, document)?;
            writeln!(out)?;
        }
        (Outcome::Done { message, .. }, OutputFormat::Table) => {
            writeln!(out, "{}", visible(message))?
        }
        (Outcome::Done { data, .. }, OutputFormat::Json) => {
            serde_json::to_writer_pretty(&mut out, data)?;
            writeln!(out)?;
        }
        (Outcome::Done { data, .. }, OutputFormat::Jsonl) => {
            serde_json::to_writer(&mut out, data)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A list for machines: one array (json), or a line each (jsonl).
fn json_list(out: &mut impl Write, items: &[impl Serialize], format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Jsonl {
        for item in items {
            serde_json::to_writer(&mut *out, item)?;
            writeln!(out)?;
        }
    } else {
        serde_json::to_writer_pretty(&mut *out, items)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Narrower than this, squeezing would break every word into letters.
const NARROWEST: u16 = 40;

/// A report's width without a terminal (a CI log): COLUMNS when it says one, else this.
const LOG_WIDTH: u16 = 100;

fn table(columns: &[Column], rows: &[Map<String, Value>], report: bool) -> Table {
    let mut table = Table::new();
    // Fit the terminal's width (a pseudo-terminal without a size says 0: not worth fitting).
    // Without one, a listing keeps its lines whole for grep, and a report fits COLUMNS or
    // a log's 100 columns.
    let width = table
        .width()
        .filter(|width| *width >= NARROWEST)
        .or_else(|| {
            report.then(|| {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|text| text.trim().parse::<u16>().ok())
                    .filter(|width| *width >= NARROWEST)
                    .unwrap_or(LOG_WIDTH)
            })
        });
    match width {
        Some(width) => table
            .set_width(width)
            .set_content_arrangement(ContentArrangement::Dynamic),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_header(columns.iter().map(|c| c.header.as_str()));
    for row in rows {
        table.add_row(
            columns
                .iter()
                .map(|column| column.show(row.get(&column.key).unwrap_or(&Value::Null))),
        );
    }
    table
}

/// How one JSON value reads in a table cell.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let column = Column::new("message");
        assert_eq!(column.show(&json!("a\u{1b}[2Jb")), "a\\x1b[2Jb");
    }

    #[test]
    fn cells_read_plainly() {
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&json!("tim")), "tim");
        assert_eq!(cell(&json!(42)), "42");
        assert_eq!(cell(&json!(true)), "true");
    }

    #[test]
    fn columns_cut_and_reformat_for_people_only() {
        let clock = Column::new("created_at").view(View::Clock);
        assert_eq!(
            clock.show(&json!("2023-03-26T14:05:09.123456+00:00")),
            "2023-03-26 02:05 PM"
        );
        assert_eq!(clock.show(&json!("not a time")), "not a time");
    }

    #[test]
    fn rows_keep_their_keys_in_order() {
        #[derive(Serialize)]
        struct Row {
            b: i32,
            a: &'static str,
        }
        let Outcome::Rows { columns, rows, .. } =
            Outcome::rows(&["b", "a"], &[Row { b: 1, a: "x" }]).unwrap()
        else {
            panic!("expected rows")
        };
        assert_eq!(
            columns.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(rows[0].keys().collect::<Vec<_>>(), ["b", "a"]);
        let rendered = table(&columns, &rows, false).to_string();
        assert!(
            rendered.contains('x') && rendered.contains('1'),
            "{rendered}"
        );
    }
}
