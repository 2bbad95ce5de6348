//! The bulk writer's BatchWriteItem calls to the local stack's DynamoDB, made directly: the
//! body the writer built, signed with SigV4 by the SDK's own signing crate, sent to the URL
//! the SDK would use on a connector made as the SDK's are (`aws::connector_for`: the same
//! proxy rules, TLS and connect timeout, a pool of its own), the answer read from its JSON.
//!
//! Why: around each call the SDK runs its per-call machinery (configuration layers,
//! interceptors, the user agent, endpoint rules, tracing, the output's parse). On a
//! 100,000-message seed against a local emulator that was the largest part of cruddur's own
//! CPU, fixed per call by the 25-item limit (BENCHMARKS.md, section 1).
//!
//! Where: only an endpoint of the local stack (local mode). Calls to AWS go through the SDK,
//! which brings AWS's endpoint rules and refreshing credentials. And the first call that is
//! not answered with HTTP 200 turns this path off for the rest of the process (the `Ddb` it
//! belongs to): that call is made again through the SDK, and from then on the writer sees
//! the SDK's answers (an error in its words, throttling, an endpoint gone) as it always has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::config::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;

use crate::printer::Printer;

/// DynamoDB's JSON protocol: the operation is named in a header.
const TARGET: &str = "DynamoDB_20120810.BatchWriteItem";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// A local call takes milliseconds; one that takes this long is given to the SDK, whose
/// own timeouts and words then apply (so an endpoint that stops answering is given up on
/// this much later, once).
const PATIENCE: Duration = Duration::from_secs(10);

/// The direct path to one endpoint, on until a call is not answered with HTTP 200.
pub(crate) struct Direct {
    connector: aws_smithy_http_client::Connector,
    /// Where the calls go: [`call_url`].
    url: String,
    /// The endpoint, as every message names it.
    endpoint: String,
    region: String,
    identity: Identity,
    on: AtomicBool,
    printer: Printer,
}

/// What DynamoDB answered a BatchWriteItem with.
pub(crate) struct Answered {
    pub(crate) capacity_units: f64,
    /// The requests it did not process, as it gave them back (`{"PutRequest":{"Item":…}}`).
    pub(crate) unprocessed: Vec<serde_json::Value>,
}

impl Direct {
    pub(crate) fn new(
        endpoint: &str,
        region: &str,
        credentials: Credentials,
        printer: Printer,
    ) -> Result<Direct> {
        Ok(Direct {
            connector: crate::aws::connector_for(endpoint)?,
            url: call_url(endpoint),
            endpoint: endpoint.to_string(),
            region: region.to_string(),
            identity: credentials.into(),
            on: AtomicBool::new(true),
            printer,
        })
    }

    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Send one BatchWriteItem with `body`, the request's whole JSON. Err: it was not answered
    /// with HTTP 200 (why is said with -v); the path is then off, and the caller sends it
    /// through the SDK.
    pub(crate) async fn batch_write_item(&self, body: Bytes) -> Result<Answered, ()> {
        let answer = match tokio::time::timeout(PATIENCE, self.call(body)).await {
            Ok(answer) => answer,
            Err(_) => Err(anyhow!("no answer within {} s", PATIENCE.as_secs())),
        };
        answer.map_err(|why| self.give_up(&format!("{why:#}")))
    }

    /// Turn the path off for the rest of the process, saying why with -v.
    pub(crate) fn give_up(&self, why: &str) {
        if self.on.swap(false, Ordering::Relaxed) {
            self.printer.detail(format!(
                "DynamoDB at {}: a BatchWriteItem call made directly was not answered as \
                 expected ({why}); it and every call after it go through the SDK",
                self.endpoint
            ));
        }
    }

    async fn call(&self, body: Bytes) -> Result<Answered> {
        let request = self.signed(body)?;
        let response = self
            .connector
            .call(request)
            .await
            // Its kind only: the connector's own words may name a proxy, with its password.
            .map_err(|e| {
                anyhow!(if e.is_timeout() {
                    "the call timed out"
                } else if e.is_io() {
                    "the connection failed"
                } else {
                    "the call failed"
                })
            })?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| anyhow!("the answer could not be read: {e}"))?
            .into_bytes();
        if status != 200 {
            return Err(anyhow!("HTTP {status}{}", error_type(&bytes)));
        }
        read_answer(&bytes)
    }

    /// The POST with its SigV4 signature (the SDK's own signing crate and its settings for
    /// DynamoDB: the body's SHA-256 signed, no payload header).
    fn signed(&self, body: Bytes) -> Result<HttpRequest> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| anyhow!("could not sign: {e}"))?
            .into();
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", TARGET)];
        let signable = SignableRequest::new(
            "POST",
            &self.url,
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| anyhow!("could not sign: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| anyhow!("could not sign: {e}"))?
            .into_parts();
        let mut request = http::Request::post(&self.url)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", TARGET)
            .header("content-length", body.len())
            .header("user-agent", concat!("cruddur/", env!("CARGO_PKG_VERSION")))
            .body(SdkBody::from(body))?;
        instructions.apply_to_request_http1x(&mut request);
        HttpRequest::try_from(request).map_err(|e| anyhow!("could not make the request: {e}"))
    }
}

