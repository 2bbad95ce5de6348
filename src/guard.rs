//! The one guard every write passes: a command builds a [`Plan`] (where it goes, what it will
//! do), hands it to [`check`], and executes only on [`Go::Execute`]. The order of the checks
//! lives here and nowhere else:
//!
//! 1. *Where is this going?* Local mode writes only to local hosts ([`is_local_host`]) and
//!    never to an AWS endpoint ([`is_aws_host`]).
//! 2. *Does the database say where it belongs?* A local-mode write refuses a database marked
//!    `prod` by `cruddur --prod db schema-load`, unless `--override-prod-marker`.
//! 3. `--dry-run` stops here and shows the plan.
//! 4. *Confirmation* in `--prod`: typed on a terminal, or `--yes`; otherwise refused (exit 3).

use std::net::IpAddr;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::refused;
use crate::output::Outcome;
use crate::target::Target;

/// Where a write goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A Postgres database; `hosts` are every host of the URL (a Unix socket's folder too).
    Postgres {
        hosts: Vec<String>,
        server: String,
        database: String,
    },
    /// A DynamoDB table behind an endpoint.
    DynamoDb { endpoint: String, table: String },
    /// Another AWS service (EC2) in a region; `endpoint` when an emulator's is named.
    Aws {
        service: &'static str,
        region: String,
        endpoint: Option<String>,
    },
}

impl Destination {
    fn describe(&self) -> String {
        match self {
            Destination::Postgres {
                server, database, ..
            } => format!("Postgres database `{database}` at {server}"),
            Destination::DynamoDb { endpoint, table } => {
                format!("DynamoDB table `{table}` at {endpoint}")
            }
            Destination::Aws {
                service,
                endpoint: Some(endpoint),
                ..
            } => format!("{service} at {endpoint}"),
            Destination::Aws {
                service, region, ..
            } => format!("{service} in {region}"),
        }
    }
}

/// What a writing command is about to do, built before anything is touched.
#[derive(Debug, Clone)]
pub struct Plan {
    pub destination: Destination,
    /// One line: what, on what (`drop database `x``).
    pub summary: String,
    /// Every statement or API call, in order.
    pub actions: Vec<String>,
    /// What a person types to confirm in production (the database, table or rule).
    pub confirm: String,
}

/// What the guard decided.
pub enum Go {
    /// `--dry-run`: show this and do nothing.
    DryRun(Outcome),
    /// Go ahead.
    Execute,
}

/// The environment a database says it belongs to, read by the command (it holds the
/// connection); `Err` when it could not be read.
pub type Marker = Result<Option<String>>;

/// Pass `plan` through the guard. `marker` is the Postgres marker of the plan's database (for
/// other stores, `None`); a command that writes Postgres must supply it.
pub fn check(ctx: &Ctx, plan: &Plan, marker: Option<Marker>) -> Result<Go> {
    if ctx.target == Target::Local {
        local_only(ctx, &plan.destination)?;
        match marker {
            Some(Ok(Some(mark))) if mark == Target::Prod.name() && !ctx.override_prod_marker => {
                return Err(refused(format!(
                    "{} is marked as production (by `cruddur --prod db schema-load`), but this is \
                     local mode: refusing to {}. If CONNECTION_URL points there by mistake, fix it; \
                     if you really mean it, add --override-prod-marker",
                    plan.destination.describe(),
                    plan.summary
                )))
            }
            Some(Err(error)) if !ctx.dry_run => return Err(error),
            _ => {}
        }
    }
    if ctx.dry_run {
        return Ok(Go::DryRun(Outcome::dry_run(
            format!("would {} ({})", plan.summary, plan.destination.describe()),
            plan.actions.clone(),
        )?));
    }
    if ctx.target == Target::Prod {
        ctx.confirm(
            &format!("{} ({})", plan.summary, plan.destination.describe()),
            &plan.actions,
            &plan.confirm,
        )?;
    }
    Ok(Go::Execute)
}

/// What a guarded write came to: its plan (`--dry-run`) or its result.
pub enum Done<R> {
    Planned(Outcome),
    Executed(R),
}

impl<R> Done<R> {
    /// The outcome to render: the plan, or `report` of the result.
    pub fn outcome(self, report: impl FnOnce(R) -> Result<Outcome>) -> Result<Outcome> {
        match self {
            Done::Planned(plan) => Ok(plan),
            Done::Executed(result) => report(result),
        }
    }

    /// The executed result turned into another (a report from raw results).
    pub fn map<T>(self, f: impl FnOnce(R) -> T) -> Done<T> {
        match self {
            Done::Planned(plan) => Done::Planned(plan),
            Done::Executed(result) => Done::Executed(f(result)),
        }
    }

    /// The result, for a step of a larger command (which did its own dry run before).
    pub fn executed(self) -> Result<R> {
        match self {
            Done::Executed(result) => Ok(result),
            Done::Planned(_) => Err(anyhow::anyhow!(
                "internal: a step was planned instead of run"
            )),
        }
    }
}

/// plan → guard → execute: the one path of every write.
pub fn write<R>(
    ctx: &Ctx,
    plan: &Plan,
    marker: Option<Marker>,
    execute: impl FnOnce() -> Result<R>,
) -> Result<Done<R>> {
    match check(ctx, plan, marker)? {
        Go::DryRun(outcome) => Ok(Done::Planned(outcome)),
        Go::Execute => execute().map(Done::Executed),
    }
}

