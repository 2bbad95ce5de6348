//! `cruddur ddb serve`: the app's local DynamoDB inside the binary, run as a user runs it (in
//! the background, stopped with a signal), and its data file looked at directly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveSpecification};

use crate::harness::{cruddur, scratch, write, Run, Running, TestDb, TestTable};

const GROUP: &str = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399";

/// A loopback port nobody listens on (free when asked).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cruddur ddb serve` on a free port with these extra flags, and its endpoint.
fn serve(extra: &[&str]) -> (Run, String) {
    let port = free_port().to_string();
    let mut args = vec!["ddb", "serve", "--port", port.as_str()];
    args.extend(extra);
    (cruddur(&args), format!("http://127.0.0.1:{port}"))
}

/// Started, and its table made (the first thing it does).
fn started(run: Run) -> Running {
    let mut running = run.start();
    running.wait_for("table `cruddur-messages`");
    running
}

/// Poll `check` for up to 30 s.
#[track_caller]
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within 30 s");
}

fn text_item(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect()
}

#[test]
fn the_data_lasts_across_a_restart_and_sigterm_stops_it_cleanly() {
    let dir = scratch();
    let data = dir.path().join("ws/.cruddur/dynamodb.sqlite");
    let data_flag = data.to_str().unwrap();
    let (run, endpoint) = serve(&["--data", data_flag]);
    let running = started(run.stdout_has("stopped serving").stdout_has(data_flag));
    assert!(running
        .stderr_now()
        .contains("created table `cruddur-messages`"));
    let table = TestTable::named_at("cruddur-messages", &endpoint);
    table.put(text_item(&[
        ("pk", "MSG#kept"),
        ("sk", "2026-01-01"),
        ("message", "é % \"x\""),
    ]));
    // One namespace whatever the credentials and region (as DynamoDB Local's -sharedDb): a
    // client of another account and region sees the same table.
    let other = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&crate::harness::fake_aws(&endpoint))
            .region(aws_sdk_dynamodb::config::Region::new("eu-west-3"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "another-key",
                "another-secret",
                None,
                None,
                "test",
            ))
            .build(),
    );
    let names = table
        .block_on(other.list_tables().send())
        .unwrap()
        .table_names()
        .to_vec();
    assert_eq!(names, ["cruddur-messages"]);
    let done = running.stop("TERM");
    assert!(data.is_file(), "{done}");

    // The same file again: the table is there (not made anew), with its item.
    let (run, endpoint) = serve(&["--data", data_flag]);
    let mut running = run.stdout_has("stopped serving").start();
    running.wait_for("table `cruddur-messages` exists, skipped");
    let table = TestTable::named_at("cruddur-messages", &endpoint);
    let items = table.items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["message"], "é % \"x\"");
    running.stop("INT");
}

/// `git ARGS…` in `repo`, which must succeed; its stdout.
fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("git is needed for this test");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_data_folder_keeps_itself_out_of_the_app_s_git_status() {
    let repo = scratch();
    std::fs::create_dir_all(repo.path().join("backend-flask/db")).unwrap();
    write(
        repo.path(),
        "backend-flask/db/schema.sql",
        "CREATE TABLE t (id int);\n",
    );
    git(repo.path(), &["init", "--quiet"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "the app"]);
    // From inside the app's backend folder, as a start task runs it: the data goes to the top.
    let (run, _) = serve(&[]);
    let running = started(run.dir(&repo.path().join("backend-flask")));
    running.stop("TERM");
    let folder = repo.path().join(".cruddur");
    assert!(folder.join("dynamodb.sqlite").is_file());
    assert_eq!(
        git(
            repo.path(),
            &["status", "--porcelain", "--untracked-files=all"]
        ),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(folder.join(".gitignore")).unwrap(),
        "# Written by cruddur: local data (ddb serve's database), never committed.\n*\n"
    );

    // A .gitignore the user wrote there is theirs: never overwritten.
    std::fs::write(folder.join(".gitignore"), "# mine\n*.sqlite*\n").unwrap();
    let (run, _) = serve(&[]);
    started(run.dir(repo.path())).stop("TERM");
    assert_eq!(
        std::fs::read_to_string(folder.join(".gitignore")).unwrap(),
        "# mine\n*.sqlite*\n"
    );
    assert_eq!(
        git(
            repo.path(),
            &["status", "--porcelain", "--untracked-files=all"]
        ),
        "?? .cruddur/.gitignore\n"
    );
}

