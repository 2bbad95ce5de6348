//! Stable output pinned whole, as a user sees it: plans, reports, refusals and `--help`. A
//! fragment check would let a stray line, a lost one or a reordered plan through; these fail
//! on any change, which must then be a deliberate one.

use crate::harness::{cruddur, TestDb, TestTable};

#[test]
fn a_plan_and_its_report_whole() {
    let db = TestDb::new("wh_create");
    let (name, server) = (&db.name, db.server());
    cruddur(&["db", "create", "--dry-run"])
        .db(&db)
        .stdout_is(&format!(
            "dry run, nothing was done: would create database `{name}` (Postgres database `{name}` at {server})\n  - CREATE DATABASE \"{name}\"\n"
        ))
        .stderr_is("")
        .run();
    cruddur(&["db", "create"])
        .db(&db)
        .stdout_is(&format!("created database `{name}` on {server}\n"))
        .stderr_is("")
        .run();
    cruddur(&["db", "create", "--json"])
        .db(&db)
        .stdout_is(&format!(
            "{{\n  \"database\": \"{name}\",\n  \"created\": false\n}}\n"
        ))
        .run();
    cruddur(&["db", "drop", "--dry-run"])
        .db(&db)
        .stdout_is(&format!(
            "dry run, nothing was done: would drop database `{name}` (Postgres database `{name}` at {server})\n  - DROP DATABASE IF EXISTS \"{name}\"\n"
        ))
        .run();
}

/// `--dry-run --json` gives a machine the plan's operations, each its store, its name and its
/// fields, beside the lines a person reads.
#[test]
fn a_database_dry_run_gives_machines_its_operations() {
    let db = TestDb::new("wh_ops");
    let (name, server) = (&db.name, db.server());
    cruddur(&["db", "create", "--dry-run", "--json"])
        .db(&db)
        .stdout_is(&format!(
            r#"{{
  "dry_run": true,
  "summary": "would create database `{name}` (Postgres database `{name}` at {server})",
  "actions": [
    "CREATE DATABASE \"{name}\""
  ],
  "ops": [
    {{
      "store": "postgres",
      "op": "statement",
      "sql": "CREATE DATABASE \"{name}\""
    }}
  ]
}}
"#
        ))
        .stderr_is("")
        .run();
}

/// The same for a table: a DynamoDB plan's operations, beside the lines a person reads.
#[test]
fn a_table_dry_run_gives_machines_its_operations() {
    let table = TestTable::new("wh-ops");
    let (name, endpoint) = (&table.name, &table.endpoint);
    cruddur(&[
        "ddb",
        "schema-load",
        "--no-stream",
        "--wait-timeout",
        "90s",
        "--dry-run",
        "--json",
    ])
    .table(&table)
    .stdout_is(&format!(
        r#"{{
  "dry_run": true,
  "summary": "would create table `{name}` (billed capacity) (DynamoDB table `{name}` at {endpoint})",
  "actions": [
    "CreateTable {name}: pk (HASH, S) + sk (RANGE, S); index message-group-sk-index on message_group_uuid (HASH, S) + sk (RANGE), projection ALL; PROVISIONED 5/5 on both; no stream (--no-stream); deletion protection off",
    "DescribeTable until ACTIVE (up to 90s)"
  ],
  "ops": [
    {{
      "store": "dynamodb",
      "op": "create_table",
      "table": "{name}",
      "index": "message-group-sk-index",
      "stream": false,
      "deletion_protection": false,
      "if_not_exists": false
    }},
    {{
      "store": "dynamodb",
      "op": "wait_active",
      "timeout_seconds": 90.0
    }}
  ]
}}
"#
    ))
    .stderr_is("")
    .run();
}

