//! `cruddur db …`: the app's Postgres database. One file per command; what several of them
//! share (running a SQL file in one transaction) lives here.

mod connect;
pub mod create;
mod drop;
pub mod migrate;
pub mod migration;
mod migrations;
mod new_migration;
mod query;
mod rollback;
mod schema_load;
mod seed;
mod sessions;
pub mod setup;
mod update_cognito_user_ids;
pub mod users;

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use postgres::error::{ErrorPosition, SqlState};
use serde::Serialize;

use crate::cli::DbCommand;
use crate::ctx::Ctx;
use crate::guard::{self, Done, Plan};
use crate::output::Outcome;
use crate::pg::{db_message, mark_statement, marker, PgTarget};
use crate::sql;
use crate::target::Target;

pub fn run(ctx: &Ctx, command: &DbCommand) -> Result<Outcome> {
    match command {
        DbCommand::Create => create::run(ctx),
        DbCommand::Drop(args) => drop::run(ctx, args),
        DbCommand::SchemaLoad(args) => schema_load::run(ctx, args),
        DbCommand::Seed(args) => seed::run(ctx, args),
        DbCommand::Sessions => sessions::run(ctx),
        DbCommand::Setup(args) => setup::run(ctx, args),
        DbCommand::Connect(args) => connect::run(ctx, args),
        DbCommand::UpdateCognitoUserIds(pool) => update_cognito_user_ids::run(ctx, pool),
        DbCommand::Query(args) => query::run(ctx, args),
        DbCommand::Migrations(args) => migrations::run(ctx, args),
        DbCommand::Migrate(args) => migrate::run(ctx, args),
        DbCommand::Rollback(args) => rollback::run(ctx, args),
        DbCommand::NewMigration(args) => new_migration::run(ctx, args),
    }
}

/// A SQL file to run: one of the built-in ones, or one the user named.
#[derive(Debug)]
pub struct SqlSource {
    pub name: String,
    pub text: String,
}

impl SqlSource {
    pub fn new(file: Option<&Path>, builtin_name: &str, builtin: &str) -> Result<SqlSource> {
        match file {
            Some(path) => Ok(SqlSource {
                name: path.display().to_string(),
                text: std::fs::read_to_string(path)
                    .with_context(|| format!("--file {}: cannot read the file", path.display()))?,
            }),
            None => Ok(SqlSource {
                name: format!("{builtin_name} (built in)"),
                text: builtin.to_string(),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub database: String,
    pub file: String,
    pub statements: usize,
    pub elapsed_ms: u64,
}

/// Run every statement of `source` in ONE transaction, through the guard (the plan lists
/// every statement). On the first error the transaction is rolled back (nothing applied) and
/// the error names the file, line and column. With `mark`, the database also records which
/// environment it belongs to, in the same transaction; in --prod, a marker that cannot be
/// written fails the load, and locally a `prod` marker is never rewritten to `local`.
pub fn load_file(
    ctx: &Ctx,
    pg: &PgTarget,
    source: &SqlSource,
    mark: bool,
) -> Result<Done<LoadReport>> {
    let started = Instant::now();
    let text = &source.text;
    let statements = split(source)?;
    if statements.is_empty() {
        ctx.warn(format!("{} holds no SQL statement", source.name));
    }
    // A dry run plans even when the database cannot be reached, and says so.
    let (mut client, current) = match pg.connect() {
        Ok(mut client) => {
            let current = marker(&mut client, &pg.dbname);
            (Some(client), current)
        }
        Err(error) if !ctx.dry_run => return Err(error),
        Err(error) => (None, Err(error)),
    };
    let keep_prod_marker = matches!(&current, Ok(Some(m)) if m == Target::Prod.name());
    let mark = mark && !(pg.target == Target::Local && keep_prod_marker);
    let mut actions: Vec<String> = statements
        .iter()
        .map(|s| {
            let (line, _) = sql::line_col(text, s.start);
            let first = s.text.lines().next().unwrap_or("");
            format!("line {line}: {}", crate::output::cut(first, 80))
        })
        .collect();
    if mark {
        actions.push(mark_statement(&pg.dbname, pg.target));
    }
    if let Err(why) = &current {
        actions.push(format!(
            "(the environment marker could not be read: {why:#})"
        ));
    }
    let plan = Plan {
        destination: pg.destination(),
        summary: format!(
            "run {} statements of {} in one transaction",
            statements.len(),
            source.name
        ),
        actions,
        confirm: pg.dbname.clone(),
    };
    guard::write(ctx, &plan, Some(current), || {
        let client = client
            .as_mut()
            .ok_or_else(|| anyhow!("internal: no connection"))?;
        run_statements(ctx, client, source, &statements, |tx| {
            if !mark {
                return Ok(());
            }
            tx.batch_execute(&mark_statement(&pg.dbname, pg.target))
                .map_err(|error| {
                    anyhow!(
                        "could not record on `{}` that it belongs to {} ({}); nothing was applied. \
                         The guard relies on that mark: load the schema as the database's owner",
                        pg.dbname,
                        pg.target.name(),
                        db_message(&error)
                    )
                })
        })
        .map(|statements| LoadReport {
            database: pg.dbname.clone(),
            file: source.name.clone(),
            statements,
            elapsed_ms: 0,
        })
    })
    .map(|done| match done {
        Done::Executed(mut report) => {
            report.elapsed_ms = started.elapsed().as_millis() as u64;
            Done::Executed(report)
        }
        planned => planned,
    })
}

/// Run `statements` of `source` in one transaction, then `finish` in the same transaction
/// (a marker, a record), then commit; on any error, roll back: nothing applied. How many
/// statements ran.
pub fn run_statements(
    ctx: &Ctx,
    client: &mut postgres::Client,
    source: &SqlSource,
    statements: &[sql::Statement<'_>],
    finish: impl FnOnce(&mut postgres::Transaction) -> Result<()>,
) -> Result<usize> {
    let text = &source.text;
    let mut tx = client.transaction()?;
    let mut ran = 0;
    for statement in statements {
        crate::interrupt::check(|| {
            format!(
                "{} was rolled back after {ran} statements; nothing was applied",
                source.name
            )
        })?;
        match sql::first_keyword(statement.text).as_str() {
            // The whole file is one transaction already; its own BEGIN/COMMIT would end it early.
            "BEGIN" | "START" | "COMMIT" | "END" => {
                let (line, _) = sql::line_col(text, statement.start);
                ctx.detail(format!(
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
        if let Err(error) = tx.batch_execute(statement.text) {
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

/// The statements of a file, or an error naming where it cannot be split.
pub fn split(source: &SqlSource) -> Result<Vec<sql::Statement<'_>>> {
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
