//! Running the built binary as a spec: a case declares what it is given and what it must do
//! ([`Run`]), then `.run()` checks everything at once and hands back what it printed ([`Done`]).
//! Every run also checks that the server's password never appears in its output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::dynamodb::TestTable;
use super::postgres::{password, TestDb};

/// A scratch folder, removed when the value goes.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// One case: the command, what it is given, and what it must do, all declared before
/// [`Run::run`] runs it and checks everything at once. The exit code expected is 0 unless
/// `.code(n)` says otherwise. A case never run is a warning (`#[must_use]`), and a failed
/// expectation points at the test's line (`#[track_caller]`), printing the whole run.
#[must_use = "a case checks nothing until `.run()`"]
pub(crate) struct Run {
    command: Command,
    expected: Expected,
    stdin: Option<String>,
    args: Vec<String>,
    /// Send this signal (`INT`, `TERM`, `HUP`) this long after the start.
    signal: Option<(&'static str, std::time::Duration)>,
    /// Run under a pseudo-terminal (`script`), as a person would.
    terminal: bool,
    _home: tempfile::TempDir,
}

/// `cruddur ARGS…` with nothing from the test's environment but PATH; HOME and the working
/// folder are empty scratch folders, so no real AWS profile, `.env` or credential leaks in.
pub(crate) fn cruddur(args: &[&str]) -> Run {
    let home = scratch();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cruddur"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .current_dir(home.path());
    Run {
        command,
        expected: Expected::default(),
        stdin: None,
        args: args.iter().map(|a| a.to_string()).collect(),
        signal: None,
        terminal: false,
        _home: home,
    }
}

/// What a case must do.
#[derive(Default)]
struct Expected {
    /// None: 0.
    code: Option<i32>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    stderr_lacks: Vec<String>,
    /// The whole of stdout / stderr, when the output is stable enough to pin.
    stdout_is: Option<String>,
    stderr_is: Option<String>,
}

impl Run {
    /// The exit code this case must end with (default 0).
    pub(crate) fn code(mut self, expected: i32) -> Run {
        self.expected.code = Some(expected);
        self
    }

    pub(crate) fn stdout_has(mut self, text: &str) -> Run {
        self.expected.stdout_has.push(text.to_string());
        self
    }

    pub(crate) fn stderr_has(mut self, text: &str) -> Run {
        self.expected.stderr_has.push(text.to_string());
        self
    }

    /// stdout must be exactly this, whole (a plan, a report, `--help`); a marker (`⟪n⟫`,
    /// `⟪uuid⟫`, `⟪time⟫`, `⟪…⟫`: see `whole.rs`) stands for what varies from run to run.
    pub(crate) fn stdout_is(mut self, text: &str) -> Run {
        self.expected.stdout_is = Some(text.to_string());
        self
    }

    /// stderr must be exactly this, whole (a refusal, an error), markers as for stdout.
    pub(crate) fn stderr_is(mut self, text: &str) -> Run {
        self.expected.stderr_is = Some(text.to_string());
        self
    }

    pub(crate) fn stderr_lacks(mut self, text: &str) -> Run {
        self.expected.stderr_lacks.push(text.to_string());
        self
    }

    /// One more argument, after those the case was made with.
    pub(crate) fn arg(mut self, arg: &str) -> Run {
        self.command.arg(arg);
        self.args.push(arg.to_string());
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.command.env(key, value);
        self
    }

    /// The whole local stack of a test: its database and its table (the ground of most
    /// `ddb` tests: `ground()` / `seeded()`).
    pub(crate) fn stack(self, db: &TestDb, table: &TestTable) -> Run {
        self.db(db).table(table)
    }

    /// Point CONNECTION_URL at this test's database.
    pub(crate) fn db(self, db: &TestDb) -> Run {
        let url = db.url();
        self.env("CONNECTION_URL", url)
    }

    pub(crate) fn dir(mut self, dir: &Path) -> Run {
        self.command.current_dir(dir);
        self
    }

    pub(crate) fn stdin(mut self, text: &str) -> Run {
        self.stdin = Some(text.to_string());
        self
    }

    /// Ctrl-C this long after the start.
    pub(crate) fn interrupt_after(self, delay: std::time::Duration) -> Run {
        self.signal_after("INT", delay)
    }

    /// Send `signal` (`INT`, `TERM`, `HUP`) this long after the start.
    pub(crate) fn signal_after(mut self, signal: &'static str, delay: std::time::Duration) -> Run {
        self.signal = Some((signal, delay));
        self
    }

    pub(crate) fn in_terminal(mut self) -> Run {
        self.terminal = true;
        self
    }

    /// The same command under `script`, which gives it a pseudo-terminal.
    fn under_script(&self) -> Command {
        let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
        let line = std::iter::once(env!("CARGO_BIN_EXE_cruddur").to_string())
            .chain(self.args.iter().cloned())
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ");
        // A wide terminal: a pseudo-terminal starts with no size (0 columns).
        let line = format!("stty cols 250 rows 50 2>/dev/null; exec {line}");
        let mut command = Command::new("script");
        // A terminal says what it is: without TERM it counts as dumb (no progress bars).
        command
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("TERM", "xterm");
        for (key, value) in self.command.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        if let Some(dir) = self.command.get_current_dir() {
            command.current_dir(dir);
        }
        command
    }

