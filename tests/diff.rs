//! `ddb diff`: the live table against what `ddb schema-load` makes, on dynoxide. Whole
//! outputs: each difference is worded, and the exit code is what a CI step fails on.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
};

use crate::harness::{cruddur, schema_load, TestTable};

/// dynoxide has no DescribeContinuousBackups: the one part every diff there lists, uncounted.
const PITR_UNKNOWN: &str = "  - point-in-time recovery: the table has an unknown setting \
    (DescribeContinuousBackups answered UnknownOperationException); `ddb schema-load` makes it \
    off (not counted)\n";

#[test]
fn a_table_schema_load_made_matches() {
    let table = TestTable::new("diff_same");
    schema_load(&table, true);
    cruddur(&["ddb", "diff"])
        .table(&table)
        .stdout_is(&format!(
            "table `{}` at {} matches what `cruddur ddb schema-load` makes; 1 part not counted \
             as drift:\n{PITR_UNKNOWN}",
            table.name, table.endpoint
        ))
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
        .stderr_is(&format!(
            "error: table `{}` has drifted: 1 part differs from the app's shape; nothing was \
             changed\n",
            table.name
        ))
        .run();
    // Made with --no-stream on purpose: said so, it matches.
    cruddur(&["ddb", "diff", "--no-stream"])
        .table(&table)
        .stdout_is(&format!(
            "table `{}` at {} matches what `cruddur ddb schema-load` makes; 1 part not counted \
             as drift:\n{PITR_UNKNOWN}",
            table.name, table.endpoint
        ))
        .stderr_is("")
        .run();
}

/// A table made by hand (the console, another tool) without the index the app's conversation
/// list needs, on demand: both named, for people and for machines.
#[test]
fn a_table_without_the_index_is_named_for_people_and_machines() {
    let table = TestTable::new("diff_index");
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    table
        .block_on(
            table
                .client
                .create_table()
                .table_name(&table.name)
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("sk", KeyType::Range))
                .attribute_definitions(string("pk"))
                .attribute_definitions(string("sk"))
                .provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(5)
                        .write_capacity_units(5)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap();
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
        .stderr_is(&format!(
            "error: table `{}` has drifted: 1 part differs from the app's shape; nothing was \
             changed\n",
            table.name
        ))
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
