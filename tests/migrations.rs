//! `cruddur db migrations`, `migrate`, `rollback` and `new-migration` on migration files
//! written here in the app's format (a Python class per file), in a temporary folder.

use std::path::Path;

use crate::harness::{cruddur, scratch, write, TestDb};
use crate::reports::{MigrationRow, NewMigration};

/// A migration file as the app writes them: `<version>_<name>.py`, a class whose static
/// `migrate_sql()` / `rollback_sql()` return a triple-quoted string.
fn migration(dir: &Path, version: &str, name: &str, up: &str, down: &str) {
    let class: String = name
        .split('_')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect::<String>()
        + "Migration";
    let text = format!(
        "from lib.db import db\n\nclass {class}:\n  @staticmethod\n  def migrate_sql():\n    data = \"\"\"\n{up}\n    \"\"\"\n    return data\n\n  @staticmethod\n  def rollback_sql():\n    data = \"\"\"\n{down}\n    \"\"\"\n    return data\n\n  @staticmethod\n  def migrate().run():\n    db.query_commit({class}.migrate_sql(), {{}})\n\n  @staticmethod\n  def rollback():\n    db.query_commit({class}.rollback_sql(), {{}})\n\nmigration = {class}\n"
    );
    write(dir, &format!("{version}_{name}.py"), &text);
}

/// `<version>_create_<table>.py`: creates the table, and drops it on rollback.
fn table_migration(dir: &Path, version: &str, table: &str) {
    migration(
        dir,
        version,
        &format!("create_{table}"),
        &format!("CREATE TABLE public.{table} (id int);"),
        &format!("DROP TABLE public.{table};"),
    );
}

fn list(db: &TestDb, dir: &Path) -> Vec<MigrationRow> {
    cruddur(&["db", "migrations", "--json"])
        .db(db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir)
        .run()
        .json()
}

/// The row of the migration `name` in `db migrations`.
fn row_named(db: &TestDb, dir: &Path, name: &str) -> MigrationRow {
    list(db, dir).into_iter().find(|r| r.name == name).unwrap()
}

/// The states of the first two rows of `db migrations`.
fn first_two_states(db: &TestDb, dir: &Path) -> [String; 2] {
    let rows = list(db, dir);
    [rows[0].state.clone(), rows[1].state.clone()]
}

/// `cruddur db migrations --check` of the migrations in `dir`: the CI gate.
fn check(db: &TestDb, dir: &Path) -> crate::harness::Run {
    cruddur(&["db", "migrations", "--check"])
        .db(db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir)
}

fn migrate(db: &TestDb, dir: &Path, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["db", "migrate"];
    args.extend_from_slice(extra);
    cruddur(&args).db(db).env("CRUDDUR_MIGRATIONS_DIR", dir)
}

// April 2023 with seven fraction digits; May 2023 with six: as integers, April looks later.
const APRIL: &str = "16812345671234567";
const MAY: &str = "1683000000123456";
const JUNE: &str = "1686000000123456";

