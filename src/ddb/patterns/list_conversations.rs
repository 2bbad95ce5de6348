//! Pattern 1, `cruddur ddb patterns list-conversations`: a user's message groups, the one
//! with the latest message first; each names the other member and the last message.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::entries;
use crate::cli::{DdbArgs, ListConversationsArgs};
use crate::ctx::Ctx;
use crate::ddb::items::{group_pk, Entry, Item};
use crate::ddb::{people, Ddb};
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &DdbArgs, list: &ListConversationsArgs) -> Result<Outcome> {
    let user_uuid = match &list.user_uuid {
        Some(uuid) => uuid.clone(),
        None => people(ctx, &[&list.handle])?.remove(0).uuid,
    };
    let ddb = Ddb::connect(ctx, args)?;
    let groups = ctx.block_on(async {
        let mut groups = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = ddb
                .client
                .query()
                .table_name(&ddb.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(group_pk(&user_uuid)))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ddb.explain("Query", e))?;
            groups.extend(
                page.items()
                    .iter()
                    .map(|item| Entry::from_item(item, "message_group_uuid")),
            );
            match page.last_evaluated_key() {
                Some(last) => start = Some(last.clone()),
                None => return Ok::<_, anyhow::Error>(groups),
            }
        }
    })??;
    entries(&groups)
}
