//! Text helpers with no I/O: what every layer uses to shape words for people — a string cut
//! to a width, control characters made visible, a duration as the flags take it.

/// A duration as the flags take it: `500ms`, `5s`, `1.5s`, `2m`.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms < 1000 => format!("{ms}ms"),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{:.1}s", d.as_secs_f64()),
    }
}

/// The first `max` characters, with `…` when there were more.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Text as it may reach a terminal: control characters (escape sequences, carriage returns,
/// bells, C1 codes) shown as visible escapes such as `\x1b`; newlines and tabs kept. Data from
/// a store must never recolour or retitle the operator's terminal. JSON output keeps data exact.
pub(crate) fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if bad(c) => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A checksum as a person compares it: its kind (`sha256:`) and its first 12 digits.
pub(crate) fn checksum(sum: &str) -> String {
    match sum.split_once(':') {
        Some((kind, hex)) => format!("{kind}:{}", hex.get(..12).unwrap_or(hex)),
        None => sum.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            visible("\u{1b}]0;pwned\u{7}red\u{1b}[31m\r"),
            "\\x1b]0;pwned\\x07red\\x1b[31m\\r"
        );
        assert_eq!(visible("\u{9b}31m"), "\\x9b31m");
    }

    #[test]
    fn durations_read_as_the_flags_take_them() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_millis(500)), "500ms");
        assert_eq!(duration(Duration::from_secs(5)), "5s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("short", 40), "short");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("ééé", 2), "éé…");
    }
}
