//! A database's shape as its catalogs tell it ([`Shape`]: tables, columns, constraints,
//! indexes, extensions), and what differs between two of them ([`compare`]), each difference
//! in words and with the statement that would bring the first to the second. What `db diff`
//! reads from the live database and from the shadow it builds from the app's files.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use postgres::GenericClient;
use serde::Serialize;

use super::catalog::quote_ident;

/// Tables that are bookkeeping, not the app's shape: the app's migration marker and cruddur's
/// own migration records (both compared as migrations, not as tables).
const BOOKKEEPING: &[&str] = &["public.schema_information", "public.cruddur_migrations"];

/// The schemas that are the server's, never the app's.
const SYSTEM: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// By name (`users`, or `schema.table` outside `public`).
    pub(crate) tables: BTreeMap<String, Table>,
    pub(crate) extensions: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Table {
    /// The name as SQL writes it, quoted by the server where it must be (`users`, `"order"`).
    pub(crate) sql: String,
    pub(crate) columns: BTreeMap<String, Column>,
    /// By name: the constraint's definition (`PRIMARY KEY (uuid)`).
    pub(crate) constraints: BTreeMap<String, String>,
    /// By name: `CREATE INDEX …`, for the indexes no constraint makes.
    pub(crate) indexes: BTreeMap<String, String>,
    /// Constraints' and indexes' names as SQL writes them.
    pub(crate) sql_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The name as SQL writes it.
    pub(crate) sql: String,
    /// As `format_type` spells it (`character varying(40)`), with its collation when it is
    /// not the type's default.
    pub(crate) kind: String,
    pub(crate) not_null: bool,
    pub(crate) default: Option<String>,
    /// `GENERATED ALWAYS AS (…) STORED`, or an identity.
    pub(crate) generated: Option<String>,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.kind)?;
        if self.not_null {
            f.write_str(" NOT NULL")?;
        }
        if let Some(default) = &self.default {
            write!(f, " DEFAULT {default}")?;
        }
        if let Some(generated) = &self.generated {
            write!(f, " {generated}")?;
        }
        Ok(())
    }
}

/// `users` for the public schema, `audit.log` elsewhere.
fn table_name(schema: &str, table: &str) -> String {
    if schema == "public" {
        table.to_string()
    } else {
        format!("{schema}.{table}")
    }
}