    /// Run the case and check every expectation; the run, for what is left to look at.
    #[track_caller]
    pub(crate) fn run(mut self) -> Done {
        if self.terminal {
            self.command = self.under_script();
        }
        self.command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .expect("cannot start the cruddur binary");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(text) = &self.stdin {
            // The binary may exit without reading (a refusal): a closed pipe is fine here.
            let _ = stdin.write_all(text.as_bytes());
        }
        drop(stdin);
        if let Some((signal, delay)) = self.signal {
            std::thread::sleep(delay);
            let status = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "could not send SIG{signal}");
        }
        // A watchdog: no test may hang on the binary, whatever it does.
        let pid = child.id();
        let (finished, watch) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if watch
                .recv_timeout(std::time::Duration::from_secs(120))
                .is_err()
            {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        let output = child.wait_with_output().unwrap();
        let _ = finished.send(());
        let done = Done {
            args: self.args.join(" "),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.expected.check(done)
    }

    /// Start a command that runs until it is stopped (`ddb serve`), in the background, its
    /// output going to files; [`Running::stop`] ends it and checks every expectation.
    pub(crate) fn start(mut self) -> Running {
        let output = scratch();
        let (out, err) = (output.path().join("stdout"), output.path().join("stderr"));
        self.command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        let child = self
            .command
            .spawn()
            .expect("cannot start the cruddur binary");
        Running {
            child,
            run: self,
            out,
            err,
            _output: output,
        }
    }
}

/// A command running in the background (see [`Run::start`]); killed if a test panics first.
pub(crate) struct Running {
    child: std::process::Child,
    run: Run,
    out: PathBuf,
    err: PathBuf,
    _output: tempfile::TempDir,
}

impl Running {
    /// What it has printed on stderr so far.
    pub(crate) fn stderr_now(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Wait (up to 60 s) until stderr says `text`; a process that ends first, or never says
    /// it, fails the test with what it printed.
    #[track_caller]
    pub(crate) fn wait_for(&mut self, text: &str) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < until {
            if self.stderr_now().contains(text) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "`cruddur {}` ended ({status}) before saying {text:?}\n--- stderr\n{}",
                    self.run.args.join(" "),
                    self.stderr_now()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "`cruddur {}` never said {text:?}\n--- stderr\n{}",
            self.run.args.join(" "),
            self.stderr_now()
        );
    }

    /// Send `signal` (`TERM`, `INT`), wait for the end (up to 60 s, then it is killed), and
    /// check every expectation of the case.
    #[track_caller]
    pub(crate) fn stop(mut self, signal: &str) -> Done {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "could not send SIG{signal}");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > until {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let done = Done {
            args: self.run.args.join(" "),
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: self.stderr_now(),
        };
        let expected = std::mem::take(&mut self.run.expected);
        expected.check(done)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Expected {
    /// Every expectation against a finished run (and no password anywhere in its output).
    #[track_caller]
    fn check(self, done: Done) -> Done {
        let secret = password();
        assert!(
            !done.stdout.contains(&secret) && !done.stderr.contains(&secret),
            "the password was printed by `cruddur {}`\n{done}",
            done.args
        );
        let expected = &self;
        let code = expected.code.unwrap_or(0);
        assert_eq!(done.code, code, "unexpected exit code\n{done}");
        for text in &expected.stdout_has {
            assert!(done.stdout.contains(text), "stdout lacks {text:?}\n{done}");
        }
        for text in &expected.stderr_has {
            assert!(done.stderr.contains(text), "stderr lacks {text:?}\n{done}");
        }
        for text in &expected.stderr_lacks {
            assert!(!done.stderr.contains(text), "stderr has {text:?}\n{done}");
        }
        if let Some(whole) = &expected.stdout_is {
            assert!(
                super::whole::matches(whole, &done.stdout),
                "stdout is not what it must be, whole:\n--- expected\n{whole}--- got\n{}---\n{done}",
                done.stdout
            );
        }
        if let Some(whole) = &expected.stderr_is {
            assert!(
                super::whole::matches(whole, &done.stderr),
                "stderr is not what it must be, whole:\n--- expected\n{whole}--- got\n{}---\n{done}",
                done.stderr
            );
        }
        done
    }
}

/// A finished run: its exit code and what it printed (every expectation already held).
pub(crate) struct Done {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`cruddur {}` exited {}\n--- stdout\n{}--- stderr\n{}---",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

impl Done {
    /// stdout as the JSON document `T` (a test struct with `deny_unknown_fields`, so a key
    /// added or renamed in a report fails here).
    #[track_caller]
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not the expected JSON ({e})\n{self}"),
        }
    }
}

/// Write a file into `dir` and return its path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
