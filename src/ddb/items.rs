//! The items of the messages table, exactly as the app writes and reads them.
//!
//! - a message: `pk = MSG#{group uuid}`, `sk = created_at`, `message_uuid`, `message`, and the
//!   sender's `user_uuid`, `user_display_name`, `user_handle`;
//! - a message group, one per member: `pk = GRP#{owner uuid}`, `sk = last message time`,
//!   `message_group_uuid`, `message` (the last text), and the OTHER member's `user_uuid`,
//!   `user_display_name`, `user_handle`.
//!
//! Times are UTC ISO-8601 with microseconds and an offset (`2023-03-26T14:05:09.123456+00:00`),
//! which the app parses and whose string order is time order.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Number, Value};

pub type Item = HashMap<String, AttributeValue>;

pub use crate::db::users::Person;

pub fn message_pk(group_uuid: &str) -> String {
    format!("MSG#{group_uuid}")
}

pub fn group_pk(owner_uuid: &str) -> String {
    format!("GRP#{owner_uuid}")
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

pub fn message_item(
    group_uuid: &str,
    message_uuid: &str,
    created_at: &str,
    text: &str,
    sender: &Person,
) -> Item {
    HashMap::from([
        ("pk".to_string(), s(&message_pk(group_uuid))),
        ("sk".to_string(), s(created_at)),
        ("message_uuid".to_string(), s(message_uuid)),
        ("message".to_string(), s(text)),
        ("user_uuid".to_string(), s(&sender.uuid)),
        ("user_display_name".to_string(), s(&sender.display_name)),
        ("user_handle".to_string(), s(&sender.handle)),
    ])
}

/// The group item `owner` sees: it names the other member and the last message.
pub fn group_item(
    owner: &Person,
    other: &Person,
    group_uuid: &str,
    last_at: &str,
    last_text: &str,
) -> Item {
    HashMap::from([
        ("pk".to_string(), s(&group_pk(&owner.uuid))),
        ("sk".to_string(), s(last_at)),
        ("message_group_uuid".to_string(), s(group_uuid)),
        ("message".to_string(), s(last_text)),
        ("user_uuid".to_string(), s(&other.uuid)),
        ("user_display_name".to_string(), s(&other.display_name)),
        ("user_handle".to_string(), s(&other.handle)),
    ])
}

/// The `pk`/`sk` of an item, for deletes and messages.
pub fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == "pk" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// `pk / sk`, for messages that list keys.
pub fn describe_key(item: &Item) -> String {
    format!(
        "{} / {}",
        crate::output::cut(text(item, "pk").unwrap_or("?"), 80),
        crate::output::cut(text(item, "sk").unwrap_or("?"), 80)
    )
}

pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The time format of every `sk`.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, false)
}

pub fn parse_time(text: &str, flag: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            anyhow!(
                "{flag} `{text}` is not an RFC 3339 time ({e}); write e.g. 2026-11-24T09:30:00Z"
            )
        })
}

/// An item as plain JSON: `pk` and `sk` first, then the other attributes by name;
/// DynamoDB's limits on one item: 400 KB in all (names and values), a partition key of at
/// most 2048 bytes and a sort key of at most 1024.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

/// An item's size as DynamoDB counts it: every attribute's name and value, in bytes.
pub fn item_size(item: &Item) -> usize {
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
pub fn check_limits(item: &Item) -> std::result::Result<(), String> {
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
                    crate::output::cut(&describe_key(item), 80)
                ));
            }
            if size == 0 {
                return Err(format!("an item has an empty {key}"));
            }
        }
    }
    Ok(())
}

/// numbers as numbers, sets and lists as arrays, maps as objects.
pub fn to_json(item: &Item) -> Map<String, Value> {
    convert(item, value_to_json)
}

/// The item's attributes, `pk` and `sk` first, then by name, each converted.
fn convert(item: &Item, value: fn(&AttributeValue) -> Value) -> Map<String, Value> {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort_by_key(|name| (name.as_str() != "pk", name.as_str() != "sk", name.as_str()));
    names
        .into_iter()
        .map(|name| (name.clone(), value(&item[name])))
        .collect()
}

