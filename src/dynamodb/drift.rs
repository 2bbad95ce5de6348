//! The table as it is, against the table `ddb schema-load` makes: both read into one plain
//! form ([`Layout`]), the second from the very [`shape`](super::table::shape) CreateTable
//! sends, then compared part by part ([`compare`]), each difference in words.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, PointInTimeRecoveryStatus, Projection,
    ProjectionType, TableDescription, TimeToLiveStatus,
};
use serde::Serialize;

use super::table::Shape;
use super::Ddb;

/// What could be read of a part, or why not (an endpoint without that API).
pub(crate) type Known<T> = std::result::Result<T, String>;

/// A table's parts, each in the words a difference shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// `pk (HASH, S) + sk (RANGE, S)`.
    pub(crate) keys: String,
    /// Each index by name: `global; message_group_uuid (HASH, S) + sk (RANGE, S); …`.
    pub(crate) indexes: BTreeMap<String, String>,
    /// The stream's view type; None: no stream.
    pub(crate) stream: Option<String>,
    /// `PROVISIONED 5/5` (reads/writes), or `PAY_PER_REQUEST`.
    pub(crate) capacity: String,
    /// The TTL attribute; None: no TTL.
    pub(crate) ttl: Known<Option<String>>,
    pub(crate) pitr: Known<bool>,
    pub(crate) deletion_protection: bool,
}

/// One part that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Difference {
    pub(crate) part: String,
    /// What `ddb schema-load` makes.
    pub(crate) expected: String,
    /// What the table has.
    pub(crate) found: String,
    /// False for a protection (point-in-time recovery, deletion protection) a team turns on
    /// by choice, and for a part that could not be read: listed, not counted.
    pub(crate) drift: bool,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{}: the table has {}; `ddb schema-load` makes {}",
            self.part, self.found, self.expected
        )?;
        if !self.drift {
            f.write_str(if self.found.starts_with("an unknown") {
                " (not counted)"
            } else {
                " (a protection, not counted as drift)"
            })?;
        }
        Ok(())
    }
}

