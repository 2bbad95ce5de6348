//! Which proxy a request goes through, decided from the environment as the AWS CLI and curl
//! decide it: `HTTPS_PROXY` (or `https_proxy`) for https URLs, `HTTP_PROXY` (or `http_proxy`)
//! for http ones, `ALL_PROXY` (or `all_proxy`) for either when those are unset, and never for a
//! host `NO_PROXY` (or `no_proxy`) lists. Loopback (the local stack) is always reached
//! directly. Used to build the HTTP clients and to name the proxy when it cannot be reached,
//! its password never shown.

/// The proxy a URL's request goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyUse {
    /// The proxy's URL with any password as `***`.
    pub shown: String,
    /// The variable it came from.
    pub variable: &'static str,
    /// The URL as the variable has it (a password too): for the HTTP client only.
    pub url: String,
}

impl std::fmt::Display for ProxyUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the proxy {} ({})", self.shown, self.variable)
    }
}

const HTTPS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const HTTP: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const ALL: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const NO: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxy for `url` in this process's environment.
pub(crate) fn for_url(url: &str) -> Option<ProxyUse> {
    lookup(&|name| std::env::var(name).ok(), url)
}

/// The passwords of every proxy variable, to scrub from messages.
pub(crate) fn secrets() -> Vec<String> {
    HTTPS
        .iter()
        .chain(&HTTP)
        .chain(&ALL)
        .filter_map(|name| std::env::var(name).ok())
        .filter_map(|url| {
            let uri: http::Uri = url.trim().parse().ok()?;
            let userinfo = uri.authority()?.as_str().rsplit_once('@')?.0.to_string();
            let password = userinfo.split_once(':')?.1.to_string();
            Some(percent_decoded(&password).into_iter().chain([password]))
        })
        .flatten()
        .filter(|p| !p.is_empty())
        .collect()
}

fn lookup(env: &dyn Fn(&str) -> Option<String>, url: &str) -> Option<ProxyUse> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let host = uri.host().unwrap_or("").to_string();
    if crate::hosts::is_loopback(&host) {
        return None;
    }
    let first = |names: &[&'static str]| {
        names.iter().find_map(|name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*name, v))
        })
    };
    let by_scheme = if uri.scheme_str() == Some("http") {
        first(&HTTP)
    } else {
        first(&HTTPS)
    };
    let (variable, proxy) = by_scheme.or_else(|| first(&ALL))?;
    if let Some((_, rules)) = first(&NO) {
        if bypassed(&host, &rules) {
            return None;
        }
    }
    Some(ProxyUse {
        shown: without_password(&proxy),
        variable,
        url: proxy.trim().to_string(),
    })
}

/// Whether `NO_PROXY`'s rules (comma-separated names, domains, `*`) let `host` go direct.
fn bypassed(host: &str, rules: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    rules.split(',').map(str::trim).any(|rule| {
        let rule = rule.to_ascii_lowercase();
        let rule = rule.split(':').next().unwrap_or("");
        let domain = rule.trim_start_matches("*.").trim_start_matches('.');
        rule == "*"
            || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
    })
}

/// `http://user:secret@proxy:3128` → `http://user:***@proxy:3128`.
fn without_password(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .ok()
        .filter(|decoded| decoded != text)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::env_of;

    #[test]
    fn the_scheme_picks_the_variable_and_no_proxy_bypasses() {
        let vars = env_of(&[
            ("HTTPS_PROXY", "http://user:s3cret@proxy.corp:3128"),
            ("http_proxy", "http://plain.corp:8080"),
            ("NO_PROXY", "internal.corp, .svc,169.254.169.254"),
        ]);
        let https = lookup(&vars, "https://dynamodb.us-east-1.amazonaws.com").unwrap();
        assert_eq!(https.shown, "http://user:***@proxy.corp:3128");
        assert_eq!(https.variable, "HTTPS_PROXY");
        assert_eq!(
            https.to_string(),
            "the proxy http://user:***@proxy.corp:3128 (HTTPS_PROXY)"
        );
        let http = lookup(&vars, "http://ddb.example.org:8000").unwrap();
        assert_eq!(
            (http.shown.as_str(), http.variable),
            ("http://plain.corp:8080", "http_proxy")
        );
        assert_eq!(lookup(&vars, "https://db.internal.corp/x"), None);
        assert_eq!(lookup(&vars, "http://a.b.svc:8000"), None);
        assert_eq!(lookup(&vars, "http://169.254.169.254/latest"), None);
        // Loopback is always direct.
        for local in [
            "http://localhost:8000",
            "http://127.0.0.1:8000",
            "http://[::1]:8000",
        ] {
            assert_eq!(lookup(&vars, local), None, "{local}");
        }
        let all = env_of(&[("ALL_PROXY", "socks5://s:1080")]);
        assert_eq!(
            lookup(&all, "https://x.amazonaws.com").unwrap().variable,
            "ALL_PROXY"
        );
        assert_eq!(
            lookup(
                &env_of(&[("NO_PROXY", "*"), ("HTTPS_PROXY", "http://p:1")]),
                "https://x"
            ),
            None
        );
        assert_eq!(lookup(&env_of(&[]), "https://x.amazonaws.com"), None);
    }

    #[test]
    fn passwords_are_found_to_scrub() {
        assert_eq!(without_password("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(
            without_password("http://u:p%40ss@proxy:3128/"),
            "http://u:***@proxy:3128/"
        );
        assert_eq!(percent_decoded("p%40ss").as_deref(), Some("p@ss"));
        assert_eq!(percent_decoded("plain"), None);
    }
}
