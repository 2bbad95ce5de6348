//! `cruddur doctor`: the resolved configuration (passwords as `***`) and a check of every
//! piece, each ok / warn / fail with the command that fixes it. Exit 1 if any fails.

use anyhow::Result;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{IndexStatus, TableStatus};
use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::ctx::{Ctx, Target};
use crate::dynamodb::{Ddb, INDEX};
use crate::output::{Column, Outcome, View};
use crate::pg::database_exists;
use crate::pg::marker;

#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub check: String,
    pub status: &'static str,
    pub detail: String,
    pub fix: String,
}

/// The report's rows, in the order they were checked.
#[derive(Debug, Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, check: Check) {
        self.0.push(check);
    }

    fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.push(check(name, "ok", detail, ""));
    }

    fn warn(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(check(name, "warn", detail, fix));
    }

    fn fail(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(check(name, "fail", detail, fix));
    }
}

fn check(
    check: &str,
    status: &'static str,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        check: check.into(),
        status,
        detail: detail.into(),
        fix: fix.into(),
    }
}

pub(crate) fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<Outcome> {
    let mut checks = Checks::default();
    checks.ok("target", ctx.target.name());
    let region = region(ctx, &mut checks);
    app_files(ctx, &mut checks);
    postgres(ctx, &mut checks);
    migrations(ctx, args, &mut checks);
    postgres_shape(ctx, args, &mut checks);
    dynamodb(ctx, region, &mut checks);
    cognito(ctx, args, region, &mut checks);
    let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    checks.push(if set(&args.group_id) && set(&args.rule_id) {
        check("security group", "ok", format!("{} / {}", args.group_id.as_deref().unwrap_or(""), args.rule_id.as_deref().unwrap_or("")), "")
    } else {
        check(
            "security group",
            "warn",
            "DB_SG_ID or DB_SG_RULE_ID is unset: `cruddur rds update-sg-rule` cannot run",
            "export DB_SG_ID=sg-… DB_SG_RULE_ID=sgr-… (the RDS instance's group and its ingress rule)",
        )
    });
    let failed = checks.0.iter().filter(|c| c.status == "fail").count();
    let outcome = match Outcome::rows(&["check", "status", "detail", "fix"], &checks.0)? {
        Outcome::Rows { rows, .. } => Outcome::rows_with(
            vec![
                Column::new("check"),
                Column::new("status").view(View::Status),
                Column::new("detail"),
                Column::new("fix"),
            ],
            rows,
        )
        .uncounted(),
        other => other,
    };
    if failed == 0 {
        return Ok(outcome);
    }
    Ok(Outcome::Failing {
        outcome: Box::new(outcome),
        error: anyhow::anyhow!(
            "{failed} check{} failed; each row says how to fix it",
            if failed == 1 { "" } else { "s" }
        ),
    })
}

/// The row of the profile and the region, saying where the region comes from as the AWS CLI
/// decides it: `--region`, then AWS_REGION / AWS_DEFAULT_REGION, then the profile, and in
/// production the instance's metadata. Locally DynamoDB falls back to us-east-1 (any emulator
/// takes it) but Cognito and EC2 do not; production has no default, so no region there fails
/// this row. The rows that need a region they cannot have point at this one.
fn region(ctx: &Ctx, checks: &mut Checks) -> Region {
    const ROW: &str = "aws profile and region";
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let profile = ctx
        .profile
        .clone()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let named = ctx
        .region
        .clone()
        .map(|r| (r, "--region".to_string()))
        .or_else(|| env("AWS_REGION").map(|r| (r, "AWS_REGION".into())))
        .or_else(|| env("AWS_DEFAULT_REGION").map(|r| (r, "AWS_DEFAULT_REGION".into())));
    // Locally only a flag or a variable reaches DynamoDB; a profile's region reaches the others.
    let local_dynamodb = format!(
        "the local DynamoDB uses {} (an emulator takes any)",
        crate::dynamodb::LOCAL_REGION
    );
    let (found, note) = match named {
        Some(named) => (Some(named), String::new()),
        None if ctx.target == Target::Local => (
            configured_region(ctx, &profile),
            format!(" for Cognito and EC2; {local_dynamodb}"),
        ),
        None => (configured_region(ctx, &profile), String::new()),
    };
    match found {
        Some((region, source)) => {
            checks.ok(
                ROW,
                format!("profile {profile}, region {region} (from {source}){note}"),
            );
            Region::Known
        }
        None if ctx.target == Target::Local => {
            checks.ok(
                ROW,
                format!(
                    "profile {profile}, no region set: {local_dynamodb}; Cognito and EC2 need one"
                ),
            );
            Region::LocalDefault
        }
        None => {
            checks.fail(
                ROW,
                format!("profile {profile}, no region: no --region, AWS_REGION or AWS_DEFAULT_REGION, and none in the profile"),
                format!("export AWS_REGION=… (the region of the app's stores), or pass --region, or `aws configure set region … --profile {profile}`"),
            );
            Region::Missing
        }
    }
}

