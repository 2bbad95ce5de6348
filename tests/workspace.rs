//! The commands for workspaces and CI: setup, wait, doctor; the production guard's layers;
//! --dry-run; Ctrl-C; colour; completions. Every run here is the way CI runs it: no terminal.

use std::time::Duration;

use crate::harness::{cruddur, fixture_lines, schema_load, scratch, write, TestDb, TestTable};
use crate::reports::{Check, DryRun};

#[test]
fn setup_twice_leaves_one_seeded_conversation() {
    let db = TestDb::new("ws_setup");
    let table = TestTable::new("ws-setup");
    for _ in 0..2 {
        let done = cruddur(&["setup"])
            .stack(&db, &table)
            .stdout_is(&format!(
                "the local stack is set up: database `{dbname}` and table `{tname}` (⟪n⟫ \
                ms)\n",
                tname = table.name,
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
            "ddb schema-load",
            "ddb seed",
        ] {
            assert!(
                done.stderr
                    .lines()
                    .any(|l| l.starts_with(&format!("{step} ")) && l.contains(" ms")),
                "no line for {step}\n{done}"
            );
        }
    }
    assert_eq!(table.items().len(), 2 + fixture_lines().len());
    assert_eq!(db.count("public.users"), 3);
    cruddur(&["--prod", "setup"])
        .env("PROD_CONNECTION_URL", db.url())
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: `setup` rebuilds the stores from scratch and runs on the local stack \
            only; in production run the one step you mean (e.g. `cruddur --prod db schema-load`)\n",
        )
        .run();
}

