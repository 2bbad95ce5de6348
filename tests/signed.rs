//! cruddur's own signed requests, checked by a server that verifies SigV4 as AWS does: the
//! bulk writer makes its BatchWriteItem calls to the local stack outside the SDK (signed by
//! the SDK's signing crate, src/dynamodb/direct.rs), and a moto server with its
//! authentication on recomputes every request's signature with botocore's signer. The
//! fault proxy of tests/faults.rs stands in front, passing everything on, to say who made
//! each call.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::faults::{Fault, Proxy};
use crate::harness::{created_table, cruddur, fixture_lines, Run, TestDb, COUNTER, START};

/// A moto server of its own that refuses a request whose signature is not right
/// (tests/harness/moto_signed.py), and the credentials it made: an IAM user's key, and a
/// role's, with its session token.
struct SignedMoto {
    child: Child,
    url: String,
    user: Keys,
    role: Keys,
}

#[derive(Clone)]
struct Keys {
    key: String,
    secret: String,
    token: Option<String>,
}

impl SignedMoto {
    fn start() -> SignedMoto {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/harness/moto_signed.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 {script}: {e}: {START}"));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its stdout");
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let [url, key, secret, role_key, role_secret, token] = words[..] else {
            panic!("python3 {script} did not start moto (said {line:?}): {START}");
        };
        SignedMoto {
            url: url.to_string(),
            user: Keys {
                key: key.to_string(),
                secret: secret.to_string(),
                token: None,
            },
            role: Keys {
                key: role_key.to_string(),
                secret: role_secret.to_string(),
                token: Some(token.to_string()),
            },
            child,
        }
    }
}

impl Drop for SignedMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cruddur ARGS` at `endpoint`'s DynamoDB and its `table`, with these credentials.
fn at(endpoint: &str, table: &str, keys: &Keys, args: &[&str]) -> Run {
    let run = cruddur(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("AWS_ACCESS_KEY_ID", &keys.key)
        .env("AWS_SECRET_ACCESS_KEY", &keys.secret)
        .env("AWS_REGION", "us-east-1")
        .env("DDB_MESSAGE_TABLE", table);
    match &keys.token {
        Some(token) => run.env("AWS_SESSION_TOKEN", token),
        None => run,
    }
}

/// Make a table and seed it through `proxy` with `keys`: every BatchWriteItem call made
/// directly, none refused, every item there.
fn seed_directly(proxy: &Proxy, db: &TestDb, keys: &Keys) {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let table = format!("t-signed-{}-{n}", std::process::id());
    at(
        &proxy.url,
        &table,
        keys,
        &["ddb", "schema-load", "--no-stream"],
    )
    .stdout_is(&created_table(&table, false))
    .stderr_is("")
    .run();
    let before = proxy.makers().len();
    let expected = 2 + fixture_lines().len();
    at(&proxy.url, &table, keys, &["ddb", "seed", "-q"])
        .db(db)
        .stdout_is(&format!(
            "seeded conversation ⟪uuid⟫ between timmy-cde and tim-suarez in `{table}`: \
             {expected} items (2 groups + {} messages) in {} requests, 0 retries, ⟪n⟫ ms\n",
            expected - 2,
            expected.div_ceil(25)
        ))
        .stderr_is("")
        .run();
    let makers = proxy.makers()[before..].to_vec();
    assert_eq!(makers, vec!["direct"; expected.div_ceil(25)]);
    let scan = at(
        &proxy.url,
        &table,
        keys,
        &["ddb", "scan", "--output", "jsonl", "-q"],
    )
    .stderr_is("")
    .run();
    assert_eq!(scan.stdout.lines().count(), expected);
}

#[test]
fn a_server_that_checks_signatures_takes_every_direct_call_of_a_seed() {
    let moto = SignedMoto::start();
    let proxy = Proxy::start_to(Fault::None, &moto.url);
    let db = TestDb::set_up("signed");
    // The server truly checks: a request signed with another secret is refused.
    let wrong = Keys {
        secret: "not-the-secret".into(),
        ..moto.user.clone()
    };
    at(
        &proxy.url,
        "t-signed-refused",
        &wrong,
        &["ddb", "schema-load"],
    )
    .code(1)
    .stdout_is("")
    .stderr_is(&format!(
        "error: CreateTable at DynamoDB at {} failed without an AWS error code\n",
        proxy.url
    ))
    .run();
    // A user's key, then a role's with its session token (signed too).
    seed_directly(&proxy, &db, &moto.user);
    seed_directly(&proxy, &db, &moto.role);
}
