//! The bulk write path: BatchWriteItem, 25 requests a call, several calls in flight.
//! Every UnprocessedItems entry and every throttling error is retried with exponential
//! backoff and full jitter; what is still unwritten when the retry budget is spent is
//! reported by key, never dropped silently.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::codec::WireRequest;
use super::items::{describe_key, describe_parts, Item};
use super::Ddb;
use crate::ops::DdbOp;
use crate::term::Progress;

/// DynamoDB's limit for one BatchWriteItem call.
pub(crate) const BATCH_SIZE: usize = 25;
const BACKOFF_BASE: Duration = Duration::from_millis(25);
const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// How long every call may fail to reach the endpoint before the endpoint counts as gone and
/// the whole write stops (instead of spending every batch's retry budget on it).
const DEAD_AFTER: Duration = Duration::from_secs(30);

/// How many calls may be in flight: it starts small, grows by one per window of calls while
/// they come back about as fast as the fastest seen (additive increase), and halves on
/// throttling (multiplicative decrease), between 1 and the --concurrency ceiling. Against a
/// distant endpoint it climbs to where latency stops paying; against a throttled partition
/// (about 1,000 writes/s on DynamoDB) it settles near the allowed rate instead of burning
/// its retries.
struct Window {
    ceiling: usize,
    state: Mutex<WindowState>,
    freed: tokio::sync::Notify,
    /// Requests written so far, by every writer: a batch that waits while others progress is
    /// waiting its turn at a partition's rate, not failing.
    written: std::sync::atomic::AtomicUsize,
}

struct WindowState {
    limit: f64,
    /// After throttling, no new call starts before this: the pace of a throttled partition.
    paused_until: Option<std::time::Instant>,
    in_flight: usize,
    fastest: Option<Duration>,
    last_cut: Option<std::time::Instant>,
    peak: usize,
}

/// Where the window starts.
const WINDOW_START: usize = 4;

impl Window {
    fn new(ceiling: usize) -> Window {
        Window {
            ceiling,
            state: Mutex::new(WindowState {
                limit: WINDOW_START.min(ceiling) as f64,
                paused_until: None,
                in_flight: 0,
                fastest: None,
                last_cut: None,
                peak: 0,
            }),
            freed: tokio::sync::Notify::new(),
            written: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn wrote(&self, n: usize) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    fn progress(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Wait for a place in the window.
    async fn enter(&self) {
        loop {
            let freed = self.freed.notified();
            let mut pause = None;
            if let Ok(mut state) = self.state.lock() {
                match state.paused_until {
                    Some(until) if until > std::time::Instant::now() => pause = Some(until),
                    _ => state.paused_until = None,
                }
                if pause.is_none() && state.in_flight < (state.limit as usize).max(1) {
                    state.in_flight += 1;
                    state.peak = state.peak.max(state.in_flight);
                    return;
                }
            } else {
                return;
            }
            match pause {
                Some(until) => tokio::time::sleep_until(until.into()).await,
                None => freed.await,
            }
        }
    }

    /// A call came back whole in `took`: grow while calls are about as fast as the fastest.
    fn leave_answered(&self, took: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state.in_flight = state.in_flight.saturating_sub(1);
            let fastest = *state.fastest.get_or_insert(took);
            state.fastest = Some(fastest.min(took));
            if took <= fastest * 2 + Duration::from_millis(2) {
                state.limit = (state.limit + 1.0 / state.limit).min(self.ceiling as f64);
            }
        }
        self.freed.notify_waiters();
    }

    /// A call was throttled (or had unprocessed items): halve, at most once per round trip.
    fn leave_throttled(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.in_flight = state.in_flight.saturating_sub(1);
            let round_trip = state
                .fastest
                .unwrap_or_default()
                .max(Duration::from_millis(20));
            let now = std::time::Instant::now();
            if state.last_cut.is_none_or(|at| at.elapsed() >= round_trip) {
                state.limit = (state.limit / 2.0).max(1.0);
                state.last_cut = Some(now);
            }
            // Let the partition refill before the next call: a few ms, jittered.
            let until = now + Duration::from_millis(5).mul_f64(1.0 + fastrand::f64());
            state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        }
        self.freed.notify_waiters();
    }

    /// A call failed otherwise: the window stays as it is.
    fn leave(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.freed.notify_waiters();
    }

    fn peak(&self) -> usize {
        self.state.lock().map_or(0, |s| s.peak)
    }
}

/// Whether the endpoint still answers: when connections have failed, with no success since,
/// for longer than [`DEAD_AFTER`], every writer stops.
#[derive(Default)]
struct Health {
    failing_since: Mutex<Option<std::time::Instant>>,
}

impl Health {
    fn answered(&self) {
        if let Ok(mut since) = self.failing_since.lock() {
            *since = None;
        }
    }

