//! `cruddur ddb serve`: the app's local DynamoDB inside this binary. dynoxide's HTTP server
//! (embedded as a library) on 127.0.0.1:8000 by default, its data in a file of the workspace,
//! the app's table made if missing, production's stream Lambda done in-process on every new
//! message, and expired TTL items removed on a timer, until Ctrl-C or SIGTERM; then requests
//! in flight finish and the data is flushed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use crate::cli::ServeArgs;
use crate::ctx::Ctx;
use crate::ddb::schema_load::{CreateTable, TableOptions};
use crate::dynamodb::local::{inspect, DataFile, Upkeep};
use crate::guard::{Destination, Plan, Scope};
use crate::guarded::{self, Prepared, Report, Service};
use crate::ops::{Op, ServeOp};
use crate::output::Outcome;

/// DynamoDB keeps stream records 24 hours.
const STREAM_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// The app's local DynamoDB is never production's.
const SCOPE: Scope = Scope::LocalOnly {
    command: "ddb serve",
    why: "is the local stack's own DynamoDB and runs on the local stack only; in production \
          the app uses DynamoDB itself, which the other `cruddur --prod ddb …` commands reach",
};

pub(crate) fn run(ctx: &Ctx, args: &ServeArgs) -> Result<Outcome> {
    guarded::in_scope(ctx, SCOPE)?;
    let ip: IpAddr = args.host.parse().map_err(|_| {
        anyhow!(
            "--host `{}` is not an IP address (127.0.0.1, or 0.0.0.0 for every interface)",
            crate::text::cut(&args.host, 60)
        )
    })?;
    let address = SocketAddr::new(ip, args.port);
    let data = match (&args.data, args.in_memory) {
        (_, true) => None,
        (Some(path), false) => Some(path.clone()),
        (None, false) => Some(default_data(ctx)?),
    };
    if let Some(path) = &data {
        match inspect(path)? {
            DataFile::New | DataFile::Current => {}
            DataFile::Older(version) if args.upgrade_data => {
                ctx.warn(format!(
                    "{} (storage {version}) is upgraded in place: an older cruddur cannot open it afterwards",
                    path.display()
                ));
            }
            DataFile::Older(version) => {
                return Err(anyhow!(
                    "{} was written by an older version (storage {version}; this cruddur writes {}): it was \
                     left as it is. Add --upgrade-data to upgrade it in place (an older cruddur cannot open \
                     it afterwards), or pass --data with another path",
                    path.display(),
                    crate::dynamodb::local::SCHEMA_VERSION
                ))
            }
        }
    }
    if !ip.is_loopback() {
        ctx.warn(format!(
            "listening on {address}: no authentication, as with DynamoDB Local. Anyone who can \
             reach this machine on port {} can read and change every table",
            args.port
        ));
    }
    // Its own clients reach it on loopback, whatever interface it listens on.
    let own = if ip.is_unspecified() || ip.is_loopback() {
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), args.port)
    } else {
        address
    };
    let serve = Serve {
        address,
        endpoint: format!("http://{own}"),
        data,
        table: ctx.ddb_settings().table.clone(),
        schema_load: !args.no_schema_load,
        stream_worker: !args.no_stream_worker,
        ttl_interval: args.ttl_interval,
    };
    guarded::serve(ctx, serve)
}

/// The data file's default: `.cruddur/dynamodb.sqlite` at the top of the app's repository
/// (beside `backend-flask/`), else in the current folder.
fn default_data(ctx: &Ctx) -> Result<PathBuf> {
    let top = ctx.app()?.dir.as_ref().map(|dir| {
        let db = dir.path.as_path();
        let parent = db.parent().unwrap_or(db);
        if parent.file_name().is_some_and(|n| n == "backend-flask") {
            parent.parent().unwrap_or(parent).to_path_buf()
        } else {
            parent.to_path_buf()
        }
    });
    Ok(top
        .unwrap_or_else(|| PathBuf::from("."))
        .join(DATA_FOLDER)
        .join("dynamodb.sqlite"))
}

/// The folder of cruddur's local data at the top of the app's repository.
const DATA_FOLDER: &str = ".cruddur";

