//! `cruddur ddb stream`: the production stream Lambda's work, done locally. It follows the
//! table's stream (every shard, and new shards as they appear) and, for every `MSG#` item
//! written, moves both members' group items to that message's time and text — in one
//! transaction, never backwards, so that a replay or a record delivered twice changes nothing.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, OperationType, Record, ShardIteratorType,
};
use serde::Serialize;

use crate::cli::{StreamArgs, StreamStart};
use crate::ctx::Ctx;
use crate::dynamodb::items::{key_of, text, Item};
use crate::dynamodb::{Ddb, Partition, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Report, Service};
use crate::ops::{DdbOp, Op, StreamReason};
use crate::output::{Lines, Outcome};
use crate::poll::{self, Probe, Wait};
use crate::target::Target;

/// One group move, as `--json` prints it (a line each).
#[derive(Debug, Serialize)]
struct Moved {
    message_group_uuid: String,
    sk: String,
    members: Vec<String>,
    message: String,
}

#[derive(Debug, Default, Serialize)]
struct StreamReport {
    table: String,
    records: usize,
    moved: usize,
    left_alone: usize,
    skipped: usize,
    /// Printed already, as the last of the moves' lines (json, jsonl).
    #[serde(skip)]
    printed: bool,
}

impl Report for StreamReport {
    fn into_outcome(self) -> Result<Outcome> {
        if self.printed {
            return Ok(Outcome::Nothing);
        }
        Outcome::report(&self)
    }
}

impl fmt::Display for StreamReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} stream record{} of `{}`: {} group move{}, {} left alone (already at or past the message), {} skipped",
            self.records,
            if self.records == 1 { "" } else { "s" },
            self.table,
            self.moved,
            if self.moved == 1 { "" } else { "s" },
            self.left_alone,
            self.skipped
        )
    }
}

pub(super) fn run(ctx: &Ctx, stream: &StreamArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    if ctx.target == Target::Prod {
        ctx.info(
            "in production the cruddur-messaging-stream Lambda does this work; run this only to \
             debug the stream by hand",
        );
    }
    let table = ctx.block_on(ddb.describe_table())??;
    let arn = table.latest_stream_arn().map(String::from).filter(|_| {
        table
            .stream_specification()
            .is_some_and(|s| s.stream_enabled())
    });
    if arn.is_none() && !stream.enable_stream {
        return Err(anyhow!(
            "table `{}` at {} has no stream: add --enable-stream (an UpdateTable that turns on a NEW_IMAGE stream), \
             or recreate the table with `cruddur ddb schema-load`",
            ddb.table,
            ddb.endpoint
        ));
    }
    guarded::serve(ctx, Follow { ddb, arn, stream })
}

/// Turn the stream on when it is off, then follow it, applying the Lambda's updates.
struct Follow<'a> {
    ddb: &'a Ddb,
    /// The stream; None: turned on first.
    arn: Option<String>,
    stream: &'a StreamArgs,
}

impl Service for Follow<'_> {
    type Report = StreamReport;

    fn plan(&self) -> Plan {
        let table = &self.ddb.table;
        let mut ops: Vec<Op> = Vec::new();
        if self.arn.is_none() {
            ops.push(
                DdbOp::EnableStream {
                    table: table.clone(),
                    reason: StreamReason::Follow,
                }
                .into(),
            );
        }
        ops.push(
            DdbOp::FollowStream {
                table: table.clone(),
                from_oldest: matches!(self.stream.from, StreamStart::TrimHorizon),
                once: self.stream.once,
            }
            .into(),
        );
        Plan::new(
            self.ddb.destination(),
            "apply the stream Lambda's updates to the message groups".to_string(),
            ops,
            table,
        )
    }

    fn serve(self, ctx: &Ctx) -> Result<StreamReport> {
        let ddb = self.ddb;
        let arn = match self.arn {
            Some(arn) => arn,
            None => ctx.block_on(enable(ctx, ddb))??,
        };
        ctx.detail(format!("stream {arn}"));
        let mut report = StreamReport {
            table: ddb.table.clone(),
            ..StreamReport::default()
        };
        // Machines read lines: each move is printed as it happens, the count comes last.
        let mut lines =
            (ctx.output != crate::output::OutputFormat::Table).then(|| Lines::stdout(false));
        ctx.block_on(follow(ctx, ddb, &arn, self.stream, &mut report, &mut lines))??;
        if let Some(mut lines) = lines {
            // The last line; a reader already gone is no failure.
            let _ = lines.write([&report])?;
            lines.finish()?;
            report.printed = true;
        }
        Ok(report)
    }
}

