//! The one place that prints results. Commands return an [`Outcome`]; `main` hands it here.
//! Results go to stdout; everything else (progress, notices, errors) goes to stderr.

use std::io::{self, Write};

use anyhow::Result;
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::OutputFormat;

/// What a command found or did, as data.
#[derive(Debug)]
pub enum Outcome {
    /// Records with the same keys: a table for people, an array (json) or lines (jsonl).
    Rows {
        columns: Vec<String>,
        rows: Vec<Map<String, Value>>,
    },
    /// One result: a sentence for people, an object for machines.
    Done { message: String, data: Value },
    /// The command printed what it had to itself (psql, streamed output).
    Nothing,
}

impl Outcome {
    /// Rows from any serializable records; `columns` are the keys shown in the table, in order.
    pub fn rows<T: Serialize>(columns: &[&str], items: &[T]) -> Result<Outcome> {
        let rows = items
            .iter()
            .map(|item| match serde_json::to_value(item)? {
                Value::Object(map) => Ok(map),
                other => anyhow::bail!("internal: a row must be an object, got {other}"),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Outcome::Rows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        })
    }

    pub fn done(message: impl Into<String>, data: impl Serialize) -> Result<Outcome> {
        Ok(Outcome::Done {
            message: message.into(),
            data: serde_json::to_value(data)?,
        })
    }
}

pub fn render(outcome: &Outcome, format: OutputFormat) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match (outcome, format) {
        (Outcome::Nothing, _) => {}
        (Outcome::Rows { columns, rows }, OutputFormat::Table) => {
            writeln!(out, "{}", table(columns, rows))?;
            let noun = if rows.len() == 1 { "row" } else { "rows" };
            eprintln!("({} {noun})", rows.len());
        }
        (Outcome::Rows { rows, .. }, OutputFormat::Json) => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        (Outcome::Rows { rows, .. }, OutputFormat::Jsonl) => {
            for row in rows {
                serde_json::to_writer(&mut out, row)?;
                writeln!(out)?;
            }
        }
        (Outcome::Done { message, .. }, OutputFormat::Table) => writeln!(out, "{message}")?,
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

fn table(columns: &[String], rows: &[Map<String, Value>]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns);
    for row in rows {
        table.add_row(
            columns
                .iter()
                .map(|column| cell(row.get(column).unwrap_or(&Value::Null))),
        );
    }
    table
}

/// How one JSON value reads in a table cell.
pub fn cell(value: &Value) -> String {
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
    fn cells_read_plainly() {
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&json!("tim")), "tim");
        assert_eq!(cell(&json!(42)), "42");
        assert_eq!(cell(&json!(true)), "true");
    }

    #[test]
    fn rows_keep_their_keys_in_order() {
        #[derive(Serialize)]
        struct Row {
            b: i32,
            a: &'static str,
        }
        let Outcome::Rows { columns, rows } =
            Outcome::rows(&["b", "a"], &[Row { b: 1, a: "x" }]).unwrap()
        else {
            panic!("expected rows")
        };
        assert_eq!(columns, ["b", "a"]);
        assert_eq!(rows[0].keys().collect::<Vec<_>>(), ["b", "a"]);
        let rendered = table(&columns, &rows).to_string();
        assert!(
            rendered.contains('x') && rendered.contains('1'),
            "{rendered}"
        );
    }
}
