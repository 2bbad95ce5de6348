//! Every clap type of the command tree. Nothing here does any work: `lib.rs` dispatches.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ctx::Settings;
use crate::dynamodb::DdbSettings;
use crate::output::OutputFormat;
use crate::pg::PgSettings;
use crate::target::Target;

/// The help's last part for a command that writes: what the guard does, then `examples`.
macro_rules! writes {
    ($examples:literal) => {
        concat!(
            "Writes, through the guard: in --prod it asks for confirmation (--yes without a terminal); --dry-run prints the plan and does nothing.\n\n",
            $examples
        )
    };
}

/// The help's last part for a command that only reads, then `examples`.
macro_rules! reads {
    ($examples:literal) => {
        concat!(
            "Only reads: it changes nothing (and refuses --dry-run).\n\n",
            $examples
        )
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "cruddur",
    version,
    about = "Cruddur's operator tool: Postgres, DynamoDB, Cognito and the RDS security group",
    long_about = "Cruddur's operator tool: one binary for the chores of the Cruddur app's stores.\n\
                  Everything runs against the local stack unless --prod is given.",
    after_help = "Examples:\n  cruddur db setup                      # fresh local database with the seed data\n  cruddur db query users/short --param handle=timmy-cde\n  cruddur --prod db sessions --output json",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that every command takes, before or after the subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Work on production (RDS, AWS) instead of the local stack
    #[arg(long, global = true)]
    pub prod: bool,

    /// How to print results
    #[arg(short, long, global = true, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,

    /// Shorthand for --output json
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// Answer yes to confirmations (needed for destructive --prod commands without a terminal)
    #[arg(short, long, global = true)]
    pub yes: bool,

    /// Say more about what is done
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Say nothing on stderr but errors and warnings
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print the plan of a command that writes (target, statements, API calls) and do nothing;
    /// a command that only reads refuses it
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Let a local-mode destructive command touch a database that `--prod db schema-load`
    /// marked as production
    #[arg(long, global = true)]
    pub override_prod_marker: bool,

    /// Let local mode reach a Postgres host that is not local (a development database on
    /// another machine, on purpose). Never lifts the refusal of AWS hosts
    #[arg(long, global = true)]
    pub allow_remote_host: bool,

    /// The AWS profile to use, as the AWS CLI's --profile (wins over AWS_PROFILE)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The AWS region, as the AWS CLI's --region (wins over AWS_REGION and the profile's)
    #[arg(long, global = true, value_name = "NAME")]
    pub region: Option<String>,

    /// The app's database folder (its schema.sql, seed.sql, sql/ and migrations/), or the
    /// repository holding it [default: backend-flask/db, or db/ with schema.sql, in this folder
    /// or the first above it that has one; else the built-in files]
    #[arg(long, global = true, env = "CRUDDUR_APP_DIR", value_name = "PATH")]
    pub app_dir: Option<PathBuf>,

    /// Read variables from this file (default: .env in the current folder, when present;
    /// the real environment wins over the file)
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    #[command(flatten)]
    pub pg: PgArgs,

    #[command(flatten)]
    pub ddb: DdbArgs,
}

/// Where Postgres is. Prefer the variables: a password on a command line is visible in `ps`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Postgres")]
pub struct PgArgs {
    /// Local Postgres URL [default: postgresql://postgres:password@localhost:5432/cruddur]
    #[arg(
        long,
        global = true,
        env = "CONNECTION_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// Production Postgres URL, used with --prod
    #[arg(
        long,
        global = true,
        env = "PROD_CONNECTION_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub prod_database_url: Option<String>,

    /// Give up connecting to Postgres after this long (e.g. 5s, 500ms, 1m)
    #[arg(long, global = true, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Wait for Postgres to accept a login before the command (as `cruddur wait postgres`)
    #[arg(long, global = true)]
    pub wait: bool,

    /// How long --wait waits
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub wait_timeout: Duration,

    /// With --prod: how long a statement may wait for a lock before it fails (and rolls back),
    /// so that it never queues the app's queries behind it
    #[arg(long, global = true, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Tables and sentences for people
    Table,
    /// One JSON document
    Json,
    /// One JSON value per line
    Jsonl,
}

impl From<OutputArg> for OutputFormat {
    fn from(arg: OutputArg) -> OutputFormat {
        match arg {
            OutputArg::Table => OutputFormat::Table,
            OutputArg::Json => OutputFormat::Json,
            OutputArg::Jsonl => OutputFormat::Jsonl,
        }
    }
}

/// The plain settings the context is built from: the flags, with clap left behind.
impl From<&GlobalArgs> for Settings {
    fn from(global: &GlobalArgs) -> Settings {
        Settings {
            target: if global.prod {
                Target::Prod
            } else {
                Target::Local
            },
            output: if global.json {
                OutputFormat::Json
            } else {
                global.output.into()
            },
            yes: global.yes,
            verbose: global.verbose,
            quiet: global.quiet,
            dry_run: global.dry_run,
            override_prod_marker: global.override_prod_marker,
            allow_remote_host: global.allow_remote_host,
            profile: global.profile.clone(),
            region: global.region.clone(),
            app_dir: global.app_dir.clone(),
            pg: PgSettings::from(&global.pg),
            ddb: DdbSettings {
                table: global.ddb.table.clone(),
                endpoint_url: global.ddb.endpoint_url.clone(),
                region: global.region.clone(),
                profile: global.profile.clone(),
                endpoint_flag: None,
                aws_unless_flag: false,
            },
            wait_for_pg: global.pg.wait.then_some(global.pg.wait_timeout),
        }
    }
}

impl From<&PgArgs> for PgSettings {
    fn from(args: &PgArgs) -> PgSettings {
        PgSettings {
            database_url: args.database_url.clone(),
            prod_database_url: args.prod_database_url.clone(),
            connect_timeout: args.connect_timeout,
            lock_timeout: args.lock_timeout,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Postgres: create, drop, load, seed, inspect and query the app's database
    #[command(subcommand)]
    Db(DbCommand),
    /// DynamoDB: the direct-messages table and its access patterns
    Ddb(DdbGroup),
    /// Cognito: the user pool the app signs in with
    #[command(subcommand)]
    Cognito(CognitoCommand),
    /// RDS: let this workspace reach the production database
    #[command(subcommand)]
    Rds(RdsCommand),
    /// A fresh workspace in one go: db setup, ddb schema-load --if-not-exists, ddb seed --replace
    #[command(
        after_help = "Writes, through the guard (local only); --dry-run prints the plan and does nothing.\n\nExamples:\n  cruddur setup                 # what a Gitpod/Codespaces start task runs\n  cruddur setup --wait          # first wait for the local stack to come up"
    )]
    Setup(SetupArgs),
    /// Bring production's rows and conversations into the local stores, personal data masked
    #[command(
        after_help = "Reads production (PROD_CONNECTION_URL, and the production table through the AWS configuration) and never writes there. Writes the local stores through the guard (local only): the pulled tables' rows and the pulled users' conversations are replaced, in one transaction for Postgres; --dry-run prints the plan and does nothing. A local database that does not exist yet is made from the app's schema and migrations first.\n\nMasked by default: emails, names, Cognito ids, bios and every text people write (in DynamoDB the display names and messages), deterministically for one --mask-key. Kept: handles, uuids, times and counts.\n\nExamples:\n  cruddur pull --users 5                      # the five most active users and what they wrote\n  cruddur pull --since 2026-11-01 --no-dynamodb\n  CRUDDUR_MASK_KEY=team-key cruddur pull      # the same fakes on every pull"
    )]
    Pull(PullArgs),
    /// Wait until the stores accept connections (Postgres: a real login; DynamoDB: ListTables)
    #[command(
        after_help = reads!("Examples:\n  cruddur wait                          # both, up to 60s\n  cruddur wait postgres --timeout 2m")
    )]
    Wait(WaitArgs),
    /// Check the configuration and every store, each with the command that fixes it
    #[command(
        after_help = "Changes nothing it checks (and refuses --dry-run). Its `postgres shape` row builds the app's files in a throwaway database, as `db diff` does, on the database's own server (with --prod only on CRUDDUR_SHADOW_URL's), and drops it.\n\nExamples:\n  cruddur doctor\n  cruddur --prod doctor --json | jq '.[] | select(.status != \"ok\")'"
    )]
    Doctor(DoctorArgs),
    /// Print a shell completion script
    #[command(
        after_help = reads!("Examples:\n  cruddur completions bash > ~/.local/share/bash-completion/completions/cruddur\n  cruddur completions zsh > \"${fpath[1]}/_cruddur\"")
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff)
    #[command(
        after_help = reads!("Example:\n  cruddur man > cruddur.1 && man ./cruddur.1")
    )]
    Man,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub pool: PoolArgs,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only the N most active users (by the rows that reference them), and only the rows that
    /// reference what is pulled
    #[arg(long, value_name = "N", value_parser = positive_usize, conflicts_with = "since", allow_hyphen_values = true)]
    pub users: Option<usize>,

    /// Only what was made since DATE (2026-11-01, or an RFC 3339 time), and the users who
    /// made it or joined since
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,

    /// Leave the DynamoDB conversations alone: Postgres only
    #[arg(long)]
    pub no_dynamodb: bool,

    /// The key the fakes are chosen by: the same key gives the same fakes on every pull
    /// [default: a random key, new each run]
    #[arg(
        long,
        env = "CRUDDUR_MASK_KEY",
        value_name = "KEY",
        hide_env_values = true,
        conflicts_with = "no_mask"
    )]
    pub mask_key: Option<String>,

    /// Copy personal data as it is (asks a person at a terminal to confirm; refused without one)
    #[arg(long)]
    pub no_mask: bool,

    /// The production DynamoDB endpoint to read from, named on purpose (an emulator, a proxy)
    /// [default: AWS's own in the region; the endpoint variables name the local stack's]
    #[arg(long, value_name = "URL")]
    pub from_endpoint_url: Option<String>,

    /// The production table to read from [default: the local table's name]
    #[arg(long, env = "PROD_DDB_MESSAGE_TABLE", value_name = "NAME")]
    pub from_table: Option<String>,
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            format!("`{text}` is not a date: write 2026-11-01 or an RFC 3339 time (2026-11-01T09:30:00Z)")
        })
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// What to wait for [default: both]
    #[arg(value_enum)]
    pub stores: Vec<Store>,

    /// Give up after this long
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    Postgres,
    Dynamodb,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub pool: PoolArgs,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,

    /// The RDS security group (only checked for being set)
    #[arg(long, env = "DB_SG_ID", value_name = "ID")]
    pub group_id: Option<String>,

    /// Its ingress rule (only checked for being set)
    #[arg(long, env = "DB_SG_RULE_ID", value_name = "ID")]
    pub rule_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cruddur ddb [--table …] [--endpoint-url …] COMMAND`
#[derive(Debug, Args)]
pub struct DdbGroup {
    #[command(subcommand)]
    pub command: DdbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database named in the URL (exit 0 when it is there already)
    #[command(
        after_help = writes!("Example:\n  cruddur db create")
    )]
    Create,
    /// Drop the database named in the URL, if it exists
    #[command(
        after_help = writes!("Examples:\n  cruddur db drop\n  cruddur db drop --force   # terminate the app's and psql's sessions first")
    )]
    Drop(DropArgs),
    /// Load the schema (the app's schema.sql, else the built-in one) in one transaction
    #[command(
        after_help = writes!("Examples:\n  cruddur db schema-load\n  cruddur db schema-load --file backend-flask/db/schema.sql")
    )]
    SchemaLoad(SqlFileArgs),
    /// Load the seed data (the app's seed.sql, else the built-in one) in one transaction
    #[command(
        after_help = writes!("Examples:\n  cruddur db seed\n  cruddur db seed --file my-seed.sql")
    )]
    Seed(SqlFileArgs),
    /// List the server's client sessions (pg_stat_activity)
    #[command(
        after_help = reads!("Examples:\n  cruddur db sessions\n  cruddur db sessions --output json")
    )]
    Sessions,
    /// Local only: drop, create, load the schema and the seed, link Cognito users
    #[command(
        after_help = "Writes, through the guard (local only); --dry-run prints the plan and does nothing.\n\nExamples:\n  cruddur db setup\n  AWS_COGNITO_USER_POOL_ID=us-east-1_abc cruddur db setup   # also links the pool's users"
    )]
    Setup(DbSetupArgs),
    /// Open psql on the database (the password goes through the environment, never argv)
    #[command(
        after_help = "Opens psql: what you run there is up to you (no --dry-run).\n\nExamples:\n  cruddur db connect\n  cruddur db connect -- -c 'select count(*) from users'"
    )]
    Connect(ConnectArgs),
    /// Set users.cognito_user_id to each pool user's sub, matched by handle, in one transaction
    #[command(
        after_help = writes!("Examples:\n  cruddur db update-cognito-user-ids --pool-id us-east-1_abc\n  cruddur --prod db update-cognito-user-ids -v   # writes to PROD_CONNECTION_URL")
    )]
    UpdateCognitoUserIds(PoolArgs),
    /// Run one of the app's named queries (sql/activities/*, sql/users/*); no NAME lists them
    #[command(
        after_help = "A query that writes goes through the guard (confirmation in --prod; --dry-run prints it); one that reads refuses --dry-run.\n\nExamples:\n  cruddur db query                       # list the queries and their parameters\n  cruddur db query users/short --param handle=timmy-cde\n  cruddur db query activities/home --output json"
    )]
    Query(QueryArgs),
    /// List the app's migrations (backend-flask/db/migrations) and which are applied
    #[command(
        after_help = reads!("Examples:\n  cruddur db migrations\n  cruddur db migrations --check   # exit 1 when any is pending (a CI gate)")
    )]
    Migrations(MigrationsArgs),
    /// Compare the live database with what the app's files make (schema.sql and the applied
    /// migrations, built in a throwaway shadow database)
    #[command(
        after_help = concat!("Changes nothing in the database it compares (and refuses --dry-run): it makes a throwaway shadow database, builds the app's files in it, and drops it. Exits 0 when they agree, 1 on drift. The shadow is made on the database's own server, or with --prod only where --shadow-url (or CRUDDUR_SHADOW_URL) says; it is dropped on every way out but a second Ctrl-C or a lost server (then its name is printed).\n\nExamples:\n  cruddur db diff\n  cruddur db diff --sql   # the statements that would bring the database to the files, never run\n  CRUDDUR_SHADOW_URL=\"$CONNECTION_URL\" cruddur --prod db diff --output json")
    )]
    Diff(DbDiffArgs),
    /// Apply the pending migrations, oldest first, each with its marker in one transaction
    #[command(
        after_help = writes!("Examples:\n  cruddur db migrate\n  cruddur db migrate --to 16812345671234567 --dry-run")
    )]
    Migrate(MigrateArgs),
    /// Undo the newest applied migrations, newest first, each in one transaction
    #[command(
        after_help = writes!("Examples:\n  cruddur db rollback\n  cruddur db rollback --steps 2")
    )]
    Rollback(RollbackArgs),
    /// Write a new migration file in the app's format, with empty SQL to fill in
    #[command(
        after_help = "Writes a file, nothing else; --dry-run prints its path and does nothing.\n\nExamples:\n  cruddur db new-migration add_bio_column\n  cruddur db new-migration 'add bio column'   # becomes add_bio_column"
    )]
    NewMigration(NewMigrationArgs),
}

/// Where the app's migrations are.
#[derive(Debug, Args)]
pub struct MigrationsDirArgs {
    /// The migrations folder [default: backend-flask/db/migrations or db/migrations, in this
    /// folder or the first above it that has one]
    #[arg(long, env = "CRUDDUR_MIGRATIONS_DIR", value_name = "PATH")]
    pub migrations_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbDiffArgs {
    /// A server where cruddur may create and drop the shadow database [default: the
    /// database's own server; needed with --prod]. A URL with a password goes in
    /// CRUDDUR_SHADOW_URL instead
    #[arg(long, value_name = "URL")]
    pub shadow_url: Option<String>,

    /// Print the statements that would bring the database to the files (never run)
    #[arg(long)]
    pub sql: bool,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct MigrationsArgs {
    /// Exit 1 when any migration is pending, or was edited after it was applied
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Stop after this version (apply it and the pending ones before it)
    #[arg(long, value_name = "VERSION", conflicts_with = "baseline")]
    pub to: Option<String>,

    /// A migration edited after it was applied, accepted as it is now (its name, version or
    /// file stem); its new checksum is recorded. Repeat for several
    #[arg(long = "accept-edited", value_name = "NAME")]
    pub accept_edited: Vec<String>,

    /// Mark every migration up to VERSION as applied without running it (a database built
    /// before its migrations were tracked), recording their checksums
    #[arg(long, value_name = "VERSION", conflicts_with = "accept_edited")]
    pub baseline: Option<String>,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// How many of the newest applied migrations to undo
    #[arg(long, default_value = "1", value_parser = positive_usize, value_name = "N")]
    pub steps: usize,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct NewMigrationArgs {
    /// What it does, in snake_case (spaces and dashes become `_`), e.g. add_bio_column
    pub name: String,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

/// `db setup`: the pool to link, the migrations to apply.
#[derive(Debug, Args)]
pub struct DbSetupArgs {
    #[command(flatten)]
    pub pool: PoolArgs,

    #[command(flatten)]
    pub dir: MigrationsDirArgs,
}

#[derive(Debug, Args)]
pub struct DropArgs {
    /// Terminate other sessions on the database instead of refusing
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SqlFileArgs {
    /// Run this file instead of the built-in one
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Arguments passed on to psql, after --
    #[arg(last = true, value_name = "PSQL_ARGS")]
    pub psql_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query, e.g. users/short (without .sql)
    pub name: Option<String>,

    /// A parameter of the query, as NAME=VALUE; repeat for each
    #[arg(short, long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
}

/// Where the messages table is. In local mode the endpoint is --endpoint-url, else
/// AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else http://localhost:8000.
#[derive(Debug, Args)]
#[command(next_help_heading = "DynamoDB")]
pub struct DdbArgs {
    /// The messages table
    #[arg(
        long,
        global = true,
        env = "DDB_MESSAGE_TABLE",
        default_value = "cruddur-messages",
        value_name = "NAME"
    )]
    pub table: String,

    /// DynamoDB endpoint [local default: AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else
    /// http://localhost:8000; with --prod: the region's AWS endpoint]
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DdbCommand {
    /// Create the messages table and its index, and wait until it is ACTIVE
    #[command(
        after_help = writes!("Examples:\n  cruddur ddb schema-load\n  cruddur ddb schema-load --if-not-exists   # what start tasks run")
    )]
    SchemaLoad(DdbSchemaLoadArgs),
    /// Write the seed conversation between two users (from Postgres) through BatchWriteItem
    #[command(
        after_help = writes!("Examples:\n  cruddur ddb seed\n  cruddur ddb seed --replace --my-handle londo --other-handle tim-suarez")
    )]
    Seed(DdbSeedArgs),
    /// Print every item of the table (all pages)
    #[command(
        after_help = reads!("Examples:\n  cruddur ddb scan\n  cruddur ddb scan --output jsonl | jq -c 'select(.pk | startswith(\"GRP#\"))'")
    )]
    Scan(ScanArgs),
    /// Delete a table (default: the messages table)
    #[command(
        after_help = writes!("Examples:\n  cruddur ddb drop --if-exists\n  cruddur --prod ddb drop   # asks you to type the table name")
    )]
    Drop(DdbDropArgs),
    /// Turn the table's deletion protection on or off (DeleteTable is refused while it is on)
    #[command(
        after_help = writes!("Examples:\n  cruddur --prod ddb deletion-protection off   # before a drop you mean\n  cruddur --prod ddb deletion-protection on")
    )]
    DeletionProtection(DeletionProtectionArgs),
    /// List the tables
    #[command(
        after_help = reads!("Example:\n  cruddur ddb list-tables --json")
    )]
    ListTables,
    /// Write every item as JSON lines: a backup before `ddb drop` or `seed --replace`
    #[command(
        after_help = "Only reads the table (refuses --dry-run); with --file it writes that file whole or not at all.\n\nExamples:\n  cruddur --prod ddb export --file backup.jsonl\n  cruddur ddb export --dynamodb-json --segments 4 > table.jsonl"
    )]
    Export(ExportArgs),
    /// Write the items of a JSON-lines file back (checked whole before anything is written)
    #[command(
        after_help = writes!("Examples:\n  cruddur ddb import backup.jsonl\n  cruddur ddb import table.jsonl --dynamodb-json --skip-invalid")
    )]
    Import(ImportArgs),
    /// The app's three access patterns
    #[command(subcommand)]
    Patterns(PatternsCommand),
    /// Follow the table's stream and do the stream Lambda's work: move both group items of a
    /// conversation to each new message
    #[command(
        after_help = writes!("Examples:\n  cruddur ddb stream              # runs until Ctrl-C, next to the app\n  cruddur ddb stream --once       # what is in the stream now, then exit")
    )]
    Stream(StreamArgs),
    /// Run the app's local DynamoDB in this process (dynoxide, embedded): its data in a file,
    /// the app's table ready, the stream Lambda's work and TTL done, until Ctrl-C or SIGTERM
    #[command(
        after_help = "Local only; --dry-run prints what it would serve. Point the app and cruddur at it with AWS_ENDPOINT_URL=http://localhost:8000 (the default of every `ddb` command).\n\nExamples:\n  cruddur ddb serve                         # 127.0.0.1:8000, data in .cruddur/dynamodb.sqlite\n  cruddur ddb serve --in-memory --port 8001\n  cruddur ddb serve --host 0.0.0.0          # reachable from the app's containers"
    )]
    Serve(ServeArgs),
    /// DynamoDB's own on-demand backups of the table: take, list, restore
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Compare the live table with what `ddb schema-load` makes: keys, indexes, stream,
    /// capacity, TTL, point-in-time recovery and deletion protection
    #[command(
        after_help = reads!("Exits 0 when the table matches, 1 when it has drifted (the two protections, which a team turns on by choice, are listed but not counted).\n\nExamples:\n  cruddur ddb diff\n  cruddur --prod ddb diff --output json   # in a scheduled CI job")
    )]
    Diff(DdbDiffArgs),
    /// Run a PartiQL statement (ExecuteStatement): a SELECT reads every page, printed as plain
    /// JSON like `ddb scan`; an INSERT, UPDATE or DELETE is a write, through the guard
    #[command(
        after_help = "A SELECT only reads (and refuses --dry-run). An INSERT, UPDATE or DELETE writes, through the guard: in --prod it asks for confirmation (--yes without a terminal); --dry-run prints the statement and its parameters and does nothing.\n\nEach ? takes the next parameter: --param is typed as it looks (42 is a number, true/false a boolean, null a null, anything else a string); --param-json takes a JSON value (\"\\\"007\\\"\" is the string 007). Give them all one way or the other.\n\nExamples:\n  cruddur ddb sql 'SELECT * FROM \"cruddur-messages\" WHERE pk = ?' --param 'GRP#<uuid>'\n  cruddur ddb sql 'SELECT message FROM \"cruddur-messages\" WHERE pk = ?' --param-json '\"MSG#<uuid>\"' --output jsonl\n  cruddur ddb sql 'DELETE FROM \"cruddur-messages\" WHERE pk = ? AND sk = ?' --param 'MSG#<uuid>' --param 2026-12-07T10:00:00.000000+00:00"
    )]
    Sql(DdbSqlArgs),
}

#[derive(Debug, Args)]
pub struct DdbSqlArgs {
    /// The PartiQL statement; each `?` takes the next parameter
    #[arg(value_name = "STATEMENT")]
    pub statement: String,

    /// A parameter, typed as it looks: a number, true/false, null, else a string (repeat, in order)
    #[arg(long = "param", value_name = "VALUE", allow_hyphen_values = true)]
    pub params: Vec<String>,

    /// A parameter as a JSON value: a string, number, boolean, null, list or object (repeat, in order)
    #[arg(long = "param-json", value_name = "JSON", conflicts_with = "params")]
    pub params_json: Vec<String>,

    /// Stop after this many items
    #[arg(long, value_name = "N", value_parser = positive_usize, allow_hyphen_values = true)]
    pub limit: Option<usize>,

    /// Items each ExecuteStatement request evaluates (DynamoDB's own cap is 1 MB a page)
    #[arg(long, value_name = "N", value_parser = positive_i32, allow_hyphen_values = true)]
    pub page_size: Option<i32>,
}

#[derive(Debug, Args)]
pub struct DdbDiffArgs {
    /// The table was made with `ddb schema-load --no-stream`: expect no stream
    #[arg(long)]
    pub no_stream: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take an on-demand backup of the table (seconds, whatever its size)
    #[command(
        after_help = writes!("Examples:\n  cruddur --prod ddb backup create\n  cruddur --prod ddb backup create --name before-the-migration")
    )]
    Create(BackupCreateArgs),
    /// The table's backups, newest first
    #[command(after_help = reads!("Example:\n  cruddur --prod ddb backup list --json"))]
    List,
    /// Restore a backup (by name or ARN) into a new table
    #[command(
        after_help = writes!("Examples:\n  cruddur --prod ddb backup restore before-the-migration --into cruddur-messages-restored")
    )]
    Restore(BackupRestoreArgs),
}

#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// The backup's name [default: the table's, with the date and time]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct BackupRestoreArgs {
    /// The backup: its name (as `ddb backup list` shows it) or its ARN
    pub backup: String,

    /// The new table to restore into (it must not exist)
    #[arg(long, value_name = "TABLE")]
    pub into: String,

    /// How long to wait for the new table to become ACTIVE
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub wait_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on: 127.0.0.1 (this machine only), or 0.0.0.0 for the app's
    /// containers (no authentication, as with DynamoDB Local)
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: String,

    /// The port (8000: what the app and every `ddb` command use by default)
    #[arg(long, default_value_t = 8000)]
    pub port: u16,

    /// The data file [default: .cruddur/dynamodb.sqlite at the top of the app's repository, or
    /// here]
    #[arg(long, value_name = "PATH", conflicts_with = "in_memory")]
    pub data: Option<PathBuf>,

    /// Keep the data in memory only: gone when the server stops
    #[arg(long)]
    pub in_memory: bool,

    /// Upgrade a data file written by an older version in place (an older cruddur cannot open
    /// it afterwards)
    #[arg(long)]
    pub upgrade_data: bool,

    /// Do not create the messages table (with its index and stream) when it is missing
    #[arg(long)]
    pub no_schema_load: bool,

    /// Do not do the stream Lambda's work on new messages
    #[arg(long)]
    pub no_stream_worker: bool,

    /// How often expired TTL items are removed
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub ttl_interval: Duration,
}

#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Process what the stream holds now, then exit (for scripts and CI)
    #[arg(long)]
    pub once: bool,

    /// Where to start: the oldest record still in the stream, or only what comes next
    #[arg(long, value_enum, default_value_t = StreamStart::TrimHorizon, value_name = "WHERE")]
    pub from: StreamStart,

    /// How often an idle shard is polled
    #[arg(long, default_value = "500ms", value_parser = parse_duration, value_name = "DURATION")]
    pub poll: Duration,

    /// Turn on the table's stream (NEW_IMAGE) when it has none (an UpdateTable)
    #[arg(long)]
    pub enable_stream: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamStart {
    /// The oldest record still in the stream (24 hours on DynamoDB): nothing missed
    TrimHorizon,
    /// Only records written from now on
    Latest,
}

#[derive(Debug, Args)]
pub struct DdbSchemaLoadArgs {
    /// An existing table is fine: say so and exit 0
    #[arg(long)]
    pub if_not_exists: bool,

    /// How long to wait for the table to become ACTIVE
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub wait_timeout: Duration,

    /// Create the table without its stream, for bulk loads into an emulator whose stream
    /// slows every write as the table grows (dynoxide's); `ddb stream --enable-stream` turns
    /// it on later
    #[arg(long)]
    pub no_stream: bool,

    /// Create the table with deletion protection on [default: on with --prod, off locally]
    #[arg(long, overrides_with = "no_deletion_protection")]
    pub deletion_protection: bool,

    /// Create the table with deletion protection off, even with --prod
    #[arg(long, overrides_with = "deletion_protection")]
    pub no_deletion_protection: bool,
}

#[derive(Debug, Args)]
pub struct DeletionProtectionArgs {
    /// Turn deletion protection on or off
    #[arg(value_enum)]
    pub state: OnOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// The seed conversation's message group, as the old scripts had it.
pub const SEED_GROUP: &str = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399";

#[derive(Debug, Args)]
pub struct DdbSeedArgs {
    /// The conversation: lines of `Person 1: …` / `Person 2: …` [default: fixtures/conversation.txt, built in]
    #[arg(long, value_name = "PATH")]
    pub fixture: Option<PathBuf>,

    /// Person 1 of the fixture: a handle in Postgres [default: timmy-cde when both timmy-cde
    /// and tim-suarez are users, else the oldest user; users made together in the order seed.sql
    /// names them]
    #[arg(long, env = "CRUDDUR_MY_HANDLE", value_name = "HANDLE")]
    pub my_handle: Option<String>,

    /// Person 2 of the fixture: a handle in Postgres [default: tim-suarez when both are
    /// users, else the oldest user after person 1]
    #[arg(long, env = "CRUDDUR_OTHER_HANDLE", value_name = "HANDLE")]
    pub other_handle: Option<String>,

    /// The conversation's message group
    #[arg(
        long,
        default_value = SEED_GROUP,
        value_name = "UUID"
    )]
    pub message_group_uuid: String,

    /// The time of the last message (RFC 3339); the others are one minute apart before it
    /// [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,

    /// Replace a conversation that already has items: the new one is written first, then the
    /// old items it does not overwrite are deleted (a failure keeps the old one)
    #[arg(long)]
    pub replace: bool,

    /// In --prod with --replace: do not take the on-demand backup that comes first otherwise
    #[arg(long)]
    pub no_backup: bool,

    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Stop after this many items
    #[arg(long, value_name = "N", value_parser = positive_usize, allow_hyphen_values = true)]
    pub limit: Option<usize>,

    /// Items per Scan request (DynamoDB's own cap is 1 MB a page)
    #[arg(long, value_name = "N", value_parser = positive_i32, allow_hyphen_values = true)]
    pub page_size: Option<i32>,

    /// Scan in this many parallel segments: how a large table is read fast on DynamoDB; on an
    /// emulator that serves one request at a time (dynoxide, DynamoDB Local) it is slower
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=64))]
    pub segments: i32,
}

/// How the bulk write path writes (`ddb seed`, `ddb import`).
#[derive(Debug, Args, Clone, Copy)]
pub struct WriteArgs {
    /// The most BatchWriteItem requests in flight at once. The writer starts at 4 and adds
    /// more while calls come back about as fast as the fastest (a distant endpoint), and
    /// halves on throttling (a partition's limit), never above this
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub concurrency: u16,

    /// Retries of one batch (unprocessed items, throttling) before its keys are reported unwritten
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_retries: u32,
}

impl From<WriteArgs> for crate::dynamodb::batch::BatchOptions {
    fn from(args: WriteArgs) -> crate::dynamodb::batch::BatchOptions {
        crate::dynamodb::batch::BatchOptions {
            concurrency: args.concurrency,
            max_retries: args.max_retries,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write here (made whole or not at all: a `.partial` file is renamed at the end)
    /// [default: stdout]
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// DynamoDB's S3 export lines (`{"Item": {"pk": {"S": "…"}, …}}`, typed) instead of plain
    /// JSON: what ImportTable reads once uploaded, and `ddb import` reads back
    #[arg(long)]
    pub dynamodb_json: bool,

    /// Compress the lines with gzip (as DynamoDB's S3 export does: name the file `….json.gz`)
    #[arg(long)]
    pub gzip: bool,

    /// Scan in this many parallel segments
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=64))]
    pub segments: i32,

    /// Export server-side instead, with DynamoDB's ExportTableToPointInTime, to
    /// s3://BUCKET/PREFIX: a consistent snapshot, no read capacity spent (a write: it plans
    /// and asks for confirmation in --prod)
    #[arg(long, value_name = "URL", conflicts_with_all = ["file", "gzip", "dynamodb_json"])]
    pub s3: Option<String>,

    /// With --s3: turn point-in-time recovery on first when it is off (it must be on)
    #[arg(long, requires = "s3")]
    pub enable_pitr: bool,

    /// With --s3: print the export's ARN instead of waiting for it to finish
    #[arg(long, requires = "s3")]
    pub no_wait: bool,

    /// With --s3: how long to wait for the export
    #[arg(long, default_value = "30m", value_parser = parse_duration, value_name = "DURATION")]
    pub wait_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum S3Compression {
    Gzip,
    None,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON lines as `ddb export` writes them (plain, or DynamoDB's `{"Item": …}` lines),
    /// gzip or not; or a folder of DynamoDB's S3 export (`AWSDynamoDB/<id>/data/*.json.gz`)
    #[arg(required_unless_present = "s3")]
    pub path: Option<PathBuf>,

    /// Import server-side instead, with DynamoDB's ImportTable, from s3://BUCKET/PREFIX into
    /// the table --table names, which must not exist yet (made with the app's keys, index and
    /// stream)
    #[arg(long, value_name = "URL", conflicts_with_all = ["path", "skip_invalid", "dynamodb_json"])]
    pub s3: Option<String>,

    /// With --s3: whether the files under the prefix are gzip (as DynamoDB's exports are)
    #[arg(long, value_enum, default_value_t = S3Compression::Gzip, requires = "s3")]
    pub s3_compression: S3Compression,

    /// With --s3: how long to wait for the import
    #[arg(long, default_value = "30m", value_parser = parse_duration, value_name = "DURATION")]
    pub wait_timeout: Duration,

    /// The lines are DynamoDB's typed JSON without the `{"Item": …}` wrapper (an older
    /// export); `{"Item": …}` lines are read as typed either way
    #[arg(long)]
    pub dynamodb_json: bool,

    /// Skip malformed lines (and report them) instead of refusing the whole file
    #[arg(long)]
    pub skip_invalid: bool,

    /// In --prod: do not take the on-demand backup that comes first otherwise (an import
    /// replaces items with the same keys)
    #[arg(long)]
    pub no_backup: bool,

    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct DdbDropArgs {
    /// The table to delete [default: --table]
    pub table_name: Option<String>,

    /// A missing table is fine: say so and exit 0
    #[arg(long)]
    pub if_exists: bool,

    /// In --prod: do not take the on-demand backup that comes first otherwise
    #[arg(long)]
    pub no_backup: bool,
}

#[derive(Debug, Subcommand)]
pub enum PatternsCommand {
    /// Pattern 2: the newest messages of one conversation, oldest first
    #[command(
        after_help = reads!("Examples:\n  cruddur ddb patterns get-conversation\n  cruddur ddb patterns get-conversation --limit 100 --json")
    )]
    GetConversation(GetConversationArgs),
    /// Pattern 1: a user's conversations, latest first
    #[command(
        after_help = reads!("Examples:\n  cruddur ddb patterns list-conversations --handle timmy-cde\n  cruddur ddb patterns list-conversations --user-uuid 0b6a…")
    )]
    ListConversations(ListConversationsArgs),
    /// Pattern 3: send a message, creating the conversation if the pair has none
    #[command(
        after_help = writes!("Example:\n  cruddur ddb patterns send-message --from timmy-cde --to londo --message 'Hello!'")
    )]
    SendMessage(SendMessageArgs),
}

#[derive(Debug, Args)]
pub struct GetConversationArgs {
    /// The conversation
    #[arg(
        long,
        default_value = SEED_GROUP,
        value_name = "UUID"
    )]
    pub message_group_uuid: String,

    /// How many of the newest messages (every page is followed until there are that many)
    #[arg(long, default_value_t = 20, value_parser = positive_i32, allow_hyphen_values = true, value_name = "N")]
    pub limit: i32,
}

#[derive(Debug, Args)]
pub struct ListConversationsArgs {
    /// The user, by handle (looked up in Postgres) [default: as `ddb seed`'s --my-handle:
    /// timmy-cde when both timmy-cde and tim-suarez are users, else the oldest user]
    #[arg(long, conflicts_with = "user_uuid", value_name = "HANDLE")]
    pub handle: Option<String>,

    /// The user, by uuid (no Postgres needed)
    #[arg(long, value_name = "UUID")]
    pub user_uuid: Option<String>,
}

#[derive(Debug, Args)]
pub struct SendMessageArgs {
    /// The sender's handle
    #[arg(long, value_name = "HANDLE")]
    pub from: String,

    /// The receiver's handle
    #[arg(long, value_name = "HANDLE")]
    pub to: String,

    /// The text
    #[arg(long, value_name = "TEXT")]
    pub message: String,
}

/// The Cognito user pool the app signs in with.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// The user pool's id, e.g. us-east-1_bnfXCOI56
    #[arg(long, env = "AWS_COGNITO_USER_POOL_ID", value_name = "ID")]
    pub pool_id: Option<String>,

    /// Reach Cognito at this endpoint (an emulator); with --prod the endpoint variables are
    /// refused, and only this flag may name one
    #[arg(long, value_name = "URL")]
    pub cognito_endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CognitoCommand {
    /// List every user of the pool (all pages)
    #[command(
        after_help = reads!("Examples:\n  cruddur cognito list-users --pool-id us-east-1_abc\n  cruddur cognito list-users --json | jq -r '.[] | select(.handle == null) | .username'")
    )]
    ListUsers(PoolArgs),
}

#[derive(Debug, Subcommand)]
pub enum RdsCommand {
    /// Let this workspace's public IP through the RDS security group's one ingress rule
    #[command(
        after_help = "Writes to EC2, through the guard: it needs --prod (or an emulator endpoint) and asks for confirmation (--yes without a terminal); --dry-run prints the change and does nothing.\n\nExamples:\n  cruddur rds update-sg-rule                  # IP from GITPOD_IP, else looked up\n  cruddur rds update-sg-rule --ip 34.1.2.3 --group-id sg-0abc --rule-id sgr-0def"
    )]
    UpdateSgRule(SgRuleArgs),
}

#[derive(Debug, Args)]
pub struct SgRuleArgs {
    /// The IP to let through [default: looked up at --ip-url]
    #[arg(long, env = "GITPOD_IP", value_name = "IPV4")]
    pub ip: Option<String>,

    /// The RDS instance's security group
    #[arg(long, env = "DB_SG_ID", value_name = "ID")]
    pub group_id: Option<String>,

    /// The ingress rule to rewrite
    #[arg(long, env = "DB_SG_RULE_ID", value_name = "ID")]
    pub rule_id: Option<String>,

    /// The Postgres port
    #[arg(long, default_value_t = 5432)]
    pub port: u16,

    /// The rule's description
    #[arg(long, default_value = "GITPOD")]
    pub description: String,

    /// Reach EC2 at this endpoint (an emulator); with --prod the endpoint variables are
    /// refused, and only this flag may name one
    #[arg(long, value_name = "URL")]
    pub ec2_endpoint_url: Option<String>,

    /// Where to look this machine's public IP up (an HTTP(S) page that answers with the IP)
    #[arg(
        long,
        env = "CRUDDUR_IP_URL",
        default_value = "https://checkip.amazonaws.com",
        value_name = "URL"
    )]
    pub ip_url: String,
}

/// The longest duration any flag takes: a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// `500ms`, `5s`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 5s, 500ms or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{unit}`: use ms, s or m"
            ))
        }
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("`{text}` must be more than zero"));
    }
    if seconds > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "`{text}` is too long: at most {}m (one day)",
            MAX_DURATION.as_secs() / 60
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A whole number from 1 up (a count): anything else says what is wanted.
fn positive_i32(text: &str) -> Result<i32, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n <= i64::from(i32::MAX) => Ok(n as i32),
        Ok(n) if n >= 1 => Err(format!("`{n}` is too large: at most {}", i32::MAX)),
        _ => Err(format!(
            "`{text}` is not a positive whole number (1, 2, 3, …)"
        )),
    }
}

fn positive_usize(text: &str) -> Result<usize, String> {
    positive_i32(text).map(|n| n as usize)
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE, e.g. --param handle=timmy-cde"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("1441m").is_err());
        assert_eq!(parse_duration("1440m"), Ok(MAX_DURATION));
    }

    #[test]
    fn params() {
        assert_eq!(
            parse_param("handle=timmy-cde"),
            Ok(("handle".into(), "timmy-cde".into()))
        );
        assert_eq!(
            parse_param("message=a=b"),
            Ok(("message".into(), "a=b".into()))
        );
        assert_eq!(parse_param("empty="), Ok(("empty".into(), String::new())));
        assert!(parse_param("=x").is_err());
        assert!(parse_param("novalue").is_err());
    }
}
