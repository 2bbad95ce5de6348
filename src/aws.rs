//! What every AWS command shares: the configuration of a service, and turning an SDK error
//! into plain words — the operation, the service's error code and message, the endpoint —
//! never the SDK's debug structure (that is shown with `-v` only).

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// `operation` at `endpoint` failed: why, in plain words, with what to do about it; the SDK's
/// own structure of the error is kept for `-v`.
pub(crate) fn explain<E>(
    operation: &str,
    endpoint: &str,
    error: &SdkError<E, HttpResponse>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    crate::error::detailed(
        words(operation, endpoint, error).to_string(),
        format!("{operation} at {endpoint}: {error:?}"), // -v
    )
}

fn words<E>(operation: &str, endpoint: &str, error: &SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    // `endpoint` says where, in words: `DynamoDB at http://…` or `Cognito in us-east-1`.
    let emulator = endpoint
        .split_whitespace()
        .filter(|word| word.contains("://"))
        .find_map(crate::hosts::endpoint_host)
        .is_some_and(|host| !crate::hosts::is_aws_host(&host));
    // The proxy the request went through, if any: named, since it may be what failed.
    let url = endpoint
        .split_whitespace()
        .find(|word| word.contains("://"))
        .map(|word| word.trim_matches(|c| c == '(' || c == ')').to_string())
        .unwrap_or_else(|| "https://amazonaws.com".into());
    let proxy = crate::proxy::for_url(&url);
    let via = proxy
        .as_ref()
        .map(|p| format!(" through {p}"))
        .unwrap_or_default();
    let proxy_hint = proxy.as_ref().map(|p| {
        format!(
            "check that {} is up and lets this through, or list the host in NO_PROXY",
            p
        )
    });
    let reach_hint = if let Some(hint) = &proxy_hint {
        hint.as_str()
    } else if !emulator {
        "check the network, the region and any proxy"
    } else if endpoint.starts_with("DynamoDB") {
        "is the emulator running there? Start one (`cruddur ddb serve`, or DynamoDB Local on port 8000), or point --endpoint-url / AWS_ENDPOINT_URL_DYNAMODB at it"
    } else {
        "is the emulator running there? Start it, or point the endpoint variable or flag at it"
    };
    // The credential chain fails inside the request: that is not the network. The whole
    // chain of causes is only searched here, never shown (the message names the root cause).
    let chain = aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string(); // matched, not shown
    let failed_chain = matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
    );
    let lowered = chain.to_ascii_lowercase();
    if failed_chain
        && lowered.contains("expired")
        && (lowered.contains("token")
            || lowered.contains("session")
            || lowered.contains("credentials"))
    {
        return anyhow::anyhow!(
            "{operation} at {endpoint}: your AWS credentials have expired ({}); {RENEW}",
            root_cause(error)
        );
    }
    if failed_chain && chain.contains("credentials") {
        return anyhow::anyhow!(
            "{operation} at {endpoint}: no usable AWS credentials ({}); set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, pass --profile (or set AWS_PROFILE), or sign in with `aws sso login` \
             (an SSO profile) or `aws login` (the console sign-in)",
            root_cause(error)
        );
    }
    match error {
        SdkError::DispatchFailure(_) => {
            return anyhow::anyhow!(
                "cannot reach {endpoint}{via} ({operation}): {}; {reach_hint}",
                root_cause(error)
            )
        }
        SdkError::TimeoutError(_) => {
            return anyhow::anyhow!(
                "{endpoint} did not answer in time{via} ({operation}); {reach_hint}"
            )
        }
        SdkError::ResponseError(_) => {
            return anyhow::anyhow!(
                "{operation} at {endpoint}: the answer could not be read ({}); is that endpoint really the AWS service?",
                root_cause(error)
            )
        }
        SdkError::ConstructionFailure(_) => {
            return anyhow::anyhow!(
                "{operation}: the request could not be built: {}",
                root_cause(error)
            )
        }
        _ => {}
    }
    let code = error.code().unwrap_or("");
    let message = error
        .message()
        .map(|m| crate::text::cut(m.trim(), 300))
        .unwrap_or_default();
    let status = error.raw_response().map(|r| r.status().as_u16());
    match code {
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => anyhow::anyhow!(
            "{operation} at {endpoint} failed: {code}: your AWS credentials have expired ({message}); {RENEW}"
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "AuthFailure"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken" => anyhow::anyhow!(
            "{operation} at {endpoint} failed: {code}: AWS refused the credentials ({message}); check your AWS profile or AWS_ACCESS_KEY_ID"
        ),
        "AccessDeniedException" | "UnauthorizedOperation" | "AccessDenied" => anyhow::anyhow!(
            "{operation} at {endpoint} failed: {code}: not allowed ({message}); the IAM user or role needs that permission"
        ),
        "UnknownOperationException" | "InvalidAction" | "NotImplemented" => anyhow::anyhow!(
            "{endpoint} does not implement {operation} ({code}{}); use an emulator that does (dynoxide, DynamoDB Local) or real AWS",
            if message.is_empty() { String::new() } else { format!(": {message}") }
        ),
        "" if matches!(status, Some(404 | 501)) => anyhow::anyhow!(
            "{endpoint} does not implement {operation} (it answered without an AWS error code); is that endpoint really the AWS service?"
        ),
        "" => anyhow::anyhow!(
            "{operation} at {endpoint} failed without an AWS error code{}",
            if message.is_empty() { String::new() } else { format!(": {message}") }
        ),
        _ if message.is_empty() => anyhow::anyhow!("{operation} at {endpoint} failed: {code}"),
        _ => anyhow::anyhow!("{operation} at {endpoint} failed: {code}: {message}"),
    }
}

