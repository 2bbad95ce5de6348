//! `pull`'s DynamoDB half: the pulled people's conversations — each one's `GRP#` partition,
//! then the `MSG#` partition of every group found there — read from production with Query,
//! masked attribute by attribute, and set against what the local table holds in the same
//! partitions (what production lacks there is deleted).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamodb::items::{group_pk, key_of, message_pk, text, Item};
use crate::dynamodb::{Ddb, Partition};
use crate::mask::{Masker, Rule};

/// The app's attributes and how each is masked; a string attribute not named here is masked
/// as text, and the report names it.
const APP_ATTRIBUTES: &[(&str, Rule)] = &[
    ("pk", Rule::Keep),
    ("sk", Rule::Keep),
    ("message_group_uuid", Rule::Keep),
    ("message_uuid", Rule::Keep),
    ("user_uuid", Rule::Keep),
    ("user_handle", Rule::Keep),
    ("user_display_name", Rule::Name),
    ("message", Rule::Text),
];

/// Production's conversations of the pulled people, masked, against the local table's.
pub(crate) struct Conversations {
    /// The partitions read (`GRP#…`, `MSG#…`).
    pub(crate) partitions: Vec<String>,
    /// Production's items, masked.
    pub(crate) puts: Vec<Item>,
    /// The keys of local items in those partitions that production does not have.
    pub(crate) deletes: Vec<Item>,
    /// The attributes masked, and those among them the app's list does not name.
    pub(crate) masked: BTreeSet<String>,
    pub(crate) unlisted: BTreeSet<String>,
    /// The local table is not there yet: it is made first.
    pub(crate) create_table: bool,
}

fn partition(value: &str, keys_only: bool) -> Partition<'_> {
    Partition {
        index: None,
        attribute: "pk",
        value,
        newest_first: false,
        keys_only,
        first: None,
    }
}

