//! `cruddur pull`: a "production" made of a second database of the test server, marked
//! production, and a second table on dynoxide reached through a recording proxy; the app's
//! repository layout for the files. After a pull production is unchanged (row counts, a
//! checksum of every table, no write call at the proxy), the local stores hold no personal
//! value of production's, and the app's own queries still answer there.

use std::collections::BTreeSet;

use crate::app::Repo;
use crate::faults::{Fault, Proxy};
use crate::harness::{cruddur, schema_load, Run, TestDb, TestTable};

/// Production: its database and table, the proxy in front of the table, the app's files.
struct Production {
    repo: Repo,
    db: TestDb,
    table: TestTable,
    proxy: Proxy,
}

/// People and what they wrote, in production, beside the seed's: zoe wrote the most, then
/// kimmy; hostile text among it.
const PEOPLE: &str = "\
INSERT INTO public.users (display_name, handle, email, cognito_user_id, bio) VALUES \
  ('Zoë Ünal-O''Hara', 'zoe', 'zoe.unal@prod-mail.example', 'sub-zoe-7f3a', \
   'Likes 100% of \"quotes\", tabs\tand \x1b[31mred'); \
INSERT INTO public.activities (user_uuid, message) \
  SELECT uuid, 'Zoë''s secret plan number ' || g || ' — très privé' FROM public.users, \
  generate_series(1, 3) g WHERE handle = 'zoe'; \
INSERT INTO public.activities (user_uuid, message) \
  SELECT uuid, 'Kim''s second post, 50% done' FROM public.users WHERE handle = 'kimmy'; \
COMMENT ON DATABASE \"{db}\" IS 'cruddur environment: prod';";

impl Production {
    fn new(tag: &str) -> Production {
        let repo = Repo::new();
        let db = TestDb::new(&format!("{tag}_prod"));
        repo.cruddur(&db, &["db", "setup"]).run();
        db.client()
            .batch_execute(&PEOPLE.replace("{db}", &db.name))
            .unwrap();
        let table = TestTable::new(&format!("{tag}-prod"));
        schema_load(&table, true);
        cruddur(&["ddb", "seed"])
            .stack(&db, &table)
            .dir(&repo.root)
            .run();
        let proxy = Proxy::start(Fault::None);
        Production {
            repo,
            db,
            table,
            proxy,
        }
    }

    /// `cruddur pull ARGS…` from the repository, into `local` and `table`.
    fn pull(&self, local: &TestDb, table: &TestTable, args: &[&str]) -> Run {
        let mut all = vec!["pull"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--from-endpoint-url",
            &self.proxy.url,
            "--from-table",
            &self.table.name,
        ]);
        cruddur(&all)
            .stack(local, table)
            .env("PROD_CONNECTION_URL", self.db.url())
            .aws_credentials()
            .dir(&self.repo.root)
    }

    /// Every table's row count and a checksum of its rows, and every item of the table.
    fn state(&self) -> State {
        (fingerprint(&self.db), self.table.sorted_items())
    }

    /// Every personal value production holds: the texts of its people and their messages.
    fn personal_values(&self) -> BTreeSet<String> {
        let mut values = BTreeSet::new();
        for row in self
            .db
            .client()
            .query(
                "SELECT unnest(ARRAY[display_name, email, cognito_user_id, bio, location]) FROM public.users \
                 UNION SELECT message FROM public.activities",
                &[],
            )
            .unwrap()
        {
            if let Some(value) = row.get::<_, Option<String>>(0) {
                values.insert(value);
            }
        }
        for item in self.table.items() {
            for name in ["user_display_name", "message"] {
                if let Some(value) = item.get(name) {
                    values.insert(value.clone());
                }
            }
        }
        values
    }
}

/// Each table's name, row count and checksum; the table's items.
type State = (Vec<(String, i64, String)>, Vec<Vec<(String, String)>>);

/// Each table's name, row count and the md5 of its rows in order.
fn fingerprint(db: &TestDb) -> Vec<(String, i64, String)> {
    let mut client = db.client();
    ["users", "activities", "schema_information"]
        .iter()
        .map(|table| {
            let row = client
                .query_one(
                    &format!(
                        "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) \
                         FROM public.{table} t"
                    ),
                    &[],
                )
                .unwrap();
            (table.to_string(), row.get(0), row.get(1))
        })
        .collect()
}