    /// A call could not reach the endpoint: true once it has been gone too long.
    fn unreachable(&self) -> bool {
        let Ok(mut since) = self.failing_since.lock() else {
            return true;
        };
        since.get_or_insert_with(std::time::Instant::now).elapsed() >= DEAD_AFTER
    }
}

/// How many calls in flight, and how many retries of one batch before giving up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchOptions {
    /// The ceiling of the adaptive window.
    pub concurrency: u16,
    /// Tries of one batch without progress before its keys are reported unwritten.
    pub max_retries: u32,
}

#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct BatchReport {
    /// Requests that DynamoDB accepted.
    pub written: usize,
    /// BatchWriteItem calls made.
    pub requests: usize,
    /// Calls that re-sent unprocessed or throttled requests.
    pub retries: usize,
    /// Keys still unwritten when the retry budget ran out.
    #[serde(skip)]
    pub failed: Vec<String>,
    /// Write capacity units consumed, the table's and its indexes' (as DynamoDB counts them).
    pub capacity_units: f64,
    /// The most calls that were in flight at once (the adaptive window's peak).
    pub peak_in_flight: usize,
}

/// One write of a batch: a request the SDK's types hold, or a put whose item is already its
/// wire JSON (`{"pk":{"S":…},…}`), as the seed writes its messages: made straight from the
/// fixture's lines, never built as attribute maps.
pub(crate) enum Request {
    Sdk(WriteRequest),
    PutJson(String),
}

impl Request {
    /// A request as DynamoDB gives it back unprocessed (`{"PutRequest":{"Item":…}}` or
    /// `{"DeleteRequest":{"Key":…}}`).
    fn from_wire(request: serde_json::Value) -> Result<Request> {
        if let Some(item) = request.get("PutRequest").and_then(|put| put.get("Item")) {
            return Ok(Request::PutJson(item.to_string()));
        }
        if let Some(key) = request.get("DeleteRequest").and_then(|d| d.get("Key")) {
            let key = super::codec::from_json_line(&key.to_string(), true)
                .map_err(|e| anyhow!("an unprocessed delete's key: {e}"))?;
            return delete(key);
        }
        Err(anyhow!(
            "an unprocessed request is neither a put nor a delete"
        ))
    }
}

pub(crate) fn put(item: Item) -> Result<Request> {
    let request = PutRequest::builder().set_item(Some(item)).build()?;
    Ok(Request::Sdk(
        WriteRequest::builder().put_request(request).build(),
    ))
}

pub(crate) fn delete(key: Item) -> Result<Request> {
    let request = DeleteRequest::builder().set_key(Some(key)).build()?;
    Ok(Request::Sdk(
        WriteRequest::builder().delete_request(request).build(),
    ))
}

/// Write every request; an error only for a failure no retry can mend (a missing table,
/// bad credentials). Unwritten keys after the budget are in `failed`, for the caller to report.
pub(crate) async fn write_all(
    ddb: &Ddb,
    requests: Vec<Request>,
    options: BatchOptions,
    progress: &Arc<Progress>,
) -> Result<BatchReport> {
    write_stream(ddb, requests.into_iter().map(Ok), options, progress).await
}

