//! Faults the emulator never produces, injected at the HTTP layer: a small proxy on loopback
//! between `cruddur` and moto that, for BatchWriteItem calls, either hands back part of the
//! batch as UnprocessedItems (forwarding only the rest) or answers with a throttling error.
//! Every other call passes through untouched.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::harness::{cruddur, fixture_lines, ground_at};
use crate::reports::SeedReport;

#[derive(Clone, Copy)]
pub(crate) enum Fault {
    /// Nothing injected: every call is passed on (and each batch's size recorded).
    None,
    /// A token bucket of this many writes a second, as a DynamoDB partition has: a batch
    /// gets what the bucket holds, the rest comes back unprocessed (or, when nothing is
    /// left, the whole call is refused with ProvisionedThroughputExceeded).
    Bucket(f64),
    /// The first `n` BatchWriteItem calls write only half their items.
    Unprocessed(usize),
    /// The first `n` BatchWriteItem calls that delete write only half their requests.
    UnprocessedDeletes(usize),
    /// The first `n` BatchWriteItem calls are refused with ProvisionedThroughputExceeded.
    Throttle(usize),
    /// Every BatchWriteItem call writes nothing.
    NeverWrites,
}

pub(crate) struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
}

/// What the proxy's connections share.
struct Shared {
    injected: AtomicUsize,
    /// The number of requests of every BatchWriteItem call, in order.
    sizes: std::sync::Mutex<Vec<usize>>,
    /// Every call's operation (`Query`, `BatchWriteItem`), in order.
    calls: std::sync::Mutex<Vec<String>>,
    /// Who made each BatchWriteItem call, in order: `direct` (cruddur's own request, its
    /// user agent `cruddur/…`) or `sdk`.
    makers: std::sync::Mutex<Vec<&'static str>>,
    /// The bucket's tokens and when it was last filled.
    bucket: std::sync::Mutex<(f64, std::time::Instant)>,
}

impl Proxy {
    pub(crate) fn start(fault: Fault) -> Proxy {
        Proxy::start_to(fault, &crate::harness::ddb_url())
    }

    /// A proxy in front of `upstream` (`http://host:port`).
    pub(crate) fn start_to(fault: Fault, upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let shared = Arc::new(Shared {
            injected: AtomicUsize::new(0),
            sizes: std::sync::Mutex::new(Vec::new()),
            calls: std::sync::Mutex::new(Vec::new()),
            makers: std::sync::Mutex::new(Vec::new()),
            bucket: std::sync::Mutex::new((0.0, std::time::Instant::now())),
        });
        let for_threads = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (upstream, shared) = (upstream.clone(), for_threads.clone());
                std::thread::spawn(move || serve(stream, &upstream, fault, &shared));
            }
        });
        Proxy { url, shared }
    }

    fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// The number of requests of every BatchWriteItem call so far.
    pub(crate) fn batch_sizes(&self) -> Vec<usize> {
        self.shared.sizes.lock().unwrap().clone()
    }

    /// Every call so far, by its operation (`DynamoDB_20120810.Query` → `Query`).
    pub(crate) fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().clone()
    }

    pub(crate) fn makers(&self) -> Vec<&'static str> {
        self.shared.makers.lock().unwrap().clone()
    }
}

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { head, body })
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// One request at a time on this connection; each answered with `Connection: close`.
fn serve(stream: TcpStream, upstream: &str, fault: Fault, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut client = stream;
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let target = header(&request.head, "x-amz-target")
        .unwrap_or("")
        .to_string();
    let operation = target.rsplit('.').next().unwrap_or("").to_string();
    shared.calls.lock().unwrap().push(operation);
    let (status, body) = if target.ends_with(".BatchWriteItem") {
        let agent = header(&request.head, "user-agent").unwrap_or("");
        let maker = if agent.starts_with("cruddur/") {
            "direct"
        } else {
            "sdk"
        };
        shared.makers.lock().unwrap().push(maker);
        batch_write(&request, upstream, fault, shared)
    } else {
        forward(&request, &request.body, upstream)
    };
    let reason = if status == 200 { "OK" } else { "Bad Request" };
    let _ = write!(
        client,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = client.write_all(&body);
}

fn batch_write(request: &Request, upstream: &str, fault: Fault, shared: &Shared) -> (u16, Vec<u8>) {
    let mut sent: Value = serde_json::from_slice(&request.body).unwrap();
    let (table, writes) = {
        let items = sent["RequestItems"].as_object().unwrap();
        let (table, writes) = items.iter().next().unwrap();
        (table.clone(), writes.as_array().unwrap().clone())
    };
    shared.sizes.lock().unwrap().push(writes.len());
    // One of the first `n`: counted as it is taken, so that two calls at once cannot both be.
    let claim = |n: usize| {
        shared
            .injected
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c < n).then_some(c + 1)
            })
            .is_ok()
    };
    let inject = match fault {
        Fault::Unprocessed(n) | Fault::Throttle(n) => claim(n),
        Fault::UnprocessedDeletes(n) => {
            writes
                .iter()
                .any(|write| write.get("DeleteRequest").is_some())
                && claim(n)
        }
        Fault::NeverWrites => {
            shared.injected.fetch_add(1, Ordering::SeqCst);
            true
        }
        Fault::None => false,
        Fault::Bucket(rate) => {
            let mut bucket = shared.bucket.lock().unwrap();
            // A tenth of a second of burst, no more.
            let refill = bucket.1.elapsed().as_secs_f64() * rate;
            bucket.0 = (bucket.0 + refill).min(rate / 10.0);
            bucket.1 = std::time::Instant::now();
            let allowed = (bucket.0.floor() as usize).min(writes.len());
            bucket.0 -= allowed as f64;
            drop(bucket);
            if allowed == writes.len() {
                false
            } else {
                shared.injected.fetch_add(1, Ordering::SeqCst);
                return throttled(request, upstream, sent, &table, &writes, allowed);
            }
        }
    };
    if !inject {
        return forward(request, &request.body, upstream);
    }
    match fault {
        Fault::None | Fault::Bucket(_) => forward(request, &request.body, upstream),
        Fault::Throttle(_) => (
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "injected by the test proxy"
            })
            .to_string()
            .into_bytes(),
        ),
        Fault::NeverWrites => (
            200,
            json!({ "UnprocessedItems": { table: writes } })
                .to_string()
                .into_bytes(),
        ),
        Fault::Unprocessed(_) | Fault::UnprocessedDeletes(_) => {
            let keep = writes.len() / 2;
            if keep == 0 {
                return (
                    200,
                    json!({ "UnprocessedItems": { table: writes } })
                        .to_string()
                        .into_bytes(),
                );
            }
            sent["RequestItems"][&table] = Value::Array(writes[..keep].to_vec());
            let (status, body) = forward(request, sent.to_string().as_bytes(), upstream);
            assert_eq!(
                status,
                200,
                "the emulator refused the trimmed batch: {}",
                String::from_utf8_lossy(&body)
            );
            let mut answer: Value = serde_json::from_slice(&body).unwrap();
            answer["UnprocessedItems"] = json!({ table: writes[keep..].to_vec() });
            (200, answer.to_string().into_bytes())
        }
    }
}

