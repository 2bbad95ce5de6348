//! `cruddur db …` against the real PostgreSQL server.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use serde::Deserialize;

use crate::harness::{admin_url, cruddur, password, scratch, write, TestDb};

#[test]
fn create_makes_the_database_and_is_fine_when_it_exists() {
    let db = TestDb::new("create");
    cruddur(&["db", "create"])
        .db(&db)
        .stdout_is(&format!(
            "created database `{dbname}` on {server}\n",
            dbname = db.name,
            server = db.server()
        ))
        .stderr_is("")
        .run();
    assert!(db.exists());
    cruddur(&["db", "create"])
        .db(&db)
        .stdout_is(&format!(
            "database `{dbname}` already exists on {server}; nothing to do\n",
            dbname = db.name,
            server = db.server()
        ))
        .stderr_is("")
        .run();
}

#[test]
fn create_reaches_the_server_whatever_the_user_and_host_are_called() {
    // The old script's sed broke URLs whose user contained "cruddur"; the maintenance
    // database is chosen by the driver here, not by editing the URL.
    let mut admin = crate::harness::admin();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS cruddurroot; CREATE ROLE cruddurroot LOGIN CREATEDB PASSWORD '{}'",
            password()
        ))
        .unwrap();
    let db = TestDb::new("cruddurroot");
    let url = db.url().replacen("postgres:", "cruddurroot:", 1);
    cruddur(&["db", "create"])
        .env("CONNECTION_URL", url)
        .stderr_is("")
        .run();
    assert!(db.exists());
}