fn value_to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(number) => number_to_json(number),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        AttributeValue::L(list) => Value::Array(list.iter().map(value_to_json).collect()),
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(set) => Value::Array(set.iter().map(|n| number_to_json(n)).collect()),
        AttributeValue::B(blob) => Value::String(base64(blob.as_ref())),
        AttributeValue::Bs(set) => Value::Array(
            set.iter()
                .map(|b| Value::String(base64(b.as_ref())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// DynamoDB numbers are decimal strings of up to 38 digits: a JSON number when it holds
/// them exactly (integers that fit 64 bits, decimals of up to 15 digits), else the string.
fn number_to_json(number: &str) -> Value {
    if let Ok(int) = number.parse::<i64>() {
        return Value::Number(int.into());
    }
    let digits = number.chars().filter(char::is_ascii_digit).count();
    match number.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(float) if digits <= 15 => Value::Number(float),
        _ => Value::String(number.to_string()),
    }
}

/// Standard base64 with padding, as DynamoDB JSON shows binary values.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An item as DynamoDB's own typed JSON (`{"pk": {"S": "…"}}`), as the AWS CLI prints it.
pub fn to_typed_json(item: &Item) -> Map<String, Value> {
    convert(item, typed)
}

fn typed(value: &AttributeValue) -> Value {
    let (tag, inner) = match value {
        AttributeValue::S(text) => ("S", Value::String(text.clone())),
        AttributeValue::N(number) => ("N", Value::String(number.clone())),
        AttributeValue::Bool(flag) => ("BOOL", Value::Bool(*flag)),
        AttributeValue::Null(_) => ("NULL", Value::Bool(true)),
        AttributeValue::M(map) => (
            "M",
            Value::Object(map.iter().map(|(k, v)| (k.clone(), typed(v))).collect()),
        ),
        AttributeValue::L(list) => ("L", Value::Array(list.iter().map(typed).collect())),
        AttributeValue::Ss(set) => (
            "SS",
            Value::Array(set.iter().cloned().map(Value::String).collect()),
        ),
        AttributeValue::Ns(set) => (
            "NS",
            Value::Array(set.iter().cloned().map(Value::String).collect()),
        ),
        AttributeValue::B(blob) => ("B", Value::String(base64(blob.as_ref()))),
        AttributeValue::Bs(set) => (
            "BS",
            Value::Array(
                set.iter()
                    .map(|b| Value::String(base64(b.as_ref())))
                    .collect(),
            ),
        ),
        _ => ("NULL", Value::Bool(true)),
    };
    Value::Object(Map::from_iter([(tag.to_string(), inner)]))
}

/// An item from one line of an export: plain JSON (strings, numbers, booleans, null, lists,
/// maps) or, with `typed`, DynamoDB JSON. It must carry the table's keys, `pk` and `sk`.
pub fn from_json_line(line: &str, typed: bool) -> std::result::Result<Item, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let mut item = Item::with_capacity(map.len());
    for (name, value) in map {
        let attribute = if typed {
            untyped(&value)
        } else {
            Ok(plain(&value))
        }
        .map_err(|why| format!("attribute `{name}`: {why}"))?;
        item.insert(name, attribute);
    }
    for key in ["pk", "sk"] {
        if !matches!(item.get(key), Some(AttributeValue::S(_))) {
            return Err(format!(
                "no string `{key}`: every item of the table has `pk` and `sk`"
            ));
        }
    }
    Ok(item)
}

fn plain(value: &Value) -> AttributeValue {
    match value {
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Null => AttributeValue::Null(true),
        Value::Array(list) => AttributeValue::L(list.iter().map(plain).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
    }
}

fn untyped(value: &Value) -> std::result::Result<AttributeValue, String> {
    let Some((tag, inner)) = value
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next())
    else {
        return Err("expected one type tag, like {\"S\": \"…\"}".into());
    };
    let strings = |v: &Value| -> std::result::Result<Vec<String>, String> {
        v.as_array()
            .ok_or("expected a list")?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(String::from)
                    .ok_or_else(|| "expected strings".to_string())
            })
            .collect()
    };
    Ok(match (tag.as_str(), inner) {
        ("S", Value::String(text)) => AttributeValue::S(text.clone()),
        ("N", Value::String(number)) => AttributeValue::N(number.clone()),
        ("BOOL", Value::Bool(flag)) => AttributeValue::Bool(*flag),
        ("NULL", Value::Bool(_)) => AttributeValue::Null(true),
        ("M", Value::Object(map)) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), untyped(v)?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        ("L", Value::Array(list)) => AttributeValue::L(
            list.iter()
                .map(untyped)
                .collect::<std::result::Result<_, _>>()?,
        ),
        ("SS", list) => AttributeValue::Ss(strings(list)?),
        ("NS", list) => AttributeValue::Ns(strings(list)?),
        (tag, _) => return Err(format!("unsupported or malformed type `{tag}`")),
    })
}

/// A message or group item as the app's backend returns it.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub uuid: String,
    pub display_name: String,
    pub handle: String,
    pub message: String,
    pub created_at: String,
}

