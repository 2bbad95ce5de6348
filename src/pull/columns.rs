//! How each column of production's tables is copied: kept, or masked by a [`Rule`]. Decided by
//! the app's list of personal columns, by the column's type as the catalog tells it (a domain
//! by its base type, an array by its elements), and by the references between columns: a
//! referenced value and the values that refer to it get one fake, so the references hold.
//! A column the list does not name is masked when it holds text (text, JSON's strings, an
//! array's texts) and kept when its type cannot carry a person's words (numbers, times,
//! uuids); of any other type (bytea, inet, a point) it stops the pull, since it cannot be
//! masked and might be personal.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use postgres::GenericClient;

use super::sample::Reference;
use crate::mask::{Masker, Rule};
use crate::pg::schema::Shape;

/// The app's text columns and how each is masked.
const APP_COLUMNS: &[(&str, &str, Rule)] = &[
    ("users", "display_name", Rule::Name),
    ("users", "email", Rule::Email),
    ("users", "cognito_user_id", Rule::CognitoId),
    ("users", "bio", Rule::Text),
    ("users", "handle", Rule::Keep),
    ("activities", "message", Rule::Text),
];

/// What a column's values are, for masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    Text,
    /// JSON: its strings are masked, its keys and structure kept.
    Json,
    /// An array of texts: each element masked.
    TextArray,
    /// A type that carries no words (numbers, times, uuids, booleans, enums, ranges).
    Plain,
    /// A type that cannot be masked (bytea, inet, geometry, composite, …), named.
    Unmaskable(&'static str),
}

/// A column's type as the catalog tells it: the base type's name and category, and for an
/// array its element's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeOf {
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) element: Option<(String, String)>,
}

impl TypeOf {
    fn holds(&self) -> Holds {
        fn scalar(name: &str, category: &str) -> Holds {
            match (category, name) {
                ("S", _) => Holds::Text,
                (_, "json" | "jsonb") => Holds::Json,
                ("N" | "D" | "B" | "T" | "E" | "R" | "V", _) | (_, "uuid") => Holds::Plain,
                ("I", _) => Holds::Unmaskable("a network address"),
                ("G", _) => Holds::Unmaskable("a geometric value"),
                ("C", _) => Holds::Unmaskable("a composite value"),
                (_, "bytea") => Holds::Unmaskable("bytes"),
                _ => Holds::Unmaskable("a value of a type cruddur does not know"),
            }
        }
        match (&self.element, self.category.as_str()) {
            (Some((name, category)), "A") => match scalar(name, category) {
                Holds::Text => Holds::TextArray,
                Holds::Plain => Holds::Plain,
                Holds::Json => Holds::Unmaskable("an array of JSON"),
                other => other,
            },
            _ => scalar(&self.name, &self.category),
        }
    }
}

/// Every column's type, by table (as the shape names it) and column.
pub(crate) fn types(
    client: &mut impl GenericClient,
) -> Result<BTreeMap<(String, String), TypeOf>, postgres::Error> {
    Ok(client
        .query(
            "SELECT CASE WHEN n.nspname = 'public' THEN c.relname::text \
                    ELSE n.nspname || '.' || c.relname END, a.attname::text, \
                    bt.typname::text, bt.typcategory::text, ebt.typname::text, ebt.typcategory::text \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
             LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A' \
             LEFT JOIN pg_type ebt ON ebt.oid = CASE WHEN et.typtype = 'd' THEN et.typbasetype ELSE et.oid END \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')",
            &[],
        )?
        .iter()
        .map(|row| {
            let element = match (row.get::<_, Option<String>>(4), row.get::<_, Option<String>>(5)) {
                (Some(name), Some(category)) => Some((name, category)),
                _ => None,
            };
            (
                (row.get(0), row.get(1)),
                TypeOf {
                    name: row.get(2),
                    category: row.get(3),
                    element,
                },
            )
        })
        .collect())
}

/// One column of a table as `pull` copies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Copied {
    pub(crate) name: String,
    pub(crate) sql: String,
    pub(crate) rule: Rule,
    pub(crate) holds: Holds,
    /// Masked though the app's list does not name it.
    pub(crate) unlisted: bool,
    /// A fake chosen by the value itself, not by the row's person: a referenced column, or
    /// one that refers to another, so that both sides get the same fake.
    pub(crate) by_value: bool,
}

