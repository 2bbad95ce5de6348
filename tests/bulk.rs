//! The bulk paths: parallel scan, export and import, concurrent writes. Correctness only:
//! speed is measured by scripts/bench, never asserted here.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::harness::{cruddur, ground, scratch, write, TestTable};
use crate::reports::{ExportReport, ImportReport, SeedReport};

fn keys(items: &[serde_json::Value]) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["pk"].as_str().unwrap().to_string(),
                i["sk"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn a_parallel_scan_returns_exactly_the_items_of_a_sequential_one() {
    let (db, table) = ground("bulk-scan");
    cruddur(&["ddb", "seed"]).stack(&db, &table).run();
    let one: Vec<serde_json::Value> = cruddur(&["ddb", "scan", "--json"])
        .table(&table)
        .run()
        .json();
    let four: Vec<serde_json::Value> = cruddur(&[
        "ddb",
        "scan",
        "--json",
        "--segments",
        "4",
        "--page-size",
        "9",
    ])
    .table(&table)
    .run()
    .json();
    assert_eq!(one.len(), four.len());
    assert_eq!(keys(&one), keys(&four));
    let lines = cruddur(&["ddb", "scan", "--output", "jsonl", "--segments", "3"])
        .table(&table)
        .run();
    assert_eq!(lines.stdout.lines().count(), one.len());
}

/// An item with every kind of value the export must carry.
fn odd_item() -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".into(), AttributeValue::S("ODD#1".into())),
        (
            "sk".into(),
            AttributeValue::S("2026-01-01T00:00:00.000000+00:00".into()),
        ),
        ("count".into(), AttributeValue::N("42".into())),
        ("ratio".into(), AttributeValue::N("0.25".into())),
        ("flag".into(), AttributeValue::Bool(false)),
        (
            "list".into(),
            AttributeValue::L(vec![
                AttributeValue::N("1".into()),
                AttributeValue::S("two".into()),
            ]),
        ),
        (
            "map".into(),
            AttributeValue::M(HashMap::from([
                ("inner".into(), AttributeValue::S("x".into())),
                ("n".into(), AttributeValue::N("-7".into())),
            ])),
        ),
    ])
}

#[test]
fn export_drop_schema_load_import_round_trips_item_for_item() {
    let (db, table) = ground("bulk-export");
    cruddur(&["ddb", "seed"]).stack(&db, &table).run();
    table.put(odd_item());
    let before = table.raw_items();
    let dir = scratch();

    for (name, typed) in [("plain.jsonl", false), ("typed.jsonl", true)] {
        let file = dir.path().join(name);
        let mut args = vec![
            "ddb",
            "export",
            "--file",
            file.to_str().unwrap(),
            "--segments",
            "2",
            "--json",
        ];
        if typed {
            args.push("--dynamodb-json");
        }
        let report: ExportReport = cruddur(&args).table(&table).run().json();
        assert_eq!(report.items, before.len());
        assert_eq!(report.table, table.name);
        assert!(!dir.path().join(format!("{name}.partial")).exists());

        cruddur(&["ddb", "drop"]).table(&table).run();
        cruddur(&["ddb", "schema-load"]).table(&table).run();
        let mut args = vec![
            "ddb",
            "import",
            file.to_str().unwrap(),
            "--concurrency",
            "3",
        ];
        if typed {
            args.push("--dynamodb-json");
        }
        cruddur(&args)
            .table(&table)
            .stdout_has(&format!("imported {} items", before.len()))
            .run();
        assert_eq!(
            table.raw_items(),
            before,
            "{name} must round-trip item for item"
        );
    }
}

#[test]
fn import_of_a_malformed_file_writes_nothing() {
    let table = TestTable::new("bulk-bad");
    cruddur(&["ddb", "schema-load"]).table(&table).run();
    let dir = scratch();
    let file = write(
        dir.path(),
        "bad.jsonl",
        "{\"pk\":\"A\",\"sk\":\"1\"}\n\n{\"pk\":\"B\",\"sk\":\"2\"}\n{\"pk\":\"C\"}\n{not json\n{\"pk\":\"D\",\"sk\":\"4\"}\n",
    );
    cruddur(&["ddb", "import", file.to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has(&format!("{}:4: no string `sk`", file.display()))
        .stderr_has("nothing was written")
        .run();
    assert!(table.raw_items().is_empty());

    let report: ImportReport = cruddur(&[
        "ddb",
        "import",
        file.to_str().unwrap(),
        "--skip-invalid",
        "--json",
    ])
    .table(&table)
    .run()
    .json();
    assert_eq!((report.items, report.skipped_lines), (3, vec![4, 5]));
    assert_eq!(table.raw_items().len(), 3);
}

#[test]
fn concurrent_writes_write_every_item_exactly_once() {
    let (db, table) = ground("bulk-many");
    let dir = scratch();
    let text: String = (0..600)
        .map(|i| format!("Person {}: message number {i}\n", i % 2 + 1))
        .collect();
    let fixture = write(dir.path(), "many.txt", &text);
    let report: SeedReport = cruddur(&[
        "ddb",
        "seed",
        "--fixture",
        fixture.to_str().unwrap(),
        "--concurrency",
        "8",
        "--json",
    ])
    .stack(&db, &table)
    .run()
    .json();
    assert_eq!(report.items, 602);
    let items = table.items();
    assert_eq!(items.len(), 602);
    let texts: Vec<&String> = items
        .iter()
        .filter(|i| i["pk"].starts_with("MSG#"))
        .map(|i| &i["message"])
        .collect();
    let unique: HashSet<&String> = texts.iter().copied().collect();
    assert_eq!((texts.len(), unique.len()), (600, 600));
    assert!((0..600).all(|i| unique.contains(&format!("message number {i}"))));
}
