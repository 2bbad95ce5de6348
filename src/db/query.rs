//! `cruddur db query [NAME] [--param NAME=VALUE]…`: run one of the app's named queries,
//! its `%(name)s` placeholders bound as parameters; no NAME lists the queries.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use postgres::types::ToSql;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::QueryArgs;
use crate::ctx::Ctx;
use crate::error::Stop;
use crate::guard::{self, Go, Plan};
use crate::output::{Column, Outcome};
use crate::pg::marker;
use crate::pg::{db_message, TextParam};
use crate::sql;

#[derive(Debug, Serialize)]
struct QueryInfo {
    name: &'static str,
    params: String,
    description: String,
}

pub fn run(ctx: &Ctx, args: &QueryArgs) -> Result<Outcome> {
    let Some(name) = &args.name else {
        return list();
    };
    let text = sql::named_query(name).ok_or_else(|| {
        anyhow!(
            "there is no query `{name}`; the queries are: {} (`cruddur db query` lists them with their parameters)",
            sql::QUERIES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })?;
    let (statement, names) = sql::placeholders(single_statement(text)?)?;
    let values = bind(name, &names, &args.params)?;

    let kind = sql::first_keyword(&statement);
    let writes = !matches!(
        kind.as_str(),
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "SHOW"
    );
    if !writes && ctx.dry_run {
        return Err(Stop::Usage(format!(
            "query `{name}` only reads: --dry-run has nothing to show; run it without --dry-run"
        ))
        .into());
    }
    let pg = ctx.pg()?;
    let mut client = pg.connect()?;
    if writes {
        let given: Vec<String> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| format!("{n} = {:?}", v.0))
            .collect();
        let plan = Plan {
            destination: pg.destination(),
            summary: format!("run `{name}`, which writes"),
            actions: vec![
                statement.clone(),
                format!("parameters: {}", given.join(", ")),
            ],
            confirm: pg.dbname.clone(),
        };
        let marker = marker(&mut client, &pg.dbname);
        if let Go::DryRun(plan) = guard::check(ctx, &plan, Some(marker))? {
            return Ok(plan);
        }
    }
    let failed = |e: postgres::Error| anyhow!("query `{name}` failed: {}", db_message(&e));
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();

    if writes && !sql::has_keyword(&statement, "RETURNING") {
        let count = client
            .execute(statement.as_str(), &params)
            .map_err(failed)?;
        return Outcome::done(
            format!(
                "`{name}` changed {count} row{}",
                if count == 1 { "" } else { "s" }
            ),
            serde_json::json!({ "query": name, "rows_affected": count }),
        );
    }
    // Each row comes back as one JSON object (keys in column order, values typed as JSON:
    // numbers, strings, null), whatever the columns' Postgres types.
    let columns: Vec<Column> = client
        .prepare(&statement)
        .map_err(failed)?
        .columns()
        .iter()
        .map(|c| Column::new(c.name()))
        .collect();
    let wrapped = if writes {
        format!(
            "WITH cruddur_row AS (\n{statement}\n) SELECT to_json(cruddur_row) FROM cruddur_row"
        )
    } else {
        format!("SELECT to_json(cruddur_row) FROM (\n{statement}\n) AS cruddur_row")
    };
    let rows = client.query(wrapped.as_str(), &params).map_err(failed)?;
    let rows = rows
        .iter()
        .map(|row| match row.get::<_, Value>(0) {
            Value::Object(map) => Ok(map),
            other => bail!("internal: query `{name}` gave a row that is not an object: {other}"),
        })
        .collect::<Result<Vec<Map<String, Value>>>>()?;
    Ok(Outcome::rows_with(columns, rows))
}

fn single_statement(text: &str) -> Result<&str> {
    let statements = sql::split(text).map_err(|e| anyhow!("{}", e.message))?;
    match statements.as_slice() {
        [one] => Ok(one.text),
        _ => bail!("a named query must hold exactly one statement"),
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

fn list() -> Result<Outcome> {
    let infos = sql::QUERIES
        .iter()
        .map(|(name, text)| {
            let params = sql::placeholders(text).map(|(_, names)| names.join(", "))?;
            let description = text
                .lines()
                .find_map(|line| line.strip_prefix("--"))
                .unwrap_or("")
                .trim()
                .to_string();
            Ok(QueryInfo {
                name,
                params,
                description,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Outcome::rows(&["name", "params", "description"], &infos)
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
