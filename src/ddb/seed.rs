//! `cruddur ddb seed`: a two-person conversation from the fixture, written through the bulk
//! write path. Messages are one minute apart and end at --now; both group items carry the
//! last message, as the stream Lambda would have left them.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::fixture;
use crate::cli::DdbSeedArgs;
use crate::ctx::Ctx;
use crate::dynamodb::batch::{self, BatchOptions, BatchReport};
use crate::dynamodb::items::{
    self, group_item, key_of, message_item, message_pk, timestamp, Item, MessageJson,
};
use crate::dynamodb::lease::Lease;
use crate::dynamodb::limits;
use crate::dynamodb::{Ddb, Partition, INDEX};
use crate::guard::Plan;
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::DdbOp;
use crate::output::Outcome;
use crate::users::{Person, Users, Wanted};

/// What to seed (plain options: from `ddb seed`'s flags, or from `setup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeedOptions {
    /// The conversation file; None: the built-in fixture.
    pub fixture: Option<PathBuf>,
    /// Person 1 and person 2 of the fixture; None: picked from the users
    /// ([`crate::users::Users::pair`]).
    pub my_handle: Option<String>,
    pub other_handle: Option<String>,
    pub message_group_uuid: String,
    /// The last message's time (RFC 3339); None: now.
    pub now: Option<String>,
    /// Replace a conversation that already has items.
    pub replace: bool,
    pub write: BatchOptions,
}

/// The flags' defaults (`setup` starts from them; a test keeps them equal).
impl Default for SeedOptions {
    fn default() -> SeedOptions {
        SeedOptions {
            fixture: None,
            my_handle: None,
            other_handle: None,
            message_group_uuid: crate::cli::SEED_GROUP.into(),
            now: None,
            replace: false,
            write: BatchOptions {
                concurrency: 32,
                max_retries: 10,
            },
        }
    }
}

impl From<&DdbSeedArgs> for SeedOptions {
    fn from(args: &DdbSeedArgs) -> SeedOptions {
        SeedOptions {
            fixture: args.fixture.clone(),
            my_handle: args.my_handle.clone(),
            other_handle: args.other_handle.clone(),
            message_group_uuid: args.message_group_uuid.clone(),
            now: args.now.clone(),
            replace: args.replace,
            write: BatchOptions::from(args.write),
        }
    }
}

/// What a seed wrote.
#[derive(Debug, Serialize)]
pub(crate) struct SeedReport {
    pub table: String,
    pub message_group_uuid: String,
    /// Handles of person 1 and person 2.
    pub between: [String; 2],
    pub items: usize,
    pub groups: usize,
    pub messages: usize,
    /// Old items of the conversation deleted (`--replace`).
    pub deleted: usize,
    pub requests: usize,
    pub retries: usize,
    pub capacity_units: f64,
    pub elapsed_ms: u64,
    pub first_message_at: String,
    pub last_message_at: String,
}

impl Report for SeedReport {}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "seeded conversation {} between {} and {} in `{}`: {} items ({} groups + {} messages){} \
             in {} requests, {} retries, {} ms",
            self.message_group_uuid,
            self.between[0],
            self.between[1],
            self.table,
            self.items,
            self.groups,
            self.messages,
            if self.deleted > 0 {
                format!(", replacing {}", self.deleted)
            } else {
                String::new()
            },
            self.requests,
            self.retries,
            self.elapsed_ms
        )
    }
}

pub(crate) fn run(ctx: &Ctx, seed: &DdbSeedArgs) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    let write = prepare(ctx, ddb, &SeedOptions::from(seed))?;
    if seed.replace {
        // Replacing deletes the old conversation: in production, a backup first.
        let write = super::backup::with_backup(ctx, ddb, write, seed.no_backup);
        return guarded::run(ctx, Prepared::Write(write));
    }
    guarded::run(ctx, Prepared::Write(write))
}

/// The conversation to write: its two group items, its messages (made from the fixture's
/// lines as they are written, so a long fixture does not sit in memory as items), and the
/// old items it will replace.
pub(crate) struct SeedConversation<'a> {
    ddb: &'a Ddb,
    group: String,
    people: [Person; 2],
    lines: Vec<fixture::Line>,
    /// The first message's time; each next one a minute later.
    first: DateTime<Utc>,
    last_at: String,
    groups: [Item; 2],
    /// The keys the new conversation writes.
    new_keys: HashSet<(String, String)>,
    /// The old items it does not overwrite, as found now (read again under the lease).
    stale: Vec<Item>,
    replace: bool,
    options: BatchOptions,
}

