//! Rows in COPY's text format: one row a line, fields split by tabs, `\N` for NULL, and
//! backslash escapes for the tab, newline, carriage return and backslash inside a value. What
//! `pull` reads from production with `COPY (…) TO STDOUT` and writes locally with
//! `COPY … FROM STDIN`, changing only the fields it masks; every other field passes through
//! as the bytes the server sent.

use anyhow::{anyhow, Result};
use std::io::Read;

/// A field of a row: NULL, or its value (escapes undone).
pub(crate) fn decode(field: &[u8]) -> Option<String> {
    if field == b"\\N" {
        return None;
    }
    if !field.contains(&b'\\') {
        return Some(String::from_utf8_lossy(field).into_owned());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        match bytes.next() {
            Some(b'b') => out.push(8),
            Some(b'f') => out.push(12),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'v') => out.push(11),
            Some(digit @ b'0'..=b'7') => {
                // Up to three octal digits.
                let mut value = u32::from(digit - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            Some(b'x') => {
                let mut value = 0u32;
                for _ in 0..2 {
                    match bytes.peek().and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            bytes.next();
                        }
                        None => break,
                    }
                }
                out.push(value as u8);
            }
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A value as a field: its backslashes, tabs, newlines and carriage returns escaped.
pub(crate) fn encode(value: Option<&str>, out: &mut Vec<u8>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

/// Rewrite every row of `data`: `change` gets the row's raw fields and says, for the fields
/// it changes, their new values (by index). How many rows there were.
pub(crate) fn rewrite(
    data: &[u8],
    columns: usize,
    mut change: impl FnMut(&[&[u8]]) -> Vec<(usize, Option<String>)>,
    out: &mut Vec<u8>,
) -> Result<usize> {
    let mut rows = 0;
    let mut fields: Vec<&[u8]> = Vec::with_capacity(columns);
    for line in lines(data) {
        fields.clear();
        fields.extend(line.split(|b| *b == b'\t'));
        if fields.len() != columns {
            return Err(anyhow!(
                "row {} of the COPY has {} fields where {columns} columns were asked for",
                rows + 1,
                fields.len()
            ));
        }
        let changed = change(&fields);
        for (at, field) in fields.iter().enumerate() {
            if at > 0 {
                out.push(b'\t');
            }
            match changed.iter().find(|(index, _)| *index == at) {
                Some((_, value)) => encode(value.as_deref(), out),
                None => out.extend_from_slice(field),
            }
        }
        out.push(b'\n');
        rows += 1;
    }
    Ok(rows)
}

/// The rows of `data`: every line ended by a newline. An empty line is a row too (one text
/// column holding `''`); only what follows the last newline is not.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let empty = data.is_empty();
    body.split(|b| *b == b'\n').filter(move |_| !empty)
}

/// An array literal as Postgres writes it (`{kim,"a b",NULL}`, nested for more dimensions,
/// maybe after its bounds `[0:1]=`) with every element that is not NULL replaced by `change`;
/// None when it is not such a literal.
pub(crate) fn map_array(literal: &str, mut change: impl FnMut(&str) -> String) -> Option<String> {
    let mut out = String::with_capacity(literal.len());
    let mut chars = literal.chars().peekable();
    if literal.starts_with('[') {
        for c in chars.by_ref() {
            out.push(c);
            if c == '=' {
                break;
            }
        }
    }
    let push = |out: &mut String, value: &str| {
        out.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    };
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                depth += 1;
                out.push(c);
            }
            '}' => {
                depth = depth.checked_sub(1)?;
                out.push(c);
            }
            ',' => out.push(c),
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next()? {
                        '\\' => value.push(chars.next()?),
                        '"' => break,
                        c => value.push(c),
                    }
                }
                push(&mut out, &change(&value));
            }
            _ if depth == 0 => return None,
            c => {
                let mut value = c.to_string();
                while let Some(c) = chars.next_if(|c| *c != ',' && *c != '}') {
                    value.push(c);
                }
                if value.eq_ignore_ascii_case("NULL") {
                    out.push_str("NULL");
                } else {
                    push(&mut out, &change(value.trim()));
                }
            }
        }
    }
    (depth == 0).then_some(out)
}

/// Everything `COPY (query) TO STDOUT` sends, on `tx`.
pub(crate) fn copy_out(tx: &mut postgres::Transaction<'_>, query: &str) -> Result<Vec<u8>> {
    let mut reader = tx.copy_out(&format!("COPY ({query}) TO STDOUT"))?;
    let mut data = Vec::new();
    reader.read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_the_text_format() {
        for value in [
            "plain",
            "tab\there",
            "new\nline",
            "back\\slash",
            "cr\r",
            "",
            "ça 100%",
        ] {
            let mut field = Vec::new();
            encode(Some(value), &mut field);
            assert!(!field.contains(&b'\t') && !field.contains(&b'\n'));
            assert_eq!(decode(&field).as_deref(), Some(value));
        }
        let mut null = Vec::new();
        encode(None, &mut null);
        assert_eq!(null, b"\\N");
        assert_eq!(decode(b"\\N"), None);
        assert_eq!(decode(b"a\\101\\x42").as_deref(), Some("aAB"));
    }

    #[test]
    fn a_rewrite_changes_only_the_fields_asked_for() {
        let data = b"1\tkim\\tmoreau\t\\N\n2\tlondo\tx\n";
        let mut out = Vec::new();
        let rows = rewrite(
            data,
            3,
            |fields| vec![(1, decode(fields[1]).map(|v| v.to_uppercase()))],
            &mut out,
        )
        .unwrap();
        assert_eq!(rows, 2);
        assert_eq!(out, b"1\tKIM\\tMOREAU\t\\N\n2\tLONDO\tx\n");
        assert!(rewrite(b"1\t2\n", 3, |_| Vec::new(), &mut Vec::new()).is_err());
        // A one-column row holding '' is an empty line, and still a row.
        let mut out = Vec::new();
        assert_eq!(
            rewrite(b"a\n\nb\n", 1, |_| Vec::new(), &mut out).unwrap(),
            3
        );
        assert_eq!(out, b"a\n\nb\n");
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn array_elements_are_replaced_and_nulls_kept() {
        let upper = |v: &str| v.to_uppercase();
        assert_eq!(
            map_array("{a,\"b c\",NULL}", upper).unwrap(),
            "{\"A\",\"B C\",NULL}"
        );
        assert_eq!(
            map_array("{{a,b},{c,d}}", upper).unwrap(),
            "{{\"A\",\"B\"},{\"C\",\"D\"}}"
        );
        assert_eq!(
            map_array("[0:1]={x,y}", upper).unwrap(),
            "[0:1]={\"X\",\"Y\"}"
        );
        assert_eq!(
            map_array("{\"q\\\"x\"}", |v| v.to_string()).unwrap(),
            "{\"q\\\"x\"}"
        );
        assert_eq!(map_array("{}", upper).unwrap(), "{}");
        assert_eq!(map_array("not an array", upper), None);
        assert_eq!(map_array("{a,\"b", upper), None);
    }
}
