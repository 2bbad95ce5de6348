//! What every AWS command shares: the configuration of a service, and turning an SDK error
//! into plain words — the operation, the service's error code and message, the endpoint —
//! never the SDK's debug structure (that is shown with `-v` only).

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// `operation` at `endpoint` failed: why, in plain words, with what to do about it.
pub fn explain<E>(
    operation: &str,
    endpoint: &str,
    error: &SdkError<E, HttpResponse>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    crate::output::debug(&format!("{operation} at {endpoint}: {error:?}"));
    // `endpoint` says where, in words: `DynamoDB at http://…` or `Cognito in us-east-1`.
    let emulator = endpoint
        .split_whitespace()
        .filter(|word| word.contains("://"))
        .find_map(crate::guard::endpoint_host)
        .is_some_and(|host| !crate::guard::is_aws_host(&host));
    let reach_hint = if !emulator {
        "check the network, the region and any proxy"
    } else if endpoint.starts_with("DynamoDB") {
        "is the emulator running there? Start the local stack (DynamoDB Local on port 8000), or point --endpoint-url / AWS_ENDPOINT_URL_DYNAMODB at it"
    } else {
        "is the emulator running there? Start it, or point the endpoint variable or flag at it"
    };
    // The credential chain fails inside the request: that is not the network.
    let chain = aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string();
    if matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
    ) && chain.contains("credentials")
    {
        return anyhow::anyhow!(
            "{operation} at {endpoint}: no usable AWS credentials ({}); set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, pass --profile (or set AWS_PROFILE), or log in with `aws sso login`",
            root_cause(error)
        );
    }
    match error {
        SdkError::DispatchFailure(_) => {
            return anyhow::anyhow!(
                "cannot reach {endpoint} ({operation}): {}; {reach_hint}",
                root_cause(error)
            )
        }
        SdkError::TimeoutError(_) => {
            return anyhow::anyhow!(
                "{endpoint} did not answer in time ({operation}); {reach_hint}"
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
        .map(|m| crate::output::cut(m.trim(), 300))
        .unwrap_or_default();
    let status = error.raw_response().map(|r| r.status().as_u16());
    match code {
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "AuthFailure"
        | "InvalidClientTokenId"
        | "ExpiredToken"
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
    crate::output::cut(&text, 200)
}

/// The region of the SDK's default chain, or an error that says where to set one.
pub fn region(config: &aws_config::SdkConfig) -> anyhow::Result<String> {
    config.region().map(|r| r.to_string()).ok_or_else(|| {
        anyhow::anyhow!(
            "no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile"
        )
    })
}

/// In --prod, an endpoint variable (the service's own, or AWS_ENDPOINT_URL) would silently send
/// production work elsewhere: refused, unless a flag names the endpoint on purpose.
pub fn refuse_endpoint_variables(variable: &str, flag_name: &str) -> anyhow::Result<()> {
    for name in [variable, "AWS_ENDPOINT_URL"] {
        if std::env::var(name).is_ok_and(|v| !v.trim().is_empty()) {
            return Err(crate::error::refused(format!(
                "{name} is set, so --prod would not reach AWS: unset it (or name the \
                 endpoint on purpose with {flag_name})"
            )));
        }
    }
    Ok(())
}

/// The SDK configuration for one AWS service other than DynamoDB (Cognito, EC2), and where it
/// goes (`AWS` or the endpoint). `variable` is the service's own endpoint variable
/// (`AWS_ENDPOINT_URL_EC2`). With --prod an endpoint variable is refused (it would silently
/// send production work elsewhere); `flag` may still name an endpoint on purpose.
pub fn service_config(
    ctx: &crate::ctx::Ctx,
    variable: &str,
    flag: Option<&str>,
    flag_name: &str,
) -> anyhow::Result<(aws_config::SdkConfig, Option<String>)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if ctx.target == crate::target::Target::Prod && flag.is_none() {
        refuse_endpoint_variables(variable, flag_name)?;
    }
    let sdk = ctx.aws()?;
    let endpoint = match flag {
        Some(url) => Some(url.to_string()),
        None => env(variable).or_else(|| env("AWS_ENDPOINT_URL")),
    };
    let config = match flag {
        Some(url) => sdk.to_builder().endpoint_url(url).build(),
        None => sdk.clone(),
    };
    Ok((config, endpoint))
}

/// The HTTP client of every AWS call: HTTPS through rustls on ring, the crypto the Postgres
/// TLS already uses (one crypto library to build, not two).
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}
