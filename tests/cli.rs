//! The command tree itself: help, usage errors, leaves not built yet, the env file.

use crate::harness::{cruddur, scratch, write, TestDb};

#[test]
fn help_lists_every_leaf_with_a_description() {
    let groups: &[(&[&str], &[&str])] = &[
        (&["--help"], &["db", "ddb", "cognito", "rds"]),
        (
            &["db", "--help"],
            &[
                "create",
                "drop",
                "schema-load",
                "seed",
                "sessions",
                "setup",
                "connect",
                "update-cognito-user-ids",
                "query",
            ],
        ),
        (
            &["ddb", "--help"],
            &[
                "schema-load",
                "seed",
                "scan",
                "drop",
                "list-tables",
                "patterns",
            ],
        ),
        (
            &["ddb", "patterns", "--help"],
            &["get-conversation", "list-conversations", "send-message"],
        ),
        (&["cognito", "--help"], &["list-users"]),
        (&["rds", "--help"], &["update-sg-rule"]),
    ];
    for (args, leaves) in groups {
        let done = cruddur(args).stderr_is("").run();
        for leaf in *leaves {
            // "  leaf   Description…" in the Commands section.
            let line = done
                .stdout
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{leaf} ")))
                .unwrap_or_else(|| panic!("`{leaf}` is not listed\n{done}"));
            assert!(
                line.trim_start()[leaf.len()..].trim().len() > 10,
                "`{leaf}` has no description\n{done}"
            );
        }
    }
}

#[test]
fn every_leaf_help_shows_an_example_and_whether_it_writes() {
    // Walk the real command tree, so a new leaf cannot slip by without one.
    let all = crate::harness::leaves();
    assert!(all.len() >= 24, "{all:?}");
    for leaf in all {
        let mut args: Vec<&str> = leaf.iter().map(String::as_str).collect();
        args.push("--help");
        let done = cruddur(&args)
            .stdout_has("Example")
            .stdout_has("--dry-run")
            .run();
        assert!(
            done.stdout.contains("Writes")
                || done.stdout.contains("writes")
                || done.stdout.contains("Only reads")
                || done.stdout.contains("psql"),
            "`{}` does not say whether it writes\n{done}",
            leaf.join(" ")
        );
    }
}

#[test]
fn a_usage_mistake_exits_2() {
    cruddur(&["db", "nope"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: unrecognized subcommand 'nope'\n\nUsage: cruddur db [OPTIONS] <COMMAND>\n\
            \nFor more information, try '--help'.\n",
        )
        .run();
    cruddur(&["db", "query", "users/short", "--param", "novalue"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: invalid value 'novalue' for '--param <NAME=VALUE>': `novalue` is \
            not NAME=VALUE, e.g. --param handle=timmy-cde\n\nFor more information, try \
            '--help'.\n",
        )
        .run();
    cruddur(&["db", "create", "--connect-timeout", "soon"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: invalid value 'soon' for '--connect-timeout <DURATION>': `soon` is \
            not a duration: write e.g. 5s, ⟪n⟫ms or 1m\n\nFor more information, try \
            '--help'.\n",
        )
        .run();
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let db = TestDb::new("globals");
    cruddur(&["--json", "db", "create"])
        .db(&db)
        .stdout_is(&format!(
            r#"{{
  "database": "{dbname}",
  "created": true
}}
"#,
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["db", "create", "--output", "json"])
        .db(&db)
        .stdout_is(&format!(
            r#"{{
  "database": "{dbname}",
  "created": false
}}
"#,
            dbname = db.name
        ))
        .stderr_is("")
        .run();
    cruddur(&["db", "create", "-q"])
        .db(&db)
        .stdout_is(&format!(
            "database `{dbname}` already exists on {server}; nothing to do\n",
            dbname = db.name,
            server = db.server()
        ))
        .stderr_is("")
        .run();
}

#[test]
fn the_env_file_is_read_and_the_real_environment_wins() {
    let db = TestDb::new("envfile");
    let dir = scratch();
    // A .env in the current folder is picked up.
    write(
        dir.path(),
        ".env",
        &format!("# local stack\nCONNECTION_URL={}\n", db.url()),
    );
    cruddur(&["db", "create"])
        .dir(dir.path())
        .stderr_is("")
        .run();
    assert!(db.exists());

    // The real environment wins over the file.
    write(
        dir.path(),
        ".env",
        "CONNECTION_URL=postgresql://nobody:x@127.0.0.1:1/nowhere\n",
    );
    cruddur(&["db", "create"])
        .db(&db)
        .dir(dir.path())
        .stdout_is(&format!(
            "database `{dbname}` already exists on {server}; nothing to do\n",
            dbname = db.name,
            server = db.server()
        ))
        .stderr_is("")
        .run();

    // --env-file names another file; a missing one is an error naming it.
    let other = write(
        dir.path(),
        "other.env",
        &format!("export CONNECTION_URL='{}'\n", db.url()),
    );
    cruddur(&["--env-file", other.to_str().unwrap(), "db", "create"])
        .dir(dir.path())
        .stderr_is("")
        .run();
    cruddur(&["db", "create", "--env-file", "missing.env"])
        .dir(dir.path())
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: --env-file missing.env: cannot read the file: No such file or directory\n",
        )
        .run();
}
