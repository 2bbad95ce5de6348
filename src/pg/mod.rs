//! Postgres, shared by the `db` commands (and `doctor`, `setup`): one job per file.
//!
//! - `target`: which database, from the flags and the environment; the printable URL.
//! - `connect`: TLS, a bounded login, Ctrl-C cancel, connection errors in plain words.
//! - `catalog`: sessions, databases and the environment marker, read from the catalogs.
//! - `lock`: the migrations lock, so that two runs never migrate at once.
//! - `params`: binding the named queries' parameters.
//! - `perform`: the connection a plan's statements go through (or a recorder, in unit tests).
//! - `copy`: rows in COPY's text format, read out and rewritten (`pull`).
//! - `schema`: a database's shape (tables, columns, constraints, indexes), and two compared.

mod catalog;
mod connect;
pub(crate) mod copy;
mod lock;
mod params;
pub(crate) mod perform;
pub(crate) mod run;
pub(crate) mod schema;
mod target;

pub(crate) use catalog::{
    database_exists, mark_statement, marker, quote_ident, sessions, Session, SESSION_COLUMNS,
};
pub(crate) use connect::db_message;
pub(crate) use lock::lock_migrations;
pub(crate) use params::TextParam;
pub(crate) use target::{url_password, PgSettings, PgTarget, Tls};
