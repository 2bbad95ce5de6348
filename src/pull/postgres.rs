//! `pull`'s Postgres half: which rows of production come along ([`Sample`]), in which order
//! (foreign keys: parents first), read in one read-only snapshot with COPY and masked column
//! by column ([`read`]); and whether the local database has production's shape.

use std::collections::BTreeSet;

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Utc};

use crate::mask::{Masker, Rule};
use crate::migrations::{read_state, Version};
use crate::pg::copy::{copy_out, decode, rewrite};
use crate::pg::schema::{self, Difference, Shape, Table};
use crate::pg::{db_message, quote_ident, PgTarget};

/// Which rows come along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    /// Every row of every table.
    All,
    /// The N users that the most rows reference, and the rows that reference them.
    Users(usize),
    /// The rows made since then, and the users who made them or joined since.
    Since(DateTime<Utc>),
}

/// The app's text columns that are personal, and how each is masked. Columns that are not
/// text (uuids, times, counts) are kept; a text column that is not here is masked as text,
/// and the report names it.
const APP_COLUMNS: &[(&str, &str, Rule)] = &[
    ("users", "display_name", Rule::Name),
    ("users", "email", Rule::Email),
    ("users", "cognito_user_id", Rule::CognitoId),
    ("users", "bio", Rule::Text),
    ("users", "handle", Rule::Keep),
    ("activities", "message", Rule::Text),
];

/// References the app's schema leaves undeclared, which its queries join on: child table and
/// column, parent table and column.
const APP_REFERENCES: &[(&str, &str, &str, &str)] = &[("activities", "user_uuid", "users", "uuid")];

/// The table whose rows are people: what `--users` and `--since` choose among.
const PEOPLE: &str = "users";

/// One column of a table as `pull` copies it.
#[derive(Debug, Clone)]
struct Copied {
    name: String,
    sql: String,
    rule: Rule,
    /// A text column the app's list does not name.
    unlisted: bool,
}

/// One table's rows from production, masked, ready for COPY … FROM STDIN.
#[derive(Debug, Clone)]
pub(crate) struct TableRows {
    pub(crate) name: String,
    /// As SQL writes it.
    pub(crate) sql: String,
    /// The column list, as SQL writes it (`uuid, display_name, …`).
    pub(crate) columns: String,
    pub(crate) rows: usize,
    /// COPY's text format.
    pub(crate) data: Vec<u8>,
    pub(crate) masked: Vec<String>,
    pub(crate) unlisted: Vec<String>,
    /// The sequences behind its columns (serial, identity), to move past the pulled rows.
    pub(crate) sequences: Vec<String>,
}

/// What production held, read in one snapshot.
pub(crate) struct Source {
    pub(crate) shape: Shape,
    /// The app's migration marker there.
    pub(crate) marker: Version,
    /// Parents before children.
    pub(crate) tables: Vec<TableRows>,
    /// The pulled people's uuids (their conversations come along).
    pub(crate) people: Vec<String>,
    /// Which database of which server this is ([`identity`]).
    pub(crate) identity: String,
}

/// The server's start time and the database's oid: two URLs that name one database by other
/// names (`localhost` and `127.0.0.1`, an alias) give the same.
pub(crate) const IDENTITY: &str = "SELECT pg_postmaster_start_time()::text || ' ' || \
     (SELECT oid FROM pg_database WHERE datname = current_database())::text";

pub(crate) fn identity(
    client: &mut impl postgres::GenericClient,
) -> Result<String, postgres::Error> {
    Ok(client.query_one(IDENTITY, &[])?.get(0))
}

/// A reference: `child.column` holds values of `parent.key`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    child: String,
    column: String,
    parent: String,
    key: String,
}