/// Local data stays out of the app's git history: cruddur's own folder holds a `.gitignore`
/// of `*` (as uv's `.venv` and pytest's cache do), written once and never overwritten.
fn ignore_everything_in(folder: &Path) -> Result<()> {
    let path = folder.join(".gitignore");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => {
            use std::io::Write;
            let written = file.write_all(
                b"# Written by cruddur: local data (ddb serve's database), never committed.\n*\n",
            );
            if written.is_err() {
                // Not half a file, which would then be kept as the user's own.
                let _ = std::fs::remove_file(&path);
            }
            written.with_context(|| format!("cannot write {}", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// The server, as it will run.
struct Serve {
    address: SocketAddr,
    /// Where its own clients (the table, the stream worker) reach it.
    endpoint: String,
    /// None: in memory.
    data: Option<PathBuf>,
    table: String,
    schema_load: bool,
    stream_worker: bool,
    ttl_interval: Duration,
}

#[derive(Debug, Serialize)]
struct ServeReport {
    endpoint: String,
    /// The data file, or null in memory.
    data: Option<String>,
    served_seconds: u64,
    stream_worker: bool,
    /// Expired TTL items removed.
    expired_items: usize,
    /// Stream records older than 24 hours removed.
    trimmed_stream_records: usize,
}

impl Report for ServeReport {}

impl fmt::Display for ServeReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "stopped serving {} after {} s; {}",
            self.endpoint,
            self.served_seconds,
            match &self.data {
                Some(path) => format!("the data is in {path}"),
                None => "the data was in memory and is gone".to_string(),
            }
        )
    }
}

impl Service for Serve {
    type Report = ServeReport;

    fn plan(&self) -> Plan {
        let mut ops: Vec<Op> = vec![
            ServeOp::Listen {
                address: self.address.to_string(),
                dynoxide: dynoxide::PRODUCT_VERSION.to_string(),
            }
            .into(),
            ServeOp::KeepData {
                path: self.data.as_ref().map(|p| p.display().to_string()),
            }
            .into(),
        ];
        if self.schema_load {
            ops.push(
                ServeOp::CreateTable {
                    table: self.table.clone(),
                }
                .into(),
            );
        }
        ops.push(
            ServeOp::StreamWorker {
                on: self.stream_worker,
            }
            .into(),
        );
        ops.push(
            ServeOp::SweepTtl {
                every: self.ttl_interval,
            }
            .into(),
        );
        Plan {
            destination: Destination::DynamoDb {
                endpoint: self.endpoint.clone(),
                table: self.table.clone(),
            },
            scope: SCOPE,
            summary: format!("serve DynamoDB on {}", self.address),
            ops,
            confirm: self.table.clone(),
            exposes: None,
        }
    }

    fn serve(self, ctx: &Ctx) -> Result<ServeReport> {
        let started = Instant::now();
        let db = open(self.data.as_deref())?;
        let upkeep = self.data.as_deref().map(Upkeep::open).transpose()?;
        let runtime = crate::runtime::runtime()?;
        let listener = bind(self.address)?;
        // Set when a signal comes, or when the work beside the server fails.
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let _inside = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)
                .context("could not hand the socket to the server")?;
            runtime.spawn(dynoxide::server::serve_with_shutdown(
                listener,
                db.clone(),
                stopped(stop.clone()),
            ))
        };
        let shown = self
            .data
            .as_ref()
            .map_or("memory".to_string(), |p| p.display().to_string());
        ctx.info(format!(
            "DynamoDB (dynoxide {}, embedded) on {}, data in {shown}; Ctrl-C or SIGTERM stops it",
            dynoxide::PRODUCT_VERSION,
            self.endpoint
        ));
        let status = Status::write(&self, &shown);
        let upkeep_task = runtime.spawn(upkeep_loop(
            db.clone(),
            upkeep,
            self.ttl_interval,
            ctx.printer,
            stop.clone(),
        ));
        let work = (|| -> Result<()> {
            let ddb = ctx.ddb_at(&self.table, &self.endpoint)?;
            if self.schema_load {
                let options = TableOptions {
                    if_not_exists: true,
                    ..TableOptions::default()
                };
                let report =
                    guarded::step(ctx, Prepared::Write(CreateTable::new(ctx, &ddb, options)))?;
                ctx.info(report.to_string());
            }
            if self.stream_worker {
                super::stream::worker(ctx, &ddb);
            }
            Ok(())
        })();
        if let Err(error) = &work {
            ctx.warn(format!("{error:#}"));
        }
        // The server and the upkeep run while this thread waits here, on the runtime.
        if work.is_ok() {
            runtime.block_on(async {
                while !crate::interrupt::requested() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
        stop.store(true, Ordering::SeqCst);
        // Requests in flight finish; then the data is flushed as the last handle goes.
        let (expired, trimmed) = runtime.block_on(async {
            let _ = server.await;
            upkeep_task.await.unwrap_or((0, 0))
        });
        drop(db);
        drop(status);
        work?;
        Ok(ServeReport {
            endpoint: self.endpoint,
            data: self.data.map(|p| p.display().to_string()),
            served_seconds: started.elapsed().as_secs(),
            stream_worker: self.stream_worker,
            expired_items: expired,
            trimmed_stream_records: trimmed,
        })
    }
}

/// dynoxide's database: the file (its folder made if missing), or memory.
fn open(data: Option<&Path>) -> Result<dynoxide::Database> {
    let Some(path) = data else {
        return dynoxide::Database::memory()
            .map_err(|e| anyhow!("could not start the in-memory database: {e}"));
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the folder {}", folder.display()))?;
        if folder.file_name().is_some_and(|name| name == DATA_FOLDER) {
            ignore_everything_in(folder)?;
        }
    }
    let text = path
        .to_str()
        .ok_or_else(|| anyhow!("--data {}: the path is not UTF-8", path.display()))?;
    dynoxide::Database::new(text).map_err(|e| anyhow!("cannot open {}: {e}", path.display()))
}

/// The listening socket, or why not in plain words.
fn bind(address: SocketAddr) -> Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(address).map_err(|error| match error.kind() {
        std::io::ErrorKind::AddrInUse => anyhow!(
            "port {} is in use on {}: another DynamoDB (DynamoDB Local, a `cruddur ddb serve`, \
             the app's compose service) may be running there. Stop it, or pass --port",
            address.port(),
            address.ip()
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            anyhow!("--host {} is not an address of this machine", address.ip())
        }
        _ => anyhow!("cannot listen on {address}: {error}"),
    })?;
    listener
        .set_nonblocking(true)
        .context("could not set up the socket")?;
    Ok(listener)
}

/// Resolves once the server is to stop.
async fn stopped(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every `interval`: expired TTL items removed (dynoxide removes them only when told), and
/// stream records past DynamoDB's 24 hours trimmed. What was removed, in all.
async fn upkeep_loop(
    db: dynoxide::Database,
    upkeep: Option<Upkeep>,
    interval: Duration,
    printer: crate::printer::Printer,
    stop: Arc<AtomicBool>,
) -> (usize, usize) {
    let (mut expired, mut trimmed) = (0, 0);
    loop {
        let until = tokio::time::Instant::now() + interval;
        while tokio::time::Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                return (expired, trimmed);
            }
            tokio::time::sleep(Duration::from_millis(100).min(interval)).await;
        }
        match db.sweep_ttl() {
            Ok(0) => {}
            Ok(n) => {
                expired += n;
                printer.detail(format!("removed {n} expired TTL item(s)"));
            }
            Err(error) => printer.warn(format!("could not remove expired TTL items: {error}")),
        }
        if let Some(upkeep) = &upkeep {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            match upkeep.trim_stream(now, STREAM_RETENTION.as_secs() as i64) {
                Ok(n) => trimmed += n,
                Err(error) => printer.warn(format!("could not trim the stream records: {error:#}")),
            }
        }
    }
}

