//! The one thing cruddur reads from S3 itself, without an S3 SDK: a small object (an export's
//! manifest), by a GET signed with SigV4. On AWS the bucket's own host; on any other endpoint
//! (an emulator) path-style, `ENDPOINT/BUCKET/KEY`. Through the proxy of the URL's scheme.

use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::config::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

/// The most a small object may be.
const LIMIT: u64 = 1 << 20;

/// Where the object is asked for: AWS (the bucket's host in `region`), or `endpoint`.
pub(crate) struct S3Endpoint<'a> {
    pub(crate) endpoint: Option<&'a str>,
    pub(crate) region: &'a str,
}

/// `s3://bucket/key`'s bytes; None when there is no such object.
pub(crate) fn get(
    credentials: Credentials,
    at: &S3Endpoint<'_>,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>> {
    let path: Vec<String> = key.split('/').map(escape).collect();
    let path = path.join("/");
    let domain = if at.region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let url = match at.endpoint {
        Some(endpoint) => format!("{}/{bucket}/{path}", endpoint.trim_end_matches('/')),
        // A bucket with a dot in its name would not match the wildcard certificate.
        None if bucket.contains('.') => {
            format!("https://s3.{}.{domain}/{bucket}/{path}", at.region)
        }
        None => format!("https://{bucket}.s3.{}.{domain}/{path}", at.region),
    };
    let shown = format!("s3://{bucket}/{key}");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(at.region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| anyhow!("could not sign the GET of {shown}: {e}"))?
        .into();
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| anyhow!("could not sign the GET of {shown}: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| anyhow!("could not sign the GET of {shown}: {e}"))?
        .into_parts();
    let mut request = http::Request::get(&url).body(())?;
    instructions.apply_to_request_http1x(&mut request);

    let proxy = crate::proxy::for_url(&url)
        .map(|p| {
            ureq::Proxy::new(&p.url).map_err(|e| anyhow!("{} is not a proxy URL: {e}", p.variable))
        })
        .transpose()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .proxy(proxy)
        .build()
        .into();
    let mut call = agent.get(&url);
    for (name, value) in request.headers() {
        let value = value
            .to_str()
            .map_err(|_| anyhow!("internal: a signed header is not text"))?;
        call = call.header(name.as_str(), value);
    }
    match call.call() {
        Ok(mut response) => Ok(Some(
            response
                .body_mut()
                .with_config()
                .limit(LIMIT)
                .read_to_vec()
                .map_err(|e| anyhow!("could not read {shown}: {e}"))?,
        )),
        Err(ureq::Error::StatusCode(404)) => Ok(None),
        Err(ureq::Error::StatusCode(code)) => {
            Err(anyhow!("S3 answered the GET of {shown} with HTTP {code}"))
        }
        Err(error) => Err(anyhow!("could not read {shown}: {error}")),
    }
}

/// A key's segment as a URL path holds it: unreserved characters kept, the rest escaped.
fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_are_escaped_as_a_url_path() {
        assert_eq!(escape("manifest-summary.json"), "manifest-summary.json");
        assert_eq!(escape("a b+c"), "a%20b%2Bc");
        assert_eq!(escape("é"), "%C3%A9");
    }
}