#[test]
fn wait_succeeds_on_the_stack_and_fails_in_time_on_a_closed_port() {
    let db = TestDb::new("ws_wait");
    let table = TestTable::new("ws-wait");
    cruddur(&["wait", "--timeout", "10s"])
        .stack(&db, &table)
        .stdout_has("postgres")
        .stdout_has("dynamodb")
        .run();
    let started = std::time::Instant::now();
    cruddur(&["wait", "postgres", "--timeout", "1s"])
        .env(
            "CONNECTION_URL",
            "postgresql://postgres:x@127.0.0.1:1/cruddur",
        )
        .code(1)
        .stderr_has("did not come up in time")
        .run();
    cruddur(&["wait", "dynamodb", "--timeout", "1s"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .code(1)
        .stderr_has("DynamoDB at http://127.0.0.1:1 did not come up in time")
        .run();
    // Generous: only a hang would break it (no timing assertion on speed).
    assert!(started.elapsed() < Duration::from_secs(60));
    // --wait on a Postgres command waits first, then works.
    cruddur(&["db", "create", "--wait", "--wait-timeout", "10s"])
        .db(&db)
        .run();
    assert!(db.exists());
}

#[test]
fn doctor_reports_a_missing_table_as_a_failure_with_its_fix() {
    let db = TestDb::set_up("ws_doctor");
    let table = TestTable::new("ws-doctor");
    let done = cruddur(&["doctor", "--json"])
        .stack(&db, &table)
        .code(1)
        .stderr_has("1 check failed")
        .run();
    let checks: Vec<Check> = done.json();
    let missing = checks.iter().find(|c| c.check == "dynamodb table").unwrap();
    assert_eq!(missing.status, "fail");
    assert!(missing.detail.contains(&table.name));
    assert_eq!(missing.fix, "cruddur ddb schema-load");
    let url = checks.iter().find(|c| c.check == "postgres url").unwrap();
    assert!(url.detail.contains(":***@"), "{url:?}");
    assert!(
        checks
            .iter()
            .filter(|c| c.check != "dynamodb table")
            .all(|c| c.status != "fail"),
        "{checks:?}"
    );

    cruddur(&["ddb", "schema-load"])
        .stack(&db, &table)
        .stderr_is("")
        .run();
    cruddur(&["doctor"])
        .stack(&db, &table)
        .stdout_has("dynamodb index")
        .run();
}

#[test]
fn prod_ddb_commands_need_yes_without_a_terminal() {
    let table = TestTable::new("ws-prod");
    let prod = |args: &[&str]| {
        cruddur(args)
            .aws_credentials()
            .env("DDB_MESSAGE_TABLE", &table.name)
    };
    let endpoint = crate::harness::ddb_url();
    prod(&["--prod", "ddb", "schema-load", "--endpoint-url", &endpoint])
        .code(3)
        .stderr_has("re-run with --yes")
        .stdout_is("")
        .run();
    cruddur(&["ddb", "scan"])
        .table(&table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: Scan: table `{tname}` does not exist at {endpoint}; create it with \
            `cruddur ddb schema-load`\n",
            tname = table.name,
            endpoint = table.endpoint
        ))
        .run();
    prod(&[
        "--prod",
        "ddb",
        "schema-load",
        "--yes",
        "--endpoint-url",
        &endpoint,
    ])
    .run();
    table.items();
}

#[test]
fn a_database_marked_prod_refuses_local_destructive_commands_until_overridden() {
    let db = TestDb::set_up("ws_marker");
    // Loaded in production mode: the database now says it is production.
    cruddur(&["--prod", "db", "schema-load", "--yes"])
        .env("PROD_CONNECTION_URL", db.url())
        .run();
    cruddur(&["--prod", "db", "seed", "--yes"])
        .env("PROD_CONNECTION_URL", db.url())
        .run();
    for args in [
        &["db", "seed"][..],
        &["db", "schema-load"],
        &["db", "drop", "--force"],
        &["db", "setup"],
    ] {
        cruddur(args)
            .db(&db)
            .code(3)
            .stderr_has("marked as production")
            .stderr_has("--override-prod-marker")
            .stdout_is("")
            .run();
    }
    assert!(db.exists());
    assert_eq!(db.count("public.users"), 3);
    cruddur(&["db", "seed", "--override-prod-marker"])
        .db(&db)
        .stdout_is(&format!(
            "seeded built-in sql/seed.sql into `{dbname}`: 2 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert_eq!(db.count("public.users"), 6);
    // A local load with the override never rewrites the marker: it stays production.
    cruddur(&["db", "schema-load", "--override-prod-marker"])
        .db(&db)
        .stdout_is(&format!(
            "loaded built-in sql/schema.sql into `{dbname}`: 9 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
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
}

#[test]
fn dry_run_changes_nothing() {
    let db = TestDb::set_up("ws_dry");
    let table = TestTable::new("ws-dry");
    cruddur(&["ddb", "schema-load"])
        .stack(&db, &table)
        .stdout_is(&format!(
            "created table `{tname}`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
            PROVISIONED 5/5; stream NEW_IMAGE; deletion protection off; status ACTIVE\n",
            tname = table.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "seed"])
        .stack(&db, &table)
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let items = table.items().len();

    for args in [
        &["db", "drop", "--force", "--dry-run"][..],
        &["db", "schema-load", "--dry-run"],
        &["db", "seed", "--dry-run"],
        &["db", "setup", "--dry-run"],
        &[
            "db",
            "query",
            "activities/create",
            "-p",
            "handle=londo",
            "-p",
            "message=x",
            "-p",
            "expires_at=2030-01-01",
            "--dry-run",
        ],
        &["ddb", "drop", "--dry-run"],
        &["ddb", "seed", "--replace", "--dry-run"],
        &["setup", "--dry-run"],
    ] {
        cruddur(args)
            .stack(&db, &table)
            .stdout_has("dry run, nothing was done")
            .run();
    }
    assert!(db.exists());
    assert_eq!(
        (db.count("public.users"), db.count("public.activities")),
        (3, 1)
    );
    assert_eq!(table.items().len(), items);
}

#[test]
fn a_dry_run_schema_load_of_a_new_table_says_what_it_would_make_and_makes_nothing() {
    let db = TestDb::set_up("ws_dry_new");
    let fresh = TestTable::new("ws-dry-new");
    cruddur(&["ddb", "schema-load", "--dry-run"])
        .stack(&db, &fresh)
        .stdout_is(&format!(
            "dry run, nothing was done: would create table `{tname}` (billed capacity) \
            (DynamoDB table `{tname}` at {endpoint})\n  - CreateTable {tname}: pk (HASH, \
            S) + sk (RANGE, S); index message-group-sk-index on message_group_uuid (HASH, \
            S) + sk (RANGE), projection ALL; PROVISIONED 5/5 on both; stream NEW_IMAGE \
            (as production has it, for `cruddur ddb stream`); deletion protection off\n  \
            - DescribeTable until ACTIVE (up to 1m)\n",
            tname = fresh.name,
            endpoint = fresh.endpoint
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "scan"])
        .table(&fresh)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: Scan: table `{tname}` does not exist at {endpoint}; create it with \
            `cruddur ddb schema-load`\n",
            tname = fresh.name,
            endpoint = fresh.endpoint
        ))
        .run();
}

#[test]
fn a_dry_run_for_machines_is_marked_and_lists_its_statements() {
    let (db, table) = crate::harness::ground("ws_dry_plan");
    let plan: DryRun = cruddur(&["db", "schema-load", "--dry-run", "--json"])
        .stack(&db, &table)
        .stderr_is("")
        .run()
        .json();
    assert!(plan.dry_run);
    assert!(plan
        .actions
        .iter()
        .any(|a| a.contains("CREATE TABLE public.users")));
}

#[test]
fn ctrl_c_stops_a_seed_cleanly_with_exit_130() {
    let db = TestDb::set_up("ws_interrupt");
    let table = TestTable::new("ws-interrupt");
    cruddur(&["ddb", "schema-load"])
        .stack(&db, &table)
        .stdout_is(&format!(
            "created table `{tname}`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
            PROVISIONED 5/5; stream NEW_IMAGE; deletion protection off; status ACTIVE\n",
            tname = table.name
        ))
        .stderr_is("")
        .run();
    // A slow seed: one batch at a time, each a second apart at most... stopped after the first ones.
    let proxy_url = crate::faults::never_writing_proxy();
    cruddur(&["ddb", "seed", "--max-retries", "1000", "--concurrency", "1"])
        .db(&db)
        .env("AWS_ENDPOINT_URL", proxy_url)
        .env("DDB_MESSAGE_TABLE", &table.name)
        .interrupt_after(Duration::from_millis(1500))
        .code(130)
        .stdout_is("")
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\ninterrupted: stopping at the next safe point (Ctrl-C again \
            to stop at once)\nerror: the seed was not finished: run `cruddur ddb seed \
            --replace` again to finish it\ncaused by: interrupted: 0 writes were done, \
            the rest were not; run it again to finish\n",
        )
        .run();
}

#[test]
fn sigterm_stops_an_import_at_a_safe_point_and_a_rerun_finishes_it() {
    // A partition of 1,000 writes a second: 20,000 items would take twenty seconds.
    let proxy = crate::faults::Proxy::start(crate::faults::Fault::Bucket(1000.0));
    let table = TestTable::at("ws-term", &proxy.url);
    schema_load(&table, false);
    let dir = scratch();
    let lines: String = (0..20_000)
        .map(|i| {
            format!(
                "{{\"pk\":\"P#{}\",\"sk\":\"{i:08}\",\"message\":\"m{i}\"}}\n",
                i % 16
            )
        })
        .collect();
    let file = write(dir.path(), "big.jsonl", &lines);
    let file = file.to_str().unwrap();
    // As `docker stop`, CI cancellation and `timeout` stop it: SIGTERM, then a safe point.
    let stopped = cruddur(&["ddb", "import", file])
        .table(&table)
        .signal_after("TERM", Duration::from_millis(1500))
        .code(143)
        .stdout_is("")
        .stderr_is(
            "stopped by SIGTERM: stopping at the next safe point (a second signal to \
            stop at once)\nerror: stopped by SIGTERM: ⟪n⟫ writes were done, the rest \
            were not; run it again to finish\n",
        )
        .run();
    let written = table.items().len();
    assert!(
        written > 0 && written < 20_000,
        "stopped part-way ({written} items)\n{stopped}"
    );
    // The same import again (it overwrites keys) completes the table.
    cruddur(&["ddb", "import", file])
        .env("AWS_ENDPOINT_URL_DYNAMODB", crate::harness::ddb_url())
        .env("DDB_MESSAGE_TABLE", &table.name)
        .stderr_is("")
        .run();
    assert_eq!(table.items().len(), 20_000);
    // SIGHUP (a closed terminal) is the same, with its own code.
    cruddur(&["ddb", "import", file])
        .table(&table)
        .signal_after("HUP", Duration::from_millis(1000))
        .code(129)
        .stdout_is("")
        .stderr_is(
            "stopped by SIGHUP: stopping at the next safe point (a second signal to stop \
            at once)\nerror: stopped by SIGHUP: ⟪n⟫ writes were done, the rest were \
            not; run it again to finish\n",
        )
        .run();
}

/// `doctor` in a CI log (no terminal): its rows wrap at 100 columns, or at COLUMNS. Checked
/// by the widest line, not whole: the rows' words (paths, ports) vary with the machine.
#[test]
fn doctor_without_a_terminal_fits_a_log_or_columns() {
    let db = TestDb::set_up("ws_doctor_width");
    let widest = |run: crate::harness::Run| {
        let out = run.run();
        out.stdout
            .lines()
            .map(|line| line.chars().count())
            .max()
            .unwrap_or(0)
    };
    // No DynamoDB answers here: that row fails, and doctor exits 1.
    let doctor = || cruddur(&["doctor"]).db(&db).code(1);
    assert_eq!(widest(doctor()), 100);
    assert_eq!(widest(doctor().env("COLUMNS", "72")), 72);
    // A width too narrow to read is not taken: the log's 100 columns again.
    assert_eq!(widest(doctor().env("COLUMNS", "12")), 100);
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let db = TestDb::new("ws_colour");
    let table = TestTable::new("ws-colour");
    let plain = cruddur(&["setup"])
        .stack(&db, &table)
        .stdout_is(&format!(
            "the local stack is set up: database `{dbname}` and table `{tname}` (⟪n⟫ \
            ms)\n",
            tname = table.name,
            dbname = db.name
        ))
        .run();
    assert!(
        !plain.stderr.contains('\u{1b}') && !plain.stdout.contains('\u{1b}'),
        "{plain}"
    );
    let terminal = cruddur(&["setup"])
        .stack(&db, &table)
        .in_terminal()
        .stderr_is("")
        .run();
    assert!(
        terminal.stdout.contains("\u{1b}["),
        "a terminal gets colour\n{terminal}"
    );
    let no_color = cruddur(&["setup"])
        .stack(&db, &table)
        .env("NO_COLOR", "1")
        .in_terminal()
        .stderr_is("")
        .run();
    // No colour; a progress bar may still clear its line (ESC [2K), which is not colour.
    assert!(
        !has_colour(&no_color.stdout),
        "NO_COLOR means none\n{no_color}"
    );
    assert!(has_colour(&terminal.stdout), "{terminal}");
    let failing = cruddur(&["db", "query", "nope"])
        .env("NO_COLOR", "1")
        .in_terminal()
        .code(1)
        .stderr_is("")
        .run();
    assert!(
        failing.stdout.contains("error:") && !failing.stdout.contains('\u{1b}'),
        "{failing}"
    );
}

#[test]
fn completions_and_the_man_page_generate() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cruddur"),
        ("fish", "complete -c cruddur"),
    ] {
        cruddur(&["completions", shell])
            .stdout_has(marker)
            .stdout_has("schema-load")
            .stderr_is("")
            .run();
    }
    cruddur(&["man"])
        .stdout_has(".TH cruddur")
        .stderr_is("")
        .run();
}

