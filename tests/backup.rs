//! `cruddur ddb backup …` and the backup every destructive production write takes first, on
//! the moto server (dynoxide has no backups). What moto does differently from AWS (it backs up
//! and restores at once, its ARNs) is not asserted: only what cruddur does with them.

use crate::harness::{cruddur, ddb_url, moto_url, schema_load, Run, TestDb, TestTable};

/// A table of this test's own on moto, with the app's schema and the seed conversation.
fn seeded_on_moto(db: &TestDb, name: &str) -> TestTable {
    cruddur(&["ddb", "schema-load", "--table", name])
        .env("AWS_ENDPOINT_URL", moto_url())
        .stderr_is("")
        .run();
    cruddur(&["ddb", "seed", "--table", name])
        .db(db)
        .env("AWS_ENDPOINT_URL", moto_url())
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    TestTable::named_at(name, &moto_url())
}

fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("bk-{tag}-{}-{n}", std::process::id())
}

/// `--prod` against moto, named on purpose with --endpoint-url, with credentials.
fn prod(args: &[&str]) -> Run {
    let moto = moto_url();
    let mut all = vec!["--prod", "--endpoint-url", moto.as_str()];
    all.extend(args);
    cruddur(&all).aws_credentials()
}

/// A local command pointed at moto, where the test's table is.
fn on_moto(run: Run) -> Run {
    run.env("AWS_ENDPOINT_URL", moto_url())
}

/// `cruddur ddb backup create` of the table `name`, the backup named `backup`, on moto.
fn create_backup(name: &str, backup: &str) -> Run {
    on_moto(cruddur(&[
        "ddb", "backup", "create", "--table", name, "--name", backup,
    ]))
}

/// `cruddur ddb backup restore` of the table `name`'s backup `backup` into the table `into`,
/// on moto.
fn restore(name: &str, backup: &str, into: &str) -> Run {
    on_moto(cruddur(&[
        "ddb", "backup", "restore", backup, "--table", name, "--into", into,
    ]))
}

#[test]
fn a_backup_is_taken_listed_and_restored_into_a_new_table() {
    let db = TestDb::set_up("bk_cycle");
    let name = unique("cycle");
    let table = seeded_on_moto(&db, &name);
    let before = table.sorted_items();
    let messages = crate::harness::fixture_lines().len();
    assert_eq!(
        before.len(),
        messages + 2,
        "the seed's 2 groups and its messages"
    );
    create_backup(&name, "first-one")
        .stdout_has("backup `first-one`")
        .stderr_is("")
        .run();
    let listed: serde_json::Value = on_moto(cruddur(&[
        "ddb", "backup", "list", "--table", &name, "--json",
    ]))
    .stderr_is("")
    .run()
    .json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first-one"]);
    let restored = format!("{name}-restored");
    restore(&name, "first-one", &restored)
        .stdout_is(
            "restored backup `first-one` into table `bk-cycle-⟪n⟫-⟪n⟫-restored` (ACTIVE, \
            stream NEW_IMAGE turned on)\n",
        )
        .stderr_is("")
        .run();
    assert_eq!(
        TestTable::named_at(&restored, &moto_url()).sorted_items(),
        before
    );
}

#[test]
fn a_backup_or_restore_that_cannot_be_done_says_why_and_makes_nothing() {
    let db = TestDb::set_up("bk_refused");
    let name = unique("refused");
    seeded_on_moto(&db, &name);
    create_backup(&name, "first-one").run();
    let restored = format!("{name}-restored");
    restore(&name, "first-one", &restored).run();

    // The ways it is refused, each saying why, nothing made.
    restore(&name, "no-such", "x-new-table")
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: table `bk-refused-⟪n⟫-⟪n⟫` has no backup named `no-such`; its backups: \
            first-one\n",
        )
        .run();
    restore(&name, "first-one", &restored)
        .code(1)
        .stderr_has("already exists")
        .stdout_is("")
        .run();
    create_backup(&name, "bad name\u{1b}[2J")
        .code(1)
        .stdout_is("")
        .stderr_is(r#"error: --name `bad name\x1b[2J` is not a backup name DynamoDB takes: 3 to 255 of A-Z, a-z, 0-9, `_`, `-` and `.`
"#)
        .run();
}

#[test]
fn a_production_drop_takes_a_backup_first_and_it_restores_the_table() {
    let db = TestDb::set_up("bk_drop");
    let name = unique("drop");
    let table = seeded_on_moto(&db, &name);
    let before = table.sorted_items();
    // The plan says so first.
    prod(&["ddb", "drop", &name, "--dry-run"])
        .stdout_has(&format!("first CreateBackup of `{name}`"))
        .run();
    let done = prod(&["--yes", "ddb", "drop", &name, "--json"]).run();
    let report: serde_json::Value = done.json();
    assert_eq!(report["deleted"], true, "{done}");
    let backup = report["backup"]["name"].as_str().unwrap().to_string();
    assert!(backup.ends_with("-before-cruddur"), "{backup}");
    // The backup outlives the table, and brings it back.
    prod(&[
        "--yes", "ddb", "backup", "restore", &backup, "--table", &name, "--into", &name,
    ])
    .code(1)
    .stderr_has("is the table itself")
    .stdout_is("")
    .run();
    let back = format!("{name}-back");
    prod(&[
        "--yes", "ddb", "backup", "restore", &backup, "--table", &name, "--into", &back,
    ])
    .stdout_is(
        "restored backup `bk-drop-⟪n⟫-⟪n⟫-20261207-⟪n⟫-before-cruddur` into table \
        `bk-drop-⟪n⟫-⟪n⟫-back` (ACTIVE, stream NEW_IMAGE turned on)\n",
    )
    .run();
    assert_eq!(
        TestTable::named_at(&back, &moto_url()).sorted_items(),
        before
    );
}

#[test]
fn a_backup_that_fails_stops_the_destructive_write_and_no_backup_is_said() {
    // dynoxide takes no backups: a production drop there must stop before DeleteTable.
    let table = TestTable::new("bk_fail");
    schema_load(&table, true);
    let endpoint = ddb_url();
    let prod_at = |args: &[&str]| {
        let mut all = vec!["--prod", "--endpoint-url", endpoint.as_str(), "--yes"];
        all.extend(args);
        cruddur(&all).aws_credentials()
    };
    prod_at(&["ddb", "drop", &table.name])
        .code(1)
        .stderr_has("the backup before the write failed, so nothing was changed")
        .stderr_has("--no-backup")
        .stdout_is("")
        .run();
    cruddur(&["ddb", "list-tables"])
        .table(&table)
        .stdout_has(&table.name)
        .run();
    prod_at(&["ddb", "drop", &table.name, "--no-backup", "--dry-run"])
        .stdout_has("no backup first (--no-backup)")
        .run();
    prod_at(&["ddb", "drop", &table.name, "--no-backup"])
        .stdout_has(&format!("deleted table `{}`", table.name))
        .run();
}