/// On a recording store (unit tests): every request the iterator gives, counted as sent, 25
/// a call, and kept as one [`DdbOp::BatchWrite`]; an `Err` from the iterator stops it, as it
/// stops the writing.
fn recorded(ddb: &Ddb, requests: impl Iterator<Item = Result<Request>>) -> Result<BatchReport> {
    let (mut puts, mut deletes) = (0usize, 0usize);
    for request in requests {
        match request? {
            Request::PutJson(_) => puts += 1,
            Request::Sdk(request) if request.delete_request().is_some() => deletes += 1,
            Request::Sdk(_) => puts += 1,
        }
    }
    let requests = (puts + deletes).div_ceil(BATCH_SIZE);
    ddb.recorded(DdbOp::BatchWrite {
        puts,
        deletes,
        requests,
    });
    Ok(BatchReport {
        written: puts + deletes,
        requests,
        ..BatchReport::default()
    })
}

/// Write every request the iterator gives, 25 a call, `concurrency` calls in flight. The
/// iterator is read only as fast as the writes go (a queue of a few batches between them),
/// so memory does not grow with the input. An `Err` from the iterator stops the writing.
pub(crate) async fn write_stream(
    ddb: &Ddb,
    requests: impl Iterator<Item = Result<Request>>,
    options: BatchOptions,
    progress: &Arc<Progress>,
) -> Result<BatchReport> {
    if ddb.is_recording() {
        return recorded(ddb, requests);
    }
    let concurrency = usize::from(options.concurrency.max(1));
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<Request>>(concurrency * 2);
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let report = Arc::new(Mutex::new(BatchReport::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let health = Arc::new(Health::default());
    let window = Arc::new(Window::new(concurrency));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (receiver, report, progress, stop, health, window) = (
            receiver.clone(),
            report.clone(),
            progress.clone(),
            stop.clone(),
            health.clone(),
            window.clone(),
        );
        let client = ddb.bulk.clone();
        let direct = ddb.direct.clone();
        let table = ddb.table.clone();
        let endpoint = ddb.endpoint.clone();
        workers.spawn(async move {
            loop {
                if crate::interrupt::requested() || stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let Some(batch) = receiver.lock().await.recv().await else {
                    return Ok::<(), anyhow::Error>(());
                };
                let target = Sink {
                    client: &client,
                    direct: direct.as_deref(),
                    table: &table,
                    endpoint: &endpoint,
                    health: &health,
                    stop: &stop,
                    window: &window,
                };
                let outcome = write_batch(&target, batch, options.max_retries).await;
                progress.add(outcome.written);
                let mut report = report
                    .lock()
                    .map_err(|_| anyhow!("internal: report poisoned"))?;
                report.requests += outcome.requests;
                report.retries += outcome.retries;
                report.written += outcome.written;
                report.capacity_units += outcome.capacity_units;
                report.failed.extend(outcome.unwritten);
                if let Some(error) = outcome.error {
                    // Stop the others early: nothing more is sent once one batch cannot be.
                    stop.store(true, Ordering::SeqCst);
                    return Err(error);
                }
            }
        });
    }

    // Only the writers hold the queue's receiving end now: when they all stop (Ctrl-C, a
    // hard error) the queue closes and the reading below stops too.
    drop(receiver);
    let mut given = 0usize;
    let mut input_error = None;
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    for request in requests {
        if crate::interrupt::requested() || stop.load(Ordering::SeqCst) {
            break;
        }
        match request {
            Ok(request) => batch.push(request),
            Err(error) => {
                input_error = Some(error);
                break;
            }
        }
        given += 1;
        if batch.len() == BATCH_SIZE && sender.send(std::mem::take(&mut batch)).await.is_err() {
            break;
        }
    }
    if !batch.is_empty() && input_error.is_none() {
        let _ = sender.send(batch).await;
    }
    drop(sender);

    let mut first_error = input_error;
    while let Some(joined) = workers.join_next().await {
        let result = joined.map_err(|e| anyhow!("internal: a writer task failed: {e}"))?;
        if let Err(error) = result {
            first_error.get_or_insert(error);
        }
    }
    progress.finish();

    let mut report = std::mem::take(
        &mut *report
            .lock()
            .map_err(|_| anyhow!("internal: report poisoned"))?,
    );
    report.peak_in_flight = window.peak();
    if let (None, Some(signal)) = (&first_error, crate::interrupt::signal()) {
        // Retries cut short by a signal are not failures of the budget.
        report.failed.clear();
        return Err(crate::interrupt::stopped(
            signal,
            format!(
                "{} writes were done, the rest were not; run it again to finish",
                report.written
            ),
        ));
    }
    match first_error {
        Some(error) => Err(anyhow!(
            "{error:#}; {} of the {given} writes read so far were done before the failure",
            report.written
        )),
        None => Ok(report),
    }
}

struct BatchOutcome {
    written: usize,
    capacity_units: f64,
    requests: usize,
    retries: usize,
    /// Keys still unwritten, described (`pk / sk`).
    unwritten: Vec<String>,
    error: Option<anyhow::Error>,
}

/// What is left to send of one batch: requests not sent yet (the batch as it came, or what a
/// call handed back unprocessed), or the exact body of a call that failed as a whole. A retry
/// resends those bytes: the items are never copied to keep them for a retry, which was the
/// write path's main cost.
enum Pending {
    Requests(Vec<Request>),
    Sent { body: bytes::Bytes, count: usize },
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Requests(requests) => requests.len(),
            Pending::Sent { count, .. } => *count,
        }
    }

    /// The keys, for a report of what was not written.
    fn describe(&self) -> Vec<String> {
        match self {
            Pending::Requests(requests) => requests.iter().map(describe_request).collect(),
            Pending::Sent { body, count } => {
                describe_body(body).unwrap_or_else(|| vec![format!("{count} items of one batch")])
            }
        }
    }
}