/// Turn the table's stream on and wait for its ARN.
async fn enable(ctx: &Ctx, ddb: &Ddb) -> Result<String> {
    ddb.enable_stream(&ddb.describe_table().await?, StreamReason::Follow)
        .await?;
    let name = &ddb.table;
    let (arn, _) = poll::until(
        Wait::backing_off(Duration::from_secs(15)),
        || format!("the stream of `{name}` was turned on but not reported yet"),
        || async {
            let table = ddb.describe_table().await?;
            Ok(match table.latest_stream_arn() {
                Some(arn) => Probe::Ready(arn.to_string()),
                None => Probe::NotYet("no stream ARN".into()),
            })
        },
        |_| {
            anyhow!(
                "table `{name}` took its stream but did not report it within 15s: check it with `cruddur doctor`"
            )
        },
    )
    .await?;
    ctx.info(format!("turned on the stream of `{name}`"));
    Ok(arn)
}

/// Read every shard until caught up (`--once`) or until Ctrl-C.
async fn follow(
    ctx: &Ctx,
    ddb: &Ddb,
    arn: &str,
    stream: &StreamArgs,
    report: &mut StreamReport,
    lines: &mut Option<Lines>,
) -> Result<()> {
    let place = format!("DynamoDB Streams at {}", ddb.endpoint);
    // Shard → its next iterator; a shard read to its end is remembered as done.
    let mut iterators: HashMap<String, String> = HashMap::new();
    let mut done: HashSet<String> = HashSet::new();
    // Shard → the sequence number of the last record applied, to resume after an expiry.
    let mut last: HashMap<String, String> = HashMap::new();
    let mut first_look = true;
    loop {
        // New shards appear as the stream rolls over: look for them every round.
        for shard in shards(ddb, arn, &place).await? {
            if iterators.contains_key(&shard) || done.contains(&shard) {
                continue;
            }
            // History only where asked: a shard found later is read whole.
            let kind = match (first_look, stream.from) {
                (true, StreamStart::Latest) => ShardIteratorType::Latest,
                _ => ShardIteratorType::TrimHorizon,
            };
            let iterator = ddb
                .streams
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(&shard)
                .shard_iterator_type(kind)
                .send()
                .await
                .map_err(|e| crate::aws::explain("GetShardIterator", &place, &e))?;
            match iterator.shard_iterator() {
                Some(it) => {
                    iterators.insert(shard, it.to_string());
                }
                None => {
                    done.insert(shard);
                }
            }
        }
        first_look = false;
        let mut seen = 0;
        let shard_ids: Vec<String> = iterators.keys().cloned().collect();
        for shard in shard_ids {
            let Some(iterator) = iterators.get(&shard).cloned() else {
                continue;
            };
            let page = match ddb
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
            {
                Ok(page) => page,
                // An iterator lives 15 minutes: an idle worker takes a new one where it was.
                Err(error) if error.code() == Some("ExpiredIteratorException") => {
                    let mut again = ddb
                        .streams
                        .get_shard_iterator()
                        .stream_arn(arn)
                        .shard_id(&shard);
                    again = match last.get(&shard) {
                        Some(sequence) => again
                            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                            .sequence_number(sequence),
                        None => again.shard_iterator_type(ShardIteratorType::TrimHorizon),
                    };
                    let fresh = again
                        .send()
                        .await
                        .map_err(|e| crate::aws::explain("GetShardIterator", &place, &e))?;
                    ctx.detail(format!(
                        "shard {shard}: its iterator expired; took a new one"
                    ));
                    match fresh.shard_iterator() {
                        Some(it) => iterators.insert(shard, it.to_string()),
                        None => iterators.remove(&shard),
                    };
                    continue;
                }
                Err(error) => return Err(crate::aws::explain("GetRecords", &place, &error)),
            };
            for record in page.records() {
                seen += 1;
                report.records += 1;
                apply(ctx, ddb, record, report, lines).await?;
                if let Some(sequence) = record.dynamodb().and_then(|d| d.sequence_number()) {
                    last.insert(shard.clone(), sequence.to_string());
                }
            }
            match page.next_shard_iterator() {
                Some(next) => {
                    iterators.insert(shard, next.to_string());
                }
                None => {
                    iterators.remove(&shard);
                    done.insert(shard);
                }
            }
        }
        // Its reader gone (`| head -3`): the lines it wanted were printed.
        let reader_gone = lines.as_ref().is_some_and(Lines::reader_gone);
        if reader_gone || crate::interrupt::requested() || (stream.once && seen == 0) {
            return Ok(());
        }
        if seen == 0 {
            // Idle: wait a poll interval, waking early for Ctrl-C.
            let until = tokio::time::Instant::now() + stream.poll;
            while tokio::time::Instant::now() < until && !crate::interrupt::requested() {
                tokio::time::sleep(Duration::from_millis(50).min(stream.poll)).await;
            }
        }
    }
}

