//! Whole outputs with what truly varies marked: an expected text is compared whole, except
//! where it holds a marker, which stands for one varying value on its line.
//!
//! | marker | stands for |
//! |---|---|
//! | `⟪n⟫` | a number: digits, maybe a fraction (a count of ms, a port, a size) |
//! | `⟪uuid⟫` | a uuid |
//! | `⟪time⟫` | an ISO 8601 time (`2026-12-07T08:00:00.123Z`, `+00:00`) |
//! | `⟪…⟫` | anything within the line, maybe nothing (a path in a library's words) |
//!
//! Markers are for what differs from run to run, never for what the test could know: a
//! database or table name, a folder the test made, an endpoint it started are written in.

/// One piece of an expected text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Number,
    Uuid,
    Time,
    Any,
}

const MARKERS: [(&str, Piece<'static>); 4] = [
    ("⟪n⟫", Piece::Number),
    ("⟪uuid⟫", Piece::Uuid),
    ("⟪time⟫", Piece::Time),
    ("⟪…⟫", Piece::Any),
];

fn pieces(expected: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = expected;
    while !rest.is_empty() {
        let next = MARKERS
            .iter()
            .filter_map(|(mark, piece)| rest.find(mark).map(|at| (at, *mark, *piece)))
            .min_by_key(|(at, ..)| *at);
        match next {
            Some((at, mark, piece)) => {
                if at > 0 {
                    out.push(Piece::Text(&rest[..at]));
                }
                out.push(piece);
                rest = &rest[at + mark.len()..];
            }
            None => {
                out.push(Piece::Text(rest));
                rest = "";
            }
        }
    }
    out
}

/// The lengths (in bytes) a marker may take at the start of `text`, most likely first.
fn spans(piece: Piece, text: &str) -> Vec<usize> {
    let run = |ok: fn(char) -> bool| -> usize {
        text.char_indices()
            .find(|(_, c)| !ok(*c))
            .map_or(text.len(), |(at, _)| at)
    };
    match piece {
        Piece::Text(_) => Vec::new(),
        Piece::Number => {
            let digits = run(|c| c.is_ascii_digit() || c == '.');
            (1..=digits).rev().collect()
        }
        Piece::Uuid => {
            let is_uuid = text.len() >= 36
                && text.is_char_boundary(36)
                && text[..36].char_indices().all(|(at, c)| {
                    if [8, 13, 18, 23].contains(&at) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if is_uuid {
                vec![36]
            } else {
                Vec::new()
            }
        }
        Piece::Time => {
            let long = run(|c| c.is_ascii_digit() || "-:T.+Z".contains(c));
            (19..=long).rev().collect()
        }
        Piece::Any => {
            let line = text.find('\n').unwrap_or(text.len());
            (0..=line).filter(|at| text.is_char_boundary(*at)).collect()
        }
    }
}

fn matches_pieces(pieces: &[Piece], text: &str) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    match first {
        Piece::Text(literal) => text
            .strip_prefix(literal)
            .is_some_and(|after| matches_pieces(rest, after)),
        marker => spans(*marker, text)
            .into_iter()
            .any(|len| matches_pieces(rest, &text[len..])),
    }
}

/// Whether `text` is `expected` whole, each marker standing for one varying value.
pub(crate) fn matches(expected: &str, text: &str) -> bool {
    matches_pieces(&pieces(expected), text)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn text_without_markers_is_compared_whole() {
        assert!(matches("a plan\n", "a plan\n"));
        assert!(!matches("a plan\n", "a plan\nand more\n"));
        assert!(!matches("a plan\n", "a pla\n"));
        assert!(matches("", ""));
    }

    #[test]
    fn each_marker_stands_for_its_kind_of_value_only() {
        assert!(matches("took ⟪n⟫ ms\n", "took 12 ms\n"));
        assert!(matches("took ⟪n⟫ s\n", "took 1.25 s\n"));
        assert!(!matches("took ⟪n⟫ ms\n", "took twelve ms\n"));
        assert!(!matches("took ⟪n⟫ ms\n", "took  ms\n"));
        assert!(matches(
            "id ⟪uuid⟫.",
            "id 5ae290ed-55d1-47a0-bc6d-fe2bc2700399."
        ));
        assert!(!matches(
            "id ⟪uuid⟫.",
            "id 5ae290ed-55d1-47a0-bc6d.fe2bc2700399."
        ));
        assert!(matches(
            "at ⟪time⟫\n",
            "at 2026-12-07T08:00:00.123456+00:00\n"
        ));
        assert!(matches("at ⟪time⟫\n", "at 2026-12-07T08:00:00Z\n"));
        assert!(!matches("at ⟪time⟫\n", "at 08:00\n"));
    }

    #[test]
    fn anything_stays_on_its_line() {
        assert!(matches(
            "error: ⟪…⟫\nfix it\n",
            "error: no such file\nfix it\n"
        ));
        assert!(matches("error: ⟪…⟫\n", "error: \n"));
        assert!(!matches("error: ⟪…⟫\n", "error: one\ntwo\n"));
        assert!(matches("a ⟪…⟫ b ⟪n⟫\n", "a x b y b 3\n"));
    }
}
