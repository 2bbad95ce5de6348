//! The shared context: built once from the flags and the environment, then passed to every
//! command as `&Ctx`. Configuration mistakes surface here, before anything is touched.

use std::sync::{Once, OnceLock};

use anyhow::Result;

use crate::app::App;
use crate::dynamodb::{Ddb, DdbSettings};
use crate::error::{refused, Kept};
use crate::guard::{self, Destination, Policy};
use crate::output::OutputFormat;
use crate::pg::PgSettings;
use crate::pg::PgTarget;
use crate::printer::Printer;

pub(crate) use crate::target::Target;

/// Where an AWS service's calls go.
#[cfg(any(feature = "cognito", feature = "ec2"))]
pub(crate) struct Service {
    pub(crate) config: aws_config::SdkConfig,
    /// The endpoint a flag, the environment or the profile names; None: AWS's own.
    pub(crate) endpoint: Option<String>,
    pub(crate) region: String,
}

pub(crate) struct Ctx {
    pub(crate) target: Target,
    pub(crate) output: OutputFormat,
    pub(crate) yes: bool,
    /// stderr: notices, details, warnings, progress bars, the confirmation prompt.
    pub(crate) printer: Printer,
    pub(crate) dry_run: bool,
    pub(crate) override_prod_marker: bool,
    /// Local mode may reach a Postgres host that is not local (a remote development database).
    pub(crate) allow_remote_host: bool,
    /// --profile and --region: the AWS CLI's flags, over the environment and the profile.
    pub(crate) profile: Option<String>,
    pub(crate) region: Option<String>,
    /// The Postgres target, or why there is none (resolved eagerly, reported when a
    /// command needs it, so that `ddb …` works without any Postgres variable).
    pg: std::result::Result<PgTarget, Kept>,
    /// Production's Postgres target as `--prod` resolves it: `pull`'s source, read only.
    source_pg: std::result::Result<PgTarget, Kept>,
    /// Every secret the configuration holds, to scrub from any message.
    secrets: Vec<String>,
    announced: Once,
    /// --wait: how long to wait for Postgres before the first use.
    wait_for_pg: Option<std::time::Duration>,
    waited: OnceLock<std::result::Result<(), Kept>>,
    /// The SDK's default chain (profiles, SSO, environment), loaded once, on first use.
    aws: OnceLock<aws_config::SdkConfig>,
    /// Where the messages table is, and its client (made on first use).
    ddb_settings: DdbSettings,
    ddb: OnceLock<std::result::Result<Ddb, Kept>>,
    /// --app-dir, and the app's files it leads to (found on first use).
    app_dir: Option<std::path::PathBuf>,
    app: OnceLock<std::result::Result<App, Kept>>,
}

/// What the context is built from: the global flags as plain values (`cli` makes them).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) output: OutputFormat,
    pub(crate) yes: bool,
    pub(crate) verbose: bool,
    pub(crate) quiet: bool,
    pub(crate) dry_run: bool,
    pub(crate) override_prod_marker: bool,
    pub(crate) allow_remote_host: bool,
    pub(crate) profile: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) app_dir: Option<std::path::PathBuf>,
    pub(crate) pg: PgSettings,
    pub(crate) ddb: DdbSettings,
    /// `--wait`: how long to wait for Postgres before its first use.
    pub(crate) wait_for_pg: Option<std::time::Duration>,
}

impl Ctx {
    /// A context for unit tests: `target`, `--yes`, quiet, no store resolved from anything.
    #[cfg(test)]
    pub(crate) fn for_tests(target: Target) -> Ctx {
        Ctx::new(&Settings {
            target,
            output: OutputFormat::Table,
            yes: true,
            verbose: false,
            quiet: true,
            dry_run: false,
            override_prod_marker: false,
            allow_remote_host: false,
            profile: None,
            region: None,
            app_dir: None,
            pg: PgSettings::default(),
            ddb: DdbSettings {
                table: "cruddur-messages".into(),
                endpoint_url: (target == Target::Local)
                    .then(|| crate::dynamodb::LOCAL_ENDPOINT.into()),
                ..DdbSettings::default()
            },
            wait_for_pg: None,
        })
        .expect("a context of plain settings")
    }

