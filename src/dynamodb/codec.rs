//! Items as JSON, both ways: plain JSON (what `scan` and `export` print by default, what
//! people read and `jq` filters) and DynamoDB's typed JSON (`{"pk": {"S": "…"}}`, as the AWS
//! CLI prints it). Typed JSON round-trips every attribute type; plain JSON cannot tell a
//! binary value from its base64 text, a set from a list, or a number from a numeric string
//! that does not fit a JSON number, so it reads those back as strings and lists.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::items::Item;

/// An item as plain JSON: `pk` and `sk` first, then the other attributes by name;
/// numbers as numbers, sets and lists as arrays, maps as objects.
pub(crate) fn to_json(item: &Item) -> Map<String, Value> {
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

/// A write request as the DynamoDB wire protocol has it (`{"PutRequest": {"Item": {…}}}`),
/// serialized by serde_json straight from the SDK's types: the bulk writer builds its
/// BatchWriteItem bodies with it instead of the SDK's serializer, which was most of the write
/// path's CPU (its string escaping, char by char).
pub(crate) struct WireRequest<'a>(pub(crate) &'a WriteRequest);

struct Wrapped<'a>(&'static str, &'a Item);
struct Attributes<'a>(&'a Item);
/// One attribute value in DynamoDB's typed JSON (`{"S": "…"}`): the one place that spells it,
/// for request bodies and for typed export lines alike.
struct Wire<'a>(&'a AttributeValue);
struct Blobs<'a>(&'a [Blob]);

impl Serialize for WireRequest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match (self.0.put_request(), self.0.delete_request()) {
            (Some(put), _) => map.serialize_entry("PutRequest", &Wrapped("Item", put.item()))?,
            (None, Some(delete)) => {
                map.serialize_entry("DeleteRequest", &Wrapped("Key", delete.key()))?
            }
            (None, None) => {
                return Err(serde::ser::Error::custom("a write request with no request"))
            }
        }
        map.end()
    }
}

impl Serialize for Wrapped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &Attributes(self.1))?;
        map.end()
    }
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name, Wire(value))))
    }
}

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self.0 {
            AttributeValue::S(text) => map.serialize_entry("S", text)?,
            AttributeValue::N(number) => map.serialize_entry("N", number)?,
            AttributeValue::Bool(flag) => map.serialize_entry("BOOL", flag)?,
            // DynamoDB takes only `"NULL": true`.
            AttributeValue::Null(_) => map.serialize_entry("NULL", &true)?,
            AttributeValue::B(blob) => map.serialize_entry("B", &base64(blob.as_ref()))?,
            AttributeValue::M(inner) => map.serialize_entry("M", &Attributes(inner))?,
            AttributeValue::L(list) => {
                map.serialize_entry("L", &list.iter().map(Wire).collect::<Vec<_>>())?
            }
            AttributeValue::Ss(set) => map.serialize_entry("SS", set)?,
            AttributeValue::Ns(set) => map.serialize_entry("NS", set)?,
            AttributeValue::Bs(set) => map.serialize_entry("BS", &Blobs(set))?,
            _ => {
                return Err(serde::ser::Error::custom(
                    "an attribute type this version of cruddur does not know",
                ))
            }
        }
        map.end()
    }
}

impl Serialize for Blobs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|b| base64(b.as_ref())))
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

/// Standard base64 (padding optional) back to bytes; an error names the first bad character.
fn unbase64(text: &str) -> std::result::Result<Vec<u8>, String> {
    let digits = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for (at, c) in digits.char_indices() {
        let value = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' => 62,
            '/' => 63,
            _ => {
                return Err(format!(
                    "not base64: `{}` at character {}",
                    c.escape_debug(),
                    at + 1
                ))
            }
        };
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    if digits.len() % 4 == 1 {
        return Err("not base64: its length is not possible".into());
    }
    Ok(out)
}

/// An item as DynamoDB's own typed JSON (`{"pk": {"S": "…"}}`), as the AWS CLI prints it.
pub(crate) fn to_typed_json(item: &Item) -> Map<String, Value> {
    convert(item, typed)
}

/// An item as a line of DynamoDB's S3 export (`{"Item": {…typed…}}`): what ImportTable reads.
pub(crate) fn to_export_line(item: &Item) -> Map<String, Value> {
    let mut line = Map::with_capacity(1);
    line.insert("Item".into(), Value::Object(to_typed_json(item)));
    line
}

fn typed(value: &AttributeValue) -> Value {
    // A type this version does not know is shown as NULL, as before.
    serde_json::to_value(Wire(value))
        .unwrap_or_else(|_| Value::Object(Map::from_iter([("NULL".into(), Value::Bool(true))])))
}

/// A statement's parameter as the command line gave it, typed as JSON would read it: a number
/// (its digits kept as written), `true`/`false`, `null`; anything else is the string as given.
pub(crate) fn parameter_as_it_looks(text: &str) -> AttributeValue {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Number(_)) if text.trim() == text => AttributeValue::N(text.to_string()),
        Ok(Value::Bool(flag)) if text.trim() == text => AttributeValue::Bool(flag),
        Ok(Value::Null) if text.trim() == text => AttributeValue::Null(true),
        _ => AttributeValue::S(text.to_string()),
    }
}

/// A statement's parameter given as a JSON value, converted as plain JSON is (objects are
/// maps, arrays lists); numbers keep their digits as written.
pub(crate) fn parameter_from_json(text: &str) -> std::result::Result<AttributeValue, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut written = number_literals(text).into_iter();
    Ok(exact(&value, &mut written))
}

/// The number literals of a JSON text as written, in order (strings skipped).
fn number_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '-' | '0'..='9' => {
                let mut number = c.to_string();
                while let Some(c) = chars
                    .next_if(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    number.push(c);
                }
                out.push(number);
            }
            _ => {}
        }
    }
    out
}

