//! The shared context: built once from the flags and the environment, then passed to every
//! command as `&Ctx`. Configuration mistakes surface here, before anything is touched.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Once, OnceLock};

use anyhow::{Context, Result};

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::refused;
use crate::pg::PgTarget;

/// Which stack the commands work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local,
    Prod,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Prod => "prod",
        }
    }
}

pub struct Ctx {
    pub target: Target,
    pub output: OutputFormat,
    pub yes: bool,
    pub verbose: bool,
    pub quiet: bool,
    /// Both stdin and stderr are terminals: a person can answer a prompt.
    pub interactive: bool,
    /// stderr is a terminal and NO_COLOR is unset.
    pub colour: bool,
    /// stderr is a terminal: progress bars are drawn.
    pub stderr_terminal: bool,
    pub dry_run: bool,
    pub override_prod_marker: bool,
    /// The Postgres target, or why there is none (resolved eagerly, reported when a
    /// command needs it, so that `ddb …` works without any Postgres variable).
    pg: std::result::Result<PgTarget, String>,
    runtime: OnceLock<tokio::runtime::Runtime>,
    announced: Once,
    /// --wait: how long to wait for Postgres before the first use.
    wait_for_pg: Option<std::time::Duration>,
    waited: OnceLock<std::result::Result<(), String>>,
    /// The SDK's default chain (profiles, SSO, environment), loaded once, on first use.
    aws: OnceLock<aws_config::SdkConfig>,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Result<Ctx> {
        let target = if global.prod {
            Target::Prod
        } else {
            Target::Local
        };
        let output = if global.json {
            OutputFormat::Json
        } else {
            global.output
        };
        Ok(Ctx {
            target,
            output,
            yes: global.yes,
            verbose: global.verbose,
            quiet: global.quiet,
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            colour: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            stderr_terminal: std::io::stderr().is_terminal(),
            dry_run: global.dry_run,
            override_prod_marker: global.override_prod_marker,
            pg: PgTarget::resolve(target, &global.pg).map_err(|e| format!("{e:#}")),
            runtime: OnceLock::new(),
            announced: Once::new(),
            wait_for_pg: global.pg.wait.then_some(global.pg.wait_timeout),
            waited: OnceLock::new(),
            aws: OnceLock::new(),
        })
    }

    /// The Postgres target; an error naming the variable to set when it could not be resolved.
    /// The first call says where it points (always in production, with --verbose locally)
    /// and, with --wait, waits until the server takes a login.
    pub fn pg(&self) -> Result<&PgTarget> {
        let pg = self.pg_unwaited()?;
        self.announced.call_once(|| match self.target {
            Target::Prod => self.info(format!("PRODUCTION Postgres: {}", pg.display)),
            Target::Local => self.detail(format!("local Postgres: {}", pg.display)),
        });
        if let Some(timeout) = self.wait_for_pg {
            let waited = self.waited.get_or_init(|| {
                self.info(format!("waiting for Postgres at {}…", pg.display));
                pg.wait_until_up(std::time::Instant::now() + timeout)
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            });
            waited.clone().map_err(|why| anyhow::anyhow!("{why}"))?;
        }
        Ok(pg)
    }

    /// The Postgres target without --wait (for `cruddur wait`, which waits itself).
    pub fn pg_unwaited(&self) -> Result<&PgTarget> {
        self.pg.as_ref().map_err(|why| anyhow::anyhow!("{why}"))
    }

    /// Run a future on the process's one Tokio runtime (made on first use). It has one
    /// thread: the time goes to the network, and one thread spends less CPU on the bulk paths
    /// than several (scripts/bench). Postgres calls never go in here: the `postgres` crate
    /// runs a runtime of its own.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        if self.runtime.get().is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("could not start the async runtime")?;
            let _ = self.runtime.set(runtime);
        }
        let runtime = self
            .runtime
            .get()
            .context("internal: the async runtime is missing")?;
        Ok(runtime.block_on(future))
    }

    /// The one AWS configuration of the process, from the SDK's default chain: what the
    /// AWS CLI would use. Loaded on first use, so commands that never talk to AWS never pay.
    pub fn aws(&self) -> Result<&aws_config::SdkConfig> {
        if let Some(config) = self.aws.get() {
            return Ok(config);
        }
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(30))
            .build();
        let config = self.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .timeout_config(timeouts)
                .load(),
        )?;
        Ok(self.aws.get_or_init(|| config))
    }

    /// Progress and notices: stderr, unless --quiet.
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Details shown with --verbose only.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Warnings are shown even with --quiet.
    pub fn warn(&self, message: impl AsRef<str>) {
        eprintln!("warning: {}", message.as_ref());
    }

    /// Guard a destructive action. Locally it goes ahead. In production it needs --yes, or a
    /// person at a terminal who types `name`; without either it is refused (exit 3) at once,
    /// never waiting for input that cannot come.
    pub fn confirm_destructive(&self, action: &str, name: &str) -> Result<()> {
        if self.target == Target::Local || self.yes {
            return Ok(());
        }
        if !self.interactive {
            return Err(refused(format!(
                "refusing to {action} in production without confirmation: re-run with --yes"
            )));
        }
        eprint!("About to {action} in PRODUCTION. Type `{name}` to go on: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("could not read the confirmation")?;
        if answer.trim() == name {
            Ok(())
        } else {
            Err(refused(format!(
                "not confirmed (expected `{name}`): nothing was done"
            )))
        }
    }
}