/// What `cruddur doctor` reads to say that the local endpoint is a running `cruddur ddb
/// serve`: a small file per port in the temporary folder, removed when the server stops.
struct Status {
    path: PathBuf,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub(crate) struct ServeStatus {
    pub(crate) pid: u32,
    pub(crate) endpoint: String,
    pub(crate) data: String,
    pub(crate) stream_worker: bool,
}

/// Where a server on `port` says what it is.
pub(crate) fn status_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("cruddur-ddb-serve-{port}.json"))
}

/// The status of the `cruddur ddb serve` on `port`, when one is running.
pub(crate) fn running(port: u16) -> Option<ServeStatus> {
    let text = std::fs::read_to_string(status_path(port)).ok()?;
    let status: ServeStatus = serde_json::from_str(&text).ok()?;
    Path::new(&format!("/proc/{}", status.pid))
        .exists()
        .then_some(status)
}

impl Status {
    fn write(serve: &Serve, data: &str) -> Status {
        let path = status_path(serve.address.port());
        let status = ServeStatus {
            pid: std::process::id(),
            endpoint: serve.endpoint.clone(),
            data: data.to_string(),
            stream_worker: serve.stream_worker,
        };
        if let Ok(text) = serde_json::to_string(&status) {
            let _ = std::fs::write(&path, text);
        }
        Status { path }
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