/// The region when no flag or variable names one: the profile's, else (in production) the
/// SDK's, which also asks the instance's metadata. Locally the metadata is never asked.
fn configured_region(ctx: &Ctx, profile: &str) -> Option<(String, String)> {
    use aws_config::meta::region::ProvideRegion;
    let mut provider = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = &ctx.profile {
        provider = provider.profile_name(name);
    }
    let provider = provider.build();
    if let Ok(Some(region)) = ctx.block_on(provider.region()) {
        return Some((region.to_string(), format!("the profile {profile}")));
    }
    if ctx.target == Target::Local {
        return None;
    }
    let region = ctx.aws().ok()?.region()?.to_string();
    Some((region, "the instance's metadata".into()))
}

/// Whether AWS calls have a region: named, only DynamoDB's local default, or none at all
/// (the rows that need one say so, once).
#[derive(Clone, Copy, PartialEq)]
enum Region {
    Known,
    LocalDefault,
    Missing,
}

/// A row that cannot be checked without a region: it points at the region's row.
fn needs_region(checks: &mut Checks, name: &str) {
    checks.push(check(
        name,
        "skip",
        "needs an AWS region: see `aws profile and region`",
        "",
    ));
}

fn postgres(ctx: &Ctx, checks: &mut Checks) {
    let pg = match ctx.pg() {
        Ok(pg) => pg,
        Err(error) => {
            checks.fail(
                "postgres url",
                format!("{error:#}"),
                "set the variable it names",
            );
            return;
        }
    };
    checks.ok(
        "postgres url",
        format!("{} (from {})", pg.display, pg.source),
    );
    let setup = if ctx.target == Target::Local {
        "cruddur db setup"
    } else {
        "cruddur --prod db create && cruddur --prod db schema-load"
    };
    let mut admin = match pg.connect_maintenance() {
        Ok(client) => {
            checks.ok("postgres login", format!("logged in to {}", pg.server()));
            client
        }
        Err(error) => {
            let fix = match ctx.target {
                Target::Local => "start the local Postgres (docker compose up -d db, or scripts/demo), and check CONNECTION_URL",
                Target::Prod => "cruddur rds update-sg-rule, and check PROD_CONNECTION_URL",
            };
            checks.fail("postgres login", format!("{error:#}"), fix);
            return;
        }
    };
    match database_exists(&mut admin, &pg.dbname) {
        Ok(true) => checks.ok("database", format!("`{}` exists", pg.dbname)),
        Ok(false) => {
            checks.fail("database", format!("`{}` does not exist", pg.dbname), setup);
            return;
        }
        Err(error) => {
            checks.fail("database", format!("{error:#}"), setup);
            return;
        }
    }
    match marker(&mut admin, &pg.dbname) {
        Ok(Some(env)) if env != ctx.target.name() => checks.push(check(
            "environment marker",
            if env == "prod" { "fail" } else { "warn" },
            format!(
                "the database is marked `{env}` but this is {} mode",
                ctx.target.name()
            ),
            "check CONNECTION_URL / PROD_CONNECTION_URL",
        )),
        Ok(Some(env)) => checks.ok("environment marker", format!("marked `{env}`")),
        Ok(None) => checks.warn(
            "environment marker",
            "not marked (schema loaded by another tool?)",
            setup,
        ),
        Err(error) => checks.warn("environment marker", format!("{error:#}"), ""),
    }
    let tables = pg.connect().and_then(|mut client| {
        let row = client.query_one(
            "SELECT to_regclass('public.users') IS NOT NULL, to_regclass('public.activities') IS NOT NULL",
            &[],
        )?;
        Ok((row.get::<_, bool>(0), row.get::<_, bool>(1)))
    });
    checks.push(match tables {
        Ok((true, true)) => check("schema", "ok", "tables users and activities exist", ""),
        Ok(_) => check(
            "schema",
            "fail",
            "users or activities is missing",
            if ctx.target == Target::Local {
                "cruddur db setup"
            } else {
                "cruddur --prod db schema-load"
            },
        ),
        Err(error) => check("schema", "fail", format!("{error:#}"), setup),
    });
}

