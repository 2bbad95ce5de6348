//! Runs the built `cruddur` with a cleared environment, in a scratch folder, and gives each
//! test its own database. Every run also checks that the server's password never appears in
//! anything the binary printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, Config, NoTls};

const START: &str =
    "run the tests with `scripts/test`, which starts a throwaway PostgreSQL and a moto server";

/// The admin URL of the test server (database `postgres`), from scripts/test.
pub fn admin_url() -> String {
    std::env::var("CRUDDUR_TEST_PG_URL")
        .unwrap_or_else(|_| panic!("CRUDDUR_TEST_PG_URL is not set: {START}"))
}

fn admin_config() -> Config {
    admin_url()
        .parse()
        .expect("CRUDDUR_TEST_PG_URL is not a Postgres URL")
}

/// The test server's password: it must never show up in any output.
pub fn password() -> String {
    String::from_utf8(
        admin_config()
            .get_password()
            .expect("the test URL has a password")
            .to_vec(),
    )
    .unwrap()
}

pub fn admin() -> Client {
    admin_config().connect(NoTls).unwrap_or_else(|e| {
        panic!("cannot reach the test Postgres at CRUDDUR_TEST_PG_URL ({e}): {START}")
    })
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database name of this test's own; dropped (with its sessions) when the value goes.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// A unique name; the database does not exist yet.
    pub fn new(tag: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{tag}_{}_{n}", std::process::id());
        admin()
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .unwrap();
        TestDb { name }
    }

    /// A unique database, created empty.
    pub fn created(tag: &str) -> TestDb {
        let db = TestDb::new(tag);
        admin()
            .batch_execute(&format!("CREATE DATABASE \"{}\"", db.name))
            .unwrap();
        db
    }

    /// A unique database with the built-in schema and seed, through `cruddur db setup`.
    pub fn set_up(tag: &str) -> TestDb {
        let db = TestDb::new(tag);
        cruddur(&["db", "setup"]).db(&db).run();
        db
    }

    pub fn url(&self) -> String {
        let admin = admin_url();
        let base = admin
            .strip_suffix("/postgres")
            .expect("the test URL ends in /postgres");
        format!("{base}/{}", self.name)
    }

    pub fn client(&self) -> Client {
        self.client_named("cruddur-test")
    }

    /// A session with this application_name, as the app or a psql would hold one.
    pub fn client_named(&self, app: &str) -> Client {
        let mut config = admin_config();
        config.dbname(&self.name).application_name(app);
        config.connect(NoTls).unwrap()
    }

    pub fn exists(&self) -> bool {
        admin()
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.name],
            )
            .unwrap()
            .is_some()
    }

    pub fn count(&self, table: &str) -> i64 {
        self.client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    }

    /// The app's migration marker (`schema_information.last_successful_run`).
    pub fn marker(&self) -> String {
        self.client()
            .query_one(
                "SELECT last_successful_run FROM public.schema_information WHERE id = 1",
                &[],
            )
            .unwrap()
            .get(0)
    }

    pub fn table_exists(&self, table: &str) -> bool {
        self.client()
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .unwrap()
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = admin_config().connect(NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A scratch folder, removed when the value goes.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// One case: the command, what it is given, and what it must do, all declared before
/// [`Run::run`] runs it and checks everything at once. The exit code expected is 0 unless
/// `.code(n)` says otherwise. A case never run is a warning (`#[must_use]`), and a failed
/// expectation points at the test's line (`#[track_caller]`), printing the whole run.
#[must_use = "a case checks nothing until `.run()`"]
pub struct Run {
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
pub fn cruddur(args: &[&str]) -> Run {
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
}

impl Run {
    /// The exit code this case must end with (default 0).
    pub fn code(mut self, expected: i32) -> Run {
        self.expected.code = Some(expected);
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Run {
        self.expected.stdout_has.push(text.to_string());
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Run {
        self.expected.stderr_has.push(text.to_string());
        self
    }

    pub fn stderr_lacks(mut self, text: &str) -> Run {
        self.expected.stderr_lacks.push(text.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.command.env(key, value);
        self
    }

    /// The whole local stack of a test: its database and its table (the ground of most
    /// `ddb` tests: `ground()` / `seeded()`).
    pub fn stack(self, db: &TestDb, table: &TestTable) -> Run {
        self.db(db).table(table)
    }

    /// Point CONNECTION_URL at this test's database.
    pub fn db(self, db: &TestDb) -> Run {
        let url = db.url();
        self.env("CONNECTION_URL", url)
    }

    pub fn dir(mut self, dir: &Path) -> Run {
        self.command.current_dir(dir);
        self
    }

    pub fn stdin(mut self, text: &str) -> Run {
        self.stdin = Some(text.to_string());
        self
    }

    /// Ctrl-C this long after the start.
    pub fn interrupt_after(self, delay: std::time::Duration) -> Run {
        self.signal_after("INT", delay)
    }

    /// Send `signal` (`INT`, `TERM`, `HUP`) this long after the start.
    pub fn signal_after(mut self, signal: &'static str, delay: std::time::Duration) -> Run {
        self.signal = Some((signal, delay));
        self
    }

    pub fn in_terminal(mut self) -> Run {
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
    pub fn run(mut self) -> Done {
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
        let secret = password();
        assert!(
            !done.stdout.contains(&secret) && !done.stderr.contains(&secret),
            "the password was printed by `cruddur {}`\n{done}",
            done.args
        );
        let expected = &self.expected;
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
        done
    }
}

/// A finished run: its exit code and what it printed (every expectation already held).
pub struct Done {
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
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not the expected JSON ({e})\n{self}"),
        }
    }
}

/// Write a file into `dir` and return its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The moto server of scripts/test.
pub fn moto_url() -> String {
    std::env::var("CRUDDUR_TEST_MOTO_URL")
        .unwrap_or_else(|_| panic!("CRUDDUR_TEST_MOTO_URL is not set: {START}"))
}

/// The DynamoDB endpoint the tests use: `CRUDDUR_TEST_DDB_URL` when set (`scripts/test
/// --also-moto` sets it to moto for a second pass), else dynoxide, started once in this
/// process on a free loopback port, in memory.
pub fn ddb_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| match std::env::var("CRUDDUR_TEST_DDB_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_dynoxide(),
    })
    .clone()
}

/// Which emulator serves DynamoDB: `dynoxide` (in-process) or what CRUDDUR_TEST_DDB names.
/// Only assertions about AWS's own limits depend on it; everything cruddur does is checked on
/// both.
pub fn strict_ddb() -> bool {
    std::env::var("CRUDDUR_TEST_DDB_URL").map_or(true, |url| url.is_empty())
}

fn start_dynoxide() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("no free loopback port");
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot start dynoxide's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let db = dynoxide::Database::memory().expect("dynoxide cannot open its database");
            dynoxide::server::serve_on(listener, db).await;
        });
    });
    url
}

