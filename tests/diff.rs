//! `ddb diff`: the live table against what `ddb schema-load` makes, on dynoxide. Whole
//! outputs: each difference is worded, and the exit code is what a CI step fails on.

use crate::harness::{cruddur, schema_load, TestTable};

/// dynoxide has no DescribeContinuousBackups: the one part every diff there lists, uncounted.
const PITR_UNKNOWN: &str = "  - point-in-time recovery: the table has an unknown setting \
    (DescribeContinuousBackups answered UnknownOperationException); `ddb schema-load` makes it \
    off (not counted)\n";

/// What `ddb diff` says of a table that matches, on dynoxide.
fn matches(table: &TestTable) -> String {
    format!(
        "table `{}` at {} matches what `cruddur ddb schema-load` makes; 1 part not counted as \
         drift:\n{PITR_UNKNOWN}",
        table.name, table.endpoint
    )
}

/// The error of a table with one part drifted.
fn one_part_drifted(table: &TestTable) -> String {
    format!(
        "error: table `{}` has drifted: 1 part differs from the app's shape; nothing was changed\n",
        table.name
    )
}

#[test]
fn a_table_schema_load_made_matches() {
    let table = TestTable::new("diff_same");
    schema_load(&table, true);
    cruddur(&["ddb", "diff"])
        .table(&table)
        .stdout_is(&matches(&table))
        .stderr_is("")
        .run();
}

#[test]
fn a_table_without_its_stream_has_drifted_unless_it_was_made_so() {
    let table = TestTable::new("diff_stream");
    schema_load(&table, false);
    cruddur(&["ddb", "diff"])
        .table(&table)
        .code(1)
        .stdout_is(&format!(
            "table `{}` at {} differs from what `cruddur ddb schema-load` makes in 2 parts:\n  \
             - stream: the table has no stream; `ddb schema-load` makes a NEW_IMAGE stream\n\
             {PITR_UNKNOWN}",
            table.name, table.endpoint
        ))
        .stderr_is(&one_part_drifted(&table))
        .run();
    // Made with --no-stream on purpose: said so, it matches.
    cruddur(&["ddb", "diff", "--no-stream"])
        .table(&table)
        .stdout_is(&matches(&table))
        .stderr_is("")
        .run();
}

/// A table made by hand (the console, another tool) without the index the app's conversation
/// list needs, on demand: both named, for people and for machines.
#[test]
fn a_table_without_the_index_is_named_for_people_and_machines() {
    let table = TestTable::new("diff_index");
    table.create_keys_only();
    let expected_index = "a global index on message_group_uuid (HASH, S) + sk (RANGE, S), \
        projection ALL, PROVISIONED 5/5";
    cruddur(&["ddb", "diff", "--no-stream"])
        .table(&table)
        .code(1)
        .stdout_is(&format!(
            "table `{}` at {} differs from what `cruddur ddb schema-load` makes in 2 parts:\n  \
             - index `message-group-sk-index`: the table has none; `ddb schema-load` makes \
             {expected_index}\n{PITR_UNKNOWN}",
            table.name, table.endpoint
        ))
        .stderr_is(&one_part_drifted(&table))
        .run();
    let out = cruddur(&["ddb", "diff", "--no-stream", "--output", "json"])
        .table(&table)
        .code(1)
        .run();
    assert_eq!(
        out.json::<serde_json::Value>(),
        serde_json::json!({
            "table": table.name,
            "endpoint": table.endpoint,
            "matches": false,
            "differences": [
                {
                    "part": "index `message-group-sk-index`",
                    "expected": expected_index,
                    "found": "none",
                    "drift": true
                },
                {
                    "part": "point-in-time recovery",
                    "expected": "it off",
                    "found": "an unknown setting (DescribeContinuousBackups answered UnknownOperationException)",
                    "drift": false
                }
            ]
        })
    );
}

#[test]
fn a_missing_table_is_named_with_the_command_that_makes_it() {
    let table = TestTable::new("diff_missing");
    cruddur(&["ddb", "diff"])
        .table(&table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: DescribeTable: table `{}` does not exist at {}; create it with `cruddur ddb \
             schema-load`\n",
            table.name, table.endpoint
        ))
        .run();
}

// `db diff`: the live database against a shadow built from the app's files.

use crate::app::Repo;
use crate::harness::{admin, TestDb};