/// Read `people`'s conversations from `source` and the same partitions of `local`.
pub(crate) async fn read(
    source: &Ddb,
    local: &Ddb,
    people: &[String],
    masker: Option<&Masker>,
) -> Result<Conversations> {
    // The people's group partitions, then their conversations' message partitions: each
    // batch of queries runs side by side (production is usually far away).
    let mut partitions: Vec<String> = people.iter().map(|p| group_pk(p)).collect();
    let mut items: Vec<Item> = Vec::new();
    let mut groups: BTreeSet<String> = BTreeSet::new();
    for found in query_each(source, &partitions, false).await? {
        groups.extend(
            found
                .iter()
                .filter_map(|i| text(i, "message_group_uuid").map(String::from)),
        );
        items.extend(found);
    }
    let messages: Vec<String> = groups.iter().map(|g| message_pk(g)).collect();
    items.extend(
        query_each(source, &messages, false)
            .await?
            .into_iter()
            .flatten(),
    );
    partitions.extend(messages);
    let create_table = !local.exists().await?;
    let there: Vec<Item> = if create_table {
        Vec::new()
    } else {
        query_each(local, &partitions, true)
            .await?
            .into_iter()
            .flatten()
            .collect()
    };
    let wanted: HashSet<(String, String)> = items.iter().map(key_text).collect();
    let deletes = there
        .iter()
        .filter(|item| !wanted.contains(&key_text(item)))
        .map(key_of)
        .collect();
    let (mut masked, mut unlisted) = (BTreeSet::new(), BTreeSet::new());
    let puts = match masker {
        Some(masker) => items
            .into_iter()
            .map(|item| mask(item, masker, &mut masked, &mut unlisted))
            .collect(),
        None => items,
    };
    let bytes: Vec<&String> = unlisted
        .iter()
        .filter(|a| a.ends_with(" (bytes)"))
        .collect();
    if !bytes.is_empty() {
        return Err(anyhow::anyhow!(
            "production's items have attributes the app's list does not name and cruddur \
             cannot mask: {}. Nothing was pulled. If they hold nothing personal, pull with \
             --no-mask (at a terminal, which asks first), or leave the conversations out with \
             --no-dynamodb",
            bytes
                .iter()
                .map(|a| format!("`{}`", a.trim_end_matches(" (bytes)")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Conversations {
        partitions,
        puts,
        deletes,
        masked,
        unlisted,
        create_table,
    })
}

/// Every item of each partition (`keys_only`: their keys), in the partitions' order, up to
/// 16 queries in flight; the first error stops the rest.
async fn query_each(ddb: &Ddb, partitions: &[String], keys_only: bool) -> Result<Vec<Vec<Item>>> {
    let room = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut queries = tokio::task::JoinSet::new();
    for (at, pk) in partitions.iter().enumerate() {
        let (ddb, pk, room) = (ddb.clone(), pk.clone(), room.clone());
        queries.spawn(async move {
            let _turn = room.acquire_owned().await;
            crate::interrupt::check(|| "nothing was written".to_string())?;
            let items = ddb.query_partition(partition(&pk, keys_only)).await?;
            Ok::<_, anyhow::Error>((at, items))
        });
    }
    let mut out = vec![Vec::new(); partitions.len()];
    while let Some(done) = queries.join_next().await {
        let (at, items) = done.map_err(|e| anyhow::anyhow!("a Query stopped: {e}"))??;
        out[at] = items;
    }
    Ok(out)
}

fn key_text(item: &Item) -> (String, String) {
    (
        text(item, "pk").unwrap_or_default().to_string(),
        text(item, "sk").unwrap_or_default().to_string(),
    )
}

/// An item with its personal attributes masked: the display name by the person's uuid (the
/// same fake as their row in Postgres), text by itself; lists and maps of an unknown
/// attribute have their strings masked too.
fn mask(
    item: Item,
    masker: &Masker,
    masked: &mut BTreeSet<String>,
    unlisted: &mut BTreeSet<String>,
) -> Item {
    let person = text(&item, "user_uuid").map(String::from);
    let mut out = Item::with_capacity(item.len());
    for (name, value) in item {
        let listed = APP_ATTRIBUTES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r);
        let rule = listed.unwrap_or(Rule::Text);
        let value = match (rule, value) {
            (Rule::Keep, value) => value,
            (rule, AttributeValue::S(text)) => {
                note(&name, listed.is_none(), masked, unlisted);
                AttributeValue::S(masker.mask(rule, &text, person.as_deref()))
            }
            (_, value @ (AttributeValue::L(_) | AttributeValue::M(_) | AttributeValue::Ss(_))) => {
                note(&name, listed.is_none(), masked, unlisted);
                strings(value, masker)
            }
            (_, value @ (AttributeValue::B(_) | AttributeValue::Bs(_))) => {
                // Bytes cannot be masked, and might be personal: the pull stops, naming it.
                unlisted.insert(format!("{name} (bytes)"));
                value
            }
            (_, value) => value,
        };
        out.insert(name, value);
    }
    out
}

fn note(name: &str, unknown: bool, masked: &mut BTreeSet<String>, unlisted: &mut BTreeSet<String>) {
    masked.insert(name.to_string());
    if unknown {
        unlisted.insert(name.to_string());
    }
}

/// Every string inside a list, map or string set, masked as text.
fn strings(value: AttributeValue, masker: &Masker) -> AttributeValue {
    match value {
        AttributeValue::S(text) => AttributeValue::S(masker.text(&text)),
        AttributeValue::L(list) => {
            AttributeValue::L(list.into_iter().map(|v| strings(v, masker)).collect())
        }
        AttributeValue::M(map) => AttributeValue::M(
            map.into_iter()
                .map(|(k, v)| (k, strings(v, masker)))
                .collect::<std::collections::HashMap<_, _>>(),
        ),
        AttributeValue::Ss(set) => {
            // A set's members must stay distinct: equal fakes are merged.
            let fakes: BTreeMap<String, ()> = set.iter().map(|s| (masker.text(s), ())).collect();
            AttributeValue::Ss(fakes.into_keys().collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_items_person_and_text_are_masked_its_keys_kept() {
        let masker = Masker::new(b"k");
        let s = |t: &str| AttributeValue::S(t.into());
        let item: Item = [
            ("pk", s("MSG#g")),
            ("sk", s("2026-12-01T00:00:00.000000+00:00")),
            ("user_uuid", s("u-1")),
            ("user_handle", s("kimmy")),
            ("user_display_name", s("Kim Moreau")),
            ("message", s("see you at 5")),
            ("mood", s("happy")),
            ("n", AttributeValue::N("3".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let (mut masked, mut unlisted) = (BTreeSet::new(), BTreeSet::new());
        let out = mask(item.clone(), &masker, &mut masked, &mut unlisted);
        for kept in ["pk", "sk", "user_uuid", "user_handle", "n"] {
            assert_eq!(out[kept], item[kept], "{kept}");
        }
        assert_eq!(out["user_display_name"], s(&masker.name("u-1")));
        assert_eq!(out["message"], s(&masker.text("see you at 5")));
        assert_eq!(out["mood"], s(&masker.text("happy")));
        assert_eq!(
            masked.into_iter().collect::<Vec<_>>(),
            ["message", "mood", "user_display_name"]
        );
        assert_eq!(unlisted.into_iter().collect::<Vec<_>>(), ["mood"]);
        // Bytes cannot be masked: named, for the pull to stop on.
        let with_bytes: Item = [
            ("pk".to_string(), s("MSG#g")),
            (
                "avatar".to_string(),
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![1, 2])),
            ),
        ]
        .into();
        let (mut masked, mut unlisted) = (BTreeSet::new(), BTreeSet::new());
        mask(with_bytes, &masker, &mut masked, &mut unlisted);
        assert_eq!(unlisted.into_iter().collect::<Vec<_>>(), ["avatar (bytes)"]);
    }
}
