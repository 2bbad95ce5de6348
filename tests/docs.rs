//! Every `cruddur …` example in the README, `docs/` and CONTRIBUTING.md parses with the real
//! command tree: a renamed flag or command fails here before a reader trips on it.

use std::path::Path;

use clap::Parser;

/// The documents a user reads.
fn documents() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(root).unwrap().display().to_string();
            (name, std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

/// The `cruddur …` command lines inside fenced code blocks, by document and line: from the
/// word `cruddur` to the end of that command (a comment, a pipe, `&&` or `&`, `||`, `;`, `>`).
fn examples(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fenced = false;
    for (at, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("cruddur ") {
            let before = rest[..start].chars().last();
            let command_start = before.is_none_or(|c| c.is_whitespace() || "(;&|`".contains(c));
            let tail = &rest[start..];
            // `pip install cruddur`, `cargo binstall cruddur`: the package, not the command.
            let package = rest[..start].trim_end().ends_with("install");
            if !command_start
                || package
                || line.contains("--path cruddur")
                || tail.starts_with("cruddur-")
            {
                rest = &rest[start + "cruddur ".len()..];
                continue;
            }
            let end = [" #", " |", " &", "||", ";", " >", "`"]
                .iter()
                .filter_map(|stop| tail.find(stop))
                .min()
                .unwrap_or(tail.len());
            found.push((at + 1, tail[..end].trim().to_string()));
            rest = &tail[end..];
        }
    }
    found
}

/// Shell words, with single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn every_example_in_the_documents_parses() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for (name, text) in documents() {
        for (line, example) in examples(&text) {
            let args = words(&example);
            checked += 1;
            if let Err(error) = cruddur::cli::Cli::try_parse_from(&args) {
                use clap::error::ErrorKind;
                if !matches!(
                    error.kind(),
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                ) {
                    broken.push(format!("{name}:{line}: `{example}`: {}", error.kind()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "examples that do not parse:\n{}",
        broken.join("\n")
    );
    assert!(
        checked >= 30,
        "only {checked} examples found: is the scan still right?"
    );
}

#[test]
fn the_scan_finds_commands_and_stops_where_they_end() {
    let text = "```sh\ncruddur db setup   # a comment\nX=1 cruddur ddb scan --output jsonl | jq .\nno cruddur-messages here\n  command: cruddur wait && cruddur setup\npip install cruddur   # then uvx cruddur doctor\n```\ncruddur outside a block\n";
    let found: Vec<String> = examples(text).into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        found,
        [
            "cruddur db setup",
            "cruddur ddb scan --output jsonl",
            "cruddur wait",
            "cruddur setup",
            "cruddur doctor"
        ]
    );
    assert_eq!(
        words("cruddur db query -p 'message=Hello there' -p x=\"a b\""),
        [
            "cruddur",
            "db",
            "query",
            "-p",
            "message=Hello there",
            "-p",
            "x=a b"
        ]
    );
    let bad = cruddur::cli::Cli::try_parse_from(["cruddur", "db", "setup", "--no-such-flag"]);
    assert!(bad.is_err());
}
