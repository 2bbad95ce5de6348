//! `cruddur ddb …` against the real moto server (and Postgres for the users).

use std::collections::HashMap;

use serde::Deserialize;

use crate::harness::{
    cruddur, fixture_lines, ground, moto_url, schema_load, scratch, write, TestDb, TestTable,
};
use crate::reports::{SeedReport, SentMessage, TableReport};

const GROUP: &str = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399";
const NOW: &str = "2026-03-01T12:00:00Z";

fn seed(db: &TestDb, table: &TestTable, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["ddb", "seed", "--now", NOW, "--json"];
    args.extend_from_slice(extra);
    cruddur(&args).stack(db, table)
}

/// A key schema as (attribute, HASH or RANGE) pairs, in its order.
fn keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect()
}

/// A table's attribute definitions as (attribute, type) pairs, sorted.
fn attribute_types(t: &aws_sdk_dynamodb::types::TableDescription) -> Vec<(String, String)> {
    let mut attributes: Vec<(String, String)> = t
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    attributes.sort();
    attributes
}

/// Provisioned throughput as (read, write) capacity units.
fn units(
    throughput: &aws_sdk_dynamodb::types::ProvisionedThroughputDescription,
) -> (Option<i64>, Option<i64>) {
    (
        throughput.read_capacity_units(),
        throughput.write_capacity_units(),
    )
}

#[test]
fn schema_load_creates_the_table_and_index_the_app_expects() {
    let table = TestTable::new("schema");
    schema_load(&table, true);

    let described = table
        .block_on(table.client.describe_table().table_name(&table.name).send())
        .unwrap();
    let t = described.table().unwrap();
    assert_eq!(
        keys(t.key_schema()),
        [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    assert_eq!(
        attribute_types(t),
        [
            ("message_group_uuid".into(), "S".into()),
            ("pk".into(), "S".into()),
            ("sk".into(), "S".into())
        ]
    );
    let index = &t.global_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some("message-group-sk-index"));
    assert_eq!(
        keys(index.key_schema()),
        [
            ("message_group_uuid".into(), "HASH".into()),
            ("sk".into(), "RANGE".into())
        ]
    );
    assert_eq!(
        index
            .projection()
            .unwrap()
            .projection_type()
            .unwrap()
            .as_str(),
        "ALL"
    );
    assert_eq!(
        units(t.provisioned_throughput().unwrap()),
        (Some(5), Some(5))
    );
    assert_eq!(
        units(index.provisioned_throughput().unwrap()),
        (Some(5), Some(5))
    );
}

#[test]
fn a_second_schema_load_is_refused_unless_if_not_exists_accepts_the_table() {
    let table = TestTable::new("schema_again");
    schema_load(&table, true);

    cruddur(&["ddb", "schema-load"])
        .table(&table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: table `{tname}` already exists at {endpoint}; nothing was changed \
            (add --if-not-exists to accept it, or `cruddur ddb drop` it first)\n",
            tname = table.name,
            endpoint = table.endpoint
        ))
        .run();
    let again: TableReport = cruddur(&["ddb", "schema-load", "--if-not-exists", "--json"])
        .table(&table)
        .stderr_is("")
        .run()
        .json();
    assert!(!again.created);
    assert_eq!(again.status.as_deref(), Some("ACTIVE"));
    assert_eq!(again.stream.as_deref(), Some("NEW_IMAGE"));
    assert_eq!(again.keys["pk"], "HASH");
    assert_eq!(again.indexes[0].name, "message-group-sk-index");
    assert_eq!(again.indexes[0].keys["message_group_uuid"], "HASH");
}

