//! The SQL files compiled into the binary, and the pure logic around SQL text: splitting a
//! file into statements (so an error can name its line and column), and turning the app's
//! psycopg-style `%(name)s` placeholders into bound parameters.

pub(crate) const SCHEMA: &str = include_str!("../sql/schema.sql");
pub(crate) const SEED: &str = include_str!("../sql/seed.sql");

/// The app's named queries, by the path under `sql/` without `.sql`.
pub(crate) const QUERIES: &[(&str, &str)] = &[
    (
        "activities/create",
        include_str!("../sql/activities/create.sql"),
    ),
    (
        "activities/home",
        include_str!("../sql/activities/home.sql"),
    ),
    (
        "activities/object",
        include_str!("../sql/activities/object.sql"),
    ),
    (
        "users/create_message_users",
        include_str!("../sql/users/create_message_users.sql"),
    ),
    ("users/short", include_str!("../sql/users/short.sql")),
    (
        "users/uuid_from_cognito_user_id",
        include_str!("../sql/users/uuid_from_cognito_user_id.sql"),
    ),
];

/// One statement of a file: where it starts (byte offset) and its text, without the `;`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    pub(crate) start: usize,
    pub(crate) text: &'a str,
}

/// A file that cannot be split: an unterminated quote or comment, or a psql meta-command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SplitError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// The text with every comment, quoted string, quoted identifier and dollar-quoted body
/// replaced by spaces (newlines kept), byte for byte: what is left is the SQL's structure,
/// at the same offsets as in the original.
pub(crate) fn blank(text: &str) -> Result<String, SplitError> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank_range = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let unterminated = |what: &str, at: usize| SplitError {
        offset: at,
        message: format!("unterminated {what} starting here"),
    };
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank_range(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while depth > 0 {
                    match (bytes.get(j), bytes.get(j + 1)) {
                        (None, _) => return Err(unterminated("/* comment", i)),
                        (Some(b'/'), Some(b'*')) => (depth, j) = (depth + 1, j + 2),
                        (Some(b'*'), Some(b'/')) => (depth, j) = (depth - 1, j + 2),
                        _ => j += 1,
                    }
                }
                blank_range(&mut out, i, j);
                i = j;
            }
            quote @ (b'\'' | b'"') => {
                // E'…' strings take backslash escapes; standard strings and identifiers
                // escape their quote by doubling it.
                let escapes = quote == b'\''
                    && i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => {
                            let what = if quote == b'"' {
                                "quoted identifier"
                            } else {
                                "string"
                            };
                            return Err(unterminated(what, i));
                        }
                        Some(b'\\') if escapes => j += 2,
                        Some(&b) if b == quote && bytes.get(j + 1) == Some(&quote) => j += 2,
                        Some(&b) if b == quote => break,
                        Some(_) => j += 1,
                    }
                }
                blank_range(&mut out, i, j + 1);
                i = j + 1;
            }
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => match dollar_tag(&text[i..]) {
                Some(tag) => {
                    let body = i + tag.len();
                    let Some(close) = text[body..].find(tag) else {
                        return Err(unterminated("dollar-quoted string", i));
                    };
                    let end = body + close + tag.len();
                    blank_range(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, by ASCII spaces, so this cannot fail; stay safe anyway.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// `$$` or `$tag$` at the start of `text` (a `$1` parameter is not a tag).
fn dollar_tag(text: &str) -> Option<&str> {
    let rest = &text[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let valid =
        tag.is_empty() || (!tag.as_bytes()[0].is_ascii_digit() && tag.bytes().all(is_ident_byte));
    valid.then(|| &text[..end + 2])
}

/// The statements of a file, in order; empty statements are left out.
pub(crate) fn split(text: &str) -> Result<Vec<Statement<'_>>, SplitError> {
    let blanked = blank(text)?;
    let mut statements = Vec::new();
    let mut from = 0;
    for end in blanked
        .match_indices(';')
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
    {
        let piece = &blanked[from..end];
        if let Some(lead) = piece.find(|c: char| !c.is_whitespace()) {
            let start = from + lead;
            if blanked[start..].starts_with('\\') {
                return Err(SplitError {
                    offset: start,
                    message: "psql meta-commands (\\…) are not SQL; cruddur runs plain SQL only"
                        .into(),
                });
            }
            statements.push(Statement {
                start,
                text: text[start..end].trim_end(),
            });
        }
        from = end + 1;
    }
    Ok(statements)
}

/// The first keyword of a statement, upper-cased (`SELECT`, `INSERT`, `BEGIN`, …).
pub(crate) fn first_keyword(statement: &str) -> String {
    let blanked = blank(statement).unwrap_or_default();
    blanked
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Whether `word` stands as a keyword in the statement (outside strings and comments).
pub(crate) fn has_keyword(statement: &str, word: &str) -> bool {
    let blanked = blank(statement).unwrap_or_default();
    blanked
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The byte offset of the `position`-th character (1-based), as Postgres counts positions.
pub(crate) fn char_offset(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(at, _)| at)
}

/// Rewrite psycopg-style `%(name)s` placeholders to `$1, $2, …` (one number per name, in
/// order of first use) and `%%` to `%`. Returns the SQL and the parameter names; an error
/// says where (the byte offset of the bad `%`) and what is wrong.
pub(crate) fn placeholders(sql: &str) -> Result<(String, Vec<String>), SplitError> {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let offset = sql.len() - rest.len() + at;
        let tail = &rest[at..];
        let error = |message: String| SplitError { offset, message };
        if let Some(after) = tail.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("%(") {
            let Some(close) = inner.find(")s") else {
                return Err(error(format!(
                    "placeholder at `{}` is not closed with `)s`",
                    snippet(tail)
                )));
            };
            let name = &inner[..close];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(error(format!(
                    "placeholder `%({})s` has an invalid name (letters, digits and _ only)",
                    snippet(name)
                )));
            }
            let index = match names.iter().position(|n| n == name) {
                Some(index) => index,
                None => {
                    names.push(name.to_string());
                    names.len() - 1
                }
            };
            out.push_str(&format!("${}", index + 1));
            rest = &inner[close + 2..];
        } else {
            return Err(error(format!(
                "a lone `%` at `{}`: write `%%` for a percent sign, `%(name)s` for a parameter",
                snippet(tail)
            )));
        }
    }
    out.push_str(rest);
    Ok((out, names))
}

fn snippet(text: &str) -> String {
    text.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE a (x text DEFAULT 'a;b');\n\
                   /* block; /* nested; */ still */ SELECT \"we;ird\" FROM a;\n\
                   SELECT E'it\\'s; fine';  SELECT 'it''s; fine'\n";
        assert_eq!(
            texts(sql),
            [
                "CREATE TABLE a (x text DEFAULT 'a;b')",
                "SELECT \"we;ird\" FROM a",
                "SELECT E'it\\'s; fine'",
                "SELECT 'it''s; fine'",
            ]
        );
    }

    #[test]
    fn dollar_quoted_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN; RETURN 1; END $body$ LANGUAGE plpgsql;\n\
                   DO $$ BEGIN PERFORM 1; END $$;\nSELECT $1;";
        let got = texts(sql);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].ends_with("LANGUAGE plpgsql"));
        assert_eq!(got[2], "SELECT $1");
    }

    #[test]
    fn empty_statements_and_trailing_comments_are_left_out() {
        assert_eq!(texts(";;  \n-- only a comment\n"), Vec::<&str>::new());
        assert_eq!(texts("SELECT 1;\n-- end\n"), ["SELECT 1"]);
    }

    #[test]
    fn statements_know_where_they_start() {
        let sql = "-- header\n\nSELECT 1;\n  SELECT 2;";
        let statements = split(sql).unwrap();
        assert_eq!(line_col(sql, statements[0].start), (3, 1));
        assert_eq!(line_col(sql, statements[1].start), (4, 3));
    }

    #[test]
    fn unterminated_things_and_meta_commands_are_errors() {
        let err = split("SELECT 1;\nSELECT 'oops;\n").unwrap_err();
        assert_eq!(line_col("SELECT 1;\nSELECT 'oops;\n", err.offset), (2, 8));
        assert!(err.message.contains("string"));
        assert!(split("/* never closed")
            .unwrap_err()
            .message
            .contains("comment"));
        assert!(split("SELECT $x$ never")
            .unwrap_err()
            .message
            .contains("dollar"));
        assert!(split("\\i other.sql\n")
            .unwrap_err()
            .message
            .contains("meta-command"));
    }

    #[test]
    fn positions_count_characters() {
        let text = "SELECT 'é', x";
        assert_eq!(char_offset(text, 1), 0);
        assert_eq!(&text[char_offset(text, 13)..], "x");
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    }

    #[test]
    fn keywords() {
        assert_eq!(first_keyword("  -- c\n  select 1"), "SELECT");
        assert_eq!(first_keyword("BEGIN"), "BEGIN");
        assert!(has_keyword(
            "INSERT INTO a VALUES (1) RETURNING uuid",
            "returning"
        ));
        assert!(!has_keyword(
            "INSERT INTO a VALUES ('returning')",
            "returning"
        ));
    }

    #[test]
    fn placeholders_become_numbered_parameters() {
        let (sql, names) =
            placeholders("SELECT %(a)s, %(b)s WHERE x = %(a)s AND y LIKE 'z%%'").unwrap();
        assert_eq!(sql, "SELECT $1, $2 WHERE x = $1 AND y LIKE 'z%'");
        assert_eq!(names, ["a", "b"]);
        assert_eq!(placeholders("SELECT %s").unwrap_err().offset, 7);
        assert!(placeholders("SELECT %(a").is_err());
        assert!(placeholders("SELECT 1, %(a b)s")
            .unwrap_err()
            .message
            .contains("invalid name"));
    }

    #[test]
    fn every_named_query_parses() {
        for (name, sql) in QUERIES {
            let (_, params) = placeholders(sql).unwrap_or_else(|e| panic!("{name}: {}", e.message));
            assert_eq!(
                split(sql).unwrap().len(),
                1,
                "{name} must hold one statement"
            );
            assert!(!params.is_empty() || name.ends_with("home"), "{name}");
        }
    }

    #[test]
    fn the_built_in_files_split() {
        assert!(split(SCHEMA).unwrap().len() >= 4);
        assert!(!split(SEED).unwrap().is_empty());
    }
}
