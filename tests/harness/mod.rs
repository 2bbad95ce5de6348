//! The test harness, by job: `run` (the binary as a spec), `postgres` (the test server and a
//! database per test), `dynamodb` (the emulator and a table per test), `aws` (moto, the one
//! fake-AWS configuration, HTTP stubs), `whole` (whole outputs with what varies marked). What a test stands on (`ground`, `seeded`) and the
//! command tree's leaves are here.

mod aws;
mod dynamodb;
mod postgres;
mod run;
mod whole;

use std::sync::atomic::AtomicUsize;

pub(crate) use aws::*;
pub(crate) use dynamodb::*;
pub(crate) use postgres::*;
pub(crate) use run::*;

pub(crate) const START: &str =
    "run the tests with `scripts/test`, which starts a throwaway PostgreSQL and a moto server";

pub(crate) static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `cruddur ddb schema-load` of `table` (with its stream, or `--no-stream`), its whole output
/// pinned: what most tests stand on.
pub(crate) fn schema_load(table: &TestTable, stream: bool) {
    let mut args = vec!["ddb", "schema-load"];
    if !stream {
        args.push("--no-stream");
    }
    cruddur(&args)
        .table(table)
        .stdout_is(&created_table(&table.name, stream))
        .stderr_is("")
        .run();
}

/// What `cruddur ddb schema-load` prints when it made table `name` (with its stream or not).
pub(crate) fn created_table(name: &str, stream: bool) -> String {
    format!(
        "created table `{name}`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
         PROVISIONED 5/5; stream {}; deletion protection off; status ACTIVE\n",
        if stream { "NEW_IMAGE" } else { "none" }
    )
}

/// A database with the seed users and a table with its schema, reached through `endpoint`:
/// the ground every seed stands on.
pub(crate) fn ground_at(tag: &str, endpoint: &str) -> (TestDb, TestTable) {
    let db = TestDb::set_up(tag);
    let table = TestTable::at(tag, endpoint);
    cruddur(&["ddb", "schema-load"]).table(&table).run();
    (db, table)
}

pub(crate) fn ground(tag: &str) -> (TestDb, TestTable) {
    ground_at(tag, &ddb_url())
}

/// The ground, with the seed conversation written into the table.
pub(crate) fn seeded(tag: &str) -> (TestDb, TestTable) {
    let (db, table) = ground(tag);
    cruddur(&["ddb", "seed"]).stack(&db, &table).run();
    (db, table)
}

/// Every leaf of clap's own command tree, as its path (`["ddb", "patterns", "scan"]`): tests
/// that must cover every command walk this, so a new one cannot slip by.
pub(crate) fn leaves() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let children: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .collect();
        if children.is_empty() {
            out.push(path);
            return;
        }
        for child in children {
            let mut next = path.clone();
            next.push(child.get_name().to_string());
            walk(child, next, out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<cruddur::cli::Cli as clap::CommandFactory>::command(),
        Vec::new(),
        &mut out,
    );
    out
}