#[test]
fn seed_writes_the_fixture_with_the_apps_keys_ending_at_now() {
    let (db, table) = ground("seed");
    let lines = fixture_lines();
    let report: SeedReport = seed(&db, &table, &[])
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run()
        .json();
    assert_eq!(report.items, 2 + lines.len());
    assert_eq!(report.last_message_at, "2026-03-01T12:00:00.000000+00:00");
    assert_eq!(report.between, ["timmy-cde", "tim-suarez"]);

    let items = table.items();
    assert_eq!(items.len(), 2 + lines.len());
    let mut messages: Vec<&HashMap<String, String>> = items
        .iter()
        .filter(|i| i["pk"] == format!("MSG#{GROUP}"))
        .collect();
    messages.sort_by_key(|m| m["sk"].clone());
    assert_eq!(messages.len(), lines.len());
    for (message, (person, text)) in messages.iter().zip(&lines) {
        let mut names: Vec<&str> = message.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "message",
                "message_uuid",
                "pk",
                "sk",
                "user_display_name",
                "user_handle",
                "user_uuid"
            ]
        );
        assert_eq!(&message["message"], text);
        let handle = if *person == 1 {
            "timmy-cde"
        } else {
            "tim-suarez"
        };
        assert_eq!(message["user_handle"], handle);
    }
    // One minute apart, ending at --now, in the app's format.
    assert_eq!(
        messages.last().unwrap()["sk"],
        "2026-03-01T12:00:00.000000+00:00"
    );
    assert_eq!(
        messages[messages.len() - 2]["sk"],
        "2026-03-01T11:59:00.000000+00:00"
    );
    let first = chrono_free_minutes_before(lines.len() - 1);
    assert_eq!(messages[0]["sk"], first);
}

/// `2026-03-01T12:00:00Z` minus `minutes`, in the items' format (no date crate in the tests).
fn chrono_free_minutes_before(minutes: usize) -> String {
    let total = 12 * 60 - minutes as i64;
    assert!(total >= 0, "the fixture is longer than half a day");
    format!(
        "2026-03-01T{:02}:{:02}:00.000000+00:00",
        total / 60,
        total % 60
    )
}

#[test]
fn seed_gives_each_member_a_group_naming_the_other() {
    let (db, table) = ground("seed_groups");
    let lines = fixture_lines();
    seed(&db, &table, &[]).run();
    let items = table.items();
    let groups: Vec<&HashMap<String, String>> = items
        .iter()
        .filter(|i| i["pk"].starts_with("GRP#"))
        .collect();
    assert_eq!(groups.len(), 2);
    let (last_text, timmy_uuid) = (
        &lines.last().unwrap().1,
        &items
            .iter()
            .filter(|i| i["pk"] == format!("MSG#{GROUP}"))
            .find(|m| m["user_handle"] == "timmy-cde")
            .unwrap()["user_uuid"],
    );
    for group in &groups {
        let mut names: Vec<&str> = group.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "message",
                "message_group_uuid",
                "pk",
                "sk",
                "user_display_name",
                "user_handle",
                "user_uuid"
            ]
        );
        assert_eq!(group["message_group_uuid"], GROUP);
        assert_eq!(&group["message"], last_text);
        assert_eq!(group["sk"], "2026-03-01T12:00:00.000000+00:00");
        // Each member's group names the other member.
        if group["pk"] == format!("GRP#{timmy_uuid}") {
            assert_eq!(group["user_handle"], "tim-suarez");
        } else {
            assert_eq!(group["user_handle"], "timmy-cde");
            assert_eq!(group["user_display_name"], "Timothy Manuel");
        }
    }
}

#[test]
fn a_second_seed_refuses_and_replace_writes_the_new_conversation_then_deletes_the_old() {
    let (db, table) = ground("seed_again");
    let lines = fixture_lines();
    seed(&db, &table, &[]).run();
    // A second seed refuses and changes nothing; --replace leaves exactly 2 + N again.
    seed(&db, &table, &[])
        .code(1)
        .stderr_has("already has items")
        .stderr_has("--replace")
        .stdout_is("")
        .run();
    assert_eq!(table.items().len(), 2 + lines.len());
    // The same --now gives the same keys: every item is overwritten in place, none deleted.
    let replaced: SeedReport = seed(&db, &table, &["--replace"])
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run()
        .json();
    assert_eq!(replaced.deleted, 0);
    assert_eq!(table.items().len(), 2 + lines.len());
    // A later --now: the new conversation is written, then every old item is deleted.
    let later: SeedReport = cruddur(&[
        "ddb",
        "seed",
        "--now",
        "2026-03-02T12:00:00Z",
        "--json",
        "--replace",
    ])
    .stack(&db, &table)
    .stderr_is(
        "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
        choose others)\n",
    )
    .run()
    .json();
    assert_eq!(later.deleted, 2 + lines.len());
    assert_eq!(table.items().len(), 2 + lines.len());
    assert!(table
        .items()
        .iter()
        .all(|i| i["sk"].starts_with("2026-03-02")));
}