/// The URL of a call to `endpoint`, as the SDK makes it: the endpoint's path joined with the
/// operation's `/`, its query left out.
fn call_url(endpoint: &str) -> String {
    let before_query = endpoint.split(['?', '#']).next().unwrap_or(endpoint);
    format!("{}/", before_query.trim_end_matches('/'))
}

/// `: ` and the error's type from an error answer's `__type` (`…#ThrottlingException`), or
/// nothing: only that is said, never the body (which may echo what was sent).
fn error_type(bytes: &[u8]) -> String {
    let kind = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(String::from));
    match kind {
        Some(kind) => {
            let name = kind.rsplit('#').next().unwrap_or(&kind);
            format!(": {}", crate::text::visible(name))
        }
        None => String::new(),
    }
}

/// BatchWriteItem's output: the capacity it consumed and what it left unprocessed.
fn read_answer(bytes: &[u8]) -> Result<Answered> {
    #[derive(serde::Deserialize)]
    struct Output {
        #[serde(rename = "ConsumedCapacity", default)]
        consumed: Vec<Consumed>,
        #[serde(rename = "UnprocessedItems", default)]
        unprocessed: serde_json::Map<String, serde_json::Value>,
    }
    #[derive(serde::Deserialize)]
    struct Consumed {
        #[serde(rename = "CapacityUnits", default)]
        units: Option<f64>,
    }
    let output: Output = serde_json::from_slice(bytes)
        .map_err(|e| anyhow!("the answer is not BatchWriteItem's JSON: {e}"))?;
    let mut unprocessed = Vec::new();
    for (table, requests) in output.unprocessed {
        let serde_json::Value::Array(requests) = requests else {
            return Err(anyhow!("UnprocessedItems of `{table}` is not a list"));
        };
        unprocessed.extend(requests);
    }
    Ok(Answered {
        capacity_units: output.consumed.iter().filter_map(|c| c.units).sum(),
        unprocessed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_goes_where_the_sdk_would_send_it() {
        let cases = [
            ("http://localhost:8000", "http://localhost:8000/"),
            ("http://localhost:8000/", "http://localhost:8000/"),
            ("http://10.0.0.5:4566/ddb", "http://10.0.0.5:4566/ddb/"),
            ("https://ddb.example/ddb/?x=1", "https://ddb.example/ddb/"),
        ];
        let made: Vec<(&str, String)> = cases.iter().map(|(e, _)| (*e, call_url(e))).collect();
        let expected: Vec<(&str, String)> =
            cases.iter().map(|(e, u)| (*e, u.to_string())).collect();
        assert_eq!(made, expected);
    }

    #[test]
    fn an_error_answer_is_said_by_its_type_only() {
        let said = [
            &br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"x-amz-security-token: s3cr3t"}"#[..],
            b"<?xml version=\"1.0\"?><Error>SignatureDoesNotMatch</Error>",
            b"{\"__type\":\"a#\\u001b[2Jodd\"}",
        ]
        .map(error_type);
        assert_eq!(
            said,
            [
                ": ThrottlingException".to_string(),
                String::new(),
                ": \\x1b[2Jodd".to_string()
            ]
        );
    }

    #[test]
    fn an_answer_gives_its_capacity_and_what_it_left() {
        let answer = read_answer(
            br#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":12.5}],
                "UnprocessedItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}},
                {"DeleteRequest":{"Key":{"pk":{"S":"b"}}}}]}}"#,
        )
        .expect("an answer");
        assert_eq!(answer.capacity_units, 12.5);
        assert_eq!(
            serde_json::Value::Array(answer.unprocessed).to_string(),
            r#"[{"PutRequest":{"Item":{"pk":{"S":"a"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"b"}}}}]"#
        );
        let empty = read_answer(b"{}").expect("an answer with nothing in it");
        assert_eq!((empty.capacity_units, empty.unprocessed.len()), (0.0, 0));
        let wrong = read_answer(br#"{"UnprocessedItems":{"t":{}}}"#)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            wrong.as_deref(),
            Some("UnprocessedItems of `t` is not a list")
        );
    }
}