/// The columns COPY reads and writes for each table (not the generated ones, which the
/// server computes), each with how it is masked (`masking` off: all kept). An error names
/// every column that would need masking but cannot be masked.
pub(crate) fn copied(
    shape: &Shape,
    types: &BTreeMap<(String, String), TypeOf>,
    references: &[Reference],
    masking: bool,
) -> Result<BTreeMap<String, Vec<Copied>>> {
    let mut all: BTreeMap<String, Vec<Copied>> = BTreeMap::new();
    let mut unmaskable = Vec::new();
    for (table, t) in &shape.tables {
        let mut columns = Vec::new();
        for (name, column) in &t.columns {
            if column
                .generated
                .as_deref()
                .is_some_and(|g| g.starts_with("GENERATED ALWAYS AS ("))
            {
                continue;
            }
            let holds = types.get(&(table.clone(), name.clone())).map_or(
                Holds::Unmaskable("a type the catalog did not say"),
                TypeOf::holds,
            );
            let listed = APP_COLUMNS
                .iter()
                .find(|(t, c, _)| t == table && c == name)
                .map(|(_, _, rule)| *rule);
            let rule = match (masking, listed, holds) {
                (false, _, _) => Rule::Keep,
                (true, Some(rule), _) => rule,
                (true, None, Holds::Text | Holds::Json | Holds::TextArray) => Rule::Text,
                (true, None, Holds::Plain) => Rule::Keep,
                (true, None, Holds::Unmaskable(what)) => {
                    unmaskable.push(format!("`{table}.{name}` ({what}: {})", column.kind));
                    Rule::Keep
                }
            };
            columns.push(Copied {
                name: name.clone(),
                sql: column.sql.clone(),
                rule,
                holds,
                unlisted: masking && listed.is_none() && rule.masks(),
                by_value: false,
            });
        }
        all.insert(table.clone(), columns);
    }
    if !unmaskable.is_empty() {
        return Err(anyhow!(
            "production has columns the app's list does not name and cruddur cannot mask: {}. \
             Nothing was pulled. If they hold nothing personal, pull with --no-mask (at a \
             terminal, which asks first)",
            unmaskable.join(", ")
        ));
    }
    // Both ends of a reference share one rule, chosen by value: the parent's, followed down
    // a chain of references.
    for r in references {
        for key in &r.keys {
            if let Some(parent) = all
                .get_mut(&r.parent)
                .and_then(|c| c.iter_mut().find(|c| c.name == *key))
            {
                parent.by_value = true;
            }
        }
    }
    for _ in 0..8 {
        let mut changed = false;
        for r in references {
            for (column, key) in r.columns.iter().zip(&r.keys) {
                let Some(rule) = all
                    .get(&r.parent)
                    .and_then(|c| c.iter().find(|c| c.name == *key))
                    .map(|c| c.rule)
                else {
                    continue;
                };
                if let Some(child) = all
                    .get_mut(&r.child)
                    .and_then(|c| c.iter_mut().find(|c| c.name == *column))
                {
                    if child.rule != rule || !child.by_value {
                        child.rule = rule;
                        child.by_value = true;
                        child.unlisted = false;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    Ok(all)
}

/// A column's value masked: `person` is the row's person's uuid (for the rules that are a
/// person's), unless the column is masked by value.
pub(crate) fn mask(
    column: &Copied,
    value: &str,
    person: Option<&str>,
    masker: &Masker,
) -> Result<String> {
    let person = if column.by_value { None } else { person };
    match column.holds {
        Holds::Json => {
            let mut json: serde_json::Value = serde_json::from_str(value)
                .map_err(|e| anyhow!("`{}` holds a value that is not JSON: {e}", column.name))?;
            strings(&mut json, &mut |text| {
                masker.mask(column.rule, text, person)
            });
            Ok(json.to_string())
        }
        Holds::TextArray => {
            crate::pg::copy::map_array(value, |text| masker.mask(column.rule, text, person))
                .ok_or_else(|| anyhow!("`{}` holds an array cruddur cannot read", column.name))
        }
        _ => Ok(masker.mask(column.rule, value, person)),
    }
}

/// Every string of a JSON value (not its keys), replaced.
fn strings(value: &mut serde_json::Value, change: &mut impl FnMut(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = change(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| strings(v, change)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| strings(v, change)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str, category: &str, element: Option<(&str, &str)>) -> TypeOf {
        TypeOf {
            name: name.into(),
            category: category.into(),
            element: element.map(|(n, c)| (n.into(), c.into())),
        }
    }

    #[test]
    fn a_type_says_what_its_values_hold() {
        assert_eq!(of("text", "S", None).holds(), Holds::Text);
        assert_eq!(of("jsonb", "U", None).holds(), Holds::Json);
        assert_eq!(
            of("_varchar", "A", Some(("varchar", "S"))).holds(),
            Holds::TextArray
        );
        assert_eq!(of("_int4", "A", Some(("int4", "N"))).holds(), Holds::Plain);
        assert_eq!(of("uuid", "U", None).holds(), Holds::Plain);
        assert_eq!(of("timestamp", "D", None).holds(), Holds::Plain);
        assert_eq!(of("bytea", "U", None).holds(), Holds::Unmaskable("bytes"));
        assert_eq!(
            of("inet", "I", None).holds(),
            Holds::Unmaskable("a network address")
        );
        assert_eq!(
            of("_json", "A", Some(("json", "U"))).holds(),
            Holds::Unmaskable("an array of JSON")
        );
    }

    #[test]
    fn json_and_arrays_have_their_strings_masked() {
        let masker = Masker::new(b"k");
        let column = |holds| Copied {
            name: "c".into(),
            sql: "c".into(),
            rule: Rule::Text,
            holds,
            unlisted: true,
            by_value: false,
        };
        let json = mask(
            &column(Holds::Json),
            r#"{"name": "Kim", "n": 3, "tags": ["a b"]}"#,
            None,
            &masker,
        )
        .unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"name":"{}","n":3,"tags":["{}"]}}"#,
                masker.text("Kim"),
                masker.text("a b")
            )
        );
        let array = mask(
            &column(Holds::TextArray),
            r#"{kim,"a \"b\"",NULL}"#,
            None,
            &masker,
        )
        .unwrap();
        assert_eq!(
            array,
            format!(
                r#"{{"{}","{}",NULL}}"#,
                masker.text("kim"),
                masker.text("a \"b\"")
            )
        );
    }
}