/// Read the shape of the database `client` is connected to.
pub(crate) fn read(client: &mut impl GenericClient) -> Result<Shape> {
    let mut shape = Shape::default();
    let own = |schema: &str, table: &str| {
        let full = format!("{schema}.{table}");
        !BOOKKEEPING.contains(&full.as_str())
    };
    // Tables (an extension's own are the extension's).
    for row in client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text, \
                    CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname) \
                         ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SYSTEM} \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                   AND d.objid = c.oid AND d.deptype = 'e')"
        ),
        &[],
    )? {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        if own(&schema, &table) {
            shape.tables.insert(
                table_name(&schema, &table),
                Table {
                    sql: row.get(2),
                    ..Table::default()
                },
            );
        }
    }
    for row in client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, \
                    format_type(a.atttypid, a.atttypmod) || CASE \
                        WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation \
                        THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END, \
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, \
                    a.attidentity::text, quote_ident(a.attname) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {SYSTEM}"
        ),
        &[],
    )? {
        let name = table_name(row.get(0), row.get(1));
        if let Some(table) = shape.tables.get_mut(&name) {
            let expression: Option<String> = row.get(5);
            let (generated, identity): (String, String) = (row.get(6), row.get(7));
            let (default, generated) = match (generated.as_str(), identity.as_str()) {
                ("s", _) => (
                    None,
                    Some(format!(
                        "GENERATED ALWAYS AS ({}) STORED",
                        expression.unwrap_or_default()
                    )),
                ),
                (_, "a") => (expression, Some("GENERATED ALWAYS AS IDENTITY".into())),
                (_, "d") => (expression, Some("GENERATED BY DEFAULT AS IDENTITY".into())),
                _ => (expression, None),
            };
            table.columns.insert(
                row.get(2),
                Column {
                    sql: row.get(8),
                    kind: row.get(3),
                    not_null: row.get(4),
                    default,
                    generated,
                },
            );
        }
    }
    for row in client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text, con.conname::text, \
                    pg_get_constraintdef(con.oid), quote_ident(con.conname) \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND {SYSTEM}"
        ),
        &[],
    )? {
        let name = table_name(row.get(0), row.get(1));
        if let Some(table) = shape.tables.get_mut(&name) {
            table.constraints.insert(row.get(2), row.get(3));
            table.sql_names.insert(row.get(2), row.get(4));
        }
    }
    for row in client.query(
        &format!(
            "SELECT n.nspname::text, t.relname::text, i.relname::text, pg_get_indexdef(i.oid), \
                    x.indisvalid, \
                    CASE WHEN n.nspname = 'public' THEN quote_ident(i.relname) \
                         ELSE quote_ident(n.nspname) || '.' || quote_ident(i.relname) END \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE {SYSTEM} AND NOT EXISTS (SELECT 1 FROM pg_constraint con \
                 WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid \
                   AND con.contype IN ('p', 'u', 'x'))"
        ),
        &[],
    )? {
        let name = table_name(row.get(0), row.get(1));
        if let Some(table) = shape.tables.get_mut(&name) {
            let (definition, valid): (String, bool) = (row.get(3), row.get(4));
            // An index a failed CREATE INDEX CONCURRENTLY left: there, and used by nothing.
            let definition = if valid {
                definition
            } else {
                format!("{definition} (INVALID: a CREATE INDEX CONCURRENTLY that failed left it)")
            };
            table.indexes.insert(row.get(2), definition);
            table.sql_names.insert(row.get(2), row.get(5));
        }
    }
    for row in client.query(
        "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'",
        &[],
    )? {
        shape.extensions.insert(row.get(0));
    }
    Ok(shape)
}

/// One way the database is not what the files make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Difference {
    /// `column`, `table`, `constraint`, `index`, `extension`.
    pub(crate) kind: &'static str,
    /// `users.bio`, `users_handle_idx`, …
    pub(crate) name: String,
    /// What it is in the database; None: it is not there.
    pub(crate) database: Option<String>,
    /// What the files make; None: no file makes it.
    pub(crate) files: Option<String>,
    /// What would bring the database to the files (shown, never run).
    pub(crate) sql: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (kind, name) = (self.kind, &self.name);
        match (&self.database, &self.files) {
            (Some(database), None) => {
                write!(
                    f,
                    "{kind} `{name}` is in the database but in no file ({database})"
                )
            }
            (None, Some(files)) => write!(
                f,
                "{kind} `{name}` is in the files but not in the database ({files})"
            ),
            (Some(database), Some(files)) => write!(
                f,
                "{kind} `{name}` differs: the database has {database}; the files make {files}"
            ),
            (None, None) => write!(f, "{kind} `{name}`"),
        }
    }
}

