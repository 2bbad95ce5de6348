//! `cruddur ddb stream`: the stream Lambda's work on the emulator's DynamoDB Streams.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use crate::harness::{cruddur, ground, TestDb, TestTable};
use crate::reports::TableReport;

const GROUP: &str = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399";
const SEEDED_AT: &str = "2026-01-01T12:00:00.000000+00:00";

/// The ground with the seed conversation, its last message at SEEDED_AT.
fn seeded(tag: &str) -> (TestDb, TestTable) {
    let (db, table) = ground(tag);
    cruddur(&["ddb", "seed", "--now", "2026-01-01T12:00:00Z"])
        .stack(&db, &table)
        .run();
    (db, table)
}

/// What the app's `create_message` writes: one MSG# item, nothing else.
fn app_message(table: &TestTable, group: &str, at: &str, text: &str) {
    let item: HashMap<String, AttributeValue> = [
        ("pk", format!("MSG#{group}")),
        ("sk", at.to_string()),
        ("message_uuid", format!("m-{at}")),
        ("message", text.to_string()),
        ("user_uuid", "u-sender".to_string()),
        ("user_display_name", "Sender".to_string()),
        ("user_handle", "sender".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttributeValue::S(v)))
    .collect();
    table.put(item);
}

/// The two group items of GROUP, by pk.
fn groups(table: &TestTable, group: &str) -> HashMap<String, HashMap<String, String>> {
    table
        .items()
        .into_iter()
        .filter(|i| {
            i["pk"].starts_with("GRP#")
                && i.get("message_group_uuid").map(String::as_str) == Some(group)
        })
        .map(|i| (i["pk"].clone(), i))
        .collect()
}

fn once(db: &TestDb, table: &TestTable) -> crate::harness::Run {
    cruddur(&["ddb", "stream", "--once"]).stack(db, table)
}

#[test]
fn a_message_written_by_the_app_moves_both_group_items() {
    let (db, table) = seeded("stream_app");
    let before = groups(&table, GROUP);
    assert_eq!(before.len(), 2);
    assert!(before.values().all(|g| g["sk"] == SEEDED_AT));
    let at = "2026-01-01T12:05:00.000000+00:00";
    app_message(&table, GROUP, at, "a reply the app wrote");
    once(&db, &table)
        .stdout_has("1 group move")
        .stderr_has(&format!("group {GROUP}"))
        .run();
    let after = groups(&table, GROUP);
    assert_eq!(after.len(), 2, "still one item per member");
    for (pk, old) in &before {
        let new = &after[pk];
        assert_eq!(new["sk"], at);
        assert_eq!(new["message"], "a reply the app wrote");
        for (key, value) in old {
            if key != "sk" && key != "message" {
                assert_eq!(&new[key], value, "{key} is kept");
            }
        }
    }
}

#[test]
fn a_replay_leaves_the_groups_at_the_newest_message() {
    let (db, table) = seeded("stream_replay");
    app_message(&table, GROUP, "2026-01-01T12:05:00.000000+00:00", "first");
    app_message(&table, GROUP, "2026-01-01T12:06:00.000000+00:00", "second");
    once(&db, &table).run();
    let settled = groups(&table, GROUP);
    assert!(settled.values().all(|g| g["message"] == "second"));
    // From the oldest record again: every record is behind the groups now.
    once(&db, &table)
        .stdout_has("0 group moves")
        .stdout_has("left alone")
        .run();
    assert_eq!(groups(&table, GROUP), settled);
}

#[test]
fn two_messages_in_the_same_second_settle_on_the_later() {
    let (db, table) = seeded("stream_same_second");
    // Written later first: an older record processed late must not move the group back.
    app_message(&table, GROUP, "2026-01-01T12:07:00.900000+00:00", "later");
    app_message(&table, GROUP, "2026-01-01T12:07:00.100000+00:00", "earlier");
    once(&db, &table).run();
    assert!(groups(&table, GROUP)
        .values()
        .all(|g| g["message"] == "later"));
}

#[test]
fn a_group_the_app_created_is_left_as_it_is() {
    let (db, table) = ground("stream_new_group");
    // The app's create_message_group: two GRP# items and the first MSG#, in one batch.
    let at = "2026-01-02T09:00:00.000000+00:00";
    let group = "0d1e2f30-4152-4637-8899-aabbccddeeff";
    let item = |pairs: &[(&str, &str)]| -> WriteRequest {
        let item: HashMap<String, AttributeValue> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect();
        WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
            .build()
    };
    let batch = vec![
        item(&[
            ("pk", "GRP#u-a"),
            ("sk", at),
            ("message_group_uuid", group),
            ("message", "hi"),
            ("user_uuid", "u-b"),
            ("user_display_name", "B"),
            ("user_handle", "b"),
        ]),
        item(&[
            ("pk", "GRP#u-b"),
            ("sk", at),
            ("message_group_uuid", group),
            ("message", "hi"),
            ("user_uuid", "u-a"),
            ("user_display_name", "A"),
            ("user_handle", "a"),
        ]),
        item(&[
            ("pk", &format!("MSG#{group}")),
            ("sk", at),
            ("message_uuid", "m-1"),
            ("message", "hi"),
            ("user_uuid", "u-a"),
            ("user_display_name", "A"),
            ("user_handle", "a"),
        ]),
    ];
    table
        .block_on(
            table
                .client
                .batch_write_item()
                .request_items(&table.name, batch)
                .send(),
        )
        .unwrap();
    let before = groups(&table, group);
    once(&db, &table).stdout_has("0 group moves").run();
    assert_eq!(groups(&table, group), before);
}

