//! cruddur's own signed requests, checked by a server that verifies SigV4 as AWS does: the
//! bulk writer makes its BatchWriteItem calls to the local stack outside the SDK (signed by
//! the SDK's signing crate, src/dynamodb/direct.rs), and a moto server with its
//! authentication on recomputes every request's signature with botocore's signer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::harness::{cruddur, fixture_lines, Run, TestDb, COUNTER, START};

/// A moto server of its own that refuses a request whose signature is not right
/// (tests/harness/moto_signed.py), and the IAM user's key it made.
struct SignedMoto {
    child: Child,
    url: String,
    key: String,
    secret: String,
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
        let [url, key, secret] = words[..] else {
            panic!("python3 {script} did not start moto (said {line:?}): {START}");
        };
        SignedMoto {
            url: url.to_string(),
            key: key.to_string(),
            secret: secret.to_string(),
            child,
        }
    }

    /// `cruddur ARGS` at this server's DynamoDB, with its key and `secret`.
    fn run(&self, args: &[&str], table: &str, secret: &str) -> Run {
        cruddur(args)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.url)
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .env("DDB_MESSAGE_TABLE", table)
    }
}

impl Drop for SignedMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_that_checks_signatures_takes_every_direct_call_of_a_seed() {
    let moto = SignedMoto::start();
    let db = TestDb::set_up("signed");
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let table = format!("t-signed-{}-{n}", std::process::id());
    // The server truly checks: a request signed with another secret is refused.
    moto.run(
        &["ddb", "schema-load", "--no-stream"],
        &table,
        "not-the-secret",
    )
    .code(1)
    .stdout_is("")
    .stderr_is(&format!(
        "error: CreateTable at DynamoDB at {} failed without an AWS error code\n",
        moto.url
    ))
    .run();
    moto.run(&["ddb", "schema-load", "--no-stream"], &table, &moto.secret)
        .stdout_is(&format!(
            "created table `{table}`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
             PROVISIONED 5/5; stream none; deletion protection off; status ACTIVE\n"
        ))
        .stderr_is("")
        .run();
    // A fragment check: -v also prints the plan and the endpoints; what matters is that no
    // line says a direct call was refused (the SDK would then have made it, and the seed
    // would pass all the same). tests/faults.rs shows the calls are direct while answered.
    moto.run(&["-v", "ddb", "seed"], &table, &moto.secret)
        .db(&db)
        .stderr_lacks("made directly")
        .run();
    let scan = moto
        .run(
            &["ddb", "scan", "--output", "jsonl", "-q"],
            &table,
            &moto.secret,
        )
        .stderr_is("")
        .run();
    assert_eq!(scan.stdout.lines().count(), 2 + fixture_lines().len());
}