/// Check the input whole and read the two people from Postgres: what the seed will write.
pub(crate) fn prepare<'a>(
    ctx: &Ctx,
    ddb: &'a Ddb,
    seed: &SeedOptions,
) -> Result<SeedConversation<'a>> {
    // Everything that can be wrong with the input is found before any store is touched.
    let (name, text) = match &seed.fixture {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| anyhow!("--fixture {}: cannot read the file: {e}", path.display()))?,
        ),
        None => (
            fixture::DEFAULT_NAME.to_string(),
            fixture::DEFAULT.to_string(),
        ),
    };
    let lines = fixture::parse(&name, &text)?;
    let group = uuid::Uuid::parse_str(&seed.message_group_uuid)
        .map_err(|_| {
            anyhow!(
                "--message-group-uuid `{}` is not a UUID",
                seed.message_group_uuid
            )
        })?
        .to_string();
    let now = match &seed.now {
        Some(text) => items::parse_time(text, "--now")?,
        None => Utc::now(),
    };
    if now > Utc::now() + Duration::minutes(1) {
        bail!("--now {} is in the future: the seed's last message is sent at --now, and none may lie ahead", timestamp(now));
    }
    if let (Some(mine), Some(other)) = (&seed.my_handle, &seed.other_handle) {
        if mine == other {
            bail!(
                "--my-handle and --other-handle are both `{mine}`: a conversation needs two people"
            );
        }
    }

    let mut users = Users::open(ctx.pg()?)?;
    let [my_handle, other_handle] = users.pair(
        seed.my_handle.as_deref(),
        seed.other_handle.as_deref(),
        super::seed_text(ctx).as_deref(),
    )?;
    let found = users.by_handles(&[
        Wanted {
            handle: &my_handle,
            flag: "--my-handle",
        },
        Wanted {
            handle: &other_handle,
            flag: "--other-handle",
        },
    ])?;
    drop(users);
    if seed.my_handle.is_none() || seed.other_handle.is_none() {
        ctx.info(format!(
            "conversation between {my_handle} and {other_handle} (--my-handle and --other-handle choose others)"
        ));
    }
    let [me, other] = [found[0].clone(), found[1].clone()];
    let mut conversation = conversation(ddb, &name, group, [me, other], lines, now, seed)?;
    let group = &conversation.group;
    let existing = ctx.block_on(existing_keys(ddb, group, !seed.replace))??;
    if !existing.is_empty() && !seed.replace {
        bail!(
            "conversation {group} already has items in `{}`; nothing was written \
             (--replace writes the new one, then deletes the old items{})",
            ddb.table,
            if ctx.target == crate::ctx::Target::Prod {
                "; back the table up before you do"
            } else {
                ""
            }
        );
    }
    conversation.stale = stale_of(existing, &conversation.new_keys);
    Ok(conversation)
}

/// The conversation of `lines` between `people`, its last message at `now`, every item
/// checked against DynamoDB's limits (`name` is the fixture's, for its errors): what a seed
/// writes, before it has looked at what the table holds (no stale item yet).
fn conversation<'a>(
    ddb: &'a Ddb,
    name: &str,
    group: String,
    people: [Person; 2],
    lines: Vec<fixture::Line>,
    now: DateTime<Utc>,
    seed: &SeedOptions,
) -> Result<SeedConversation<'a>> {
    let [me, other] = &people;
    let first = now - Duration::minutes(lines.len() as i64 - 1);
    let message_at = |i: usize| timestamp(first + Duration::minutes(i as i64));
    let (last_at, last_text) = match lines.last() {
        Some(line) => (timestamp(now), line.text.clone()),
        None => bail!("{name} holds no message"),
    };
    let groups = [
        group_item(me, other, &group, &last_at, &last_text),
        group_item(other, me, &group, &last_at, &last_text),
    ];
    // Every item is checked against DynamoDB's limits before anything is written. A message
    // differs from its sender's empty one only by its text: its size is that plus the text's.
    let empty = |sender| {
        message_item(
            &group,
            &uuid::Uuid::nil().to_string(),
            &message_at(0),
            "",
            sender,
        )
    };
    let (mine, theirs) = (empty(me), empty(other));
    for line in &lines {
        let base = if line.person == 1 { &mine } else { &theirs };
        if limits::item_size(base) + line.text.len() > limits::MAX_ITEM_BYTES {
            let mut item = base.clone();
            item.insert("message".into(), AttributeValue::S(line.text.clone()));
            limits::check_limits(&item)
                .map_err(|why| anyhow!("{name}:{}: {why}; nothing was written", line.line))?;
        }
    }
    for item in &groups {
        limits::check_limits(item).map_err(|why| anyhow!("{why}; nothing was written"))?;
    }

    // The old items the new conversation does not overwrite are deleted once it is written.
    // Only the old keys are held (none without --replace), each new key struck off them.
    let new_keys: HashSet<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                items::text(g, "pk").unwrap_or("").to_string(),
                last_at.clone(),
            )
        })
        .chain((0..lines.len()).map(|i| (message_pk(&group), message_at(i))))
        .collect();
    Ok(SeedConversation {
        ddb,
        group,
        people,
        lines,
        first,
        last_at,
        groups,
        new_keys,
        stale: Vec::new(),
        replace: seed.replace,
        options: seed.write,
    })
}

