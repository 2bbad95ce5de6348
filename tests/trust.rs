//! The promises of part 6, one test per hole that was found: production is never touched by
//! accident (the guard), no secret is printed, and every failure is said in plain words.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{cruddur, ground, scratch, seeded, send_message, write, Run, TestDb};

const RDS_URL: &str =
    "postgresql://root:Sekr3t-Rds@mydb.abc.us-east-1.rds.amazonaws.com:5432/cruddur";

#[test]
fn local_mode_refuses_a_remote_postgres_host_before_connecting() {
    for args in [
        &["db", "setup"][..],
        &["db", "drop", "--force"],
        &["db", "schema-load"],
        &["db", "sessions"],
        &["db", "setup", "--allow-remote-host"],
    ] {
        let started = Instant::now();
        cruddur(args)
            .env("CONNECTION_URL", RDS_URL)
            .code(3)
            .stderr_has("mydb.abc.us-east-1.rds.amazonaws.com")
            .stderr_has("not a local host")
            .stderr_has("--prod")
            .stderr_lacks("Sekr3t-Rds")
            .run();
        // Refused before any connection: no DNS lookup, no 5 s connect timeout.
        assert!(started.elapsed() < Duration::from_secs(3), "{args:?}");
    }
    // Any public host; the flag lets a deliberately remote development database through.
    cruddur(&["db", "create", "--connect-timeout", "300ms"])
        .env("CONNECTION_URL", "postgresql://u:pw-x@192.0.2.10:5432/dev")
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: CONNECTION_URL points at `192.0.2.10`, which is not a local host, \
            but this is local mode: nothing was done. For production add --prod (it \
            reads PROD_CONNECTION_URL); for a development database on purpose on another \
            host, add --allow-remote-host\n",
        )
        .run();
    cruddur(&[
        "db",
        "create",
        "--allow-remote-host",
        "--connect-timeout",
        "300ms",
    ])
    .env("CONNECTION_URL", "postgresql://u:pw-x@192.0.2.10:5432/dev")
    .code(1)
    .stdout_is("")
    .stderr_is(
        "error: could not reach Postgres at 192.0.2.10:5432 within ⟪n⟫ms (CONNECTION_URL \
        (or --database-url)); is the host right and the server up? (raise the limit \
        with --connect-timeout)\n",
    )
    .run();
}

#[test]
fn local_mode_refuses_every_aws_endpoint_spelling() {
    for endpoint in [
        "https://DYNAMODB.US-EAST-1.AMAZONAWS.COM",
        "https://dynamodb.us-east-1.api.aws",
        "https://dynamodb.cn-north-1.amazonaws.com.cn",
        "https://dynamodb.us-east-1.amazonaws.com.:443",
    ] {
        cruddur(&["ddb", "drop"])
            .env("AWS_ENDPOINT_URL", endpoint)
            .code(3)
            .stderr_has("local mode")
            .stdout_is("")
            .run();
    }
}

#[test]
fn a_prod_marker_is_never_rewritten_by_a_local_override() {
    let db = TestDb::set_up("tr_marker");
    cruddur(&["--prod", "db", "schema-load", "--yes"])
        .env("PROD_CONNECTION_URL", db.url())
        .run();
    cruddur(&["db", "schema-load", "--override-prod-marker"])
        .db(&db)
        .stdout_is(&format!(
            "loaded built-in sql/schema.sql into `{dbname}`: 9 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    // Still production: the next local write is refused again.
    cruddur(&["db", "seed"])
        .db(&db)
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "error: Postgres database `{dbname}` at {server} is marked as production \
            (by `cruddur --prod db schema-load`), but this is local mode: refusing to \
            run 2 statements of built-in sql/seed.sql in one transaction. If CONNECTION_URL \
            points there by mistake, fix it; if you really mean it, add --override-prod-marker\n",
            dbname = db.name,
            server = db.server()
        ))
        .run();
    let comment: Option<String> = crate::harness::admin()
        .query_one(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&db.name],
        )
        .unwrap()
        .get(0);
    assert_eq!(comment.as_deref(), Some("cruddur environment: prod"));
}