/// Read production: its shape, marker and the sample's rows, masked by `masker` (None: as
/// they are), in one REPEATABLE READ, READ ONLY transaction: the server refuses any write.
pub(crate) fn read(source: &PgTarget, sample: Sample, masker: Option<&Masker>) -> Result<Source> {
    let mut client = source.connect()?;
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| reading(source, &e))?;
    let shape = schema::read(&mut tx).with_context(|| {
        format!(
            "could not read the catalogs of production's `{}`",
            source.dbname
        )
    })?;
    let identity = identity(&mut tx).map_err(|e| reading(source, &e))?;
    let marker = read_state(&mut tx)
        .with_context(|| {
            format!(
                "could not read the migration marker of production's `{}`",
                source.dbname
            )
        })?
        .marker;
    let references = references(&mut tx, &shape).map_err(|e| reading(source, &e))?;
    if sample != Sample::All && !has_people(&shape) {
        return Err(anyhow!(
            "--users and --since choose among the rows of `{PEOPLE}`, which production's `{}` has no (or no `uuid` column): pull it whole",
            source.dbname
        ));
    }
    let order = order(&shape, &references);
    let mut tables = Vec::new();
    for name in &order {
        crate::interrupt::check(|| "nothing was written".to_string())?;
        let table = &shape.tables[name];
        let columns = columns(name, table, masker.is_some());
        let list = columns
            .iter()
            .map(|c| c.sql.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut query = format!("SELECT {list} FROM {}", table.sql);
        if let Some(filter) = filter(name, sample, &shape, &references, 0) {
            query.push_str(" WHERE ");
            query.push_str(&filter);
        }
        let raw = copy_out(&mut tx, &query).map_err(|e| {
            anyhow!(
                "could not read `{name}` from production's `{}`: {}",
                source.dbname,
                pg_words(&e)
            )
        })?;
        tables.push(masked(name, table, &columns, &raw, masker)?);
    }
    let people = match shape.tables.get(PEOPLE) {
        Some(table) if has_people(&shape) => {
            let mut query = format!("SELECT uuid::text FROM {}", table.sql);
            if let Some(filter) = filter(PEOPLE, sample, &shape, &references, 0) {
                query.push_str(" WHERE ");
                query.push_str(&filter);
            }
            tx.query(&query, &[])
                .map_err(|e| reading(source, &e))?
                .iter()
                .map(|row| row.get(0))
                .collect()
        }
        _ => Vec::new(),
    };
    tx.rollback().map_err(|e| reading(source, &e))?;
    Ok(Source {
        shape,
        marker,
        tables,
        people,
        identity,
    })
}

fn reading(source: &PgTarget, e: &postgres::Error) -> anyhow::Error {
    anyhow!(
        "could not read production's `{}`: {}",
        source.dbname,
        db_message(e)
    )
}

/// A COPY's error in words (its Postgres message, else the I/O's).
fn pg_words(e: &anyhow::Error) -> String {
    match e.downcast_ref::<postgres::Error>() {
        Some(pg) => db_message(pg),
        None => format!("{e:#}"),
    }
}

fn has_people(shape: &Shape) -> bool {
    shape
        .tables
        .get(PEOPLE)
        .is_some_and(|t| t.columns.contains_key("uuid"))
}

/// Declared single-column foreign keys between the shape's tables, and the app's own.
fn references(
    client: &mut impl postgres::GenericClient,
    shape: &Shape,
) -> Result<Vec<Reference>, postgres::Error> {
    let mut found: Vec<Reference> = client
        .query(
            "SELECT cl.relname::text, a.attname::text, fcl.relname::text, fa.attname::text \
             FROM pg_constraint c \
             JOIN pg_class cl ON cl.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             JOIN pg_class fcl ON fcl.oid = c.confrelid \
             JOIN pg_namespace fn ON fn.oid = fcl.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND n.nspname = 'public' AND fn.nspname = 'public' \
               AND cardinality(c.conkey) = 1 \
             ORDER BY 1, 2",
            &[],
        )?
        .iter()
        .map(|row| Reference {
            child: row.get(0),
            column: row.get(1),
            parent: row.get(2),
            key: row.get(3),
        })
        .collect();
    for (child, column, parent, key) in APP_REFERENCES {
        let there = |table: &str, column: &str| {
            shape
                .tables
                .get(table)
                .is_some_and(|t| t.columns.contains_key(column))
        };
        let reference = Reference {
            child: child.to_string(),
            column: column.to_string(),
            parent: parent.to_string(),
            key: key.to_string(),
        };
        if there(child, column) && there(parent, key) && !found.contains(&reference) {
            found.push(reference);
        }
    }
    found.retain(|r| shape.tables.contains_key(&r.child) && shape.tables.contains_key(&r.parent));
    Ok(found)
}

