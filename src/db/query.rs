//! `cruddur db query [NAME] [--param NAME=VALUE]…`: run one of the app's named queries,
//! its `%(name)s` placeholders bound as parameters; no NAME lists the queries. Inside the
//! app's repository the queries are every `*.sql` under its `sql/` folder, at any depth.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{anyhow, bail, Result};
use postgres::types::{ToSql, Type};
use postgres::Client;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::{App, NamedQuery};
use crate::cli::QueryArgs;
use crate::ctx::Ctx;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::{Parameter, PgOp};
use crate::output::{Column, Outcome};
use crate::pg::marker;
use crate::pg::perform::{Changed, Writes};
use crate::pg::{db_message, PgTarget, TextParam};
use crate::sql;

#[derive(Debug, Serialize)]
struct QueryInfo {
    name: String,
    params: String,
    description: String,
    /// The file, as the user would type it (or `built-in sql/…`).
    file: String,
    /// Why it cannot run (a parse error at its file and line); null when it can.
    problem: Option<String>,
}

/// What a query that writes without RETURNING did.
#[derive(Debug, Serialize)]
struct WriteReport {
    query: String,
    /// The file it came from, as the user would type it.
    file: String,
    rows_affected: u64,
}

pub(super) fn run(ctx: &Ctx, args: &QueryArgs) -> Result<Outcome> {
    let app = ctx.app()?;
    let queries = app.queries()?;
    let Some(name) = &args.name else {
        return list(ctx, app, &queries);
    };
    let wanted = name.trim_end_matches(".sql").trim_start_matches("sql/");
    let query = queries.iter().find(|q| q.name == wanted).ok_or_else(|| {
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        anyhow!(
            "there is no query `{}` in {}; {} (`cruddur db query` lists them with their parameters)",
            crate::text::visible(name),
            app.queries_folder(),
            if names.is_empty() {
                "it holds no .sql file".to_string()
            } else {
                format!("the queries are: {}", names.join(", "))
            }
        )
    })?;
    ctx.detail(format!("query `{}`: {}", query.name, query.source.name));
    let prepared = query.prepare()?;
    let name = query.name.as_str();
    let statement = prepared.statement;
    let values = bind(name, &prepared.params, &args.params)?;
    let writes = prepared.writes;
    if !writes {
        guarded::reads(ctx, &format!("query `{name}`"))?;
    }
    let pg = ctx.pg()?;
    let mut client = pg.connect()?;
    let failed = |e: postgres::Error| {
        anyhow!(
            "query `{name}` ({}) failed: {}",
            query.source.name,
            db_message(&e)
        )
    };
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    if !writes {
        let shape = shape(&mut client, &statement).map_err(failed)?;
        let rows = client
            .query(wrapped(&statement, false).as_str(), &params)
            .map_err(failed)?;
        return shape.result(name, rows)?.into_outcome();
    }
    // A write that returns rows is described now (a read), so that its run only writes.
    let shape = sql::has_keyword(&statement, "RETURNING")
        .then(|| shape(&mut client, &statement))
        .transpose()
        .map_err(failed)?;
    drop(params);
    let marker = Marker::read(&marker(&mut client, &pg.dbname));
    guarded::run(
        ctx,
        Prepared::Write(RunQuery {
            pg,
            writes: Writes::new(client),
            name,
            file: &query.source.name,
            params: &prepared.params,
            values,
            statement,
            shape,
            marker,
        }),
    )
}

/// A named query that writes, with its values.
struct RunQuery<'a> {
    pg: &'a PgTarget,
    writes: Writes,
    name: &'a str,
    file: &'a str,
    params: &'a [String],
    values: Vec<TextParam<'a>>,
    statement: String,
    /// With RETURNING: how its rows read back.
    shape: Option<Shape>,
    marker: Marker,
}