/// A table name of this test's own, and a client to look inside the emulator with.
pub struct TestTable {
    pub name: String,
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
    pub client: aws_sdk_dynamodb::Client,
}

impl TestTable {
    pub fn new(tag: &str) -> TestTable {
        TestTable::at(tag, &ddb_url())
    }

    /// A table reached through another endpoint (a fault-injecting proxy); inspected directly.
    pub fn at(tag: &str, endpoint: &str) -> TestTable {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(ddb_url())
            .http_client(cruddur::aws::http_client().unwrap())
            .build();
        TestTable {
            name: format!("t-{tag}-{}-{n}", std::process::id()),
            endpoint: endpoint.to_string(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: aws_sdk_dynamodb::Client::from_conf(config),
        }
    }

    /// Write one item straight into the table, as the app (or another tool) would.
    pub fn put(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) {
        self.block_on(
            self.client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item))
                .send(),
        )
        .unwrap_or_else(|e| panic!("PutItem into the test table failed: {e:?}"));
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Every item, as plain strings (the table holds only strings).
    pub fn items(&self) -> Vec<std::collections::HashMap<String, String>> {
        self.raw_items()
            .into_iter()
            .map(|item| {
                item.into_iter()
                    .map(|(k, v)| {
                        let text = v.as_s().cloned().unwrap_or_else(|_| format!("{v:?}"));
                        (k, text)
                    })
                    .collect()
            })
            .collect()
    }
}

impl Drop for TestTable {
    fn drop(&mut self) {
        let _ = self.block_on(self.client.delete_table().table_name(&self.name).send());
    }
}

