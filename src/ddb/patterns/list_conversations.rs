//! Pattern 1, `cruddur ddb patterns list-conversations`: a user's message groups, the one
//! with the latest message first; each names the other member and the last message.

use anyhow::Result;

use super::entries;
use crate::cli::ListConversationsArgs;
use crate::ctx::Ctx;
use crate::dynamodb::items::{group_pk, Entry};
use crate::dynamodb::Partition;
use crate::output::Outcome;
use crate::users::{Users, Wanted};

pub(super) fn run(ctx: &Ctx, list: &ListConversationsArgs) -> Result<Outcome> {
    let user_uuid = match &list.user_uuid {
        Some(uuid) => uuid.clone(),
        None => {
            let mut users = Users::open(ctx.pg()?)?;
            let handle = match &list.handle {
                Some(handle) => handle.clone(),
                None => {
                    let [mine, _] =
                        users.pair(None, None, super::super::seed_text(ctx).as_deref())?;
                    ctx.info(format!(
                        "conversations of {mine} (--handle chooses another)"
                    ));
                    mine
                }
            };
            let wanted = Wanted {
                handle: &handle,
                flag: "--handle",
            };
            users.by_handles(&[wanted])?.remove(0).uuid
        }
    };
    let ddb = ctx.ddb()?;
    let pk = group_pk(&user_uuid);
    let partition = Partition {
        attribute: "pk",
        value: &pk,
        newest_first: true,
        ..Partition::default()
    };
    let items = ctx.block_on(ddb.query_partition(partition))??;
    let groups: Vec<Entry> = items
        .iter()
        .map(|item| Entry::from_item(item, "message_group_uuid"))
        .collect();
    entries(&groups)
}