/// `: a running cruddur ddb serve (pid …, stream worker on)` when the endpoint is one.
fn served_by(endpoint: &str) -> String {
    #[cfg(feature = "serve")]
    {
        let port = crate::hosts::endpoint_host(endpoint)
            .filter(|host| crate::hosts::is_local_host(host))
            .and_then(|_| {
                endpoint
                    .rsplit(':')
                    .next()?
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            });
        if let Some(status) = port.and_then(crate::ddb::serve::running) {
            return format!(
                ": a running `cruddur ddb serve` (pid {}, data in {}, stream worker {})",
                status.pid,
                status.data,
                if status.stream_worker { "on" } else { "off" }
            );
        }
    }
    let _ = endpoint;
    String::new()
}

fn dynamodb(ctx: &Ctx, region: Region, checks: &mut Checks) {
    if region == Region::Missing {
        return needs_region(checks, "dynamodb endpoint");
    }
    let ddb = match ctx.ddb() {
        Ok(ddb) => ddb,
        Err(error) => {
            checks.fail("dynamodb endpoint", format!("{error:#}"), "see the message");
            return;
        }
    };
    let schema_load = if ctx.target == Target::Local {
        "cruddur ddb schema-load"
    } else {
        "cruddur --prod ddb schema-load"
    };
    let described = ctx.block_on(ddb.client.describe_table().table_name(&ddb.table).send());
    let table = match described {
        Err(error) => {
            checks.fail("dynamodb endpoint", format!("{error:#}"), "");
            return;
        }
        Ok(Err(error)) if error.code() == Some("ResourceNotFoundException") => {
            checks.ok(
                "dynamodb endpoint",
                format!("{} ({})", ddb.endpoint, ddb.region),
            );
            checks.fail(
                "dynamodb table",
                format!("table `{}` does not exist", ddb.table),
                schema_load,
            );
            return;
        }
        Ok(Err(error)) => {
            let fix = if ctx.target == Target::Local {
                "start one: `cruddur ddb serve` (or DynamoDB Local: docker compose up -d dynamodb-local), or set AWS_ENDPOINT_URL"
            } else {
                "check your AWS credentials and region"
            };
            checks.fail(
                "dynamodb endpoint",
                format!("{:#}", ddb.explain("DescribeTable", error)),
                fix,
            );
            return;
        }
        Ok(Ok(output)) => output.table,
    };
    checks.ok(
        "dynamodb endpoint",
        format!(
            "{} ({}){}",
            ddb.endpoint,
            ddb.region,
            served_by(&ddb.endpoint)
        ),
    );
    let Some(table) = table else { return };
    let status = table
        .table_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    checks.push(check(
        "dynamodb table",
        if table.table_status() == Some(&TableStatus::Active) {
            "ok"
        } else {
            "warn"
        },
        format!(
            "`{}` is {status}, {} items (approximate)",
            ddb.table,
            table.item_count().unwrap_or_default()
        ),
        "",
    ));
    if ctx.target == Target::Prod {
        protection(ctx, ddb, &table, checks);
    }
    let index = table
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(INDEX));
    checks.push(match index {
        Some(index)
            if index.index_status() == Some(&IndexStatus::Active)
                || index.index_status().is_none() =>
        {
            check("dynamodb index", "ok", format!("{INDEX} is there"), "")
        }
        Some(index) => check(
            "dynamodb index",
            "warn",
            format!(
                "{INDEX} is {}",
                index
                    .index_status()
                    .map_or("without a status", |s| s.as_str())
            ),
            "wait, then run doctor again",
        ),
        None => check(
            "dynamodb index",
            "fail",
            format!(
                "`{}` has no index {INDEX}: pattern 3 and seed --replace need it",
                ddb.table
            ),
            format!("cruddur ddb drop && {schema_load} (back the table up first)"),
        ),
    });
    table_shape(ctx, ddb, checks);
}

/// The first of `differences` and how many more, for a row.
fn first_of<T: std::fmt::Display>(differences: &[T]) -> String {
    match differences {
        [] => String::new(),
        [only] => only.to_string(),
        [first, rest @ ..] => format!("{first}; and {} more", rest.len()),
    }
}

