//! Inside the app's repository: `tests/app-repo` is a small repository in the app's layout
//! (its own schema, a seed with other users than the built-in ones, nested named queries,
//! migrations that add columns a query reads). Each test copies it to a scratch folder and
//! runs cruddur from inside the copy, then looks at what the database really holds.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{cruddur, schema_load, scratch, write, TestDb, TestTable};
use crate::reports::{Check, LoadReport, MigrationRow, QueryInfo, SeedReport, SetupReport};

/// The newest migration of the fixture (the location column).
const NEWEST: &str = "1683000000123456";
const QUERIES: [&str; 8] = [
    "activities/create",
    "activities/expire",
    "activities/home",
    "activities/show",
    "users/search/by_prefix",
    "users/short",
    "users/show",
    "users/update",
];

/// A copy of the fixture repository, removed when the value goes.
pub(crate) struct Repo {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
}

impl Repo {
    /// A copy of `tests/app-repo`, the app's layout, in a scratch folder.
    pub(crate) fn new() -> Repo {
        let dir = scratch();
        let root = dir.path().join("cruddur-app");
        copy(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/app-repo"),
            &root,
        );
        Repo { _dir: dir, root }
    }

    pub(crate) fn db_dir(&self) -> PathBuf {
        self.root.join("backend-flask/db")
    }

    /// `cruddur ARGS…` from the repository's root, on `db`.
    pub(crate) fn cruddur(&self, db: &TestDb, args: &[&str]) -> crate::harness::Run {
        cruddur(args).db(db).dir(&self.root)
    }

