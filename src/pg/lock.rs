//! A session lock of one database for work that must not run twice at once (`db migrate`,
//! `db rollback`): a Postgres advisory lock, held until the connection ends. A second run
//! waits for it, bounded by `--lock-timeout`, then sees the state the first one left.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::connect::db_message;
use super::target::PgTarget;

/// The advisory lock's key: `cruddur` and 1 in ASCII, so it reads as ours in `pg_locks`.
const MIGRATIONS: i64 = 0x6372_7564_6475_7201;

/// Take the migrations lock of `pg`'s database on this session, waiting up to
/// `pg.lock_timeout` (saying so once it has to wait); an error names who holds it.
pub(crate) fn lock_migrations(
    client: &mut postgres::Client,
    pg: &PgTarget,
    say: impl Fn(String),
) -> Result<()> {
    let deadline = Instant::now() + pg.lock_timeout;
    let mut said = false;
    loop {
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATIONS])
            .map_err(|e| {
                anyhow!(
                    "could not take the migrations lock of `{}`: {}",
                    pg.dbname,
                    db_message(&e)
                )
            })?
            .get(0);
        if taken {
            return Ok(());
        }
        let holder = holder(client);
        if Instant::now() >= deadline {
            return Err(anyhow!(
                "another run holds the migrations lock of `{}` ({holder}) and kept it for {}: \
                 nothing was done; try again when it is finished, or raise --lock-timeout",
                pg.dbname,
                crate::text::duration(pg.lock_timeout)
            ));
        }
        if !said {
            say(format!(
                "waiting for another run that holds the migrations lock of `{}` ({holder}; at most {})",
                pg.dbname,
                crate::text::duration(pg.lock_timeout)
            ));
            said = true;
        }
        crate::interrupt::check(|| {
            format!(
                "nothing was done while waiting for the migrations lock of `{}`",
                pg.dbname
            )
        })?;
        std::thread::sleep(Duration::from_millis(100).min(deadline - Instant::now()));
    }
}

/// Who holds the lock, in words: `pid 123, cruddur, from 10.0.0.5`.
fn holder(client: &mut postgres::Client) -> String {
    let found = client.query_opt(
        "SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), \
                coalesce(host(a.client_addr), 'a local socket') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = \
               (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 LIMIT 1",
        &[&MIGRATIONS],
    );
    match found {
        Ok(Some(row)) => format!(
            "pid {}, {}, from {}",
            row.get::<_, i32>(0),
            crate::text::visible(&row.get::<_, String>(1)),
            row.get::<_, String>(2)
        ),
        Ok(None) => "a session that has just ended".into(),
        Err(error) => format!("its session could not be read: {}", db_message(&error)),
    }
}