/// The database against what the app's files make (`db diff`), built in a throwaway
/// database on its own server; in production only where CRUDDUR_SHADOW_URL says. A
/// difference warns: `db diff` is the gate that fails.
fn postgres_shape(ctx: &Ctx, args: &DoctorArgs, checks: &mut Checks) {
    use crate::db::diff::{drift, shadow_server, shadow_url};
    const ROW: &str = "postgres shape";
    let there = checks
        .0
        .iter()
        .any(|c| c.check == "database" && c.status == "ok");
    let (true, Ok(pg)) = (there, ctx.pg()) else {
        return; // the rows above say why
    };
    let Ok(url) = shadow_url(ctx, None) else {
        checks.warn(
            ROW,
            "not compared: in --prod the throwaway database the app's files are built in needs a server of its own",
            "CRUDDUR_SHADOW_URL=… cruddur --prod db diff",
        );
        return;
    };
    let diff = if ctx.target == Target::Prod {
        "cruddur --prod db diff"
    } else {
        "cruddur db diff"
    };
    let found = shadow_server(ctx, pg, url)
        .and_then(|server| drift(ctx, pg, &server, args.dir.migrations_dir.as_deref()));
    match found {
        Ok(drift) if drift.differences.is_empty() => checks.ok(
            ROW,
            format!(
                "matches the app's files (schema.sql and {} applied migration{})",
                drift.applied,
                if drift.applied == 1 { "" } else { "s" }
            ),
        ),
        Ok(drift) => checks.warn(ROW, first_of(&drift.differences), diff),
        Err(error) => checks.warn(ROW, format!("not compared: {error:#}"), diff),
    }
}

/// The table against what `ddb schema-load` makes (`ddb diff`). A difference warns.
fn table_shape(ctx: &Ctx, ddb: &Ddb, checks: &mut Checks) {
    use crate::dynamodb::drift::{compare, Layout};
    const ROW: &str = "dynamodb shape";
    let diff = if ctx.target == Target::Prod {
        "cruddur --prod ddb diff"
    } else {
        "cruddur ddb diff"
    };
    let found = crate::dynamodb::table::shape().and_then(|shape| {
        let expected = Layout::expected(&shape, true, ctx.target == Target::Prod);
        let found = ctx.block_on(ddb.layout())??;
        Ok(compare(&expected, &found))
    });
    match found {
        Ok(differences) => {
            let drifted: Vec<_> = differences.iter().filter(|d| d.drift).collect();
            if drifted.is_empty() {
                checks.ok(ROW, "matches what `ddb schema-load` makes");
            } else {
                checks.warn(ROW, first_of(&drifted), diff);
            }
        }
        Err(error) => checks.warn(ROW, format!("not compared: {error:#}"), diff),
    }
}

/// The app folder found (or none: the built-in files), and each file it gives: there, and
/// split into statements (a named query: one, with its parameters).
fn app_files(ctx: &Ctx, checks: &mut Checks) {
    let app = match ctx.app() {
        Ok(app) => app,
        Err(error) => {
            checks.fail(
                "app folder",
                format!("{error:#}"),
                "fix --app-dir (CRUDDUR_APP_DIR), or unset it to look from the current folder",
            );
            return;
        }
    };
    checks.ok("app folder", app.describe());
    let fix = "fix the file, or name another with --file (--app-dir for another folder)";
    for (check, source) in [
        ("schema.sql", app.schema(None)),
        ("seed.sql", app.seed(None)),
    ] {
        match source.and_then(|source| {
            let statements = crate::db::split(&source)?.len();
            Ok((source.name, statements))
        }) {
            Ok((name, n)) => checks.ok(
                check,
                format!("{name}: {n} statement{}", if n == 1 { "" } else { "s" }),
            ),
            Err(error) => checks.fail(check, format!("{error:#}"), fix),
        }
    }
    match app.queries() {
        Ok(queries) => {
            let broken: Vec<String> = queries
                .iter()
                .filter_map(|q| q.prepare().err().map(|e| format!("{e:#}")))
                .collect();
            let detail = format!("{} in {}", queries.len(), app.queries_folder());
            if broken.is_empty() {
                checks.ok("named queries", detail);
            } else {
                checks.warn(
                    "named queries",
                    format!(
                        "{detail}; {} cannot run: {}",
                        broken.len(),
                        broken.join("; ")
                    ),
                    "fix the file at the line named",
                );
            }
        }
        Err(error) => checks.warn("named queries", format!("{error:#}"), "cruddur db query"),
    }
}