/// Where one writer writes, and what all writers share.
struct Sink<'a> {
    client: &'a aws_sdk_dynamodb::Client,
    direct: Option<&'a super::direct::Direct>,
    table: &'a str,
    endpoint: &'a str,
    health: &'a Health,
    stop: &'a AtomicBool,
    window: &'a Window,
}

/// The body of a BatchWriteItem call, as the DynamoDB wire protocol has it: the writer sends
/// it itself (see [`super::codec::WireRequest`]), and asks for the consumed capacity it
/// reports. A [`Request::PutJson`] goes in as it is.
fn batch_body(table: &str, requests: &[Request]) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(requests.len() * 512);
    body.extend_from_slice(b"{\"RequestItems\":{");
    serde_json::to_writer(&mut body, table)?;
    body.extend_from_slice(b":[");
    for (at, request) in requests.iter().enumerate() {
        if at > 0 {
            body.push(b',');
        }
        match request {
            Request::Sdk(request) => serde_json::to_writer(&mut body, &WireRequest(request))?,
            Request::PutJson(item) => {
                body.extend_from_slice(b"{\"PutRequest\":{\"Item\":");
                body.extend_from_slice(item.as_bytes());
                body.extend_from_slice(b"}}");
            }
        }
    }
    body.extend_from_slice(b"]},\"ReturnConsumedCapacity\":\"TOTAL\"}");
    Ok(body)
}

/// What one BatchWriteItem call was answered with: the capacity it consumed and the
/// requests it left unprocessed, to send again.
struct Answer {
    capacity_units: f64,
    left: Vec<Request>,
}

type CallError = SdkError<
    aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