/// Every shard of the stream (all pages of DescribeStream).
async fn shards(ddb: &Ddb, arn: &str, place: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = ddb
            .streams
            .describe_stream()
            .stream_arn(arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| crate::aws::explain("DescribeStream", place, &e))?;
        let description = page
            .stream_description()
            .ok_or_else(|| anyhow!("DescribeStream at {place} returned no description"))?;
        found.extend(
            description
                .shards()
                .iter()
                .filter_map(|s| s.shard_id().map(String::from)),
        );
        match description.last_evaluated_shard_id() {
            Some(last) => start = Some(last.to_string()),
            None => return Ok(found),
        }
    }
}

/// The Lambda's update for one record: a `MSG#` item moves its group's two items to its time
/// and text. A REMOVE, or any other item, is not a message: nothing to do.
async fn apply(
    ctx: &Ctx,
    ddb: &Ddb,
    record: &Record,
    report: &mut StreamReport,
    lines: &mut Option<Lines>,
) -> Result<()> {
    if record.event_name() == Some(&OperationType::Remove) {
        return Ok(());
    }
    let Some(image) = record.dynamodb().and_then(|d| d.new_image()) else {
        return Ok(());
    };
    let image: Item = image.iter().map(|(k, v)| (k.clone(), convert(v))).collect();
    let Some(group) = text(&image, "pk").and_then(|pk| pk.strip_prefix("MSG#")) else {
        return Ok(());
    };
    let (Some(sk), Some(message)) = (text(&image, "sk"), text(&image, "message")) else {
        report.skipped += 1;
        ctx.warn(format!(
            "skipped MSG#{group}: the item has no string `sk` or `message`"
        ));
        return Ok(());
    };
    // A concurrent write by the app can cancel the transaction: read again and retry.
    for _ in 0..3 {
        let groups = ddb
            .query_partition(Partition {
                index: Some(INDEX),
                attribute: "message_group_uuid",
                value: group,
                ..Partition::default()
            })
            .await?;
        if groups.len() != 2 {
            report.skipped += 1;
            ctx.warn(format!(
                "skipped MSG#{group} / {sk}: the group has {} item(s) on {INDEX}, not its two members'",
                groups.len()
            ));
            return Ok(());
        }
        let behind: Vec<&Item> = groups
            .iter()
            .filter(|g| text(g, "sk").is_some_and(|at| at < sk))
            .collect();
        if behind.is_empty() {
            report.left_alone += 1;
            return Ok(());
        }
        let mut writes = Vec::new();
        for old in &behind {
            let mut moved = (*old).clone();
            moved.insert("sk".into(), AttributeValue::S(sk.to_string()));
            moved.insert("message".into(), AttributeValue::S(message.to_string()));
            writes.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&ddb.table)
                            .set_key(Some(key_of(old)))
                            .condition_expression("attribute_exists(pk) AND message = :was")
                            .expression_attribute_values(
                                ":was",
                                old.get("message")
                                    .cloned()
                                    .unwrap_or(AttributeValue::Null(true)),
                            )
                            .build()?,
                    )
                    .build(),
            );
            writes.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&ddb.table)
                            .set_item(Some(moved))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()?,
                    )
                    .build(),
            );
        }
        match ddb
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => {
                report.moved += 1;
                let members: Vec<String> = behind
                    .iter()
                    .filter_map(|g| text(g, "pk").map(String::from))
                    .collect();
                ctx.info(format!(
                    "group {group} ({}) → {sk}: {}",
                    members.join(", "),
                    crate::text::cut(message, 60)
                ));
                if let Some(lines) = lines {
                    // Whether its reader is gone is `follow`'s to check, between records.
                    let _ = lines.write([Moved {
                        message_group_uuid: group.to_string(),
                        sk: sk.to_string(),
                        members,
                        message: message.to_string(),
                    }])?;
                }
                return Ok(());
            }
            Err(error) if error.code() == Some("TransactionCanceledException") => continue,
            Err(error) => return Err(ddb.explain("TransactWriteItems", error)),
        }
    }
    report.skipped += 1;
    ctx.warn(format!(
        "skipped MSG#{group} / {sk}: its group kept changing under three tries"
    ));
    Ok(())
}

