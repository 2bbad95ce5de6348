//! The shared context: built once from the flags and the environment, then passed to every
//! command as `&Ctx`. Configuration mistakes surface here, before anything is touched.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Once, OnceLock};

use anyhow::{Context, Result};

use crate::app::App;
use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{refused, Kept};
use crate::guard;
use crate::pg::PgTarget;

pub use crate::target::Target;

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
    /// Local mode may reach a Postgres host that is not local (a remote development database).
    pub allow_remote_host: bool,
    /// --profile and --region: the AWS CLI's flags, over the environment and the profile.
    pub profile: Option<String>,
    pub region: Option<String>,
    /// The Postgres target, or why there is none (resolved eagerly, reported when a
    /// command needs it, so that `ddb …` works without any Postgres variable).
    pg: std::result::Result<PgTarget, Kept>,
    /// Every secret the configuration holds, to scrub from any message.
    secrets: Vec<String>,
    runtime: OnceLock<tokio::runtime::Runtime>,
    announced: Once,
    /// --wait: how long to wait for Postgres before the first use.
    wait_for_pg: Option<std::time::Duration>,
    waited: OnceLock<std::result::Result<(), Kept>>,
    /// The SDK's default chain (profiles, SSO, environment), loaded once, on first use.
    aws: OnceLock<aws_config::SdkConfig>,
    /// --app-dir, and the app's files it leads to (found on first use).
    app_dir: Option<std::path::PathBuf>,
    app: OnceLock<std::result::Result<App, Kept>>,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Result<Ctx> {
        let target = if global.prod {
            Target::Prod
        } else {
            Target::Local
        };
        crate::output::set_verbose(global.verbose);
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
            colour: crate::term::colour_stderr(),
            stderr_terminal: std::io::stderr().is_terminal(),
            dry_run: global.dry_run,
            override_prod_marker: global.override_prod_marker,
            allow_remote_host: global.allow_remote_host,
            profile: global.profile.clone(),
            region: global.region.clone(),
            pg: PgTarget::resolve(target, &global.pg).map_err(|e| Kept::new(&e)),
            secrets: secrets(&global.pg),
            runtime: OnceLock::new(),
            announced: Once::new(),
            wait_for_pg: global.pg.wait.then_some(global.pg.wait_timeout),
            waited: OnceLock::new(),
            aws: OnceLock::new(),
            app_dir: global.app_dir.clone(),
            app: OnceLock::new(),
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
                self.block_on(pg.wait_until_up(std::time::Instant::now() + timeout))
                    .and_then(|waited| waited)
                    .map(|_| ())
                    .map_err(|e| Kept::new(&e))
            });
            waited.as_ref().map_err(Kept::error)?;
        }
        Ok(pg)
    }

    /// The Postgres target without --wait (for `cruddur wait`, which waits itself).
    /// Local mode never reaches a Postgres host that is not local (the guard's first rule).
    pub fn pg_unwaited(&self) -> Result<&PgTarget> {
        let pg = self.pg.as_ref().map_err(Kept::error)?;
        guard::local_only(self, &pg.destination())?;
        Ok(pg)
    }

    /// The app's files: its database folder (`--app-dir`, or found walking up from here),
    /// or the built-in copies. Found once; `-v` says which.
    pub fn app(&self) -> Result<&App> {
        let app = self.app.get_or_init(|| {
            let app = App::resolve(self.app_dir.as_deref()).map_err(|e| Kept::new(&e))?;
            self.detail(format!("app files: {}", app.describe()));
            Ok(app)
        });
        app.as_ref().map_err(Kept::error)
    }

    /// Every secret of the configuration (database passwords, AWS secret keys), for scrubbing
    /// messages. No side effect: nothing is announced, waited for or connected.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
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
        // The AWS CLI's precedence: the flag, then the environment, then the profile.
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .http_client(crate::aws::http_client()?);
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let config = self.block_on(loader.load())?;
        Ok(self.aws.get_or_init(|| config))
    }

    /// Progress and notices: stderr, unless --quiet.
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            crate::output::note(message.as_ref());
        }
    }

    /// Details shown with --verbose only.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose {
            crate::output::note(message.as_ref());
        }
    }

    /// Warnings are shown even with --quiet.
    pub fn warn(&self, message: impl AsRef<str>) {
        crate::output::note(&format!("warning: {}", message.as_ref()));
    }

    /// The guard's last step (only `guard::check` calls it): in production a write needs
    /// --yes, or a person at a terminal who types `name`; without either it is refused
    /// (exit 3) at once, never waiting for input that cannot come.
    pub(crate) fn confirm(&self, action: &str, details: &[String], name: &str) -> Result<()> {
        if self.yes {
            return Ok(());
        }
        if !self.interactive {
            return Err(refused(format!(
                "refusing to {action} in production without confirmation: re-run with --yes"
            )));
        }
        let mut stderr = std::io::stderr();
        for detail in details.iter().take(20) {
            writeln!(stderr, "  - {}", crate::output::visible(detail))?;
        }
        if details.len() > 20 {
            writeln!(stderr, "  - … and {} more", details.len() - 20)?;
        }
        write!(
            stderr,
            "About to {} in PRODUCTION. Type `{name}` to go on: ",
            crate::output::visible(action)
        )?;
        stderr.flush()?;
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

/// The passwords of both Postgres URLs (as written and percent-decoded, even when a URL does
/// not parse) and the AWS secret key and session token of the environment.
fn secrets(pg: &crate::cli::PgArgs) -> Vec<String> {
    let mut found: Vec<String> = [&pg.database_url, &pg.prod_database_url]
        .into_iter()
        .flatten()
        .flat_map(|url| crate::pg::url_password(url))
        .collect();
    for name in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(value) = std::env::var(name) {
            found.push(value);
        }
    }
    found.extend(crate::proxy::secrets());
    found.retain(|s| s.len() >= 3);
    found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    found.dedup();
    found
}
