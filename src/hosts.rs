//! Which hosts are this machine's or a private network's, and which are AWS's: the facts the
//! guard's first rule and the proxy choice rest on. Pure: strings in, answers out.

use std::net::IpAddr;

/// A host that is this machine or a private network's: loopback, a Unix socket (a path),
/// private and link-local addresses, single-label names (a compose service such as `db`),
/// and names under `localhost`, `local` or `internal`. Never an AWS host.
pub(crate) fn is_local_host(host: &str) -> bool {
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
pub(crate) fn is_aws_host(host: &str) -> bool {
    let host = normalise(host);
    AWS_DOMAINS
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

fn normalise(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The host of an endpoint URL, or None when it has none.
pub(crate) fn endpoint_host(endpoint: &str) -> Option<String> {
    let uri: http::Uri = endpoint.trim().parse().ok()?;
    uri.host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .filter(|h| !h.is_empty())
}

/// Whether a host is loopback: always reached directly, whatever the proxy variables say.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = normalise(host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