/// What to do about expired credentials, by where they came from.
const RENEW: &str = "renew them: `aws sso login --profile NAME` for an SSO profile, `aws login` for the \
     console sign-in, or fresh keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN";

/// The innermost cause of an error, in its own words (`Connection refused (os error 111)`,
/// `failed to lookup address information: …`): what a person can act on.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut last: &(dyn StdError + 'static) = error;
    while let Some(next) = last.source() {
        last = next;
    }
    if let Some(io) = last.downcast_ref::<std::io::Error>() {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
            std::io::ErrorKind::TimedOut => return "timed out".into(),
            _ => {}
        }
    }
    let text = last.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    crate::text::cut(&text, 200)
}

/// The region of the SDK's default chain, or an error that says where to set one.
pub(crate) fn region(config: &aws_config::SdkConfig) -> anyhow::Result<String> {
    config.region().map(|r| r.to_string()).ok_or_else(|| {
        anyhow::anyhow!(
            "no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile"
        )
    })
}

/// The endpoint the SDK sends `service_id`'s calls to (`DynamoDB`, `DynamoDB Streams`,
/// `EC2`, `Cognito Identity Provider`) when no flag names one, resolved as the SDK resolves
/// it: the service's variable (`AWS_ENDPOINT_URL_DYNAMODB`), `AWS_ENDPOINT_URL`, the profile's
/// `services` section and its `endpoint_url` (all ignored with
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`). None: the region's AWS endpoint.
pub(crate) fn configured_endpoint(sdk: &aws_config::SdkConfig, service_id: &str) -> Option<String> {
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|config| config.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .filter(|url| !url.trim().is_empty())
}

/// In --prod, an endpoint configured anywhere but a flag would silently send production work
/// elsewhere: one that is not AWS's own is refused (exit 3), naming where it is set. An AWS
/// endpoint (a FIPS one, say) is used, and returned so that the banner names it.
pub(crate) fn prod_endpoint(
    profile: Option<&str>,
    sdk: &aws_config::SdkConfig,
    service_id: &str,
    flag_name: &str,
) -> anyhow::Result<Option<String>> {
    let Some(url) = configured_endpoint(sdk, service_id) else {
        return Ok(None);
    };
    if crate::hosts::endpoint_host(&url).is_some_and(|host| crate::hosts::is_aws_host(&host)) {
        return Ok(Some(url));
    }
    let own = format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_ascii_uppercase().replace(' ', "_")
    );
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let source = [own.as_str(), "AWS_ENDPOINT_URL"]
        .into_iter()
        .find(|name| set(name))
        .map(|name| format!("{name} is set"))
        .unwrap_or_else(|| {
            let profile = profile
                .map(str::to_string)
                .or_else(|| std::env::var("AWS_PROFILE").ok())
                .unwrap_or_else(|| "default".into());
            format!("the AWS profile `{profile}` sets endpoint_url (or a services section does)")
        });
    Err(crate::error::refused(format!(
        "{source} for {service_id}: {}, which is not AWS, so --prod would not reach production; \
         nothing was done. Unset it (or set AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), or name \
         the endpoint on purpose with {flag_name}",
        crate::text::visible(&url)
    )))
}

/// The SDK configuration for one AWS service other than DynamoDB (Cognito, EC2), and where it
/// goes (`AWS` or the endpoint). `service_id` is the SDK's name of the service (`EC2`). With
/// --prod an endpoint that is not AWS's, configured anywhere but `flag`, is refused (it would
/// silently send production work elsewhere); `flag` may still name an endpoint on purpose.
#[cfg(any(feature = "cognito", feature = "ec2"))]
pub(crate) fn service_config(
    sdk: &aws_config::SdkConfig,
    target: crate::target::Target,
    profile: Option<&str>,
    service_id: &str,
    flag: Option<&str>,
    flag_name: &str,
) -> anyhow::Result<(aws_config::SdkConfig, Option<String>)> {
    let endpoint = match flag {
        Some(url) => Some(url.to_string()),
        None if target == crate::target::Target::Prod => {
            prod_endpoint(profile, sdk, service_id, flag_name)?
        }
        None => configured_endpoint(sdk, service_id),
    };
    // A loopback endpoint is reached directly, never through a proxy.
    let mut config = sdk
        .to_builder()
        .http_client(http_client_for(endpoint.as_deref())?);
    if let Some(url) = flag {
        config = config.endpoint_url(url);
    }
    let config = config.build();
    Ok((config, endpoint))
}

/// The one timeout policy of every AWS call: 5 s to connect, 30 s an attempt.
pub(crate) fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .build()
}

/// The HTTP client of AWS calls to AWS itself: HTTPS through rustls on ring, the crypto the
/// Postgres TLS already uses (one crypto library to build, not two), through the proxy the
/// environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), as the AWS CLI,
/// trusting the system's CAs (`SSL_CERT_FILE`, `SSL_CERT_DIR`) and those of `AWS_CA_BUNDLE`.
pub fn http_client() -> anyhow::Result<aws_sdk_dynamodb::config::SharedHttpClient> {
    http_client_for(None)
}

/// The HTTP client for calls to `endpoint`: as [`http_client`], but direct when the endpoint
/// is loopback (the local stack is never sent through a proxy).
pub(crate) fn http_client_for(
    endpoint: Option<&str>,
) -> anyhow::Result<aws_sdk_dynamodb::config::SharedHttpClient> {
    let reach = Reach::of(endpoint)?;
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                reach.connector(settings.cloned(), components.map(|c| c.sleep_impl()))
            },
        ),
    )
}

/// A connector to `endpoint` as [`http_client_for`] makes them (its proxy rules, its TLS, its
/// connect timeout), with a pool of its own, for calls made outside the SDK (the bulk writer's
/// to the local stack).
pub(crate) fn connector_for(endpoint: &str) -> anyhow::Result<aws_smithy_http_client::Connector> {
    // The SDK's connect timeout ([`timeouts`]); its attempt timeout is the caller's to keep.
    let settings = aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build();
    Ok(Reach::of(Some(endpoint))?.connector(Some(settings), None))
}

/// How an endpoint is reached: through the environment's proxy or not, with TLS or not.
#[derive(Clone)]
struct Reach {
    /// A plain-http endpoint (the local stack).
    plain: bool,
    /// Loopback: never through a proxy.
    direct: bool,
    tls: aws_smithy_http_client::tls::TlsContext,
}

impl Reach {
    fn of(endpoint: Option<&str>) -> anyhow::Result<Reach> {
        use aws_smithy_http_client::tls::{TlsContext, TrustStore};
        let plain = endpoint.is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("http://"));
        let direct = endpoint
            .and_then(crate::hosts::endpoint_host)
            .is_some_and(|host| crate::hosts::is_loopback(&host));
        // A proxy that re-signs TLS with a CA of its own: AWS_CA_BUNDLE names it, as for the CLI.
        let tls = match std::env::var_os("AWS_CA_BUNDLE").filter(|v| !v.is_empty()) {
            None => TlsContext::default(),
            Some(path) => {
                let shown = std::path::Path::new(&path).display().to_string();
                let pem = std::fs::read(&path).map_err(|e| {
                    anyhow::anyhow!("AWS_CA_BUNDLE {shown}: cannot read the file ({e})")
                })?;
                TlsContext::builder()
                    .with_trust_store(TrustStore::default().with_pem_certificate(pem))
                    .build()
                    .map_err(|e| anyhow::anyhow!("AWS_CA_BUNDLE {shown}: {e}"))?
            }
        };
        Ok(Reach { plain, direct, tls })
    }

    fn connector(
        &self,
        settings: Option<aws_smithy_runtime_api::client::http::HttpConnectorSettings>,
        sleep: Option<Option<aws_sdk_dynamodb::config::SharedAsyncSleep>>,
    ) -> aws_smithy_http_client::Connector {
        use aws_smithy_http_client::proxy::ProxyConfig;
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let mut builder = aws_smithy_http_client::ConnectorBuilder::default();
        builder.set_connector_settings(settings);
        if let Some(sleep) = sleep {
            builder.set_sleep_impl(sleep);
        }
        builder.set_proxy_config(Some(if self.direct {
            ProxyConfig::disabled()
        } else {
            ProxyConfig::from_env()
        }));
        // A plain-http endpoint (the local stack) needs no TLS, so no trust store is loaded
        // for it: reading every file of /etc/ssl/certs, per client, was most of a short
        // command's time.
        if self.plain {
            return builder.build_http();
        }
        builder
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(self.tls.clone())
            .build()
    }
}
