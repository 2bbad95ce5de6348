//! `pull`'s Postgres half: production read in one read-only snapshot with COPY ([`read`]),
//! the rows the sample takes (`sample`), each column masked as `columns` says; and whether the
//! local database has production's shape.

use anyhow::{anyhow, Context, Result};

use super::columns::{self, Copied};
use super::sample::{self, Sample, PEOPLE};
use crate::mask::Masker;
use crate::migrations::{read_state, Version};
use crate::pg::copy::{copy_out, decode, lines, rewrite};
use crate::pg::schema::{self, Difference, Shape, Table};
use crate::pg::{db_message, PgTarget};

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
    let references = sample::references(&mut tx, &shape).map_err(|e| reading(source, &e))?;
    let types = columns::types(&mut tx).map_err(|e| reading(source, &e))?;
    let mut copied = columns::copied(&shape, &types, &references, masker.is_some())?;
    if sample != Sample::All && !sample::has_people(&shape) {
        return Err(anyhow!(
            "--users and --since choose among the rows of `{PEOPLE}`, which production's `{}` has no (or no `uuid` column): pull it whole",
            source.dbname
        ));
    }
    let order = sample::order(&shape, &references);
    let mut tables = Vec::new();
    for name in &order {
        crate::interrupt::check(|| "nothing was written".to_string())?;
        let table = &shape.tables[name];
        let columns = copied.remove(name).unwrap_or_default();
        let list = columns
            .iter()
            .map(|c| c.sql.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut query = format!("SELECT {list} FROM {}", table.sql);
        if let Some(filter) = sample::filter(name, sample, &shape, &references, 0) {
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
        Some(table) if sample::has_people(&shape) => {
            let mut query = format!("SELECT uuid::text FROM {}", table.sql);
            if let Some(filter) = sample::filter(PEOPLE, sample, &shape, &references, 0) {
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

/// A table's rows from COPY, with its masked columns replaced.
fn masked(
    name: &str,
    table: &Table,
    columns: &[Copied],
    raw: &[u8],
    masker: Option<&Masker>,
) -> Result<TableRows> {
    // The people's own table: each row's person is its uuid.
    let person = columns
        .iter()
        .position(|c| c.name == "uuid" && name == PEOPLE);
    let masking: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rule.masks())
        .map(|(at, _)| at)
        .collect();
    let (rows, data) = match masker {
        Some(masker) if !masking.is_empty() => {
            // Pure work, on every core: the rows in a few slices, each cut at a line's end.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
            let each = |slice: &[u8]| -> Result<(usize, Vec<u8>)> {
                let mut out = Vec::with_capacity(slice.len());
                let mut failed = None;
                let rows = rewrite(
                    slice,
                    columns.len(),
                    |fields| {
                        let who = person.and_then(|at| decode(fields[at]));
                        masking
                            .iter()
                            .map(|at| {
                                let value = decode(fields[*at]).map(|value| {
                                    columns::mask(&columns[*at], &value, who.as_deref(), masker)
                                        .unwrap_or_else(|e| {
                                            failed.get_or_insert(e);
                                            String::new()
                                        })
                                });
                                (*at, value)
                            })
                            .collect()
                    },
                    &mut out,
                )?;
                match failed {
                    Some(e) => Err(e.context(format!("could not mask `{name}`"))),
                    None => Ok((rows, out)),
                }
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
        _ => (lines(raw).count(), raw.to_vec()),
    };
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
        sequences: sequences(table),
    })
}

/// The statements that move a table's sequences (serial defaults, identities) past its
/// pulled rows, so that the next insert does not collide with one.
fn sequences(table: &Table) -> Vec<String> {
    let literal = |text: &str| format!("'{}'", text.replace('\'', "''"));
    table
        .columns
        .iter()
        .filter_map(|(name, c)| {
            // `nextval('users_id_seq'::regclass)`: the sequence is the default's own argument.
            let sequence = match (&c.default, &c.generated) {
                (Some(default), _) if default.starts_with("nextval(") && default.ends_with(')') => {
                    default["nextval(".len()..default.len() - 1].to_string()
                }
                (_, Some(generated)) if generated.contains("IDENTITY") => format!(
                    "pg_get_serial_sequence({}, {})",
                    literal(&table.sql),
                    literal(name)
                ),
                _ => return None,
            };
            Some(format!(
                "SELECT setval({sequence}, coalesce(max({col}), 0) + 1, false) FROM {table}",
                col = c.sql,
                table = table.sql
            ))
        })
        .collect()
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

/// How the local database's shape is not production's, difference by difference: those
/// that stop a pull (a table, a column, a constraint: where the rows go and what they must
/// satisfy), then those that do not (an extension, an index).
pub(crate) fn differences(production: &Shape, local: &Shape) -> (Vec<String>, Vec<String>) {
    let (stopping, other): (Vec<Difference>, Vec<Difference>) = schema::compare(production, local)
        .into_iter()
        .partition(|d| matches!(d.kind, "table" | "column" | "constraint"));
    (
        stopping.iter().map(said).collect(),
        other.iter().map(said).collect(),
    )
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
    use crate::mask::Rule;
    use crate::pg::schema::Column;

    fn copied(name: &str, rule: Rule) -> Copied {
        Copied {
            name: name.into(),
            sql: name.into(),
            rule,
            holds: if rule == Rule::Keep {
                columns::Holds::Plain
            } else {
                columns::Holds::Text
            },
            unlisted: name == "location",
            by_value: false,
        }
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
        let table = Table {
            sql: "users".into(),
            ..Table::default()
        };
        let columns = [
            copied("created_at", Rule::Keep),
            copied("email", Rule::Email),
            copied("handle", Rule::Keep),
            copied("location", Rule::Text),
            copied("uuid", Rule::Keep),
        ];
        let raw = b"2026-01-01 00:00:00\tkim@example.test\tkimmy\t\\N\tu-1\n";
        let masker = Masker::new(b"k");
        let rows = masked("users", &table, &columns, raw, Some(&masker)).unwrap();
        assert_eq!(rows.rows, 1);
        assert_eq!(
            String::from_utf8(rows.data).unwrap(),
            format!(
                "2026-01-01 00:00:00\t{}\tkimmy\t\\N\tu-1\n",
                masker.email("u-1")
            )
        );
        assert_eq!(rows.masked, ["email", "location"]);
        assert_eq!(rows.unlisted, ["location"]);
    }

    #[test]
    fn sequences_move_past_the_pulled_rows() {
        let mut table = Table {
            sql: "\"Order\"".into(),
            ..Table::default()
        };
        for (name, sql, default, generated) in [
            (
                "id",
                "id",
                Some("nextval('\"Order_id_seq\"'::regclass)"),
                None,
            ),
            ("n", "\"n\"", None, Some("GENERATED BY DEFAULT AS IDENTITY")),
            ("note", "note", None, None),
        ] {
            table.columns.insert(
                name.into(),
                Column {
                    sql: sql.into(),
                    kind: "integer".into(),
                    not_null: true,
                    default: default.map(String::from),
                    generated: generated.map(String::from),
                },
            );
        }
        assert_eq!(
            sequences(&table),
            [
                "SELECT setval('\"Order_id_seq\"'::regclass, coalesce(max(id), 0) + 1, false) FROM \"Order\"",
                "SELECT setval(pg_get_serial_sequence('\"Order\"', 'n'), coalesce(max(\"n\"), 0) + 1, false) FROM \"Order\"",
            ]
        );
    }
}
