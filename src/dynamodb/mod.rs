//! The messages table in DynamoDB as a store: which table, behind which endpoint, with a
//! client for it (and one for its stream), made once by the context from plain settings; the
//! queries several commands share; the SDK's errors in plain words with the table named.

pub(crate) mod batch;
pub(crate) mod codec;
pub(crate) mod direct;
pub(crate) mod drift;
pub(crate) mod items;
pub(crate) mod lease;
pub(crate) mod limits;
#[cfg(feature = "serve")]
pub(crate) mod local;
pub(crate) mod perform;
pub(crate) mod table;

use items::Item;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::guard::Destination;
use crate::printer::Printer;
use crate::target::Target;

/// The index on `message_group_uuid` + `sk` that finds a conversation's group items.
pub(crate) const INDEX: &str = "message-group-sk-index";

pub(crate) const LOCAL_ENDPOINT: &str = "http://localhost:8000";
pub(crate) const LOCAL_REGION: &str = "us-east-1";

/// The table and a client for the endpoint it lives behind (a clone is a cheap handle on
/// the same clients, for work spawned beside the command's).
#[derive(Clone)]
pub(crate) struct Ddb {
    pub(crate) client: Client,
    /// The same, without the SDK's own retries: the bulk writer retries and paces itself
    /// (the SDK's throttling backoff, seconds long, would stall its window).
    pub(crate) bulk: Client,
    /// DynamoDB Streams, at the same endpoint, with the same credentials and region.
    pub(crate) streams: aws_sdk_dynamodbstreams::Client,
    pub(crate) table: String,
    pub(crate) endpoint: String,
    pub(crate) region: String,
    /// What its calls are signed with, for the one S3 object read beside them (an export's
    /// manifest).
    pub(crate) credentials: Option<aws_sdk_dynamodb::config::SharedCredentialsProvider>,
    /// The bulk writer's BatchWriteItem calls made outside the SDK: the local stack only.
    pub(crate) direct: Option<std::sync::Arc<direct::Direct>>,
    /// Unit tests only: the operations asked of this store are recorded, not sent
    /// ([`Ddb::recording`]).
    recorder: Option<perform::Recorder>,
}

/// Where the table is, as plain settings (from the flags and variables).
#[derive(Debug, Clone, Default)]
pub(crate) struct DdbSettings {
    /// `--table` / `DDB_MESSAGE_TABLE`.
    pub(crate) table: String,
    /// `--endpoint-url`: an endpoint named on purpose (an emulator, even with --prod).
    pub(crate) endpoint_url: Option<String>,
    /// `--region`, over the environment's.
    pub(crate) region: Option<String>,
    /// `--profile`, to name it when its endpoint is refused.
    pub(crate) profile: Option<String>,
    /// The flag that names the endpoint on purpose, for the refusal's words [default:
    /// `--endpoint-url`; `pull`'s source: `--from-endpoint-url`].
    pub(crate) endpoint_flag: Option<&'static str>,
    /// `pull`'s source: the endpoint variables and profile name the local stack's DynamoDB
    /// (the pull's destination), so production's is AWS's own unless the flag names one.
    pub(crate) aws_unless_flag: bool,
}

