//! The items of the messages table, exactly as the app writes and reads them (their JSON
//! forms are in `codec`, DynamoDB's limits on them in `limits`).
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

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) use crate::users::Person;

pub(crate) fn message_pk(group_uuid: &str) -> String {
    format!("MSG#{group_uuid}")
}

pub(crate) fn group_pk(owner_uuid: &str) -> String {
    format!("GRP#{owner_uuid}")
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

pub(crate) fn message_item(
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

/// A conversation's messages as [`message_item`] makes them, written straight as their wire
/// JSON (DynamoDB's typed JSON, what a BatchWriteItem body carries): the seed's messages take
/// this path. What all messages of the conversation share (the key's prefix, each sender's
/// attributes) is escaped once; a message adds its time, its id and its text.
pub(crate) struct MessageJson {
    /// `{"pk":{"S":"MSG#…"}`.
    head: String,
    /// Per sender, the first person's then the other's:
    /// `,"user_uuid":…,"user_display_name":…,"user_handle":…}`.
    senders: [String; 2],
}

impl MessageJson {
    pub(crate) fn new(group_uuid: &str, senders: [&Person; 2]) -> MessageJson {
        let mut head = String::from("{\"pk\":{\"S\":");
        push_json_string(&mut head, &message_pk(group_uuid));
        head.push('}');
        let senders = senders.map(|sender| {
            let mut tail = String::new();
            for (name, value) in [
                ("user_uuid", &sender.uuid),
                ("user_display_name", &sender.display_name),
                ("user_handle", &sender.handle),
            ] {
                push_attribute(&mut tail, name, value);
            }
            tail.push('}');
            tail
        });
        MessageJson { head, senders }
    }

    /// The message at `created_at`, from the first person given to [`MessageJson::new`], or
    /// from the other one when `from_other`.
    pub(crate) fn render(
        &self,
        created_at: DateTime<Utc>,
        message_uuid: &str,
        text: &str,
        from_other: bool,
    ) -> String {
        let tail = &self.senders[usize::from(from_other)];
        let mut json = String::with_capacity(self.head.len() + tail.len() + 140 + text.len());
        json.push_str(&self.head);
        json.push_str(",\"sk\":{\"S\":\"");
        push_timestamp(&mut json, created_at);
        json.push_str("\"}");
        push_attribute(&mut json, "message_uuid", message_uuid);
        push_attribute(&mut json, "message", text);
        json.push_str(tail);
        json
    }
}

/// `,"name":{"S":"value"}`, the value escaped.
fn push_attribute(out: &mut String, name: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":{\"S\":");
    push_json_string(out, value);
    out.push('}');
}

/// `value` as a JSON string: quoted, with `"`, `\` and control characters escaped; the rest
/// (non-ASCII too) as it is. Runs of plain text are copied whole.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    let mut plain = 0;
    for (at, byte) in value.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[plain..at]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escaped);
        }
        plain = at + 1;
    }
    out.push_str(&value[plain..]);
    out.push('"');
}

/// The group item `owner` sees: it names the other member and the last message.
pub(crate) fn group_item(
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
pub(crate) fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == "pk" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// `pk / sk`, for messages that list keys.
pub(crate) fn describe_key(item: &Item) -> String {
    describe_parts(
        text(item, "pk").unwrap_or("?"),
        text(item, "sk").unwrap_or("?"),
    )
}

/// `pk / sk` from the two values, each cut at 80 characters.
pub(crate) fn describe_parts(pk: &str, sk: &str) -> String {
    format!(
        "{} / {}",
        crate::text::cut(pk, 80),
        crate::text::cut(sk, 80)
    )
}

pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The time format of every `sk`.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(32);
    push_timestamp(&mut out, time);
    out
}

/// [`timestamp`] written onto `out`: `2023-03-26T14:05:09.123456+00:00`, digit by digit (a
/// seed writes one per message). A year beyond four digits, or a leap second, is left to chrono.
fn push_timestamp(out: &mut String, time: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&time.year()) || nanos >= 1_000_000_000 {
        out.push_str(&time.to_rfc3339_opts(SecondsFormat::Micros, false));
        return;
    }
    let mut digits = |value: u32, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.push(after);
    };
    digits(time.year() as u32, 4, '-');
    digits(time.month(), 2, '-');
    digits(time.day(), 2, 'T');
    digits(time.hour(), 2, ':');
    digits(time.minute(), 2, ':');
    digits(time.second(), 2, '.');
    digits(nanos / 1000, 6, '+');
    out.push_str("00:00");
}

pub(crate) fn parse_time(text: &str, flag: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            anyhow!(
                "{flag} `{text}` is not an RFC 3339 time ({e}); write e.g. 2026-11-24T09:30:00Z"
            )
        })
}

/// A message or group item as the app's backend returns it.
#[derive(Debug, Serialize)]
pub(crate) struct Entry {
    pub uuid: String,
    pub display_name: String,
    pub handle: String,
    pub message: String,
    pub created_at: String,
}

impl Entry {
    /// `uuid_attribute` is `message_uuid` for messages, `message_group_uuid` for groups.
    pub(crate) fn from_item(item: &Item, uuid_attribute: &str) -> Entry {
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

    #[test]
    fn a_message_as_wire_json_is_the_message_item() {
        let sender = Person {
            uuid: "u-1".into(),
            display_name: "Tim \"the\" Suárez\\".into(),
            handle: "tim".into(),
        };
        let text = "line\none\ttab \u{1b}[2J % 'q' é 中 \u{7f}";
        let other = Person {
            uuid: "u-2".into(),
            display_name: "Other".into(),
            handle: "other".into(),
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00.000000+00:00")
            .unwrap()
            .with_timezone(&Utc);
        let json = MessageJson::new("g-1", [&other, &sender]).render(at, "m-1", text, true);
        let parsed = crate::dynamodb::codec::from_json_line(&json, true).unwrap();
        assert_eq!(
            parsed,
            message_item(
                "g-1",
                "m-1",
                "2026-01-01T00:00:00.000000+00:00",
                text,
                &sender
            )
        );
    }
    use chrono::TimeZone;

    /// The timestamp written digit by digit is chrono's, whatever the time.
    #[test]
    fn timestamps_are_chronos_rfc3339_with_microseconds() {
        let mut times = vec![
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1, 2, 3, 4, 5, 6).unwrap(),
        ];
        let mut at = Utc.with_ymd_and_hms(2023, 3, 26, 14, 5, 9).unwrap();
        for step in 0..2000i64 {
            at += chrono::Duration::nanoseconds(step * 987_654_321_123 + 1_234);
            times.push(at);
        }
        for time in times {
            assert_eq!(
                timestamp(time),
                time.to_rfc3339_opts(SecondsFormat::Micros, false)
            );
        }
    }

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
}
