//! Pattern 2, `cruddur ddb patterns get-conversation`: the newest messages of a group,
//! shown oldest first. No year filter: the old one hid last year's messages each January.

use anyhow::Result;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::entries;
use crate::cli::GetConversationArgs;
use crate::ctx::Ctx;
use crate::dynamodb::items::{message_pk, Entry};
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx, get: &GetConversationArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    // One page holds at most 1 MB: follow pages until --limit messages (or the end).
    let wanted = usize::try_from(get.limit).unwrap_or(usize::MAX);
    let mut found = Vec::new();
    let mut start = None;
    let mut capacity = 0.0;
    loop {
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
                    .limit(i32::try_from(wanted - found.len()).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send(),
            )?
            .map_err(|e| ddb.explain("Query", e))?;
        capacity += output
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or_default();
        found.extend(output.items().iter().cloned());
        match output.last_evaluated_key() {
            Some(last) if found.len() < wanted => start = Some(last.clone()),
            _ => break,
        }
        crate::interrupt::check(|| format!("{} messages were read", found.len()))?;
    }
    ctx.detail(format!(
        "consumed capacity: {capacity} read units on `{}`",
        ddb.table
    ));
    let mut messages: Vec<Entry> = found
        .iter()
        .map(|item| Entry::from_item(item, "message_uuid"))
        .collect();
    messages.reverse();
    entries(&messages)
}
