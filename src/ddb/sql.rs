//! `cruddur ddb sql STATEMENT [--param V …|--param-json J …] [--limit N]`: PartiQL through
//! ExecuteStatement. A SELECT reads every page (the AWS CLI prints one page of typed JSON)
//! and prints plain JSON items, as `ddb scan` does; an INSERT, UPDATE or DELETE is a write
//! with its plan (the statement and its parameters), through the guard.

use std::fmt;
use std::ops::ControlFlow;

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::DdbSqlArgs;
use crate::ctx::Ctx;
use crate::dynamodb::codec::{parameter_as_it_looks, parameter_from_json, to_json, typed_text};
use crate::dynamodb::items::Item;
use crate::dynamodb::Ddb;
use crate::error::Stop;
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::{Column, Lines, Outcome, OutputFormat, View};

/// What a statement does, by its first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select,
    Insert,
    Update,
    Delete,
}

impl Kind {
    fn of(statement: &str) -> Result<Kind> {
        let word: String = statement
            .trim_start()
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        match word.to_ascii_uppercase().as_str() {
            "SELECT" => Ok(Kind::Select),
            "INSERT" => Ok(Kind::Insert),
            "UPDATE" => Ok(Kind::Update),
            "DELETE" => Ok(Kind::Delete),
            _ => Err(Stop::Usage(format!(
                "`{}` is not a statement `ddb sql` runs: a PartiQL statement starts with SELECT, \
                 INSERT, UPDATE or DELETE",
                crate::text::visible(&crate::text::cut(statement.trim(), 60))
            ))
            .into()),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Select => "SELECT",
            Kind::Insert => "INSERT",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
}

/// The table a statement names: after FROM (SELECT, DELETE), INTO (INSERT) or UPDATE, as a
/// double-quoted name (`"cruddur-messages"`, `""` for a quote inside) or a bare one. Words
/// inside single-quoted strings are skipped. None when it names none this can read.
fn table_of(statement: &str, kind: Kind) -> Option<String> {
    let mut tokens = Vec::new();
    let mut chars = statement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal: '' is a quote inside it.
                while let Some(c) = chars.next() {
                    if c == '\'' && chars.next_if_eq(&'\'').is_none() {
                        break;
                    }
                }
                tokens.push(Token::Other);
            }
            '"' => {
                let mut name = String::new();
                while let Some(c) = chars.next() {
                    if c == '"' && chars.next_if_eq(&'"').is_none() {
                        break;
                    }
                    name.push(c);
                }
                tokens.push(Token::Quoted(name));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') => {
                let mut word = c.to_string();
                while let Some(c) = chars.next_if(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
                {
                    word.push(c);
                }
                tokens.push(Token::Word(word));
            }
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
    }
    let keyword = match kind {
        Kind::Select | Kind::Delete => "FROM",
        Kind::Insert => "INTO",
        Kind::Update => "UPDATE",
    };
    let at = tokens
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(keyword)))?;
    match tokens.get(at + 1)? {
        Token::Quoted(name) => Some(name.clone()),
        Token::Word(word) => Some(word.clone()),
        Token::Other => None,
    }
}

enum Token {
    Word(String),
    Quoted(String),
    Other,
}

/// The parameters, in order: as they look, or as JSON (clap refuses both at once).
fn parameters(args: &DdbSqlArgs) -> Result<Vec<AttributeValue>> {
    if !args.params_json.is_empty() {
        return args
            .params_json
            .iter()
            .enumerate()
            .map(|(at, text)| {
                parameter_from_json(text).map_err(|why| {
                    Stop::Usage(format!(
                        "--param-json number {} (`{}`) is {why}; write a JSON value, e.g. '\"text\"', 42 or '{{\"a\": 1}}'",
                        at + 1,
                        crate::text::visible(&crate::text::cut(text, 40))
                    ))
                    .into()
                })
            })
            .collect();
    }
    Ok(args
        .params
        .iter()
        .map(|p| parameter_as_it_looks(p))
        .collect())
}