#[test]
fn doctor_colours_its_statuses_on_a_terminal_and_names_the_aws_profile_and_region() {
    let db = TestDb::set_up("ws_doctor_colour");
    let table = TestTable::new("ws-doctor-colour");
    // The table was never made: one check fails (red), and so does doctor.
    let terminal = cruddur(&["doctor", "--region", "eu-west-1"])
        .stack(&db, &table)
        .in_terminal()
        .code(1)
        .run();
    assert!(
        terminal.stdout.contains("\u{1b}[32mok\u{1b}[0m"),
        "ok is green on a terminal\n{terminal}"
    );
    assert!(
        terminal.stdout.contains("region eu-west-1"),
        "--region wins\n{terminal}"
    );
    assert!(
        !terminal.stdout.contains(" rows)"),
        "no row count\n{terminal}"
    );
    let plain = cruddur(&["doctor"])
        .stack(&db, &table)
        .env("NO_COLOR", "1")
        .in_terminal()
        .code(1)
        .run();
    assert!(!plain.stdout.contains('\u{1b}'), "{plain}");
    let piped = cruddur(&["doctor"]).stack(&db, &table).code(1).run();
    assert!(
        !piped.stdout.contains('\u{1b}') && !piped.stderr.contains(" rows)"),
        "{piped}"
    );
    // Lists count in plain words: two tables at least (others' tests may add more).
    let other = TestTable::new("ws-doctor-colour-other");
    cruddur(&["ddb", "schema-load"])
        .table(&table)
        .stderr_is("")
        .run();
    cruddur(&["ddb", "schema-load"])
        .table(&other)
        .stderr_is("")
        .run();
    cruddur(&["ddb", "list-tables"])
        .table(&table)
        .stderr_has(" tables)")
        .run();
}