#[test]
fn seed_mistakes_are_caught_before_anything_is_written() {
    let (db, table) = ground("seed_errors");
    let dir = scratch();
    let bad = write(
        dir.path(),
        "talk.txt",
        "Person 1: hi\nPerson 2: hello\nPerson 3: who is this?\n",
    );
    seed(&db, &table, &["--fixture", bad.to_str().unwrap()])
        .code(1)
        .stderr_has(&format!(
            "{}:3: expected `Person 1: …` or `Person 2: …`",
            bad.display()
        ))
        .stdout_is("")
        .run();
    seed(&db, &table, &["--my-handle", "nobody"])
        .code(1)
        .stderr_has(&format!(
            "error: no user 'nobody' in {}; users: londo, tim-suarez, timmy-cde — pass --my-handle",
            db.name
        ))
        .stderr_lacks("conversation between")
        .stdout_is("")
        .run();
    seed(&db, &table, &["--message-group-uuid", "not-a-uuid"])
        .code(1)
        .stdout_is("")
        .stderr_is("error: --message-group-uuid `not-a-uuid` is not a UUID\n")
        .run();
    cruddur(&["ddb", "seed", "--now", "2999-01-01T00:00:00Z"])
        .stack(&db, &table)
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --now 2999-01-01T00:00:00.000000+00:00 is in the future: the seed's \
            last message is sent at --now, and none may lie ahead\n",
        )
        .run();
    assert!(table.items().is_empty());

    // A fixture of one's own, for another pair.
    let own = write(
        dir.path(),
        "own.txt",
        "# mine\nPerson 1: first\n\nPerson 2: second\n",
    );
    let report: SeedReport = seed(
        &db,
        &table,
        &["--fixture", own.to_str().unwrap(), "--my-handle", "londo"],
    )
    .stderr_is(
        "conversation between londo and timmy-cde (--my-handle and --other-handle \
        choose others)\n",
    )
    .run()
    .json();
    assert_eq!(report.items, 4);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    uuid: String,
    display_name: String,
    handle: String,
    message: String,
    created_at: String,
}

