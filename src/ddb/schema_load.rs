//! `cruddur ddb schema-load [--if-not-exists]`: the messages table with its index, as the
//! app expects it, waited for until ACTIVE.

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription, TableStatus,
};
use serde_json::json;

use super::{Ddb, INDEX};
use crate::cli::{DdbArgs, DdbSchemaLoadArgs};
use crate::ctx::Ctx;
use crate::guard::{self, Plan};
use crate::output::Outcome;
use crate::poll::{self, Probe, Wait};

pub fn run(ctx: &Ctx, args: &DdbArgs, load: &DdbSchemaLoadArgs) -> Result<Outcome> {
    let ddb = Ddb::connect(ctx, args)?;
    let plan = Plan {
        destination: ddb.destination(),
        summary: format!("create table `{}` (billed capacity)", ddb.table),
        actions: vec![
            format!(
                "CreateTable {}: pk (HASH, S) + sk (RANGE, S); index {INDEX} on message_group_uuid (HASH, S) + sk (RANGE), projection ALL; PROVISIONED 5/5 on both; stream NEW_IMAGE (as production has it, for `cruddur ddb stream`)",
                ddb.table
            ),
            format!(
                    "DescribeTable until ACTIVE (up to {})",
                    crate::output::duration(load.wait_timeout)
                ),
        ],
        confirm: ddb.table.clone(),
    };
    guard::write(ctx, &plan, None, || {
        ctx.block_on(create(ctx, &ddb, load))?
    })?
    .outcome(Ok)
}

async fn create(ctx: &Ctx, ddb: &Ddb, load: &DdbSchemaLoadArgs) -> Result<Outcome> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let capacity = ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(5)
        .build()?;
    let index = GlobalSecondaryIndex::builder()
        .index_name(INDEX)
        .key_schema(key("message_group_uuid", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .provisioned_throughput(capacity.clone())
        .build()?;
    let created = ddb
        .client
        .create_table()
        .table_name(&ddb.table)
        .attribute_definitions(string("pk")?)
        .attribute_definitions(string("sk")?)
        .attribute_definitions(string("message_group_uuid")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(capacity)
        .stream_specification(stream()?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error) if error.code() == Some("ResourceInUseException") => {
            if load.if_not_exists {
                let table = describe(ddb).await?;
                return summary(
                    format!("table `{}` exists, skipped", ddb.table),
                    &table,
                    false,
                );
            }
            return Err(anyhow!(
                "table `{}` already exists at {}; nothing was changed \
                 (add --if-not-exists to accept it, or `cruddur ddb drop` it first)",
                ddb.table,
                ddb.endpoint
            ));
        }
        Err(error) => return Err(ddb.explain("CreateTable", error)),
    }
    let name = &ddb.table;
    let (table, _) = poll::until(
        Wait::backing_off(load.wait_timeout),
        || format!("table `{name}` was created but was not ACTIVE yet"),
        || async {
            let table = describe(ddb).await?;
            if table.table_status() == Some(&TableStatus::Active) {
                return Ok(Probe::Ready(table));
            }
            ctx.detail(format!("waiting for `{name}` to become ACTIVE…"));
            Ok(Probe::NotYet(
                table
                    .table_status()
                    .map_or("without a status", |s| s.as_str())
                    .to_string(),
            ))
        },
        |last| {
            anyhow!(
                "table `{name}` was created but is still {last} after {}; check it later with `cruddur doctor`",
                crate::output::duration(load.wait_timeout)
            )
        },
    )
    .await?;
    summary(format!("created table `{name}`"), &table, true)
}

/// The stream production's table has, and `cruddur ddb stream` follows: new images.
pub fn stream() -> Result<StreamSpecification> {
    Ok(StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()?)
}

pub async fn describe(ddb: &Ddb) -> Result<TableDescription> {
    let output = ddb
        .client
        .describe_table()
        .table_name(&ddb.table)
        .send()
        .await
        .map_err(|e| ddb.explain("DescribeTable", e))?;
    output
        .table
        .ok_or_else(|| anyhow!("DescribeTable returned no table for `{}`", ddb.table))
}

fn summary(message: String, table: &TableDescription, created: bool) -> Result<Outcome> {
    let keys = |schema: &[KeySchemaElement]| -> serde_json::Value {
        schema
            .iter()
            .map(|k| (k.attribute_name().to_string(), json!(k.key_type().as_str())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let indexes: Vec<serde_json::Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            json!({
                "name": index.index_name(),
                "keys": keys(index.key_schema()),
                "projection": index.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()),
                "status": index.index_status().map(|s| s.as_str()),
            })
        })
        .collect();
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_string())
        .unwrap_or_else(|| "PROVISIONED".into());
    let throughput = table
        .provisioned_throughput()
        .map(|t| json!({ "read": t.read_capacity_units(), "write": t.write_capacity_units() }));
    let status = table.table_status().map(|s| s.as_str().to_string());
    let stream = table
        .stream_specification()
        .filter(|s| s.stream_enabled())
        .and_then(|s| s.stream_view_type())
        .map(|v| v.as_str().to_string());
    let text = format!(
        "{message}: keys pk (HASH) + sk (RANGE); index {}; {billing} {}; stream {}; status {}",
        indexes
            .iter()
            .map(|i| i["name"].as_str().unwrap_or("?").to_string())
            .collect::<Vec<_>>()
            .join(", "),
        throughput
            .as_ref()
            .map(|t| format!("{}/{}", t["read"], t["write"]))
            .unwrap_or_default(),
        stream.as_deref().unwrap_or("none"),
        status.as_deref().unwrap_or("?")
    );
    Outcome::done(
        text,
        json!({
            "table": table.table_name(),
            "created": created,
            "keys": keys(table.key_schema()),
            "indexes": indexes,
            "billing": billing,
            "throughput": throughput,
            "stream": stream,
            "status": status,
        }),
    )
}