/// Write the first `allowed` requests and hand the rest back unprocessed; with none allowed,
/// refuse the call as DynamoDB does when it can process nothing.
fn throttled(
    request: &Request,
    upstream: &str,
    mut sent: Value,
    table: &str,
    writes: &[Value],
    allowed: usize,
) -> (u16, Vec<u8>) {
    if allowed == 0 {
        return (
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "the test's token bucket is empty"
            })
            .to_string()
            .into_bytes(),
        );
    }
    sent["RequestItems"][table] = Value::Array(writes[..allowed].to_vec());
    let (status, body) = forward(request, sent.to_string().as_bytes(), upstream);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut answer: Value = serde_json::from_slice(&body).unwrap();
    answer["UnprocessedItems"] = json!({ table: writes[allowed..].to_vec() });
    (200, answer.to_string().into_bytes())
}

/// Send the request (with this body) to moto; its status and body.
fn forward(request: &Request, body: &[u8], upstream: &str) -> (u16, Vec<u8>) {
    let mut server = TcpStream::connect(upstream).unwrap();
    let mut head = String::new();
    head.push_str(&request.head[0]);
    head.push_str("\r\n");
    for line in &request.head[1..] {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name != "content-length" && name != "connection" {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    server.write_all(head.as_bytes()).unwrap();
    server.write_all(body).unwrap();
    let mut response = Vec::new();
    server.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status_line = String::from_utf8_lossy(&response[..split])
        .lines()
        .next()
        .unwrap()
        .to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, response[split + 4..].to_vec())
}

/// A proxy whose BatchWriteItem calls never write: for tests that need a seed to hang on.
pub(crate) fn never_writing_proxy() -> String {
    let proxy = Proxy::start(Fault::NeverWrites);
    proxy.url.clone()
}

#[test]
fn unprocessed_items_are_retried_until_every_item_is_written() {
    let proxy = Proxy::start(Fault::Unprocessed(6));
    let (db, table) = ground_at("unprocessed", &proxy.url);
    let expected = 2 + fixture_lines().len();
    let report: SeedReport = cruddur(&["ddb", "seed", "--json"])
        .stack(&db, &table)
        .run()
        .json();
    assert_eq!(proxy.injected(), 6);
    assert_eq!(report.items, expected);
    assert!(report.retries >= 6, "{report:?}");
    assert_eq!(
        table.items().len(),
        expected,
        "every item reached the table"
    );
}

#[test]
fn deletes_handed_back_unprocessed_are_sent_again_as_deletes() {
    // `--replace` writes the new conversation, then deletes the old one's items. Handed back
    // unprocessed, a delete must come back as the delete it was, and be sent again.
    let proxy = Proxy::start(Fault::UnprocessedDeletes(4));
    let (db, table) = ground_at("unprocessed_deletes", &proxy.url);
    let expected = 2 + fixture_lines().len();
    cruddur(&["ddb", "seed", "-q", "--now", "2026-03-01T12:00:00Z"])
        .stack(&db, &table)
        .run();
    let report: SeedReport = cruddur(&[
        "ddb",
        "seed",
        "--json",
        "--replace",
        "--now",
        "2026-03-02T12:00:00Z",
    ])
    .stack(&db, &table)
    .run()
    .json();
    assert_eq!(proxy.injected(), 4);
    assert_eq!(report.deleted, expected);
    let items = table.items();
    assert_eq!(items.len(), expected);
    assert!(items
        .iter()
        .all(|item| item["sk"].starts_with("2026-03-02")));
}

#[test]
fn throttled_batches_are_retried_until_every_item_is_written() {
    let proxy = Proxy::start(Fault::Throttle(8));
    let (db, table) = ground_at("throttled", &proxy.url);
    let expected = 2 + fixture_lines().len();
    let report: SeedReport = cruddur(&["ddb", "seed", "--json", "--concurrency", "2"])
        .stack(&db, &table)
        .run()
        .json();
    assert_eq!(proxy.injected(), 8);
    assert_eq!(report.items, expected);
    assert_eq!(table.items().len(), expected);
}

#[test]
fn the_first_direct_call_not_answered_hands_the_write_to_the_sdk() {
    // The local stack's BatchWriteItem calls are made outside the SDK. The first one not
    // answered with HTTP 200 (here, throttled) turns that path off: the SDK sends that batch
    // again, and every batch after it; -v says so, once.
    let proxy = Proxy::start(Fault::Throttle(1));
    let (db, table) = ground_at("handed", &proxy.url);
    let expected = 2 + fixture_lines().len();
    let done = cruddur(&["-v", "ddb", "seed", "--concurrency", "1"])
        .stack(&db, &table)
        .run();
    let batches = expected.div_ceil(25);
    let mut makers = vec!["direct"];
    makers.extend(std::iter::repeat_n("sdk", batches));
    assert_eq!(proxy.makers(), makers);
    assert_eq!(table.items().len(), expected);
    // A fragment: -v also prints the plan, the endpoints and timings; the one line about the
    // hand-over is compared whole, and must come once.
    let handed: Vec<&str> = done
        .stderr
        .lines()
        .filter(|line| line.contains("made directly"))
        .collect();
    let line = format!(
        "DynamoDB at {}: a BatchWriteItem call made directly was not answered as expected \
         (HTTP 400: ProvisionedThroughputExceededException); it and every call after it go \
         through the SDK",
        proxy.url
    );
    assert_eq!(handed, [line.as_str()], "{}", done.stderr);
}

#[test]
fn every_direct_call_of_a_seed_is_made_directly_while_each_is_answered() {
    let proxy = Proxy::start(Fault::None);
    let (db, table) = ground_at("direct", &proxy.url);
    let expected = 2 + fixture_lines().len();
    cruddur(&["ddb", "seed", "-q"])
        .stack(&db, &table)
        .stderr_is("")
        .run();
    assert_eq!(proxy.makers(), vec!["direct"; expected.div_ceil(25)]);
    assert_eq!(table.items().len(), expected);
}

#[test]
fn items_that_never_get_written_are_reported_by_key() {
    let proxy = Proxy::start(Fault::NeverWrites);
    let (db, table) = ground_at("never", &proxy.url);
    let expected = 2 + fixture_lines().len();
    cruddur(&["ddb", "seed", "--max-retries", "2"])
        .stack(&db, &table)
        .code(1)
        .stderr_has(&format!("could not write {expected} items after 2 retries"))
        .stderr_has("MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 / ")
        .stderr_has(&format!("and {} more", expected - 10))
        .run();
    assert!(table.items().is_empty());
}

#[test]
fn calls_refused_as_a_whole_are_resent_and_reported_by_key() {
    // Every call refused with throttling: each batch is sent again as it was (its kept body),
    // and when the budget is spent its keys are named, read back from that body.
    let proxy = Proxy::start(Fault::Throttle(usize::MAX));
    let (db, table) = ground_at("refused", &proxy.url);
    let expected = 2 + fixture_lines().len();
    cruddur(&["ddb", "seed", "--max-retries", "2", "--concurrency", "2"])
        .stack(&db, &table)
        .code(1)
        .stderr_has(&format!("could not write {expected} items after 2 retries"))
        .stderr_has("MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 / ")
        .stderr_has(&format!("and {} more", expected - 10))
        .run();
    assert!(table.items().is_empty());
    // Each batch tried 3 times through the SDK, after the direct call(s) already in flight
    // when the first was refused.
    let makers = proxy.makers();
    let sdk = makers.iter().filter(|maker| **maker == "sdk").count();
    assert_eq!(sdk, 3 * expected.div_ceil(25), "{makers:?}");
    assert!((1..=2).contains(&(makers.len() - sdk)), "{makers:?}");
}