/// Every value the local stores hold, one a line: each column's value of every row (as
/// text, not a row's quoted form), each attribute of every item.
fn local_text(db: &TestDb, table: Option<&TestTable>) -> String {
    let mut text = String::new();
    let mut client = db.client();
    let tables: Vec<String> = client
        .query(
            "SELECT quote_ident(relname) FROM pg_class c JOIN pg_namespace n ON n.oid = \
             c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in tables {
        for row in client
            .query(
                &format!("SELECT e.value FROM public.{t} t, jsonb_each_text(to_jsonb(t)) e"),
                &[],
            )
            .unwrap()
        {
            if let Some(value) = row.get::<_, Option<String>>(0) {
                text.push_str(&value);
                text.push('\n');
            }
        }
    }
    if let Some(table) = table {
        for item in table.items() {
            for value in item.values() {
                text.push_str(value);
                text.push('\n');
            }
        }
    }
    text
}

/// None of production's personal values anywhere in the local stores.
#[track_caller]
fn nothing_personal_here(production: &Production, local: &TestDb, table: Option<&TestTable>) {
    let personal = production.personal_values();
    assert!(
        personal.contains("zoe.unal@prod-mail.example") && personal.len() > 10,
        "{personal:?}"
    );
    let here = local_text(local, table);
    let leaked: Vec<&String> = personal
        .iter()
        .filter(|v| here.contains(v.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "production's values found locally: {leaked:?}\n{here}"
    );
}

/// The pulled messages have the lengths production's have (`handles`' messages).
#[track_caller]
fn lengths_kept(production: &Production, local: &TestDb, handles: &str) {
    let lengths = |db: &TestDb, query: &str| -> Vec<i32> {
        db.client()
            .query(query, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(
        lengths(
            local,
            "SELECT length(message) FROM public.activities ORDER BY uuid"
        ),
        lengths(
            &production.db,
            &format!(
                "SELECT length(a.message) FROM public.activities a JOIN public.users u ON \
                 u.uuid = a.user_uuid WHERE u.handle IN ({handles}) ORDER BY a.uuid"
            )
        )
    );
}

/// One person, one fake: `handle`'s name in Postgres is the one their messages carry.
#[track_caller]
fn one_fake_per_person(local: &TestDb, table: &TestTable, handle: &str) {
    let row = local
        .client()
        .query_one(
            "SELECT uuid::text, display_name FROM public.users WHERE handle = $1",
            &[&handle],
        )
        .unwrap();
    let (uuid, name): (String, String) = (row.get(0), row.get(1));
    let carried: BTreeSet<String> = table
        .items()
        .iter()
        .filter(|item| item.get("user_uuid") == Some(&uuid))
        .filter_map(|item| item.get("user_display_name").cloned())
        .collect();
    assert_eq!(carried, BTreeSet::from([name]));
}

/// The handles of the local users, in order.
fn handles(db: &TestDb) -> Vec<String> {
    db.client()
        .query("SELECT handle FROM public.users ORDER BY handle", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const PULLED: &str = "\
pulled production into database `{db}` (made from the app's files first):
  users: 2 rows; masked bio, cognito_user_id, display_name, email, location (location not in the app's list: masked as text)
  activities: 5 rows; masked message
  table `{table}`: 3 conversation partitions, 98 items written, 0 local items production lacks deleted; masked message, user_display_name
masked with the key of --mask-key (or CRUDDUR_MASK_KEY): the same fakes on every pull
in ⟪n⟫ ms
";

/// Production's table is described once (is it the local one?), then only queried.
const READS: [&str; 4] = ["DescribeTable", "Query", "Query", "Query"];

#[test]
fn a_pull_of_two_users_leaves_production_as_it_was_and_no_personal_data_here() {
    let production = Production::new("pull_two");
    let before = production.state();
    let (local, table) = (
        TestDb::new("pull_two_local"),
        TestTable::new("pull-two-local"),
    );
    production
        .pull(&local, &table, &["--users", "2", "--mask-key", "team key"])
        .stdout_is(
            &PULLED
                .replace("{db}", &local.name)
                .replace("{table}", &table.name),
        )
        .stderr_is(&banners(&production))
        .run();
    // Production: the same rows, the same items, and only reads at its endpoint.
    assert_eq!(production.state(), before);
    assert_eq!(production.proxy.calls(), READS);
    // Here: the two most active users and what they wrote, none of it personal.
    nothing_personal_here(&production, &local, Some(&table));
    assert_eq!(handles(&local), ["kimmy", "zoe"]);
    lengths_kept(&production, &local, "'kimmy', 'zoe'");
    one_fake_per_person(&local, &table, "kimmy");
}

#[test]
fn the_apps_queries_answer_on_what_was_pulled_and_a_second_pull_is_the_same() {
    let production = Production::new("pull_again");
    let before = production.state();
    let (local, table) = (
        TestDb::new("pull_again_local"),
        TestTable::new("pull-again-local"),
    );
    let pull = || production.pull(&local, &table, &["--users", "2", "--mask-key", "team key"]);
    pull().run();
    let profile = cruddur(&["db", "query", "users/show", "-p", "handle=zoe", "--json"])
        .db(&local)
        .dir(&production.repo.root)
        .stderr_is("")
        .run();
    assert!(profile.stdout.contains("\"cruds_count\": 3"), "{profile}");
    let conversations: serde_json::Value = cruddur(&[
        "ddb",
        "patterns",
        "list-conversations",
        "--handle",
        "kimmy",
        "--json",
    ])
    .stack(&local, &table)
    .dir(&production.repo.root)
    .run()
    .json();
    assert_eq!(
        conversations.as_array().map(Vec::len),
        Some(1),
        "{conversations}"
    );
    // Pulling again with the same key gives the very same data.
    let first = (fingerprint(&local), table.sorted_items());
    pull()
        .stdout_is(
            &PULLED
                .replace(" (made from the app's files first)", "")
                .replace("{db}", &local.name)
                .replace("{table}", &table.name),
        )
        .run();
    assert_eq!((fingerprint(&local), table.sorted_items()), first);
    assert_eq!(production.state(), before);
}

#[test]
fn since_takes_what_was_made_since_and_the_people_who_made_it() {
    let production = Production::new("pull_since");
    // Everything but zoe's posts is older than the date.
    production
        .db
        .client()
        .batch_execute(
            "UPDATE public.users SET created_at = '2020-01-01'; \
             UPDATE public.activities SET created_at = '2020-01-01' WHERE user_uuid <> \
             (SELECT uuid FROM public.users WHERE handle = 'zoe')",
        )
        .unwrap();
    let local = TestDb::new("pull_since_local");
    production
        .pull(
            &local,
            &TestTable::new("pull-since-local"),
            &["--since", "2024-06-01", "--no-dynamodb", "--mask-key", "k"],
        )
        .stderr_is(&pg_banner(&production))
        .stdout_is(&format!(
            "pulled production into database `{}` (made from the app's files first):
  users: 1 row; masked bio, cognito_user_id, display_name, email, location (location not in the app's list: masked as text)
  activities: 3 rows; masked message
masked with the key of --mask-key (or CRUDDUR_MASK_KEY): the same fakes on every pull
in ⟪n⟫ ms
",
            local.name
        ))
        .run();
    assert_eq!(handles(&local), ["zoe"]);
    lengths_kept(&production, &local, "'zoe'");
    // The same for machines, with a random key this time.
    let report: crate::reports::PullReport = production
        .pull(
            &local,
            &TestTable::new("pull-since-local"),
            &["--since", "2024-06-01", "--no-dynamodb", "--output", "json"],
        )
        .stderr_is(&pg_banner(&production))
        .run()
        .json();
    assert_eq!(
        (report.database.as_str(), report.created),
        (local.name.as_str(), false)
    );
    assert_eq!(report.masking, "random_key");
    assert!(report.conversations.is_none());
    let rows: Vec<(&str, usize)> = report
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(rows, [("users", 1), ("activities", 3)]);
    assert_eq!(report.tables[0].unlisted, ["location"]);
}

/// The banners of a pull: where production is read from.
fn banners(production: &Production) -> String {
    format!(
        "{}PRODUCTION DynamoDB: table {} in us-east-1 ({})\n",
        pg_banner(production),
        production.table.name,
        production.proxy.url
    )
}

/// The banner of production's database.
fn pg_banner(production: &Production) -> String {
    format!(
        "PRODUCTION Postgres (the source, only read): {}\n",
        production
            .db
            .url()
            .replace(&crate::harness::password(), "***")
    )
}

/// Columns beside the app's, on both sides: a list of names, preferences as JSON, and a table
/// whose text column refers to the users' emails.
const EXTRA: &str = "\
ALTER TABLE public.users ADD COLUMN nicknames text[], ADD COLUMN prefs jsonb; \
ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE (email); \
CREATE TABLE public.mentions (email text REFERENCES public.users (email), note text);";

/// `local` set up from production's repository, the columns of [`EXTRA`] added on both sides,
/// and production's people given nicknames, preferences and mentions.
fn with_extra_columns(production: &Production, local: &TestDb) {
    production.repo.cruddur(local, &["db", "setup"]).run();
    local.client().batch_execute(EXTRA).unwrap();
    production.db.client().batch_execute(EXTRA).unwrap();
    production
        .db
        .client()
        .batch_execute(
            "UPDATE public.users SET nicknames = ARRAY['Zozo', 'the \"boss\"', NULL], \
             prefs = '{\"greeting\": \"Hi Zoë\", \"n\": 3}' WHERE handle = 'zoe'; \
             INSERT INTO public.mentions SELECT email, 'met ' || display_name FROM public.users",
        )
        .unwrap();
}

/// `cruddur pull` of production's database only, masked with the key `k`, into `local`.
fn pull_postgres(production: &Production, local: &TestDb) -> Run {
    cruddur(&["pull", "--no-dynamodb", "--mask-key", "k"])
        .db(local)
        .env("PROD_CONNECTION_URL", production.db.url())
        .dir(&production.repo.root)
}

#[test]
fn columns_the_list_does_not_name_are_masked_and_references_between_texts_hold() {
    let production = Production::new("pull_cols");
    let local = TestDb::new("pull_cols_local");
    with_extra_columns(&production, &local);
    pull_postgres(&production, &local)
        .stdout_is(&format!(
            "pulled production into database `{}`:
  users: 4 rows; masked bio, cognito_user_id, display_name, email, location, nicknames, prefs (location, nicknames, prefs not in the app's list: masked as text)
  activities: 6 rows; masked message
  mentions: 4 rows; masked email, note (note not in the app's list: masked as text)
masked with the key of --mask-key (or CRUDDUR_MASK_KEY): the same fakes on every pull
in ⟪n⟫ ms
",
            local.name
        ))
        .stderr_is(&pg_banner(&production))
        .run();
    let here = local_text(&local, None);
    for value in [
        "Zozo",
        "the \"boss\"",
        "Hi Zoë",
        "met Zoë",
        "zoe.unal@prod-mail.example",
    ] {
        assert!(!here.contains(value), "{value} is here:\n{here}");
    }
    let mut client = local.client();
    let row = client
        .query_one(
            "SELECT cardinality(nicknames), nicknames[3] IS NULL, prefs->>'n', \
             length(prefs->>'greeting') FROM public.users WHERE handle = 'zoe'",
            &[],
        )
        .unwrap();
    let shape: (i32, bool, String, i32) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(shape, (3, true, "3".to_string(), 6));
    let unmatched: i64 = client
        .query_one(
            "SELECT count(*) FROM public.mentions m WHERE NOT EXISTS (SELECT 1 FROM \
             public.users u WHERE u.email = m.email)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unmatched, 0);
}

#[test]
fn a_column_whose_type_cannot_be_masked_stops_the_pull_and_nothing_is_written() {
    let production = Production::new("pull_unmaskable");
    let local = TestDb::new("pull_unmaskable_local");
    with_extra_columns(&production, &local);
    // A column whose type cannot be masked stops the pull, named; nothing is written.
    for db in [&production.db, &local] {
        db.client()
            .batch_execute("ALTER TABLE public.users ADD COLUMN last_ip inet")
            .unwrap();
    }
    let before = fingerprint(&local);
    pull_postgres(&production, &local)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: production has columns the app's list does not name and cruddur cannot \
             mask: `users.last_ip` (a network address: inet). Nothing was pulled. If they hold \
             nothing personal, pull with --no-mask (at a terminal, which asks first)\n",
            pg_banner(&production)
        ))
        .run();
    assert_eq!(fingerprint(&local), before);
}

#[test]
fn a_dry_run_shows_what_would_be_written_and_writes_nothing() {
    let production = Production::new("pull_dry");
    let (local, table) = (
        TestDb::new("pull_dry_local"),
        TestTable::new("pull-dry-local"),
    );
    production
        .pull(&local, &table, &["--dry-run", "--users", "2", "--mask-key", "k"])
        .stdout_is(&format!(
            "dry run, nothing was done: would pull production's data into database `{db}` and \
             table `{t}` at {endpoint} (Postgres database `{db}` at {server})
  - create it
  - load backend-flask/db/schema.sql in one transaction, marking the database `local`
  - migrate: apply the migrations of backend-flask/db/migrations up to 1683000000123456, where production's marker is
  - TRUNCATE users, activities
  - COPY users FROM STDIN: 2 rows from production, masked: bio, cognito_user_id, display_name, email, location (location not in the app's list of columns: masked because it holds text)
  - COPY activities FROM STDIN: 5 rows from production, masked: message
  - create DynamoDB table `{t}` unless it exists
  - replace 3 conversation partitions (GRP# and MSG#) with production's, masked: 98 puts, and 0 deletes of local items production lacks, in 4 BatchWriteItem requests
",
            db = local.name,
            t = table.name,
            endpoint = table.endpoint,
            server = local.server()
        ))
        .stderr_is(&banners(&production))
        .run();
    assert!(!local.exists());
    assert_eq!(production.proxy.calls(), READS);
}

#[test]
fn unmasked_needs_a_person_at_a_terminal() {
    let production = Production::new("pull_nomask");
    let (local, table) = (
        TestDb::new("pull_nomask_local"),
        TestTable::new("pull-nomask-local"),
    );
    production
        .pull(&local, &table, &["--no-mask", "--yes"])
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: refusing to pull production's data into database `{}` and table `{}` at {} \
             without a person at a terminal to confirm it: it copies production's personal \
             data, unmasked, onto this machine; --yes does not stand in for that. Leave masking \
             on, or run it at a terminal\n",
            banners(&production),
            local.name,
            table.name,
            table.endpoint
        ))
        .run();
    assert!(!local.exists());
    // At a terminal, a person types the database's name: then production's data comes as it is.
    // (Fragments: under a pseudo-terminal the prompt, the plan and a progress bar share stdout.)
    let done = production
        .pull(&local, &table, &["--no-mask", "--users", "1"])
        .in_terminal()
        .stdin(&format!("{}\n", local.name))
        .stdout_has("it copies production's personal data, unmasked, onto this machine. Type `")
        .stdout_has("NOT masked (--no-mask): this machine now holds production's personal data")
        .run();
    assert!(
        local_text(&local, Some(&table)).contains("zoe.unal@prod-mail.example"),
        "{done}"
    );
}

/// `pull` run with CONNECTION_URL at `local_url`: refused, since it is production itself.
#[track_caller]
fn refused_as_production_itself(production: &Production, local_url: &str, server: &str) {
    cruddur(&["pull", "--no-dynamodb"])
        .env("CONNECTION_URL", local_url)
        .env("PROD_CONNECTION_URL", production.db.url())
        .dir(&production.repo.root)
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: PROD_CONNECTION_URL and CONNECTION_URL name the same database (`{db}` at \
             {server}): pull would replace production's rows with themselves. Point \
             CONNECTION_URL at the local database\n",
            pg_banner(production),
            db = production.db.name,
        ))
        .run();
}

#[test]
fn production_is_never_the_destination() {
    let production = Production::new("pull_itself");
    // Production is the source already: --prod is refused before anything is read.
    cruddur(&["--prod", "pull"])
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: `pull` writes the local stores, and its source is production already \
             (PROD_CONNECTION_URL and the production table): run it without --prod\n",
        )
        .run();
    // The same database, by its URL, and by another name of its host (the server says so).
    refused_as_production_itself(&production, &production.db.url(), &production.db.server());
    let aliased = production.db.url().replace("127.0.0.1", "localhost");
    assert_ne!(aliased, production.db.url());
    refused_as_production_itself(
        &production,
        &aliased,
        &production.db.server().replace("127.0.0.1", "localhost"),
    );
    // The same table by another name of its endpoint: its ARN says so.
    let aliased_table = TestTable::named_at(
        &production.table.name,
        &production.table.endpoint.replace("127.0.0.1", "localhost"),
    );
    let local = TestDb::new("pull_itself_local");
    cruddur(&[
        "pull",
        "--from-table",
        &production.table.name,
        "--from-endpoint-url",
        &production.table.endpoint,
    ])
    .stack(&local, &aliased_table)
    .env("PROD_CONNECTION_URL", production.db.url())
    .aws_credentials()
    .dir(&production.repo.root)
    .code(3)
    .stdout_is("")
    .stderr_is(&format!(
        "{}PRODUCTION DynamoDB: table {t} in us-east-1 ({endpoint})\nerror: the production \
             table and the local one are the same (`{t}` at {local}): name production's with \
             --from-table or --from-endpoint-url\n",
        pg_banner(&production),
        t = production.table.name,
        endpoint = production.table.endpoint,
        local = aliased_table.endpoint,
    ))
    .run();
    assert!(!local.exists());
}

#[test]
fn an_unreachable_production_database_is_named_and_nothing_is_made_here() {
    let local = TestDb::new("pull_refuse_local");
    // Production that cannot be reached: named, and nothing made here.
    let port = closed_port();
    let closed = format!("postgresql://postgres@127.0.0.1:{port}/cruddur");
    cruddur(&["pull", "--no-dynamodb"])
        .db(&local)
        .env("PROD_CONNECTION_URL", &closed)
        .env("CRUDDUR_CONNECT_TIMEOUT", "2s")
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "PRODUCTION Postgres (the source, only read): {closed}\nerror: connection refused \
             by 127.0.0.1:{port} (PROD_CONNECTION_URL (or --prod-database-url)): is the RDS \
             instance running and the URL's port right?\n"
        ))
        .run();
    assert!(!local.exists());
}

#[test]
fn an_unreachable_production_table_is_named_and_nothing_is_made_here() {
    let production = Production::new("pull_refuse_ddb");
    let (local, table) = (
        TestDb::new("pull_refuse_ddb_local"),
        TestTable::new("pull-refuse-ddb-local"),
    );
    // Production's DynamoDB that cannot be reached: named, and nothing made here.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let done = cruddur(&[
        "pull",
        "--from-endpoint-url",
        &dead,
        "--from-table",
        "anything",
    ])
    .stack(&local, &table)
    .env("PROD_CONNECTION_URL", production.db.url())
    .aws_credentials()
    .dir(&production.repo.root)
    .code(1)
    .stdout_is("")
    .run();
    // (A fragment: the SDK's retries decide how the cause is worded.)
    assert!(
        done.stderr.contains(&format!("DynamoDB at {dead}")) && !local.exists(),
        "{done}"
    );
}

#[test]
fn a_local_database_marked_prod_is_refused_by_the_guard_and_nothing_is_written() {
    let production = Production::new("pull_refuse_marked");
    let (local, table) = (
        TestDb::new("pull_refuse_marked_local"),
        TestTable::new("pull-refuse-marked-local"),
    );
    // A local database marked production is refused by the guard.
    production
        .pull(&local, &table, &["--users", "1", "--mask-key", "k"])
        .run();
    local
        .client()
        .batch_execute(&format!(
            "COMMENT ON DATABASE \"{}\" IS 'cruddur environment: prod'",
            local.name
        ))
        .unwrap();
    let before = fingerprint(&local);
    production
        .pull(&local, &table, &["--users", "2", "--mask-key", "k"])
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: Postgres database `{db}` at {server} is marked as production (by `cruddur \
             --prod db schema-load`), but this is local mode: refusing to pull production's data \
             into database `{db}` and table `{t}` at {endpoint}. If CONNECTION_URL points there \
             by mistake, fix it; if you really mean it, add --override-prod-marker\n",
            banners(&production),
            db = local.name,
            server = local.server(),
            t = table.name,
            endpoint = table.endpoint
        ))
        .run();
    assert_eq!(fingerprint(&local), before);
}

