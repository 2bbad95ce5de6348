//! The app's local DynamoDB as a file: dynoxide's SQLite database, checked before it is
//! opened, and kept fast as a workspace uses it for weeks.
//!
//! Two things here reach into dynoxide's storage, so its version is pinned exactly in
//! Cargo.toml (`=3.2.0`) and `tests/serve.rs` fails if that storage changes:
//! - dynoxide finds each table's next stream sequence number with
//!   `MAX(CAST(sequence_number AS INTEGER))` over its `_stream_records`, a scan of every record
//!   ever streamed: writes slow down as the table is used. An index on exactly that expression
//!   turns the scan into one index lookup ([`STREAM_INDEXES`]).
//! - Stream records are kept without bound; DynamoDB keeps them 24 hours. [`trim_stream`]
//!   deletes the older ones, as DynamoDB does.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// The storage schema dynoxide 3.2.0 writes (its `_config.schema_version`).
pub(crate) const SCHEMA_VERSION: u32 = 11;

/// What every data file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The indexes that make dynoxide's stream queries lookups: the next sequence number of a
/// table, and a shard's records after a sequence number, in order.
pub(crate) const STREAM_INDEXES: &str = "\
    CREATE INDEX IF NOT EXISTS cruddur_stream_next \
        ON _stream_records (table_name, CAST(sequence_number AS INTEGER)); \
    CREATE INDEX IF NOT EXISTS cruddur_stream_read \
        ON _stream_records (table_name, shard_id, CAST(sequence_number AS INTEGER));";

/// What a data file is, before dynoxide opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataFile {
    /// Not there yet (or empty): dynoxide creates it.
    New,
    /// Written by this version's storage.
    Current,
    /// Written by an older dynoxide: opening it upgrades it in place, after which the older
    /// cruddur cannot read it.
    Older(u32),
}

/// Look at `path` without changing it: a file of another program, or of a newer version, is
/// refused in plain words; an older one is said.
pub(crate) fn inspect(path: &Path) -> Result<DataFile> {
    let shown = path.display();
    let bytes = match std::fs::read(path).map(|b| b.len()) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(DataFile::New),
        Err(error) => return Err(anyhow!("cannot read {shown}: {error}")),
        Ok(0) => return Ok(DataFile::New),
        Ok(n) => n,
    };
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
        if bytes < 16 || file.read_exact(&mut header).is_err() || &header != SQLITE_HEADER {
            bail!(
                "{shown} is not a database of `cruddur ddb serve` (not even SQLite): it was left \
                 as it is. Pass --data with another path, or move that file away"
            );
        }
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {shown} to check it"))?;
    let has = |table: &str| -> Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |_| Ok(()),
            )
            .optional()
            .with_context(|| format!("cannot read {shown}: is it a SQLite database?"))?
            .is_some())
    };
    if !has("_config")? || !has("_tables")? {
        bail!(
            "{shown} is a SQLite database of another program, not of `cruddur ddb serve`: it was \
             left as it is. Pass --data with another path"
        );
    }
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM _config WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let version: u32 = version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("{shown} has no storage version: it was left as it is"))?;
    match version.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(DataFile::Current),
        std::cmp::Ordering::Less => Ok(DataFile::Older(version)),
        std::cmp::Ordering::Greater => bail!(
            "{shown} was written by a newer version (storage {version}; this cruddur reads \
             {SCHEMA_VERSION}): it was left as it is. Serve it with that newer cruddur, or pass \
             --data with another path"
        ),
    }
}

/// A connection of cruddur's own to the data file, beside dynoxide's (SQLite's WAL lets both
/// work): for the stream indexes and the trimming of old stream records.
pub(crate) struct Upkeep {
    conn: Connection,
}

impl Upkeep {
    /// Open the file dynoxide has opened (and so made or upgraded), and add the indexes.
    pub(crate) fn open(path: &Path) -> Result<Upkeep> {
        let shown = path.display();
        let conn = Connection::open(path).with_context(|| format!("cannot open {shown}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(STREAM_INDEXES)
            .with_context(|| format!("cannot index the stream records of {shown}"))?;
        Ok(Upkeep { conn })
    }

    /// Delete stream records older than `keep_seconds` (DynamoDB keeps 24 hours). New
    /// sequence numbers never fall back: dynoxide starts them at the clock's microseconds.
    /// How many went.
    pub(crate) fn trim_stream(&self, now: i64, keep_seconds: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM _stream_records WHERE created_at < ?1",
            [now - keep_seconds],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_program_s_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database at all, just text").unwrap();
        let error = inspect(&text).unwrap_err().to_string();
        assert!(error.contains("not even SQLite"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&text).unwrap(),
            "not a database at all, just text"
        );
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
        let error = inspect(&other).unwrap_err().to_string();
        assert!(error.contains("another program"), "{error}");
        assert_eq!(
            inspect(&dir.path().join("none.sqlite")).unwrap(),
            DataFile::New
        );
    }
}
