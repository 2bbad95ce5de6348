//! What the `db` commands read from the server's catalogs: sessions, whether a database
//! exists, and the environment marker recorded on a database.

use anyhow::Result;
use postgres::Client;

use crate::target::Target;

/// The list of other sessions on a database, as a table row each.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Session {
    pub(crate) process_id: i32,
    pub(crate) user: Option<String>,
    pub(crate) db: Option<String>,
    pub(crate) client_addr: Option<String>,
    pub(crate) app: Option<String>,
    pub(crate) state: Option<String>,
}

pub(crate) const SESSION_COLUMNS: &[&str] =
    &["process_id", "user", "db", "client_addr", "app", "state"];

/// Client sessions other than this one, optionally only those on `dbname`.
pub(crate) fn sessions(client: &mut Client, dbname: Option<&str>) -> Result<Vec<Session>> {
    let rows = client.query(
        "SELECT pid, usename::text, datname::text, host(client_addr), application_name, state \
         FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
           AND ($1::text IS NULL OR datname = $1::text) \
         ORDER BY datname, pid",
        &[&dbname],
    )?;
    Ok(rows
        .iter()
        .map(|row| Session {
            process_id: row.get(0),
            user: row.get(1),
            db: row.get(2),
            client_addr: row.get(3),
            app: row.get::<_, Option<String>>(4).filter(|a| !a.is_empty()),
            state: row.get(5),
        })
        .collect())
}

impl Session {
    /// `pid 123 (postgres, psql, 127.0.0.1)`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "pid {} ({}, {}, {})",
            self.process_id,
            self.user.as_deref().unwrap_or("?"),
            self.app.as_deref().unwrap_or("no app name"),
            self.client_addr.as_deref().unwrap_or("local socket"),
        )
    }
}

/// What `db schema-load` writes on the database itself: where it belongs.
const MARKER: &str = "cruddur environment: ";

/// The statement that records the environment on the database (a comment on it).
pub(crate) fn mark_statement(dbname: &str, target: Target) -> String {
    format!(
        "COMMENT ON DATABASE {} IS '{MARKER}{}'",
        quote_ident(dbname),
        target.name()
    )
}

/// The environment recorded on `dbname`, if any (readable from any database of the server).
pub(crate) fn marker(client: &mut Client, dbname: &str) -> Result<Option<String>> {
    let row = client.query_opt(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        &[&dbname],
    )?;
    let comment: Option<String> = row.and_then(|r| r.get(0));
    Ok(comment.and_then(|c| c.strip_prefix(MARKER).map(|env| env.trim().to_string())))
}

/// Double-quote an identifier for SQL (a database name cannot be a bound parameter).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether the server has this database.
pub(crate) fn database_exists(client: &mut Client, name: &str) -> Result<bool> {
    Ok(client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("cruddur"), "\"cruddur\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