#[test]
fn a_local_database_of_another_shape_is_named_and_left_as_it_was() {
    let production = Production::new("pull_shape");
    let local = TestDb::new("pull_shape_local");
    // The schema alone: no migrations, so no bio and no location.
    production.repo.cruddur(&local, &["db", "create"]).run();
    production
        .repo
        .cruddur(&local, &["db", "schema-load"])
        .run();
    local
        .client()
        .batch_execute("ALTER TABLE public.activities ADD COLUMN mood text")
        .unwrap();
    let before = fingerprint(&local);
    cruddur(&["pull", "--no-dynamodb"])
        .db(&local)
        .env("PROD_CONNECTION_URL", production.db.url())
        .dir(&production.repo.root)
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "PRODUCTION Postgres (the source, only read): {}\nerror: production's schema differs \
             from the local database `{}`'s, so nothing was pulled:
  - column `activities.mood`: production has none; the local database has text
  - column `users.bio`: production has text; the local database has none
  - column `users.location`: production has text DEFAULT 'Babylon 5'::text; the local database has none
Bring the local database to production's shape first: `cruddur db migrate`, or `cruddur db drop` and pull again to make it from the app's files.\n",
            production.db.url().replace(&crate::harness::password(), "***"),
            local.name
        ))
        .run();
    assert_eq!(fingerprint(&local), before);
}