#[test]
fn the_stream_worker_moves_the_groups_of_a_message_written_by_any_client() {
    let db = TestDb::set_up("serve_stream");
    let (run, endpoint) = serve(&["--in-memory"]);
    let running = started(run.db(&db));
    // The seed through the served endpoint, then a message as the app's create_message
    // writes it: one MSG# item, nothing else.
    cruddur(&["ddb", "seed", "--now", "2026-01-01T12:00:00Z"])
        .db(&db)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .run();
    let table = TestTable::named_at("cruddur-messages", &endpoint);
    let at = "2026-01-01T12:05:00.000000+00:00";
    table.put(text_item(&[
        ("pk", &format!("MSG#{GROUP}")),
        ("sk", at),
        ("message_uuid", "m-1"),
        ("message", "written by another client"),
        ("user_uuid", "u-sender"),
        ("user_display_name", "Sender"),
        ("user_handle", "sender"),
    ]));
    eventually("the group items' move", || {
        let groups: Vec<_> = table
            .items()
            .into_iter()
            .filter(|i| i["pk"].starts_with("GRP#"))
            .collect();
        groups.len() == 2
            && groups
                .iter()
                .all(|g| g["sk"] == at && g["message"] == "written by another client")
    });
    let done = running.stop("TERM");
    assert!(done.stderr.contains(&format!("group {GROUP}")), "{done}");
}

#[test]
fn expired_ttl_items_are_removed_on_the_timer() {
    let (run, endpoint) = serve(&["--in-memory", "--ttl-interval", "200ms"]);
    let running = started(run);
    let table = TestTable::named_at("cruddur-messages", &endpoint);
    table
        .block_on(
            table
                .client
                .update_time_to_live()
                .table_name(&table.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name("expires")
                        .enabled(true)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap();
    let mut item = text_item(&[("pk", "MSG#old"), ("sk", "2020-01-01")]);
    item.insert("expires".into(), AttributeValue::N("1577836800".into()));
    table.put(item);
    let mut kept = text_item(&[("pk", "MSG#new"), ("sk", "2020-01-01")]);
    kept.insert("expires".into(), AttributeValue::N("4102444800".into()));
    table.put(kept);
    eventually("the expired item's removal", || table.items().len() == 1);
    assert_eq!(table.items()[0]["pk"], "MSG#new");
    running.stop("TERM");
}

#[test]
fn a_file_of_another_program_or_of_a_newer_version_is_refused_and_left_alone() {
    let dir = scratch();
    let notes = write(dir.path(), "notes.txt", "my notes, not a database");
    let (run, _) = serve(&["--data", notes.to_str().unwrap()]);
    run.code(1)
        .stderr_has("not a database of `cruddur ddb serve`")
        .stderr_has("--data")
        .run();
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "my notes, not a database"
    );

    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER)")
        .unwrap();
    let (run, _) = serve(&["--data", other.to_str().unwrap()]);
    run.code(1).stderr_has("another program").run();

    let newer = dir.path().join("newer.sqlite");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "CREATE TABLE _config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE _tables (table_name TEXT PRIMARY KEY);
             INSERT INTO _config VALUES ('schema_version', '99');",
        )
        .unwrap();
    let before = std::fs::read(&newer).unwrap();
    let (run, _) = serve(&["--data", newer.to_str().unwrap()]);
    run.code(1)
        .stderr_has("written by a newer version (storage 99")
        .run();
    assert_eq!(std::fs::read(&newer).unwrap(), before, "left as it was");

    // An older one would be upgraded in place: only when asked.
    let older = dir.path().join("older.sqlite");
    rusqlite::Connection::open(&older)
        .unwrap()
        .execute_batch(
            "CREATE TABLE _config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE _tables (table_name TEXT PRIMARY KEY);
             INSERT INTO _config VALUES ('schema_version', '5');",
        )
        .unwrap();
    let before = std::fs::read(&older).unwrap();
    let (run, _) = serve(&["--data", older.to_str().unwrap()]);
    run.code(1)
        .stderr_has("written by an older version (storage 5")
        .stderr_has("--upgrade-data")
        .run();
    assert_eq!(std::fs::read(&older).unwrap(), before, "left as it was");
}