impl SeedConversation<'_> {
    /// The time of the `i`th message: one minute after the one before.
    fn message_at(&self, i: usize) -> DateTime<Utc> {
        self.first + Duration::minutes(i as i64)
    }
}

impl Write for SeedConversation<'_> {
    type Report = SeedReport;

    fn plan(&self) -> Plan {
        let total = self.groups.len() + self.lines.len();
        let mut ops = vec![
            DdbOp::TakeLease {
                key: Lease::key(&format!("seed#{}", self.group)),
            }
            .into(),
            DdbOp::WriteConversation {
                items: total,
                groups: self.groups.len(),
                messages: self.lines.len(),
                first_message_at: timestamp(self.first),
                last_message_at: self.last_at.clone(),
                requests: total.div_ceil(batch::BATCH_SIZE),
                concurrency: self.options.concurrency,
            }
            .into(),
        ];
        // With --replace the old items are read again under the lease (another seed may have
        // written meanwhile) and deleted: the plan says so even when it finds none now.
        if self.replace {
            ops.push(
                DdbOp::DeleteStale {
                    items: self.stale.len(),
                    requests: self.stale.len().div_ceil(batch::BATCH_SIZE),
                }
                .into(),
            );
        }
        Plan::new(
            self.ddb.destination(),
            format!(
                "{} conversation {} between {} and {}",
                if self.stale.is_empty() {
                    "seed"
                } else {
                    "replace"
                },
                self.group,
                self.people[0].handle,
                self.people[1].handle
            ),
            ops,
            &self.ddb.table,
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<SeedReport> {
        let started = Instant::now();
        let (ddb, group) = (self.ddb, &self.group);
        let [me, other] = &self.people;
        let total = self.groups.len() + self.lines.len();
        let json = MessageJson::new(group, [me, other]);
        let messages = self.lines.iter().enumerate().map(|(i, line)| {
            // Random enough for ids (no secret rides on them), without a system call each.
            let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
            let mut id_text = uuid::Uuid::encode_buffer();
            batch::Request::PutJson(json.render(
                self.message_at(i),
                id.hyphenated().encode_lower(&mut id_text),
                &line.text,
                line.person != 1,
            ))
        });
        let (deleted, report) = ctx.block_on(async {
            // Two seeds of one conversation never interleave: the second waits for the first,
            // then reads again what is there (the first one's conversation, to replace).
            let lease = Lease::take(ddb, &format!("seed#{group}"), LEASE_WAIT, |words| {
                ctx.info(words)
            })
            .await?;
            let written = async {
                let now_there = existing_keys(ddb, group, !self.replace).await?;
                if !self.replace && !now_there.is_empty() {
                    bail!(
                        "conversation {group} was written by another run while this one waited; \
                         nothing was written (--replace replaces it)"
                    );
                }
                let stale = stale_of(now_there, &self.new_keys);
                write_conversation(
                    ctx,
                    ddb,
                    self.groups.clone(),
                    messages,
                    total,
                    stale,
                    self.options,
                )
                .await
            }
            .await;
            let released = lease.release(ddb).await;
            let written = written?;
            released?;
            Ok::<_, anyhow::Error>(written)
        })??;
        ctx.detail(format!(
            "consumed {} write capacity units (the table's and its index's); at most {} calls were in flight",
            report.capacity_units + deleted.capacity_units,
            report.peak_in_flight.max(deleted.peak_in_flight)
        ));
        Ok(SeedReport {
            table: ddb.table.clone(),
            message_group_uuid: group.clone(),
            between: [me.handle.clone(), other.handle.clone()],
            items: report.written,
            groups: 2,
            messages: self.lines.len(),
            deleted: deleted.written,
            requests: report.requests + deleted.requests,
            retries: report.retries + deleted.retries,
            capacity_units: report.capacity_units + deleted.capacity_units,
            elapsed_ms: started.elapsed().as_millis() as u64,
            first_message_at: timestamp(self.first),
            last_message_at: self.last_at,
        })
    }
}

/// Write the new conversation, then delete the old items it did not overwrite.
async fn write_conversation(
    ctx: &Ctx,
    ddb: &Ddb,
    groups: [Item; 2],
    messages: impl Iterator<Item = batch::Request>,
    total: usize,
    stale: Vec<Item>,
    options: BatchOptions,
) -> Result<(BatchReport, BatchReport)> {
    let puts = groups.into_iter().map(batch::put).chain(messages.map(Ok));
    let progress = ctx.printer.progress("seeding", Some(total));
    let report = batch::write_stream(ddb, puts, options, &progress)
        .await
        .map_err(|e| e.context(kept_old(stale.len())))?;
    unwritten("write", &report, options.max_retries)
        .map_err(|e| e.context(kept_old(stale.len())))?;
    let mut deleted = BatchReport::default();
    if !stale.is_empty() {
        let deletes = stale
            .into_iter()
            .map(batch::delete)
            .collect::<Result<Vec<_>>>()?;
        let progress = ctx
            .printer
            .progress("deleting the old items", Some(deletes.len()));
        deleted = batch::write_all(ddb, deletes, options, &progress).await?;
        unwritten("delete", &deleted, options.max_retries)?;
    }
    Ok((deleted, report))
}

/// The keys of `existing` that no new item overwrites.
fn stale_of(existing: Vec<Item>, new_keys: &HashSet<(String, String)>) -> Vec<Item> {
    existing
        .into_iter()
        .filter(|key| {
            let pair = (
                items::text(key, "pk").unwrap_or("").to_string(),
                items::text(key, "sk").unwrap_or("").to_string(),
            );
            !new_keys.contains(&pair)
        })
        .collect()
}

/// How long a seed waits for another one of the same conversation.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// What a failed write left: the old conversation is whole, as nothing was deleted yet.
fn kept_old(old: usize) -> String {
    if old == 0 {
        "the seed was not finished: run `cruddur ddb seed --replace` again to finish it".to_string()
    } else {
        format!(
            "the seed was not finished; the old conversation's {old} items were kept (nothing is \
             deleted before the new one is whole): run `cruddur ddb seed --replace` again to finish it"
        )
    }
}

/// Keys of the group's items: its messages and the members' group items (through the index).
/// With `any`, one of each is enough: the caller only needs to know whether there are some.
async fn existing_keys(ddb: &Ddb, group: &str, any: bool) -> Result<Vec<Item>> {
    let first = any.then_some(1);
    let messages = Partition {
        attribute: "pk",
        value: &message_pk(group),
        keys_only: true,
        first,
        ..Partition::default()
    };
    let groups = Partition {
        index: Some(INDEX),
        attribute: "message_group_uuid",
        value: group,
        keys_only: true,
        first,
        ..Partition::default()
    };
    // Both at once: two round trips would be paid one after the other otherwise.
    let (messages, groups) =
        tokio::join!(ddb.query_partition(messages), ddb.query_partition(groups));
    let mut keys = messages?;
    keys.extend(groups?.iter().map(key_of));
    Ok(keys)
}

/// An error naming every key the retry budget could not write.
fn unwritten(what: &str, report: &BatchReport, retries: u32) -> Result<()> {
    if report.failed.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = report.failed.iter().take(10).map(String::as_str).collect();
    bail!(
        "could not {what} {} item{} after {retries} retries (DynamoDB kept them unprocessed or throttled): {}{}; \
         {} were done — run the seed again with --replace (it writes the new conversation, then deletes what is left of the old)",
        report.failed.len(),
        if report.failed.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if report.failed.len() > shown.len() { format!(" and {} more", report.failed.len() - shown.len()) } else { String::new() },
        report.written
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    fn person(handle: &str, uuid: &str) -> Person {
        Person {
            uuid: uuid.into(),
            handle: handle.into(),
            display_name: format!("{handle}'s name"),
        }
    }

    /// The lease, then every item of the conversation in BatchWriteItem calls of 25; with
    /// --replace the old items found under the lease (none on a recording store) are deleted.
    #[test]
    fn a_seed_performs_what_it_planned() {
        let parse =
            || fixture::parse(fixture::DEFAULT_NAME, fixture::DEFAULT).expect("the fixture");
        for replace in [false, true] {
            let (ddb, recorder) = Ddb::recording("cruddur-messages");
            let seed = SeedOptions {
                replace,
                ..SeedOptions::default()
            };
            let write = conversation(
                &ddb,
                fixture::DEFAULT_NAME,
                seed.message_group_uuid.clone(),
                [
                    person("andrew", "00000000-0000-4000-8000-000000000001"),
                    person("bayko", "00000000-0000-4000-8000-000000000002"),
                ],
                parse(),
                items::parse_time("2026-12-07T09:00:00Z", "--now").expect("a time"),
                &seed,
            )
            .expect("the conversation");
            let (planned, performed) =
                planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
            assert_eq!(performed, planned, "replace: {replace}");
            let items = parse().len() + 2;
            assert_eq!(
                performed,
                [
                    DdbOp::TakeLease {
                        key: Lease::key(&format!("seed#{}", seed.message_group_uuid)),
                    }
                    .into(),
                    DdbOp::BatchWrite {
                        puts: items,
                        deletes: 0,
                        requests: items.div_ceil(batch::BATCH_SIZE),
                    }
                    .into(),
                ]
            );
        }
    }
}