/// Key elements with their attributes' types: `pk (HASH, S) + sk (RANGE, S)`.
fn keys(schema: &[KeySchemaElement], attributes: &[AttributeDefinition]) -> String {
    schema
        .iter()
        .map(|key| {
            let name = key.attribute_name();
            let kind = attributes
                .iter()
                .find(|a| a.attribute_name() == name)
                .map_or("?", |a| a.attribute_type().as_str());
            format!("{name} ({}, {kind})", key.key_type().as_str())
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn projection(projection: Option<&Projection>) -> String {
    let Some(projection) = projection else {
        return "projection unknown".into();
    };
    match projection.projection_type() {
        Some(ProjectionType::Include) => format!(
            "projection INCLUDE {}",
            projection.non_key_attributes().join(", ")
        ),
        Some(kind) => format!("projection {}", kind.as_str()),
        None => "projection unknown".into(),
    }
}

fn capacity(billing: Option<&BillingMode>, units: Option<(i64, i64)>) -> String {
    match (billing, units) {
        (Some(BillingMode::PayPerRequest), _) => "PAY_PER_REQUEST".into(),
        (_, Some((reads, writes))) => format!("PROVISIONED {reads}/{writes}"),
        (_, None) => "PROVISIONED, capacity unknown".into(),
    }
}

impl Layout {
    /// What `ddb schema-load` makes: `shape`, with its stream or not, and deletion protection
    /// as schema-load's default gives it.
    pub(crate) fn expected(shape: &Shape, stream: bool, deletion_protection: bool) -> Layout {
        let index = &shape.index;
        let units = |t: &aws_sdk_dynamodb::types::ProvisionedThroughput| {
            (t.read_capacity_units(), t.write_capacity_units())
        };
        let index_capacity = capacity(None, index.provisioned_throughput().map(units));
        Layout {
            keys: keys(&shape.keys, &shape.attributes),
            indexes: BTreeMap::from([(
                index.index_name().to_string(),
                format!(
                    "a global index on {}, {}, {index_capacity}",
                    keys(index.key_schema(), &shape.attributes),
                    projection(index.projection()),
                ),
            )]),
            stream: stream.then(|| "a NEW_IMAGE stream".to_string()),
            capacity: capacity(None, Some(units(&shape.capacity))),
            ttl: Ok(None),
            pitr: Ok(false),
            deletion_protection,
        }
    }

    /// The table as DescribeTable, DescribeTimeToLive and DescribeContinuousBackups tell it.
    pub(crate) fn found(
        table: &TableDescription,
        ttl: Known<Option<String>>,
        pitr: Known<bool>,
    ) -> Layout {
        let attributes = table.attribute_definitions();
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode());
        let units = |t: &aws_sdk_dynamodb::types::ProvisionedThroughputDescription| {
            Some((t.read_capacity_units()?, t.write_capacity_units()?))
        };
        let mut indexes = BTreeMap::new();
        for index in table.global_secondary_indexes() {
            indexes.insert(
                index.index_name().unwrap_or_default().to_string(),
                format!(
                    "a global index on {}, {}, {}",
                    keys(index.key_schema(), attributes),
                    projection(index.projection()),
                    capacity(billing, index.provisioned_throughput().and_then(units)),
                ),
            );
        }
        for index in table.local_secondary_indexes() {
            indexes.insert(
                index.index_name().unwrap_or_default().to_string(),
                format!(
                    "a local index on {}, {}",
                    keys(index.key_schema(), attributes),
                    projection(index.projection()),
                ),
            );
        }
        Layout {
            keys: keys(table.key_schema(), attributes),
            indexes,
            stream: table
                .stream_specification()
                .filter(|s| s.stream_enabled())
                .map(|s| match s.stream_view_type() {
                    Some(view) => format!("a {} stream", view.as_str()),
                    None => "a stream of an unknown view".to_string(),
                }),
            capacity: capacity(billing, table.provisioned_throughput().and_then(units)),
            ttl,
            pitr,
            deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        }
    }
}

fn on_off(on: bool) -> String {
    if on { "it on" } else { "it off" }.to_string()
}

fn unknown(why: &str) -> String {
    format!("an unknown setting ({why})")
}

/// Every part of `found` that is not as `expected` says, in a fixed order: keys, indexes (by
/// name), stream, capacity, TTL, then the protections.
pub(crate) fn compare(expected: &Layout, found: &Layout) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut differ = |part: String, expected: String, found: String, drift: bool| {
        if expected != found {
            differences.push(Difference {
                part,
                expected,
                found,
                drift,
            });
        }
    };
    differ(
        "keys".into(),
        expected.keys.clone(),
        found.keys.clone(),
        true,
    );
    let names: std::collections::BTreeSet<&String> = expected
        .indexes
        .keys()
        .chain(found.indexes.keys())
        .collect();
    let none = || "none".to_string();
    for name in names {
        differ(
            format!("index `{name}`"),
            expected.indexes.get(name).cloned().unwrap_or_else(none),
            found.indexes.get(name).cloned().unwrap_or_else(none),
            true,
        );
    }
    differ(
        "stream".into(),
        expected
            .stream
            .clone()
            .unwrap_or_else(|| "no stream".into()),
        found.stream.clone().unwrap_or_else(|| "no stream".into()),
        true,
    );
    differ(
        "capacity".into(),
        expected.capacity.clone(),
        found.capacity.clone(),
        true,
    );
    let ttl = |ttl: &Known<Option<String>>| match ttl {
        Ok(None) => "no TTL".to_string(),
        Ok(Some(attribute)) => format!("TTL on `{attribute}`"),
        Err(why) => unknown(why),
    };
    differ(
        "TTL".into(),
        ttl(&expected.ttl),
        ttl(&found.ttl),
        found.ttl.is_ok(),
    );
    let pitr = |pitr: &Known<bool>| match pitr {
        Ok(on) => on_off(*on),
        Err(why) => unknown(why),
    };
    differ(
        "point-in-time recovery".into(),
        pitr(&expected.pitr),
        pitr(&found.pitr),
        false,
    );
    differ(
        "deletion protection".into(),
        on_off(expected.deletion_protection),
        on_off(found.deletion_protection),
        false,
    );
    differences
}

impl Ddb {
    /// The table's layout, as it is now. TTL and point-in-time recovery an endpoint cannot
    /// tell (an emulator without those APIs) are unknown, not errors.
    pub(crate) async fn layout(&self) -> Result<Layout> {
        let table = self.describe_table().await?;
        let (ttl, pitr) = tokio::join!(
            self.client
                .describe_time_to_live()
                .table_name(&self.table)
                .send(),
            self.client
                .describe_continuous_backups()
                .table_name(&self.table)
                .send(),
        );
        let unknown = |operation: &str, code: Option<&str>| {
            format!("{operation} answered {}", code.unwrap_or("an error"))
        };
        // An endpoint without the API (an emulator) leaves the part unknown; any other error
        // (access denied, a network failure) is an error, never a silent pass.
        let unsupported = |code: Option<&str>| {
            matches!(
                code,
                Some("UnknownOperationException" | "UnsupportedOperation" | "NotImplemented")
            )
        };
        let ttl = match ttl {
            Ok(answer) => Ok(answer.time_to_live_description().and_then(|d| {
                matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                )
                .then(|| d.attribute_name().unwrap_or_default().to_string())
            })),
            Err(error) if unsupported(error.code()) => {
                Err(unknown("DescribeTimeToLive", error.code()))
            }
            Err(error) => return Err(self.explain("DescribeTimeToLive", error)),
        };
        let pitr = match pitr {
            Ok(answer) => Ok(answer
                .continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|p| p.point_in_time_recovery_status())
                == Some(&PointInTimeRecoveryStatus::Enabled)),
            Err(error) if unsupported(error.code()) => {
                Err(unknown("DescribeContinuousBackups", error.code()))
            }
            Err(error) => return Err(self.explain("DescribeContinuousBackups", error)),
        };
        Ok(Layout::found(&table, ttl, pitr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Layout {
        Layout::expected(&super::super::table::shape().unwrap(), true, false)
    }

    #[test]
    fn the_shape_schema_load_makes_reads_in_plain_words() {
        let layout = expected();
        assert_eq!(layout.keys, "pk (HASH, S) + sk (RANGE, S)");
        assert_eq!(
            layout.indexes.get(super::super::INDEX).map(String::as_str),
            Some(
                "a global index on message_group_uuid (HASH, S) + sk (RANGE, S), projection ALL, \
                 PROVISIONED 5/5"
            )
        );
        assert_eq!(layout.capacity, "PROVISIONED 5/5");
        assert!(compare(&layout, &layout).is_empty());
    }

    #[test]
    fn each_part_that_differs_is_named_and_protections_do_not_count() {
        let mut found = expected();
        found.indexes.clear();
        found.indexes.insert(
            "by-handle".into(),
            "a global index on handle (HASH, S)".into(),
        );
        found.stream = None;
        found.capacity = "PAY_PER_REQUEST".into();
        found.ttl = Ok(Some("expires_at".into()));
        found.pitr = Err("DescribeContinuousBackups answered UnknownOperationException".into());
        found.deletion_protection = true;
        let said: Vec<String> = compare(&expected(), &found)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            said,
            [
                "index `by-handle`: the table has a global index on handle (HASH, S); \
                 `ddb schema-load` makes none",
                "index `message-group-sk-index`: the table has none; `ddb schema-load` makes a \
                 global index on message_group_uuid (HASH, S) + sk (RANGE, S), projection ALL, \
                 PROVISIONED 5/5",
                "stream: the table has no stream; `ddb schema-load` makes a NEW_IMAGE stream",
                "capacity: the table has PAY_PER_REQUEST; `ddb schema-load` makes PROVISIONED 5/5",
                "TTL: the table has TTL on `expires_at`; `ddb schema-load` makes no TTL",
                "point-in-time recovery: the table has an unknown setting \
                 (DescribeContinuousBackups answered UnknownOperationException); `ddb schema-load` \
                 makes it off (not counted)",
                "deletion protection: the table has it on; `ddb schema-load` makes it off (a \
                 protection, not counted as drift)",
            ]
        );
    }
}
