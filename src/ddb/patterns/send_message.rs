//! Pattern 3, `cruddur ddb patterns send-message`: a new message from one user to another.
//! No group for the pair yet: both group items and the message are written together. A group
//! already: the message is written and both group items move to its time and text (delete +
//! put, since `sk` is in the key) in the same transaction — what the stream Lambda did
//! afterwards, done atomically, so pattern 1 shows the message at once.

use std::fmt;

use anyhow::{anyhow, Result};
use chrono::Utc;
use serde::Serialize;

use crate::cli::SendMessageArgs;
use crate::ctx::Ctx;
use crate::dynamodb::items::{group_item, group_pk, key_of, message_item, text, timestamp, Item};
use crate::dynamodb::limits;
use crate::dynamodb::perform::{transaction, Transacted};
use crate::dynamodb::{Ddb, Partition, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::{DdbOp, WriteKind};
use crate::output::Outcome;
use crate::users::{Users, Wanted};

pub(super) fn run(ctx: &Ctx, send: &SendMessageArgs) -> Result<Outcome> {
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
    let message = message_item(&group, &message_uuid, &created_at, &send.message, sender);
    limits::check_limits(&message).map_err(|why| anyhow!("--message: {why}; nothing was sent"))?;
    let mut writes = vec![(WriteKind::PutNew, message)];
    // Both members' group items, wherever their sk stands now.
    writes.extend(
        old_groups
            .iter()
            .filter(|old| text(old, "sk") != Some(created_at.as_str()))
            .map(|old| (WriteKind::Delete, key_of(old))),
    );
    writes.push((
        WriteKind::Put,
        group_item(sender, receiver, &group, &created_at, &send.message),
    ));
    writes.push((
        WriteKind::Put,
        group_item(receiver, sender, &group, &created_at, &send.message),
    ));
    let sent = SentReport {
        message_group_uuid: group,
        uuid: message_uuid,
        handle: sender.handle.clone(),
        display_name: sender.display_name.clone(),
        message: send.message.clone(),
        created_at,
        to: receiver.handle.clone(),
        new_conversation: existing.is_none(),
    };
    guarded::run(ctx, Prepared::Write(Send { ddb, writes, sent }))
}

/// One transaction: the message, the old group items' deletes, the new group items.
struct Send<'a> {
    ddb: &'a Ddb,
    /// Each write and its item: the message, the old group items' deletes, the new ones.
    writes: Vec<(WriteKind, Item)>,
    /// What is reported once it is written.
    sent: SentReport,
}

#[derive(Debug, Serialize)]
struct SentReport {
    message_group_uuid: String,
    uuid: String,
    handle: String,
    display_name: String,
    message: String,
    created_at: String,
    #[serde(skip)]
    to: String,
    #[serde(skip)]
    new_conversation: bool,
}

impl Report for SentReport {}

impl fmt::Display for SentReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} → {} at {}{}: {}",
            self.handle,
            self.to,
            self.created_at,
            if self.new_conversation {
                " (new conversation)"
            } else {
                ""
            },
            self.message
        )
    }
}

impl Write for Send<'_> {
    type Report = SentReport;

    fn plan(&self) -> Plan {
        let sent = &self.sent;
        Plan::new(
            self.ddb.destination(),
            format!(
                "send a message from {} to {}{}",
                sent.handle,
                sent.to,
                if sent.new_conversation {
                    " (a new conversation)"
                } else {
                    ""
                }
            ),
            vec![DdbOp::TransactWrite {
                writes: transaction(&self.writes),
            }
            .into()],
            &self.ddb.table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<SentReport> {
        match ctx.block_on(self.ddb.transact_write(self.writes))?? {
            Transacted::Written => Ok(self.sent),
            Transacted::Cancelled => Err(anyhow!(
                "the conversation changed while this message was sent; nothing was written — send it again"
            )),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// A message to a conversation that has one: the message, the old group items' deletes and
    /// the new ones, in one transaction, as planned.
    #[test]
    fn a_message_performs_the_transaction_it_planned() {
        let (ddb, recorder) = Ddb::recording("cruddur-messages");
        let person = |uuid: &str, handle: &str| crate::users::Person {
            uuid: uuid.into(),
            handle: handle.into(),
            display_name: handle.into(),
        };
        let (me, you) = (person("u-1", "me"), person("u-2", "you"));
        let at = "2026-12-07T08:00:00.000000+00:00";
        let writes = vec![
            (WriteKind::PutNew, message_item("g", "m", at, "hi", &me)),
            (
                WriteKind::Delete,
                key_of(&group_item(
                    &me,
                    &you,
                    "g",
                    "2026-12-06T00:00:00.000000+00:00",
                    "old",
                )),
            ),
            (WriteKind::Put, group_item(&me, &you, "g", at, "hi")),
            (WriteKind::Put, group_item(&you, &me, "g", at, "hi")),
        ];
        let sent = SentReport {
            message_group_uuid: "g".into(),
            uuid: "m".into(),
            handle: "me".into(),
            display_name: "me".into(),
            message: "hi".into(),
            created_at: at.into(),
            to: "you".into(),
            new_conversation: false,
        };
        let write = Send {
            ddb: &ddb,
            writes,
            sent,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        let writes = match &performed[..] {
            [crate::ops::Op::DynamoDb(DdbOp::TransactWrite { writes })] => writes.len(),
            _ => 0,
        };
        assert_eq!(writes, 4, "one transaction of four writes");
    }
}