#[test]
fn dry_run_leaves_every_store_unchanged_for_every_command() {
    let (db, table) = seeded("tr_dry");
    let before = (db.count("public.users"), table.items().len());
    let dir = scratch();
    let export = write(
        dir.path(),
        "export.jsonl",
        "{\"pk\":\"MSG#x\",\"sk\":\"2024-01-01\",\"message\":\"hi\"}\n",
    );
    let export = export.to_str().unwrap().to_string();
    let (pool, _) = crate::cognito::pool(&[("timmy", Some("timmy-cde"))]);
    let rule = crate::rds::rule();
    // Two migrations, the first applied (the app's marker says so): one to apply, one to undo.
    let folder = two_migrations_the_first_applied(&db);
    let migrations = folder.path().to_str().unwrap().to_string();
    let files_before = std::fs::read_dir(folder.path()).unwrap().count();
    let fresh_db = TestDb::new("tr_dry_fresh");
    // Production, for `pull`: of the local database's shape (its extra table too).
    let source = TestDb::set_up("tr_dry_source");
    source
        .client()
        .batch_execute("CREATE TABLE public.one (id int)")
        .unwrap();
    let all = crate::harness::leaves();
    assert!(all.len() >= 25, "{all:?}");
    for leaf in all {
        let name = leaf.join(" ");
        let (extra, writes) = dry_run_args(&name, &export, &pool, &rule, &migrations)
            .unwrap_or_else(|| panic!("`{name}` is new: say here what its --dry-run needs"));
        let mut args: Vec<&str> = leaf.iter().map(String::as_str).collect();
        args.extend(extra);
        args.push("--dry-run");
        // db create plans only for a database that is not there yet.
        let target = if name == "db create" { &fresh_db } else { &db };
        let mut case = cruddur(&args).stack(target, &table).aws();
        if name == "pull" {
            case = case.env("PROD_CONNECTION_URL", source.url());
        }
        says_its_dry_run(case, &name, writes);
    }
    assert!(!fresh_db.exists());
    assert!(db.table_exists("public.one") && !db.table_exists("public.two"));
    assert_eq!(
        std::fs::read_dir(folder.path()).unwrap().count(),
        files_before
    );
    assert_eq!(rule.read().0, "1.2.3.4/32");
    assert_eq!((db.count("public.users"), table.items().len()), before);
    assert!(db.exists());
}

/// The leaf `name`'s --dry-run, `case`: a writer prints its plan; a reader refuses --dry-run
/// as a usage error, by name.
#[track_caller]
fn says_its_dry_run(case: Run, name: &str, writes: bool) {
    if writes {
        case.stdout_has("dry run, nothing was done").run();
    } else {
        let said = if name == "ddb export" {
            "`cruddur ddb export` without --s3".to_string()
        } else {
            format!("`cruddur {name}`")
        };
        case.code(2)
            .stdout_is("")
            .stderr_is(&format!(
                "error: {said} only reads: --dry-run has nothing to show; run it without --dry-run\n"
            ))
            .run();
    }
}

/// A folder of two migrations, the first applied to `db` (its table made, the app's marker
/// set to it): one to apply, one to undo.
fn two_migrations_the_first_applied(db: &TestDb) -> tempfile::TempDir {
    let folder = scratch();
    for (version, table) in [("1681234567123456", "one"), ("1683000000123456", "two")] {
        write(
            folder.path(),
            &format!("{version}_create_{table}.py"),
            &format!("class CreateMigration:\n  def migrate_sql():\n    data = \"\"\"CREATE TABLE public.{table} (id int);\"\"\"\n    return data\n  def rollback_sql():\n    data = \"\"\"DROP TABLE public.{table};\"\"\"\n    return data\nmigration = CreateMigration\n"),
        );
    }
    db.client()
        .batch_execute("CREATE TABLE public.one (id int); UPDATE public.schema_information SET last_successful_run = '1681234567123456'")
        .unwrap();
    folder
}

