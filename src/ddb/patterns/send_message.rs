//! Pattern 3, `cruddur ddb patterns send-message`: a new message from one user to another.
//! No group for the pair yet: both group items and the message are written together. A group
//! already: the message is written and both group items move to its time and text (delete +
//! put, since `sk` is in the key) in the same transaction — what the stream Lambda did
//! afterwards, done atomically, so pattern 1 shows the message at once.

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use chrono::Utc;
use serde_json::json;

use crate::cli::SendMessageArgs;
use crate::ctx::Ctx;
use crate::ddb::items::{group_item, group_pk, key_of, message_item, text, timestamp, Item};
use crate::ddb::limits;
use crate::dynamodb::{Ddb, Partition, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;
use crate::users::{Users, Wanted};

pub fn run(ctx: &Ctx, send: &SendMessageArgs) -> Result<Outcome> {
    if send.message.trim().is_empty() {
        return Err(anyhow!("--message is empty: there is nothing to send"));
    }
    if send.from == send.to {
        return Err(anyhow!(
            "--from and --to are both `{}`: a message needs two people",
            send.from
        ));
    }
    let found = Users::open(ctx.pg()?)?.by_handles(&[
        Wanted {
            handle: &send.from,
            flag: "--from",
        },
        Wanted {
            handle: &send.to,
            flag: "--to",
        },
    ])?;
    let (sender, receiver) = (&found[0], &found[1]);
    let ddb = ctx.ddb()?;
    let created_at = timestamp(Utc::now());
    let message_uuid = uuid::Uuid::new_v4().to_string();

    let (existing, old_groups) = ctx.block_on(async {
        let existing = find_group(ddb, &sender.uuid, &receiver.uuid).await?;
        let old_groups = match &existing {
            Some(item) => {
                group_items(ddb, text(item, "message_group_uuid").unwrap_or_default()).await?
            }
            None => Vec::new(),
        };
        Ok::<_, anyhow::Error>((existing, old_groups))
    })??;
    let group = match &existing {
        Some(item) => text(item, "message_group_uuid")
            .unwrap_or_default()
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let created = existing.is_none();
    let message = message_item(&group, &message_uuid, &created_at, &send.message, sender);
    limits::check_limits(&message).map_err(|why| anyhow!("--message: {why}; nothing was sent"))?;
    let mut writes = vec![put(ddb, message, true)?];
    // Both members' group items, wherever their sk stands now.
    for old in &old_groups {
        if text(old, "sk") != Some(created_at.as_str()) {
            writes.push(delete(ddb, key_of(old))?);
        }
    }
    writes.push(put(
        ddb,
        group_item(sender, receiver, &group, &created_at, &send.message),
        false,
    )?);
    writes.push(put(
        ddb,
        group_item(receiver, sender, &group, &created_at, &send.message),
        false,
    )?);
    let plan = Plan {
        destination: ddb.destination(),
        summary: format!(
            "send a message from {} to {}{}",
            sender.handle,
            receiver.handle,
            if created { " (a new conversation)" } else { "" }
        ),
        actions: vec![format!(
            "TransactWriteItems: put message {message_uuid} in group {group}, {} old group item(s) deleted, 2 group items put at {created_at}",
            old_groups.len()
        )],
        confirm: ddb.table.clone(),
    };
    let done = guarded::write(ctx, &plan, None, || {
        ctx.block_on(
            ddb.client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send(),
        )?
        .map_err(|error| match error.code() {
            Some("TransactionCanceledException") => anyhow!(
                "the conversation changed while this message was sent; nothing was written — send it again"
            ),
            _ => ddb.explain("TransactWriteItems", error),
        })
    })?;
    if let Done::Planned(plan) = done {
        return Ok(plan);
    }

    Outcome::done(
        format!(
            "{} → {} at {created_at}{}: {}",
            sender.handle,
            receiver.handle,
            if created { " (new conversation)" } else { "" },
            send.message
        ),
        json!({
            "message_group_uuid": group,
            "uuid": message_uuid,
            "handle": sender.handle,
            "display_name": sender.display_name,
            "message": send.message,
            "created_at": created_at,
        }),
    )
}

/// The sender's group item whose other member is the receiver, if the pair has one.
async fn find_group(ddb: &Ddb, sender_uuid: &str, receiver_uuid: &str) -> Result<Option<Item>> {
    let pk = group_pk(sender_uuid);
    let groups = ddb
        .query_partition(Partition {
            attribute: "pk",
            value: &pk,
            ..Partition::default()
        })
        .await?;
    Ok(groups
        .into_iter()
        .find(|item| text(item, "user_uuid") == Some(receiver_uuid)))
}

/// The group items of a conversation, through the index on message_group_uuid.
async fn group_items(ddb: &Ddb, group: &str) -> Result<Vec<Item>> {
    ddb.query_partition(Partition {
        index: Some(INDEX),
        attribute: "message_group_uuid",
        value: group,
        ..Partition::default()
    })
    .await
}

/// A put; `new` ones must not overwrite an item that is already there.
fn put(ddb: &Ddb, item: Item, new: bool) -> Result<TransactWriteItem> {
    let mut put = Put::builder().table_name(&ddb.table).set_item(Some(item));
    if new {
        put = put.condition_expression("attribute_not_exists(pk)");
    }
    Ok(TransactWriteItem::builder().put(put.build()?).build())
}

/// A delete of an item that must still be there (else someone moved it meanwhile).
fn delete(ddb: &Ddb, key: Item) -> Result<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(&ddb.table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(pk)")
        .build()?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
