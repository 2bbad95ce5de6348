//! Which rows of production a pull takes ([`Sample`]) and in which order: the references
//! between the tables (declared foreign keys of any schema, one column or several, and the
//! app's own undeclared one), parents before children, and for each table the WHERE clause
//! that keeps every pulled row's references inside the pull.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use postgres::GenericClient;

use crate::pg::quote_ident;
use crate::pg::schema::Shape;

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

/// The table whose rows are people: what `--users` and `--since` choose among.
pub(crate) const PEOPLE: &str = "users";

/// References the app's schema leaves undeclared, which its queries join on: child table and
/// column, parent table and column.
const APP_REFERENCES: &[(&str, &str, &str, &str)] = &[("activities", "user_uuid", "users", "uuid")];

/// A reference: `child.columns` hold values of `parent.keys` (tables named as the shape
/// names them: `users`, or `schema.table` outside `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) child: String,
    pub(crate) columns: Vec<String>,
    pub(crate) parent: String,
    pub(crate) keys: Vec<String>,
}

/// Whether `table` has `column`.
fn has(shape: &Shape, table: &str, column: &str) -> bool {
    shape
        .tables
        .get(table)
        .is_some_and(|t| t.columns.contains_key(column))
}

pub(crate) fn has_people(shape: &Shape) -> bool {
    has(shape, PEOPLE, "uuid")
}

/// Every declared foreign key between the shape's tables, and the app's own.
pub(crate) fn references(
    client: &mut impl GenericClient,
    shape: &Shape,
) -> Result<Vec<Reference>, postgres::Error> {
    let name = |n: &str, c: &str| {
        format!("CASE WHEN {n}.nspname = 'public' THEN {c}.relname::text ELSE {n}.nspname || '.' || {c}.relname END")
    };
    let attributes = |keys: &str, rel: &str| {
        format!(
            "ARRAY(SELECT a.attname::text FROM unnest(c.{keys}) WITH ORDINALITY k(num, i) \
             JOIN pg_attribute a ON a.attrelid = c.{rel} AND a.attnum = k.num ORDER BY k.i)"
        )
    };
    let mut found: Vec<Reference> = client
        .query(
            &format!(
                "SELECT {}, {}, {}, {} FROM pg_constraint c \
                 JOIN pg_class cl ON cl.oid = c.conrelid \
                 JOIN pg_namespace n ON n.oid = cl.relnamespace \
                 JOIN pg_class fcl ON fcl.oid = c.confrelid \
                 JOIN pg_namespace fn ON fn.oid = fcl.relnamespace \
                 WHERE c.contype = 'f' ORDER BY 1, 2, 3",
                name("n", "cl"),
                name("fn", "fcl"),
                attributes("conkey", "conrelid"),
                attributes("confkey", "confrelid"),
            ),
            &[],
        )?
        .iter()
        .map(|row| Reference {
            child: row.get(0),
            parent: row.get(1),
            columns: row.get(2),
            keys: row.get(3),
        })
        .collect();
    for (child, column, parent, key) in APP_REFERENCES {
        let reference = Reference {
            child: child.to_string(),
            columns: vec![column.to_string()],
            parent: parent.to_string(),
            keys: vec![key.to_string()],
        };
        if has(shape, child, column) && has(shape, parent, key) && !found.contains(&reference) {
            found.push(reference);
        }
    }
    found.retain(|r| shape.tables.contains_key(&r.child) && shape.tables.contains_key(&r.parent));
    Ok(found)
}

