//! `cruddur cognito list-users`: the app's user pool, every page of it (the old script
//! stopped at Cognito's first 60). Also the listing `db update-cognito-user-ids` links from.
//! Cognito has no local stand-in: both modes use the SDK's default chain (so
//! `AWS_ENDPOINT_URL` reaches an emulator, as with the AWS CLI).

use anyhow::{anyhow, Result};
#[cfg(feature = "cognito")]
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use serde::Serialize;

use crate::cli::{CognitoCommand, PoolArgs};
use crate::ctx::Ctx;
use crate::output::Outcome;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PoolUser {
    pub username: String,
    /// `preferred_username`: the app's handle. Some users have none.
    pub handle: Option<String>,
    pub sub: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub enabled: bool,
}

/// The app's user pool and where to reach it (plain options, from the flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pool {
    pub id: String,
    /// An emulator's endpoint, named on purpose (`--cognito-endpoint-url`).
    pub endpoint_url: Option<String>,
}

impl Pool {
    /// The pool the flags or the environment name, if any.
    pub(crate) fn configured(args: &PoolArgs) -> Option<Pool> {
        let id = args
            .pool_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())?;
        Some(Pool {
            id: id.to_string(),
            endpoint_url: args.cognito_endpoint_url.clone(),
        })
    }

    /// The pool the flags name, or an error naming the variable and the flag.
    pub(crate) fn required(args: &PoolArgs) -> Result<Pool> {
        Pool::configured(args).ok_or_else(|| {
            anyhow!("no Cognito user pool: set AWS_COGNITO_USER_POOL_ID or pass --pool-id (e.g. us-east-1_bnfXCOI56)")
        })
    }
}

pub(crate) fn run(ctx: &Ctx, command: &CognitoCommand) -> Result<Outcome> {
    match command {
        CognitoCommand::ListUsers(pool) => {
            crate::guarded::reads(ctx, "`cruddur cognito list-users`")?;
            let users = list_users(ctx, &Pool::required(pool)?)?;
            Outcome::rows(&["handle", "sub", "email", "status", "enabled"], &users)
        }
    }
}

/// Every user of the pool, following PaginationToken.
#[cfg(not(feature = "cognito"))]
pub(crate) fn list_users(_ctx: &Ctx, _pool: &Pool) -> Result<Vec<PoolUser>> {
    Err(crate::error::missing_feature("cognito", "Cognito support"))
}

/// Whether the pool is there (for `doctor`).
#[cfg(not(feature = "cognito"))]
pub(crate) fn describe_pool(_ctx: &Ctx, _pool: &Pool) -> Result<()> {
    Err(crate::error::missing_feature("cognito", "Cognito support"))
}

/// The Cognito client the context builds, the region, and where it goes, in words.
#[cfg(feature = "cognito")]
fn client(
    ctx: &Ctx,
    pool: &Pool,
) -> Result<(aws_sdk_cognitoidentityprovider::Client, String, String)> {
    let (client, service) = ctx.cognito(pool.endpoint_url.as_deref())?;
    let place = match &service.endpoint {
        Some(url) => format!("Cognito at {url}"),
        None => format!("Cognito in {}", service.region),
    };
    Ok((client, service.region, place))
}

/// Whether the pool is there (for `doctor`).
#[cfg(feature = "cognito")]
pub(crate) fn describe_pool(ctx: &Ctx, pool: &Pool) -> Result<()> {
    let (client, _, place) = client(ctx, pool)?;
    let pool_id = &pool.id;
    ctx.block_on(client.describe_user_pool().user_pool_id(pool_id).send())?
        .map_err(|e| crate::aws::explain("DescribeUserPool", &place, &e))?;
    Ok(())
}

#[cfg(feature = "cognito")]
pub(crate) fn list_users(ctx: &Ctx, pool: &Pool) -> Result<Vec<PoolUser>> {
    let (client, region, place) = client(ctx, pool)?;
    let pool_id = &pool.id;
    ctx.detail(format!("Cognito user pool {pool_id} in {region}"));
    ctx.block_on(async {
        let mut users = Vec::new();
        let mut pages = client
            .list_users()
            .user_pool_id(pool_id)
            .attributes_to_get("preferred_username")
            .attributes_to_get("sub")
            .attributes_to_get("email")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| match error.code() {
                Some("ResourceNotFoundException") => anyhow!(
                    "user pool {pool_id} does not exist in {region}: check AWS_COGNITO_USER_POOL_ID (or --pool-id) and the region"
                ),
                _ => crate::aws::explain("ListUsers", &place, &error),
            })?;
            for user in page.users() {
                let attribute = |name: &str| {
                    user.attributes()
                        .iter()
                        .find(|a| a.name() == name)
                        .and_then(|a| a.value())
                        .map(String::from)
                };
                users.push(PoolUser {
                    username: user.username().unwrap_or_default().to_string(),
                    handle: attribute("preferred_username"),
                    sub: attribute("sub"),
                    email: attribute("email"),
                    status: user.user_status().map(|s| s.as_str().to_string()),
                    enabled: user.enabled(),
                });
            }
        }
        Ok::<_, anyhow::Error>(users)
    })?
}