#[test]
fn a_refusal_whole() {
    let db = TestDb::set_up("wh_refuse");
    let (name, server) = (&db.name, db.server());
    // Production without a terminal and without --yes: refused before anything runs.
    cruddur(&["--prod", "db", "seed"])
        .env("PROD_CONNECTION_URL", db.url())
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "PRODUCTION Postgres: postgresql://postgres:***@{server}/{name}\nerror: refusing to run 2 statements of built-in sql/seed.sql in one transaction (Postgres database `{name}` at {server}) in production without confirmation: re-run with --yes\n"
        ))
        .run();
    // Local mode and a database that is not local: refused before connecting.
    cruddur(&["db", "drop"])
        .env(
            "CONNECTION_URL",
            "postgresql://app:secret@db.example.com:5432/cruddur",
        )
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: CONNECTION_URL points at `db.example.com`, which is not a local host, but this is local mode: nothing was done. For production add --prod (it reads PROD_CONNECTION_URL); for a development database on purpose on another host, add --allow-remote-host\n",
        )
        .run();
}

/// A command's short help: its line, usage, flags (its own and the global groups), what kind
/// of command it is and its examples. A new global flag shows up here, on purpose.
#[test]
fn a_command_s_help_whole() {
    cruddur(&["ddb", "deletion-protection", "-h"])
        .stdout_is(DELETION_PROTECTION_HELP)
        .stderr_is("")
        .run();
}

const DELETION_PROTECTION_HELP: &str = r#"Turn the table's deletion protection on or off (DeleteTable is refused while it is on)

Usage: cruddur ddb deletion-protection [OPTIONS] <STATE>

Arguments:
  <STATE>  Turn deletion protection on or off [possible values: on, off]

Options:
  -h, --help     Print help (see more with '--help')
  -V, --version  Print version

Global options:
      --prod                  Work on production (RDS, AWS) instead of the local stack
  -o, --output <OUTPUT>       How to print results [default: table] [possible values: table, json,
                              jsonl]
      --json                  Shorthand for --output json
  -y, --yes                   Answer yes to confirmations (needed for destructive --prod commands
                              without a terminal)
  -v, --verbose               Say more about what is done
  -q, --quiet                 Say nothing on stderr but errors and warnings
      --dry-run               Print the plan of a command that writes (target, statements, API
                              calls) and do nothing; a command that only reads refuses it
      --override-prod-marker  Let a local-mode destructive command touch a database that `--prod db
                              schema-load` marked as production
      --allow-remote-host     Let local mode reach a Postgres host that is not local (a development
                              database on another machine, on purpose). Never lifts the refusal of
                              AWS hosts
      --profile <NAME>        The AWS profile to use, as the AWS CLI's --profile (wins over
                              AWS_PROFILE)
      --region <NAME>         The AWS region, as the AWS CLI's --region (wins over AWS_REGION and
                              the profile's)
      --app-dir <PATH>        The app's database folder (its schema.sql, seed.sql, sql/ and
                              migrations/), or the repository holding it [default: backend-flask/db,
                              or db/ with schema.sql, in this folder or the first above it that has
                              one; else the built-in files] [env: CRUDDUR_APP_DIR=]
      --env-file <PATH>       Read variables from this file (default: .env in the current folder,
                              when present; the real environment wins over the file)

Postgres:
      --database-url <URL>          Local Postgres URL [default:
                                    postgresql://postgres:password@localhost:5432/cruddur] [env:
                                    CONNECTION_URL]
      --prod-database-url <URL>     Production Postgres URL, used with --prod [env:
                                    PROD_CONNECTION_URL]
      --connect-timeout <DURATION>  Give up connecting to Postgres after this long (e.g. 5s, 500ms,
                                    1m) [default: 5s]
      --wait                        Wait for Postgres to accept a login before the command (as
                                    `cruddur wait postgres`)
      --wait-timeout <DURATION>     How long --wait waits [default: 60s]
      --lock-timeout <DURATION>     With --prod: how long a statement may wait for a lock before it
                                    fails (and rolls back), so that it never queues the app's
                                    queries behind it [default: 5s]

DynamoDB:
      --table <NAME>        The messages table [env: DDB_MESSAGE_TABLE=] [default: cruddur-messages]
      --endpoint-url <URL>  DynamoDB endpoint [local default: AWS_ENDPOINT_URL_DYNAMODB, else
                            AWS_ENDPOINT_URL, else http://localhost:8000; with --prod: the region's
                            AWS endpoint]

