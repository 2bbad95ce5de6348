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

#[derive(Clone, Copy)]
enum Fault {
    /// The first `n` BatchWriteItem calls write only half their items.
    Unprocessed(usize),
    /// The first `n` BatchWriteItem calls are refused with ProvisionedThroughputExceeded.
    Throttle(usize),
    /// Every BatchWriteItem call writes nothing.
    NeverWrites,
}

struct Proxy {
    url: String,
    injected: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = crate::harness::ddb_url().trim_start_matches("http://").to_string();
        let injected = Arc::new(AtomicUsize::new(0));
        let counter = injected.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (upstream, counter) = (upstream.clone(), counter.clone());
                std::thread::spawn(move || serve(stream, &upstream, fault, &counter));
            }
        });
        Proxy { url, injected }
    }

    fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
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
fn serve(stream: TcpStream, upstream: &str, fault: Fault, injected: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut client = stream;
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let target = header(&request.head, "x-amz-target")
        .unwrap_or("")
        .to_string();
    let (status, body) = if target.ends_with(".BatchWriteItem") {
        batch_write(&request, upstream, fault, injected)
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

fn batch_write(
    request: &Request,
    upstream: &str,
    fault: Fault,
    injected: &AtomicUsize,
) -> (u16, Vec<u8>) {
    let call = injected.load(Ordering::SeqCst);
    let inject = match fault {
        Fault::Unprocessed(n) | Fault::Throttle(n) => call < n,
        Fault::NeverWrites => true,
    };
    if !inject {
        return forward(request, &request.body, upstream);
    }
    injected.fetch_add(1, Ordering::SeqCst);
    let mut sent: Value = serde_json::from_slice(&request.body).unwrap();
    let (table, writes) = {
        let items = sent["RequestItems"].as_object().unwrap();
        let (table, writes) = items.iter().next().unwrap();
        (table.clone(), writes.as_array().unwrap().clone())
    };
    match fault {
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
        Fault::Unprocessed(_) => {
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
                "moto refused the trimmed batch: {}",
                String::from_utf8_lossy(&body)
            );
            let mut answer: Value = serde_json::from_slice(&body).unwrap();
            answer["UnprocessedItems"] = json!({ table: writes[keep..].to_vec() });
            (200, answer.to_string().into_bytes())
        }
    }
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
pub fn never_writing_proxy() -> String {
    let proxy = Proxy::start(Fault::NeverWrites);
    proxy.url.clone()
}

#[test]
fn unprocessed_items_are_retried_until_every_item_is_written() {
    let proxy = Proxy::start(Fault::Unprocessed(6));
    let (db, table) = ground_at("unprocessed", &proxy.url);
    let expected = 2 + fixture_lines().len();
    let report: Value = cruddur(&["ddb", "seed", "--json"])
        .db(&db)
        .table(&table)
        .run()
        .success()
        .json();
    assert_eq!(proxy.injected(), 6);
    assert_eq!(report["items"], expected);
    assert!(report["retries"].as_u64().unwrap() >= 6, "{report}");
    assert_eq!(
        table.items().len(),
        expected,
        "every item reached the table"
    );
}

#[test]
fn throttled_batches_are_retried_until_every_item_is_written() {
    let proxy = Proxy::start(Fault::Throttle(8));
    let (db, table) = ground_at("throttled", &proxy.url);
    let expected = 2 + fixture_lines().len();
    let report: Value = cruddur(&["ddb", "seed", "--json", "--concurrency", "2"])
        .db(&db)
        .table(&table)
        .run()
        .success()
        .json();
    assert_eq!(proxy.injected(), 8);
    assert_eq!(report["items"], expected);
    assert_eq!(table.items().len(), expected);
}

#[test]
fn items_that_never_get_written_are_reported_by_key() {
    let proxy = Proxy::start(Fault::NeverWrites);
    let (db, table) = ground_at("never", &proxy.url);
    let done = cruddur(&["ddb", "seed", "--max-retries", "2"])
        .db(&db)
        .table(&table)
        .run()
        .code(1);
    let expected = 2 + fixture_lines().len();
    done.stderr_has(&format!("could not write {expected} items after 2 retries"))
        .stderr_has("MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 / ")
        .stderr_has(&format!("and {} more", expected - 10));
    assert!(table.items().is_empty());
}
