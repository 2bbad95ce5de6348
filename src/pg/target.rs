//! Which Postgres database a command works on: the URL from the flags and the environment,
//! libpq's `sslmode`/`sslrootcert`, the form that is safe to print, and the password to scrub.

use std::time::Duration;

use anyhow::{anyhow, Result};
use postgres::config::{Host, SslMode};
use postgres::Config;

use crate::guard::Destination;
use crate::target::Target;

pub(crate) const DEFAULT_LOCAL_URL: &str = "postgresql://postgres:password@localhost:5432/cruddur";

/// Where Postgres is, as plain settings (from the flags and variables).
#[derive(Debug, Clone, Default)]
pub(crate) struct PgSettings {
    /// `CONNECTION_URL`.
    pub(crate) database_url: Option<String>,
    /// `PROD_CONNECTION_URL`.
    pub(crate) prod_database_url: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) lock_timeout: Duration,
}

/// The database the commands work on, resolved from the flags and the environment.
#[derive(Debug, Clone)]
pub(crate) struct PgTarget {
    pub(crate) config: Config,
    /// The database named in the URL (never hard-coded).
    pub(crate) dbname: String,
    /// The URL with its password shown as `***`: the only form that is ever printed.
    pub(crate) display: String,
    /// Where the URL came from, for error messages.
    pub(crate) source: &'static str,
    pub(crate) target: Target,
    pub(crate) timeout: Duration,
    /// `--lock-timeout`: how long to wait for a lock (the app's, another cruddur's).
    pub(crate) lock_timeout: Duration,
    /// How TLS is used, as libpq's `sslmode` (default: `prefer` locally, `require` in --prod).
    pub(crate) tls: Tls,
    /// `sslrootcert`: the CA bundle `verify-ca` / `verify-full` check the server against.
    pub(crate) root_cert: Option<std::path::PathBuf>,
}

/// libpq's `sslmode`, all of it but `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it and the handshake works; plaintext otherwise.
    Prefer,
    /// TLS or nothing; the certificate is not checked (libpq's `require`).
    Require,
    /// TLS with a certificate signed by `sslrootcert`'s CA, for any host name.
    VerifyCa,
    /// TLS with a certificate signed by `sslrootcert`'s CA and naming the host.
    VerifyFull,
}

impl Tls {
    fn parse(text: &str) -> Option<Tls> {
        Some(match text {
            "disable" => Tls::Disable,
            "prefer" => Tls::Prefer,
            "require" => Tls::Require,
            "verify-ca" => Tls::VerifyCa,
            "verify-full" => Tls::VerifyFull,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Tls::Disable => "disable",
            Tls::Prefer => "prefer",
            Tls::Require => "require",
            Tls::VerifyCa => "verify-ca",
            Tls::VerifyFull => "verify-full",
        }
    }
}

impl PgTarget {
    /// A local database at `url`, for unit tests (nothing connects).
    #[cfg(test)]
    pub(crate) fn local(url: &str) -> PgTarget {
        PgTarget::resolve(
            Target::Local,
            &PgSettings {
                database_url: Some(url.to_string()),
                ..PgSettings::default()
            },
        )
        .expect("a local URL")
    }

