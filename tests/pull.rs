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

/// Every text the local stores hold, as one string: rows as text, items' attributes.
fn local_text(db: &TestDb, table: &TestTable) -> String {
    let mut text = String::new();
    for t in ["users", "activities"] {
        let row = db
            .client()
            .query_one(
                &format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM public.{t} t"),
                &[],
            )
            .unwrap();
        text.push_str(&row.get::<_, String>(0));
        text.push('\n');
    }
    for item in table.items() {
        for value in item.values() {
            text.push_str(value);
            text.push('\n');
        }
    }
    text
}

const PULLED: &str = "\
pulled production into database `{db}` (made from the app's files first):
  users: 2 rows; masked bio, cognito_user_id, display_name, email, location (location not in the app's list: masked as text)
  activities: 5 rows; masked message
  table `{table}`: 3 conversation partitions, 98 items written, 0 local items production lacks deleted; masked message, user_display_name
masked with the key of --mask-key (or CRUDDUR_MASK_KEY): the same fakes on every pull
in ⟪n⟫ ms
";

#[test]
fn a_pull_of_two_users_leaves_production_as_it_was_and_no_personal_data_here() {
    let production = Production::new("pull_two");
    let before = production.state();
    let personal = production.personal_values();
    assert!(
        personal.contains("zoe.unal@prod-mail.example") && personal.len() > 10,
        "{personal:?}"
    );
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
        .stderr_is(&format!(
            "PRODUCTION Postgres (the source, only read): {}\nPRODUCTION DynamoDB: table {} in \
             us-east-1 ({})\n",
            production
                .db
                .url()
                .replace(&crate::harness::password(), "***"),
            production.table.name,
            production.proxy.url
        ))
        .run();

    // Production: the same rows, the same items, and only reads at its endpoint.
    assert_eq!(production.state(), before);
    assert_eq!(production.proxy.calls(), ["Query", "Query", "Query"]);
    // Here: none of production's personal values, anywhere.
    let here = local_text(&local, &table);
    let leaked: Vec<&String> = personal
        .iter()
        .filter(|v| here.contains(v.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "production's values found locally: {leaked:?}\n{here}"
    );
    // The two most active users, and what they wrote (its length kept).
    let mut client = local.client();
    let handles: Vec<String> = client
        .query("SELECT handle FROM public.users ORDER BY handle", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(handles, ["kimmy", "zoe"]);
    let lengths = |db: &TestDb| -> Vec<i32> {
        db.client()
            .query(
                "SELECT length(message) FROM public.activities ORDER BY uuid",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let production_lengths: Vec<i32> = production
        .db
        .client()
        .query(
            "SELECT length(a.message) FROM public.activities a JOIN public.users u ON u.uuid = \
             a.user_uuid WHERE u.handle IN ('kimmy', 'zoe') ORDER BY a.uuid",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(lengths(&local), production_lengths);
    // One person, one fake: kimmy's name in Postgres is the one her messages carry.
    let (kimmy, name): (String, String) = {
        let row = client
            .query_one(
                "SELECT uuid::text, display_name FROM public.users WHERE handle = 'kimmy'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    let carried: BTreeSet<String> = table
        .items()
        .iter()
        .filter(|item| item.get("user_uuid") == Some(&kimmy))
        .filter_map(|item| item.get("user_display_name").cloned())
        .collect();
    assert_eq!(carried, BTreeSet::from([name.clone()]));

    // The app's own queries answer on what was pulled.
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
    production
        .pull(&local, &table, &["--users", "2", "--mask-key", "team key"])
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
