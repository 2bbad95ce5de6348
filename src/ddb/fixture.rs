//! The seed conversation: lines of `Person 1: …` or `Person 2: …` (blank lines and lines
//! starting with `#` are skipped). Person 1 is --my-handle, Person 2 --other-handle.

use anyhow::{bail, Result};

pub(super) const DEFAULT: &str = include_str!("../../fixtures/conversation.txt");
pub(super) const DEFAULT_NAME: &str = "fixtures/conversation.txt (built in)";

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Line {
    /// 1 or 2.
    pub person: u8,
    pub text: String,
    /// Its line number in the file, for messages.
    pub line: usize,
}

pub(super) fn parse(name: &str, text: &str) -> Result<Vec<Line>> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = ["Person 1:", "Person 2:"]
            .iter()
            .enumerate()
            .find_map(|(i, prefix)| {
                line.strip_prefix(prefix)
                    .map(|rest| (i as u8 + 1, rest.trim()))
            });
        match parsed {
            Some((_, "")) => bail!("{name}:{}: the message is empty", index + 1),
            Some((person, rest)) => lines.push(Line {
                person,
                text: rest.to_string(),
                line: index + 1,
            }),
            None => bail!(
                "{name}:{}: expected `Person 1: …` or `Person 2: …`, found `{}`",
                index + 1,
                crate::text::cut(line, 40)
            ),
        }
    }
    if lines.is_empty() {
        bail!("{name} holds no message: write lines of `Person 1: …` or `Person 2: …`");
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_conversation_parses_and_has_both_people() {
        let lines = parse(DEFAULT_NAME, DEFAULT).unwrap();
        assert!((90..=130).contains(&lines.len()), "{}", lines.len());
        assert!(lines.iter().any(|l| l.person == 1) && lines.iter().any(|l| l.person == 2));
    }

    #[test]
    fn lines_and_mistakes() {
        let lines = parse(
            "f",
            "# a comment\n\nPerson 1: Hi: there\nPerson 2:  Hello \n",
        )
        .unwrap();
        assert_eq!(
            lines,
            [
                Line {
                    person: 1,
                    text: "Hi: there".into(),
                    line: 3
                },
                Line {
                    person: 2,
                    text: "Hello".into(),
                    line: 4
                }
            ]
        );
        let err = parse("f.txt", "Person 1: ok\nPerson 3: who?\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f.txt:2: expected"), "{err}");
        assert!(parse("f", "Person 2:   \n")
            .unwrap_err()
            .to_string()
            .contains("f:1: the message is empty"));
        assert!(parse("f", "\n# nothing\n").is_err());
    }
}