impl Ddb {
    /// Local: the emulator's endpoint, with the environment's credentials or placeholders
    /// (the emulator takes any), never the profile chain, never real AWS. Prod (`sdk` is the
    /// process's one AWS configuration): the SDK's default chain, refusing an endpoint
    /// configured anywhere but the flag that would silently point it elsewhere. What the
    /// banner (`printer`) says is where the requests go.
    pub(crate) fn connect(
        target: Target,
        settings: &DdbSettings,
        sdk: impl FnOnce() -> Result<aws_config::SdkConfig>,
        printer: Printer,
    ) -> Result<Ddb> {
        let args = settings;
        check_table_name(&args.table, "--table (or DDB_MESSAGE_TABLE)")?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let ddb = match target {
            Target::Local => {
                let (endpoint, source) = local_endpoint(args.endpoint_url.as_deref(), env)?;
                let region = args
                    .region
                    .clone()
                    .or_else(|| env("AWS_REGION"))
                    .or_else(|| env("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|| LOCAL_REGION.to_string());
                let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                    (Some(key), Some(secret)) => {
                        Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "environment")
                    }
                    _ => Credentials::new(
                        "cruddur-local",
                        "cruddur-local",
                        None,
                        None,
                        "placeholder",
                    ),
                };
                // One configuration for the table's client and its stream's.
                let sdk = aws_config::SdkConfig::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(region.clone()))
                    .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                        credentials.clone(),
                    ))
                    .endpoint_url(&endpoint)
                    .http_client(crate::aws::http_client_for(Some(&endpoint))?)
                    .retry_config(RetryConfig::standard())
                    .timeout_config(crate::aws::timeouts())
                    .build();
                let config = aws_sdk_dynamodb::config::Builder::from(&sdk).build();
                let streams = aws_sdk_dynamodbstreams::config::Builder::from(&sdk).build();
                printer.detail(format!(
                    "local DynamoDB: {endpoint} (from {source}), table {}",
                    args.table
                ));
                let direct = direct::Direct::new(&endpoint, &region, credentials, printer)?;
                Ddb {
                    bulk: without_retries(&config),
                    client: Client::from_conf(config),
                    streams: aws_sdk_dynamodbstreams::Client::from_conf(streams),
                    table: args.table.clone(),
                    endpoint,
                    region,
                    credentials: sdk.credentials_provider(),
                    direct: Some(std::sync::Arc::new(direct)),
                    recorder: None,
                }
            }
            Target::Prod => {
                let sdk = &sdk()?;
                let profile = args.profile.as_deref();
                // What the banner says is where the requests go: the flag, else an AWS endpoint
                // configured anywhere (one that is not AWS's is refused), else the region's.
                let flag = args.endpoint_flag.unwrap_or("--endpoint-url");
                let region = crate::aws::region(sdk)?;
                let own = format!("https://dynamodb.{region}.amazonaws.com");
                let named = args
                    .endpoint_url
                    .clone()
                    .or_else(|| args.aws_unless_flag.then(|| own.clone()));
                let (table_endpoint, stream_endpoint) = match &named {
                    Some(url) => (Some(url.clone()), Some(url.clone())),
                    None => (
                        crate::aws::prod_endpoint(profile, sdk, "DynamoDB", flag)?,
                        crate::aws::prod_endpoint(profile, sdk, "DynamoDB Streams", flag)?,
                    ),
                };
                let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk);
                let mut streams = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
                if let Some(url) = &named {
                    let direct = crate::aws::http_client_for(Some(url))?;
                    builder = builder.endpoint_url(url).http_client(direct.clone());
                    streams = streams.endpoint_url(url).http_client(direct);
                }
                let endpoint = table_endpoint.unwrap_or(own);
                if let Some(url) = stream_endpoint.filter(|url| *url != endpoint) {
                    printer.info(format!("PRODUCTION DynamoDB Streams: {url}"));
                }
                printer.info(format!(
                    "PRODUCTION DynamoDB: table {} in {region} ({endpoint})",
                    args.table
                ));
                let config = builder.build();
                Ddb {
                    bulk: without_retries(&config),
                    client: Client::from_conf(config),
                    streams: aws_sdk_dynamodbstreams::Client::from_conf(streams.build()),
                    table: args.table.clone(),
                    endpoint,
                    region,
                    credentials: sdk.credentials_provider(),
                    direct: None,
                    recorder: None,
                }
            }
        };
        Ok(ddb)
    }

    /// Every item of one partition (all pages), of the table or of an index. With `first`,
    /// only that many: enough to know whether there are any.
    pub(crate) async fn query_partition(&self, partition: Partition<'_>) -> Result<Vec<Item>> {
        if self.is_recording() {
            return Ok(Vec::new());
        }
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(partition.index.map(String::from))
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", partition.attribute)
            .expression_attribute_values(":v", AttributeValue::S(partition.value.to_string()))
            .scan_index_forward(!partition.newest_first)
            .set_projection_expression(partition.keys_only.then(|| "pk, sk".to_string()))
            .set_limit(partition.first)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.explain("Query", e))?;
            found.extend(page.items().iter().cloned());
            if partition.first.is_some() {
                break;
            }
        }
        Ok(found)
    }

    /// An SDK error in plain words: the operation, the error code and message, the endpoint.
    pub(crate) fn explain<E>(&self, what: &str, error: SdkError<E, HttpResponse>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match error.code() {
            Some("ResourceNotFoundException") => crate::error::detailed(
                format!(
                    "{what}: table `{}` does not exist at {}; create it with `cruddur ddb schema-load`",
                    self.table, self.endpoint
                ),
                format!("{what}: {error:?}"), // -v
            ),
            _ => crate::aws::explain(what, &format!("DynamoDB at {}", self.endpoint), &error),
        }
    }

    /// Where this table is, for the guard.
    pub(crate) fn destination(&self) -> Destination {
        Destination::DynamoDb {
            endpoint: self.endpoint.clone(),
            table: self.table.clone(),
        }
    }
}

/// DynamoDB's rule for table names, checked before any call: 3 to 255 of `A-Z a-z 0-9 _ . -`.
pub(crate) fn check_table_name(name: &str, source: &str) -> Result<()> {
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
    if let Some(c) = bad {
        return Err(anyhow!(
            "{source} `{}` holds '{}': a table name is made of letters, digits, `_`, `.` and `-`",
            crate::text::visible(&crate::text::cut(name, 60)),
            c.escape_debug()
        ));
    }
    if !(3..=255).contains(&name.len()) {
        return Err(anyhow!(
            "{source} `{}` is {} characters long: a table name has 3 to 255",
            crate::text::cut(name, 60),
            name.len()
        ));
    }
    Ok(())
}

