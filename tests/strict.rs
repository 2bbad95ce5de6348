//! What only an emulator as strict as DynamoDB can show: its batch limit, its item size limit,
//! duplicate keys, capacity that counts the index, a partition's throughput. cruddur's side of
//! each is asserted on any emulator; the emulator's own refusals only where it is strict
//! (dynoxide, the default of `scripts/test`).

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::Value;

use crate::faults::{Fault, Proxy};
use crate::harness::{cruddur, ground_at, schema_load, scratch, strict_ddb, write, TestTable};
use crate::reports::{ImportReport, SeedReport};

/// `n` distinct items as JSON lines, `ddb import`'s format.
fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"pk\":\"MSG#strict\",\"sk\":\"2026-01-01T00:00:{i:02}\",\"message\":\"m{i}\"}}\n"))
        .collect()
}

#[test]
fn batches_hold_at_most_25_requests_and_26_split_25_plus_1() {
    let proxy = Proxy::start(Fault::None);
    let table = TestTable::at("strict-25", &proxy.url);
    schema_load(&table, true);
    let dir = scratch();
    for (n, expected) in [(25, vec![25]), (26, vec![1, 25])] {
        let before = proxy.batch_sizes().len();
        let file = write(dir.path(), &format!("{n}.jsonl"), &lines(n));
        cruddur(&["ddb", "import", file.to_str().unwrap()])
            .table(&table)
            .stderr_is("")
            .run();
        let mut sizes = proxy.batch_sizes()[before..].to_vec();
        sizes.sort_unstable();
        assert_eq!(sizes, expected, "{n} items");
    }
    assert_eq!(table.items().len(), 26, "the 25 are overwritten by the 26");
    if strict_ddb() {
        // The emulator holds AWS's line: a 26-request batch is refused outright.
        let requests: Vec<WriteRequest> = (0..26)
            .map(|i| {
                let item = [
                    ("pk".to_string(), AttributeValue::S("MSG#raw".into())),
                    ("sk".to_string(), AttributeValue::S(format!("{i:02}"))),
                ];
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.into()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let refused = table.block_on(
            table
                .client
                .batch_write_item()
                .request_items(&table.name, requests)
                .send(),
        );
        assert!(refused.is_err(), "a strict emulator refuses 26 requests");
    }
}

#[test]
fn duplicate_keys_in_an_import_are_refused_naming_the_line() {
    let table = TestTable::new("strict-dupe");
    schema_load(&table, true);
    let dir = scratch();
    let file = write(
        dir.path(),
        "dupe.jsonl",
        "{\"pk\":\"MSG#d\",\"sk\":\"a\",\"message\":\"one\"}\n\
         {\"pk\":\"MSG#d\",\"sk\":\"b\",\"message\":\"two\"}\n\
         {\"pk\":\"MSG#d\",\"sk\":\"a\",\"message\":\"three\"}\n",
    );
    cruddur(&["ddb", "import", file.to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has("dupe.jsonl:3: the key MSG#d / a is already on line 1")
        .stderr_has("nothing was written")
        .stdout_is("")
        .run();
    assert!(table.items().is_empty());
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
    assert_eq!((report.items, report.skipped_lines), (2, vec![3]));
    let mut messages: Vec<String> = table
        .items()
        .into_iter()
        .map(|i| i["message"].clone())
        .collect();
    messages.sort();
    assert_eq!(messages, ["one", "two"], "the first line of a key wins");
}

/// One item of exactly `size` bytes as DynamoDB counts them (names and values).
fn item_of(size: usize, sk: &str) -> String {
    // "pk" + "MSG#big" + "sk" + sk + "message" + the message
    let fixed = 2 + 7 + 2 + sk.len() + 7;
    format!(
        "{{\"pk\":\"MSG#big\",\"sk\":\"{sk}\",\"message\":\"{}\"}}\n",
        "x".repeat(size - fixed)
    )
}

#[test]
fn an_item_of_400_kb_is_written_and_one_byte_more_is_refused_before_any_write() {
    let table = TestTable::new("strict-400k");
    schema_load(&table, true);
    let dir = scratch();
    let limit = 400 * 1024;
    // Emulators count sizes their own way (moto refuses this one); AWS and dynoxide accept it.
    let largest = if strict_ddb() {
        limit
    } else {
        limit - 100 * 1024
    };
    let exact = write(dir.path(), "exact.jsonl", &item_of(largest, "a"));
    cruddur(&["ddb", "import", exact.to_str().unwrap()])
        .table(&table)
        .stderr_is("")
        .run();
    assert_eq!(
        table.items().len(),
        1,
        "an item of exactly 400 KB is accepted"
    );
    let over = write(
        dir.path(),
        "over.jsonl",
        &format!("{}{}", lines(1), item_of(limit + 1, "b")),
    );
    cruddur(&["ddb", "import", over.to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has("over.jsonl:2")
        .stderr_has(&format!("is {} bytes, over DynamoDB's limit", limit + 1))
        .stderr_has("nothing was written")
        .stdout_is("")
        .run();
    assert_eq!(
        table.items().len(),
        1,
        "the good line was not written either"
    );
}

#[test]
fn consumed_capacity_counts_the_index() {
    let (db, table) = crate::harness::ground("strict_capacity");
    let done = cruddur(&["ddb", "seed", "-v", "--json"])
        .stack(&db, &table)
        .stderr_has("write capacity units (the table's and its index's)")
        .run();
    let report: SeedReport = done.json();
    if strict_ddb() {
        // 99 small items on the table, and the 2 group items again on the index.
        assert_eq!(report.capacity_units, 101.0, "{done}");
    }
}

#[test]
fn a_throttled_partition_is_written_whole_without_exhausting_the_retries() {
    // A partition that takes 400 writes a second (one DynamoDB partition takes 1,000; less
    // here, so that the emulator stays faster than the bucket on a loaded machine and the
    // bucket, not the emulator, sets the pace).
    let proxy = Proxy::start(Fault::Bucket(400.0));
    let (db, table) = ground_at("strict_bucket", &proxy.url);
    let dir = scratch();
    let fixture = crate::harness::long_conversation(dir.path(), 2500);
    let report: SeedReport = cruddur(&[
        "ddb",
        "seed",
        "--fixture",
        fixture.to_str().unwrap(),
        "--json",
    ])
    .stack(&db, &table)
    .stderr_is(
        "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
        choose others)\n",
    )
    .run()
    .json();
    assert_eq!(report.items, 2502);
    assert!(report.retries > 0, "it was throttled: {report:?}");
    assert_eq!(table.items().len(), 2502);
}

#[test]
fn get_conversation_follows_pages_until_the_limit() {
    let table = TestTable::new("strict-pages");
    schema_load(&table, true);
    // Three messages of 390 KB: DynamoDB (and dynoxide) answer a Query with at most 1 MB a page.
    let group = "0b7f1f57-5a8b-4f0b-9d43-3c1f6f3b4a10";
    let body: String = (0..3)
        .map(|i| {
            format!(
                "{{\"pk\":\"MSG#{group}\",\"sk\":\"2026-01-01T00:00:0{i}.000000+00:00\",\"message_uuid\":\"m{i}\",\"user_handle\":\"h\",\"message\":\"{}\"}}\n",
                "x".repeat(390 * 1024)
            )
        })
        .collect();
    let dir = scratch();
    let file = write(dir.path(), "big.jsonl", &body);
    cruddur(&["ddb", "import", file.to_str().unwrap()])
        .table(&table)
        .stderr_is("")
        .run();
    let messages: Vec<Value> = cruddur(&[
        "ddb",
        "patterns",
        "get-conversation",
        "--message-group-uuid",
        group,
        "--limit",
        "3",
        "--json",
    ])
    .table(&table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(messages.len(), 3, "every page was followed");
    assert_eq!(messages[0]["uuid"], "m0", "oldest first");
}