Writes, through the guard: in --prod it asks for confirmation (--yes without a terminal); --dry-run
prints the plan and does nothing.

Examples:
  cruddur --prod ddb deletion-protection off   # before a drop you mean
  cruddur --prod ddb deletion-protection on
"#;

/// One row of `doctor --json`, as it prints it inside its list.
fn doctor_row(check: &str, status: &str, detail: &str, fix: &str) -> String {
    format!(
        "  {{\n    \"check\": \"{check}\",\n    \"status\": \"{status}\",\n    \"detail\": \"{detail}\",\n    \"fix\": \"{fix}\"\n  }}"
    )
}

#[test]
fn doctor_in_prod_without_a_region_fails_that_row_and_the_rows_that_need_one_point_at_it() {
    let dir = crate::harness::scratch();
    let at = dir.path().display();
    // No region anywhere: no flag, no variable, an empty HOME (no profile), and no instance
    // metadata to ask (as on a workspace or a CI runner outside AWS). Pinned as JSON: the
    // table holds the same cells, padded to a 400-column line.
    let rows = [
        doctor_row("target", "ok", "prod", ""),
        doctor_row(
            "aws profile and region",
            "fail",
            "profile default, no region: no --region, AWS_REGION or AWS_DEFAULT_REGION, and none in the profile",
            "export AWS_REGION=… (the region of the app's stores), or pass --region, or `aws configure set region … --profile default`",
        ),
        doctor_row(
            "app folder",
            "ok",
            &format!("none found (no backend-flask/db, or db/ with schema.sql, in {at} or above it): the built-in files are used"),
            "",
        ),
        doctor_row("schema.sql", "ok", "built-in sql/schema.sql: 9 statements", ""),
        doctor_row("seed.sql", "ok", "built-in sql/seed.sql: 2 statements", ""),
        doctor_row("named queries", "ok", "6 in built-in sql/", ""),
        doctor_row(
            "postgres url",
            "fail",
            "--prod needs the production Postgres URL: set PROD_CONNECTION_URL (or pass --prod-database-url), e.g. postgresql://cruddurroot:PASSWORD@cruddur-db-instance.xxxx.us-east-1.rds.amazonaws.com:5432/cruddur",
            "set the variable it names",
        ),
        doctor_row(
            "dynamodb endpoint",
            "skip",
            "needs an AWS region: see `aws profile and region`",
            "",
        ),
        doctor_row(
            "cognito pool",
            "warn",
            "AWS_COGNITO_USER_POOL_ID is unset: Cognito ids are not linked",
            "export AWS_COGNITO_USER_POOL_ID=us-east-1_…",
        ),
        doctor_row(
            "security group",
            "warn",
            "DB_SG_ID or DB_SG_RULE_ID is unset: `cruddur rds update-sg-rule` cannot run",
            "export DB_SG_ID=sg-… DB_SG_RULE_ID=sgr-… (the RDS instance's group and its ingress rule)",
        ),
    ];
    cruddur(&["--prod", "doctor", "--json"])
        .dir(dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .code(1)
        .stdout_is(&format!("[\n{}\n]\n", rows.join(",\n")))
        .stderr_is("error: 2 checks failed; each row says how to fix it\n")
        .run();
}

#[test]
fn doctor_in_prod_says_which_variable_its_region_came_from() {
    let dir = crate::harness::scratch();
    // A region in the environment: the row says which variable it came from (a fragment: the
    // other rows are pinned above, and DynamoDB's now reports its own failure to connect).
    cruddur(&["--prod", "doctor", "--json"])
        .dir(dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_DEFAULT_REGION", "eu-west-3")
        .code(1)
        .stdout_has(&doctor_row(
            "aws profile and region",
            "ok",
            "profile default, region eu-west-3 (from AWS_DEFAULT_REGION)",
            "",
        ))
        .run();
}
