//! The app's own files. Inside a Cruddur repository the truth is the repository's database
//! folder (`backend-flask/db/`): its `schema.sql`, `seed.sql`, the named queries under `sql/`
//! and the migrations under `migrations/`. This module finds that folder once (`--app-dir`,
//! or walking up from the current folder) and hands every command the file it must use,
//! named as the user would type it (`backend-flask/db/seed.sql`). Outside any repository the
//! copies compiled into cruddur are used, and said to be.

use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::sql;

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Origin {
    /// The app's database folder.
    App,
    /// A path the user named (`--file`, `--migrations-dir`).
    Flag,
    /// The copy compiled into cruddur (the app's week-5 files).
    BuiltIn,
}

/// A SQL file to run, whatever its origin. `name` is how messages name it: a path relative
/// to the current folder, or `built-in sql/schema.sql`; errors add `:line:column`.
#[derive(Debug, Clone)]
pub(crate) struct SqlSource {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) origin: Origin,
}

/// The app's database folder, as found.
#[derive(Debug, Clone)]
pub(crate) struct AppDir {
    /// Absolute.
    pub(crate) path: PathBuf,
    /// Relative to the current folder, as the user would type it (`backend-flask/db`).
    pub(crate) shown: String,
    /// How it was found: `--app-dir (or CRUDDUR_APP_DIR)`, or `found walking up from …`.
    pub(crate) how: String,
}

/// The app's files as this run sees them: a database folder, or none (the built-in copies).
#[derive(Debug, Clone)]
pub(crate) struct App {
    cwd: PathBuf,
    pub(crate) dir: Option<AppDir>,
    /// The folder was named by an absolute path: its files are shown absolute too.
    absolute: bool,
}

/// A named query: `activities/show` is `sql/activities/show.sql`.
#[derive(Debug, Clone)]
pub(crate) struct NamedQuery {
    pub(crate) name: String,
    pub(crate) source: SqlSource,
}

/// A named query made ready to run: one statement with `$n` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreparedQuery {
    /// The statement with `%(name)s` turned into `$1, $2, …`.
    pub(crate) statement: String,
    /// The parameters, in `$n` order.
    pub(crate) params: Vec<String>,
    /// Whether it may change data (anything but SELECT, WITH … SELECT, VALUES, TABLE, SHOW).
    pub(crate) writes: bool,
}

const SCHEMA_FILE: &str = "schema.sql";
const SEED_FILE: &str = "seed.sql";
const QUERIES_DIR: &str = "sql";
const MIGRATIONS_DIR: &str = "migrations";
/// How deep `sql/` is searched (guards against a symlink loop).
const MAX_DEPTH: usize = 8;