impl Write for RunQuery<'_> {
    type Report = QueryResult;

    fn plan(&self) -> Plan {
        let values = self
            .params
            .iter()
            .zip(&self.values)
            .map(|(name, value)| Parameter {
                name: name.to_string(),
                value: value.0.to_string(),
            })
            .collect();
        Plan::new(
            self.pg.destination(),
            format!("run `{}` ({}), which writes", self.name, self.file),
            vec![
                PgOp::Statement {
                    sql: self.statement.clone(),
                }
                .into(),
                PgOp::Parameters { values }.into(),
            ],
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, _: &Ctx) -> Result<QueryResult> {
        let (name, file) = (self.name, self.file);
        let failed =
            |e: postgres::Error| anyhow!("query `{name}` ({file}) failed: {}", db_message(&e));
        let params: Vec<&(dyn ToSql + Sync)> = self
            .values
            .iter()
            .map(|v| v as &(dyn ToSql + Sync))
            .collect();
        let returning = self.shape.as_ref().map(|_| wrapped(&self.statement, true));
        match self
            .writes
            .statement_with(&self.statement, &params, returning.as_deref())
            .map_err(failed)?
        {
            Changed::Count(count) => Ok(QueryResult::Changed(WriteReport {
                query: name.to_string(),
                file: file.to_string(),
                rows_affected: count,
            })),
            Changed::Rows(rows) => match self.shape.take() {
                Some(shape) => shape.result(name, rows),
                None => bail!("internal: query `{name}` returned rows it was not described for"),
            },
        }
    }
}

/// What a query gave: the rows it returned, or how many rows a write changed.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum QueryResult {
    /// A write without RETURNING.
    Changed(WriteReport),
    /// Rows, as objects with their columns in order.
    Rows {
        #[serde(skip)]
        columns: Vec<Column>,
        rows: Vec<Map<String, Value>>,
    },
    /// Every column JSON (`row_to_json`, `array_to_json`, as the app's show queries build):
    /// a document, printed as JSON, not as a table of JSON text.
    Document(Value),
}

impl Report for QueryResult {
    fn into_outcome(self) -> Result<Outcome> {
        match self {
            QueryResult::Changed(report) => Outcome::report(&report),
            QueryResult::Rows { columns, rows } => Ok(Outcome::rows_with(columns, rows)),
            QueryResult::Document(document) => Ok(Outcome::Document(document)),
        }
    }
}

impl fmt::Display for QueryResult {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            QueryResult::Changed(report) => report.fmt(f),
            QueryResult::Rows { rows, .. } => write!(f, "{} row(s)", rows.len()),
            QueryResult::Document(_) => f.write_str("a JSON document"),
        }
    }
}

impl fmt::Display for WriteReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "`{}` ({}) changed {} row{}",
            self.query,
            self.file,
            self.rows_affected,
            if self.rows_affected == 1 { "" } else { "s" }
        )
    }
}

/// How a query's rows read back: its columns in order, and whether every one is JSON
/// (`row_to_json`, `array_to_json`, as the app's show queries build: a document).
struct Shape {
    columns: Vec<Column>,
    document: bool,
}

/// The statement's columns, as the server describes them (a read).
fn shape(client: &mut Client, statement: &str) -> Result<Shape, postgres::Error> {
    let described = client.prepare(statement)?;
    let columns = described.columns();
    Ok(Shape {
        document: !columns.is_empty()
            && columns
                .iter()
                .all(|c| matches!(*c.type_(), Type::JSON | Type::JSONB)),
        columns: columns.iter().map(|c| Column::new(c.name())).collect(),
    })
}

/// The statement made to give each row as one JSON object (keys in column order, values typed
/// as JSON: numbers, strings, null), whatever the columns' Postgres types.
fn wrapped(statement: &str, writes: bool) -> String {
    if writes {
        format!(
            "WITH cruddur_row AS (\n{statement}\n) SELECT to_json(cruddur_row) FROM cruddur_row"
        )
    } else {
        format!("SELECT to_json(cruddur_row) FROM (\n{statement}\n) AS cruddur_row")
    }
}

impl Shape {
    /// The rows of the wrapped statement, as a table or a document.
    fn result(self, name: &str, rows: Vec<postgres::Row>) -> Result<QueryResult> {
        let rows = rows
            .iter()
            .map(|row| match row.get::<_, Value>(0) {
                Value::Object(map) => Ok(map),
                other => {
                    bail!("internal: query `{name}` gave a row that is not an object: {other}")
                }
            })
            .collect::<Result<Vec<Map<String, Value>>>>()?;
        if self.document {
            return Ok(QueryResult::Document(as_document(rows)));
        }
        Ok(QueryResult::Rows {
            columns: self.columns,
            rows,
        })
    }
}