/// What `leaf` needs beyond --dry-run, and whether it writes (so plans); None for a leaf not
/// named here. A new leaf must be added here: this list is the spec, not the code under test.
fn dry_run_args<'a>(
    leaf: &str,
    export: &'a str,
    pool: &'a str,
    rule: &'a crate::rds::Rule,
    migrations: &'a str,
) -> Option<(Vec<&'a str>, bool)> {
    Some(match leaf {
        "db query" => (
            vec![
                "activities/create",
                "-p",
                "handle=londo",
                "-p",
                "message=x",
                "-p",
                "expires_at=2030-01-01",
            ],
            true,
        ),
        "ddb import" => (vec![export], true),
        "ddb patterns send-message" => (
            vec!["--from", "timmy-cde", "--to", "londo", "--message", "hi"],
            true,
        ),
        "ddb seed" => (vec!["--replace"], true),
        "ddb stream" => (vec!["--once"], true),
        "ddb deletion-protection" => (vec!["on"], true),
        "rds update-sg-rule" => (
            vec![
                "--ip",
                "34.1.2.3",
                "--group-id",
                &rule.group,
                "--rule-id",
                &rule.rule,
            ],
            true,
        ),
        "db update-cognito-user-ids" => (vec!["--pool-id", pool], true),
        "db migrate" | "db rollback" | "db new-migration" => {
            let mut extra = vec!["--migrations-dir", migrations];
            if leaf == "db new-migration" {
                extra.push("add_things");
            }
            (extra, true)
        }
        "db migrations" => (vec!["--migrations-dir", migrations], false),
        "db create" | "db drop" | "db schema-load" | "db seed" | "db setup" | "ddb schema-load"
        | "ddb drop" | "setup" => (vec![], true),
        "ddb serve" => (vec!["--in-memory"], true),
        "ddb backup create" => (vec![], true),
        "ddb backup restore" => (
            vec![
                "arn:aws:dynamodb:us-east-1:123456789012:table/t/backup/01700000000000-abcdefgh",
                "--into",
                "restored-table",
            ],
            true,
        ),
        "completions" => (vec!["bash"], false),
        // Production is another database of the server here (PROD_CONNECTION_URL, in the test).
        "pull" => (vec!["--no-dynamodb"], true),
        // A DELETE writes (it plans); a SELECT only reads (its own test pins that refusal).
        "ddb sql" => (
            vec![
                "DELETE FROM \"x-table\" WHERE pk = ? AND sk = ?",
                "--param",
                "a",
                "--param",
                "b",
            ],
            true,
        ),
        "db sessions"
        | "db connect"
        | "ddb scan"
        | "ddb list-tables"
        | "ddb diff"
        | "db diff"
        | "ddb export"
        | "ddb backup list"
        | "ddb patterns get-conversation"
        | "ddb patterns list-conversations"
        | "cognito list-users"
        | "wait"
        | "doctor"
        | "man" => (vec![], false),
        _ => return None,
    })
}

#[test]
fn every_production_write_needs_a_confirmation() {
    let db = TestDb::set_up("tr_confirm");
    let (pool, _) = crate::cognito::pool(&[("timmy", Some("timmy-cde"))]);
    let moto = crate::harness::moto_url();
    let rule = crate::rds::rule();
    // Without a terminal and without --yes: refused at once, nothing written.
    for args in [
        &[
            "--prod",
            "db",
            "update-cognito-user-ids",
            "--pool-id",
            &pool,
            "--cognito-endpoint-url",
            &moto,
        ][..],
        &["--prod", "db", "seed"],
        &[
            "--prod",
            "rds",
            "update-sg-rule",
            "--ip",
            "34.1.2.3",
            "--group-id",
            &rule.group,
            "--rule-id",
            &rule.rule,
            "--ec2-endpoint-url",
            &moto,
        ],
    ] {
        cruddur(args)
            .env("PROD_CONNECTION_URL", db.url())
            .aws_credentials()
            .code(3)
            .stderr_has("--yes")
            .stdout_is("")
            .run();
    }
    assert_eq!(db.count("public.users"), 3);
    let linked: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM public.users WHERE cognito_user_id <> 'MOCK'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(linked, 0);
    assert_eq!(rule.read().0, "1.2.3.4/32");
}

#[test]
fn a_production_plan_shows_each_change_old_to_new() {
    let db = TestDb::set_up("tr_confirm_plan");
    let (pool, _) = crate::cognito::pool(&[("timmy", Some("timmy-cde"))]);
    let moto = crate::harness::moto_url();
    cruddur(&[
        "--prod",
        "db",
        "update-cognito-user-ids",
        "--pool-id",
        &pool,
        "--cognito-endpoint-url",
        &moto,
        "--dry-run",
    ])
    .env("PROD_CONNECTION_URL", db.url())
    .aws_credentials()
    .stdout_has("timmy-cde: cognito_user_id MOCK → ")
    .run();
}