/// A stream image's value as the table's own type.
fn convert(value: &StreamValue) -> AttributeValue {
    match value {
        StreamValue::S(s) => AttributeValue::S(s.clone()),
        StreamValue::N(n) => AttributeValue::N(n.clone()),
        StreamValue::B(b) => AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(b.as_ref())),
        StreamValue::Bool(b) => AttributeValue::Bool(*b),
        StreamValue::Null(n) => AttributeValue::Null(*n),
        StreamValue::Ss(list) => AttributeValue::Ss(list.clone()),
        StreamValue::Ns(list) => AttributeValue::Ns(list.clone()),
        StreamValue::Bs(list) => AttributeValue::Bs(
            list.iter()
                .map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.as_ref()))
                .collect(),
        ),
        StreamValue::L(list) => AttributeValue::L(list.iter().map(convert).collect()),
        StreamValue::M(map) => {
            AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), convert(v))).collect())
        }
        _ => AttributeValue::Null(true),
    }
}

#[cfg(feature = "serve")]
/// The stream worker of `cruddur ddb serve`: the Lambda's work on `ddb`'s table for as long as
/// the server runs. It waits for the table (and its stream) to appear, follows it from the
/// oldest record (a replay changes nothing), and after a failure says so and starts again a
/// moment later; it ends when a signal asks the server to stop.
pub(crate) fn worker(ctx: &Ctx, ddb: &Ddb) {
    let options = StreamArgs {
        once: false,
        from: StreamStart::TrimHorizon,
        poll: Duration::from_millis(200),
        enable_stream: false,
    };
    let mut said_waiting = false;
    while !crate::interrupt::requested() {
        let arn = ctx
            .block_on(ddb.describe_table())
            .ok()
            .and_then(Result::ok)
            .and_then(|table| {
                let on = table
                    .stream_specification()
                    .is_some_and(|s| s.stream_enabled());
                table.latest_stream_arn().filter(|_| on).map(String::from)
            });
        let Some(arn) = arn else {
            if !said_waiting {
                ctx.info(format!(
                    "stream worker: waiting for table `{}` with a stream (`cruddur ddb schema-load` makes it)",
                    ddb.table
                ));
                said_waiting = true;
            }
            pause(Duration::from_secs(1));
            continue;
        };
        said_waiting = false;
        ctx.detail(format!("stream worker: following {arn}"));
        let mut report = StreamReport {
            table: ddb.table.clone(),
            ..StreamReport::default()
        };
        match ctx.block_on(follow(ctx, ddb, &arn, &options, &mut report, &mut None)) {
            Ok(Ok(())) => {}
            Ok(Err(error)) | Err(error) => {
                ctx.warn(format!("stream worker: {error:#}; starting again in 5 s"));
                pause(Duration::from_secs(5));
            }
        }
    }
}

/// Wait on the runtime (`ddb serve`'s server goes on meanwhile), waking early when a
/// signal comes.
#[cfg(feature = "serve")]
fn pause(length: Duration) {
    let until = tokio::time::Instant::now() + length;
    let _ = crate::runtime::block_on(async {
        while tokio::time::Instant::now() < until && !crate::interrupt::requested() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
