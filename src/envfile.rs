//! `--env-file PATH`, or `.env` in the current folder: variables loaded before the flags are
//! parsed, so that every `env = "…"` flag sees them. The real environment always wins.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

/// What was loaded, for --verbose.
#[derive(Debug, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub set: Vec<String>,
    pub kept: Vec<String>,
}

/// Find `--env-file` in the raw arguments (clap has not run yet) and load that file, or
/// `.env` when there is one. A named file that cannot be read or parsed is an error.
pub fn load(args: &[OsString]) -> Result<Loaded> {
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

fn describe(path: &Path, error: dotenvy::Error) -> anyhow::Error {
    match error {
        dotenvy::Error::LineParse(line, index) => anyhow!(
            "--env-file {}: cannot parse `{}` (at character {}): write KEY=VALUE lines",
            path.display(),
            line.trim_end(),
            index + 1
        ),
        dotenvy::Error::Io(e) => anyhow::Error::new(e).context(format!(
            "--env-file {}: cannot read the file",
            path.display()
        )),
        other => anyhow!("--env-file {}: {other}", path.display()),
    }
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
}