/// One BatchWriteItem with this body: made directly while that path is on (the local stack,
/// [`super::direct`]), else through the SDK, as is a direct call that was not answered
/// as expected (the direct path is then off).
async fn call(
    target: &Sink<'_>,
    body: bytes::Bytes,
    requests: &mut usize,
) -> std::result::Result<Answer, CallError> {
    if let Some(direct) = target.direct.filter(|direct| direct.is_on()) {
        if let Ok(answered) = direct.batch_write_item(body.clone()).await {
            let left: Result<Vec<Request>> = answered
                .unprocessed
                .into_iter()
                .map(Request::from_wire)
                .collect();
            match left {
                Ok(left) => {
                    return Ok(Answer {
                        capacity_units: answered.capacity_units,
                        left,
                    })
                }
                // Sent again whole through the SDK: a write of whole items, done twice, is
                // the same write.
                Err(why) => direct.give_up(&format!("{why:#}")),
            }
        }
        // Made again through the SDK: one more call.
        *requests += 1;
    }
    let output = send(target, body).await?;
    Ok(Answer {
        capacity_units: output
            .consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum::<f64>(),
        left: output
            .unprocessed_items
            .and_then(|mut items| items.remove(target.table))
            .unwrap_or_default()
            .into_iter()
            .map(Request::Sdk)
            .collect(),
    })
}

/// Send one BatchWriteItem with this body (made by [`batch_body`]): the SDK
/// builds the call around an empty request, and the body is put in before it is signed.
async fn send(
    target: &Sink<'_>,
    body: bytes::Bytes,
) -> std::result::Result<
    aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput,
    CallError,
> {
    // `client` is the one without the SDK's own retries: its throttling backoff (up to
    // seconds) would stall the window, which sets the pace itself.
    target
        .client
        .batch_write_item()
        .request_items(target.table, Vec::new())
        .customize()
        .mutate_request(move |request| {
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = body.clone().into();
        })
        .send()
        .await
}