/// The shadow databases of `db` still on the server (none, once a diff has ended).
fn shadows_of(db: &TestDb) -> Vec<String> {
    admin()
        .query(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
            &[&format!("{}_shadow_", db.name)],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// What `db diff` says of the repository's database when it matches.
fn database_matches(db: &TestDb) -> String {
    format!(
        "database `{}` matches what the app's files make (schema.sql and 2 applied migrations)\n",
        db.name
    )
}

fn building(db: &TestDb) -> String {
    format!(
        "building the app's files in a throwaway database `{}_shadow_⟪n⟫_⟪n⟫` on {}\n",
        db.name,
        db.server()
    )
}

/// The repository's database as `db setup` builds it (schema, seed, both migrations).
fn set_up(repo: &Repo, tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    repo.cruddur(&db, &["db", "setup", "-q"]).run();
    db
}

#[test]
fn a_database_db_setup_built_from_the_repository_matches() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_same");
    repo.cruddur(&db, &["db", "diff"])
        .stdout_is(&database_matches(&db))
        .stderr_is(&building(&db))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

/// The repository with an index on activities added to its schema.sql, its database set up
/// from it, then changed by hand in psql: a column added, a default changed, the index
/// dropped, a column's type changed.
fn changed_by_hand(tag: &str) -> (Repo, TestDb) {
    let repo = Repo::new();
    let schema = repo.db_dir().join("schema.sql");
    let mut text = std::fs::read_to_string(&schema).unwrap();
    text.push_str("CREATE INDEX activities_user_uuid_idx ON public.activities (user_uuid);\n");
    std::fs::write(&schema, text).unwrap();
    let db = set_up(&repo, tag);
    db.client()
        .batch_execute(
            "ALTER TABLE users ADD COLUMN x int; \
             ALTER TABLE activities ALTER COLUMN likes_count SET DEFAULT 5; \
             DROP INDEX activities_user_uuid_idx; \
             ALTER TABLE users ALTER COLUMN bio TYPE varchar(40)",
        )
        .unwrap();
    (repo, db)
}

/// The error of a database changed by hand ([`changed_by_hand`]), before what follows it.
fn drifted_four_ways(db: &TestDb) -> String {
    format!(
        "error: database `{}` has drifted: 4 ways from the app's files; nothing was changed",
        db.name
    )
}

/// Changes made by hand in psql: a column added, a default changed, an index dropped, a
/// column's type changed. Each is named.
#[test]
fn changes_made_by_hand_are_named() {
    let (repo, db) = changed_by_hand("diff_hand");
    let drifted = drifted_four_ways(&db);
    repo.cruddur(&db, &["db", "diff"])
        .code(1)
        .stdout_is(&format!(
            "database `{}` differs from what the app's files make in 4 ways:\n  \
             - column `activities.likes_count` differs: the database has integer DEFAULT 5; the \
             files make integer DEFAULT 0\n  \
             - index `activities_user_uuid_idx` is in the files but not in the database (CREATE \
             INDEX activities_user_uuid_idx ON public.activities USING btree (user_uuid))\n  \
             - column `users.bio` differs: the database has character varying(40); the files \
             make text\n  \
             - column `users.x` is in the database but in no file (integer)\n",
            db.name
        ))
        .stderr_is(&format!(
            "{}{drifted} (--sql prints the statements that would bring it to the files)\n",
            building(&db)
        ))
        .run();
}

/// The same changes: --sql gives what would undo them, and it does.
#[test]
fn sql_says_how_to_undo_changes_made_by_hand() {
    let (repo, db) = changed_by_hand("diff_hand_sql");
    let drifted = drifted_four_ways(&db);
    repo.cruddur(&db, &["db", "diff", "--sql"])
        .code(1)
        .stdout_is(&format!(
            "-- database `{}`: what would bring it to the app's files (4 ways); read it before \
             you run any of it\n\n\
             -- column `activities.likes_count` differs: the database has integer DEFAULT 5; the \
             files make integer DEFAULT 0\n\
             ALTER TABLE activities ALTER COLUMN likes_count SET DEFAULT 0;\n\n\
             -- index `activities_user_uuid_idx` is in the files but not in the database (CREATE \
             INDEX activities_user_uuid_idx ON public.activities USING btree (user_uuid))\n\
             CREATE INDEX activities_user_uuid_idx ON public.activities USING btree (user_uuid);\n\n\
             -- column `users.bio` differs: the database has character varying(40); the files \
             make text\n\
             ALTER TABLE users ALTER COLUMN bio TYPE text USING bio::text;\n\n\
             -- column `users.x` is in the database but in no file (integer)\n\
             ALTER TABLE users DROP COLUMN x;\n",
            db.name
        ))
        .stderr_is(&format!("{}{drifted}\n", building(&db)))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
    // The statements --sql printed bring the database back to the files.
    db.client()
        .batch_execute(
            "ALTER TABLE activities ALTER COLUMN likes_count SET DEFAULT 0; \
             CREATE INDEX activities_user_uuid_idx ON public.activities USING btree (user_uuid); \
             ALTER TABLE users ALTER COLUMN bio TYPE text USING bio::text; \
             ALTER TABLE users DROP COLUMN x;",
        )
        .unwrap();
    repo.cruddur(&db, &["db", "diff", "-q"]).run();
}

#[test]
fn a_schema_that_fails_in_the_shadow_names_its_line_and_leaves_no_shadow() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_broken");
    let schema = repo.db_dir().join("schema.sql");
    let mut text = std::fs::read_to_string(&schema).unwrap();
    text.push_str("CREATE TABLE public.broken (id integer REFERENCES nowhere (id));\n");
    std::fs::write(&schema, text).unwrap();
    let line = std::fs::read_to_string(&schema).unwrap().lines().count();
    repo.cruddur(&db, &["db", "diff"])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: the app's files did not build in the shadow database `{}_shadow_⟪n⟫_⟪n⟫`\n\
             caused by: backend-flask/db/schema.sql:{line}:⟪n⟫: relation \"nowhere\" does not \
             exist (SQLSTATE 42P01)\n⟪…⟫\n⟪…⟫\nnothing was applied: the file runs in one \
             transaction, which was rolled back\n",
            building(&db),
            db.name
        ))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