    pub(crate) fn new(settings: &Settings) -> Result<Ctx> {
        let target = settings.target;
        Ok(Ctx {
            target,
            output: settings.output,
            yes: settings.yes,
            printer: Printer::new(settings.verbose, settings.quiet),
            dry_run: settings.dry_run,
            override_prod_marker: settings.override_prod_marker,
            allow_remote_host: settings.allow_remote_host,
            profile: settings.profile.clone(),
            region: settings.region.clone(),
            pg: PgTarget::resolve(target, &settings.pg).map_err(|e| Kept::new(&e)),
            source_pg: PgTarget::resolve(Target::Prod, &settings.pg).map_err(|e| Kept::new(&e)),
            secrets: secrets(&settings.pg),
            announced: Once::new(),
            wait_for_pg: settings.wait_for_pg,
            waited: OnceLock::new(),
            aws: OnceLock::new(),
            app_dir: settings.app_dir.clone(),
            app: OnceLock::new(),
            ddb_settings: settings.ddb.clone(),
            ddb: OnceLock::new(),
        })
    }

    /// The Postgres target; an error naming the variable to set when it could not be resolved.
    /// The first call says where it points (always in production, with --verbose locally)
    /// and, with --wait, waits until the server takes a login.
    pub(crate) fn pg(&self) -> Result<&PgTarget> {
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
    pub(crate) fn pg_unwaited(&self) -> Result<&PgTarget> {
        let pg = self.pg.as_ref().map_err(Kept::error)?;
        self.local_only(&pg.destination())?;
        Ok(pg)
    }

    /// Production's database as `--prod` resolves it (PROD_CONNECTION_URL), as the source of
    /// a command that only reads it (`pull`), whatever the target; said once.
    pub(crate) fn source_pg(&self) -> Result<&PgTarget> {
        let pg = self.source_pg.as_ref().map_err(Kept::error)?;
        self.info(format!(
            "PRODUCTION Postgres (the source, only read): {}",
            pg.display
        ));
        Ok(pg)
    }

    /// Production's table as `--prod` resolves it, as a source that is only read: `table`
    /// there, at `endpoint` when one is named on purpose. Its banner says where.
    pub(crate) fn source_ddb(&self, table: &str, endpoint: Option<&str>) -> Result<Ddb> {
        Ddb::connect(
            Target::Prod,
            &DdbSettings {
                table: table.to_string(),
                endpoint_url: endpoint.map(String::from),
                endpoint_flag: Some("--from-endpoint-url"),
                aws_unless_flag: true,
                ..self.ddb_settings.clone()
            },
            || self.aws().cloned(),
            self.printer,
        )
    }

    /// The messages table (`--table`, `--endpoint-url`), resolved once: its endpoint, region
    /// and client. The first use says where it is (always in production, with -v locally).
    pub(crate) fn ddb(&self) -> Result<&Ddb> {
        self.ddb
            .get_or_init(|| {
                self.connect_ddb(&self.ddb_settings)
                    .map_err(|e| Kept::new(&e))
            })
            .as_ref()
            .map_err(Kept::error)
    }

    /// Another table behind the same endpoint (`ddb drop TABLE`), said by its own name.
    pub(crate) fn ddb_table(&self, table: &str) -> Result<Ddb> {
        self.connect_ddb(&DdbSettings {
            table: table.to_string(),
            ..self.ddb_settings.clone()
        })
    }

    /// The DynamoDB settings the flags gave (the table `ddb serve` makes, the one `ddb sql`
    /// falls back on).
    pub(crate) fn ddb_settings(&self) -> &DdbSettings {
        &self.ddb_settings
    }

    /// A table at an endpoint named here (`ddb serve`'s own), in local mode.
    #[cfg(feature = "serve")]
    pub(crate) fn ddb_at(&self, table: &str, endpoint: &str) -> Result<Ddb> {
        self.connect_ddb(&DdbSettings {
            table: table.to_string(),
            endpoint_url: Some(endpoint.to_string()),
            ..self.ddb_settings.clone()
        })
    }

    fn connect_ddb(&self, settings: &DdbSettings) -> Result<Ddb> {
        Ddb::connect(self.target, settings, || self.aws().cloned(), self.printer)
    }

    /// The app's files: its database folder (`--app-dir`, or found walking up from here),
    /// or the built-in copies. Found once; `-v` says which.
    pub(crate) fn app(&self) -> Result<&App> {
        let app = self.app.get_or_init(|| {
            let app = App::resolve(self.app_dir.as_deref()).map_err(|e| Kept::new(&e))?;
            self.detail(format!("app files: {}", app.describe()));
            Ok(app)
        });
        app.as_ref().map_err(Kept::error)
    }

    /// Every secret of the configuration (database passwords, AWS secret keys), for scrubbing
    /// messages. No side effect: nothing is announced, waited for or connected.
    pub(crate) fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Run a future to its end on the process's one Tokio runtime (`crate::runtime`).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        crate::runtime::block_on(future)
    }

