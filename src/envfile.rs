//! `--env-file PATH`, or `.env` in the current folder: variables loaded before the flags are
//! parsed, so that every `env = "…"` flag sees them. The real environment always wins.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

/// What was loaded, for --verbose.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) path: Option<PathBuf>,
    pub(crate) set: Vec<String>,
    pub(crate) kept: Vec<String>,
}

/// Find `--env-file` in the raw arguments (clap has not run yet) and load that file, or
/// `.env` when there is one. A named file that cannot be read or parsed is an error.
pub(crate) fn load(args: &[OsString]) -> Result<Loaded> {
    match env_file_arg(args) {
        Some(path) => load_file(&path),
        None if Path::new(".env").is_file() => load_file(Path::new(".env")),
        None => Ok(Loaded::default()),
    }
}

fn env_file_arg(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--env-file" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(value) = text.strip_prefix("--env-file=") {
            return Some(PathBuf::from(value));
        }
    }
    None
}

fn load_file(path: &Path) -> Result<Loaded> {
    let items = dotenvy::from_path_iter(path).map_err(|e| describe(path, e))?;
    let mut loaded = Loaded {
        path: Some(path.to_path_buf()),
        ..Loaded::default()
    };
    for item in items {
        let (key, value) = item.map_err(|e| describe(path, e))?;
        if std::env::var_os(&key).is_some() {
            loaded.kept.push(key);
        } else {
            // Single-threaded still: nothing else reads the environment yet.
            std::env::set_var(&key, value);
            loaded.set.push(key);
        }
    }
    Ok(loaded)
}

/// An error naming the file, the line and the key — never a value: a `.env` holds secrets,
/// and the parser's own error carries the rest of the file.
fn describe(path: &Path, error: dotenvy::Error) -> anyhow::Error {
    match error {
        dotenvy::Error::LineParse(rest, index) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let (line, key) = locate(&text, &rest, index);
            anyhow!(
                "--env-file {}:{line}: cannot parse the line{}: write KEY=VALUE lines, quoting \
                 values that hold spaces, quotes or `#` (the value is not shown: it may be secret)",
                path.display(),
                match key {
                    Some(key) => format!(" of `{key}`"),
                    None => String::new(),
                }
            )
        }
        dotenvy::Error::Io(e) => anyhow!(
            "--env-file {}: cannot read the file: {}",
            path.display(),
            e.to_string()
                .split(" (os error")
                .next()
                .unwrap_or("unreadable")
        ),
        _ => anyhow!(
            "--env-file {}: cannot be read as KEY=VALUE lines",
            path.display()
        ),
    }
}

/// The line number of a parse error (the parser gives the text from the bad line on) and the
/// key on that line, when it has a plausible one.
fn locate(text: &str, rest: &str, index: usize) -> (usize, Option<String>) {
    let start = if !rest.is_empty() && text.ends_with(rest) {
        text.len() - rest.len()
    } else {
        text.find(rest).unwrap_or(0)
    };
    // The line the bad entry starts on (an unterminated quote runs on to the end).
    let _ = index;
    let line = text[..start.min(text.len())].matches('\n').count() + 1;
    let first = rest.lines().next().unwrap_or("");
    let first = first
        .trim_start()
        .strip_prefix("export ")
        .unwrap_or(first)
        .trim_start();
    let key = first
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| {
            !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .map(String::from);
    (line, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_the_flag_in_either_form_and_not_after_dashdash() {
        assert_eq!(
            env_file_arg(&args(&["cruddur", "db", "create", "--env-file", "x.env"])),
            Some("x.env".into())
        );
        assert_eq!(
            env_file_arg(&args(&["cruddur", "--env-file=y.env", "db"])),
            Some("y.env".into())
        );
        assert_eq!(
            env_file_arg(&args(&[
                "cruddur",
                "db",
                "connect",
                "--",
                "--env-file",
                "z"
            ])),
            None
        );
        assert_eq!(env_file_arg(&args(&["cruddur", "db"])), None);
    }

    #[test]
    fn a_parse_error_names_the_line_and_key_but_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "A=1\nPROD_CONNECTION_URL=\"postgresql://u:Sekr3t@h/db\nSECRET=Hunter2\n",
        )
        .unwrap();
        let err = load_file(&path).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
        assert!(err.contains("PROD_CONNECTION_URL"), "{err}");
        assert!(!err.contains("Sekr3t") && !err.contains("Hunter2"), "{err}");
    }
}