#[test]
fn sigterm_while_the_shadow_builds_leaves_no_shadow() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_term");
    let schema = repo.db_dir().join("schema.sql");
    let mut text = std::fs::read_to_string(&schema).unwrap();
    text.push_str("SELECT pg_sleep(20);\n");
    std::fs::write(&schema, &text).unwrap();
    let line = text.lines().count();
    repo.cruddur(&db, &["db", "diff"])
        .signal_after("TERM", std::time::Duration::from_millis(2500))
        .code(143)
        .stdout_is("")
        .stderr_is(&format!(
            "{}stopped by SIGTERM: stopping at the next safe point (a second signal to stop at \
             once)\nerror: the app's files did not build in the shadow database \
             `{}_shadow_⟪n⟫_⟪n⟫`\ncaused by: stopped by SIGTERM: \
             backend-flask/db/schema.sql:{line}: the running statement was cancelled and \
             backend-flask/db/schema.sql was rolled back; nothing was applied\n",
            building(&db),
            db.name
        ))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

#[test]
fn a_role_that_cannot_create_a_database_is_told_what_to_do() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_role");
    let role = format!("t_diff_reader_{}", std::process::id());
    admin()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'reader-secret' \
             NOCREATEDB; GRANT CONNECT ON DATABASE \"{}\" TO {role}",
            db.name
        ))
        .unwrap();
    // A reader: it may read the app's tables, not make a database.
    db.client()
        .batch_execute(&format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
        ))
        .unwrap();
    let url = format!(
        "postgresql://{role}:reader-secret@{}/{}",
        db.server(),
        db.name
    );
    repo.cruddur(&db, &["db", "diff"])
        .env("CONNECTION_URL", &url)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "building the app's files in a throwaway database `{}_shadow_⟪n⟫_⟪n⟫` on {}\n\
             error: could not create the shadow database `{}_shadow_⟪n⟫_⟪n⟫` on {}: permission \
             denied to create database (SQLSTATE 42501); give the role CREATEDB, or pass \
             --shadow-url to a server where it may create one (nothing was changed)\n",
            db.name,
            db.server(),
            db.name,
            db.server()
        ))
        .run();
    db.client()
        .batch_execute(&format!(
            "REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM {role}"
        ))
        .unwrap();
    admin()
        .batch_execute(&format!(
            "REVOKE CONNECT ON DATABASE \"{}\" FROM {role}; DROP ROLE {role}",
            db.name
        ))
        .unwrap();
}

/// In production the shadow is made only where a URL says, never on production's server, and
/// a URL with a password never goes on a command line.
#[test]
fn production_needs_a_shadow_server_of_its_own() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_prod");
    let prod = || {
        cruddur(&["--prod", "db", "diff"])
            .dir(&repo.root)
            .env("PROD_CONNECTION_URL", db.url())
    };
    prod()
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: in --prod the shadow database (a throwaway database the app's files are \
             built in) is never made on the production server: pass --shadow-url, or set \
             CRUDDUR_SHADOW_URL, to a server where cruddur may create and drop a database (the \
             local one: CRUDDUR_SHADOW_URL=\"$CONNECTION_URL\"); nothing was read\n",
        )
        .run();
    let admin_url = crate::harness::admin_url();
    let mut with_flag: Vec<&str> = vec!["--prod", "db", "diff", "--shadow-url", &admin_url];
    cruddur(&with_flag)
        .dir(&repo.root)
        .env("PROD_CONNECTION_URL", db.url())
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --shadow-url holds a password, which every user of this machine can read \
             on a command line: put the URL in CRUDDUR_SHADOW_URL instead (nothing was read)\n",
        )
        .run();
    with_flag.truncate(3);
    prod()
        .env("CRUDDUR_SHADOW_URL", &admin_url)
        .stdout_is(&database_matches(&db))
        .stderr_is(&format!("PRODUCTION Postgres: ⟪…⟫\n{}", building(&db)))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