/// Step 1 alone, for commands that only read: local mode never reaches a remote store.
pub fn local_only(ctx: &Ctx, destination: &Destination) -> Result<()> {
    if ctx.target != Target::Local {
        return Ok(());
    }
    match destination {
        Destination::Postgres { hosts, .. } => {
            for host in hosts {
                if is_aws_host(host) || !(is_local_host(host) || ctx.allow_remote_host) {
                    return Err(refused(format!(
                        "CONNECTION_URL points at `{host}`, which is not a local host, but this is \
                         local mode: nothing was done. For production add --prod (it reads \
                         PROD_CONNECTION_URL); for a development database on purpose on another \
                         host, add --allow-remote-host{}",
                        if is_aws_host(host) {
                            " (never for an AWS host)"
                        } else {
                            ""
                        }
                    )));
                }
            }
            Ok(())
        }
        Destination::DynamoDb { endpoint, .. } => {
            refuse_aws_endpoint(endpoint, "the DynamoDB endpoint")
        }
        Destination::Aws {
            service, endpoint, ..
        } => match endpoint.as_deref().map(|e| (e, endpoint_host(e))) {
            Some((_, Some(host))) if !is_aws_host(&host) => Ok(()),
            _ => Err(refused(format!(
                "this changes {service} in your AWS account, but this is local mode: nothing was \
                 done. Add --prod (and --yes without a terminal) if you mean it"
            ))),
        },
    }
}

/// Local mode never sends DynamoDB work to AWS: `endpoint` (named by `source`) must not be on
/// an AWS domain, in any case or partition (exit 3 otherwise).
pub fn refuse_aws_endpoint(endpoint: &str, source: &str) -> Result<()> {
    match endpoint_host(endpoint) {
        Some(host) if is_aws_host(&host) => Err(refused(format!(
            "{source} `{endpoint}` is AWS, but this is local mode, which never talks to AWS: \
             nothing was done; add --prod if you mean production"
        ))),
        Some(_) => Ok(()),
        None => Err(anyhow::anyhow!(
            "{source} `{endpoint}` names no host: write it as http://host:port"
        )),
    }
}

/// A host that is this machine or a private network's: loopback, a Unix socket (a path),
/// private and link-local addresses, single-label names (a compose service such as `db`),
/// and names under `localhost`, `local` or `internal`. Never an AWS host.
pub fn is_local_host(host: &str) -> bool {
    let host = normalise(host);
    if host.is_empty() || host.starts_with('/') || host.starts_with('@') {
        return !host.is_empty();
    }
    if is_aws_host(&host) {
        return false;
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return match ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || v6
                        .to_ipv4_mapped()
                        .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
            }
        };
    }
    !host.contains('.')
        || ["localhost", "local", "internal"]
            .iter()
            .any(|suffix| host == *suffix || host.ends_with(&format!(".{suffix}")))
}

/// The domains of every AWS partition's endpoints (commercial, China, GovCloud, the isolated
/// regions and the dual-stack `api.aws`).
const AWS_DOMAINS: &[&str] = &[
    "amazonaws.com",
    "amazonaws.com.cn",
    "api.aws",
    "api.amazonwebservices.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
    "amazonaws.eu",
];

/// Whether `host` is an AWS endpoint's (any partition, any case, a trailing dot or not).
pub fn is_aws_host(host: &str) -> bool {
    let host = normalise(host);
    AWS_DOMAINS
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

fn normalise(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The host of an endpoint URL, or None when it has none.
pub fn endpoint_host(endpoint: &str) -> Option<String> {
    let uri: http::Uri = endpoint.trim().parse().ok()?;
    uri.host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "10.1.2.3",
            "172.20.0.5",
            "192.168.0.10",
            "169.254.1.1",
            "fd00::5",
            "fe80::1",
            "db",
            "postgres",
            "api.localhost",
            "printer.local",
            "host.docker.internal",
            "/var/run/postgresql",
        ] {
            assert!(is_local_host(host), "{host} should be local");
        }
        for host in [
            "mydb.abc.us-east-1.rds.amazonaws.com",
            "MYDB.ABC.US-EAST-1.RDS.AMAZONAWS.COM",
            "db.example.com",
            "8.8.8.8",
            "2001:4860::8888",
            "",
            "internal.example.com",
            "localhost.example.com",
        ] {
            assert!(!is_local_host(host), "{host} should not be local");
        }
    }

    #[test]
    fn aws_hosts_in_every_case_and_partition() {
        for host in [
            "dynamodb.us-east-1.amazonaws.com",
            "DYNAMODB.US-EAST-1.AMAZONAWS.COM",
            "dynamodb.us-east-1.amazonaws.com.",
            "dynamodb.cn-north-1.amazonaws.com.cn",
            "dynamodb.us-east-1.api.aws",
            "dynamodb.us-gov-west-1.amazonaws.com",
        ] {
            assert!(is_aws_host(host), "{host}");
        }
        for host in ["localhost", "amazonaws.com.example.org", "notamazonaws.com"] {
            assert!(!is_aws_host(host), "{host}");
        }
    }

    #[test]
    fn endpoint_hosts() {
        assert_eq!(
            endpoint_host("http://LOCALHOST:8000").as_deref(),
            Some("LOCALHOST")
        );
        assert_eq!(
            endpoint_host("https://dynamodb.us-east-1.api.aws/").as_deref(),
            Some("dynamodb.us-east-1.api.aws")
        );
        assert_eq!(endpoint_host("http://[::1]:8000").as_deref(), Some("::1"));
        assert_eq!(endpoint_host("not a url"), None);
    }
}