#[test]
fn get_conversation_shows_the_newest_messages_oldest_first() {
    let (db, table) = ground("get");
    seed(&db, &table, &[])
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let lines = fixture_lines();
    let done = cruddur(&["ddb", "patterns", "get-conversation", "--json"])
        .table(&table)
        .stderr_is("")
        .run();
    let messages: Vec<Entry> = done.json();
    assert_eq!(messages.len(), 20);
    let expected: Vec<&String> = lines[lines.len() - 20..]
        .iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(
        messages.iter().map(|m| &m.message).collect::<Vec<_>>(),
        expected
    );
    assert!(messages
        .windows(2)
        .all(|w| w[0].created_at < w[1].created_at));
    assert_eq!(
        messages.last().unwrap().created_at,
        "2026-03-01T12:00:00.000000+00:00"
    );
    assert!(messages
        .iter()
        .all(|m| m.uuid.len() == 36 && !m.display_name.is_empty()));

    let five: Vec<Entry> = cruddur(&[
        "ddb",
        "patterns",
        "get-conversation",
        "--limit",
        "5",
        "--json",
    ])
    .table(&table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(five.len(), 5);
    assert_eq!(five[4].message, lines.last().unwrap().1);
}

#[test]
fn get_conversation_in_a_table_shows_handle_time_and_the_text_cut_at_40_characters() {
    let (db, table) = ground("get_table");
    seed(&db, &table, &[]).run();

    // The table form: handle, a 12-hour time, the text cut at 40 characters.
    cruddur(&["ddb", "patterns", "get-conversation", "-v"])
        .table(&table)
        .stdout_is(
            r#"┌────────────┬─────────────────────┬───────────────────────────────────────────┐
│ handle     ┆ time                ┆ message                                   │
╞════════════╪═════════════════════╪═══════════════════════════════════════════╡
│ tim-suarez ┆ 2026-03-01 11:41 AM ┆ You did well. The back brake still squea… │
│ timmy-cde  ┆ 2026-03-01 11:42 AM ┆ A squeal is a feature. People hear us co… │
│ tim-suarez ┆ 2026-03-01 11:43 AM ┆ Test ride tomorrow morning? Just round t… │
│ timmy-cde  ┆ 2026-03-01 11:44 AM ┆ Yes. What time? I have a call at ten.     │
│ tim-suarez ┆ 2026-03-01 11:45 AM ┆ Eight. We'll be done by nine, with time … │
│ timmy-cde  ┆ 2026-03-01 11:46 AM ┆ That test ride was the most fun I've had… │
│ tim-suarez ┆ 2026-03-01 11:47 AM ┆ You kept pedalling when I stopped to tur… │
│ timmy-cde  ┆ 2026-03-01 11:48 AM ┆ In my defence, nobody told me the stoker… │
│ tim-suarez ┆ 2026-03-01 11:49 AM ┆ New rule: I shout "coasting" before I st… │
│ timmy-cde  ┆ 2026-03-01 11:50 AM ┆ And I shout "bump" if I see a pothole yo… │
│ tim-suarez ┆ 2026-03-01 11:51 AM ┆ You can't see past me, that's the whole … │
│ timmy-cde  ┆ 2026-03-01 11:52 AM ┆ Then I'll shout "sorry" after the bump.   │
│ tim-suarez ┆ 2026-03-01 11:53 AM ┆ Good system. Saturday then: meet at the … │
│ timmy-cde  ┆ 2026-03-01 11:54 AM ┆ Nine. I'll bring the sandwiches for the … │
│ tim-suarez ┆ 2026-03-01 11:55 AM ┆ Deal. And the zip ties.                   │
│ timmy-cde  ┆ 2026-03-01 11:56 AM ┆ And the zip ties. See you Saturday!       │
│ tim-suarez ┆ 2026-03-01 11:57 AM ┆ We made it to the harbour! Sixty-three k… │
│ timmy-cde  ┆ 2026-03-01 11:58 AM ┆ The crab sandwich alone was worth the wh… │
│ tim-suarez ┆ 2026-03-01 11:59 AM ┆ Next time we try the mountain pass?       │
│ timmy-cde  ┆ 2026-03-01 12:00 PM ┆ Only if we fit the dynamo first. And bri… │
└────────────┴─────────────────────┴───────────────────────────────────────────┘
"#,
        )
        .stderr_is(&format!(
            "local DynamoDB: {endpoint} (from AWS_ENDPOINT_URL_DYNAMODB), table {tname}\n\
            consumed capacity: 1 read units on `{tname}`\n(20 rows)\n",
            tname = table.name,
            endpoint = table.endpoint
        ))
        .run();
}

#[test]
fn list_conversations_names_the_other_user() {
    let (db, table) = ground("list");
    seed(&db, &table, &[])
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let groups: Vec<Entry> = cruddur(&[
        "ddb",
        "patterns",
        "list-conversations",
        "--handle",
        "tim-suarez",
        "--json",
    ])
    .stack(&db, &table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].uuid.as_str(), groups[0].handle.as_str()),
        (GROUP, "timmy-cde")
    );
    assert_eq!(groups[0].message, fixture_lines().last().unwrap().1);
    cruddur(&["ddb", "patterns", "list-conversations", "--handle", "ghost"])
        .stack(&db, &table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: no user 'ghost' in {dbname}; users: londo, tim-suarez, timmy-cde \
            — pass --handle\n",
            dbname = db.name
        ))
        .run();
}

