//! Pattern 2, `cruddur ddb patterns get-conversation`: the newest messages of a group,
//! shown oldest first. No year filter: the old one hid last year's messages each January.

use anyhow::Result;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::entries;
use crate::cli::{DdbArgs, GetConversationArgs};
use crate::ctx::Ctx;
use crate::ddb::items::{message_pk, Entry};
use crate::ddb::Ddb;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &DdbArgs, get: &GetConversationArgs) -> Result<Outcome> {
    let ddb = Ddb::connect(ctx, args)?;
    let output = ctx
        .block_on(
            ddb.client
                .query()
                .table_name(&ddb.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(message_pk(&get.message_group_uuid)),
                )
                .scan_index_forward(false)
                .limit(get.limit)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send(),
        )?
        .map_err(|e| ddb.explain("Query", e))?;
    if let Some(capacity) = output.consumed_capacity() {
        ctx.detail(format!(
            "consumed capacity: {} read units on `{}`",
            capacity.capacity_units().unwrap_or_default(),
            capacity.table_name().unwrap_or(&ddb.table)
        ));
    }
    let mut messages: Vec<Entry> = output
        .items()
        .iter()
        .map(|item| Entry::from_item(item, "message_uuid"))
        .collect();
    messages.reverse();
    entries(&messages)
}
