//! The house's layering, held by a test: every module under `src/` imports (through
//! `crate::…` paths) only modules of its own layer or below, and no modules import each
//! other in a circle. The layers, lowest first, are STYLE's: plain values and pure helpers,
//! the terminal, output, the guard, the stores, the context, the one write path, commands,
//! and the command line on top. No server is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module (a file: `pg/target`, `ddb` for `ddb/mod.rs`) by the first prefix that names
/// it, and its layer. Within the lower layers the order is the order here: a module may
/// import only those listed before it. The command layer (7) may import within itself in
/// any order (the circle check still holds). The services the commands share sit with the
/// stores: the SQL runner (`pg/run`), the migration files (`migrations`), and DynamoDB's
/// items, codec, limits, bulk writer and lease (`dynamodb/…`).
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("target", 0),
    ("text", 0),
    ("hosts", 0),
    ("sql", 0),
    ("mask", 0),
    ("testing", 0),
    ("term", 1),
    ("printer", 1),
    ("interrupt", 1),
    ("runtime", 1),
    ("poll", 1),
    ("output", 2),
    ("ops", 3),
    ("guard", 3),
    ("app", 4),
    ("pg/params", 4),
    ("pg/catalog", 4),
    ("pg/target", 4),
    ("pg/connect", 4),
    ("pg/lock", 4),
    ("pg/perform", 4),
    ("pg/copy", 4),
    ("pg/run", 4),
    ("pg", 4),
    ("migrations", 4),
    ("users", 4),
    ("proxy", 4),
    ("aws", 4),
    ("s3", 4),
    ("dynamodb", 4),
    ("envfile", 4),
    ("ctx", 5),
    ("guarded", 6),
    ("steps", 6),
    ("db", 7),
    ("ddb", 7),
    ("cognito", 7),
    ("rds", 7),
    ("doctor", 7),
    ("setup", 7),
    ("pull", 7),
    ("wait", 7),
    // The flags: commands read their own clap arguments (STYLE: clap stays in cli and the
    // command layer); the layers below take plain settings.
    ("cli", 7),
    ("lib", 8),
    ("main", 9),
];

const COMMANDS: u8 = 7;

fn place(module: &str) -> Option<(usize, u8)> {
    LAYERS.iter().enumerate().find_map(|(at, (prefix, layer))| {
        (module == *prefix || module.starts_with(&format!("{prefix}/"))).then_some((at, *layer))
    })
}

/// Every module of `src/`, by name, with its source (tests and comments left out).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut name = relative.to_string_lossy().replace('\\', "/");
            if let Some(folder) = name.strip_suffix("/mod") {
                name = folder.to_string();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // The unit tests' module is left out; test-only items beside the code are not.
            let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
            let code: String = code
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The modules `code` names through `crate::` paths (a `use crate::{a, b::c}` group too).
fn imports(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find("};").unwrap_or(group.len())];
            let mut depth = 0;
            let mut item = String::new();
            for c in inner.chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let head: String = item
                            .trim()
                            .chars()
                            .take_while(|c| ident(*c) || *c == ':')
                            .collect();
                        paths.push(head.split("::").map(String::from).collect());
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            let path: String = rest
                .chars()
                .take_while(|c| ident(*c) || *c == ':')
                .collect();
            paths.push(path.split("::").map(String::from).collect());
        }
    }
    paths
        .into_iter()
        .filter_map(|parts| {
            (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("/"))
                .find(|candidate| known.contains(candidate))
        })
        .collect()
}

/// `code` with its `super::` paths spelled from the crate root, as the module `name` means
/// them (`super::codec` in `dynamodb/batch` is `crate::dynamodb::codec`), so that a circle
/// between two files of one folder is seen too.
fn from_root(name: &str, code: &str) -> String {
    // The folder a file's `super` names: its parent module's path.
    let parent = |module: &str| -> String {
        module
            .rsplit_once('/')
            .map_or(String::new(), |(up, _)| up.to_string())
    };
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        out.push_str(&rest[..at]);
        let mut module = parent(name);
        let mut tail = &rest[at + "super::".len()..];
        while let Some(more) = tail.strip_prefix("super::") {
            module = parent(&module);
            tail = more;
        }
        out.push_str("crate::");
        if !module.is_empty() {
            out.push_str(&module.replace('/', "::"));
            out.push_str("::");
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn related(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

#[test]
fn modules_import_only_their_own_layer_or_below_and_never_in_a_circle() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut problems = Vec::new();
    let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in &modules {
        let Some((at, layer)) = place(name) else {
            problems.push(format!(
                "{name}: not in LAYERS; say which layer it belongs to"
            ));
            continue;
        };
        for target in imports(&from_root(name, code), &known) {
            if target == *name || related(name, &target) {
                continue;
            }
            edges.entry(name).or_default().insert(target.clone());
            let Some((their_at, their_layer)) = place(&target) else {
                continue;
            };
            let upward =
                their_layer > layer || (their_layer == layer && layer < COMMANDS && their_at > at);
            if upward {
                problems.push(format!(
                    "{name} (layer {layer}) imports {target} (layer {their_layer}), which sits above it"
                ));
            }
        }
    }
    // Circles: a depth-first walk that meets a module still on its path.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| *n == node) {
            circles.push(format!("circle: {} -> {node}", path[at..].join(" -> ")));
            return;
        }
        if !done.insert(node) {
            return;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done, circles);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    let mut circles = Vec::new();
    for name in modules.keys() {
        visit(name, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    problems.extend(circles);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_what_it_must() {
    let known: BTreeSet<String> = ["ctx", "pg", "pg/target", "output", "text"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let code = "use crate::{ctx::Ctx, output::{Outcome, View}};\nfn f() { crate::pg::target::x(); crate::text::cut(\"\", 1); }";
    let found: Vec<String> = imports(code, &known).into_iter().collect();
    // `super::` is read from the crate root: a file's siblings are seen.
    assert_eq!(
        from_root(
            "dynamodb/batch",
            "use super::codec::X; use super::super::ctx::Ctx;"
        ),
        "use crate::dynamodb::codec::X; use crate::ctx::Ctx;"
    );
    assert_eq!(found, ["ctx", "output", "pg/target", "text"]);
    let ddb = LAYERS.iter().position(|(name, _)| *name == "ddb").unwrap();
    assert_eq!(place("ddb/patterns/send_message"), Some((ddb, 7)));
    assert_eq!(place("dynamodb/batch").map(|(_, layer)| layer), Some(4));
    assert!(place("nowhere").is_none());
}