impl App {
    /// Find the app's database folder: `explicit` (`--app-dir` / `CRUDDUR_APP_DIR`) when given,
    /// else the first `backend-flask/db`, or `db` holding `schema.sql` or `migrations/`, in the
    /// current folder or above it; else none.
    pub(crate) fn resolve(explicit: Option<&Path>) -> Result<App> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        App::resolve_from(&cwd, explicit)
    }

    pub(crate) fn resolve_from(cwd: &Path, explicit: Option<&Path>) -> Result<App> {
        let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        let absolute = explicit.is_some_and(Path::is_absolute);
        let dir = match explicit {
            Some(path) => Some(explicit_dir(&cwd, path)?),
            None => cwd.ancestors().find_map(|at| {
                let found = candidate(at)?;
                Some(AppDir {
                    shown: relative(&cwd, &found),
                    path: found,
                    how: format!("found walking up from {}", cwd.display()),
                })
            }),
        };
        Ok(App { cwd, dir, absolute })
    }

    /// One line for `-v` and `doctor`: which folder, and how it was found.
    pub(crate) fn describe(&self) -> String {
        match &self.dir {
            Some(dir) => format!("{} ({})", dir.shown, dir.how),
            None => format!(
                "none found (no backend-flask/db, or db/ with schema.sql, in {} or above it): \
                 the built-in files are used",
                self.cwd.display()
            ),
        }
    }

    /// A file of the app folder as the user would type it: relative to where they stand, or
    /// absolute when they named the folder by an absolute path.
    pub(crate) fn shown(&self, path: &Path) -> String {
        if self.absolute {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            return path.display().to_string();
        }
        relative(&self.cwd, path)
    }

    /// The schema: `--file` when given, else the app's `schema.sql`, else the built-in one.
    pub(crate) fn schema(&self, file: Option<&Path>) -> Result<SqlSource> {
        self.sql_file(file, SCHEMA_FILE, sql::SCHEMA)
    }

    /// The seed: `--file` when given, else the app's `seed.sql`, else the built-in one.
    pub(crate) fn seed(&self, file: Option<&Path>) -> Result<SqlSource> {
        self.sql_file(file, SEED_FILE, sql::SEED)
    }

    fn sql_file(&self, file: Option<&Path>, which: &str, builtin: &str) -> Result<SqlSource> {
        if let Some(path) = file {
            // A path the user typed is shown as they typed it.
            return Ok(SqlSource {
                name: path.display().to_string(),
                text: read_text(path)
                    .with_context(|| format!("--file {}: cannot read the file", path.display()))?,
                origin: Origin::Flag,
            });
        }
        let Some(dir) = &self.dir else {
            return Ok(SqlSource {
                name: format!("built-in sql/{which}"),
                text: builtin.to_string(),
                origin: Origin::BuiltIn,
            });
        };
        let path = dir.path.join(which);
        let name = self.shown(&path);
        if !path.exists() {
            bail!(
                "{name} is missing: the app's database folder {} ({}) has no {which}. \
                 Pass --file PATH, or --app-dir (CRUDDUR_APP_DIR) to name another folder",
                dir.shown,
                dir.how
            );
        }
        let text = read_text(&path).with_context(|| format!("cannot read {name}"))?;
        Ok(SqlSource {
            name,
            text,
            origin: Origin::App,
        })
    }

    /// The migrations folder: `flag` (`--migrations-dir`) when given, else the app folder's
    /// `migrations/` when it has one; with its words for `-v`.
    pub(crate) fn migrations(&self, flag: Option<&Path>) -> Result<Option<(PathBuf, String)>> {
        if let Some(path) = flag {
            if !path.is_dir() {
                bail!(
                    "--migrations-dir (or CRUDDUR_MIGRATIONS_DIR) {} is not a folder",
                    path.display()
                );
            }
            return Ok(Some((
                path.to_path_buf(),
                format!(
                    "{} (--migrations-dir or CRUDDUR_MIGRATIONS_DIR)",
                    path.display()
                ),
            )));
        }
        Ok(self.dir.as_ref().and_then(|dir| {
            let path = dir.path.join(MIGRATIONS_DIR);
            path.is_dir().then(|| {
                let words = format!("{} (in the app folder, {})", self.shown(&path), dir.how);
                (path, words)
            })
        }))
    }

    /// Where the migrations were looked for, for an error when there are none.
    pub(crate) fn migrations_missing(&self) -> String {
        match &self.dir {
            Some(dir) => format!(
                "the app folder {} ({}) has no migrations/ folder",
                dir.shown, dir.how
            ),
            None => format!(
                "no app folder (backend-flask/db, or db/ with schema.sql or migrations/) in {} or above it",
                self.cwd.display()
            ),
        }
    }

    /// Every named query: each `*.sql` under the app's `sql/`, at any depth, by name; the
    /// built-in ones outside an app. An unreadable file is an error naming it.
    pub(crate) fn queries(&self) -> Result<Vec<NamedQuery>> {
        let Some(dir) = &self.dir else {
            return Ok(sql::QUERIES
                .iter()
                .map(|(name, text)| NamedQuery {
                    name: name.to_string(),
                    source: SqlSource {
                        name: format!("built-in sql/{name}.sql"),
                        text: text.to_string(),
                        origin: Origin::BuiltIn,
                    },
                })
                .collect());
        };
        let root = dir.path.join(QUERIES_DIR);
        let mut files = Vec::new();
        if root.is_dir() {
            collect_sql(&root, 0, &mut Vec::new(), &mut files)?;
        }
        let mut queries = files
            .into_iter()
            .map(|path| {
                let name = query_name(&root, &path);
                let shown = self.shown(&path);
                let text = read_text(&path).with_context(|| format!("cannot read {shown}"))?;
                Ok(NamedQuery {
                    name,
                    source: SqlSource {
                        name: shown,
                        text,
                        origin: Origin::App,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        queries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(queries)
    }

    /// Where the queries come from, for messages.
    pub(crate) fn queries_folder(&self) -> String {
        match &self.dir {
            Some(dir) => self.shown(&dir.path.join(QUERIES_DIR)),
            None => "built-in sql/".into(),
        }
    }
}

impl NamedQuery {
    /// The description: the file's leading `--` comment lines, joined.
    pub(crate) fn description(&self) -> String {
        let mut words = Vec::new();
        for line in self.source.text.lines() {
            let line = line.trim();
            if line.is_empty() && words.is_empty() {
                continue;
            }
            match line.strip_prefix("--") {
                Some(comment) => words.push(comment.trim().to_string()),
                None => break,
            }
        }
        words.retain(|w| !w.is_empty());
        words.join(" ")
    }

    /// One statement with numbered parameters, or an error naming the file, line and column.
    pub(crate) fn prepare(&self) -> Result<PreparedQuery> {
        let text = &self.source.text;
        let at = |offset: usize, message: &str| {
            let (line, column) = sql::line_col(text, offset);
            anyhow!("{}:{line}:{column}: {message}", self.source.name)
        };
        let statements = sql::split(text).map_err(|e| at(e.offset, &e.message))?;
        let statement = match statements.as_slice() {
            [one] => one,
            [] => return Err(at(0, "holds no SQL statement")),
            [_, second, ..] => {
                return Err(at(
                    second.start,
                    "a second statement: a named query holds exactly one (as the app runs it)",
                ))
            }
        };
        let (rewritten, params) = sql::placeholders(statement.text)
            .map_err(|e| at(statement.start + e.offset, &e.message))?;
        let writes = match sql::first_keyword(&rewritten).as_str() {
            "WITH" => writes_in_with(&rewritten),
            "SELECT" | "VALUES" | "TABLE" | "SHOW" => false,
            _ => true,
        };
        Ok(PreparedQuery {
            statement: rewritten,
            params,
            writes,
        })
    }
}

/// A `WITH` that holds an INSERT, UPDATE or DELETE writes.
fn writes_in_with(statement: &str) -> bool {
    ["INSERT", "UPDATE", "DELETE", "MERGE"]
        .iter()
        .any(|word| sql::has_keyword(statement, word))
}

/// The app folder under `at`, if there is one: `backend-flask/db`, or `db` that holds
/// `schema.sql` or `migrations/` (a bare `db/` folder may be anything).
fn candidate(at: &Path) -> Option<PathBuf> {
    let flask = at.join("backend-flask").join("db");
    if flask.is_dir() {
        return Some(flask);
    }
    let db = at.join("db");
    looks_like_db(&db).then_some(db)
}

fn looks_like_db(dir: &Path) -> bool {
    dir.join(SCHEMA_FILE).is_file() || dir.join(MIGRATIONS_DIR).is_dir()
}

/// `--app-dir PATH`: the database folder itself, or a repository (or `backend-flask/`) that
/// holds one.
fn explicit_dir(cwd: &Path, path: &Path) -> Result<AppDir> {
    let how = "--app-dir (or CRUDDUR_APP_DIR)".to_string();
    let absolute = cwd.join(path);
    if !absolute.is_dir() {
        bail!(
            "--app-dir (or CRUDDUR_APP_DIR) {} is not a folder: name the app's repository or its backend-flask/db folder",
            path.display()
        );
    }
    let absolute = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    let found = if looks_like_db(&absolute) || absolute.join(QUERIES_DIR).is_dir() {
        Some(absolute.clone())
    } else {
        [
            absolute.join("backend-flask").join("db"),
            absolute.join("db"),
        ]
        .into_iter()
        .find(|dir| looks_like_db(dir))
    };
    let absolute_given = path.is_absolute();
    let found = found.ok_or_else(|| {
        anyhow!(
            "--app-dir (or CRUDDUR_APP_DIR) {}: no schema.sql, sql/ or migrations/ there, and no \
             backend-flask/db or db/ holding them: name the app's repository or its backend-flask/db folder",
            path.display()
        )
    })?;
    Ok(AppDir {
        shown: if absolute_given {
            found.display().to_string()
        } else {
            relative(cwd, &found)
        },
        path: found,
        how,
    })
}

/// Every `*.sql` file under `dir`, depth first; a folder seen before (a symlink back up the
/// tree) is read once.
fn collect_sql(
    dir: &Path,
    depth: usize,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if depth > MAX_DEPTH || seen.contains(&real) {
        return Ok(());
    }
    seen.push(real);
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the folder {}", dir.display()))?
            .path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_sql(&path, depth + 1, seen, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// `…/sql/activities/show.sql` → `activities/show`.
fn query_name(root: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(root).unwrap_or(path).with_extension("");
    inside
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A file as text; a file that is not UTF-8 is named as such.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "it is not UTF-8 text (a bad byte at offset {}): save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// `to` as seen from `from` (both absolute): `backend-flask/db/seed.sql`, `../other/db`, `.`.
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let to = if to.is_absolute() {
        to.to_path_buf()
    } else {
        from.join(to)
    };
    let to = std::fs::canonicalize(&to).unwrap_or(to);
    let from: Vec<Component> = from.components().collect();
    let parts: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&parts).take_while(|(a, b)| a == b).count();
    // Nothing in common but the root: the absolute path reads better than a row of `..`.
    if common <= 1 && from.len() > 1 {
        return to.display().to_string();
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &parts[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        ".".into()
    } else {
        out.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> NamedQuery {
        NamedQuery {
            name: "users/show".into(),
            source: SqlSource {
                name: "backend-flask/db/sql/users/show.sql".into(),
                text: text.into(),
                origin: Origin::App,
            },
        }
    }

    #[test]
    fn paths_read_from_where_the_user_stands() {
        let root = Path::new("/repo");
        assert_eq!(
            relative(root, Path::new("/repo/backend-flask/db/seed.sql")),
            "backend-flask/db/seed.sql"
        );
        assert_eq!(
            relative(
                Path::new("/repo/frontend/src"),
                Path::new("/repo/backend-flask/db")
            ),
            "../../backend-flask/db"
        );
        assert_eq!(relative(root, Path::new("/repo")), ".");
        assert_eq!(
            relative(Path::new("/home/me"), Path::new("/srv/app/db")),
            "/srv/app/db"
        );
    }

    #[test]
    fn descriptions_come_from_the_leading_comment() {
        let q = query("\n-- One user's profile\n-- and their activities.\nSELECT 1 -- not this\n");
        assert_eq!(q.description(), "One user's profile and their activities.");
        assert_eq!(query("SELECT 1").description(), "");
    }

    #[test]
    fn a_query_prepares_or_names_its_line() {
        let ok = query("-- x\nUPDATE public.users SET bio = %(bio)s\nWHERE handle = %(handle)s\nRETURNING handle;\n")
            .prepare()
            .unwrap();
        assert_eq!(ok.params, ["bio", "handle"]);
        assert!(ok.writes);
        assert!(ok.statement.contains("bio = $1"));

        let read = query("WITH a AS (SELECT 1) SELECT * FROM a")
            .prepare()
            .unwrap();
        assert!(!read.writes);
        let cte_write = query("WITH a AS (DELETE FROM t RETURNING 1) SELECT * FROM a")
            .prepare()
            .unwrap();
        assert!(cte_write.writes);

        let err = query("SELECT 1;\nSELECT 2;\n")
            .prepare()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("backend-flask/db/sql/users/show.sql:2:1: a second statement"),
            "{err}"
        );
        let err = query("SELECT *\nFROM users\nWHERE handle = %(handle\n")
            .prepare()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("backend-flask/db/sql/users/show.sql:3:16:"),
            "{err}"
        );
        let err = query("SELECT 'it''s").prepare().unwrap_err().to_string();
        assert!(err.contains(":1:8: unterminated string"), "{err}");
        let err = query("-- nothing\n").prepare().unwrap_err().to_string();
        assert!(err.contains("holds no SQL statement"), "{err}");
    }

    #[test]
    fn the_folder_is_found_from_deep_inside_and_named_explicitly() {
        let repo = tempfile::tempdir().unwrap();
        let db = repo.path().join("backend-flask/db");
        std::fs::create_dir_all(db.join("sql/users")).unwrap();
        std::fs::write(db.join("schema.sql"), "CREATE TABLE x (a int);").unwrap();
        std::fs::write(db.join("sql/users/show.sql"), "SELECT 1").unwrap();
        let deep = repo.path().join("frontend-react-js/src/components");
        std::fs::create_dir_all(&deep).unwrap();

        let app = App::resolve_from(&deep, None).unwrap();
        let dir = app.dir.as_ref().unwrap();
        assert_eq!(dir.shown, "../../../backend-flask/db");
        assert_eq!(app.schema(None).unwrap().origin, Origin::App);
        let err = app.seed(None).unwrap_err().to_string();
        assert!(
            err.contains("../../../backend-flask/db/seed.sql is missing"),
            "{err}"
        );
        let queries = app.queries().unwrap();
        assert_eq!(queries.len(), 1);
        assert_eq!(queries[0].name, "users/show");

        for named in [
            repo.path().to_path_buf(),
            repo.path().join("backend-flask"),
            db.clone(),
        ] {
            let app = App::resolve_from(&deep, Some(&named)).unwrap();
            assert_eq!(app.dir.unwrap().path, std::fs::canonicalize(&db).unwrap());
        }
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(App::resolve_from(&deep, Some(elsewhere.path())).is_err());
        let none = App::resolve_from(elsewhere.path(), None).unwrap();
        assert!(none.dir.is_none());
        assert_eq!(none.schema(None).unwrap().origin, Origin::BuiltIn);
        assert_eq!(none.queries().unwrap().len(), sql::QUERIES.len());
    }
}
