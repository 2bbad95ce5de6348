//! The other AWS services of the tests: the moto server of `scripts/test`, the one fake-AWS
//! configuration builder, and small HTTP stubs (a public-IP service).

use std::io::Write;

use super::run::Run;
use super::START;

/// The moto server of scripts/test.
pub(crate) fn moto_url() -> String {
    std::env::var("CRUDDUR_TEST_MOTO_URL")
        .unwrap_or_else(|_| panic!("CRUDDUR_TEST_MOTO_URL is not set: {START}"))
}

impl Run {
    /// The AWS SDK's default chain, pointed at moto: what a developer with an emulator sets.
    pub(crate) fn aws(self) -> Run {
        self.env("AWS_ENDPOINT_URL", moto_url()).aws_credentials()
    }

    /// Credentials and a region, as a `--prod` user has them (the endpoint is up to the test).
    pub(crate) fn aws_credentials(self) -> Run {
        self.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
    }
}

/// The one fake-AWS configuration of the tests: test credentials, us-east-1, and this
/// endpoint (moto, or the DynamoDB emulator), through cruddur's own HTTP client.
pub(crate) fn fake_aws(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"),
        ))
        .endpoint_url(endpoint)
        .http_client(cruddur::aws::http_client().unwrap())
        .build()
}

/// An SDK configuration for moto, to arrange and inspect what the tests need there.
pub(crate) fn moto_config() -> aws_config::SdkConfig {
    fake_aws(&moto_url())
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A one-page web server on loopback that answers every GET with `body`, for `count` requests.
pub(crate) fn http_stub(body: &'static str, count: usize) -> String {
    http_stub_answering("200 OK", body, count)
}

/// The same, answering with this status line (`400 Bad Request`).
pub(crate) fn http_stub_answering(
    status: &'static str,
    body: &'static str,
    count: usize,
) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