    /// The one AWS configuration of the process, from the SDK's default chain: what the
    /// AWS CLI would use. Loaded on first use, so commands that never talk to AWS never pay.
    pub(crate) fn aws(&self) -> Result<&aws_config::SdkConfig> {
        if let Some(config) = self.aws.get() {
            return Ok(config);
        }
        let timeouts = crate::aws::timeouts();
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

    /// An AWS service besides DynamoDB (Cognito, EC2): its configuration from the one AWS
    /// configuration, at the endpoint its flag names (`flag_name`), else the one the
    /// environment or profile configures; in --prod, never a profile's local endpoint.
    #[cfg(any(feature = "cognito", feature = "ec2"))]
    fn service(&self, id: &'static str, flag: Option<&str>, flag_name: &str) -> Result<Service> {
        let (config, endpoint) = crate::aws::service_config(
            self.aws()?,
            self.target,
            self.profile.as_deref(),
            id,
            flag,
            flag_name,
        )?;
        let region = crate::aws::region(&config)?;
        Ok(Service {
            config,
            endpoint,
            region,
        })
    }

    /// The Cognito client (the one place it is built), and where it goes.
    #[cfg(feature = "cognito")]
    pub(crate) fn cognito(
        &self,
        endpoint_flag: Option<&str>,
    ) -> Result<(aws_sdk_cognitoidentityprovider::Client, Service)> {
        let service = self.service(
            "Cognito Identity Provider",
            endpoint_flag,
            "--cognito-endpoint-url",
        )?;
        let client = aws_sdk_cognitoidentityprovider::Client::new(&service.config);
        Ok((client, service))
    }

    /// The EC2 client (the one place it is built), and where it goes.
    #[cfg(feature = "ec2")]
    pub(crate) fn ec2(
        &self,
        endpoint_flag: Option<&str>,
    ) -> Result<(aws_sdk_ec2::Client, Service)> {
        let service = self.service("EC2", endpoint_flag, "--ec2-endpoint-url")?;
        Ok((aws_sdk_ec2::Client::new(&service.config), service))
    }

    /// Progress and notices: stderr, unless --quiet.
    pub(crate) fn info(&self, message: impl AsRef<str>) {
        self.printer.info(message);
    }

    /// Details shown with --verbose only.
    pub(crate) fn detail(&self, message: impl AsRef<str>) {
        self.printer.detail(message);
    }

    /// Warnings are shown even with --quiet.
    pub(crate) fn warn(&self, message: impl AsRef<str>) {
        self.printer.warn(message);
    }

    /// The flags the guard decides by.
    pub(crate) fn policy(&self) -> Policy {
        Policy {
            target: self.target,
            dry_run: self.dry_run,
            yes: self.yes,
            interactive: self.printer.interactive,
            override_prod_marker: self.override_prod_marker,
            allow_remote_host: self.allow_remote_host,
        }
    }

    /// The guard's first rule, for reads too: local mode never reaches a remote store (exit 3).
    pub(crate) fn local_only(&self, destination: &Destination) -> Result<()> {
        guard::local_only(&self.policy(), destination).map_err(refused)
    }
}

/// The passwords of both Postgres URLs (as written and percent-decoded, even when a URL does
/// not parse) and the AWS secret key and session token of the environment.
fn secrets(pg: &PgSettings) -> Vec<String> {
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