#[test]
fn progress_shows_count_rate_and_time_left_on_a_terminal_only() {
    let table = TestTable::new("ws-progress");
    schema_load(&table, true);
    let dir = scratch();
    let text: String = (0..3000)
        .map(|i| format!("{{\"pk\":\"MSG#progress\",\"sk\":\"{i:06}\",\"message\":\"m\"}}\n"))
        .collect();
    let file = write(dir.path(), "items.jsonl", &text);
    let path = file.to_str().unwrap();
    // One call in flight: slow enough for the bar to be drawn a few times.
    let import = |extra: &[&str]| {
        let mut args = vec!["ddb", "import", path, "--concurrency", "1"];
        args.extend_from_slice(extra);
        cruddur(&args).table(&table)
    };
    let shown = import(&[])
        .in_terminal()
        .stdout_has("imported 3000 items")
        .stderr_is("")
        .run();
    assert!(
        shown.stdout.contains("importing [") && shown.stdout.contains("/3,000 · "),
        "a bar with the count\n{shown}"
    );
    assert!(shown.stdout.contains("/s · "), "and the rate\n{shown}");
    assert!(shown.stdout.contains(" left"), "and the time left\n{shown}");
    // Cleared when done: the result line is the last thing on the screen, whole.
    let last = shown.stdout.rsplit('\r').next().unwrap_or("");
    assert!(!last.contains("importing ["), "{shown}");
    // Never with -q, never off a terminal.
    let quiet = import(&["-q"]).in_terminal().stderr_is("").run();
    assert!(!quiet.stdout.contains("importing ["), "{quiet}");
    import(&[]).stderr_lacks("importing [").stderr_is("").run();
}