    pub(crate) fn resolve(target: Target, args: &PgSettings) -> Result<PgTarget> {
        let (url, source) = match target {
            Target::Local => match &args.database_url {
                Some(url) => (url.as_str(), "CONNECTION_URL (or --database-url)"),
                None => (DEFAULT_LOCAL_URL, "the default local URL"),
            },
            Target::Prod => match &args.prod_database_url {
                Some(url) => (url.as_str(), "PROD_CONNECTION_URL (or --prod-database-url)"),
                None => {
                    return Err(anyhow!(
                        "--prod needs the production Postgres URL: set PROD_CONNECTION_URL \
                         (or pass --prod-database-url), e.g. \
                         postgresql://cruddurroot:PASSWORD@cruddur-db-instance.xxxx.us-east-1.rds.amazonaws.com:5432/cruddur"
                    ))
                }
            },
        };
        let url = url.trim();
        if url.contains("://") && authority_ats(url) > 1 {
            return Err(anyhow!(
                "{source}: the user or password holds a raw `@`; percent-encode it as %40 \
                 (e.g. postgresql://user:p%40ss@host:5432/cruddur)"
            ));
        }
        let (url, sslmode, root_cert) = take_tls_params(url, source)?;
        // The parser's messages name the bad option, never the URL or the password.
        let mut config: Config = url
            .parse()
            .map_err(|e| anyhow!("{source} is not a valid Postgres URL: {e}"))?;
        let tls = match sslmode {
            Some(mode) => mode,
            None if target == Target::Prod => Tls::Require,
            None => Tls::Prefer,
        };
        config.ssl_mode(match tls {
            Tls::Disable => SslMode::Disable,
            Tls::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let root_cert = match (tls, root_cert) {
            (Tls::VerifyCa | Tls::VerifyFull, None) => {
                let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
                match home
                    .map(|h| h.join(".postgresql/root.crt"))
                    .filter(|p| p.is_file())
                {
                    Some(path) => Some(path),
                    None => {
                        return Err(anyhow!(
                            "{source} asks for sslmode={} but names no CA: add \
                             sslrootcert=PATH (for RDS, the region's bundle, e.g. \
                             sslrootcert=/path/to/global-bundle.pem)",
                            tls.name()
                        ))
                    }
                }
            }
            (_, root_cert) => root_cert,
        };
        let dbname = config
            .get_dbname()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                anyhow!("{source} names no database: end the URL with the database, e.g. …:5432/cruddur")
            })?
            .to_string();
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        config
            .application_name("cruddur")
            .connect_timeout(args.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .tcp_user_timeout(args.connect_timeout.max(Duration::from_secs(30)));
        if target == Target::Prod {
            // Never queue behind the app's locks for long: every app query would queue behind.
            let options = format!(
                "{} -c lock_timeout={}",
                config.get_options().unwrap_or(""),
                args.lock_timeout.as_millis()
            );
            config.options(options.trim());
        }
        Ok(PgTarget {
            lock_timeout: args.lock_timeout,
            display: display_url(&config),
            dbname,
            config,
            source,
            target,
            timeout: args.connect_timeout,
            tls,
            root_cert,
        })
    }

    /// Where this target is, for the guard.
    pub(crate) fn destination(&self) -> Destination {
        let mut hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        hosts.extend(self.config.get_hostaddrs().iter().map(|ip| ip.to_string()));
        Destination::Postgres {
            hosts,
            server: self.server(),
            database: self.dbname.clone(),
        }
    }

    /// The password, if the URL has one: for `db connect`, which hands it to psql through PGPASSWORD.
    pub(crate) fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty())
    }

    /// `host:port` of the first host, for messages.
    pub(crate) fn server(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".into(),
        };
        format!(
            "{host}:{}",
            self.config.get_ports().first().unwrap_or(&5432)
        )
    }
}