/// The tables, parents before the tables that reference them (by name among equals); a
/// cycle's tables come last, by name.
fn order(shape: &Shape, references: &[Reference]) -> Vec<String> {
    let mut left: BTreeSet<&String> = shape.tables.keys().collect();
    let mut out = Vec::new();
    loop {
        let ready: Vec<&String> = left
            .iter()
            .copied()
            .filter(|table| {
                !references
                    .iter()
                    .any(|r| r.child == **table && r.parent != **table && left.contains(&r.parent))
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for table in ready {
            left.remove(table);
            out.push(table.clone());
        }
    }
    out.extend(left.into_iter().cloned());
    out
}

/// The WHERE clause that picks `table`'s rows for the sample; None: every row.
fn filter(
    table: &str,
    sample: Sample,
    shape: &Shape,
    references: &[Reference],
    depth: usize,
) -> Option<String> {
    if sample == Sample::All || depth > 8 {
        return None;
    }
    let since = |sample: Sample| match sample {
        Sample::Since(time) => Some(format!(
            "'{}'::timestamptz",
            time.format("%Y-%m-%d %H:%M:%S%.6f+00")
        )),
        _ => None,
    };
    let has = |table: &str, column: &str| {
        shape
            .tables
            .get(table)
            .is_some_and(|t| t.columns.contains_key(column))
    };
    let sql = |table: &str| shape.tables[table].sql.clone();
    if table == PEOPLE {
        // Who references each person: the rows that make them active.
        let children: Vec<&Reference> = references
            .iter()
            .filter(|r| r.parent == PEOPLE && r.key == "uuid" && r.child != PEOPLE)
            .collect();
        return Some(match sample {
            Sample::Users(n) => {
                let activity = if children.is_empty() {
                    "0".to_string()
                } else {
                    children
                        .iter()
                        .map(|r| {
                            format!(
                                "(SELECT count(*) FROM {} c WHERE c.{} = u.uuid)",
                                sql(&r.child),
                                quote_ident(&r.column)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                let handle = if has(PEOPLE, "handle") {
                    "u.handle, "
                } else {
                    ""
                };
                format!(
                    "uuid IN (SELECT u.uuid FROM {} u ORDER BY {activity} DESC, {handle}u.uuid LIMIT {n})",
                    sql(PEOPLE)
                )
            }
            Sample::Since(_) => {
                let at = since(sample).unwrap_or_default();
                let mut any = Vec::new();
                if has(PEOPLE, "created_at") {
                    any.push(format!("created_at >= {at}"));
                }
                for r in children.iter().filter(|r| has(&r.child, "created_at")) {
                    any.push(format!(
                        "uuid IN (SELECT {} FROM {} WHERE created_at >= {at})",
                        quote_ident(&r.column),
                        sql(&r.child)
                    ));
                }
                if any.is_empty() {
                    "false".to_string()
                } else {
                    format!("({})", any.join(" OR "))
                }
            }
            Sample::All => return None,
        });
    }
    let mut all = Vec::new();
    for r in references
        .iter()
        .filter(|r| r.child == table && r.parent != table)
    {
        if let Some(parent) = filter(&r.parent, sample, shape, references, depth + 1) {
            all.push(format!(
                "({0} IS NULL OR {0} IN (SELECT {1} FROM {2} WHERE {parent}))",
                quote_ident(&r.column),
                quote_ident(&r.key),
                sql(&r.parent)
            ));
        }
    }
    if let (Some(at), true) = (since(sample), has(table, "created_at")) {
        all.push(format!("created_at >= {at}"));
    }
    (!all.is_empty()).then(|| all.join(" AND "))
}

/// Whether a column of this type holds text (what masking can replace).
fn is_text(kind: &str) -> bool {
    ["text", "character varying", "character", "citext", "name"]
        .iter()
        .any(|t| {
            kind == *t || kind.starts_with(&format!("{t}(")) || kind.starts_with(&format!("{t} "))
        })
}

/// The columns COPY reads and writes (not the generated ones, which the server computes),
/// each with how it is masked.
fn columns(name: &str, table: &Table, masking: bool) -> Vec<Copied> {
    table
        .columns
        .iter()
        .filter(|(_, c)| {
            !c.generated
                .as_deref()
                .is_some_and(|g| g.starts_with("GENERATED ALWAYS AS ("))
        })
        .map(|(column, c)| {
            let listed = APP_COLUMNS
                .iter()
                .find(|(t, col, _)| *t == name && col == column)
                .map(|(_, _, rule)| *rule);
            let text = is_text(&c.kind);
            let rule = match (masking, listed, text) {
                (false, _, _) => Rule::Keep,
                (true, Some(rule), _) => rule,
                (true, None, true) => Rule::Text,
                (true, None, false) => Rule::Keep,
            };
            Copied {
                name: column.clone(),
                sql: c.sql.clone(),
                rule,
                unlisted: masking && listed.is_none() && text,
            }
        })
        .collect()
}

/// A table's rows from COPY, with its masked columns replaced.
fn masked(
    name: &str,
    table: &Table,
    columns: &[Copied],
    raw: &[u8],
    masker: Option<&Masker>,
) -> Result<TableRows> {
    let person = columns
        .iter()
        .position(|c| c.name == "uuid" && name == PEOPLE);
    let masking: Vec<(usize, Rule)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rule.masks())
        .map(|(at, c)| (at, c.rule))
        .collect();
    let (rows, data) = match masker {
        Some(masker) if !masking.is_empty() => {
            // Pure work, on every core: the rows in a few slices, each cut at a line's end.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
            let each = |slice: &[u8]| -> Result<(usize, Vec<u8>)> {
                let mut out = Vec::with_capacity(slice.len());
                let rows = rewrite(
                    slice,
                    columns.len(),
                    |fields| {
                        let who = person.and_then(|at| decode(fields[at]));
                        masking
                            .iter()
                            .map(|(at, rule)| {
                                let value = decode(fields[*at])
                                    .map(|value| masker.mask(*rule, &value, who.as_deref()));
                                (*at, value)
                            })
                            .collect()
                    },
                    &mut out,
                )?;
                Ok((rows, out))
            };
            let parts: Vec<Result<(usize, Vec<u8>)>> = std::thread::scope(|scope| {
                let work: Vec<_> = slices(raw, cores)
                    .into_iter()
                    .map(|slice| scope.spawn(move || each(slice)))
                    .collect();
                work.into_iter()
                    .map(|w| {
                        w.join()
                            .unwrap_or_else(|_| Err(anyhow!("masking `{name}` failed")))
                    })
                    .collect()
            });
            let mut data = Vec::with_capacity(raw.len());
            let mut rows = 0;
            for part in parts {
                let (n, out) = part?;
                rows += n;
                data.extend_from_slice(&out);
            }
            (rows, data)
        }
        _ => (
            raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(),
            raw.to_vec(),
        ),
    };
    let sequences = table
        .columns
        .values()
        .filter(|c| {
            c.default.as_deref().is_some_and(|d| d.starts_with("nextval("))
                || c.generated.as_deref().is_some_and(|g| g.contains("IDENTITY"))
        })
        .map(|c| {
            format!(
                "SELECT setval(pg_get_serial_sequence('{}', '{}'), coalesce(max({}), 0) + 1, false) FROM {}",
                table.sql.replace('\'', "''"),
                c.sql.replace('\'', "''"),
                c.sql,
                table.sql
            )
        })
        .collect();
    Ok(TableRows {
        name: name.to_string(),
        sql: table.sql.clone(),
        columns: columns
            .iter()
            .map(|c| c.sql.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        rows,
        data,
        masked: columns
            .iter()
            .filter(|c| c.rule.masks())
            .map(|c| c.name.clone())
            .collect(),
        unlisted: columns
            .iter()
            .filter(|c| c.unlisted)
            .map(|c| c.name.clone())
            .collect(),
        sequences,
    })
}

/// `data` in about `parts` slices, each ending at a line's end (small data: one slice).
fn slices(data: &[u8], parts: usize) -> Vec<&[u8]> {
    if parts <= 1 || data.len() < 1 << 20 {
        return vec![data];
    }
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 1..parts {
        let cut = (data.len() * part / parts).max(start);
        let end = match data[cut..].iter().position(|b| *b == b'\n') {
            Some(at) => cut + at + 1,
            None => data.len(),
        };
        out.push(&data[start..end]);
        start = end;
    }
    out.push(&data[start..]);
    out
}

/// Why the local database's shape is not production's, difference by difference.
pub(crate) fn differences(production: &Shape, local: &Shape) -> Vec<String> {
    schema::compare(production, local)
        .iter()
        .map(said)
        .collect()
}

fn said(d: &Difference) -> String {
    let side = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".to_string());
    format!(
        "{} `{}`: production has {}; the local database has {}",
        d.kind,
        d.name,
        side(&d.database),
        side(&d.files)
    )
}

/// The tables' names, for the TRUNCATE that empties them all at once.
pub(crate) fn truncate(tables: &[TableRows]) -> String {
    format!(
        "TRUNCATE {}",
        tables
            .iter()
            .map(|t| t.sql.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::schema::Column;

    fn column(kind: &str) -> Column {
        Column {
            sql: String::new(),
            kind: kind.into(),
            not_null: false,
            default: None,
            generated: None,
        }
    }

    fn shape() -> Shape {
        let mut shape = Shape::default();
        for (table, columns) in [
            (
                "users",
                vec![
                    ("uuid", "uuid"),
                    ("handle", "text"),
                    ("email", "text"),
                    ("location", "character varying(40)"),
                    ("created_at", "timestamp without time zone"),
                ],
            ),
            (
                "activities",
                vec![
                    ("uuid", "uuid"),
                    ("user_uuid", "uuid"),
                    ("message", "text"),
                    ("created_at", "timestamp without time zone"),
                ],
            ),
            ("likes", vec![("activity_uuid", "uuid")]),
        ] {
            let mut t = Table {
                sql: table.into(),
                ..Table::default()
            };
            for (name, kind) in columns {
                let mut c = column(kind);
                c.sql = name.into();
                t.columns.insert(name.into(), c);
            }
            shape.tables.insert(table.into(), t);
        }
        shape
    }

    #[test]
    fn parents_come_first_and_the_sample_follows_the_references() {
        let shape = shape();
        let references = vec![
            Reference {
                child: "likes".into(),
                column: "activity_uuid".into(),
                parent: "activities".into(),
                key: "uuid".into(),
            },
            Reference {
                child: "activities".into(),
                column: "user_uuid".into(),
                parent: "users".into(),
                key: "uuid".into(),
            },
        ];
        assert_eq!(order(&shape, &references), ["users", "activities", "likes"]);
        assert_eq!(filter("likes", Sample::All, &shape, &references, 0), None);
        assert_eq!(
            filter("users", Sample::Users(2), &shape, &references, 0).unwrap(),
            "uuid IN (SELECT u.uuid FROM users u ORDER BY (SELECT count(*) FROM activities c WHERE c.\"user_uuid\" = u.uuid) DESC, u.handle, u.uuid LIMIT 2)"
        );
        let likes = filter("likes", Sample::Users(2), &shape, &references, 0).unwrap();
        assert!(likes.starts_with("(\"activity_uuid\" IS NULL OR \"activity_uuid\" IN (SELECT \"uuid\" FROM activities WHERE (\"user_uuid\" IS NULL OR \"user_uuid\" IN (SELECT \"uuid\" FROM users WHERE uuid IN ("), "{likes}");
        let since = Sample::Since("2026-11-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            filter("users", since, &shape, &references, 0).unwrap(),
            "(created_at >= '2026-11-01 00:00:00.000000+00'::timestamptz OR uuid IN (SELECT \"user_uuid\" FROM activities WHERE created_at >= '2026-11-01 00:00:00.000000+00'::timestamptz))"
        );
    }

    #[test]
    fn text_columns_the_list_does_not_name_are_masked_and_named() {
        let shape = shape();
        let users = columns("users", &shape.tables["users"], true);
        let rules: Vec<(&str, Rule, bool)> = users
            .iter()
            .map(|c| (c.name.as_str(), c.rule, c.unlisted))
            .collect();
        assert_eq!(
            rules,
            [
                ("created_at", Rule::Keep, false),
                ("email", Rule::Email, false),
                ("handle", Rule::Keep, false),
                ("location", Rule::Text, true),
                ("uuid", Rule::Keep, false),
            ]
        );
        assert!(columns("users", &shape.tables["users"], false)
            .iter()
            .all(|c| c.rule == Rule::Keep));
    }

    #[test]
    fn slices_end_at_line_ends_and_cover_everything() {
        let data: Vec<u8> = (0..200_000)
            .flat_map(|n| format!("{n}\tx\n").into_bytes())
            .collect();
        let parts = slices(&data, 3);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
        assert_eq!(parts.concat(), data);
        assert_eq!(slices(b"a\n", 4), [b"a\n"]);
    }

    #[test]
    fn rows_are_masked_by_their_person_and_kept_otherwise() {
        let shape = shape();
        let table = &shape.tables["users"];
        let cols = columns("users", table, true);
        // created_at, email, handle, location, uuid
        let raw = b"2026-01-01 00:00:00\tkim@example.test\tkimmy\t\\N\tu-1\n";
        let masker = Masker::new(b"k");
        let rows = masked("users", table, &cols, raw, Some(&masker)).unwrap();
        assert_eq!(rows.rows, 1);
        let text = String::from_utf8(rows.data).unwrap();
        assert_eq!(
            text,
            format!(
                "2026-01-01 00:00:00\t{}\tkimmy\t\\N\tu-1\n",
                masker.email("u-1")
            )
        );
        assert_eq!(rows.masked, ["email", "location"]);
        assert_eq!(rows.unlisted, ["location"]);
    }
}
