//! `cruddur db connect [-- PSQL_ARGS…]`: psql on the database. The connection goes through
//! PG* variables, so the password never appears on a command line (`ps` shows argv).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, Result};
use postgres::config::{Host, SslMode};

use crate::cli::ConnectArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;

/// Variables that would send psql somewhere other than where we point it.
const CONFLICTING: &[&str] = &[
    "PGHOSTADDR",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGREQUIRESSL",
];

pub(super) fn run(ctx: &Ctx, args: &ConnectArgs) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let psql = find_on_path("psql").ok_or_else(|| {
        anyhow!(
            "psql is not on PATH: install the PostgreSQL client \
             (Debian/Ubuntu: `apt-get install postgresql-client`, macOS: `brew install libpq`)"
        )
    })?;
    let mut command = Command::new(psql);
    command.args(&args.psql_args);
    for name in CONFLICTING {
        command.env_remove(name);
    }
    let config = &pg.config;
    match config.get_hosts().first() {
        Some(Host::Tcp(name)) => command.env("PGHOST", name),
        Some(Host::Unix(path)) => command.env("PGHOST", path),
        None => command.env("PGHOST", "localhost"),
    };
    if let Some(port) = config.get_ports().first() {
        command.env("PGPORT", port.to_string());
    }
    if let Some(user) = config.get_user() {
        command.env("PGUSER", user);
    }
    match pg.password() {
        Some(password) => command.env("PGPASSWORD", password),
        None => command.env_remove("PGPASSWORD"),
    };
    command.env("PGDATABASE", &pg.dbname);
    // psql takes whole seconds, and at least 2.
    command.env("PGCONNECT_TIMEOUT", pg.timeout.as_secs().max(2).to_string());
    command.env(
        "PGSSLMODE",
        match config.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            _ => "prefer",
        },
    );
    // exec replaces this process with psql; it returns only when psql could not start.
    let error = command.exec();
    Err(anyhow!("could not start psql: {error}"))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