#[test]
fn an_endpoint_variable_never_silently_redirects_production_aws_work() {
    let db = TestDb::set_up("tr_confirm_endpoint");
    for args in [
        &[
            "--prod",
            "db",
            "update-cognito-user-ids",
            "--pool-id",
            "us-east-1_x",
        ][..],
        &[
            "--prod",
            "cognito",
            "list-users",
            "--pool-id",
            "us-east-1_x",
        ],
        &[
            "--prod",
            "rds",
            "update-sg-rule",
            "--ip",
            "34.1.2.3",
            "--group-id",
            "sg-0",
            "--rule-id",
            "sgr-0",
        ],
    ] {
        cruddur(args)
            .env("PROD_CONNECTION_URL", db.url())
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
            .aws_credentials()
            .code(3)
            .stderr_has("AWS_ENDPOINT_URL is set")
            .stdout_is("")
            .run();
    }
}

#[test]
fn locally_a_write_to_an_aws_service_needs_an_emulators_endpoint_or_prod() {
    cruddur(&[
        "rds",
        "update-sg-rule",
        "--ip",
        "34.1.2.3",
        "--group-id",
        "sg-0",
        "--rule-id",
        "sgr-0",
    ])
    .aws_credentials()
    .code(3)
    .stdout_is("")
    .stderr_is(
        "error: this changes EC2 in your AWS account, but this is local mode: nothing \
        was done. Add --prod (and --yes without a terminal) if you mean it\n",
    )
    .run();
}

#[test]
fn a_malformed_env_file_names_the_line_and_key_never_a_value() {
    let dir = scratch();
    write(
        dir.path(),
        ".env",
        "DDB_MESSAGE_TABLE=t\nPROD_CONNECTION_URL=\"postgresql://root:Hunter2-Env@h/db\nAWS_SECRET_ACCESS_KEY=AKsecretValue\n",
    );
    cruddur(&["ddb", "list-tables"])
        .dir(dir.path())
        .code(1)
        .stderr_has(".env:2")
        .stderr_has("PROD_CONNECTION_URL")
        .stderr_lacks("Hunter2-Env")
        .stderr_lacks("AKsecretValue")
        .run();
}

#[test]
fn a_password_with_a_raw_at_sign_is_never_shown_in_part() {
    cruddur(&["db", "sessions"])
        .env(
            "CONNECTION_URL",
            "postgresql://root:p@ssw0rd-At@localhost:5432/cruddur",
        )
        .code(1)
        .stderr_has("%40")
        .stderr_lacks("ssw0rd-At")
        .stderr_lacks("p@ss")
        .run();
}

#[test]
fn seed_replace_keeps_the_old_conversation_when_the_new_one_cannot_be_written() {
    let (db, table) = seeded("tr_replace");
    let old = table.raw_items();
    let dir = scratch();
    let huge = format!("Person 1: hello\nPerson 2: {}\n", "x".repeat(400 * 1024));
    let fixture = write(dir.path(), "big.txt", &huge);
    cruddur(&[
        "ddb",
        "seed",
        "--replace",
        "--fixture",
        fixture.to_str().unwrap(),
    ])
    .stack(&db, &table)
    .code(1)
    .stderr_has("big.txt:2")
    .stderr_has("400 KB")
    .stderr_has("nothing was written")
    .stdout_is("")
    .run();
    assert_eq!(table.raw_items(), old, "the old conversation is untouched");
    // A good replacement writes the new one and removes every old item.
    cruddur(&["ddb", "seed", "--replace"])
        .stack(&db, &table)
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let new = table.raw_items();
    assert_eq!(new.len(), old.len());
    assert!(new.iter().all(|item| !old.contains(item)));
}

/// A proxy in front of moto that dies once it has passed on `requests` requests: every open
/// connection is cut and every new one refused, as when the emulator's process is killed.
fn dying_proxy(requests: usize) -> String {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = crate::harness::ddb_url()
        .trim_start_matches("http://")
        .to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        let mut open: Vec<std::net::TcpStream> = Vec::new();
        while seen.load(Ordering::SeqCst) < requests {
            let Ok((client, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            };
            client.set_nonblocking(false).unwrap();
            open.push(client.try_clone().unwrap());
            let (upstream, seen) = (upstream.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut client = client;
                let mut server = std::net::TcpStream::connect(&upstream).unwrap();
                let mut back = server.try_clone().unwrap();
                let mut reply = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut back, &mut reply));
                let mut buffer = [0u8; 65536];
                while let Ok(n) = client.read(&mut buffer) {
                    let chunk = &buffer[..n];
                    let starts = chunk.windows(6).filter(|w| w == b"POST /").count();
                    seen.fetch_add(starts, Ordering::SeqCst);
                    if n == 0 || server.write_all(chunk).is_err() {
                        break;
                    }
                }
            });
        }
        for stream in open {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        // The listener is dropped here: from now on every connection is refused.
    });
    url
}