#[test]
fn drop_refuses_while_sessions_are_connected_and_force_terminates_them() {
    let db = TestDb::created("drop");
    let app = db.client_named("flask-app");
    let done = cruddur(&["db", "drop"])
        .db(&db)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: database `{dbname}` is in use by 1 other session; nothing was dropped:\n  \
            pid ⟪n⟫ (postgres, flask-app, 127.0.0.1)\nstop them (the app, psql), or \
            re-run with --force to terminate them\n",
            dbname = db.name
        ))
        .run();
    let pid: i32 = {
        let mut app = app;
        let pid = app
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        assert!(done.stderr.contains(&format!("pid {pid}")), "{done}");
        assert!(db.exists(), "the database must survive a refused drop");
        cruddur(&["db", "drop", "--force"])
            .db(&db)
            .stdout_is(&format!("dropped database `{dbname}`, terminating 1 session: pid ⟪n⟫ (postgres, flask-app, \
            127.0.0.1)\n", dbname = db.name))
            .stderr_is("")
            .run();
        assert!(
            app.query_one("SELECT 1", &[]).is_err(),
            "the app's session was terminated"
        );
        pid
    };
    assert!(pid > 0);
    assert!(!db.exists());
    cruddur(&["db", "drop"])
        .db(&db)
        .stdout_is(&format!(
            "database `{dbname}` does not exist; nothing to drop\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
}

#[test]
fn schema_load_and_seed_use_the_built_in_files_from_any_folder() {
    let db = TestDb::created("load");
    cruddur(&["db", "schema-load"])
        .db(&db)
        .stdout_is(&format!(
            "loaded built-in sql/schema.sql into `{dbname}`: 9 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert!(db.table_exists("public.users") && db.table_exists("public.activities"));
    cruddur(&["db", "seed", "--json"])
        .db(&db)
        .stdout_is(&format!(
            r#"{{
  "database": "{dbname}",
  "file": "built-in sql/seed.sql",
  "source": "built_in",
  "statements": 2,
  "elapsed_ms": ⟪n⟫
}}
"#,
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert_eq!(db.count("public.users"), 3);
    assert_eq!(db.count("public.activities"), 1);
    let expires_in_days: f64 = db
        .client()
        .query_one(
            "SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 FROM activities",
            &[],
        )
        .unwrap()
        .get(0);
    assert!((9.9..10.1).contains(&expires_in_days), "{expires_in_days}");
}

#[test]
fn a_broken_schema_file_changes_nothing_and_names_line_and_column() {
    let db = TestDb::set_up("broken");
    let dir = scratch();
    let file = write(
        dir.path(),
        "schema.sql",
        "-- drops what is there, then breaks\n\
         DROP TABLE public.activities;\n\
         CREATE TABLE canary (id int);\n\
         \n\
         CREATE TABLE public.broken (\n  id int,\n  name txet\n);\n",
    );
    cruddur(&["db", "schema-load", "--file", file.to_str().unwrap()])
        .db(&db)
        .code(1)
        .stderr_has(&format!("{}:7:8:", file.display()))
        .stderr_has("type \"txet\" does not exist")
        .stderr_has("  7 |   name txet")
        .stderr_has("nothing was applied")
        .stdout_is("")
        .run();
    assert!(
        db.table_exists("public.activities"),
        "the DROP must have been rolled back"
    );
    assert!(!db.table_exists("public.canary"));
    assert_eq!(db.count("public.activities"), 1);
}

#[test]
fn a_seed_error_without_a_position_names_the_statements_first_line() {
    let db = TestDb::set_up("broken_seed");
    let dir = scratch();
    // An error without a position names the statement's first line.
    let file = write(
        dir.path(),
        "seed.sql",
        "INSERT INTO users (handle) VALUES ('x');\n\n  SELECT 1/0;\n",
    );
    cruddur(&["db", "seed", "--file", file.to_str().unwrap()])
        .db(&db)
        .code(1)
        .stderr_has("seed.sql:1:")
        .stdout_is("")
        .run();
    let file = write(dir.path(), "seed2.sql", "SELECT 1;\n\n  SELECT 1/0;\n");
    cruddur(&["db", "seed", "--file", file.to_str().unwrap()])
        .db(&db)
        .code(1)
        .stderr_has("seed2.sql:3:3: division by zero")
        .stdout_is("")
        .run();
    assert_eq!(db.count("public.users"), 3);
}

#[test]
fn a_file_that_cannot_be_split_or_read_is_named_before_anything_runs() {
    let db = TestDb::set_up("broken_file");
    let dir = scratch();
    // A file that cannot even be split says where, before anything runs.
    let file = write(
        dir.path(),
        "open.sql",
        "DROP TABLE users;\nSELECT 'never closed;\n",
    );
    cruddur(&["db", "schema-load", "--file", file.to_str().unwrap()])
        .db(&db)
        .code(1)
        .stderr_has("open.sql:2:8: unterminated string")
        .stdout_is("")
        .run();
    assert!(db.table_exists("public.users"));

    // A missing file names the flag and the path.
    cruddur(&["db", "seed", "--file", "nowhere.sql"])
        .db(&db)
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --file nowhere.sql: cannot read the file\ncaused by: No such file \
            or directory (os error 2)\n",
        )
        .run();
}

#[test]
fn a_file_with_its_own_begin_and_commit_still_runs_as_one_transaction() {
    let db = TestDb::set_up("txn");
    let dir = scratch();
    let file = write(
        dir.path(),
        "seed.sql",
        "BEGIN;\nDELETE FROM activities;\nCOMMIT;\nBEGIN;\nINSERT INTO nope VALUES (1);\nCOMMIT;\n",
    );
    // The plan says which of the file's statements its one transaction leaves out.
    cruddur(&["db", "seed", "--file", file.to_str().unwrap(), "--dry-run"])
        .db(&db)
        .stdout_is(&format!(
            "dry run, nothing was done: would run 6 statements of {file} in one transaction \
             (Postgres database `{name}` at {server})\n\
             \x20 - line 1: BEGIN (skipped: the file runs in one transaction)\n\
             \x20 - line 2: DELETE FROM activities\n\
             \x20 - line 3: COMMIT (skipped: the file runs in one transaction)\n\
             \x20 - line 4: BEGIN (skipped: the file runs in one transaction)\n\
             \x20 - line 5: INSERT INTO nope VALUES (1)\n\
             \x20 - line 6: COMMIT (skipped: the file runs in one transaction)\n",
            file = file.display(),
            name = db.name,
            server = db.server()
        ))
        .stderr_is("")
        .run();
    cruddur(&["db", "seed", "--file", file.to_str().unwrap()])
        .db(&db)
        .code(1)
        .stderr_has("seed.sql:5:13:")
        .stdout_is("")
        .run();
    assert_eq!(
        db.count("public.activities"),
        1,
        "the DELETE before the failure must be rolled back"
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRow {
    process_id: i32,
    user: Option<String>,
    db: Option<String>,
    client_addr: Option<String>,
    app: Option<String>,
    state: Option<String>,
}

#[test]
fn sessions_lists_the_other_client_sessions() {
    let db = TestDb::created("sessions");
    let mut probe = db.client_named("session-probe");
    let pid: i32 = probe
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let done = cruddur(&["db", "sessions", "--output", "json"])
        .db(&db)
        .run();
    let rows: Vec<SessionRow> = done.json();
    let row = rows
        .iter()
        .find(|row| row.process_id == pid)
        .unwrap_or_else(|| panic!("the probe session is missing\n{done}"));
    assert_eq!(row.app.as_deref(), Some("session-probe"));
    assert_eq!(row.db.as_deref(), Some(db.name.as_str()));
    assert_eq!(row.user.as_deref(), Some("postgres"));
    assert_eq!(row.client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(row.state.as_deref(), Some("idle"));

    cruddur(&["db", "sessions"])
        .db(&db)
        .stdout_has("process_id")
        .stdout_has("session-probe")
        .stdout_has(&pid.to_string())
        .run();
}

#[test]
fn setup_twice_in_a_row_and_with_a_session_open() {
    let db = TestDb::new("setup");
    let first = cruddur(&["db", "setup"])
        .db(&db)
        .stderr_has("skipped")
        .stdout_is(&format!(
            "database `{dbname}` is set up (⟪n⟫ ms)\n",
            dbname = db.name
        ))
        .run();
    for step in [
        "drop",
        "create",
        "schema-load",
        "seed",
        "update-cognito-user-ids",
        "migrate",
    ] {
        assert!(
            first
                .stderr
                .lines()
                .any(|l| l.starts_with(step) && l.contains(" ms")),
            "no line for {step}\n{first}"
        );
    }
    assert_eq!(db.count("public.users"), 3);

    let _app = db.client_named("flask-app");
    let second = cruddur(&["db", "setup", "--json"])
        .db(&db)
        .stderr_has("terminating 1 session")
        .stderr_has("flask-app")
        .run();
    let report: crate::reports::SetupReport = second.json();
    let statuses: Vec<&str> = report.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["ok", "ok", "ok", "ok", "skipped", "skipped"],
        "{second}"
    );
    // Each step that ran carries its own report: the seed's statement count, for one.
    let seed = report.steps[3]
        .report
        .as_ref()
        .expect("the seed step's report");
    assert_eq!(seed["file"], "built-in sql/seed.sql", "{second}");
    assert_eq!(report.target["database"], db.name);
    assert_eq!(db.count("public.users"), 3);
    assert_eq!(db.count("public.activities"), 1);
}

#[test]
fn prod_uses_prod_connection_url_and_fails_clearly_without_it() {
    let db = TestDb::new("prod");
    let nowhere = "postgresql://postgres:x@127.0.0.1:1/local_only";
    // A write in production: without a terminal it needs --yes.
    cruddur(&["--prod", "db", "create"])
        .env("CONNECTION_URL", nowhere)
        .env("PROD_CONNECTION_URL", db.url())
        .code(3)
        .stderr_has("--yes")
        .stdout_is("")
        .run();
    assert!(!db.exists());
    cruddur(&["--prod", "db", "create", "--yes"])
        .env("CONNECTION_URL", nowhere)
        .env("PROD_CONNECTION_URL", db.url())
        .stdout_has(&db.name)
        .run();
    assert!(db.exists());

    cruddur(&["db", "sessions", "--prod"])
        .env("CONNECTION_URL", db.url())
        .code(1)
        .stderr_has("PROD_CONNECTION_URL")
        .run();
    cruddur(&["db", "setup", "--prod"])
        .env("PROD_CONNECTION_URL", db.url())
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: `db setup` rebuilds the stores from scratch and runs on the local \
            stack only; in production run the one step you mean (e.g. `cruddur --prod \
            db schema-load`)\n",
        )
        .run();
    assert!(db.exists());
}

#[test]
fn destructive_prod_commands_need_a_confirmation_and_never_wait_for_one() {
    let db = TestDb::set_up("confirm");
    for args in [
        &["--prod", "db", "drop"][..],
        &["--prod", "db", "schema-load"],
        &["--prod", "db", "seed"],
        &[
            "--prod",
            "db",
            "query",
            "activities/create",
            "-p",
            "handle=londo",
            "-p",
            "message=hi",
            "-p",
            "expires_at=2030-01-01",
        ],
    ] {
        // No terminal and no --yes: refused at once, exit 3, nothing touched.
        cruddur(args)
            .env("PROD_CONNECTION_URL", db.url())
            .stdin(&format!("{}\n", db.name))
            .code(3)
            .stderr_has("re-run with --yes")
            .stdout_is("")
            .run();
    }
    assert_eq!(db.count("public.users"), 3);
    assert_eq!(db.count("public.activities"), 1);
    cruddur(&["--prod", "db", "drop", "--yes", "--force"])
        .env("PROD_CONNECTION_URL", db.url())
        .run();
    assert!(!db.exists());
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShortUser {
    uuid: String,
    handle: String,
    display_name: String,
}

#[test]
fn query_runs_the_named_queries_with_bound_parameters() {
    let db = TestDb::set_up("query");
    let done = cruddur(&[
        "db",
        "query",
        "users/short",
        "--param",
        "handle=timmy-cde",
        "--json",
    ])
    .db(&db)
    .stdout_is(
        r#"[
  {
    "uuid": "⟪uuid⟫",
    "handle": "timmy-cde",
    "display_name": "Timothy Manuel"
  }
]
"#,
    )
    .stderr_is("")
    .run();
    let users: Vec<ShortUser> = done.json();
    assert_eq!(users.len(), 1, "{done}");
    assert_eq!(users[0].handle, "timmy-cde");
    assert_eq!(users[0].display_name, "Timothy Manuel");
    assert_eq!(users[0].uuid.len(), 36);

    // A value with quotes is data, not SQL.
    cruddur(&[
        "db",
        "query",
        "users/short",
        "-p",
        "handle=x' OR '1'='1",
        "--json",
    ])
    .db(&db)
    .stdout_is("[]\n")
    .stderr_is("")
    .run();

    // The table form shows the columns even for no rows.
    cruddur(&["db", "query", "users/short", "-p", "handle=nobody"])
        .db(&db)
        .stdout_is("┌──────┬────────┬──────────────┐\n│ uuid ┆ handle ┆ display_name │\n╞══════╪════════╪══════════════╡\n\
        └──────┴────────┴──────────────┘\n")
        .stderr_is("(0 rows)\n")
        .run();
}

#[test]
fn a_write_query_returns_what_the_query_returns_and_the_server_parses_the_types() {
    let db = TestDb::set_up("query_write");
    // Writes return what the query returns; types are parsed by the server from text.
    let uuid = created_activity(&db);
    let object = cruddur(&[
        "db",
        "query",
        "activities/object",
        "-p",
        &format!("uuid={uuid}"),
        "--json",
    ])
    .db(&db)
    .stdout_is(
        r#"[
  {
    "uuid": "⟪uuid⟫",
    "display_name": "Londo Mollari",
    "handle": "londo",
    "message": "Hello from a test",
    "created_at": "⟪time⟫",
    "expires_at": "2031-02-03T04:05:06"
  }
]
"#,
    )
    .stderr_is("")
    .run();
    let rows: serde_json::Value = object.json();
    assert_eq!(rows[0]["message"], "Hello from a test");
    assert_eq!(rows[0]["handle"], "londo");
    assert_eq!(rows[0]["expires_at"], "2031-02-03T04:05:06");
}

#[test]
fn the_home_query_lists_a_new_activity_first() {
    let db = TestDb::set_up("query_home");
    created_activity(&db);
    let home: serde_json::Value = cruddur(&["db", "query", "activities/home", "--json"])
        .db(&db)
        .stderr_is("")
        .run()
        .json();
    assert_eq!(home.as_array().unwrap().len(), 2);
    assert_eq!(home[0]["message"], "Hello from a test", "newest first");
    assert_eq!(home[0]["likes_count"], 0);
}

/// `activities/create` as londo, whose expires_at the server parses from text, printed as
/// jsonl: the new activity's uuid, the one column the query returns.
#[track_caller]
fn created_activity(db: &TestDb) -> String {
    let created = cruddur(&[
        "db",
        "query",
        "activities/create",
        "-p",
        "handle=londo",
        "-p",
        "message=Hello from a test",
        "-p",
        "expires_at=2031-02-03 04:05:06",
        "--output",
        "jsonl",
    ])
    .db(db)
    .stdout_is(
        r#"{"uuid":"⟪uuid⟫"}
"#,
    )
    .stderr_is("")
    .run();
    let row: serde_json::Value = serde_json::from_str(created.stdout.trim()).unwrap();
    row["uuid"].as_str().unwrap().to_string()
}

#[test]
fn query_mistakes_say_what_the_query_takes() {
    let db = TestDb::set_up("query_errors");
    cruddur(&["db", "query", "users/short"])
        .db(&db)
        .code(1)
        .stdout_is("")
        .stderr_is("error: query `users/short` needs --param handle=…; it takes: handle\n")
        .run();
    cruddur(&[
        "db",
        "query",
        "users/short",
        "-p",
        "handle=x",
        "-p",
        "color=red",
    ])
    .db(&db)
    .code(1)
    .stdout_is("")
    .stderr_is("error: query `users/short` has no parameter `color`; it takes: handle\n")
    .run();
    cruddur(&["db", "query", "users/long"])
        .db(&db)
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: there is no query `users/long` in built-in sql/; the queries are: \
            activities/create, activities/home, activities/object, users/create_message_users, \
            users/short, users/uuid_from_cognito_user_id (`cruddur db query` lists them \
            with their parameters)\n",
        )
        .run();
    cruddur(&["db", "query", "activities/object", "-p", "uuid=not-a-uuid"])
        .db(&db)
        .code(1)
        .stderr_has("invalid input syntax for type uuid")
        .run();
    let listed: Vec<serde_json::Value> = cruddur(&["db", "query", "--json"])
        .stderr_is("queries of built-in sql/\n")
        .run()
        .json();
    assert_eq!(listed.len(), 6);
    let create = listed
        .iter()
        .find(|q| q["name"] == "users/create_message_users")
        .unwrap();
    assert_eq!(create["params"], "cognito_user_id, user_receiver_handle");
}

#[test]
fn connect_runs_psql_with_the_password_in_the_environment_only() {
    let db = TestDb::created("connect");
    cruddur(&[
        "db",
        "connect",
        "--",
        "-At",
        "-c",
        "select current_database()",
    ])
    .db(&db)
    .stdout_is(&format!("{dbname}\n", dbname = db.name))
    .stderr_is("")
    .run();

    // A stand-in psql that reports what it was given: the argv holds no password.
    let bin = scratch();
    let script = write(
        bin.path(),
        "psql",
        "#!/bin/sh\necho \"argv: $*\"\necho \"db: $PGDATABASE host: $PGHOST port: $PGPORT user: $PGUSER\"\n\
         [ \"$PGPASSWORD\" = \"$EXPECTED\" ] && echo password-in-env\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    cruddur(&["db", "connect", "--", "-c", "select 1"])
        .db(&db)
        .env("PATH", bin.path())
        .env("EXPECTED", password())
        .stdout_is(&format!(
            "argv: -c select 1\ndb: {dbname} host: 127.0.0.1 port: ⟪n⟫ user: postgres\n\
            password-in-env\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();

    let empty = scratch();
    cruddur(&["db", "connect"])
        .db(&db)
        .env("PATH", empty.path())
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: psql is not on PATH: install the PostgreSQL client (Debian/Ubuntu: \
            `apt-get install postgresql-client`, macOS: `brew install libpq`)\n",
        )
        .run();
}

#[test]
fn unreachable_servers_get_errors_that_say_what_to_do() {
    // Nothing listens on port 1.
    cruddur(&["db", "create"])
        .env(
            "CONNECTION_URL",
            "postgresql://postgres:Sekr3t-x@127.0.0.1:1/cruddur",
        )
        .code(1)
        .stderr_has("connection refused")
        .stderr_has("CONNECTION_URL")
        .stderr_lacks("Sekr3t-x")
        .stdout_is("")
        .run();

    // A server that accepts and never answers: the connect timeout, with the prod hint.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf);
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    cruddur(&["--prod", "db", "sessions", "--connect-timeout", "300ms"])
        .env(
            "PROD_CONNECTION_URL",
            format!("postgresql://cruddurroot:Sekr3t-y@127.0.0.1:{port}/cruddur"),
        )
        .code(1)
        .stderr_has("within")
        .stderr_has("cruddur rds update-sg-rule")
        .stderr_lacks("Sekr3t-y")
        .run();
    holder.join().unwrap();

    // A wrong password names where the URL came from.
    let wrong = admin_url().replace(&password(), "not-the-password");
    cruddur(&["db", "sessions"])
        .env("CONNECTION_URL", wrong)
        .code(1)
        .stderr_has("refused the login")
        .stderr_has("CONNECTION_URL")
        .run();
}

#[test]
fn connections_use_tls_when_the_server_offers_it() {
    // The test server rejects this role on unencrypted connections (scripts/stack.sh).
    let mut admin = crate::harness::admin();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS cruddur_tls_only; CREATE ROLE cruddur_tls_only LOGIN CREATEDB PASSWORD '{}'",
            password()
        ))
        .unwrap();
    let db = TestDb::new("tls");
    let url = db.url().replacen("postgres:", "cruddur_tls_only:", 1);
    cruddur(&["db", "create"])
        .env("CONNECTION_URL", &url)
        .stderr_is("")
        .run();
    assert!(
        db.exists(),
        "created over TLS (sslmode=prefer, the default)"
    );
    cruddur(&["db", "sessions"])
        .env("CONNECTION_URL", format!("{url}?sslmode=require"))
        .run();
    cruddur(&["db", "sessions"])
        .env("CONNECTION_URL", format!("{url}?sslmode=disable"))
        .code(1)
        .stderr_has("no encryption")
        .run();
}
