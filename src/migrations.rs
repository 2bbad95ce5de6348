//! The app's migrations, read as they are: `<digits>_<snake_name>.py` files in
//! `backend-flask/db/migrations/`, each a class whose `migrate_sql()` and `rollback_sql()`
//! return a triple-quoted SQL string, and the app's marker `public.schema_information`
//! (`last_successful_run`, id 1). What the `db migrate`, `db rollback`, `db migrations` and
//! `db new-migration` commands share: finding the folder, reading the files, ordering versions
//! as time, and the state of a database.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::app::{App, Origin, SqlSource};

/// The migrations folder, as found.
pub(crate) struct Folder {
    pub path: PathBuf,
    /// As the user would type it (`backend-flask/db/migrations`).
    pub shown: String,
    /// Where it comes from, for `-v`: the flag, or the app folder.
    pub source: String,
}

/// The migrations folder: `--migrations-dir` (or CRUDDUR_MIGRATIONS_DIR), else the app
/// folder's `migrations/` ([`App::migrations`]); None when there is neither.
pub(crate) fn find_folder(app: &App, flag: Option<&Path>) -> Result<Option<Folder>> {
    Ok(app.migrations(flag)?.map(|(path, source)| Folder {
        // A folder the user typed is shown as typed.
        shown: match flag {
            Some(typed) => typed.display().to_string(),
            None => app.shown(&path),
        },
        path,
        source,
    }))
}

/// A version as the app writes it: Unix time with the decimal point removed (10 digits of
/// seconds, then 6 or 7 of fraction). Compared as time, never as an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version(pub String);

impl Version {
    /// (seconds, nanoseconds): what the digits mean.
    fn key(&self) -> (u64, u64) {
        let digits = self.0.as_str();
        let (seconds, fraction) = digits.split_at(digits.len().min(10));
        let seconds = seconds.parse().unwrap_or(0);
        let mut fraction: String = fraction.chars().take(9).collect();
        while fraction.len() < 9 {
            fraction.push('0');
        }
        (seconds, fraction.parse().unwrap_or(0))
    }

    pub(crate) fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        (!text.is_empty() && text.chars().all(|c| c.is_ascii_digit()))
            .then(|| Version(text.to_string()))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key()).then(self.0.cmp(&other.0))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One migration file, read.
pub(crate) struct Migration {
    pub version: Version,
    pub name: String,
    /// The file as the user would type it.
    pub shown: String,
    pub migrate: SqlSource,
    pub rollback: SqlSource,
    /// The migrate SQL's [`checksum`], to notice a file edited after it was applied.
    pub checksum: String,
    /// What cruddur recorded before it used SHA-256 ([`legacy_checksum`]), still read.
    pub legacy_checksum: String,
}

/// Every migration of the folder, oldest first; an unreadable file is an error naming it.
pub(crate) fn read_all(folder: &Folder) -> Result<Vec<Migration>> {
    let entries = std::fs::read_dir(&folder.path)
        .with_context(|| format!("cannot read the migrations folder {}", folder.shown))?;
    let mut migrations = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = file_name.strip_suffix(".py") else {
            continue;
        };
        let Some((digits, name)) = stem.split_once('_') else {
            continue;
        };
        let Some(version) = Version::parse(digits) else {
            continue;
        };
        let shown = format!("{}/{file_name}", folder.shown.trim_end_matches('/'));
        migrations.push(read(&path, shown, version, name)?);
    }
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in migrations.windows(2) {
        if pair[0].version.key() == pair[1].version.key() {
            bail!(
                "{} and {} have the same version (the same time): rename one",
                pair[0].shown,
                pair[1].shown
            );
        }
    }
    Ok(migrations)
}

fn read(path: &Path, shown: String, version: Version, name: &str) -> Result<Migration> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read migration {shown}"))?;
    let migrate = sql_of(&text, "migrate_sql", &shown)?;
    let rollback = sql_of(&text, "rollback_sql", &shown)?;
    Ok(Migration {
        shown,
        checksum: checksum(&migrate.text),
        legacy_checksum: legacy_checksum(&migrate.text),
        version,
        name: name.to_string(),
        migrate,
        rollback,
    })
}

