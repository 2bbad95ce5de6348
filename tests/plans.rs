//! Plans that are what runs: for every writer, the plan its `--dry-run` shows is the plan
//! its real run then executes. With `-v` the one write path prints the plan it is about to
//! execute (`executing: …` and its actions); that text must be the dry run's, whole.

use serde_json::Value;

use crate::harness::{cruddur, scratch, write, Run, TestDb, TestTable};

/// Run `case` as a dry run, then for real with `-v`: the real run must say it executes
/// exactly the dry run's plan.
#[track_caller]
fn runs_its_plan(args: &[&str], with: impl Fn(Run) -> Run) {
    let mut dry: Vec<&str> = args.to_vec();
    dry.extend(["--dry-run", "--output", "json"]);
    let planned = with(cruddur(&dry)).run();
    let plan: Value = planned.json();
    let summary = plan["summary"].as_str().expect("a dry run has a summary");
    let mut expected = format!(
        "executing: {}",
        summary.strip_prefix("would ").expect("`would …`")
    );
    for action in plan["actions"].as_array().expect("a dry run has actions") {
        expected.push_str("\n  - ");
        expected.push_str(action.as_str().unwrap());
    }
    let mut real = vec!["-v"];
    real.extend(args);
    let done = with(cruddur(&real)).run();
    assert!(
        done.stderr.contains(&expected),
        "the run did not execute the plan its dry run showed:\n{expected}\n{done}"
    );
}

#[test]
fn every_postgres_writer_executes_the_plan_its_dry_run_showed() {
    let db = TestDb::new("pl_pg");
    let on = |run: Run| run.db(&db);
    runs_its_plan(&["db", "create"], on);
    runs_its_plan(&["db", "schema-load"], on);
    runs_its_plan(&["db", "seed"], on);
    runs_its_plan(
        &[
            "db",
            "query",
            "activities/create",
            "-p",
            "handle=londo",
            "-p",
            "message=a % 'quoted' \u{1b}[2J message",
            "-p",
            "expires_at=2030-01-01",
        ],
        on,
    );
    let folder = scratch();
    for (version, table) in [("1681234567123456", "one"), ("1683000000123456", "two")] {
        write(
            folder.path(),
            &format!("{version}_create_{table}.py"),
            &format!("class CreateMigration:\n  def migrate_sql():\n    data = \"\"\"CREATE TABLE public.{table} (id int);\"\"\"\n    return data\n  def rollback_sql():\n    data = \"\"\"DROP TABLE public.{table};\"\"\"\n    return data\nmigration = CreateMigration\n"),
        );
    }
    let dir = folder.path().to_str().unwrap();
    runs_its_plan(&["db", "migrate", "--migrations-dir", dir], on);
    runs_its_plan(&["db", "rollback", "--migrations-dir", dir], on);
    let (pool, _) = crate::cognito::pool(&[("timmy", Some("timmy-cde"))]);
    runs_its_plan(
        &["db", "update-cognito-user-ids", "--pool-id", &pool],
        |run| on(run).aws(),
    );
    runs_its_plan(&["db", "setup", "--migrations-dir", dir], on);
    runs_its_plan(&["db", "drop", "--force"], on);
    assert!(!db.exists());
}

#[test]
fn every_dynamodb_writer_executes_the_plan_its_dry_run_showed() {
    let db = TestDb::set_up("pl_ddb");
    let table = TestTable::new("pl_ddb");
    let on = |run: Run| run.stack(&db, &table);
    runs_its_plan(&["ddb", "schema-load"], on);
    runs_its_plan(&["ddb", "seed", "--now", "2024-05-01T12:00:00Z"], on);
    runs_its_plan(
        &["ddb", "seed", "--replace", "--now", "2024-05-02T12:00:00Z"],
        on,
    );
    let dir = scratch();
    let export = write(
        dir.path(),
        "export.jsonl",
        "{\"pk\":\"MSG#x\",\"sk\":\"2024-01-01\",\"message\":\"hi\"}\n",
    );
    runs_its_plan(&["ddb", "import", export.to_str().unwrap()], on);
    runs_its_plan(&["ddb", "stream", "--once"], on);
    runs_its_plan(&["ddb", "deletion-protection", "on"], on);
    runs_its_plan(&["ddb", "deletion-protection", "off"], on);
    runs_its_plan(&["ddb", "drop"], on);
}

#[test]
fn setup_executes_the_plan_its_dry_run_showed() {
    let db = TestDb::new("pl_setup");
    let table = TestTable::new("pl_setup");
    // One working folder for both runs: the plan names where it looked for the app's files.
    let here = scratch();
    let on = |run: Run| run.stack(&db, &table).dir(here.path());
    runs_its_plan(&["setup"], on);
    // The second time over what the first left: the same holds.
    runs_its_plan(&["setup"], on);
}

#[test]
fn the_security_group_rule_executes_the_plan_its_dry_run_showed() {
    let rule = crate::rds::rule();
    let args = [
        "rds",
        "update-sg-rule",
        "--ip",
        "34.1.2.3",
        "--group-id",
        &rule.group,
        "--rule-id",
        &rule.rule,
    ];
    runs_its_plan(&args, |run| run.aws());
    assert_eq!(rule.read().0, "34.1.2.3/32");
}
