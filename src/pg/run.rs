//! Running a SQL file: its statements split (with the file, line and column of whatever
//! cannot be split), then run in ONE transaction, rolled back whole on the first error, which
//! names the file, line and column with the offending line under it.

use anyhow::{anyhow, Context, Result};
use postgres::error::{ErrorPosition, SqlState};

use super::db_message;
use super::perform::{Tx, Writes};
use crate::app::SqlSource;
use crate::ops::PgOp;
use crate::printer::Printer;
use crate::sql;

/// Run `statements` of `source` in one transaction, then `finish` in the same transaction
/// (a marker, a record), then commit; on any error, roll back: nothing applied. How many
/// statements ran. `whole`: the one operation they are in a plan (a migration); None: each
/// statement is its own ([`PgOp::FileStatement`]).
pub(crate) fn run_statements(
    printer: Printer,
    writes: &mut Writes,
    source: &SqlSource,
    statements: &[sql::Statement<'_>],
    whole: Option<PgOp>,
    finish: impl FnOnce(&mut Tx) -> Result<()>,
) -> Result<usize> {
    let text = &source.text;
    let mut tx = writes.transaction()?;
    let each = whole.is_none();
    if let Some(op) = whole {
        tx.note(op);
    }
    let mut ran = 0;
    for statement in statements {
        crate::interrupt::check(|| {
            format!(
                "{} was rolled back after {ran} statements; nothing was applied",
                source.name
            )
        })?;
        match sql::first_keyword(statement.text).as_str() {
            _ if skipped(statement.text) => {
                let (line, _) = sql::line_col(text, statement.start);
                printer.detail(format!(
                    "{}:{line}: skipped `{}`: the file runs in one transaction",
                    source.name, statement.text
                ));
                continue;
            }
            "ROLLBACK" | "ABORT" => {
                let (line, column) = sql::line_col(text, statement.start);
                return Err(anyhow!(
                    "{}:{line}:{column}: the file rolls back its own transaction; remove the ROLLBACK (nothing was applied)",
                    source.name
                ));
            }
            _ => {}
        }
        let op = each.then(|| PgOp::FileStatement {
            line: sql::line_col(text, statement.start).0,
            sql: statement.text.to_string(),
            skipped: false,
        });
        if let Err(error) = tx.batch(statement.text, op) {
            let offset = match error.as_db_error().and_then(|db| db.position()) {
                Some(ErrorPosition::Original(position)) => {
                    statement.start + sql::char_offset(statement.text, *position as usize)
                }
                _ => statement.start,
            };
            let (line, column) = sql::line_col(text, offset);
            drop(tx); // rolls back
            crate::interrupt::check(|| {
                format!(
                    "{}:{line}: the running statement was cancelled and {} was rolled back; nothing was applied",
                    source.name, source.name
                )
            })?;
            let hint = if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                "\nanother session holds a lock this statement needs (the app?): try again when it is quieter, or raise --lock-timeout"
            } else {
                ""
            };
            return Err(anyhow!(
                "{}:{line}:{column}: {}\n{}{hint}\nnothing was applied: the file runs in one transaction, which was rolled back",
                source.name,
                db_message(&error),
                excerpt(text, line, column)
            ));
        }
        ran += 1;
    }
    finish(&mut tx)?;
    crate::interrupt::check(|| format!("{} was rolled back; nothing was applied", source.name))?;
    tx.commit()
        .with_context(|| format!("could not commit {}; nothing was applied", source.name))?;
    Ok(ran)
}

/// Whether a file's statement is skipped: the whole file is one transaction already, and its
/// own BEGIN/COMMIT would end it early.
pub(crate) fn skipped(statement: &str) -> bool {
    matches!(
        sql::first_keyword(statement).as_str(),
        "BEGIN" | "START" | "COMMIT" | "END"
    )
}

/// The statements of a file, or an error naming where it cannot be split.
pub(crate) fn split(source: &SqlSource) -> Result<Vec<sql::Statement<'_>>> {
    let text = &source.text;
    sql::split(text).map_err(|e| {
        let (line, column) = sql::line_col(text, e.offset);
        anyhow!(
            "{}:{line}:{column}: {}; nothing was run\n{}",
            source.name,
            e.message,
            excerpt(text, line, column)
        )
    })
}

/// The offending line with a caret under the column.
fn excerpt(text: &str, line: usize, column: usize) -> String {
    let source_line = text.lines().nth(line - 1).unwrap_or("");
    let gutter = line.to_string();
    let pad: String = source_line
        .chars()
        .take(column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "  {gutter} | {source_line}\n  {} | {pad}^",
        " ".repeat(gutter.len())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_point_at_the_column() {
        assert_eq!(
            excerpt("SELECT 1;\nCREATE TABLEX a;", 2, 8),
            "  2 | CREATE TABLEX a;\n    |        ^"
        );
    }
}