async fn write_batch(target: &Sink<'_>, batch: Vec<Request>, max_retries: u32) -> BatchOutcome {
    let table = target.table;
    let mut outcome = BatchOutcome {
        written: 0,
        capacity_units: 0.0,
        requests: 0,
        retries: 0,
        unwritten: Vec::new(),
        error: None,
    };
    let mut pending = Pending::Requests(batch);
    let mut attempt = 0u32;
    loop {
        outcome.requests += 1;
        let sent = pending.len();
        let progress_before = target.window.progress();
        target.window.enter().await;
        let started = std::time::Instant::now();
        let body = match pending {
            Pending::Sent { body, .. } => body,
            Pending::Requests(requests) => match batch_body(table, &requests) {
                Ok(body) => bytes::Bytes::from(body),
                Err(error) => {
                    target.window.leave();
                    outcome.unwritten = requests.iter().map(describe_request).collect();
                    outcome.error = Some(anyhow!("cannot serialize a batch: {error}"));
                    return outcome;
                }
            },
        };
        let answer = call(target, body.clone(), &mut outcome.requests).await;
        // What was sent, to send again if the call failed as a whole.
        let again = Some(Pending::Sent { body, count: sent });
        match answer {
            Ok(Answer {
                capacity_units,
                left,
            }) => {
                target.health.answered();
                outcome.capacity_units += capacity_units;
                outcome.written += sent - left.len();
                target.window.wrote(sent - left.len());
                if left.is_empty() {
                    target.window.leave_answered(started.elapsed());
                    return outcome;
                }
                target.window.leave_throttled();
                let progressed = left.len() < sent;
                pending = Pending::Requests(left);
                if progressed {
                    // Progress: the window (now smaller) sets the pace, not a sleep; the
                    // retry budget is for a batch that gets nowhere.
                    attempt = 0;
                    if crate::interrupt::requested() || target.stop.load(Ordering::SeqCst) {
                        outcome.unwritten = pending.describe();
                        return outcome;
                    }
                    outcome.retries += 1;
                    continue;
                }
            }
            Err(error) => {
                // A call that failed as a whole is sent again as it was.
                let Some(again) = again else {
                    target.window.leave();
                    outcome.unwritten = vec![format!("{sent} items of one batch")];
                    outcome.error = Some(crate::aws::explain(
                        "BatchWriteItem",
                        &format!("DynamoDB at {}", target.endpoint),
                        &error,
                    ));
                    return outcome;
                };
                pending = again;
                if is_throttling(&error) {
                    target.window.leave_throttled();
                    target.health.answered();
                } else if unreachable(&error) {
                    target.window.leave();
                    if target.health.unreachable() {
                        outcome.unwritten = pending.describe();
                        outcome.error = Some(anyhow!(
                            "DynamoDB at {} stopped answering: no call has reached it for {}s ({})",
                            target.endpoint,
                            DEAD_AFTER.as_secs(),
                            crate::aws::explain("BatchWriteItem", target.endpoint, &error)
                        ));
                        return outcome;
                    }
                } else if retryable(&error) {
                    target.window.leave();
                    target.health.answered();
                } else {
                    target.window.leave();
                    outcome.unwritten = pending.describe();
                    outcome.error = Some(match error.code() {
                        Some("ResourceNotFoundException") => anyhow!(
                            "table `{table}` does not exist at {}; create it with `cruddur ddb schema-load`",
                            target.endpoint
                        ),
                        _ => crate::aws::explain(
                            "BatchWriteItem",
                            &format!("DynamoDB at {}", target.endpoint),
                            &error,
                        ),
                    });
                    return outcome;
                }
            }
        }
        if target.window.progress() > progress_before {
            // Others wrote meanwhile: the table is taking writes at its own pace, and this
            // batch waits its turn rather than spending its budget.
            attempt = 0;
        }
        if attempt >= max_retries
            || crate::interrupt::requested()
            || target.stop.load(Ordering::SeqCst)
        {
            outcome.unwritten = pending.describe();
            return outcome;
        }
        attempt += 1;
        outcome.retries += 1;
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// The keys of a kept BatchWriteItem body (`{"RequestItems":{"t":[{"PutRequest":{"Item":…}}]}}`),
/// described as [`describe_request`] does; None if it cannot be read.
fn describe_body(body: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let tables = value.get("RequestItems")?.as_object()?;
    let key = |item: &serde_json::Value| {
        let part = |name: &str| {
            item.get(name)
                .and_then(|v| v.get("S"))
                .and_then(|v| v.as_str())
                .unwrap_or("?")
        };
        describe_parts(part("pk"), part("sk"))
    };
    Some(
        tables
            .values()
            .filter_map(|requests| requests.as_array())
            .flatten()
            .map(
                |request| match (request.get("PutRequest"), request.get("DeleteRequest")) {
                    (Some(put), _) => key(put.get("Item").unwrap_or(&serde_json::Value::Null)),
                    (_, Some(delete)) => format!(
                        "delete {}",
                        key(delete.get("Key").unwrap_or(&serde_json::Value::Null))
                    ),
                    _ => "?".into(),
                },
            )
            .collect(),
    )
}

/// The call never reached the endpoint (refused, reset, no answer).
fn unreachable<E, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    )
}

/// DynamoDB said "slower": the window halves.
fn is_throttling<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error.code(),
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "LimitExceededException"
        )
    )
}

/// Throttling, a busy or failing service, a dropped connection: worth another try.
fn retryable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(_) => matches!(
            error.code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "LimitExceededException"
            )
        ),
        _ => false,
    }
}

/// Full jitter: a random wait up to base·2^attempt, capped.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

