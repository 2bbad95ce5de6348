//! `cruddur db new-migration NAME`: a new file in the app's format, `<version>_<name>.py`,
//! where the version is now, as the app's generator writes it (seconds and microseconds,
//! without the decimal point). The SQL strings are empty, to fill in.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::require_folder;
use crate::cli::NewMigrationArgs;
use crate::ctx::Ctx;
use crate::guard::{Destination, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::migrations::{camel, find_folder};
use crate::ops::FileOp;
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, args: &NewMigrationArgs) -> Result<Outcome> {
    let name = snake(&args.name)?;
    // An app folder without migrations yet gets its `migrations/` with the first one.
    let app = ctx.app()?;
    let (folder, shown, create) = match (
        find_folder(app, args.dir.migrations_dir.as_deref())?,
        &app.dir,
    ) {
        (Some(folder), _) => (folder.path, folder.shown, false),
        (None, Some(dir)) => {
            let path = dir.path.join("migrations");
            let shown = app.shown(&path);
            (path, shown, true)
        }
        // Neither: the error that says where it looked.
        (None, None) => {
            let folder = require_folder(ctx, None)?;
            (folder.path, folder.shown, false)
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let version = format!("{}{:06}", now.as_secs(), now.subsec_micros());
    let file_name = format!("{version}_{name}.py");
    let path = folder.join(&file_name);
    let shown = format!("{}/{file_name}", shown.trim_end_matches('/'));
    let class = format!("{}Migration", camel(&name));
    guarded::run(
        ctx,
        Prepared::Write(NewFile {
            folder,
            create,
            shown_folder: app.shown(&folder_of(&path)),
            path,
            shown,
            class,
            version,
        }),
    )
}

fn folder_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The new migration file, and its folder when the app has none yet.
struct NewFile {
    folder: PathBuf,
    /// Create the folder first.
    create: bool,
    shown_folder: String,
    path: PathBuf,
    /// The file as the user would type it.
    shown: String,
    class: String,
    version: String,
}

#[derive(Debug, Serialize)]
struct NewFileReport {
    path: String,
    version: String,
    class: String,
    #[serde(skip)]
    shown: String,
}

impl Report for NewFileReport {}

impl fmt::Display for NewFileReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "wrote {}: fill in migrate_sql and rollback_sql, then `cruddur db migrate`",
            self.shown
        )
    }
}

impl Write for NewFile {
    type Report = NewFileReport;

    fn plan(&self) -> Plan {
        let mut ops = Vec::new();
        if self.create {
            ops.push(
                FileOp::CreateFolder {
                    path: self.shown_folder.clone(),
                }
                .into(),
            );
        }
        ops.push(
            FileOp::WriteMigration {
                path: self.shown.clone(),
                class: self.class.clone(),
                version: self.version.to_string(),
            }
            .into(),
        );
        Plan::new(
            Destination::File {
                path: self.shown.clone(),
            },
            format!("write {}", self.shown),
            ops,
            &self.shown,
        )
    }

    fn execute(self, _: &Ctx) -> Result<NewFileReport> {
        let shown = &self.shown;
        if self.create {
            std::fs::create_dir(&self.folder)
                .with_context(|| format!("cannot create the folder {}", self.shown_folder))?;
        }
        let text = file_text(&self.class);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path)
            .with_context(|| format!("cannot create {shown}"))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .with_context(|| format!("cannot write {shown}"))?;
        Ok(NewFileReport {
            path: self.path.display().to_string(),
            version: self.version,
            class: self.class,
            shown: self.shown,
        })
    }
}

/// The name as the file and class need it: lowercase words joined by `_`.
fn snake(name: &str) -> Result<String> {
    let words: Vec<String> = name
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let joined = words.join("_");
    if joined.is_empty()
        || !joined
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || joined.starts_with(|c: char| c.is_ascii_digit())
    {
        bail!(
            "`{}` is not a migration name: use letters, digits and `_`, starting with a letter (e.g. add_bio_column)",
            crate::text::cut(name, 60)
        );
    }
    Ok(joined)
}

/// The file, in the app's format: a class with the two SQL methods (static, returning the
/// triple-quoted `data`), the two methods that run them through the app's `db.query_commit`,
/// and the module-level `migration` the app's scripts look for.
fn file_text(class: &str) -> String {
    let mut text = String::new();
    text.push_str("from lib.db import db\n\n");
    text.push_str(&format!("class {class}:\n"));
    for (sql, run) in [("migrate_sql", "migrate"), ("rollback_sql", "rollback")] {
        text.push_str(&format!(
            "  @staticmethod\n  def {sql}():\n    data = \"\"\"\n    \"\"\"\n    return data\n\n"
        ));
        text.push_str(&format!(
            "  @staticmethod\n  def {run}():\n    db.query_commit({class}.{sql}(), {{\n    }})\n\n"
        ));
    }
    text.push_str(&format!("migration = {class}\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case() {
        assert_eq!(snake("add bio-column").unwrap(), "add_bio_column");
        assert_eq!(snake("AddBio").unwrap(), "addbio");
        assert!(snake("1st").is_err());
        assert!(snake("drop; rm").is_err());
        assert!(snake("  ").is_err());
    }
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::ctx::Target;
    use crate::ops::{FileOp, Op};

    /// The files a new migration writes are the ones its plan names, and nothing else: its
    /// store is a scratch folder, whose whole content is compared with the plan.
    #[test]
    fn a_new_migration_writes_what_it_planned() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = scratch.path().join("migrations");
        let path = folder.join("1700000000000000_add_bio.py");
        let write = NewFile {
            folder: folder.clone(),
            create: true,
            shown_folder: folder.display().to_string(),
            path: path.clone(),
            shown: path.display().to_string(),
            class: "AddBioMigration".into(),
            version: "1700000000000000".into(),
        };
        let planned: Vec<String> = write
            .plan()
            .ops
            .iter()
            .map(|op| match op {
                Op::File(FileOp::CreateFolder { path }) => path.clone(),
                Op::File(FileOp::WriteMigration { path, .. }) => path.clone(),
                other => panic!("not a file operation: {other}"),
            })
            .collect();
        write.execute(&Ctx::for_tests(Target::Local)).unwrap();
        let mut written = vec![folder.display().to_string()];
        for entry in std::fs::read_dir(&folder).unwrap() {
            written.push(entry.unwrap().path().display().to_string());
        }
        assert_eq!(written, planned);
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 1);
    }
}