    /// A folder deep inside the repository, made on the way.
    fn deep(&self) -> PathBuf {
        let deep = self.root.join("backend-flask/services/messages/handlers");
        std::fs::create_dir_all(&deep).unwrap();
        deep
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn handles(db: &TestDb) -> Vec<String> {
    db.client()
        .query("SELECT handle FROM public.users ORDER BY handle", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn has_column(db: &TestDb, table: &str, column: &str) -> bool {
    db.client()
        .query_one(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
            &[&table, &column],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

fn load_report(step: &crate::reports::Step) -> LoadReport {
    serde_json::from_value(step.report.clone().expect("the step has a report")).unwrap()
}

/// Every activity's message, sorted.
fn activity_messages(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT message FROM public.activities ORDER BY message",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The fixture repository and its database, set up from it (its users: kimmy, londo and
/// timmy-cde; its migrations applied).
#[track_caller]
fn apps_db(tag: &str) -> (Repo, TestDb) {
    let repo = Repo::new();
    let db = TestDb::new(tag);
    repo.cruddur(&db, &["db", "setup", "-q"])
        .stdout_is(&format!(
            "database `{dbname}` is set up (⟪n⟫ ms)\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    (repo, db)
}

#[test]
fn setup_from_the_repository_builds_the_apps_database_and_says_from_which_files() {
    let repo = Repo::new();
    let db = TestDb::new("app_setup");
    let report: SetupReport = repo
        .cruddur(&db, &["db", "setup", "--json"])
        .stderr_is(&format!(
            "drop                     ok ⟪…⟫ ms  database `{dbname}` does not exist; \
            nothing to drop\ncreate                   ok ⟪…⟫ ms  created database `{dbname}` \
            on {server}\nschema-load              ok ⟪…⟫ ms  loaded backend-flask/db/schema.sql \
            into `{dbname}`: 7 statements in ⟪n⟫ ms\nseed                     ok ⟪…⟫ \
            ms  seeded backend-flask/db/seed.sql into `{dbname}`: 2 statements in ⟪n⟫ \
            ms\nupdate-cognito-user-ids  skipped ⟪…⟫ ms  no AWS_COGNITO_USER_POOL_ID \
            (or --pool-id): cognito_user_id stays 'MOCK'\nmigrate                  ok \
            ⟪…⟫ ms  applied 2 migrations to `{dbname}`: 16812345671234567_add_bio_column, \
            1683000000123456_add_location_column; marker 1683000000123456\n",
            dbname = db.name,
            server = db.server()
        ))
        .run()
        .json();
    let step = |name: &str| report.steps.iter().find(|s| s.step == name).unwrap();
    let schema = load_report(step("schema-load"));
    assert_eq!(
        (schema.file.as_str(), schema.source.as_str()),
        ("backend-flask/db/schema.sql", "app")
    );
    let seed = load_report(step("seed"));
    assert_eq!(
        (seed.file.as_str(), seed.source.as_str()),
        ("backend-flask/db/seed.sql", "app")
    );
    // The repository's users and activities, not the built-in ones; its migrations on top.
    assert_eq!(handles(&db), ["kimmy", "londo", "timmy-cde"]);
    assert_eq!(db.count("public.activities"), 2);
    assert_eq!(
        activity_messages(&db),
        [
            "Only the repository's seed has this one.",
            "Seeded from the repository, 100% of it!"
        ]
    );
    assert!(has_column(&db, "users", "bio") && has_column(&db, "users", "location"));
    assert_eq!(db.marker(), NEWEST);
    let name: String = db
        .client()
        .query_one(
            "SELECT display_name FROM public.users WHERE handle = 'timmy-cde'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(name, "Timothée O'Brien");
}

#[test]
fn the_setup_plan_names_the_repositorys_files_before_anything_is_done() {
    let repo = Repo::new();
    let db = TestDb::new("app_setup_plan");

    // The plan says the same files the setup reports, before anything is done.
    let plan: crate::reports::DryRun = repo
        .cruddur(&db, &["db", "setup", "--dry-run", "--json"])
        .stderr_is("")
        .run()
        .json();
    let actions = plan.actions.join("\n");
    for file in [
        "load backend-flask/db/schema.sql",
        "load backend-flask/db/seed.sql",
        "migrations of backend-flask/db/migrations",
    ] {
        assert!(actions.contains(file), "{file} not in\n{actions}");
    }
}

#[test]
fn from_a_deep_subfolder_the_files_are_named_from_there() {
    let repo = Repo::new();
    let db = TestDb::created("app_deep");
    let deep = repo.deep();
    let loaded: LoadReport = cruddur(&["db", "schema-load", "--json", "-v"])
        .db(&db)
        .dir(&deep)
        .stderr_has("app files: ../../../db (found walking up from ")
        .run()
        .json();
    assert_eq!(loaded.file, "../../../db/schema.sql");
    assert_eq!(loaded.source, "app");
    assert!(loaded.migrations_reset.is_none());
    cruddur(&["db", "seed"])
        .db(&db)
        .dir(&deep)
        .stdout_is(&format!(
            "seeded ../../../db/seed.sql into `{dbname}`: 2 statements in ⟪n⟫ ms\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert_eq!(handles(&db), ["kimmy", "londo", "timmy-cde"]);
    let rows: Vec<MigrationRow> = cruddur(&["db", "migrations", "--json"])
        .db(&db)
        .dir(&deep)
        .stderr_is("")
        .run()
        .json();
    let files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "../../../db/migrations/16812345671234567_add_bio_column.py",
            "../../../db/migrations/1683000000123456_add_location_column.py"
        ]
    );
    assert!(rows.iter().all(|r| r.state == "pending"));
    cruddur(&["db", "migrate"]).db(&db).dir(&deep)
        .stdout_is(&format!("applied 2 migrations to `{dbname}`: 16812345671234567_add_bio_column, 1683000000123456_add_location_column; \
        marker 1683000000123456\n", dbname = db.name))
        .stderr_is("")
        .run();
    assert!(has_column(&db, "users", "location"));
}

#[test]
fn every_query_of_the_folder_is_listed_and_a_plain_read_gives_its_rows() {
    let (repo, db) = apps_db("app_queries");

    let listed: Vec<QueryInfo> = repo
        .cruddur(&db, &["db", "query", "--json"])
        .stderr_is("queries of backend-flask/db/sql\n")
        .run()
        .json();
    let names: Vec<&str> = listed.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, QUERIES);
    let update = listed.iter().find(|q| q.name == "users/update").unwrap();
    assert_eq!(update.params, "bio, display_name, handle");
    assert_eq!(
        update.description,
        "Change a user's bio and display name; says whose."
    );
    assert_eq!(update.file, "backend-flask/db/sql/users/update.sql");
    assert!(listed.iter().all(|q| q.problem.is_none()));

    // A plain read: rows.
    let home: Vec<serde_json::Map<String, Value>> = repo
        .cruddur(&db, &["db", "query", "activities/home", "--json"])
        .stderr_is("")
        .run()
        .json();
    assert_eq!(home.len(), 2);
}

#[test]
fn a_write_with_returning_stores_hostile_text_and_a_document_reads_it_back() {
    let (repo, db) = apps_db("app_query_write");

    // A write with RETURNING, hostile text and all: through the guard, into the database.
    let bio = "100% \"quoted\" 'bio' — ünïcode \u{1b}[31m";
    let updated: Vec<serde_json::Map<String, Value>> = repo
        .cruddur(
            &db,
            &[
                "db",
                "query",
                "users/update",
                "-p",
                &format!("bio={bio}"),
                "-p",
                "display_name=Kim M.",
                "-p",
                "handle=kimmy",
                "--json",
            ],
        )
        .stderr_is("")
        .run()
        .json();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["handle"], "kimmy");
    let stored: String = db
        .client()
        .query_one("SELECT bio FROM public.users WHERE handle = 'kimmy'", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, bio);

    // A document built with row_to_json: printed as that JSON, reading the migrated column.
    let shown: Value = repo
        .cruddur(
            &db,
            &["db", "query", "users/show", "-p", "handle=kimmy", "--json"],
        )
        .stderr_is("")
        .run()
        .json();
    assert_eq!(shown["profile"]["handle"], "kimmy");
    assert_eq!(shown["profile"]["bio"], bio);
    assert_eq!(shown["profile"]["cruds_count"], 1);
    assert_eq!(shown["activities"].as_array().unwrap().len(), 1);
}

#[test]
fn a_document_is_indented_json_for_people_too_and_nothing_found_is_null() {
    let (repo, db) = apps_db("app_query_document");

    // For people too: indented JSON, never a one-cell table.
    let people = repo
        .cruddur(&db, &["db", "query", "users/show", "-p", "handle=londo"])
        .stdout_is(
            r#"{
  "profile": {
    "uuid": "⟪uuid⟫",
    "handle": "londo",
    "display_name": "Londo Mollari",
    "bio": null,
    "cruds_count": 1
  },
  "activities": [
    {
      "uuid": "⟪uuid⟫",
      "message": "Only the repository's seed has this one.",
      "created_at": "⟪time⟫"
    }
  ]
}
"#,
        )
        .stderr_is("")
        .run();
    let again: Value = serde_json::from_str(&people.stdout).unwrap();
    assert_eq!(again["profile"]["display_name"], "Londo Mollari");
    assert!(!people.stdout.contains('│'), "{people}");
    // Nothing found: null for machines, a note for people.
    let none = repo
        .cruddur(
            &db,
            &["db", "query", "users/show", "-p", "handle=nobody", "--json"],
        )
        .stdout_is("null\n")
        .stderr_is("")
        .run();
    assert_eq!(none.stdout.trim(), "null");
}

/// `activities/create` for londo through the repository's query, its stderr empty: the new
/// activity's uuid.
#[track_caller]
fn create_londos_activity(repo: &Repo, db: &TestDb) -> String {
    let created: Vec<serde_json::Map<String, Value>> = repo
        .cruddur(
            db,
            &[
                "db",
                "query",
                "activities/create",
                "-p",
                "handle=londo",
                "-p",
                "message=Hello from the repository",
                "-p",
                "expires_at=2031-01-01",
                "--json",
            ],
        )
        .stderr_is("")
        .run()
        .json();
    created[0]["uuid"].as_str().unwrap().to_string()
}

#[test]
fn an_insert_returning_gives_its_uuid_and_a_document_reads_the_row_back() {
    let (repo, db) = apps_db("app_query_insert");

    // An INSERT … RETURNING, then a document that reads it back.
    let uuid = create_londos_activity(&repo, &db);
    let activity: Value = repo
        .cruddur(
            &db,
            &[
                "db",
                "query",
                "activities/show.sql",
                "-p",
                &format!("uuid={uuid}"),
                "--json",
            ],
        )
        .stderr_is("")
        .run()
        .json();
    assert_eq!(activity["activity"]["message"], "Hello from the repository");
    assert_eq!(db.count("public.activities"), 3);
}

#[test]
fn a_query_two_folders_deep_runs_with_percent_signs_and_a_migrated_column() {
    let (repo, db) = apps_db("app_query_deep");

    // Two folders deep, with `%%` and a migrated column.
    let found: Vec<serde_json::Map<String, Value>> = repo
        .cruddur(
            &db,
            &[
                "db",
                "query",
                "users/search/by_prefix",
                "-p",
                "prefix=tim",
                "--json",
            ],
        )
        .stderr_is("")
        .run()
        .json();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["location"], "Babylon 5");
}

/// `cruddur db query activities/expire -p handle=kimmy` from the repository (more arguments
/// with `.arg`).
fn expire_kimmys_activities(repo: &Repo, db: &TestDb) -> crate::harness::Run {
    repo.cruddur(
        db,
        &["db", "query", "activities/expire", "-p", "handle=kimmy"],
    )
}

#[test]
fn a_write_without_returning_is_planned_with_its_file_then_run_and_counted() {
    let (repo, db) = apps_db("app_query_expire");
    create_londos_activity(&repo, &db);

    // A write without RETURNING: planned with its file, then run, and counted.
    let plan: crate::reports::DryRun = expire_kimmys_activities(&repo, &db)
        .arg("--dry-run")
        .arg("--json")
        .stderr_is("")
        .run()
        .json();
    assert_eq!(
        plan.summary,
        format!(
            "would run `activities/expire` (backend-flask/db/sql/activities/expire.sql), which writes \
             (Postgres database `{}` at {})",
            db.name,
            crate::harness::admin_url()
                .split('@')
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap()
        )
    );
    let expired: crate::reports::QueryWrite = expire_kimmys_activities(&repo, &db)
        .arg("--json")
        .stderr_is("")
        .run()
        .json();
    assert_eq!(expired.rows_affected, 1);
    assert_eq!(expired.file, "backend-flask/db/sql/activities/expire.sql");
    let live: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM public.activities WHERE expires_at > now()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(live, 2, "kimmy's one activity expired, londo's two live");
}

#[test]
fn a_read_refuses_dry_run_and_a_built_in_query_the_repository_lacks_is_unknown() {
    let (repo, db) = apps_db("app_query_refused");

    // A read refuses --dry-run.
    repo.cruddur(&db, &["db", "query", "activities/home", "--dry-run"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: query `activities/home` only reads: --dry-run has nothing to show; \
            run it without --dry-run\n",
        )
        .run();

    // A built-in name the repository does not have is unknown here, and says what is.
    repo.cruddur(
        &db,
        &[
            "db",
            "query",
            "users/uuid_from_cognito_user_id",
            "-p",
            "x=y",
        ],
    )
    .code(1)
    .stdout_is("")
    .stderr_is(
        "error: there is no query `users/uuid_from_cognito_user_id` in backend-flask/db/sql; \
        the queries are: activities/create, activities/expire, activities/home, \
        activities/show, users/search/by_prefix, users/short, users/show, users/update \
        (`cruddur db query` lists them with their parameters)\n",
    )
    .run();
}

/// Two queries that cannot run written into the repository's `sql/users`: `broken.sql` (a
/// placeholder never closed, line 4) and `two.sql` (a second statement, line 2). The folder.
fn write_broken_queries(repo: &Repo) -> PathBuf {
    let folder = repo.db_dir().join("sql/users");
    write(
        &folder,
        "broken.sql",
        "-- half written\nSELECT *\nFROM public.users\nWHERE handle = %(handle\n",
    );
    write(&folder, "two.sql", "SELECT 1;\nDELETE FROM public.users;\n");
    folder
}

#[test]
fn a_query_that_cannot_be_parsed_names_its_file_and_line() {
    let (repo, db) = apps_db("app_badquery");
    write_broken_queries(&repo);
    repo.cruddur(&db, &["db", "query", "users/broken", "-p", "handle=kimmy"])
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: backend-flask/db/sql/users/broken.sql:4:16: placeholder at `%(handle` \
            is not closed with `)s`\n",
        )
        .run();
    repo.cruddur(&db, &["db", "query", "users/two"])
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: backend-flask/db/sql/users/two.sql:2:1: a second statement: a named \
            query holds exactly one (as the app runs it)\n",
        )
        .run();
    assert_eq!(db.count("public.users"), 3, "nothing ran");
    // The listing still lists them all, and says which cannot run.
    let listed: Vec<QueryInfo> = repo
        .cruddur(&db, &["db", "query", "--json"])
        .stderr_is("queries of backend-flask/db/sql\nwarning: backend-flask/db/sql/users/broken.sql:4:16: \
        placeholder at `%(handle` is not closed with `)s`\nwarning: backend-flask/db/sql/users/two.sql:2:1: \
        a second statement: a named query holds exactly one (as the app runs it)\n")
        .run()
        .json();
    assert_eq!(listed.len(), QUERIES.len() + 2);
    let broken = listed.iter().find(|q| q.name == "users/broken").unwrap();
    assert!(broken
        .problem
        .as_deref()
        .unwrap()
        .contains("broken.sql:4:16"));
    assert_eq!(broken.description, "half written");
}

#[test]
fn a_symlink_back_up_the_query_tree_is_read_once_not_followed_round() {
    let (repo, db) = apps_db("app_query_loop");
    let folder = write_broken_queries(&repo);

    // A symlink back up the tree is read once, not followed round.
    std::os::unix::fs::symlink("..", folder.join("loop")).unwrap();
    let listed: Vec<QueryInfo> = repo
        .cruddur(&db, &["db", "query", "--json", "-q"])
        .stderr_is(
            "warning: backend-flask/db/sql/users/broken.sql:4:16: placeholder at `%(handle` \
            is not closed with `)s`\nwarning: backend-flask/db/sql/users/two.sql:2:1: \
            a second statement: a named query holds exactly one (as the app runs it)\n",
        )
        .run()
        .json();
    assert_eq!(listed.len(), QUERIES.len() + 2);
}

#[test]
fn a_seed_file_that_is_not_utf8_is_named_and_nothing_is_loaded() {
    let (repo, db) = apps_db("app_seed_not_utf8");

    // A file that is not UTF-8 is named, and nothing is loaded.
    std::fs::write(
        repo.db_dir().join("seed.sql"),
        b"INSERT INTO x VALUES ('\xff');\n",
    )
    .unwrap();
    repo.cruddur(&db, &["db", "seed"])
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: cannot read backend-flask/db/seed.sql\ncaused by: it is not UTF-8 \
            text (a bad byte at offset 23): save it as UTF-8\n",
        )
        .run();
    assert_eq!(db.count("public.users"), 3);
}

/// Users the app's seed.sql inserts in one statement share their `created_at`: person 1 and
/// person 2 are then its first two, in the order its author wrote them, not by handle.
#[test]
fn users_made_together_pair_in_the_order_the_seed_names_them() {
    let repo = Repo::new();
    let seed = repo.db_dir().join("seed.sql");
    let text = std::fs::read_to_string(&seed).unwrap();
    let timmy = "  ('Timothée O''Brien', 'tim@example.test', 'timmy-cde', 'MOCK');\n";
    let reordered = text
        .replace(timmy, "")
        .replace(
            "VALUES\n  ('Kim Moreau'",
            "VALUES\n  ('Timothée O''Brien', 'tim@example.test', 'timmy-cde', 'MOCK'),\n  ('Kim Moreau'",
        )
        .replace(
            "'londo', 'MOCK'),\n",
            "'londo', 'MOCK');\n",
        );
    assert_ne!(reordered, text, "the seed was reordered");
    std::fs::write(&seed, reordered).unwrap();
    let db = TestDb::new("app_pair");
    repo.cruddur(&db, &["db", "setup", "-q"]).run();
    let table = TestTable::new("app_pair");
    schema_load(&table, false);
    cruddur(&["ddb", "seed", "-q"])
        .stack(&db, &table)
        .dir(&repo.root)
        .stdout_is(&format!(
            "seeded conversation ⟪uuid⟫ between timmy-cde and kimmy \
             in `{}`: ⟪n⟫ items (2 groups + ⟪n⟫ messages) in ⟪n⟫ requests, 0 retries, ⟪n⟫ ms\n",
            table.name
        ))
        .stderr_is("")
        .run();
}

/// The fixture repository, its database set up from it (its users: kimmy, londo and
/// timmy-cde) and an empty table with the schema.
fn apps_stack(tag: &str) -> (Repo, TestDb, TestTable) {
    let (repo, db) = apps_db(tag);
    let table = TestTable::new(tag);
    schema_load(&table, false);
    (repo, db, table)
}

/// `case` refused for the handle tim-suarez, not a user of the app's seed: named, the users
/// listed, and `flag` said; nothing on stdout.
#[track_caller]
fn refused_as_no_user(case: crate::harness::Run, db: &TestDb, flag: &str) {
    case.code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: no user 'tim-suarez' in {dbname}; users: kimmy, londo, timmy-cde \
            — pass {flag}\n",
            dbname = db.name
        ))
        .run();
}

#[test]
fn a_handle_that_is_not_one_of_the_apps_users_is_named_and_the_users_listed() {
    let (repo, db, table) = apps_stack("app_no_user");

    // The built-in pair's second member is not a user here: named, listed, nothing written.
    refused_as_no_user(
        cruddur(&[
            "ddb",
            "seed",
            "--my-handle",
            "timmy-cde",
            "--other-handle",
            "tim-suarez",
        ])
        .stack(&db, &table)
        .dir(&repo.root),
        &db,
        "--other-handle",
    );
    assert!(table.items().is_empty(), "nothing may be written");

    // The access patterns name the flag when a handle is missing.
    refused_as_no_user(
        cruddur(&[
            "ddb",
            "patterns",
            "list-conversations",
            "--handle",
            "tim-suarez",
        ])
        .stack(&db, &table)
        .dir(&repo.root),
        &db,
        "--handle",
    );
    refused_as_no_user(
        cruddur(&[
            "ddb",
            "patterns",
            "send-message",
            "--from",
            "kimmy",
            "--to",
            "tim-suarez",
            "--message",
            "hi",
        ])
        .stack(&db, &table)
        .dir(&repo.root),
        &db,
        "--to",
    );
}

#[test]
fn the_seed_and_the_patterns_default_to_the_apps_oldest_users() {
    let (repo, db, table) = apps_stack("app_defaults");

    // No flags: the oldest users (a tie broken by the order seed.sql names them), said on stderr and in the report.
    let seeded: SeedReport = cruddur(&["ddb", "seed", "--json"])
        .stack(&db, &table)
        .dir(&repo.root)
        .stderr_is(
            "conversation between kimmy and londo (--my-handle and --other-handle choose \
            others)\n",
        )
        .run()
        .json();
    assert_eq!(seeded.between, ["kimmy", "londo"]);
    let items = table.items();
    assert_eq!(items.len(), seeded.items);
    assert!(items
        .iter()
        .filter(|i| i["pk"].starts_with("MSG#"))
        .all(|i| ["kimmy", "londo"].contains(&i["user_handle"].as_str())));

    // One flag: the other is the oldest user that is not it.
    let seeded: SeedReport = cruddur(&[
        "ddb",
        "seed",
        "--replace",
        "--my-handle",
        "timmy-cde",
        "--json",
    ])
    .stack(&db, &table)
    .dir(&repo.root)
    .stderr_is(
        "conversation between timmy-cde and kimmy (--my-handle and --other-handle \
        choose others)\n",
    )
    .run()
    .json();
    assert_eq!(seeded.between, ["timmy-cde", "kimmy"]);

    // The access patterns default the same way.
    cruddur(&["ddb", "patterns", "list-conversations", "--json"])
        .stack(&db, &table)
        .dir(&repo.root)
        .stdout_is(
            r#"[
  {
    "uuid": "5ae290ed-55d1-47a0-bc6d-fe2bc2700399",
    "display_name": "Timothée O'Brien",
    "handle": "timmy-cde",
    "message": "Only if we fit the dynamo first. And bring twice the zip ties.",
    "created_at": "⟪time⟫"
  }
]
"#,
        )
        .stderr_is("conversations of kimmy (--handle chooses another)\n")
        .run();
}

#[test]
fn a_schema_reload_planned_under_applied_migrations_says_the_marker_would_be_reset() {
    let (repo, db) = apps_db("app_trap_plan");
    assert_eq!(db.marker(), NEWEST);

    // The plan says what may happen.
    let plan: crate::reports::DryRun = repo
        .cruddur(&db, &["db", "schema-load", "--dry-run", "--json"])
        .stderr_is("")
        .run()
        .json();
    assert!(
        plan.actions
            .iter()
            .any(|a| a.contains(&format!("reset schema_information to 0 (now {NEWEST})"))),
        "{plan:?}"
    );
    assert_eq!(db.marker(), NEWEST, "a dry run changes nothing");
}

#[test]
fn a_schema_reload_under_applied_migrations_resets_the_marker_and_says_so() {
    let (repo, db) = apps_db("app_trap");
    assert_eq!(db.marker(), NEWEST);
    let records = |db: &TestDb| db.count("public.cruddur_migrations");
    assert_eq!(records(&db), 2);

    // The app's schema recreates users and activities but keeps schema_information.
    let loaded: LoadReport = repo
        .cruddur(&db, &["db", "schema-load", "--json"])
        .stderr_is(
            "warning: backend-flask/db/schema.sql recreated activities, users, which \
            lost what the migrations applied before had changed (marker 1683000000123456): \
            schema_information is reset to 0 and cruddur's record of 2 applied migrations \
            cleared — run `cruddur db migrate` to apply them again\n",
        )
        .run()
        .json();
    let reset = loaded.migrations_reset.expect("a reset is reported");
    assert_eq!(reset.marker_was, NEWEST);
    assert_eq!(reset.records_cleared, 2);
    assert_eq!(reset.tables, ["activities", "users"]);
    // The marker and cruddur's records now say what the tables really hold.
    assert!(!has_column(&db, "users", "bio"));
    assert_eq!(db.marker(), "0");
    assert_eq!(records(&db), 0);
    let rows: Vec<MigrationRow> = repo
        .cruddur(&db, &["db", "migrations", "--json"])
        .stderr_is("")
        .run()
        .json();
    assert!(rows.iter().all(|r| r.state == "pending"), "{rows:?}");
    repo.cruddur(&db, &["db", "migrate"])
        .stdout_is(&format!("applied 2 migrations to `{dbname}`: 16812345671234567_add_bio_column, 1683000000123456_add_location_column; \
        marker 1683000000123456\n", dbname = db.name))
        .stderr_is("")
        .run();
    assert!(has_column(&db, "users", "bio") && has_column(&db, "users", "location"));
    assert_eq!(db.marker(), NEWEST);
}

#[test]
fn a_seed_load_under_applied_migrations_resets_nothing() {
    let (repo, db) = apps_db("app_trap_seed");

    // A seed load replaces no table: nothing to reset.
    let seeded: LoadReport = repo
        .cruddur(&db, &["db", "seed", "--json"])
        .stderr_is("")
        .run()
        .json();
    assert!(seeded.migrations_reset.is_none());
    assert_eq!(db.marker(), NEWEST);
}

#[test]
fn doctor_and_verbose_name_the_folder_and_each_file() {
    let repo = Repo::new();
    let db = TestDb::new("app_doctor");
    repo.cruddur(&db, &["db", "setup", "-q"])
        .stderr_is("")
        .run();
    write(
        &repo.db_dir().join("sql"),
        "oops.sql",
        "SELECT 'never closed\n",
    );
    let done = cruddur(&["doctor", "--json"])
        .db(&db)
        .dir(&repo.deep())
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
        .code(1)
        .run();
    let checks: Vec<Check> = done.json();
    let row = |name: &str| {
        checks
            .iter()
            .find(|c| c.check == name)
            .unwrap_or_else(|| panic!("no {name} row\n{done}"))
    };
    assert!(row("app folder")
        .detail
        .starts_with("../../../db (found walking up from "));
    assert_eq!(
        row("schema.sql").detail,
        "../../../db/schema.sql: 7 statements"
    );
    assert_eq!(row("seed.sql").detail, "../../../db/seed.sql: 2 statements");
    let queries = row("named queries");
    assert_eq!(queries.status, "warn");
    assert!(
        queries.detail.starts_with(
            "9 in ../../../db/sql; 1 cannot run: ../../../db/sql/oops.sql:1:8: unterminated string"
        ),
        "{}",
        queries.detail
    );
    assert_eq!(row("migrations").status, "ok");
    assert!(row("migrations").detail.contains("../../../db/migrations"));

    // -v says which folder and how it was found.
    repo.cruddur(&db, &["db", "seed", "--dry-run", "-v"])
        .stderr_has("app files: backend-flask/db (found walking up from")
        .stdout_has("run 2 statements of backend-flask/db/seed.sql")
        .run();
}

#[test]
fn app_dir_or_its_variable_names_a_repository_elsewhere_and_a_folder_that_is_not_is_refused() {
    let repo = Repo::new();
    let elsewhere = scratch();
    let db = TestDb::new("app_dir");
    // From an unrelated folder, the flag and the variable both lead to the repository (the
    // flag wins over the variable, which names nothing here).
    let root = repo.root.to_str().unwrap();
    cruddur(&["db", "setup", "-q", "--app-dir", root])
        .db(&db)
        .dir(elsewhere.path())
        .env("CRUDDUR_APP_DIR", "/nonexistent")
        .stdout_is(&format!(
            "database `{dbname}` is set up (⟪n⟫ ms)\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert_eq!(db.marker(), NEWEST);
    let report: SetupReport = cruddur(&["db", "setup", "--json"])
        .db(&db)
        .dir(elsewhere.path())
        .env("CRUDDUR_APP_DIR", &repo.root)
        .run()
        .json();
    let schema = load_report(
        report
            .steps
            .iter()
            .find(|s| s.step == "schema-load")
            .unwrap(),
    );
    assert!(
        schema
            .file
            .ends_with("cruddur-app/backend-flask/db/schema.sql"),
        "{}",
        schema.file
    );
    assert_eq!(handles(&db), ["kimmy", "londo", "timmy-cde"]);

    cruddur(&["db", "schema-load", "--app-dir", "nowhere"])
        .db(&db)
        .dir(elsewhere.path())
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --app-dir (or CRUDDUR_APP_DIR) nowhere is not a folder: name the \
            app's repository or its backend-flask/db folder\n",
        )
        .run();
}

#[test]
fn a_missing_seed_file_is_named_with_the_fix_and_nothing_is_dropped() {
    let (repo, db) = apps_db("app_dir_no_seed");

    // A repository whose seed.sql is gone: named, with the fix, and nothing dropped.
    std::fs::remove_file(repo.db_dir().join("seed.sql")).unwrap();
    repo.cruddur(&db, &["db", "setup"])
        .code(1)
        .stderr_has("error: backend-flask/db/seed.sql is missing: the app's database folder backend-flask/db")
        .stderr_has("Pass --file PATH, or --app-dir")
        .stdout_is("")
        .run();
    assert_eq!(
        handles(&db),
        ["kimmy", "londo", "timmy-cde"],
        "nothing was dropped"
    );
}

#[test]
fn a_seed_that_cannot_be_split_stops_the_setup_before_the_drop_and_names_its_line() {
    let (repo, db) = apps_db("app_dir_bad_seed");

    // A seed that cannot be split stops the setup before the drop, naming its line.
    write(
        &repo.db_dir(),
        "seed.sql",
        "INSERT INTO public.users VALUES ('a');\n/* never closed\n",
    );
    repo.cruddur(&db, &["db", "setup"])
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: backend-flask/db/seed.sql:2:1: unterminated /* comment starting here; \
            nothing was run\n  2 | /* never closed\n    | ^\n",
        )
        .run();
    assert_eq!(
        handles(&db),
        ["kimmy", "londo", "timmy-cde"],
        "nothing was dropped"
    );
}

#[test]
fn outside_any_repository_the_built_in_files_are_used_and_said() {
    let db = TestDb::new("app_none");
    let report: SetupReport = cruddur(&["db", "setup", "--json"]).db(&db).run().json();
    let schema = load_report(
        report
            .steps
            .iter()
            .find(|s| s.step == "schema-load")
            .unwrap(),
    );
    assert_eq!(
        (schema.file.as_str(), schema.source.as_str()),
        ("built-in sql/schema.sql", "built_in")
    );
    let seed = load_report(report.steps.iter().find(|s| s.step == "seed").unwrap());
    assert_eq!(seed.file, "built-in sql/seed.sql");
    assert_eq!(handles(&db), ["londo", "tim-suarez", "timmy-cde"]);
    let migrate = report.steps.iter().find(|s| s.step == "migrate").unwrap();
    assert_eq!(migrate.status, "skipped");
    let listed: Vec<QueryInfo> = cruddur(&["db", "query", "--json"])
        .db(&db)
        .stderr_is("queries of built-in sql/\n")
        .run()
        .json();
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[0].file, "built-in sql/activities/create.sql");
    // The built-in pair is the default conversation here, as before.
    let table = TestTable::new("app_none");
    schema_load(&table, false);
    let seeded: SeedReport = cruddur(&["ddb", "seed", "--json"])
        .stack(&db, &table)
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run()
        .json();
    assert_eq!(seeded.between, ["timmy-cde", "tim-suarez"]);
    let checks: Vec<Check> = cruddur(&["doctor", "--json"])
        .db(&db)
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
        .code(1)
        .run()
        .json();
    let folder = checks.iter().find(|c| c.check == "app folder").unwrap();
    assert!(folder.detail.starts_with("none found"), "{}", folder.detail);
    assert!(folder.detail.ends_with("the built-in files are used"));
}