/// As [`plain`], with each number's digits as written: `written` gives the literals in the
/// order a walk of the value meets them (objects keep their order: `preserve_order`).
fn exact(value: &Value, written: &mut impl Iterator<Item = String>) -> AttributeValue {
    match value {
        Value::Number(number) => {
            AttributeValue::N(written.next().unwrap_or_else(|| number.to_string()))
        }
        Value::Array(list) => AttributeValue::L(list.iter().map(|v| exact(v, written)).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), exact(v, written)))
                .collect(),
        ),
        other => plain(other),
    }
}

/// One value as DynamoDB's typed JSON (`{"S": "…"}`), on one line.
pub(crate) fn typed_text(value: &AttributeValue) -> String {
    typed(value).to_string()
}

/// An item from one line of an export: plain JSON (strings, numbers, booleans, null, lists,
/// maps) or, with `typed`, DynamoDB JSON. It must carry the table's keys, `pk` and `sk`.
pub(crate) fn from_json_line(line: &str, typed: bool) -> std::result::Result<Item, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("not a JSON object".into());
    };
    // DynamoDB's S3 export line, `{"Item": {…typed…}}`: always typed. (An item of the table
    // has `pk` and `sk`, so it is never an object of `Item` alone.)
    let typed = match map.remove("Item") {
        Some(Value::Object(item)) if map.is_empty() => {
            map = item;
            true
        }
        Some(other) => {
            map.insert("Item".into(), other);
            typed
        }
        None => typed,
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
        ("B", Value::String(text)) => AttributeValue::B(Blob::new(unbase64(text)?)),
        ("BS", list) => AttributeValue::Bs(
            strings(list)?
                .iter()
                .map(|text| unbase64(text).map(Blob::new))
                .collect::<std::result::Result<_, _>>()?,
        ),
        (tag, _) => return Err(format!("unsupported or malformed type `{tag}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_parameters_keep_their_types_and_digits() {
        let n = |t: &str| AttributeValue::N(t.into());
        assert_eq!(parameter_as_it_looks("42"), n("42"));
        assert_eq!(
            parameter_as_it_looks("12345678901234567890123"),
            n("12345678901234567890123")
        );
        assert_eq!(
            parameter_as_it_looks("007"),
            AttributeValue::S("007".into())
        );
        assert_eq!(
            parameter_as_it_looks(" 42"),
            AttributeValue::S(" 42".into())
        );
        assert_eq!(parameter_as_it_looks("true"), AttributeValue::Bool(true));
        assert_eq!(parameter_as_it_looks("null"), AttributeValue::Null(true));
        assert_eq!(
            parameter_from_json("\"007\"").unwrap(),
            AttributeValue::S("007".into())
        );
        assert_eq!(
            parameter_from_json("12345678901234567890123").unwrap(),
            n("12345678901234567890123")
        );
        assert_eq!(
            parameter_from_json(r#"{"a": "x-1e5", "b": [1.50, -2e300]}"#).unwrap(),
            AttributeValue::M(
                [
                    ("a".to_string(), AttributeValue::S("x-1e5".into())),
                    (
                        "b".to_string(),
                        AttributeValue::L(vec![n("1.50"), n("-2e300")])
                    ),
                ]
                .into()
            )
        );
    }
    use std::collections::HashMap;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_string())
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

    #[test]
    fn typed_json_round_trips_every_type() {
        let blob = |bytes: &[u8]| Blob::new(bytes.to_vec());
        let item: Item = HashMap::from([
            ("pk".to_string(), s("a")),
            ("sk".to_string(), s("b")),
            ("n".to_string(), AttributeValue::N("-1.5e3".into())),
            (
                "big".to_string(),
                AttributeValue::N("123456789012345678901234567890".into()),
            ),
            ("yes".to_string(), AttributeValue::Bool(false)),
            ("none".to_string(), AttributeValue::Null(true)),
            (
                "ss".to_string(),
                AttributeValue::Ss(vec!["x".into(), "y".into()]),
            ),
            (
                "ns".to_string(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            (
                "b".to_string(),
                AttributeValue::B(blob(&[0, 255, 1, 254, 128])),
            ),
            ("empty_b".to_string(), AttributeValue::B(blob(b""))),
            (
                "bs".to_string(),
                AttributeValue::Bs(vec![blob(b"a"), blob(b"ab"), blob(b"abc")]),
            ),
            (
                "l".to_string(),
                AttributeValue::L(vec![s("x"), AttributeValue::B(blob(b"\x1b[31m"))]),
            ),
            (
                "m".to_string(),
                AttributeValue::M(HashMap::from([(
                    "deep".to_string(),
                    AttributeValue::Bs(vec![blob(&[7; 100])]),
                )])),
            ),
        ]);
        let line = Value::Object(to_typed_json(&item)).to_string();
        assert_eq!(from_json_line(&line, true).unwrap(), item);
    }

    #[test]
    fn base64_both_ways() {
        for bytes in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 62, 63],
        ] {
            assert_eq!(unbase64(&base64(bytes)).unwrap(), bytes);
        }
        assert_eq!(base64(b"hi!?"), "aGkhPw==");
        assert_eq!(unbase64("aGkhPw").unwrap(), b"hi!?");
        assert!(unbase64("aGk*").unwrap_err().contains("`*` at character 4"));
        assert!(unbase64("aGkhP").unwrap_err().contains("length"));
        let bad = r#"{"pk":{"S":"a"},"sk":{"S":"b"},"b":{"B":"%%"}}"#;
        assert!(from_json_line(bad, true)
            .unwrap_err()
            .contains("attribute `b`: not base64"));
    }
}