impl Run {
    /// Point `ddb` commands at this test's table (local mode, no credentials at all).
    pub fn table(self, table: &TestTable) -> Run {
        let endpoint = table.endpoint.clone();
        // DynamoDB's own variable: AWS_ENDPOINT_URL stays free for Cognito and EC2 (moto).
        self.env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("DDB_MESSAGE_TABLE", &table.name)
    }
}

/// The built-in conversation's messages, as the fixture file has them.
pub fn fixture_lines() -> Vec<(u8, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conversation.txt"
    ))
    .unwrap();
    text.lines()
        .filter_map(|line| {
            let (who, rest) = line.split_once(": ")?;
            let person = who.strip_prefix("Person ")?.parse().ok()?;
            Some((person, rest.trim().to_string()))
        })
        .collect()
}

impl Run {
    /// The AWS SDK's default chain, pointed at moto: what a developer with an emulator sets.
    pub fn aws(self) -> Run {
        self.env("AWS_ENDPOINT_URL", moto_url()).aws_credentials()
    }

    /// Credentials and a region, as a `--prod` user has them (the endpoint is up to the test).
    pub fn aws_credentials(self) -> Run {
        self.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
    }
}

/// An SDK configuration for moto, to arrange and inspect what the tests need there.
pub fn moto_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"),
        ))
        .endpoint_url(moto_url())
        .http_client(cruddur::aws::http_client().unwrap())
        .build()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A one-page web server on loopback that answers every GET with `body`, for `count` requests.
pub fn http_stub(body: &'static str, count: usize) -> String {
    http_stub_answering("200 OK", body, count)
}

/// The same, answering with this status line (`400 Bad Request`).
pub fn http_stub_answering(status: &'static str, body: &'static str, count: usize) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

impl TestTable {
    /// Every item with its DynamoDB types, sorted by key: for comparing tables exactly.
    pub fn raw_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .block_on(
                    self.client
                        .scan()
                        .table_name(&self.name)
                        .set_exclusive_start_key(start.take())
                        .send(),
                )
                .expect("scan of the test table failed");
            all.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(last) => start = Some(last.clone()),
                None => break,
            }
        }
        let key =
            |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
                let get = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                (get("pk"), get("sk"))
            };
        all.sort_by_key(key);
        all
    }
}

/// A database with the seed users and a table with its schema, reached through `endpoint`:
/// the ground every seed stands on.
pub fn ground_at(tag: &str, endpoint: &str) -> (TestDb, TestTable) {
    let db = TestDb::set_up(tag);
    let table = TestTable::at(tag, endpoint);
    cruddur(&["ddb", "schema-load"]).table(&table).run();
    (db, table)
}

pub fn ground(tag: &str) -> (TestDb, TestTable) {
    ground_at(tag, &ddb_url())
}

/// The ground, with the seed conversation written into the table.
pub fn seeded(tag: &str) -> (TestDb, TestTable) {
    let (db, table) = ground(tag);
    cruddur(&["ddb", "seed"]).stack(&db, &table).run();
    (db, table)
}

/// `cruddur ddb patterns send-message` between two handles of the seed.
pub fn send_message(from: &str, to: &str, message: &str) -> Run {
    cruddur(&[
        "ddb",
        "patterns",
        "send-message",
        "--from",
        from,
        "--to",
        to,
        "--message",
        message,
    ])
}

/// Every leaf of clap's own command tree, as its path (`["ddb", "patterns", "scan"]`): tests
/// that must cover every command walk this, so a new one cannot slip by.
pub fn leaves() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let children: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .collect();
        if children.is_empty() {
            out.push(path);
            return;
        }
        for child in children {
            let mut next = path.clone();
            next.push(child.get_name().to_string());
            walk(child, next, out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<cruddur::cli::Cli as clap::CommandFactory>::command(),
        Vec::new(),
        &mut out,
    );
    out
}

/// A conversation of `lines` messages in the fixture format, written into `dir`.
pub fn long_conversation(dir: &Path, lines: usize) -> PathBuf {
    let text: String = (0..lines)
        .map(|i| format!("Person {}: message {i}\n", i % 2 + 1))
        .collect();
    write(dir, "long.txt", &text)
}