#[test]
fn a_message_without_its_group_is_reported_and_skipped() {
    let (db, table) = seeded("stream_orphan");
    app_message(
        &table,
        "11111111-2222-4333-8444-555555555555",
        "2026-01-01T12:05:00.000000+00:00",
        "to nobody",
    );
    once(&db, &table)
        .stderr_has("skipped MSG#11111111-2222-4333-8444-555555555555")
        .stdout_has("1 skipped")
        .run();
}

#[test]
fn the_worker_picks_a_message_up_and_stops_cleanly_on_ctrl_c() {
    let (db, table) = seeded("stream_worker");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_cruddur"))
        .args(["ddb", "stream", "--poll", "200ms", "--from", "latest"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CONNECTION_URL", db.url())
        .env("AWS_ENDPOINT_URL_DYNAMODB", &table.endpoint)
        .env("DDB_MESSAGE_TABLE", &table.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let at = "2026-01-01T12:05:00.000000+00:00";
    app_message(&table, GROUP, at, "picked up live");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20)
        && !groups(&table, GROUP).values().all(|g| g["sk"] == at)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let moved = groups(&table, GROUP).values().all(|g| g["sk"] == at);
    Command::new("kill")
        .args(["-INT", &worker.id().to_string()])
        .status()
        .unwrap();
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(20) {
            let _ = worker.kill();
            panic!("the worker did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = worker.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(moved, "the worker did not move the groups\n{stderr}");
    assert!(
        matches!(status.code(), Some(0 | 130)),
        "exit {status:?}\n{stderr}"
    );
}

#[test]
fn a_table_without_a_stream_is_named_and_can_be_given_one() {
    let db = TestDb::set_up("stream_none");
    let table = TestTable::new("stream-none");
    // A table as an older tool made it: the same keys, no stream.
    table.create_keys_only();
    once(&db, &table)
        .code(1)
        .stderr_has("has no stream")
        .stderr_has("--enable-stream")
        .run();
    cruddur(&["ddb", "stream", "--once", "--enable-stream"])
        .stack(&db, &table)
        .stderr_has("turned on the stream")
        .run();
    let summary: TableReport = cruddur(&["ddb", "schema-load", "--if-not-exists", "--json"])
        .table(&table)
        .run()
        .json();
    assert_eq!(summary.stream.as_deref(), Some("NEW_IMAGE"));
}

#[test]
fn a_table_made_without_its_stream_says_so_and_takes_one_later() {
    let (db, _) = crate::harness::ground("stream_none");
    let table = TestTable::new("stream-none");
    cruddur(&["ddb", "schema-load", "--no-stream", "--dry-run"])
        .table(&table)
        .stdout_has("no stream (--no-stream)")
        .run();
    let report: TableReport = cruddur(&["ddb", "schema-load", "--no-stream", "--json"])
        .table(&table)
        .run()
        .json();
    assert_eq!(report.stream, None);
    once(&db, &table).code(1).stderr_has("has no stream").run();
    cruddur(&["ddb", "stream", "--once", "--enable-stream"])
        .stack(&db, &table)
        .stderr_has("turned on the stream")
        .run();
}

#[test]
fn two_workers_at_once_settle_on_the_newest_message() {
    let (db, table) = seeded("stream_two_workers");
    for (minute, text) in [(5, "one"), (6, "two"), (7, "three"), (8, "four")] {
        app_message(
            &table,
            GROUP,
            &format!("2026-01-01T12:{minute:02}:00.000000+00:00"),
            text,
        );
    }
    // Two workers over the same records at the same time (two terminals, two start tasks):
    // their conditioned transactions may lose races, never the newest message.
    let url = db.url();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (url, endpoint, name) = (url.clone(), table.endpoint.clone(), table.name.clone());
            std::thread::spawn(move || {
                cruddur(&["ddb", "stream", "--once"])
                    .env("CONNECTION_URL", url)
                    .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
                    .env("DDB_MESSAGE_TABLE", name)
                    .run()
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let settled = groups(&table, GROUP);
    assert_eq!(settled.len(), 2, "{settled:?}");
    assert!(
        settled.values().all(|g| g["message"] == "four"),
        "{settled:?}"
    );
}