#[test]
fn send_message_creates_a_group_then_moves_both_to_the_latest_message() {
    let (db, table) = ground("send");
    let first = sent(&db, &table, "timmy-cde", "londo", "Hello Londo");
    let group = first.message_group_uuid.clone();
    assert_eq!(first.handle, "timmy-cde");
    assert_eq!(table.items().len(), 3, "two group items and one message");

    let londo = conversations_of(&db, &table, "londo");
    assert_eq!(
        (
            londo.len(),
            londo[0].handle.as_str(),
            londo[0].message.as_str()
        ),
        (1, "timmy-cde", "Hello Londo")
    );

    let reply = sent(&db, &table, "londo", "timmy-cde", "Greetings!");
    assert_eq!(
        reply.message_group_uuid, group,
        "the pair's group is reused"
    );
    let items = table.items();
    assert_eq!(
        items.len(),
        4,
        "still two group items, now two messages: {items:?}"
    );
    for item in items.iter().filter(|i| i["pk"].starts_with("GRP#")) {
        assert_eq!(item["message"], "Greetings!");
        assert_eq!(item["sk"], reply.created_at);
    }
    let timmy = conversations_of(&db, &table, "timmy-cde");
    assert_eq!(
        (timmy[0].handle.as_str(), timmy[0].message.as_str()),
        ("londo", "Greetings!")
    );
    let conversation: Vec<Entry> = cruddur(&[
        "ddb",
        "patterns",
        "get-conversation",
        "--message-group-uuid",
        &group,
        "--json",
    ])
    .table(&table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(
        conversation
            .iter()
            .map(|m| m.message.as_str())
            .collect::<Vec<_>>(),
        ["Hello Londo", "Greetings!"]
    );
}

#[test]
fn a_message_from_a_handle_to_itself_is_refused() {
    let (db, table) = ground("send_self");
    cruddur(&[
        "ddb",
        "patterns",
        "send-message",
        "--from",
        "londo",
        "--to",
        "londo",
        "--message",
        "x",
    ])
    .stack(&db, &table)
    .code(1)
    .stdout_is("")
    .stderr_is("error: --from and --to are both `londo`: a message needs two people\n")
    .run();
}

/// `cruddur ddb patterns send-message --json` on the test's stack, stderr empty: what was sent.
#[track_caller]
fn sent(db: &TestDb, table: &TestTable, from: &str, to: &str, message: &str) -> SentMessage {
    crate::harness::send_message(from, to, message)
        .arg("--json")
        .stack(db, table)
        .stderr_is("")
        .run()
        .json()
}

/// `cruddur ddb patterns list-conversations --handle HANDLE --json` on the test's stack,
/// stderr empty: the handle's conversations.
#[track_caller]
fn conversations_of(db: &TestDb, table: &TestTable, handle: &str) -> Vec<Entry> {
    cruddur(&[
        "ddb",
        "patterns",
        "list-conversations",
        "--handle",
        handle,
        "--json",
    ])
    .stack(db, table)
    .stderr_is("")
    .run()
    .json()
}

#[test]
fn scan_follows_every_page_and_prints_plain_json() {
    let (db, table) = ground("scan");
    seed(&db, &table, &[])
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let total = 2 + fixture_lines().len();
    let all: Vec<serde_json::Value> = cruddur(&["ddb", "scan", "--page-size", "10", "--json"])
        .table(&table)
        .stderr_is("")
        .run()
        .json();
    assert_eq!(all.len(), total, "every page, not just the first");
    assert!(all
        .iter()
        .all(|item| item["pk"].is_string() && item.get("S").is_none()));
    assert_eq!(
        all[0]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .map(String::as_str),
        Some("pk")
    );

    let lines = cruddur(&["ddb", "scan", "--page-size", "7", "--output", "jsonl"])
        .table(&table)
        .stderr_is("")
        .run();
    assert_eq!(lines.stdout.lines().count(), total);
    for line in lines.stdout.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(item["sk"].is_string());
    }
    let some: Vec<serde_json::Value> = cruddur(&[
        "ddb",
        "scan",
        "--limit",
        "15",
        "--page-size",
        "10",
        "--json",
    ])
    .table(&table)
    .stderr_is("")
    .run()
    .json();
    assert_eq!(some.len(), 15);
    cruddur(&["ddb", "scan", "--limit", "3"])
        .table(&table)
        .stdout_has("handle")
        .stderr_is("(3 rows)\n")
        .run();
}