/// The bulk writer's client: no retries of the SDK's own (the writer paces and resends
/// itself), and no stalled-stream watch on each body (a bounded batch, under the attempt
/// timeout; the watch was about 5% of a seed's CPU).
fn without_retries(config: &aws_sdk_dynamodb::Config) -> Client {
    Client::from_conf(
        config
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(
                aws_sdk_dynamodb::config::StalledStreamProtectionConfig::disabled(),
            )
            .build(),
    )
}

/// Which partition [`Ddb::query_partition`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Partition<'a> {
    /// None: the table; Some: that index.
    pub(crate) index: Option<&'a str>,
    /// The partition key's attribute (`pk`, or `message_group_uuid` on the index).
    pub(crate) attribute: &'a str,
    pub(crate) value: &'a str,
    pub(crate) newest_first: bool,
    /// Read `pk` and `sk` only.
    pub(crate) keys_only: bool,
    /// Stop after this many items.
    pub(crate) first: Option<i32>,
}

/// The local endpoint and where it came from. A real AWS endpoint is refused: local mode
/// must never touch production by accident.
fn local_endpoint(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, &'static str)> {
    let (endpoint, source) = match flag {
        Some(url) => (url.to_string(), "--endpoint-url"),
        None => match env("AWS_ENDPOINT_URL_DYNAMODB") {
            Some(url) => (url, "AWS_ENDPOINT_URL_DYNAMODB"),
            None => match env("AWS_ENDPOINT_URL") {
                Some(url) => (url, "AWS_ENDPOINT_URL"),
                None => (LOCAL_ENDPOINT.to_string(), "the default"),
            },
        },
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(anyhow!(
            "{source} `{endpoint}` is not a URL: write it as http://host:port"
        ));
    }
    crate::guard::refuse_aws_endpoint(&endpoint, source).map_err(crate::error::refused)?;
    Ok((endpoint, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::env_of;

    /// `pull`'s source, with the local stack's endpoint configured (as a workspace has it):
    /// AWS's own endpoint, said in the banner, unless the flag names one. Any other prod
    /// command refuses that configured endpoint.
    #[test]
    fn pulls_source_is_aws_unless_named_whatever_the_local_endpoint() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url("http://localhost:8000")
            .build();
        let printer = Printer::new(false, true);
        let settings = DdbSettings {
            table: "cruddur-messages".into(),
            aws_unless_flag: true,
            ..DdbSettings::default()
        };
        let connect = |settings: &DdbSettings| {
            Ddb::connect(Target::Prod, settings, || Ok(sdk.clone()), printer)
        };
        let source = connect(&settings).expect("the source");
        assert_eq!(source.endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
        let named = DdbSettings {
            endpoint_url: Some("http://127.0.0.1:9000".into()),
            ..settings.clone()
        };
        assert_eq!(
            connect(&named).expect("named").endpoint,
            "http://127.0.0.1:9000"
        );
        let prod = DdbSettings {
            aws_unless_flag: false,
            ..settings
        };
        assert!(
            connect(&prod).is_err(),
            "a configured local endpoint is refused in --prod"
        );
    }

    #[test]
    fn local_endpoint_order() {
        let both = env_of(&[
            ("AWS_ENDPOINT_URL", "http://a:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://d:2"),
        ]);
        assert_eq!(
            local_endpoint(Some("http://f:3"), &both).unwrap().0,
            "http://f:3"
        );
        assert_eq!(
            local_endpoint(None, &both).unwrap(),
            ("http://d:2".into(), "AWS_ENDPOINT_URL_DYNAMODB")
        );
        let general = env_of(&[("AWS_ENDPOINT_URL", "http://a:1")]);
        assert_eq!(local_endpoint(None, general).unwrap().0, "http://a:1");
        assert_eq!(local_endpoint(None, env_of(&[])).unwrap().0, LOCAL_ENDPOINT);
    }

    #[test]
    fn local_mode_refuses_real_aws_and_non_urls() {
        let err = local_endpoint(
            Some("https://dynamodb.us-east-1.amazonaws.com"),
            env_of(&[]),
        )
        .unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 3);
        for aws in [
            "https://DYNAMODB.US-EAST-1.AMAZONAWS.COM",
            "https://dynamodb.us-east-1.api.aws",
            "https://dynamodb.cn-north-1.amazonaws.com.cn",
        ] {
            let err = local_endpoint(Some(aws), env_of(&[])).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 3, "{aws}");
        }
        assert!(local_endpoint(Some("localhost:8000"), env_of(&[])).is_err());
    }

    #[test]
    fn table_names_follow_dynamodb_rules() {
        assert!(check_table_name("cruddur-messages", "--table").is_ok());
        assert!(check_table_name("a.b_c-1", "--table").is_ok());
        let short = check_table_name("ab", "--table").unwrap_err().to_string();
        assert!(short.contains("3 to 255"), "{short}");
        assert!(check_table_name(&"x".repeat(256), "--table").is_err());
        let bad = check_table_name("my table", "--table")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("' '"), "{bad}");
    }
}