/// Whether `text` holds an SGR sequence (ESC [ … m): colour, bold and the like.
fn has_colour(text: &str) -> bool {
    text.split("\u{1b}[").skip(1).any(|rest| {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|i| rest[i..].starts_with('m'))
    })
}

#[test]
fn two_seeds_of_one_conversation_at_once_leave_exactly_one() {
    // A slow partition (200 writes a second), so that the two runs surely meet.
    let proxy = crate::faults::Proxy::start(crate::faults::Fault::Bucket(200.0));
    let (db, table) = crate::harness::ground_at("ws_two_seeds", &proxy.url);
    let runs: Vec<_> = (0..2u64)
        .map(|i| {
            let (url, endpoint, name) = (db.url(), proxy.url.clone(), table.name.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200 * i));
                cruddur(&["ddb", "seed", "--replace", "--json"])
                    .env("CONNECTION_URL", url)
                    .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
                    .env("DDB_MESSAGE_TABLE", name)
                    .run()
            })
        })
        .collect();
    let done: Vec<crate::harness::Done> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let waited = done
        .iter()
        .filter(|d| {
            d.stderr
                .contains("another run is writing the same conversation")
        })
        .count();
    assert_eq!(
        waited, 1,
        "the second waited for the first\n{}\n{}",
        done[0], done[1]
    );
    let items = table.items();
    assert_eq!(
        items.len(),
        fixture_lines().len() + 2,
        "one conversation, not two\n{}\n{}",
        done[0],
        done[1]
    );
    assert!(
        items.iter().all(|i| !i["pk"].starts_with("LOCK#")),
        "the lease was given back"
    );
}

#[test]
fn a_lease_left_by_a_killed_run_and_expired_since_is_taken_over_at_once() {
    let (db, table) = crate::harness::seeded("ws_expired_lease");
    // A lease left by a run that was killed, and expired since: taken over at once.
    use aws_sdk_dynamodb::types::AttributeValue;
    table.put(
        [
            ("pk", "LOCK#seed#5ae290ed-55d1-47a0-bc6d-fe2bc2700399"),
            ("sk", "LOCK"),
            ("holder", "a-run-that-was-killed"),
            ("host", "ci-runner-7"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.into())))
        .chain([
            ("taken_at".to_string(), AttributeValue::N("1".into())),
            ("expires_at".to_string(), AttributeValue::N("901".into())),
        ])
        .collect(),
    );
    cruddur(&["ddb", "seed", "--replace"])
        .stack(&db, &table)
        .stderr_lacks("another run is writing")
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let items = table.items();
    assert_eq!(items.len(), fixture_lines().len() + 2);
    assert!(items.iter().all(|i| !i["pk"].starts_with("LOCK#")));
}