/// `postgresql://user:***@host:port/db`: the URL as printed anywhere.
fn display_url(config: &Config) -> String {
    let user = config.get_user().unwrap_or("");
    let auth = match (user.is_empty(), config.get_password().is_some()) {
        (true, false) => String::new(),
        (false, false) => format!("{user}@"),
        (_, true) => format!("{user}:***@"),
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!(
        "postgresql://{auth}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// How many `@` the URL's authority holds (the part before the path or query). More than
/// one means a raw `@` in the user or password, which parsers split at the wrong place.
fn authority_ats(url: &str) -> usize {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let before_query = rest.split(['?', '#']).next().unwrap_or(rest);
    let authority_end = match before_query.rfind('@') {
        Some(at) => before_query[at..]
            .find('/')
            .map_or(before_query.len(), |i| at + i),
        None => before_query.find('/').unwrap_or(before_query.len()),
    };
    before_query[..authority_end].matches('@').count()
}

/// The URL without `sslmode` and `sslrootcert` (the driver knows neither `verify-*` nor the
/// root certificate), and their values.
fn take_tls_params(
    url: &str,
    source: &str,
) -> Result<(String, Option<Tls>, Option<std::path::PathBuf>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None, None));
    };
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "sslmode" => {
                mode = Some(Tls::parse(&value).ok_or_else(|| {
                    anyhow!(
                        "{source}: sslmode `{}` is not one of disable, prefer, require, verify-ca, verify-full",
                        crate::text::cut(&value, 20)
                    )
                })?)
            }
            "sslrootcert" => root = Some(std::path::PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, mode, root))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password of a Postgres URL as written and percent-decoded, whether or not the URL
/// parses (for scrubbing messages). The user info ends at the last `@` of the authority.
pub(crate) fn url_password(url: &str) -> Vec<String> {
    let url = url.trim();
    let Some((_, rest)) = url.split_once("://") else {
        // key=value form: password=…
        return url
            .split_whitespace()
            .filter_map(|pair| pair.strip_prefix("password="))
            .map(|p| p.trim_matches('\'').to_string())
            .collect();
    };
    let before_query = rest.split(['?', '#']).next().unwrap_or(rest);
    let Some(at) = before_query.rfind('@') else {
        return Vec::new();
    };
    match before_query[..at].split_once(':') {
        Some((_, password)) if !password.is_empty() => {
            let decoded = percent_decode(password);
            vec![password.to_string(), decoded]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(local: Option<&str>, prod: Option<&str>) -> PgSettings {
        PgSettings {
            database_url: local.map(String::from),
            prod_database_url: prod.map(String::from),
            connect_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn local_defaults_to_the_compose_stack() {
        let pg = PgTarget::resolve(Target::Local, &args(None, None)).unwrap();
        assert_eq!(pg.dbname, "cruddur");
        assert_eq!(
            pg.display,
            "postgresql://postgres:***@localhost:5432/cruddur"
        );
        assert_eq!(pg.password().as_deref(), Some("password"));
    }

    #[test]
    fn prod_needs_its_own_url_and_names_the_variable() {
        let err = PgTarget::resolve(Target::Prod, &args(Some("postgresql://a@b/c"), None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PROD_CONNECTION_URL"), "{err}");
        let pg = PgTarget::resolve(
            Target::Prod,
            &args(None, Some("postgresql://cruddurroot:Sekr3t@cruddur-db-instance.x.rds.amazonaws.com:5432/cruddur")),
        )
        .unwrap();
        assert_eq!(pg.dbname, "cruddur");
        assert_eq!(
            pg.display,
            "postgresql://cruddurroot:***@cruddur-db-instance.x.rds.amazonaws.com:5432/cruddur"
        );
        assert_eq!(pg.config.get_user(), Some("cruddurroot"));
    }

    #[test]
    fn the_database_comes_from_the_url() {
        let pg = PgTarget::resolve(
            Target::Local,
            &args(Some("postgres://u:p@h:6000/other_db"), None),
        )
        .unwrap();
        assert_eq!(pg.dbname, "other_db");
        assert_eq!(pg.server(), "h:6000");
        let err = PgTarget::resolve(Target::Local, &args(Some("postgres://u:p@h:6000"), None))
            .unwrap_err();
        assert!(err.to_string().contains("names no database"), "{err}");
    }

    #[test]
    fn a_bad_url_never_echoes_the_password() {
        let err = PgTarget::resolve(
            Target::Local,
            &args(Some("postgres://u:Sekr3t@h:notaport/db"), None),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CONNECTION_URL"), "{err}");
        assert!(!err.contains("Sekr3t"), "{err}");
    }
}
