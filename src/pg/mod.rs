//! Postgres, shared by the `db` commands (and `doctor`, `setup`): one job per file.
//!
//! - `target`: which database, from the flags and the environment; the printable URL.
//! - `connect`: TLS, a bounded login, Ctrl-C cancel, connection errors in plain words.
//! - `catalog`: sessions, databases and the environment marker, read from the catalogs.
//! - `lock`: the migrations lock, so that two runs never migrate at once.
//! - `params`: binding the named queries' parameters.

mod catalog;
mod connect;
mod lock;
mod params;
pub mod run;
mod target;

pub use catalog::{
    database_exists, mark_statement, marker, quote_ident, sessions, Session, SESSION_COLUMNS,
};
pub use connect::db_message;
pub use lock::lock_migrations;
pub use params::TextParam;
pub use target::{url_password, PgSettings, PgTarget, Tls, DEFAULT_LOCAL_URL};

/// What protects a production database before a migration, said in the plan: cruddur takes
/// no RDS snapshot (that needs RDS permissions and minutes); each migration is one
/// transaction, so a failed one changes nothing. None locally.
pub fn protection_note(pg: &PgTarget) -> Option<String> {
    (pg.target == crate::target::Target::Prod).then(|| {
        "no snapshot is taken by cruddur: if this cannot be undone by `db rollback`, take an RDS \
         snapshot first (`aws rds create-db-snapshot`); each migration runs in one transaction, \
         so one that fails changes nothing"
            .to_string()
    })
}