#[test]
fn a_missing_table_is_dropped_only_with_if_exists_and_a_named_table_wins() {
    let table = TestTable::new("drop");
    cruddur(&["ddb", "drop"])
        .table(&table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: table `{tname}` does not exist at {endpoint} (add --if-exists to \
            accept that)\n",
            tname = table.name,
            endpoint = table.endpoint
        ))
        .run();
    cruddur(&["ddb", "drop", "--if-exists"])
        .table(&table)
        .stdout_is(&format!(
            "table `{tname}` does not exist; nothing to drop\n",
            tname = table.name
        ))
        .stderr_is("")
        .run();
    // An explicit table name wins over the configured one.
    cruddur(&["ddb", "drop", "no-such-table", "--if-exists", "--json"])
        .table(&table)
        .stdout_is(
            r#"{
  "table": "no-such-table",
  "deleted": false
}
"#,
        )
        .stderr_is("")
        .run();
}

#[test]
fn a_listed_table_is_dropped_in_production_only_with_yes() {
    let table = TestTable::new("drop_prod");
    schema_load(&table, true);
    let names: Vec<String> = cruddur(&["ddb", "list-tables", "--json"])
        .table(&table)
        .run()
        .json();
    assert!(names.contains(&table.name), "{names:?}");

    // --prod needs a confirmation; without a terminal, --yes (exit 3 otherwise, table intact).
    let prod = |args: &[&str]| {
        cruddur(args)
            .aws_credentials()
            .env("DDB_MESSAGE_TABLE", &table.name)
    };
    let endpoint = crate::harness::ddb_url();
    prod(&["--prod", "ddb", "drop", "--endpoint-url", &endpoint])
        .code(3)
        .stderr_has("re-run with --yes")
        .stdout_is("")
        .run();
    assert!(cruddur(&["ddb", "list-tables", "--json"])
        .table(&table)
        .run()
        .stdout
        .contains(&table.name));
    // dynoxide takes no backups: the backup production's drop takes first is declined here
    // (tests/backup.rs has it on moto).
    prod(&[
        "--prod",
        "ddb",
        "drop",
        "--yes",
        "--no-backup",
        "--endpoint-url",
        &endpoint,
    ])
    .stderr_has("PRODUCTION DynamoDB")
    .stdout_has("deleted table")
    .run();
    let names: Vec<String> = cruddur(&["ddb", "list-tables", "--json"])
        .table(&table)
        .run()
        .json();
    assert!(!names.contains(&table.name));
}