/// Every way `database` is not `files`, in a fixed order: extensions, then table by table
/// (the table, its columns, constraints, indexes).
pub(crate) fn compare(database: &Shape, files: &Shape) -> Vec<Difference> {
    let mut out = Vec::new();
    for name in database.extensions.union(&files.extensions) {
        let (here, there) = (
            database.extensions.contains(name),
            files.extensions.contains(name),
        );
        if here != there {
            out.push(Difference {
                kind: "extension",
                name: name.clone(),
                database: here.then(|| "installed".to_string()),
                files: there.then(|| "installed".to_string()),
                sql: if here {
                    format!("DROP EXTENSION {};", quote_ident(name))
                } else {
                    format!("CREATE EXTENSION IF NOT EXISTS {};", quote_ident(name))
                },
            });
        }
    }
    let names: BTreeSet<&String> = database.tables.keys().chain(files.tables.keys()).collect();
    for name in names {
        match (database.tables.get(name), files.tables.get(name)) {
            (Some(table), None) => out.push(Difference {
                kind: "table",
                name: name.clone(),
                database: Some(columns_of(table)),
                files: None,
                sql: format!("DROP TABLE {};", table.sql),
            }),
            (None, Some(table)) => out.push(Difference {
                kind: "table",
                name: name.clone(),
                database: None,
                files: Some(columns_of(table)),
                sql: format!(
                    "-- table {name}: run its CREATE TABLE from the app's files (schema.sql or a migration)"
                ),
            }),
            (Some(here), Some(there)) => table_differences(name, here, there, &mut out),
            (None, None) => {}
        }
    }
    out
}