#[test]
fn migrations_apply_in_time_order_whatever_their_digit_count() {
    let db = TestDb::set_up("mig_order");
    let dir = scratch();
    migration(
        dir.path(),
        MAY,
        "add_rating",
        "ALTER TABLE public.reviews ADD COLUMN rating int;",
        "ALTER TABLE public.reviews DROP COLUMN rating;",
    );
    table_migration(dir.path(), APRIL, "reviews");
    let rows = list(&db, dir.path());
    assert_eq!(
        rows.iter()
            .map(|r| (r.version.as_str(), r.state.as_str()))
            .collect::<Vec<_>>(),
        [(APRIL, "pending"), (MAY, "pending")]
    );
    cruddur(&["db", "migrations", "--check"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .code(1)
        .stderr_is(&format!(
            "(2 rows)\nerror: 2 migrations are pending in `{dbname}`: apply with `cruddur \
            db migrate`\n",
            dbname = db.name
        ))
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_has("applied 2 migrations")
        .stderr_is("")
        .run();
    assert_eq!(db.marker(), MAY);
    assert!(list(&db, dir.path())
        .iter()
        .all(|r| r.state == "applied" && r.warning.is_none()));
    cruddur(&["db", "migrations", "--check"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stderr_is("(2 rows)\n")
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_has("nothing to do")
        .stderr_is("")
        .run();
}

#[test]
fn percent_signs_and_several_statements() {
    let db = TestDb::set_up("mig_percent");
    let dir = scratch();
    migration(
        dir.path(),
        APRIL,
        "create_badges",
        "CREATE TABLE public.badges (label text DEFAULT '100%%');\n    CREATE TABLE public.awards (id int);",
        "DROP TABLE public.awards;\n    DROP TABLE public.badges;",
    );
    migrate(&db, dir.path(), &[]).stderr_is("").run();
    let default: String = db
        .client()
        .query_one(
            "SELECT column_default FROM information_schema.columns WHERE table_name = 'badges' AND column_name = 'label'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(default.starts_with("'100%'"), "{default}");
    assert!(db.table_exists("public.awards"));
}

#[test]
fn a_failing_migration_applies_nothing_and_names_its_line() {
    let db = TestDb::set_up("mig_fail");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "reviews");
    migration(
        dir.path(),
        MAY,
        "broken",
        "CREATE TABLE public.half (id int);\n    ALTER TABLE public.nowhere ADD COLUMN x int;",
        "DROP TABLE public.half;",
    );
    migration(
        dir.path(),
        JUNE,
        "after",
        "CREATE TABLE public.later (id int);",
        "DROP TABLE public.later;",
    );
    // The file's own line: the ALTER is on line 8 of the .py file.
    migrate(&db, dir.path(), &[])
        .code(1)
        .stderr_has(&format!("{MAY}_broken.py:8"))
        .stderr_has("relation \"public.nowhere\" does not exist")
        .stderr_has(&format!("the marker stays at {APRIL}"))
        .stderr_lacks("Traceback")
        .stdout_is("")
        .run();
    assert!(db.table_exists("public.reviews"));
    assert!(
        !db.table_exists("public.half"),
        "its first statement was rolled back too"
    );
    assert!(
        !db.table_exists("public.later"),
        "it stopped at the failure"
    );
    assert_eq!(db.marker(), APRIL);
}

#[test]
fn rollback_undoes_the_newest_and_moves_the_marker_back() {
    let db = TestDb::set_up("mig_rollback");
    let dir = scratch();
    for (version, table) in [(APRIL, "one"), (MAY, "two"), (JUNE, "three")] {
        migration(
            dir.path(),
            version,
            &format!("create_{table}"),
            &format!("CREATE TABLE public.{table} (id int);"),
            &format!("DROP TABLE public.{table};"),
        );
    }
    migrate(&db, dir.path(), &[]).stderr_is("").run();
    cruddur(&["db", "rollback"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_is(&format!(
            "rolled back 1 migration of `{dbname}`: 1686000000123456_create_three; marker \
            1683000000123456\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert!(!db.table_exists("public.three") && db.table_exists("public.two"));
    assert_eq!(
        db.marker(),
        MAY,
        "the newest still applied, not the undone file's own"
    );
    cruddur(&["db", "rollback", "--steps", "2"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_is(&format!("rolled back 2 migrations of `{dbname}`: 1683000000123456_create_two, 16812345671234567_create_one; \
        marker 0\n", dbname = db.name))
        .stderr_is("")
        .run();
    assert!(!db.table_exists("public.two") && !db.table_exists("public.one"));
    assert_eq!(db.marker(), "0");
    // --to stops there.
    migrate(&db, dir.path(), &["--to", MAY]).stderr_is("").run();
    assert_eq!(db.marker(), MAY);
    assert!(!db.table_exists("public.three"));
}

/// What the app's bin/db/migrate leaves after running the migrations `one` and `two`: their
/// tables, and its marker at the second.
fn apply_the_first_two_as_the_apps_scripts_do(db: &TestDb) {
    db.client()
        .batch_execute(&format!(
            "CREATE TABLE public.one (id int); CREATE TABLE public.two (id int);
             UPDATE public.schema_information SET last_successful_run = '{MAY}' WHERE id = 1"
        ))
        .unwrap();
}

#[test]
fn a_marker_set_by_the_apps_scripts_is_adopted() {
    let db = TestDb::set_up("mig_adopt");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "one");
    table_migration(dir.path(), MAY, "two");
    table_migration(dir.path(), JUNE, "three");
    // The app's bin/db/migrate ran the first two and wrote its marker.
    apply_the_first_two_as_the_apps_scripts_do(&db);
    let states: Vec<String> = list(&db, dir.path()).into_iter().map(|r| r.state).collect();
    assert_eq!(states, ["applied", "applied", "pending"]);
    // The plan says everything the run writes: cruddur's own records table too, which adopts
    // the two files up to the app's marker.
    let (name, server) = (&db.name, db.server());
    migrate(&db, dir.path(), &["--dry-run"])
        .stdout_is(&format!(
            "dry run, nothing was done: would apply 1 migration, oldest first, each in one \
             transaction with its marker (Postgres database `{name}` at {server})\n\
             \x20 - first create public.cruddur_migrations, recording the 2 migrations up to \
             the marker as adopted\n\
             \x20 - {JUNE}_create_three: 1 statement from {dir}/{JUNE}_create_three.py, then \
             last_successful_run = {JUNE}\n",
            dir = dir.path().display()
        ))
        .stderr_is("")
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_has("applied 1 migration")
        .stderr_is("")
        .run();
    assert!(db.table_exists("public.three"));
    // A file older than those applied, which appeared later: pending, with a warning; then
    // applied, and the marker stays at the newest.
    migration(
        dir.path(),
        "1682000000123456",
        "late_arrival",
        "CREATE TABLE public.late (id int);",
        "DROP TABLE public.late;",
    );
    let late = row_named(&db, dir.path(), "late_arrival");
    assert_eq!(late.state, "pending");
    assert!(late.warning.unwrap().contains("never applied"));
    migrate(&db, dir.path(), &[]).stderr_is("").run();
    assert!(db.table_exists("public.late"));
    assert_eq!(db.marker(), JUNE);
    // An applied file edited afterwards is flagged.
    migration(
        dir.path(),
        JUNE,
        "create_three",
        "CREATE TABLE public.three (id bigint);",
        "DROP TABLE public.three;",
    );
    let three = row_named(&db, dir.path(), "create_three");
    assert!(three.warning.unwrap().contains("edited"), "{}", three.file);
}

#[test]
fn new_migration_writes_a_file_the_apps_scripts_can_import() {
    let db = TestDb::set_up("mig_new");
    let dir = scratch();
    let done: NewMigration = cruddur(&["db", "new-migration", "add bio-column", "--json"])
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stderr_is("")
        .run()
        .json();
    let path = done.path.clone();
    let file_name = Path::new(&path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(file_name.ends_with("_add_bio_column.py"), "{file_name}");
    assert_eq!(file_name.split('_').next().unwrap().len(), 16);
    assert_eq!(done.class, "AddBioColumnMigration");
    assert!(file_name.starts_with(&done.version), "{file_name}");
    // Imported by Python with a stub `lib.db`, as the app's scripts would.
    let stub = scratch();
    std::fs::create_dir(stub.path().join("lib")).unwrap();
    write(&stub.path().join("lib"), "__init__.py", "");
    write(
        &stub.path().join("lib"),
        "db.py",
        "class _Db:\n  def query_commit(self, sql, params):\n    return sql\ndb = _Db()\n",
    );
    let check = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import importlib.util, sys\nsys.path.insert(0, {stub:?})\nspec = importlib.util.spec_from_file_location('m', {path:?})\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nassert m.migration.__name__ == 'AddBioColumnMigration'\nassert m.migration.migrate_sql().strip() == ''\nm.migration.migrate()\nm.migration.rollback()\nprint('ok')",
            stub = stub.path().to_str().unwrap()
        ))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // cruddur reads it back: an empty migration, pending.
    let rows = list(&db, dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "pending");
    cruddur(&["db", "new-migration", "1bad"])
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: `1bad` is not a migration name: use letters, digits and `_`, starting \
            with a letter (e.g. add_bio_column)\n",
        )
        .run();
}

#[test]
fn setup_applies_the_pending_migrations_last() {
    let db = TestDb::new("mig_setup");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "reviews");
    cruddur(&["db", "setup"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_is(&format!(
            "database `{dbname}` is set up (⟪n⟫ ms)\n",
            dbname = db.name
        ))
        .stderr_is(&format!(
            "drop                     ok ⟪…⟫ ms  database `{dbname}` does not exist; \
            nothing to drop\ncreate                   ok ⟪…⟫ ms  created database `{dbname}` \
            on {server}\nschema-load              ok ⟪…⟫ ms  loaded built-in sql/schema.sql \
            into `{dbname}`: 9 statements in ⟪n⟫ ms\nseed                     ok ⟪…⟫ \
            ms  seeded built-in sql/seed.sql into `{dbname}`: 2 statements in ⟪n⟫ ms\n\
            update-cognito-user-ids  skipped ⟪…⟫ ms  no AWS_COGNITO_USER_POOL_ID (or \
            --pool-id): cognito_user_id stays 'MOCK'\nmigrate                  ok ⟪…⟫ \
            ms  applied 1 migration to `{dbname}`: 16812345671234567_create_reviews; \
            marker 16812345671234567\n",
            dbname = db.name,
            server = db.server()
        ))
        .run();
    assert!(db.table_exists("public.reviews"));
    assert_eq!(db.marker(), APRIL);
    // The folder is found by walking up from the current one, as in the app's repository.
    let repo = scratch();
    let found = repo.path().join("backend-flask/db/migrations");
    std::fs::create_dir_all(&found).unwrap();
    table_migration(&found, APRIL, "reviews");
    let deep = repo.path().join("frontend-react-js/src");
    std::fs::create_dir_all(&deep).unwrap();
    cruddur(&["db", "migrations", "-v"])
        .db(&db)
        .dir(&deep)
        .stderr_has("backend-flask/db/migrations")
        .run();
    // Without a folder, db setup says it skipped them; the commands say where to look.
    cruddur(&["db", "migrate"])
        .db(&db)
        .code(1)
        .stderr_has("no migrations folder")
        .stderr_has("--migrations-dir")
        .stdout_is("")
        .run();
}

#[test]
fn a_file_that_cannot_be_read_is_named_and_nothing_runs() {
    let db = TestDb::set_up("mig_bad_file");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "one");
    write(
        dir.path(),
        &format!("{MAY}_not_a_migration.py"),
        "print('hello')\n",
    );
    migrate(&db, dir.path(), &[])
        .code(1)
        .stderr_has(&format!("{MAY}_not_a_migration.py"))
        .stderr_has("def migrate_sql")
        .stdout_is("")
        .run();
    assert!(!db.table_exists("public.one"));
}

#[test]
fn production_migrations_need_a_confirmation() {
    let db = TestDb::set_up("mig_prod");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "one");
    cruddur(&["--prod", "db", "migrate"])
        .env("PROD_CONNECTION_URL", db.url())
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .code(3)
        .stderr_has("--yes")
        .stdout_is("")
        .run();
    cruddur(&["--prod", "db", "rollback"])
        .env("PROD_CONNECTION_URL", db.url())
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_has("nothing to roll back")
        .run();
    assert!(!db.table_exists("public.one"));
    cruddur(&["--prod", "db", "migrate", "--dry-run"])
        .env("PROD_CONNECTION_URL", db.url())
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_has(&format!("{APRIL}_create_one: 1 statement"))
        // What protects the data, said before anything runs.
        .stdout_has("no snapshot is taken by cruddur")
        .stdout_has("aws rds create-db-snapshot")
        .run();
    cruddur(&["--prod", "db", "migrate", "--yes"])
        .env("PROD_CONNECTION_URL", db.url())
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .run();
    assert!(db.table_exists("public.one"));
}

#[test]
fn two_migrates_at_once_apply_each_migration_once() {
    let db = TestDb::set_up("mig_twice");
    let dir = scratch();
    // Slow enough that the two runs meet: the second waits for the first's lock.
    migration(
        dir.path(),
        APRIL,
        "slow_start",
        "SELECT pg_sleep(1.5);\nCREATE TABLE public.slow_start (id int);",
        "DROP TABLE public.slow_start;",
    );
    table_migration(dir.path(), MAY, "reviews");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (url, dir) = (db.url(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                cruddur(&["db", "migrate", "--json"])
                    .env("CONNECTION_URL", url)
                    .env("CRUDDUR_MIGRATIONS_DIR", dir)
                    .run()
            })
        })
        .collect();
    let done: Vec<crate::harness::Done> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let applied: Vec<usize> = done
        .iter()
        .map(|d| d.json::<crate::reports::MigrateReport>().applied.len())
        .collect();
    assert_eq!(
        applied.iter().sum::<usize>(),
        2,
        "each migration once: {applied:?}\n{}\n{}",
        done[0],
        done[1]
    );
    assert!(
        done.iter().any(|d| d
            .stderr
            .contains("waiting for another run that holds the migrations lock")),
        "one waited for the other\n{}\n{}",
        done[0],
        done[1]
    );
    assert_eq!(db.marker(), MAY);
    assert_eq!(db.count("public.cruddur_migrations"), 2);
}

#[test]
fn a_lock_held_longer_than_lock_timeout_is_named_and_nothing_is_done() {
    let db = TestDb::set_up("mig_lock_timeout");
    let dir = scratch();
    // A lock held longer than --lock-timeout: named, and nothing done.
    let mut holder = db.client_named("the-other-migrator");
    holder
        .batch_execute("SELECT pg_advisory_lock(7165919031142478337)")
        .unwrap();
    migration(
        dir.path(),
        JUNE,
        "later",
        "CREATE TABLE public.later (id int);",
        "DROP TABLE public.later;",
    );
    cruddur(&["db", "migrate", "--lock-timeout", "1s"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .code(1)
        .stderr_has("another run holds the migrations lock of")
        .stderr_has("the-other-migrator")
        .stderr_has("kept it for 1s: nothing was done")
        .run();
    assert!(!db.table_exists("public.later"));
    drop(holder);
    cruddur(&["db", "migrate"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stdout_is(&format!(
            "applied 1 migration to `{dbname}`: 1686000000123456_later; marker 1686000000123456\n",
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    assert!(db.table_exists("public.later"));
}

/// A migration edited after it was applied: shown as `edited` with both checksums, a CI gate
/// fails on it, `migrate` stops until the edit is accepted (and recorded). The same file saved
/// with CRLF line endings is not an edit.
#[test]
fn an_applied_migration_edited_afterwards_stops_migrate_until_accepted() {
    let db = TestDb::set_up("mig_edited");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "stars");
    migrate(&db, dir.path(), &["-q"]).run();
    let file = dir.path().join(format!("{APRIL}_create_stars.py"));
    let original = std::fs::read_to_string(&file).unwrap();
    // A Windows checkout of the same file: not an edit.
    std::fs::write(&file, original.replace('\n', "\r\n")).unwrap();
    assert_eq!(list(&db, dir.path())[0].state, "applied");
    std::fs::write(&file, original.replace("(id int)", "(id bigint)")).unwrap();
    table_migration(dir.path(), JUNE, "moons");
    assert_eq!(first_two_states(&db, dir.path()), ["edited", "pending"]);
    let shown = format!("{}/{APRIL}_create_stars.py", dir.path().display());
    check(&db, dir.path())
        .code(1)
        .stderr_is(&format!(
            "warning: {shown}: edited since it was applied: the database ran sha256:⟪…⟫, the \
             file is now sha256:⟪…⟫\n(2 rows)\nerror: 1 migration of `{}` was edited since it was applied \
             (create_stars): put the file back, or record it as it is now with `cruddur db \
             migrate --accept-edited NAME`\n",
            db.name
        ))
        .run();
    migrate(&db, dir.path(), &[])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: migration {APRIL}_create_stars ({shown}) was edited after it was applied to \
             `{}`: the database ran sha256:⟪…⟫, the file is now sha256:⟪…⟫; nothing was \
             applied. Put the file back as it was, or pass --accept-edited create_stars to \
             record it as it is now (its new SQL is not run)\n",
            db.name
        ))
        .run();
    assert!(!db.table_exists("public.moons"));
    migrate(&db, dir.path(), &["--accept-edited", "create_moons"])
        .code(1)
        .stderr_is(&format!(
            "error: --accept-edited create_moons: no migration of `{}` has been edited since it \
             was applied (edited: create_stars); nothing was applied\n",
            db.name
        ))
        .run();
    migrate(&db, dir.path(), &["--accept-edited", "create_stars"])
        .stdout_is(&format!(
            "applied 1 migration to `{}`: {JUNE}_create_moons; marker {JUNE}; accepted as \
             edited: {APRIL}_create_stars\n",
            db.name
        ))
        .stderr_is("")
        .run();
    assert_eq!(first_two_states(&db, dir.path()), ["applied", "applied"]);
    assert_eq!(recorded_how(&db, APRIL), "accepted");
}

/// How cruddur's records say the migration `version` came to be applied.
fn recorded_how(db: &TestDb, version: &str) -> String {
    db.client()
        .query_one(
            "SELECT how FROM public.cruddur_migrations WHERE version = $1",
            &[&version],
        )
        .unwrap()
        .get(0)
}

/// A database built before its migrations were tracked: the baseline marks the first two as
/// applied without running them, and `migrate` then applies only the third.
#[test]
fn a_baseline_marks_without_running_and_migrate_applies_what_follows() {
    let db = TestDb::set_up("mig_baseline");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "stars");
    table_migration(dir.path(), MAY, "planets");
    table_migration(dir.path(), JUNE, "moons");
    // The first two were applied by hand long ago.
    db.client()
        .batch_execute("CREATE TABLE public.stars (id int); CREATE TABLE public.planets (id int)")
        .unwrap();
    migrate(&db, dir.path(), &["--baseline", "1690000000000000"])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: --baseline 1690000000000000: no file in {} has that version; its versions: \
             {APRIL} (create_stars), {MAY} (create_planets), {JUNE} (create_moons)\n",
            dir.path().display()
        ))
        .run();
    migrate(&db, dir.path(), &["--baseline", MAY, "--dry-run"])
        .stdout_is(&format!(
            "dry run, nothing was done: would mark the migrations up to {MAY} as applied, \
             without running them (Postgres database `{}` at {})\n  - first create \
             public.cruddur_migrations, recording the 0 migrations up to the marker as \
             adopted\n  - mark the 2 migrations up to {MAY} as applied without running them: \
             last_successful_run = {MAY}, each recorded with its checksum as `baseline`\n",
            db.name,
            db.server()
        ))
        .stderr_is("")
        .run();
    migrate(&db, dir.path(), &["--baseline", MAY])
        .stdout_is(&format!(
            "marked 2 migrations of `{}` as applied without running them: {APRIL}_create_stars, \
             {MAY}_create_planets; marker {MAY}\n",
            db.name
        ))
        .stderr_is("")
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_is(&format!(
            "applied 1 migration to `{}`: {JUNE}_create_moons; marker {JUNE}\n",
            db.name
        ))
        .stderr_is("")
        .run();
    assert!(db.table_exists("public.moons"));
    let states: Vec<String> = list(&db, dir.path()).into_iter().map(|r| r.state).collect();
    assert_eq!(states, ["applied", "applied", "applied"]);
}

/// A migration the app's own script applied (the marker moved, no record of cruddur's): the
/// next migrate says so once and records its checksum; the one after has nothing to say.
#[test]
fn an_applied_migration_without_a_checksum_is_recorded_once() {
    let db = TestDb::set_up("mig_unrecorded");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "stars");
    migrate(&db, dir.path(), &["-q"]).run();
    table_migration(dir.path(), MAY, "planets");
    // What the app's bin/db/migrate does: the SQL and the marker, nothing of cruddur's.
    db.client()
        .batch_execute(&format!(
            "CREATE TABLE public.planets (id int); \
             UPDATE public.schema_information SET last_successful_run = '{MAY}' WHERE id = 1"
        ))
        .unwrap();
    migrate(&db, dir.path(), &[])
        .stdout_is(&format!(
            "`{}` has every migration (marker {MAY}); checksums recorded: {MAY}_create_planets\n",
            db.name
        ))
        .stderr_is(
            "1 applied migration had no checksum (applied before cruddur recorded it): \
             recorded now, as the files are\n",
        )
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_is(&format!(
            "`{}` has every migration (marker {MAY}); nothing to do\n",
            db.name
        ))
        .stderr_is("")
        .run();
    let rows = list(&db, dir.path());
    assert!(rows[1].recorded_checksum.as_deref() == Some(rows[1].checksum.as_str()));
}

/// A record whose checksum is of a form this cruddur does not know (a newer one wrote it):
/// left alone and named, never taken for an edit.
#[test]
fn a_checksum_of_a_newer_cruddur_is_left_alone_and_named() {
    let db = TestDb::set_up("mig_newer");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "stars");
    migrate(&db, dir.path(), &["-q"]).run();
    db.client()
        .batch_execute("UPDATE public.cruddur_migrations SET checksum = 'blake3:00ff00ff00ff00ff'")
        .unwrap();
    let shown = format!("{}/{APRIL}_create_stars.py", dir.path().display());
    cruddur(&["db", "migrations", "--check"])
        .db(&db)
        .env("CRUDDUR_MIGRATIONS_DIR", dir.path())
        .stderr_is(&format!(
            "warning: {shown}: its record's checksum `blake3:00ff00ff00ff00ff` is of a form a \
             newer cruddur writes: left alone\n(1 row)\n"
        ))
        .run();
    migrate(&db, dir.path(), &[])
        .stdout_is(&format!(
            "`{}` has every migration (marker {APRIL}); nothing to do\n",
            db.name
        ))
        .stderr_is("")
        .run();
    let kept: String = db
        .client()
        .query_one("SELECT checksum FROM public.cruddur_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, "blake3:00ff00ff00ff00ff");
}

/// A migration the app's script applied (no record), then a baseline past it: the baseline
/// records it too, so that it never turns pending (and runs twice) behind the newer record.
#[test]
fn a_baseline_records_what_the_apps_script_applied_before_it() {
    let db = TestDb::set_up("mig_baseline_gap");
    let dir = scratch();
    table_migration(dir.path(), APRIL, "stars");
    migrate(&db, dir.path(), &["-q"]).run();
    table_migration(dir.path(), MAY, "planets");
    table_migration(dir.path(), JUNE, "moons");
    db.client()
        .batch_execute(&format!(
            "CREATE TABLE public.planets (id int); \
             UPDATE public.schema_information SET last_successful_run = '{MAY}' WHERE id = 1"
        ))
        .unwrap();
    migrate(&db, dir.path(), &["--baseline", JUNE, "-q"]).run();
    let states: Vec<String> = list(&db, dir.path()).into_iter().map(|r| r.state).collect();
    assert_eq!(states, ["applied", "applied", "applied"]);
    migrate(&db, dir.path(), &[])
        .stdout_is(&format!(
            "`{}` has every migration (marker {JUNE}); nothing to do\n",
            db.name
        ))
        .stderr_is("")
        .run();
}
