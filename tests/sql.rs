//! `cruddur ddb sql`: PartiQL through ExecuteStatement, on dynoxide. A SELECT with parameters
//! read whole over several pages (counted at a proxy), writes through the guard (refused in
//! production without a terminal, shown by a dry run), and bad statements in plain words.

use crate::faults::{Fault, Proxy};
use crate::harness::{cruddur, schema_load, Run, TestTable};

/// `ddb sql` on this test's table.
fn sql(table: &TestTable, args: &[&str]) -> Run {
    let mut all = vec!["ddb", "sql"];
    all.extend_from_slice(args);
    cruddur(&all).table(table)
}

/// An INSERT of one message item, its text given as a parameter.
fn insert(table: &TestTable, sk: &str, message: &str) {
    let statement = format!(
        "INSERT INTO \"{}\" VALUE {{'pk': 'MSG#g1', 'sk': ?, 'message': ?, 'n': ?}}",
        table.name
    );
    sql(
        table,
        &[
            &statement, "--param", sk, "--param", message, "--param", "7",
        ],
    )
    .stdout_is(&format!("ran the INSERT on `{}`\n", table.name))
    .stderr_is("")
    .run();
}

/// A table of its own with the schema and twelve messages of `MSG#g1`, sk 2026-12-01 to
/// 2026-12-12, each with n = 7: the first's text hostile (quotes, %, non-ASCII, an escape
/// code), the others' `plain`.
fn twelve_messages(tag: &str) -> TestTable {
    let table = TestTable::new(tag);
    schema_load(&table, true);
    let hostile = "it's 100% \"quoted\" — Timothée \u{1b}[31m";
    insert(&table, "2026-12-01", hostile);
    for day in 2..=12 {
        insert(&table, &format!("2026-12-{day:02}"), "plain");
    }
    table
}

/// The SELECT of every message of `MSG#g1` in `table`, the partition a parameter.
fn select_messages(table: &TestTable) -> String {
    format!("SELECT sk, message, n FROM \"{}\" WHERE pk = ?", table.name)
}