/// A JSON result as one document: a row of one column is that column's value, a row of
/// several is the object of them; one row is the document, several are an array, none null.
fn as_document(rows: Vec<Map<String, Value>>) -> Value {
    let mut documents: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            if row.len() == 1 {
                row.into_iter().next().map_or(Value::Null, |(_, v)| v)
            } else {
                Value::Object(row)
            }
        })
        .collect();
    match documents.len() {
        0 => Value::Null,
        1 => documents.remove(0),
        _ => Value::Array(documents),
    }
}

/// The values in placeholder order; a missing or unknown parameter names what the query takes.
fn bind<'a>(
    name: &str,
    names: &[String],
    given: &'a [(String, String)],
) -> Result<Vec<TextParam<'a>>> {
    let takes = if names.is_empty() {
        "no parameter".to_string()
    } else {
        names.join(", ")
    };
    let mut map: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, value) in given {
        if !names.contains(key) {
            bail!("query `{name}` has no parameter `{key}`; it takes: {takes}");
        }
        if map.insert(key, value).is_some() {
            bail!("--param {key} is given twice");
        }
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !map.contains_key(n.as_str()))
        .collect();
    if !missing.is_empty() {
        let example: Vec<String> = missing.iter().map(|n| format!("--param {n}=…")).collect();
        bail!(
            "query `{name}` needs {}; it takes: {takes}",
            example.join(" ")
        );
    }
    Ok(names.iter().map(|n| TextParam(map[n.as_str()])).collect())
}

fn list(ctx: &Ctx, app: &App, queries: &[NamedQuery]) -> Result<Outcome> {
    ctx.info(format!("queries of {}", app.queries_folder()));
    let infos: Vec<QueryInfo> = queries
        .iter()
        .map(|query| {
            let (params, problem) = match query.prepare() {
                Ok(prepared) => (prepared.params.join(", "), None),
                Err(error) => (String::new(), Some(format!("{error:#}"))),
            };
            if let Some(problem) = &problem {
                ctx.warn(problem);
            }
            QueryInfo {
                name: query.name.clone(),
                params,
                description: query.description(),
                file: query.source.name.clone(),
                problem,
            }
        })
        .collect();
    let mut columns = vec!["name", "params", "description"];
    if infos.iter().any(|i| i.problem.is_some()) {
        columns.push("problem");
    }
    Outcome::rows(&columns, &infos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn binding_names_what_is_missing_or_unknown() {
        let names = vec!["handle".to_string(), "message".to_string()];
        let ok = given(&[("message", "hi"), ("handle", "tim")]);
        let values = bind("q", &names, &ok).unwrap();
        assert_eq!(
            values.iter().map(|v| v.0).collect::<Vec<_>>(),
            ["tim", "hi"]
        );

        let err = bind("q", &names, &given(&[("handle", "tim")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--param message=") && err.contains("handle, message"),
            "{err}"
        );
        let err = bind("q", &names, &given(&[("nope", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no parameter `nope`"), "{err}");
        let err = bind(
            "q",
            &names,
            &given(&[("handle", "a"), ("handle", "b"), ("message", "m")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("twice"), "{err}");
    }
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// A named query that writes sends its one statement, with its values.
    #[test]
    fn a_writing_query_performs_the_statement_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let params = ["handle".to_string()];
        for shape in [
            None,
            Some(Shape {
                columns: vec![Column::new("uuid")],
                document: false,
            }),
        ] {
            let (writes, recorder) = Writes::recording();
            let write = RunQuery {
                pg: &pg,
                writes,
                name: "users/create",
                file: "sql/users/create.sql",
                params: &params,
                values: vec![TextParam("a % 'quoted' \u{1b}[2J handle")],
                statement: "UPDATE public.users SET bio = 'x' WHERE handle = $1".into(),
                shape,
                marker: Marker::Unmarked,
            };
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
            assert_eq!(performed, planned);
            assert_eq!(performed.len(), 1);
        }
    }
}
