//! DynamoDB's limits on one item, checked before anything is written so that a bad item is
//! named instead of failing a batch half-way.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{describe_key, Item};

/// DynamoDB's limits on one item: 400 KB in all (names and values), a partition key of at
/// most 2048 bytes and a sort key of at most 1024.
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

/// An item's size as DynamoDB counts it: every attribute's name and value, in bytes.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        // Numbers are stored in about one byte per two digits, plus one.
        AttributeValue::N(number) => number.len().div_ceil(2) + 1,
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(list) => list.iter().map(String::len).sum(),
        AttributeValue::Ns(list) => list.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(list) => list.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Why DynamoDB would refuse this item, if it would: checked before anything is written.
pub(crate) fn check_limits(item: &Item) -> std::result::Result<(), String> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(format!(
            "item {} is {size} bytes, over DynamoDB's limit of {MAX_ITEM_BYTES} (400 KB)",
            describe_key(item)
        ));
    }
    for (key, max) in [("pk", MAX_PARTITION_KEY_BYTES), ("sk", MAX_SORT_KEY_BYTES)] {
        if let Some(value) = item.get(key) {
            let size = value_size(value);
            if size > max {
                return Err(format!(
                    "item {}: its {key} is {size} bytes, over DynamoDB's limit of {max}",
                    crate::text::cut(&describe_key(item), 80)
                ));
            }
            if size == 0 {
                return Err(format!("an item has an empty {key}"));
            }
        }
    }
    Ok(())
}