#[test]
fn a_select_with_parameters_reads_every_page_and_prints_plain_json() {
    // Hostile text goes in and comes out as it was: quotes, %, non-ASCII, an escape code.
    let table = twelve_messages("sql-select");
    let proxy = Proxy::start(Fault::None);
    let select = select_messages(&table);
    let done = sql(
        &table,
        &[
            &select,
            "--param",
            "MSG#g1",
            "--page-size",
            "5",
            "--output",
            "jsonl",
        ],
    )
    .env("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url)
    .stderr_is("")
    .run();
    let mut expected = String::from(
        "{\"sk\":\"2026-12-01\",\"message\":\"it's 100% \\\"quoted\\\" — Timothée \\u001b[31m\",\"n\":7}\n",
    );
    for day in 2..=12 {
        expected.push_str(&format!(
            "{{\"sk\":\"2026-12-{day:02}\",\"message\":\"plain\",\"n\":7}}\n"
        ));
    }
    assert_eq!(done.stdout, expected);
    // Twelve items, five a page: three ExecuteStatement calls, every page read.
    let calls = proxy.calls();
    assert_eq!(calls, vec!["ExecuteStatement"; 3], "{calls:?}");
}

#[test]
fn limit_stops_early_and_the_table_view_shows_an_escape_code_as_text() {
    let table = twelve_messages("sql-limit");
    let select = select_messages(&table);
    // --limit stops early; the table view shows the escape code as text, not as colour.
    sql(&table, &[&select, "--param", "MSG#g1", "--limit", "2"])
        .stdout_is(
            "┌────────────┬────────────────────────────────────────┬───┐\n\
             │ sk         ┆ message                                ┆ n │\n\
             ╞════════════╪════════════════════════════════════════╪═══╡\n\
             │ 2026-12-01 ┆ it's 100% \"quoted\" — Timothée \\x1b[31m ┆ 7 │\n\
             │ 2026-12-02 ┆ plain                                  ┆ 7 │\n\
             └────────────┴────────────────────────────────────────┴───┘\n",
        )
        .stderr_is("(2 rows)\n")
        .run();
}

#[test]
fn a_parameter_given_as_json_keeps_its_type() {
    let table = twelve_messages("sql-json-param");
    // A parameter given as JSON keeps its type: "007" is a string, not the number 7.
    sql(
        &table,
        &[
            &format!("SELECT sk FROM \"{}\" WHERE pk = ? AND n = ?", table.name),
            "--param-json",
            "\"MSG#g1\"",
            "--param-json",
            "\"7\"",
            "--output",
            "json",
        ],
    )
    .stdout_is("[]\n")
    .stderr_is("")
    .run();
}

#[test]
fn a_write_goes_through_the_guard() {
    let table = TestTable::new("sql-write");
    schema_load(&table, true);
    insert(&table, "2026-12-01", "keep me");
    let delete = format!("DELETE FROM \"{}\" WHERE pk = ? AND sk = ?", table.name);
    sql(
        &table,
        &[
            "--dry-run",
            &delete,
            "--param",
            "MSG#g1",
            "--param",
            "2026-12-01",
        ],
    )
    .stdout_is(&format!(
        "dry run, nothing was done: would run a PartiQL DELETE on table `{0}` (DynamoDB \
             table `{0}` at {1})\n  - ExecuteStatement on `{0}`: {delete} with ?1 = \
             {{\"S\":\"MSG#g1\"}}, ?2 = {{\"S\":\"2026-12-01\"}}\n",
        table.name, table.endpoint
    ))
    .stderr_is("")
    .run();
    // Production without a terminal: refused, exit 3, the item still there.
    cruddur(&[
        "--prod",
        "ddb",
        "sql",
        &delete,
        "--param",
        "MSG#g1",
        "--param",
        "2026-12-01",
        "--endpoint-url",
        &table.endpoint,
    ])
    .aws_credentials()
    .code(3)
    .stdout_is("")
    .stderr_is(&format!(
        "PRODUCTION DynamoDB: table {0} in us-east-1 ({1})\nerror: refusing to run a \
             PartiQL DELETE on table `{0}` (DynamoDB table `{0}` at {1}) in production without \
             confirmation: re-run with --yes\n",
        table.name, table.endpoint
    ))
    .run();
    assert_eq!(table.items().len(), 1);
    // Locally it runs; a SELECT then finds nothing.
    sql(
        &table,
        &[&delete, "--param", "MSG#g1", "--param", "2026-12-01"],
    )
    .stdout_is(&format!("ran the DELETE on `{}`\n", table.name))
    .stderr_is("")
    .run();
    assert_eq!(table.items().len(), 0);
}

#[test]
fn bad_statements_and_other_tables_are_named_in_plain_words() {
    let table = TestTable::new("sql-bad");
    schema_load(&table, true);
    sql(&table, &[&format!("SELECT * FRM \"{}\"", table.name)])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: DynamoDB at {} did not take the statement: Statement wasn't well formed, \
             can't be processed: Expected 'FROM' but got 'FRM' (nothing was changed)\n",
            table.endpoint
        ))
        .run();
    sql(&table, &["SELECT * FROM \"no-such-table\""])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: the statement names table `no-such-table`, which does not exist at {}; \
             `cruddur ddb list-tables` lists the tables there\n",
            table.endpoint
        ))
        .run();
    sql(&table, &["DROP TABLE x"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: `DROP TABLE x` is not a statement `ddb sql` runs: a PartiQL statement starts \
             with SELECT, INSERT, UPDATE or DELETE\n",
        )
        .run();
    sql(
        &table,
        &["SELECT * FROM x WHERE pk = ?", "--param-json", "{nope"],
    )
    .code(2)
    .stdout_is("")
    .stderr_is(
        "error: --param-json number 1 (`{nope`) is not JSON: key must be a string at line 1 \
             column 2; write a JSON value, e.g. '\"text\"', 42 or '{\"a\": 1}'\n",
    )
    .run();
    // An UPDATE of an item that is not there: the condition DynamoDB puts on it, in words.
    sql(
        &table,
        &[&format!(
            "UPDATE \"{}\" SET n = 1 WHERE pk = 'MSG#x' AND sk = 'y'",
            table.name
        )],
    )
    .code(1)
    .stdout_is("")
    .stderr_is(&format!(
        "error: the statement's condition did not hold on `{}`, so nothing was changed (an \
             UPDATE or DELETE names an item that does not exist, or an INSERT one that does)\n",
        table.name
    ))
    .run();
}

#[test]
fn usage_errors_say_what_to_do() {
    let table = TestTable::new("sql-usage");
    let delete = format!("DELETE FROM \"{}\" WHERE pk = ? AND sk = ?", table.name);
    // A SELECT only reads: --dry-run is a usage error; --limit on a write is too.
    sql(
        &table,
        &["--dry-run", &format!("SELECT * FROM \"{}\"", table.name)],
    )
    .code(2)
    .stdout_is("")
    .stderr_is(
        "error: `cruddur ddb sql` with a SELECT only reads: --dry-run has nothing to show; \
             run it without --dry-run\n",
    )
    .run();
    sql(&table, &[&delete, "--limit", "3"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: --limit and --page-size bound what a SELECT reads; a DELETE reads nothing \
             back: leave them out\n",
        )
        .run();
    // A write whose table cannot be told is not planned against a table it might not touch.
    sql(&table, &["UPDATE /* which? */ SET n = 1"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: cannot tell which table the UPDATE writes to: name it right after UPDATE, \
             in double quotes (\"cruddur-messages\")\n",
        )
        .run();
}