/// The tables, parents before the tables that reference them (by name among equals); the
/// tables of a cycle come last, by name.
pub(crate) fn order(shape: &Shape, references: &[Reference]) -> Vec<String> {
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
pub(crate) fn filter(
    table: &str,
    sample: Sample,
    shape: &Shape,
    references: &[Reference],
    depth: usize,
) -> Option<String> {
    if sample == Sample::All || depth > 8 {
        return None;
    }
    let sql = |table: &str| shape.tables[table].sql.clone();
    let column = |table: &str, column: &str| {
        shape.tables[table]
            .columns
            .get(column)
            .map_or_else(|| quote_ident(column), |c| c.sql.clone())
    };
    let since = match sample {
        Sample::Since(time) => Some(format!(
            "'{}'::timestamptz",
            time.format("%Y-%m-%d %H:%M:%S%.6f+00")
        )),
        _ => None,
    };
    let mut all = Vec::new();
    if table == PEOPLE {
        all.push(people(sample, shape, references, since.as_deref())?);
    } else {
        for r in references
            .iter()
            .filter(|r| r.child == table && r.parent != table)
        {
            if let Some(parent) = filter(&r.parent, sample, shape, references, depth + 1) {
                let columns: Vec<String> = r.columns.iter().map(|c| column(table, c)).collect();
                let keys: Vec<String> = r.keys.iter().map(|k| column(&r.parent, k)).collect();
                // MATCH SIMPLE: a reference with a NULL in it points at nothing.
                let nulls: Vec<String> = columns.iter().map(|c| format!("{c} IS NULL")).collect();
                all.push(format!(
                    "({} OR ({}) IN (SELECT {} FROM {} WHERE {parent}))",
                    nulls.join(" OR "),
                    columns.join(", "),
                    keys.join(", "),
                    sql(&r.parent)
                ));
            }
        }
        if let (Some(at), true) = (&since, has(shape, table, "created_at")) {
            all.push(format!("created_at >= {at}"));
        }
    }
    if all.is_empty() {
        return None;
    }
    let base = all.join(" AND ");
    // A reference within the table (a reply to an activity): a row whose chain of parents
    // leaves the sample goes too, with every row below it.
    let mut out = base.clone();
    for r in references
        .iter()
        .filter(|r| r.child == table && r.parent == table)
    {
        let columns: Vec<String> = r.columns.iter().map(|c| column(table, c)).collect();
        let keys: Vec<String> = r.keys.iter().map(|k| column(table, k)).collect();
        let joined: Vec<String> = columns
            .iter()
            .zip(&keys)
            .map(|(c, k)| format!("t.{c} = o.{k}"))
            .collect();
        let present: Vec<String> = columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
        let t_keys: Vec<String> = keys.iter().map(|k| format!("t.{k}")).collect();
        out.push_str(&format!(
            " AND ({keys}) NOT IN (WITH RECURSIVE o AS (SELECT {keys} FROM {t} WHERE {base} AND \
             {present} AND ({columns}) NOT IN (SELECT {keys} FROM {t} WHERE {base}) UNION \
             SELECT {t_keys} FROM {t} t JOIN o ON {joined}) SELECT {keys} FROM o)",
            keys = keys.join(", "),
            t = sql(table),
            present = present.join(" AND "),
            columns = columns.join(", "),
            t_keys = t_keys.join(", "),
            joined = joined.join(" AND "),
        ));
    }
    Some(out)
}

/// The people the sample takes: the N most referenced, or those who joined or made rows
/// since the date.
fn people(
    sample: Sample,
    shape: &Shape,
    references: &[Reference],
    since: Option<&str>,
) -> Option<String> {
    let sql = |table: &str| shape.tables[table].sql.clone();
    // Who references each person: the rows that make them active.
    let children: Vec<&Reference> = references
        .iter()
        .filter(|r| {
            r.parent == PEOPLE && r.keys == ["uuid"] && r.columns.len() == 1 && r.child != PEOPLE
        })
        .collect();
    let column = |r: &Reference| {
        shape.tables[&r.child]
            .columns
            .get(&r.columns[0])
            .map_or_else(|| quote_ident(&r.columns[0]), |c| c.sql.clone())
    };
    match sample {
        Sample::Users(n) => {
            let mut order: Vec<String> = Vec::new();
            if !children.is_empty() {
                let activity: Vec<String> = children
                    .iter()
                    .map(|r| {
                        format!(
                            "(SELECT count(*) FROM {} c WHERE c.{} = u.uuid)",
                            sql(&r.child),
                            column(r)
                        )
                    })
                    .collect();
                order.push(format!("{} DESC", activity.join(" + ")));
            }
            if has(shape, PEOPLE, "handle") {
                order.push("u.handle".into());
            }
            order.push("u.uuid".into());
            Some(format!(
                "uuid IN (SELECT u.uuid FROM {} u ORDER BY {} LIMIT {n})",
                sql(PEOPLE),
                order.join(", ")
            ))
        }
        Sample::Since(_) => {
            let at = since?;
            let mut any = Vec::new();
            if has(shape, PEOPLE, "created_at") {
                any.push(format!("created_at >= {at}"));
            }
            for r in children
                .iter()
                .filter(|r| has(shape, &r.child, "created_at"))
            {
                any.push(format!(
                    "uuid IN (SELECT {} FROM {} WHERE created_at >= {at})",
                    column(r),
                    sql(&r.child)
                ));
            }
            Some(if any.is_empty() {
                "false".to_string()
            } else {
                format!("({})", any.join(" OR "))
            })
        }
        Sample::All => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::schema::{Column, Table};

    pub(crate) fn shape() -> Shape {
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
                    ("reply_to", "uuid"),
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
                t.columns.insert(
                    name.into(),
                    Column {
                        sql: name.into(),
                        kind: kind.into(),
                        not_null: false,
                        default: None,
                        generated: None,
                    },
                );
            }
            shape.tables.insert(table.into(), t);
        }
        shape
    }

    fn reference(child: &str, column: &str, parent: &str, key: &str) -> Reference {
        Reference {
            child: child.into(),
            columns: vec![column.into()],
            parent: parent.into(),
            keys: vec![key.into()],
        }
    }

    #[test]
    fn parents_come_first_and_the_sample_follows_the_references() {
        let shape = shape();
        let references = vec![
            reference("likes", "activity_uuid", "activities", "uuid"),
            reference("activities", "user_uuid", "users", "uuid"),
        ];
        assert_eq!(order(&shape, &references), ["users", "activities", "likes"]);
        assert_eq!(filter("likes", Sample::All, &shape, &references, 0), None);
        assert_eq!(
            filter("users", Sample::Users(2), &shape, &references, 0).unwrap(),
            "uuid IN (SELECT u.uuid FROM users u ORDER BY (SELECT count(*) FROM activities c \
             WHERE c.user_uuid = u.uuid) DESC, u.handle, u.uuid LIMIT 2)"
        );
        let likes = filter("likes", Sample::Users(2), &shape, &references, 0).unwrap();
        assert!(
            likes.starts_with(
                "(activity_uuid IS NULL OR (activity_uuid) IN (SELECT uuid FROM activities \
                 WHERE (user_uuid IS NULL OR (user_uuid) IN (SELECT uuid FROM users WHERE uuid IN ("
            ),
            "{likes}"
        );
        let since = Sample::Since("2026-11-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            filter("users", since, &shape, &references, 0).unwrap(),
            "(created_at >= '2026-11-01 00:00:00.000000+00'::timestamptz OR uuid IN (SELECT \
             user_uuid FROM activities WHERE created_at >= '2026-11-01 00:00:00.000000+00'::timestamptz))"
        );
        // No table references the people: they are chosen by handle alone.
        assert_eq!(
            filter("users", Sample::Users(1), &shape, &[], 0).unwrap(),
            "uuid IN (SELECT u.uuid FROM users u ORDER BY u.handle, u.uuid LIMIT 1)"
        );
    }

    #[test]
    fn a_reference_within_a_table_drops_the_rows_whose_chain_leaves_the_sample() {
        let shape = shape();
        let references = vec![
            reference("activities", "user_uuid", "users", "uuid"),
            reference("activities", "reply_to", "activities", "uuid"),
        ];
        let activities = filter("activities", Sample::Users(1), &shape, &references, 0).unwrap();
        assert!(
            activities.contains(
                " AND (uuid) NOT IN (WITH RECURSIVE o AS (SELECT uuid FROM activities WHERE "
            ) && activities.contains("UNION SELECT t.uuid FROM activities t JOIN o ON t.reply_to = o.uuid) SELECT uuid FROM o)"),
            "{activities}"
        );
        // Everything pulled: nothing to leave out.
        assert_eq!(
            filter("activities", Sample::All, &shape, &references, 0),
            None
        );
    }
}