#[test]
fn a_dynamodb_endpoint_that_dies_mid_seed_fails_within_a_minute() {
    let (db, table) = ground("tr_dead");
    // Two queries (what is there already), then a few batches, then it dies.
    let proxy = dying_proxy(8);
    let dir = scratch();
    let fixture = crate::harness::long_conversation(dir.path(), 3000);
    let started = Instant::now();
    let done = cruddur(&[
        "ddb",
        "seed",
        "--fixture",
        fixture.to_str().unwrap(),
        "--max-retries",
        "100000",
        "--concurrency",
        "1",
    ])
    .db(&db)
    .env("AWS_ENDPOINT_URL", &proxy)
    .env("DDB_MESSAGE_TABLE", &table.name)
    .code(1)
    .stderr_has(&format!("DynamoDB at {proxy} stopped answering"))
    .stderr_has("writes read so far were done")
    .stderr_has("cruddur ddb seed --replace")
    .stderr_lacks("DispatchFailure")
    .stderr_lacks("hyper")
    .stdout_is("")
    .run();
    assert!(started.elapsed() < Duration::from_secs(60), "{done}");
}

#[test]
fn an_unreachable_dynamodb_is_said_in_plain_words() {
    let refused = cruddur(&["ddb", "list-tables"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .code(1)
        .stderr_has("cannot reach DynamoDB at http://127.0.0.1:1")
        .stderr_has("connection refused")
        .run();
    for debris in [
        "DispatchFailure",
        "ConnectError",
        "hyper",
        "ServiceError",
        "{",
    ] {
        assert!(!refused.stderr.contains(debris), "{debris}\n{refused}");
    }
}

#[test]
fn a_table_name_dynamodb_would_refuse_is_caught_before_any_call() {
    cruddur(&["ddb", "schema-load", "--table", "ab"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --table (or DDB_MESSAGE_TABLE) `ab` is 2 characters long: a table \
            name has 3 to 255\n",
        )
        .run();
}

#[test]
fn a_service_error_or_an_operation_an_emulator_lacks_is_said_in_plain_words() {
    // A service error: the operation, the code and the service's message, nothing else.
    let stub = aws_error_stub(
        "com.amazon.coral.validation#ValidationException",
        "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint",
    );
    let done = cruddur(&["ddb", "list-tables"])
        .env("AWS_ENDPOINT_URL", &stub)
        .code(1)
        .stderr_has(&format!(
            "ListTables at DynamoDB at {stub} failed: ValidationException: 1 validation error detected"
        ))
        .run();
    assert!(
        !done.stderr.contains("ServiceError") && !done.stderr.contains('{'),
        "{done}"
    );
    // An emulator that lacks an operation says which one, and where.
    let stub = aws_error_stub(
        "com.amazonaws.dynamodb.v20120810#UnknownOperationException",
        "",
    );
    cruddur(&["ddb", "list-tables"])
        .env("AWS_ENDPOINT_URL", &stub)
        .code(1)
        .stderr_has(&format!(
            "DynamoDB at {stub} does not implement ListTables (UnknownOperationException)"
        ))
        .run();
}

#[test]
fn no_credentials_anywhere_is_said_as_such() {
    // No credentials anywhere is said as such, not as a network problem.
    cruddur(&[
        "--prod",
        "ddb",
        "list-tables",
        "--endpoint-url",
        "http://127.0.0.1:1",
    ])
    .env("AWS_REGION", "us-east-1")
    .code(1)
    .stderr_has("no usable AWS credentials")
    .stderr_has("--profile")
    .run();
}

/// An endpoint that answers every call with this AWS error (HTTP 400, awsJson 1.0), as
/// DynamoDB does for a request it refuses.
fn aws_error_stub(kind: &'static str, message: &'static str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = serde_json::json!({ "__type": kind, "message": message }).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

#[test]
fn huge_durations_and_counts_are_usage_errors() {
    for args in [
        &[
            "db",
            "sessions",
            "--connect-timeout",
            "99999999999999999999s",
        ][..],
        &["wait", "--timeout", "99999999999999999s"],
    ] {
        cruddur(args).code(2).stderr_has("too long").run();
    }
    cruddur(&["ddb", "patterns", "get-conversation", "--limit", "-1"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: invalid value '-1' for '--limit <N>': `-1` is not a positive whole \
            number (1, 2, 3, …)\n\nFor more information, try '--help'.\n",
        )
        .run();
    cruddur(&["ddb", "scan", "--limit", "99999999999999999999"])
        .code(2)
        .stdout_is("")
        .stderr_is("error: invalid value '99999999999999999999' for '--limit <N>': `99999999999999999999` \
        is not a positive whole number (1, 2, 3, …)\n\nFor more information, try \
        '--help'.\n")
        .run();
}

#[test]
fn escape_sequences_in_data_never_reach_the_terminal() {
    let (db, table) = ground("tr_escape");
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{1b}[0m\rover";
    send_message("timmy-cde", "londo", hostile)
        .stack(&db, &table)
        .stdout_is(r#"timmy-cde → londo at ⟪time⟫ (new conversation): \x1b]0;pwned\x07\x1b[31mred\x1b[0m\rover
"#)
        .stderr_is("")
        .run();
    let group: String = table
        .items()
        .into_iter()
        .find(|i| i["pk"].starts_with("MSG#"))
        .map(|i| i["pk"].trim_start_matches("MSG#").to_string())
        .unwrap();
    let shown = cruddur(&[
        "ddb",
        "patterns",
        "get-conversation",
        "--message-group-uuid",
        &group,
    ])
    .stack(&db, &table)
    .stdout_has("\\x1b")
    .stderr_is("(1 row)\n")
    .run();
    assert!(
        !shown.stdout.contains('\u{1b}') && !shown.stdout.contains('\r'),
        "{shown}"
    );
    let json: Value = cruddur(&[
        "ddb",
        "patterns",
        "get-conversation",
        "--message-group-uuid",
        &group,
        "--json",
    ])
    .stack(&db, &table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(json[0]["message"], hostile, "JSON keeps the data exact");
}

#[test]
fn a_duplicated_handle_or_a_null_column_says_what_to_fix() {
    let (db, table) = ground("tr_dupe");
    cruddur(&["db", "seed"])
        .db(&db)
        .stdout_is(&format!(
            "seeded built-in sql/seed.sql into `{dbname}`: 2 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "seed"])
        .stack(&db, &table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: 2 users have the handle `timmy-cde` in Postgres database `{dbname}` \
            (was the seed loaded twice?): rebuild it with `cruddur db setup`, or delete \
            the duplicates\n",
            dbname = db.name
        ))
        .run();
    let mut client = db.client();
    client
        .batch_execute(
            "DELETE FROM public.users WHERE ctid NOT IN (SELECT min(ctid) FROM public.users GROUP BY handle);
             ALTER TABLE public.users ALTER display_name DROP NOT NULL;
             UPDATE public.users SET display_name = NULL WHERE handle = 'londo';",
        )
        .unwrap();
    send_message("timmy-cde", "londo", "hi")
        .stack(&db, &table)
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: the row of `londo` in public.users has no display_name: fix the row, \
            or rebuild with `cruddur db setup`\n",
        )
        .run();
}

#[test]
fn a_closed_stderr_or_stdout_ends_quietly() {
    let (db, table) = ground("tr_pipe");
    for redirect in [">/dev/null 2>&-", ">&- 2>&-"] {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' ddb patterns send-message --from timmy-cde --to londo --message x -v {redirect}",
                env!("CARGO_BIN_EXE_cruddur")
            ))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CONNECTION_URL", db.url())
            .env("AWS_ENDPOINT_URL", &table.endpoint)
            .env("DDB_MESSAGE_TABLE", &table.name)
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert_ne!(status.code(), Some(134), "{redirect}: a panic");
        assert!(status.code().is_some(), "{redirect}: killed by a signal");
    }
}

#[test]
fn verify_full_checks_the_server_against_the_ca() {
    let db = TestDb::set_up("tr_tls");
    let ca = std::env::var("CRUDDUR_TEST_CA").expect("CRUDDUR_TEST_CA: run scripts/test");
    let other = std::env::var("CRUDDUR_TEST_OTHER_CA").expect("CRUDDUR_TEST_OTHER_CA");
    let with = |mode: &str, root: &str| format!("{}?sslmode={mode}&sslrootcert={root}", db.url());
    for mode in ["verify-full", "verify-ca"] {
        cruddur(&["db", "sessions"])
            .env("CONNECTION_URL", with(mode, &ca))
            .run();
        cruddur(&["db", "sessions"])
            .env("CONNECTION_URL", with(mode, &other))
            .code(1)
            .stderr_has(&format!("sslmode={mode}"))
            .stderr_has("sslrootcert")
            .run();
    }
    cruddur(&["db", "sessions"])
        .env(
            "CONNECTION_URL",
            format!("{}?sslmode=verify-full", db.url()),
        )
        .code(1)
        .stderr_has("sslrootcert=PATH")
        .run();
    // --prod defaults to require: a server that offers no TLS is refused, never plaintext.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(2) {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    cruddur(&["--prod", "db", "sessions", "--connect-timeout", "2s"])
        .env(
            "PROD_CONNECTION_URL",
            format!("postgresql://u:pw-tls@127.0.0.1:{port}/db"),
        )
        .code(1)
        .stderr_has("TLS")
        .run();
}

#[test]
fn prod_statements_give_up_on_a_held_lock_instead_of_queueing_the_app() {
    let db = TestDb::set_up("tr_lock");
    let mut holder = db.client_named("the-app");
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE public.users IN ACCESS SHARE MODE")
        .unwrap();
    let started = Instant::now();
    cruddur(&[
        "--prod",
        "db",
        "schema-load",
        "--yes",
        "--lock-timeout",
        "500ms",
    ])
    .env("PROD_CONNECTION_URL", db.url())
    .code(1)
    .stderr_has("lock")
    .stderr_has("--lock-timeout")
    .stderr_has("nothing was applied")
    .stdout_is("")
    .run();
    assert!(started.elapsed() < Duration::from_secs(20));
    tx.rollback().unwrap();
    assert_eq!(db.count("public.users"), 3);
}

#[test]
fn ctrl_c_cancels_a_running_statement_and_rolls_it_back() {
    let db = TestDb::set_up("tr_cancel");
    let mut holder = db.client_named("the-app");
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE public.users IN ACCESS SHARE MODE")
        .unwrap();
    let started = Instant::now();
    let done = cruddur(&[
        "--prod",
        "db",
        "schema-load",
        "--yes",
        "--lock-timeout",
        "60s",
    ])
    .env("PROD_CONNECTION_URL", db.url())
    .interrupt_after(Duration::from_millis(1500))
    .code(130)
    .stderr_has("cancelled")
    .stderr_has("nothing was applied")
    .stdout_is("")
    .run();
    assert!(started.elapsed() < Duration::from_secs(15), "{done}");
    tx.rollback().unwrap();
    assert_eq!(db.count("public.users"), 3);
}

#[test]
fn dynamodb_commands_neither_announce_nor_wait_for_postgres() {
    let table = crate::harness::TestTable::new("tr-nopg");
    let closed = "postgresql://postgres:pw-nopg@127.0.0.1:1/nowhere";
    cruddur(&["--wait", "--wait-timeout", "2s", "ddb", "list-tables"])
        .env("CONNECTION_URL", closed)
        .table(&table)
        .stderr_lacks("Postgres")
        .run();
    cruddur(&[
        "--prod",
        "ddb",
        "list-tables",
        "--endpoint-url",
        &table.endpoint,
    ])
    .env("PROD_CONNECTION_URL", closed)
    .aws_credentials()
    .stderr_has("PRODUCTION DynamoDB")
    .stderr_lacks("Postgres")
    .run();
    // Ctrl-C while --wait waits is an interruption (130), not a failure.
    cruddur(&["--wait", "--wait-timeout", "60s", "db", "sessions"])
        .env("CONNECTION_URL", closed)
        .interrupt_after(Duration::from_millis(1200))
        .code(130)
        .run();
}

#[test]
fn a_reader_that_stops_early_ends_scan_export_and_stream_quietly() {
    let (_db, table) = seeded("tr_head");
    for command in [
        "scan --output jsonl",
        "export",
        "export --dynamodb-json",
        "stream --once --output jsonl",
    ] {
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' ddb {command} | head -c 10 >/dev/null",
                env!("CARGO_BIN_EXE_cruddur")
            ))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL_DYNAMODB", &table.endpoint)
            .env("DDB_MESSAGE_TABLE", &table.name)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            status.status.code(),
            Some(0),
            "`ddb {command} | head`: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}