fn columns_of(table: &Table) -> String {
    format!(
        "columns {}",
        table.columns.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

fn table_differences(name: &str, here: &Table, there: &Table, out: &mut Vec<Difference>) {
    let sql_table = &here.sql;
    let columns: BTreeSet<&String> = here.columns.keys().chain(there.columns.keys()).collect();
    for column in columns {
        let full = format!("{name}.{column}");
        match (here.columns.get(column), there.columns.get(column)) {
            (Some(have), None) => out.push(Difference {
                kind: "column",
                name: full,
                database: Some(have.to_string()),
                files: None,
                sql: format!("ALTER TABLE {sql_table} DROP COLUMN {};", have.sql),
            }),
            (None, Some(want)) => out.push(Difference {
                kind: "column",
                name: full,
                database: None,
                files: Some(want.to_string()),
                sql: format!("ALTER TABLE {sql_table} ADD COLUMN {} {want};", want.sql),
            }),
            (Some(have), Some(want)) if have != want => {
                let column = &want.sql;
                let alter = format!("ALTER TABLE {sql_table} ALTER COLUMN {column}");
                // In an order that runs: the old default goes before the type changes (it may
                // not cast), the new one comes after.
                let mut sql = Vec::new();
                if have.generated != want.generated {
                    sql.push(format!(
                        "-- {column}: made {} in the database, {} by the files: recreate it by hand",
                        have.generated.as_deref().unwrap_or("plain"),
                        want.generated.as_deref().unwrap_or("plain")
                    ));
                }
                let new_default = have.default != want.default;
                let new_kind = have.kind != want.kind;
                if new_default && have.default.is_some() && (new_kind || want.default.is_none()) {
                    sql.push(format!("{alter} DROP DEFAULT;"));
                }
                if new_kind {
                    let kind = want.kind.split(" COLLATE ").next().unwrap_or(&want.kind);
                    sql.push(format!(
                        "{alter} TYPE {} USING {column}::{kind};",
                        want.kind
                    ));
                }
                if new_default {
                    if let Some(default) = &want.default {
                        sql.push(format!("{alter} SET DEFAULT {default};"));
                    }
                }
                if have.not_null != want.not_null {
                    sql.push(format!(
                        "{alter} {} NOT NULL;",
                        if want.not_null { "SET" } else { "DROP" }
                    ));
                }
                out.push(Difference {
                    kind: "column",
                    name: full,
                    database: Some(have.to_string()),
                    files: Some(want.to_string()),
                    sql: sql.join("\n"),
                });
            }
            _ => {}
        }
    }
    let sql_of = |name: &str| {
        here.sql_names
            .get(name)
            .or_else(|| there.sql_names.get(name))
            .cloned()
            .unwrap_or_else(|| quote_ident(name))
    };
    named_parts(
        "constraint",
        &here.constraints,
        &there.constraints,
        |constraint, definition| {
            format!(
                "ALTER TABLE {sql_table} ADD CONSTRAINT {} {definition};",
                sql_of(constraint)
            )
        },
        |constraint| {
            format!(
                "ALTER TABLE {sql_table} DROP CONSTRAINT {};",
                sql_of(constraint)
            )
        },
        out,
    );
    named_parts(
        "index",
        &here.indexes,
        &there.indexes,
        |_, definition| {
            format!(
                "{};",
                definition.split(" (INVALID").next().unwrap_or(definition)
            )
        },
        |index| format!("DROP INDEX {};", sql_of(index)),
        out,
    );
}

/// Constraints or indexes of one table, by name: each that is only here, only there, or
/// different (dropped, then made as the files make it).
fn named_parts(
    kind: &'static str,
    here: &BTreeMap<String, String>,
    there: &BTreeMap<String, String>,
    make: impl Fn(&str, &str) -> String,
    remove: impl Fn(&str) -> String,
    out: &mut Vec<Difference>,
) {
    let names: BTreeSet<&String> = here.keys().chain(there.keys()).collect();
    for name in names {
        let (have, want) = (here.get(name), there.get(name));
        let sql = match (have, want) {
            (Some(_), None) => remove(name),
            (None, Some(want)) => make(name, want),
            (Some(have), Some(want)) if have != want => {
                format!("{}\n{}", remove(name), make(name, want))
            }
            _ => continue,
        };
        out.push(Difference {
            kind,
            name: name.clone(),
            database: have.cloned(),
            files: want.cloned(),
            sql,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Table {
        Table {
            sql: "users".into(),
            columns: BTreeMap::from([
                (
                    "uuid".to_string(),
                    Column {
                        sql: "uuid".into(),
                        kind: "uuid".into(),
                        not_null: true,
                        default: Some("uuid_generate_v4()".into()),
                        generated: None,
                    },
                ),
                (
                    "handle".to_string(),
                    Column {
                        sql: "handle".into(),
                        kind: "text".into(),
                        not_null: true,
                        default: None,
                        generated: None,
                    },
                ),
            ]),
            constraints: BTreeMap::from([("users_pkey".into(), "PRIMARY KEY (uuid)".into())]),
            indexes: BTreeMap::from([(
                "users_handle_idx".into(),
                "CREATE INDEX users_handle_idx ON public.users USING btree (handle)".into(),
            )]),
            sql_names: BTreeMap::new(),
        }
    }

    fn shape(table: Table) -> Shape {
        Shape {
            tables: BTreeMap::from([("users".into(), table)]),
            extensions: BTreeSet::from(["uuid-ossp".to_string()]),
        }
    }

    #[test]
    fn the_same_shape_has_no_difference() {
        assert!(compare(&shape(users()), &shape(users())).is_empty());
    }

    #[test]
    fn each_difference_is_worded_with_the_statement_that_mends_it() {
        let mut database = users();
        database.columns.insert(
            "x".into(),
            Column {
                sql: "x".into(),
                kind: "integer".into(),
                not_null: false,
                default: None,
                generated: None,
            },
        );
        database.columns.get_mut("handle").unwrap().default = Some("'anon'::text".into());
        database.indexes.clear();
        let found = compare(&shape(database), &shape(users()));
        let said: Vec<(String, String)> = found
            .iter()
            .map(|d| (d.to_string(), d.sql.clone()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    "column `users.handle` differs: the database has text NOT NULL DEFAULT \
                     'anon'::text; the files make text NOT NULL"
                        .to_string(),
                    "ALTER TABLE users ALTER COLUMN handle DROP DEFAULT;".to_string()
                ),
                (
                    "column `users.x` is in the database but in no file (integer)".to_string(),
                    "ALTER TABLE users DROP COLUMN x;".to_string()
                ),
                (
                    "index `users_handle_idx` is in the files but not in the database (CREATE \
                     INDEX users_handle_idx ON public.users USING btree (handle))"
                        .to_string(),
                    "CREATE INDEX users_handle_idx ON public.users USING btree (handle);"
                        .to_string()
                ),
            ]
        );
    }
}
