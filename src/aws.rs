//! What every AWS command shares: turning an SDK error into a sentence that says what to do.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// `what` failed: why, with a hint for the failures people hit (no network, bad credentials).
pub fn explain<E, R>(what: &str, error: &SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) = error {
        return anyhow::anyhow!(
            "{what}: cannot reach AWS ({}); check the network, the region, and AWS_ENDPOINT_URL if you use an emulator",
            DisplayErrorContext(error)
        );
    }
    match error.code() {
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "AuthFailure"
            | "InvalidClientTokenId"
            | "ExpiredToken",
        ) => anyhow::anyhow!(
            "{what}: AWS refused the credentials ({}); check your AWS profile or AWS_ACCESS_KEY_ID",
            error.message().unwrap_or("no message")
        ),
        Some("AccessDeniedException" | "UnauthorizedOperation" | "AccessDenied") => {
            anyhow::anyhow!(
                "{what}: not allowed ({}); the IAM user or role needs that permission",
                error.message().unwrap_or("no message")
            )
        }
        _ => anyhow::anyhow!("{what} failed: {}", DisplayErrorContext(error)),
    }
}

/// The region of the SDK's default chain, or an error that says where to set one.
pub fn region(config: &aws_config::SdkConfig) -> anyhow::Result<String> {
    config.region().map(|r| r.to_string()).ok_or_else(|| {
        anyhow::anyhow!(
            "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile"
        )
    })
}