#[test]
fn local_mode_needs_no_credentials_and_never_reaches_aws() {
    // The harness clears the environment: no key, no region, no profile.
    cruddur(&["ddb", "list-tables", "--json"])
        .env("AWS_ENDPOINT_URL", crate::harness::ddb_url())
        .run();
    cruddur(&["ddb", "list-tables"])
        .env(
            "AWS_ENDPOINT_URL",
            "https://dynamodb.us-east-1.amazonaws.com",
        )
        .code(3)
        .stderr_has("never talks to AWS")
        .run();
    // Nothing listening: a clear error, not a hang.
    cruddur(&["ddb", "list-tables"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
        .code(1)
        .stderr_has("cannot reach DynamoDB at http://127.0.0.1:1")
        .run();
}

#[test]
fn prod_refuses_an_endpoint_variable_that_would_miss_aws() {
    for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"] {
        cruddur(&["--prod", "ddb", "list-tables"])
            .env(name, moto_url())
            .env("AWS_REGION", "us-east-1")
            .code(3)
            .stderr_has(name)
            .run();
    }
}

#[test]
fn a_protected_table_survives_drop_until_the_protection_is_lifted() {
    let table = TestTable::new("ddb-protected");
    schema_load_protected(&table);
    cruddur(&["ddb", "drop"])
        .table(&table)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: table `{tname}` has deletion protection on, so it was not deleted \
            (nothing was changed). If you mean to delete it, lift the protection first: \
            `cruddur ddb deletion-protection off` (itself confirmed like every write), \
            then drop it\n",
            tname = table.name
        ))
        .run();
    cruddur(&["ddb", "list-tables"])
        .table(&table)
        .stdout_has(&table.name)
        .run();
    // Lifting it is a write like any other: planned, then done.
    cruddur(&["ddb", "deletion-protection", "off", "--dry-run"])
        .table(&table)
        .stdout_is(&format!(
            "dry run, nothing was done: would turn deletion protection off on table `{tname}` \
            (DeleteTable is then allowed) (DynamoDB table `{tname}` at {endpoint})\n  \
            - UpdateTable {tname}: DeletionProtectionEnabled = false\n",
            tname = table.name,
            endpoint = table.endpoint
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "deletion-protection", "off"])
        .table(&table)
        .stdout_is(&format!(
            "table `{tname}` now has deletion protection off\n",
            tname = table.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "deletion-protection", "off"])
        .table(&table)
        .stdout_is(&format!(
            "table `{tname}` already has deletion protection off; nothing to change\n",
            tname = table.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["ddb", "drop"])
        .table(&table)
        .stdout_is(&format!("deleted table `{tname}`\n", tname = table.name))
        .stderr_is("")
        .run();
}

/// `cruddur ddb schema-load --deletion-protection` of `table` (no stream): made protected.
#[track_caller]
fn schema_load_protected(table: &TestTable) {
    let made: TableReport = cruddur(&[
        "ddb",
        "schema-load",
        "--no-stream",
        "--deletion-protection",
        "--json",
    ])
    .table(table)
    .stderr_is("")
    .run()
    .json();
    assert!(made.deletion_protection);
}

#[test]
fn in_production_a_table_is_made_protected_unless_told_otherwise() {
    let prod = TestTable::new("ddb-prod-protected");
    let made: crate::reports::TableReport = cruddur(&[
        "--prod",
        "--yes",
        "ddb",
        "schema-load",
        "--no-stream",
        "--endpoint-url",
        &prod.endpoint,
        "--table",
        &prod.name,
        "--json",
    ])
    .aws_credentials()
    .run()
    .json();
    assert!(made.deletion_protection);
    cruddur(&[
        "--prod",
        "--yes",
        "ddb",
        "drop",
        "--endpoint-url",
        &prod.endpoint,
        "--table",
        &prod.name,
    ])
    .aws_credentials()
    .code(1)
    .stderr_has("has deletion protection on, so it was not deleted")
    .stdout_is("")
    .run();
    cruddur(&[
        "--prod",
        "--yes",
        "ddb",
        "deletion-protection",
        "off",
        "--endpoint-url",
        &prod.endpoint,
        "--table",
        &prod.name,
    ])
    .aws_credentials()
    .run();
}

#[test]
fn prod_drop_of_another_table_names_that_table_in_its_banner() {
    let table = TestTable::new("ddb-banner");
    schema_load(&table, false);
    cruddur(&[
        "--prod",
        "--yes",
        "ddb",
        "drop",
        &table.name,
        "--no-backup",
        "--endpoint-url",
        &table.endpoint,
    ])
    .aws_credentials()
    .stderr_has(&format!(
        "PRODUCTION DynamoDB: table {} in us-east-1 ({})",
        table.name, table.endpoint
    ))
    .stderr_lacks("table cruddur-messages")
    .stdout_has(&format!("deleted table `{}`", table.name))
    .run();
}