/// In production: deletion protection, and point-in-time recovery (what a restore needs).
fn protection(
    ctx: &Ctx,
    ddb: &Ddb,
    table: &aws_sdk_dynamodb::types::TableDescription,
    checks: &mut Checks,
) {
    if table.deletion_protection_enabled() == Some(true) {
        checks.ok("deletion protection", format!("on for `{}`", ddb.table));
    } else {
        checks.warn(
            "deletion protection",
            format!("off for `{}`: one DeleteTable loses it all", ddb.table),
            "cruddur --prod ddb deletion-protection on",
        );
    }
    let backups = ctx.block_on(
        ddb.client
            .describe_continuous_backups()
            .table_name(&ddb.table)
            .send(),
    );
    let pitr = match backups {
        Ok(Ok(output)) => output
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str().to_string()),
        Ok(Err(error)) => {
            checks.warn(
                "point-in-time recovery",
                format!("{:#}", ddb.explain("DescribeContinuousBackups", error)),
                "check the role's dynamodb:DescribeContinuousBackups permission",
            );
            return;
        }
        Err(error) => {
            checks.warn("point-in-time recovery", format!("{error:#}"), "");
            return;
        }
    };
    match pitr.as_deref() {
        Some("ENABLED") => checks.ok("point-in-time recovery", "enabled: restorable to any second of the last 35 days"),
        other => checks.warn(
            "point-in-time recovery",
            format!("{}: a lost item cannot be restored", other.unwrap_or("unknown").to_ascii_lowercase()),
            format!(
                "aws dynamodb update-continuous-backups --table-name {} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
                ddb.table
            ),
        ),
    }
}

/// Pending migrations are a warning with the command that applies them; no folder, no row.
fn migrations(ctx: &Ctx, args: &DoctorArgs, checks: &mut Checks) {
    use crate::migrations::{find_folder, read_all, read_state, statuses};
    let Ok(app) = ctx.app() else {
        return; // the app folder's row says why
    };
    let folder = match find_folder(app, args.dir.migrations_dir.as_deref()) {
        Ok(Some(folder)) => folder,
        Ok(None) => return,
        Err(error) => {
            checks.fail("migrations", format!("{error:#}"), "");
            return;
        }
    };
    let found = read_all(&folder).and_then(|migrations| {
        let mut client = ctx.pg()?.connect()?;
        let state = read_state(&mut client)?;
        Ok(statuses(&migrations, &state))
    });
    checks.push(match found {
        Ok(rows) => {
            let pending = rows.iter().filter(|r| r.state == "pending").count();
            let warned = rows.iter().filter(|r| r.warning.is_some()).count();
            if pending == 0 && warned == 0 {
                check(
                    "migrations",
                    "ok",
                    format!("all {} of {} applied", rows.len(), folder.shown),
                    "",
                )
            } else {
                check(
                    "migrations",
                    "warn",
                    format!(
                        "{pending} of {} pending, {warned} with a warning ({})",
                        rows.len(),
                        folder.shown
                    ),
                    "cruddur db migrations; cruddur db migrate",
                )
            }
        }
        Err(error) => check(
            "migrations",
            "warn",
            format!("{error:#}"),
            "cruddur db migrations",
        ),
    });
}

fn cognito(ctx: &Ctx, args: &DoctorArgs, region: Region, checks: &mut Checks) {
    let Some(pool) = crate::cognito::Pool::configured(&args.pool) else {
        checks.warn(
            "cognito pool",
            "AWS_COGNITO_USER_POOL_ID is unset: Cognito ids are not linked",
            "export AWS_COGNITO_USER_POOL_ID=us-east-1_…",
        );
        return;
    };
    if region != Region::Known {
        return needs_region(checks, "cognito pool");
    }
    let reached = crate::cognito::describe_pool(ctx, &pool);
    checks.push(match reached {
        Ok(_) => check(
            "cognito pool",
            "ok",
            format!("{} is reachable", pool.id),
            "",
        ),
        Err(error) => check(
            "cognito pool",
            "fail",
            format!("{error:#}"),
            "check AWS_COGNITO_USER_POOL_ID, the region and your credentials",
        ),
    });
}