fn describe_request(request: &Request) -> String {
    let request = match request {
        Request::Sdk(request) => request,
        Request::PutJson(json) => {
            return super::codec::from_json_line(json, true)
                .map_or_else(|_| "?".into(), |item| describe_key(&item))
        }
    };
    match (request.put_request(), request.delete_request()) {
        (Some(put), _) => describe_key(put.item()),
        (_, Some(delete)) => format!("delete {}", describe_key(delete.key())),
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unprocessed_request_comes_back_as_the_request_it_was() {
        let put = json_request(r#"{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"S":"1"}}}}"#);
        let delete = json_request(r#"{"DeleteRequest":{"Key":{"pk":{"S":"b"},"sk":{"S":"2"}}}}"#);
        let described: Vec<String> = [put, delete]
            .into_iter()
            .map(|request| describe_request(&Request::from_wire(request).expect("a request")))
            .collect();
        assert_eq!(
            described,
            [
                describe_parts("a", "1"),
                format!("delete {}", describe_parts("b", "2"))
            ]
        );
        let neither = Request::from_wire(json_request(r#"{"UpdateRequest":{}}"#))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            neither.as_deref(),
            Some("an unprocessed request is neither a put nor a delete")
        );
    }

    fn json_request(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("JSON")
    }

    #[test]
    fn a_batch_body_is_the_wire_format_of_every_attribute_type() {
        let item: Item = [
            (
                "s",
                aws_sdk_dynamodb::types::AttributeValue::S(
                    "a \"quoted\" \\ line\n\u{1b}[2J é".into(),
                ),
            ),
            (
                "n",
                aws_sdk_dynamodb::types::AttributeValue::N("-1.5e3".into()),
            ),
            ("t", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
            ("z", aws_sdk_dynamodb::types::AttributeValue::Null(true)),
            (
                "b",
                aws_sdk_dynamodb::types::AttributeValue::B(
                    aws_sdk_dynamodb::primitives::Blob::new(b"hi!?".to_vec()),
                ),
            ),
            (
                "l",
                aws_sdk_dynamodb::types::AttributeValue::L(vec![
                    aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
                ]),
            ),
            (
                "m",
                aws_sdk_dynamodb::types::AttributeValue::M(
                    [(
                        "k".to_string(),
                        aws_sdk_dynamodb::types::AttributeValue::S("v".into()),
                    )]
                    .into(),
                ),
            ),
            (
                "ss",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["x".into()]),
            ),
            (
                "ns",
                aws_sdk_dynamodb::types::AttributeValue::Ns(vec!["2".into()]),
            ),
            (
                "bs",
                aws_sdk_dynamodb::types::AttributeValue::Bs(vec![
                    aws_sdk_dynamodb::primitives::Blob::new(b"\x00".to_vec()),
                ]),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let key: Item = [(
            "pk".to_string(),
            aws_sdk_dynamodb::types::AttributeValue::S("MSG#1".into()),
        )]
        .into();
        let requests = [put(item).unwrap(), delete(key).unwrap()];
        let body: serde_json::Value =
            serde_json::from_slice(&batch_body("t", &requests).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "RequestItems": {"t": [
                    {"PutRequest": {"Item": {
                        "s": {"S": "a \"quoted\" \\ line\n\u{1b}[2J é"},
                        "n": {"N": "-1.5e3"},
                        "t": {"BOOL": true},
                        "z": {"NULL": true},
                        "b": {"B": "aGkhPw=="},
                        "l": {"L": [{"N": "1"}]},
                        "m": {"M": {"k": {"S": "v"}}},
                        "ss": {"SS": ["x"]},
                        "ns": {"NS": ["2"]},
                        "bs": {"BS": ["AA=="]}
                    }}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "MSG#1"}}}}
                ]},
                "ReturnConsumedCapacity": "TOTAL"
            })
        );
    }

    #[test]
    fn a_kept_body_names_its_keys() {
        let body = br#"{"RequestItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"MSG#g"},"sk":{"S":"2026"},"message":{"S":"m"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"GRP#u"},"sk":{"S":"2025"}}}}]}}"#;
        assert_eq!(
            describe_body(body).unwrap(),
            ["MSG#g / 2026", "delete GRP#u / 2025"]
        );
        assert_eq!(describe_body(b"not json"), None);
        let kept = Pending::Sent {
            body: bytes::Bytes::from_static(b"{}"),
            count: 3,
        };
        assert_eq!(kept.describe(), ["3 items of one batch"]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..40 {
            let wait = backoff(attempt);
            assert!(wait <= BACKOFF_CAP, "{attempt}: {wait:?}");
            assert!(
                wait <= BACKOFF_BASE * 2u32.pow(attempt.min(10)),
                "{attempt}: {wait:?}"
            );
        }
    }
}