pub(super) fn run(ctx: &Ctx, args: &DdbSqlArgs) -> Result<Outcome> {
    let kind = Kind::of(&args.statement)?;
    let parameters = parameters(args)?;
    if kind == Kind::Select {
        guarded::reads(ctx, "`cruddur ddb sql` with a SELECT")?;
    } else if args.limit.is_some() || args.page_size.is_some() {
        return Err(Stop::Usage(format!(
            "--limit and --page-size bound what a SELECT reads; {} {} reads nothing back: leave them out",
            if kind == Kind::Delete { "a" } else { "an" },
            kind.name()
        ))
        .into());
    }
    // The statement's own table, so that a missing one is named; else the configured one.
    let named = table_of(&args.statement, kind)
        .filter(|table| crate::dynamodb::check_table_name(table, "the statement's table").is_ok());
    let table = match named {
        Some(table) => table,
        // A write's plan and confirmation name its table: it must be known.
        None if kind != Kind::Select => {
            return Err(Stop::Usage(format!(
                "cannot tell which table the {} writes to: name it right after {}, in double \
                 quotes (\"cruddur-messages\")",
                kind.name(),
                match kind {
                    Kind::Insert => "INSERT INTO",
                    Kind::Update => "UPDATE",
                    _ => "DELETE FROM",
                }
            ))
            .into())
        }
        None => ctx.ddb_settings().table.clone(),
    };
    let ddb = ctx.ddb_table(&table)?;
    if kind == Kind::Select {
        let read = Read {
            limit: args.limit,
            page_size: args.page_size,
        };
        return select(ctx, &ddb, &args.statement, &parameters, read);
    }
    let write = Statement {
        ddb,
        kind,
        statement: args.statement.clone(),
        parameters,
    };
    guarded::run(ctx, Prepared::Write(write))
}

/// How a SELECT reads: at most `limit` items, `page_size` evaluated a request.
#[derive(Debug, Clone, Copy)]
struct Read {
    limit: Option<usize>,
    page_size: Option<i32>,
}

/// Every page of a SELECT: as JSON lines while they arrive, or rows.
fn select(
    ctx: &Ctx,
    ddb: &Ddb,
    statement: &str,
    parameters: &[AttributeValue],
    read: Read,
) -> Result<Outcome> {
    let progress = ctx.printer.progress("reading", None);
    if ctx.output == OutputFormat::Jsonl {
        let mut lines = Lines::stdout(false);
        ctx.block_on(pages(ddb, statement, parameters, read, |items| {
            progress.add(items.len());
            lines.write(items.iter().map(to_json))
        }))??;
        progress.finish();
        lines.finish()?;
        return Ok(Outcome::Nothing);
    }
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    ctx.block_on(pages(ddb, statement, parameters, read, |items| {
        progress.add(items.len());
        rows.extend(items.iter().map(to_json));
        Ok(ControlFlow::Continue(()))
    }))??;
    progress.finish();
    // The columns are the items' attributes, in the order they first appear (keys first).
    let mut names: Vec<String> = Vec::new();
    for row in &rows {
        for name in row.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let columns = names
        .iter()
        .map(|name| Column::new(name).view(View::Cut(60)))
        .collect();
    Ok(Outcome::rows_with(columns, rows))
}

/// Read page after page (each handed to `sink`), until the last or `limit` items.
async fn pages(
    ddb: &Ddb,
    statement: &str,
    parameters: &[AttributeValue],
    read: Read,
    mut sink: impl FnMut(&[Item]) -> Result<ControlFlow<()>>,
) -> Result<usize> {
    let mut seen = 0usize;
    let mut next = None;
    loop {
        crate::interrupt::check(|| format!("the statement's reading stopped after {seen} items"))?;
        let limit = read.limit;
        let room = limit.map(|limit| limit - seen);
        let evaluate = match (
            room.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            read.page_size,
        ) {
            (Some(room), Some(size)) => Some(room.min(size)),
            (room, size) => room.or(size),
        };
        let page = ddb
            .execute_statement(statement, parameters, false, next, evaluate)
            .await?;
        let take = page.items.len().min(room.unwrap_or(usize::MAX));
        let flow = sink(&page.items[..take])?;
        seen += take;
        next = page.next;
        if flow.is_break() || next.is_none() || limit.is_some_and(|limit| seen >= limit) {
            return Ok(seen);
        }
    }
}

/// A statement that writes, as it will be sent.
struct Statement {
    ddb: Ddb,
    kind: Kind,
    statement: String,
    parameters: Vec<AttributeValue>,
}

#[derive(Debug, Serialize)]
struct StatementReport {
    table: String,
    kind: &'static str,
    statement: String,
}

impl Report for StatementReport {}

impl fmt::Display for StatementReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ran the {} on `{}`", self.kind, self.table)
    }
}