#[test]
fn a_port_in_use_and_a_bad_host_are_said_with_their_flags() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    cruddur(&["ddb", "serve", "--in-memory", "--port", &port])
        .code(1)
        .stderr_has(&format!("port {port} is in use"))
        .stderr_has("--port")
        .run();
    cruddur(&["ddb", "serve", "--in-memory", "--host", "localhost'; rm"])
        .code(1)
        .stderr_has("--host `localhost'; rm` is not an IP address")
        .run();
    cruddur(&["--prod", "ddb", "serve"])
        .code(3)
        .stderr_has("local stack only")
        .run();
}

#[test]
fn every_interface_is_served_with_a_warning_and_doctor_knows_the_server() {
    let db = TestDb::set_up("serve_doctor");
    let (run, endpoint) = serve(&["--in-memory", "--host", "0.0.0.0"]);
    let running = started(run.stderr_has("no authentication"));
    // Wide enough that each row is one line, for the two fragments this test is about.
    cruddur(&["doctor"])
        .db(&db)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("COLUMNS", "400")
        .stdout_has("a running `cruddur ddb serve`")
        .stdout_has("stream worker on")
        .run();
    running.stop("TERM");
}

#[test]
fn a_dry_run_shows_what_it_would_serve_and_makes_nothing() {
    let dir = scratch();
    let data = dir.path().join("d/dynamodb.sqlite");
    let (run, _) = serve(&[
        "--data",
        data.to_str().unwrap(),
        "--no-stream-worker",
        "--dry-run",
    ]);
    run.stdout_has("would serve DynamoDB on 127.0.0.1:")
        .stdout_has("no stream worker (--no-stream-worker)")
        .stdout_has("create table `cruddur-messages`")
        .run();
    assert!(!data.exists() && !data.parent().unwrap().exists());
}

/// What `ddb serve` relies on in dynoxide's storage (pinned to 3.2.0): its storage version,
/// and that the two stream queries dynoxide runs on every write and read use the indexes
/// cruddur adds. A new dynoxide whose storage differs fails here first.
#[test]
fn dynoxide_s_stream_queries_use_the_indexes_of_its_pinned_storage() {
    let dir = scratch();
    let data = dir.path().join("dynamodb.sqlite");
    let (run, endpoint) = serve(&["--data", data.to_str().unwrap(), "--no-stream-worker"]);
    let running = started(run);
    let table = TestTable::named_at("cruddur-messages", &endpoint);
    for i in 0..3 {
        table.put(text_item(&[("pk", "MSG#x"), ("sk", &i.to_string())]));
    }
    running.stop("TERM");
    let conn = rusqlite::Connection::open(&data).unwrap();
    let version: String = conn
        .query_row(
            "SELECT value FROM _config WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, "11", "dynoxide's storage version changed");
    let records: i64 = conn
        .query_row("SELECT COUNT(*) FROM _stream_records", [], |row| row.get(0))
        .unwrap();
    assert_eq!(records, 3, "each write is one stream record");
    let plan = |sql: &str| -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
        rows.join("; ")
    };
    // dynoxide 3.2.0's own statements (storage.rs), with their parameters filled in.
    let next = plan(
        "SELECT COALESCE(MAX(CAST(sequence_number AS INTEGER)), 0) + 1 FROM _stream_records \
         WHERE table_name = 'cruddur-messages'",
    );
    assert!(next.contains("INDEX cruddur_stream_next"), "{next}");
    let read = plan(
        "SELECT event_name, keys_json, new_image, old_image, sequence_number, created_at, \
         user_identity, event_id FROM _stream_records WHERE table_name = 'cruddur-messages' \
         AND shard_id = 's' AND CAST(sequence_number AS INTEGER) > 0 \
         ORDER BY CAST(sequence_number AS INTEGER) ASC LIMIT 100",
    );
    assert!(read.contains("cruddur_stream_read"), "{read}");
}
