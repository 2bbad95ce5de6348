//! A lease in the table itself, so that two runs of the same write (two `ddb seed --replace`
//! of one conversation: two CI jobs, two start tasks) never interleave. It is one item,
//! `pk = LOCK#<name>`, `sk = LOCK`, taken with a conditional PutItem (it must not exist, or
//! have expired) and given back with a conditional DeleteItem (only by its holder). The
//! app's readers never see it: they query `MSG#` and `GRP#` partitions, and it has no
//! `message_group_uuid` for the index. A run killed with its lease held leaves an item that
//! expires by itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ddb;
use crate::ops::DdbOp;
use crate::poll::{self, Probe, Wait};

/// How long a lease holds when its holder never gives it back (killed): longer than any seed.
const EXPIRES_AFTER: Duration = Duration::from_secs(15 * 60);

pub(crate) struct Lease {
    pk: String,
    holder: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Lease {
    /// The item's partition key for `name`.
    pub(crate) fn key(name: &str) -> String {
        format!("LOCK#{name}")
    }

    /// Take the lease `name`, waiting up to `wait` while another run holds it (`say` tells
    /// the user once). An error names the holder and what to do.
    pub(crate) async fn take(
        ddb: &Ddb,
        name: &str,
        wait: Duration,
        say: impl Fn(String),
    ) -> Result<Lease> {
        let lease = Lease {
            pk: Lease::key(name),
            holder: uuid::Uuid::new_v4().to_string(),
        };
        let said = std::cell::Cell::new(false);
        let waiting = || format!("waited for the lease {} (another run held it)", lease.pk);
        let taken = poll::until(
            Wait::backing_off(wait),
            waiting,
            || async {
                match lease.try_take(ddb).await? {
                    None => Ok(Probe::Ready(())),
                    Some(held) => {
                        if !said.replace(true) {
                            say(format!(
                                "another run is writing the same conversation ({held}); waiting for it to finish (at most {})",
                                crate::text::duration(wait)
                            ));
                        }
                        Ok(Probe::NotYet(held))
                    }
                }
            },
            |held| {
                anyhow!(
                    "another run still holds the lease {} of `{}` ({held}) after {}: nothing was written. \
                     Try again when it has finished; if no run is going on (one was killed), the lease \
                     expires by itself, or delete the item with pk = {} and sk = LOCK",
                    lease.pk,
                    ddb.table,
                    crate::text::duration(wait),
                    lease.pk
                )
            },
        )
        .await;
        taken.map(|_| lease)
    }

    /// None: taken. Some(who holds it, in words): not yet.
    async fn try_take(&self, ddb: &Ddb) -> Result<Option<String>> {
        if ddb.recorded(DdbOp::TakeLease {
            key: self.pk.clone(),
        }) {
            return Ok(None);
        }
        let now = now();
        let put = ddb
            .client
            .put_item()
            .table_name(&ddb.table)
            .item("pk", AttributeValue::S(self.pk.clone()))
            .item("sk", AttributeValue::S("LOCK".into()))
            .item("holder", AttributeValue::S(self.holder.clone()))
            .item("host", AttributeValue::S(host()))
            .item("taken_at", AttributeValue::N(now.to_string()))
            .item(
                "expires_at",
                AttributeValue::N((now + EXPIRES_AFTER.as_secs()).to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(error) => match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    let old = match e {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    };
                    let held = old
                        .map(|item| {
                            let n = |k: &str| {
                                item.get(k)
                                    .and_then(|v| v.as_n().ok())
                                    .and_then(|v| v.parse::<u64>().ok())
                                    .unwrap_or(0)
                            };
                            let host = item
                                .get("host")
                                .and_then(|v| v.as_s().ok())
                                .map_or("another machine".to_string(), |h| {
                                    crate::text::visible(h).into_owned()
                                });
                            format!(
                                "taken {}s ago on {host}, expires in {}s",
                                now.saturating_sub(n("taken_at")),
                                n("expires_at").saturating_sub(now)
                            )
                        })
                        .unwrap_or_else(|| "held by another run".into());
                    Ok(Some(held))
                }
                _ => Err(ddb.explain("PutItem (the lease)", error)),
            },
        }
    }

    /// Give the lease back (only ours: a lease that expired and was taken over stays).
    pub(crate) async fn release(self, ddb: &Ddb) -> Result<()> {
        // A recording store gave it without sending anything: nothing to give back.
        if ddb.is_recording() {
            return Ok(());
        }
        let deleted = ddb
            .client
            .delete_item()
            .table_name(&ddb.table)
            .key("pk", AttributeValue::S(self.pk.clone()))
            .key("sk", AttributeValue::S("LOCK".into()))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", AttributeValue::S(self.holder.clone()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(ddb.explain("DeleteItem (the lease)", error)),
        }
    }
}

/// This machine's name, to say who holds a lease.
fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unnamed machine".into())
}