impl Write for Statement {
    type Report = StatementReport;

    fn plan(&self) -> Plan {
        Plan::new(
            self.ddb.destination(),
            format!(
                "run a PartiQL {} on table `{}`",
                self.kind.name(),
                self.ddb.table
            ),
            vec![DdbOp::ExecuteStatement {
                table: self.ddb.table.clone(),
                statement: self.statement.clone(),
                parameters: self.parameters.iter().map(typed_text).collect(),
            }
            .into()],
            self.ddb.table.clone(),
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<StatementReport> {
        ctx.block_on(self.ddb.execute_statement(
            &self.statement,
            &self.parameters,
            true,
            None,
            None,
        ))??;
        Ok(StatementReport {
            table: self.ddb.table.clone(),
            kind: self.kind.name(),
            statement: self.statement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    #[test]
    fn a_statement_is_known_by_its_first_word_and_its_table_by_its_place() {
        let cases = [
            (
                "SELECT * FROM \"cruddur-messages\" WHERE pk = ?",
                Kind::Select,
                Some("cruddur-messages"),
            ),
            (
                "  select message from t_1.\"idx\"",
                Kind::Select,
                Some("t_1"),
            ),
            (
                "INSERT INTO \"a\"\"b\" VALUE {'pk': 'FROM x'}",
                Kind::Insert,
                Some("a\"b"),
            ),
            (
                "UPDATE \"m\" SET message = 'it''s FROM y' WHERE pk = ?",
                Kind::Update,
                Some("m"),
            ),
            (
                "DELETE FROM messages WHERE pk = 'p' AND sk = 's'",
                Kind::Delete,
                Some("messages"),
            ),
            ("SELECT 1", Kind::Select, None),
        ];
        for (statement, kind, table) in cases {
            assert_eq!(Kind::of(statement).unwrap(), kind, "{statement}");
            assert_eq!(table_of(statement, kind).as_deref(), table, "{statement}");
        }
        let refused = Kind::of("EXISTS(SELECT * FROM t)").unwrap_err().to_string();
        assert_eq!(
            refused,
            "`EXISTS(SELECT * FROM t)` is not a statement `ddb sql` runs: a PartiQL statement \
             starts with SELECT, INSERT, UPDATE or DELETE"
        );
    }

    #[test]
    fn a_write_performs_what_it_planned() {
        for kind in [Kind::Insert, Kind::Update, Kind::Delete] {
            let (ddb, recorder) = Ddb::recording("cruddur-messages");
            let write = Statement {
                ddb,
                kind,
                statement: "DELETE FROM \"cruddur-messages\" WHERE pk = ? AND sk = ?".into(),
                parameters: vec![
                    AttributeValue::S("MSG#1".into()),
                    parameter_as_it_looks("42"),
                ],
            };
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
            assert_eq!(performed, planned);
            assert_eq!(
                planned[0].to_string(),
                "ExecuteStatement on `cruddur-messages`: DELETE FROM \"cruddur-messages\" WHERE \
                 pk = ? AND sk = ? with ?1 = {\"S\":\"MSG#1\"}, ?2 = {\"N\":\"42\"}"
            );
        }
    }
}