/// `doctor` has a row per store: the shape matches, or the first difference and the command
/// that shows the rest (a warning: the diffs are the gates that fail).
#[test]
fn doctor_says_whether_each_store_matches_the_files() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_doctor");
    let table = TestTable::new("diff_doctor");
    schema_load(&table, true);
    let shape_rows = || {
        let checks: Vec<crate::reports::Check> = repo
            .cruddur(&db, &["doctor", "--json"])
            .table(&table)
            .run()
            .json();
        checks
            .into_iter()
            .filter(|c| c.check.ends_with(" shape"))
            .map(|c| (c.check, c.status, c.detail, c.fix))
            .collect::<Vec<_>>()
    };
    let row = |check: &str, status: &str, detail: &str, fix: &str| {
        (
            check.to_string(),
            status.to_string(),
            detail.to_string(),
            fix.to_string(),
        )
    };
    assert_eq!(
        shape_rows(),
        [
            row(
                "postgres shape",
                "ok",
                "matches the app's files (schema.sql and 2 applied migrations)",
                ""
            ),
            row(
                "dynamodb shape",
                "ok",
                "matches what `ddb schema-load` makes",
                ""
            ),
        ]
    );
    db.client()
        .batch_execute("ALTER TABLE users ADD COLUMN x int; ALTER TABLE users ADD COLUMN y int")
        .unwrap();
    assert_eq!(
        shape_rows()[0],
        row(
            "postgres shape",
            "warn",
            "column `users.x` is in the database but in no file (integer); and 1 more",
            "cruddur db diff"
        )
    );
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

/// An applied migration whose file no longer runs: the shadow cannot be built; the error
/// names the migration's file and line, and no shadow is left.
#[test]
fn a_migration_that_fails_in_the_shadow_is_named_and_leaves_no_shadow() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_migration");
    let file = repo
        .db_dir()
        .join("migrations/1683000000123456_add_location_column.py");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "ADD COLUMN location text",
            "ADD COLUMN location no_such_type",
        ),
    )
    .unwrap();
    repo.cruddur(&db, &["db", "diff"])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: the app's files did not build in the shadow database `{}_shadow_⟪n⟫_⟪n⟫`\n\
             caused by: backend-flask/db/migrations/1683000000123456_add_location_column.py:6:⟪n⟫: \
             type \"no_such_type\" does not exist (SQLSTATE 42704)\n⟪…⟫\n⟪…⟫\nnothing was \
             applied: the file runs in one transaction, which was rolled back\n",
            building(&db),
            db.name
        ))
        .run();
    assert_eq!(shadows_of(&db), Vec::<String>::new());
}

/// Names a person typed in psql: a reserved word and mixed case are quoted in --sql as the
/// server quotes them, so that what is printed runs.
#[test]
fn names_that_need_quotes_are_quoted_so_the_sql_runs() {
    let repo = Repo::new();
    let db = set_up(&repo, "diff_quotes");
    db.client()
        .batch_execute("ALTER TABLE users ADD COLUMN \"order\" int; ALTER TABLE users ADD COLUMN \"Mixed Case\" text")
        .unwrap();
    let out = repo
        .cruddur(&db, &["db", "diff", "--sql", "-q"])
        .code(1)
        .run();
    let statements: Vec<&str> = out
        .stdout
        .lines()
        .filter(|line| !line.starts_with("--") && !line.is_empty())
        .collect();
    assert_eq!(
        statements,
        [
            "ALTER TABLE users DROP COLUMN \"Mixed Case\";",
            "ALTER TABLE users DROP COLUMN \"order\";"
        ]
    );
    db.client().batch_execute(&statements.join("\n")).unwrap();
    repo.cruddur(&db, &["db", "diff", "-q"]).run();
}

/// A password in the query string is a password on the command line too.
#[test]
fn a_shadow_url_with_a_password_in_its_query_is_refused() {
    cruddur(&[
        "db",
        "diff",
        "--shadow-url",
        "postgresql://postgres@127.0.0.1:5432/postgres?password=hunter2",
    ])
    .env(
        "CONNECTION_URL",
        "postgresql://postgres@127.0.0.1:9/cruddur",
    )
    .code(1)
    .stdout_is("")
    .stderr_is(
        "error: --shadow-url holds a password, which every user of this machine can read on a \
         command line: put the URL in CRUDDUR_SHADOW_URL instead (nothing was read)\n",
    )
    .run();
}
