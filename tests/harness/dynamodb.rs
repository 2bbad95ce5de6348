//! DynamoDB for the tests: dynoxide started in-process (or the emulator `CRUDDUR_TEST_DDB_URL`
//! names), a table of each test's own ([`TestTable`]), and the seed's conversation.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::aws::fake_aws;
use super::run::{cruddur, write, Run};
use super::COUNTER;

/// The DynamoDB endpoint the tests use: `CRUDDUR_TEST_DDB_URL` when set (`scripts/test
/// --also-moto` sets it to moto for a second pass), else dynoxide, started once in this
/// process on a free loopback port, in memory.
pub(crate) fn ddb_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| match std::env::var("CRUDDUR_TEST_DDB_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_dynoxide(),
    })
    .clone()
}

/// Which emulator serves DynamoDB: `dynoxide` (in-process) or what CRUDDUR_TEST_DDB names.
/// Only assertions about AWS's own limits depend on it; everything cruddur does is checked on
/// both.
pub(crate) fn strict_ddb() -> bool {
    std::env::var("CRUDDUR_TEST_DDB_URL").map_or(true, |url| url.is_empty())
}

fn start_dynoxide() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("no free loopback port");
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot start dynoxide's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let db = dynoxide::Database::memory().expect("dynoxide cannot open its database");
            dynoxide::server::serve_on(listener, db).await;
        });
    });
    url
}

/// A table name of this test's own, and a client to look inside the emulator with.
pub(crate) struct TestTable {
    pub name: String,
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
    pub client: aws_sdk_dynamodb::Client,
    /// Deleted when the value goes (not a table of a server the test has stopped).
    owned: bool,
}

impl TestTable {
    pub(crate) fn new(tag: &str) -> TestTable {
        TestTable::at(tag, &ddb_url())
    }

    /// A table reached through another endpoint (a fault-injecting proxy); inspected directly.
    pub(crate) fn at(tag: &str, endpoint: &str) -> TestTable {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        TestTable {
            name: format!("t-{tag}-{}-{n}", std::process::id()),
            endpoint: endpoint.to_string(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: aws_sdk_dynamodb::Client::new(&fake_aws(&ddb_url())),
            owned: true,
        }
    }

    /// The table `name` of another DynamoDB (a `cruddur ddb serve`), looked at there.
    pub(crate) fn named_at(name: &str, endpoint: &str) -> TestTable {
        TestTable {
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: aws_sdk_dynamodb::Client::new(&fake_aws(endpoint)),
            owned: false,
        }
    }

    /// The table with the app's keys only (pk + sk, strings; PROVISIONED 5/5), no index and
    /// no stream: as an older tool or the console made it.
    pub(crate) fn create_keys_only(&self) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, KeySchemaElement, KeyType, ProvisionedThroughput,
            ScalarAttributeType,
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let capacity = ProvisionedThroughput::builder()
            .read_capacity_units(5)
            .write_capacity_units(5)
            .build()
            .unwrap();
        self.block_on(
            self.client
                .create_table()
                .table_name(&self.name)
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("sk", KeyType::Range))
                .attribute_definitions(string("pk"))
                .attribute_definitions(string("sk"))
                .provisioned_throughput(capacity)
                .send(),
        )
        .unwrap();
    }

    /// Every item as sorted (attribute, text) pairs, the items sorted too: two tables holding
    /// the same items compare equal.
    pub(crate) fn sorted_items(&self) -> Vec<Vec<(String, String)>> {
        let mut items: Vec<Vec<(String, String)>> = self
            .items()
            .into_iter()
            .map(|item| {
                let mut pairs: Vec<(String, String)> = item.into_iter().collect();
                pairs.sort();
                pairs
            })
            .collect();
        items.sort();
        items
    }

    /// Write one item straight into the table, as the app (or another tool) would.
    pub(crate) fn put(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) {
        self.block_on(
            self.client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item))
                .send(),
        )
        .unwrap_or_else(|e| panic!("PutItem into the test table failed: {e:?}"));
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Every item, as plain strings (the table holds only strings).
    pub(crate) fn items(&self) -> Vec<std::collections::HashMap<String, String>> {
        self.raw_items()
            .into_iter()
            .map(|item| {
                item.into_iter()
                    .map(|(k, v)| {
                        let text = v.as_s().cloned().unwrap_or_else(|_| format!("{v:?}"));
                        (k, text)
                    })
                    .collect()
            })
            .collect()
    }
}

impl Drop for TestTable {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = self.block_on(self.client.delete_table().table_name(&self.name).send());
    }
}

impl Run {
    /// Point `ddb` commands at this test's table (local mode, no credentials at all).
    pub(crate) fn table(self, table: &TestTable) -> Run {
        let endpoint = table.endpoint.clone();
        // DynamoDB's own variable: AWS_ENDPOINT_URL stays free for Cognito and EC2 (moto).
        self.env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("DDB_MESSAGE_TABLE", &table.name)
    }
}

/// The built-in conversation's messages, as the fixture file has them.
pub(crate) fn fixture_lines() -> Vec<(u8, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conversation.txt"
    ))
    .unwrap();
    text.lines()
        .filter_map(|line| {
            let (who, rest) = line.split_once(": ")?;
            let person = who.strip_prefix("Person ")?.parse().ok()?;
            Some((person, rest.trim().to_string()))
        })
        .collect()
}

impl TestTable {
    /// Every item with its DynamoDB types, sorted by key: for comparing tables exactly.
    pub(crate) fn raw_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .block_on(
                    self.client
                        .scan()
                        .table_name(&self.name)
                        .set_exclusive_start_key(start.take())
                        .send(),
                )
                .expect("scan of the test table failed");
            all.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(last) => start = Some(last.clone()),
                None => break,
            }
        }
        let key =
            |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
                let get = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                (get("pk"), get("sk"))
            };
        all.sort_by_key(key);
        all
    }
}

/// `cruddur ddb patterns send-message` between two handles of the seed.
pub(crate) fn send_message(from: &str, to: &str, message: &str) -> Run {
    cruddur(&[
        "ddb",
        "patterns",
        "send-message",
        "--from",
        from,
        "--to",
        to,
        "--message",
        message,
    ])
}

/// A conversation of `lines` messages in the fixture format, written into `dir`.
pub(crate) fn long_conversation(dir: &Path, lines: usize) -> PathBuf {
    let text: String = (0..lines)
        .map(|i| format!("Person {}: message {i}\n", i % 2 + 1))
        .collect();
    write(dir, "long.txt", &text)
}