#[test]
fn sigterm_while_writing_leaves_postgres_whole_and_says_how_far_dynamodb_got() {
    let production = Production::new("pull_term");
    let local = TestDb::new("pull_term_local");
    // A first pull makes the local stores; a second one, stopped, must leave them whole.
    let table = TestTable::new("pull-term-local");
    production
        .pull(&local, &table, &["--users", "2", "--mask-key", "k"])
        .run();
    let before = fingerprint(&local);
    // Another session holds the users table: the pull's TRUNCATE waits, and SIGTERM comes.
    let mut holder = local.client_named("holder");
    let mut hold = holder.transaction().unwrap();
    hold.batch_execute("LOCK TABLE public.users IN ACCESS SHARE MODE")
        .unwrap();
    production
        .pull(&local, &table, &["--users", "2", "--mask-key", "other key"])
        .signal_after("TERM", std::time::Duration::from_millis(1500))
        .code(143)
        .stdout_is("")
        .stderr_is(&format!(
            "{}stopped by SIGTERM: stopping at the next safe point (a second signal to stop at \
             once)\nerror: stopped by SIGTERM: nothing was written: the local database is as it \
             was\n",
            banners(&production)
        ))
        .run();
    hold.rollback().unwrap();
    assert_eq!(fingerprint(&local), before);

    // DynamoDB that never takes a write: Postgres is pulled, and the stop says how far.
    let stuck = TestTable::at("pull-term-stuck", &crate::faults::never_writing_proxy());
    production
        .pull(&local, &stuck, &["--users", "2", "--mask-key", "other key"])
        .signal_after("TERM", std::time::Duration::from_millis(2500))
        .code(143)
        .stdout_is("")
        .stderr_is(&format!(
            "{}stopped by SIGTERM: stopping at the next safe point (a second signal to stop at \
             once)\nerror: stopped by SIGTERM: Postgres was pulled; the conversations stopped \
             after 0 of 98 writes. Run `cruddur pull` again: it replaces them whole, so it is \
             safe to repeat\n",
            banners(&production)
        ))
        .run();
    assert_ne!(fingerprint(&local), before);
    // Run again, with DynamoDB taking writes: every item is there.
    let direct = TestTable::named_at(&stuck.name, &crate::harness::ddb_url());
    production
        .pull(
            &local,
            &direct,
            &["--users", "2", "--mask-key", "other key"],
        )
        .stderr_is(&banners(&production))
        .run();
    assert_eq!(direct.items().len(), 98);
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