/// The SQL of `def METHOD():` — the triple-quoted string it assigns to `data` — with the
/// file's line numbers kept (blank lines before it) and psycopg's `%%` turned into `%`.
fn sql_of(text: &str, method: &str, shown: &str) -> Result<SqlSource> {
    let expected = format!(
        "expected `def {method}():` with `data = \"\"\"…\"\"\"` and `return data`, as the app's migrations have"
    );
    let def = text
        .find(&format!("def {method}("))
        .ok_or_else(|| anyhow!("{shown}: no `def {method}()`: {expected}"))?;
    let after = &text[def..];
    // The first `data =` after the `def`, which must come before the next method.
    let assign = after
        .match_indices("data")
        .map(|(at, _)| at)
        .find(|at| {
            let rest = after[at + 4..].trim_start();
            rest.starts_with('=') && !rest.starts_with("==")
        })
        .filter(|at| !after[4..*at].contains("def "))
        .ok_or_else(|| anyhow!("{shown}: `def {method}()` assigns no `data`: {expected}"))?;
    let value = after[assign + 4..].trim_start()[1..].trim_start();
    let (raw, value) = match value.strip_prefix(['r', 'R']) {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let quote = [r#"""""#, "'''"]
        .into_iter()
        .find(|q| value.starts_with(q))
        .ok_or_else(|| {
            anyhow!(
                "{shown}: in `def {method}()`, `data` is not a triple-quoted string: {expected}"
            )
        })?;
    let body_start = text.len() - value.len() + 3;
    let body_len = text[body_start..].find(quote).ok_or_else(|| {
        anyhow!("{shown}: the string of `def {method}()` is never closed: {expected}")
    })?;
    let body = &text[body_start..body_start + body_len];
    let body = if raw {
        body.to_string()
    } else {
        unescape(body)
    };
    let (line, _) = crate::sql::line_col(text, body_start);
    Ok(SqlSource {
        name: shown.to_string(),
        text: format!("{}{}", "\n".repeat(line - 1), body.replace("%%", "%")),
        origin: Origin::App,
    })
}

/// Python's escapes in a plain string literal (the few SQL could hold).
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other @ ('\\' | '\'' | '"')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `sha256:` and the hex SHA-256 of a migration's SQL, its line endings made LF first (a
/// checkout with CRLF is not an edit) and the blank lines that keep the file's line numbers
/// left out (an edit above the SQL is not an edit of it).
pub(crate) fn checksum(sql: &str) -> String {
    use sha2::Digest;
    let text = sql.replace("\r\n", "\n");
    let digest = sha2::Sha256::digest(text.trim_start_matches('\n').as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{CHECKSUM_PREFIX}{hex}")
}

const CHECKSUM_PREFIX: &str = "sha256:";

/// What a recorded checksum says of a migration's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The file is what was applied.
    Same,
    /// The file changed after it was applied.
    Edited,
    /// A checksum of a form this cruddur does not know (a newer one wrote it): left alone.
    Unknown,
}

impl Migration {
    /// The file against the checksum recorded when it was applied.
    pub(crate) fn against(&self, recorded: &str) -> Recorded {
        let same = if recorded.starts_with(CHECKSUM_PREFIX) {
            recorded == self.checksum
        } else if recorded.len() == 16 && recorded.chars().all(|c| c.is_ascii_hexdigit()) {
            recorded == self.legacy_checksum
        } else {
            return Recorded::Unknown;
        };
        if same {
            Recorded::Same
        } else {
            Recorded::Edited
        }
    }
}

/// FNV-1a, 64 bits, as hex: what cruddur recorded before SHA-256.
pub(crate) fn legacy_checksum(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// What a database says about its migrations.
pub(crate) struct State {
    /// The app's marker (`'0'` when it has none).
    pub marker: Version,
    /// Whether `schema_information` exists at all.
    pub has_marker_table: bool,
    /// Whether cruddur's own `cruddur_migrations` exists.
    pub has_records_table: bool,
    /// cruddur's own records: version → checksum.
    pub records: HashMap<String, String>,
}

pub(crate) const CREATE_MARKER: &str = "CREATE TABLE IF NOT EXISTS public.schema_information \
     (id integer UNIQUE, last_successful_run text); \
     INSERT INTO public.schema_information (id, last_successful_run) \
     SELECT 1, '0' WHERE NOT EXISTS (SELECT 1 FROM public.schema_information WHERE id = 1)";

pub(crate) const CREATE_RECORDS: &str = "CREATE TABLE IF NOT EXISTS public.cruddur_migrations \
     (version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, \
      how text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

/// What making the migrations' tables ([`CREATE_MARKER`], [`CREATE_RECORDS`]) would do
/// here, for a plan: None when both are there.
pub(crate) fn tables_to_make(migrations: &[Migration], state: &State) -> Option<crate::ops::PgOp> {
    (!state.has_marker_table || !state.has_records_table).then(|| {
        crate::ops::PgOp::MigrationTables {
            marker: !state.has_marker_table,
            records: !state.has_records_table,
            adopted: migrations
                .iter()
                .filter(|m| m.version <= state.marker)
                .count(),
        }
    })
}

/// Read the state; no table is created (a read stays a read).
pub(crate) fn read_state(client: &mut impl postgres::GenericClient) -> Result<State> {
    let tables: (bool, bool) = {
        let row = client.query_one(
            "SELECT to_regclass('public.schema_information') IS NOT NULL, \
                    to_regclass('public.cruddur_migrations') IS NOT NULL",
            &[],
        )?;
        (row.get(0), row.get(1))
    };
    let marker = if tables.0 {
        let row = client.query_opt(
            "SELECT last_successful_run FROM public.schema_information WHERE id = 1",
            &[],
        )?;
        let text: Option<String> = row.and_then(|r| r.get(0));
        match text {
            Some(text) => Version::parse(&text).ok_or_else(|| {
                anyhow!(
                    "schema_information.last_successful_run is `{}`, which is not a migration version; \
                     set it to the newest applied version, or '0'",
                    crate::text::cut(&text, 40)
                )
            })?,
            None => Version("0".into()),
        }
    } else {
        Version("0".into())
    };
    let mut records = HashMap::new();
    if tables.1 {
        for row in client.query(
            "SELECT version, checksum FROM public.cruddur_migrations",
            &[],
        )? {
            records.insert(row.get(0), row.get(1));
        }
    }
    Ok(State {
        marker,
        has_marker_table: tables.0,
        has_records_table: tables.1,
        records,
    })
}

/// A migration's state in a database, as `db migrations` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Status {
    pub version: String,
    pub name: String,
    /// `applied`, `edited` (applied, and the file changed since) or `pending`.
    pub state: &'static str,
    pub file: String,
    /// The file's checksum now.
    pub checksum: String,
    /// The checksum recorded when it was applied, if any.
    pub recorded_checksum: Option<String>,
    /// Something to look at: an applied file that was edited, or an old file never applied.
    pub warning: Option<String>,
}

/// Each migration's state. The marker is authoritative: up to it, applied — except a file
/// cruddur never recorded that is older than one it did record (it appeared after newer ones
/// ran: the old scripts skipped those for good; here it is pending).
pub(crate) fn statuses(migrations: &[Migration], state: &State) -> Vec<Status> {
    let newest_record = migrations
        .iter()
        .filter(|m| state.records.contains_key(&m.version.0))
        .map(|m| &m.version)
        .max();
    migrations
        .iter()
        .map(|m| {
            let recorded = state.records.get(&m.version.0);
            let below_marker = m.version <= state.marker;
            let skipped = below_marker
                && recorded.is_none()
                && newest_record.is_some_and(|newest| m.version < *newest);
            let applied = below_marker && !skipped;
            let against = recorded.map(|sum| m.against(sum));
            let edited = applied && against == Some(Recorded::Edited);
            let warning = match (&against, recorded) {
                (Some(Recorded::Edited), Some(sum)) if applied => Some(format!(
                    "edited since it was applied: the database ran {}, the file is now {}",
                    crate::text::checksum(sum),
                    crate::text::checksum(&m.checksum)
                )),
                (Some(Recorded::Unknown), Some(sum)) if applied => Some(format!(
                    "its record's checksum `{}` is of a form a newer cruddur writes: left alone",
                    crate::text::cut(sum, 24)
                )),
                _ if skipped => Some(
                    "older than migrations already applied, and never applied itself".to_string(),
                ),
                _ => None,
            };
            Status {
                version: m.version.0.clone(),
                name: m.name.clone(),
                state: match (applied, edited) {
                    (true, true) => "edited",
                    (true, false) => "applied",
                    (false, _) => "pending",
                },
                file: m.shown.clone(),
                checksum: m.checksum.clone(),
                recorded_checksum: recorded.cloned(),
                warning,
            }
        })
        .collect()
}

impl Status {
    /// Applied, edited since or not.
    pub(crate) fn applied(&self) -> bool {
        self.state != "pending"
    }
}

/// `add_bio_column` → `AddBioColumn`.
pub(crate) fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// For unit tests: two migrations in the app's format in a scratch folder (which goes with
/// the first value), read back.
#[cfg(test)]
pub(crate) fn scratch() -> (tempfile::TempDir, Vec<Migration>) {
    let dir = tempfile::tempdir().unwrap();
    for (version, table) in [("1683000000123456", "one"), ("1686000000123456", "two")] {
        std::fs::write(
            dir.path().join(format!("{version}_create_{table}.py")),
            format!(
                "from lib.db import db\n\nclass CreateMigration:\n  @staticmethod\n  def migrate_sql():\n    data = \"\"\"\nCREATE TABLE public.{table} (id int);\n    \"\"\"\n    return data\n\n  @staticmethod\n  def rollback_sql():\n    data = \"\"\"\nDROP TABLE public.{table};\n    \"\"\"\n    return data\n\nmigration = CreateMigration\n"
            ),
        )
        .unwrap();
    }
    let folder = Folder {
        path: dir.path().to_path_buf(),
        shown: "migrations".into(),
        source: "a test".into(),
    };
    let migrations = read_all(&folder).unwrap();
    (dir, migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_time_not_as_integers() {
        // April 2023 with 7 fraction digits, May 2023 with 6: as integers April looks later.
        let april = Version("16812345671234567".into());
        let may = Version("1683000000123456".into());
        assert!(april < may);
        assert!(Version("0".into()) < may);
        assert!(Version("1683000000123456".into()) < Version("16830000001234561".into()));
        assert_eq!(Version::parse(" 42 "), Some(Version("42".into())));
        assert_eq!(Version::parse("4x2"), None);
    }

    #[test]
    fn sql_comes_out_of_the_python_file_with_its_lines() {
        let file = "from lib.db import db\n\nclass AddThingsMigration:\n  @staticmethod\n  def migrate_sql():\n    data = \"\"\"\n    ALTER TABLE t ADD COLUMN c text DEFAULT '100%%';\n    \"\"\"\n    return data\n  @staticmethod\n  def rollback_sql():\n    data = '''DROP TABLE x'''\n    return data\n";
        let migrate = sql_of(file, "migrate_sql", "f.py").unwrap();
        assert!(migrate.text.contains("DEFAULT '100%'"), "{}", migrate.text);
        let (line, _) = crate::sql::line_col(&migrate.text, migrate.text.find("ALTER").unwrap());
        assert_eq!(line, 7);
        let rollback = sql_of(file, "rollback_sql", "f.py").unwrap();
        assert_eq!(rollback.text.trim(), "DROP TABLE x");
        let err = sql_of("class X:\n  pass\n", "migrate_sql", "f.py")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("f.py") && err.contains("def migrate_sql"),
            "{err}"
        );
    }

    #[test]
    fn names_become_class_names() {
        assert_eq!(camel("add_bio_column"), "AddBioColumn");
        assert_eq!(camel("x"), "X");
    }

    #[test]
    fn a_checksum_ignores_line_endings_and_the_lines_above_the_sql() {
        let sql = "\n    ALTER TABLE public.users ADD COLUMN bio text;\n";
        assert_eq!(
            checksum(sql),
            // as `printf '    ALTER … bio text;\n' | sha256sum` gives it
            "sha256:a00c3898063939e66d34bb336f98ed270b7b3dd14379429026454c72459c8b28"
        );
        assert_eq!(checksum(&sql.replace('\n', "\r\n")), checksum(sql));
        assert_eq!(checksum(&format!("\n\n\n{sql}")), checksum(sql));
        assert_ne!(checksum(&sql.replace("bio", "bios")), checksum(sql));
        assert_eq!(crate::text::checksum(&checksum(sql)), "sha256:a00c38980639");
    }
}
