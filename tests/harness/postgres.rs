//! The test PostgreSQL server of `scripts/test`: its admin connection, the password no
//! output may show, and a database of each test's own ([`TestDb`]), dropped when it goes.

use std::sync::atomic::Ordering;

use postgres::{Client, Config, NoTls};

use super::run::cruddur;
use super::{COUNTER, START};

/// The admin URL of the test server (database `postgres`), from scripts/test.
pub(crate) fn admin_url() -> String {
    std::env::var("CRUDDUR_TEST_PG_URL")
        .unwrap_or_else(|_| panic!("CRUDDUR_TEST_PG_URL is not set: {START}"))
}

fn admin_config() -> Config {
    admin_url()
        .parse()
        .expect("CRUDDUR_TEST_PG_URL is not a Postgres URL")
}

/// The test server's password: it must never show up in any output.
pub(crate) fn password() -> String {
    String::from_utf8(
        admin_config()
            .get_password()
            .expect("the test URL has a password")
            .to_vec(),
    )
    .unwrap()
}

pub(crate) fn admin() -> Client {
    admin_config().connect(NoTls).unwrap_or_else(|e| {
        panic!("cannot reach the test Postgres at CRUDDUR_TEST_PG_URL ({e}): {START}")
    })
}

/// A database name of this test's own; dropped (with its sessions) when the value goes.
pub(crate) struct TestDb {
    pub name: String,
}

impl TestDb {
    /// A unique name; the database does not exist yet.
    pub(crate) fn new(tag: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{tag}_{}_{n}", std::process::id());
        admin()
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .unwrap();
        TestDb { name }
    }

    /// A unique database, created empty.
    pub(crate) fn created(tag: &str) -> TestDb {
        let db = TestDb::new(tag);
        admin()
            .batch_execute(&format!("CREATE DATABASE \"{}\"", db.name))
            .unwrap();
        db
    }

    /// A unique database with the built-in schema and seed, through `cruddur db setup`.
    pub(crate) fn set_up(tag: &str) -> TestDb {
        let db = TestDb::new(tag);
        cruddur(&["db", "setup"]).db(&db).run();
        db
    }

    /// `host:port` of the test server, as cruddur names it.
    pub(crate) fn server(&self) -> String {
        let admin = admin_url();
        let at = admin.rfind('@').expect("the test URL has a user");
        let rest = &admin[at + 1..];
        rest[..rest.find('/').unwrap_or(rest.len())].to_string()
    }

    pub(crate) fn url(&self) -> String {
        let admin = admin_url();
        let base = admin
            .strip_suffix("/postgres")
            .expect("the test URL ends in /postgres");
        format!("{base}/{}", self.name)
    }

    pub(crate) fn client(&self) -> Client {
        self.client_named("cruddur-test")
    }

    /// A session with this application_name, as the app or a psql would hold one.
    pub(crate) fn client_named(&self, app: &str) -> Client {
        let mut config = admin_config();
        config.dbname(&self.name).application_name(app);
        config.connect(NoTls).unwrap()
    }

    pub(crate) fn exists(&self) -> bool {
        admin()
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.name],
            )
            .unwrap()
            .is_some()
    }

    pub(crate) fn count(&self, table: &str) -> i64 {
        self.client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    }

    /// The app's migration marker (`schema_information.last_successful_run`).
    pub(crate) fn marker(&self) -> String {
        self.client()
            .query_one(
                "SELECT last_successful_run FROM public.schema_information WHERE id = 1",
                &[],
            )
            .unwrap()
            .get(0)
    }

    pub(crate) fn table_exists(&self, table: &str) -> bool {
        self.client()
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .unwrap()
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = admin_config().connect(NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}