impl Entry {
    /// `uuid_attribute` is `message_uuid` for messages, `message_group_uuid` for groups.
    pub fn from_item(item: &Item, uuid_attribute: &str) -> Entry {
        let get = |name: &str| text(item, name).unwrap_or_default().to_string();
        Entry {
            uuid: get(uuid_attribute),
            display_name: get("user_display_name"),
            handle: get("user_handle"),
            message: get("message"),
            created_at: get("sk"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tim() -> Person {
        Person {
            uuid: "u-tim".into(),
            handle: "tim".into(),
            display_name: "Tim".into(),
        }
    }

    #[test]
    fn timestamps_have_microseconds_and_an_offset() {
        let time = Utc.with_ymd_and_hms(2023, 3, 26, 14, 5, 9).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(timestamp(time), "2023-03-26T14:05:09.123456+00:00");
        let round = parse_time("2023-03-26T16:05:09.123456+02:00", "--now").unwrap();
        assert_eq!(timestamp(round), "2023-03-26T14:05:09.123456+00:00");
        assert!(parse_time("yesterday", "--now")
            .unwrap_err()
            .to_string()
            .contains("--now"));
    }

    #[test]
    fn items_have_the_apps_keys() {
        let other = Person {
            uuid: "u-other".into(),
            handle: "other".into(),
            display_name: "Other".into(),
        };
        let message = message_item("g1", "m1", "2023-01-01T00:00:00.000000+00:00", "hi", &tim());
        assert_eq!(text(&message, "pk"), Some("MSG#g1"));
        assert_eq!(text(&message, "user_handle"), Some("tim"));
        assert_eq!(message.len(), 7);
        let group = group_item(
            &tim(),
            &other,
            "g1",
            "2023-01-01T00:00:00.000000+00:00",
            "hi",
        );
        assert_eq!(text(&group, "pk"), Some("GRP#u-tim"));
        assert_eq!(text(&group, "user_uuid"), Some("u-other"));
        assert_eq!(text(&group, "message_group_uuid"), Some("g1"));
        assert_eq!(key_of(&group).len(), 2);
        assert_eq!(
            describe_key(&group),
            "GRP#u-tim / 2023-01-01T00:00:00.000000+00:00"
        );
    }

    #[test]
    fn export_lines_round_trip() {
        let line =
            r#"{"pk":"a","sk":"b","n":42,"f":0.5,"l":[1,"x",true,null],"m":{"k":{"deep":[2]}}}"#;
        let item = from_json_line(line, false).unwrap();
        assert_eq!(
            serde_json::Value::Object(to_json(&item)),
            serde_json::from_str::<serde_json::Value>(line).unwrap()
        );
        let typed = serde_json::Value::Object(to_typed_json(&item)).to_string();
        assert_eq!(from_json_line(&typed, true).unwrap(), item);
        assert!(from_json_line(r#"{"sk":"b"}"#, false)
            .unwrap_err()
            .contains("pk"));
        assert!(from_json_line("[1]", false).unwrap_err().contains("object"));
        assert!(from_json_line("{oops", false)
            .unwrap_err()
            .contains("not JSON"));
        assert!(from_json_line(r#"{"pk":{"S":"a"},"sk":{"Q":"b"}}"#, true)
            .unwrap_err()
            .contains("`sk`"));
    }

    #[test]
    fn plain_json_of_every_kind() {
        let item: Item = HashMap::from([
            ("sk".to_string(), s("b")),
            ("pk".to_string(), s("a")),
            ("count".to_string(), AttributeValue::N("42".into())),
            ("ratio".to_string(), AttributeValue::N("0.5".into())),
            (
                "huge".to_string(),
                AttributeValue::N("123456789012345678901234567890".into()),
            ),
            ("flag".to_string(), AttributeValue::Bool(true)),
            ("tags".to_string(), AttributeValue::Ss(vec!["x".into()])),
            (
                "blob".to_string(),
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(b"hi!?".to_vec())),
            ),
        ]);
        let json = to_json(&item);
        assert_eq!(json.keys().take(2).collect::<Vec<_>>(), ["pk", "sk"]);
        assert_eq!(json["count"], serde_json::json!(42));
        assert_eq!(json["ratio"], serde_json::json!(0.5));
        assert_eq!(
            json["huge"],
            serde_json::json!("123456789012345678901234567890")
        );
        assert_eq!(json["flag"], serde_json::json!(true));
        assert_eq!(json["tags"], serde_json::json!(["x"]));
        assert_eq!(json["blob"], serde_json::json!("aGkhPw=="));
    }
}
