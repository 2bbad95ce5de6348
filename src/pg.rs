//! The Postgres target and everything shared by the `db` commands: connecting (with errors
//! that say what to do), the maintenance database, and binding text parameters.

use std::error::Error as StdError;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{anyhow, Result};
use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls};

use crate::cli::PgArgs;
use crate::guard::Destination;
use crate::target::Target;

pub const DEFAULT_LOCAL_URL: &str = "postgresql://postgres:password@localhost:5432/cruddur";

/// The database the commands work on, resolved from the flags and the environment.
#[derive(Debug, Clone)]
pub struct PgTarget {
    pub config: Config,
    /// The database named in the URL (never hard-coded).
    pub dbname: String,
    /// The URL with its password shown as `***`: the only form that is ever printed.
    pub display: String,
    /// Where the URL came from, for error messages.
    pub source: &'static str,
    pub target: Target,
    pub timeout: Duration,
    /// How TLS is used, as libpq's `sslmode` (default: `prefer` locally, `require` in --prod).
    pub tls: Tls,
    /// `sslrootcert`: the CA bundle `verify-ca` / `verify-full` check the server against.
    pub root_cert: Option<std::path::PathBuf>,
}

/// libpq's `sslmode`, all of it but `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
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

    pub fn name(self) -> &'static str {
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
    pub fn resolve(target: Target, args: &PgArgs) -> Result<PgTarget> {
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
    pub fn destination(&self) -> Destination {
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
    pub fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty())
    }

    /// `host:port` of the first host, for messages.
    pub fn server(&self) -> String {
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

    /// Connect to the target database.
    pub fn connect(&self) -> Result<Client> {
        self.connect_to(&self.dbname)
            .map_err(|failure| self.explain(failure, &self.dbname))
    }

    /// Connect to the server's maintenance database (`postgres`, else `template1`), for
    /// creating, dropping and listing sessions. The URL's host, user and password are kept:
    /// only the database changes (the old `sed` on the URL mangled users named `cruddur…`).
    pub fn connect_maintenance(&self) -> Result<Client> {
        let mut last = None;
        for dbname in ["postgres", "template1"] {
            match self.connect_to(dbname) {
                Ok(client) => return Ok(client),
                Err(Failure::Pg(e)) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
                    last = Some(e)
                }
                Err(failure) => return Err(self.explain(failure, dbname)),
            }
        }
        Err(anyhow!(
            "the server at {} has neither a `postgres` nor a `template1` database to connect to{}",
            self.server(),
            last.map(|e| format!(": {}", db_message(&e)))
                .unwrap_or_default()
        ))
    }

    /// Poll until the server takes a login (to the maintenance database), or `deadline`.
    /// A refused login or a missing role is final: waiting would not mend it.
    pub fn wait_until_up(&self, deadline: std::time::Instant) -> Result<Duration> {
        let started = std::time::Instant::now();
        loop {
            let last = match self.connect_to("postgres") {
                Ok(_) => return Ok(started.elapsed()),
                Err(Failure::Pg(e)) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
                    return Ok(started.elapsed())
                }
                Err(Failure::Pg(e))
                    if e.code().is_some() && e.code() != Some(&SqlState::CANNOT_CONNECT_NOW) =>
                {
                    return Err(self.explain(Failure::Pg(e), "postgres"))
                }
                Err(failure) => format!("{:#}", self.explain(failure, "postgres")),
            };
            crate::interrupt::check(|| format!("Postgres at {} was not up yet", self.server()))?;
            if std::time::Instant::now() + Duration::from_millis(250) >= deadline {
                return Err(anyhow!(
                    "Postgres at {} did not come up in time (last: {last})",
                    self.server()
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The driver's own timeout covers only the TCP connect; a server (or a proxy) that
    /// accepts and then never answers would hang the login. The whole login is bounded here.
    fn connect_to(&self, dbname: &str) -> std::result::Result<Client, Failure> {
        let mut config = self.config.clone();
        config.dbname(dbname);
        let (tls, root_cert) = (self.tls, self.root_cert.clone());
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(connect_with(&config, tls, root_cert.as_deref()));
        });
        match receiver.recv_timeout(self.timeout) {
            Ok(Ok(client)) => {
                // Ctrl-C cancels the statement this client is running (then it rolls back).
                let token = client.cancel_token();
                let (tls, root_cert) = (self.tls, self.root_cert.clone());
                crate::interrupt::on_interrupt(move || {
                    let _ = match connector(tls, root_cert.as_deref()) {
                        Ok(Some(tls)) => token.cancel_query(tls),
                        _ => token.cancel_query(NoTls),
                    };
                });
                Ok(client)
            }
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(Failure::TimedOut),
        }
    }

    /// Turn a connection error into one that says what to do about it.
    fn explain(&self, failure: Failure, dbname: &str) -> anyhow::Error {
        let server = self.server();
        let error = match failure {
            Failure::Pg(error) => error,
            Failure::TimedOut => return self.timed_out(),
            Failure::Tls(why) => {
                return anyhow!(
                    "could not set up TLS (sslmode={}) with Postgres at {server}: {why}",
                    self.tls.name()
                )
            }
        };
        if is_tls_failure(&error) {
            return anyhow!(
                "the TLS handshake (sslmode={}) with Postgres at {server} failed: {}{}",
                self.tls.name(),
                chain(&error),
                match self.tls {
                    Tls::VerifyCa | Tls::VerifyFull =>
                        "; check that sslrootcert names the CA that signed the server's certificate (for RDS, the region's bundle)",
                    _ => "",
                }
            );
        }
        if let Some(code) = error.code() {
            if *code == SqlState::INVALID_CATALOG_NAME {
                return anyhow!(
                    "database `{dbname}` does not exist on {server}: create it with `cruddur db create`{}",
                    if self.target == Target::Local { " (or all of it with `cruddur db setup`)" } else { "" }
                );
            }
            if db_message(&error).contains("no encryption") {
                return anyhow!(
                    "Postgres at {server} accepts this login only over TLS: {}; drop `sslmode=disable` from {}",
                    db_message(&error),
                    self.source
                );
            }
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return anyhow!(
                    "Postgres at {server} refused the login: {}; check the user and password in {}",
                    db_message(&error),
                    self.source
                );
            }
            return anyhow!(
                "could not connect to {}: {}",
                self.display,
                db_message(&error)
            );
        }
        let io_kind = io_error_kind(&error);
        if io_kind == Some(std::io::ErrorKind::TimedOut) || error.to_string().contains("timeout") {
            return self.timed_out();
        }
        if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
            let hint = match self.target {
                Target::Local => "is the local Postgres running? Start the local stack first (e.g. `docker compose up -d db`)",
                Target::Prod => "is the RDS instance running and the URL's port right?",
            };
            return anyhow!("connection refused by {server} ({}): {hint}", self.source);
        }
        anyhow!(
            "could not connect to Postgres at {server} ({}): {}",
            self.source,
            chain(&error)
        )
    }
}

impl PgTarget {
    fn timed_out(&self) -> anyhow::Error {
        let hint = match self.target {
            Target::Prod => "; if this workspace's IP changed, let it through the RDS security group with `cruddur rds update-sg-rule`",
            Target::Local => "; is the host right and the server up? (raise the limit with --connect-timeout)",
        };
        anyhow!(
            "could not reach Postgres at {} within {} ({}){hint}",
            self.server(),
            crate::output::duration(self.timeout),
            self.source
        )
    }
}

enum Failure {
    Pg(postgres::Error),
    Tls(String),
    TimedOut,
}

/// Connect with the TLS `mode` asks for. `prefer` falls back to plaintext when the
/// handshake fails, as libpq does; every other mode fails instead.
fn connect_with(
    config: &Config,
    mode: Tls,
    root_cert: Option<&std::path::Path>,
) -> std::result::Result<Client, Failure> {
    match connector(mode, root_cert).map_err(Failure::Tls)? {
        None => config.connect(NoTls).map_err(Failure::Pg),
        Some(tls) => match config.connect(tls) {
            Err(error) if mode == Tls::Prefer && is_tls_failure(&error) => {
                let mut plain = config.clone();
                plain.ssl_mode(SslMode::Disable);
                plain.connect(NoTls).map_err(Failure::Pg)
            }
            other => other.map_err(Failure::Pg),
        },
    }
}

/// The TLS connector of a mode (None: no TLS). `prefer` and `require` encrypt without checking
/// the certificate against a CA, as libpq does; `verify-ca` checks the chain against
/// `root_cert`, and `verify-full` the host name too. Handshake signatures are always verified.
fn connector(
    mode: Tls,
    root_cert: Option<&std::path::Path>,
) -> std::result::Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match mode {
        Tls::Disable => return Ok(None),
        Tls::Prefer | Tls::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier { provider, ca: None }))
            .with_no_client_auth(),
        Tls::VerifyCa | Tls::VerifyFull => {
            let path = root_cert.ok_or("no sslrootcert")?;
            let shown = path.display();
            let mut roots = rustls::RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {shown}: {e}"))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|e| format!("sslrootcert {shown} is not PEM: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("sslrootcert {shown} holds a bad certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("sslrootcert {shown} holds no certificate"));
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| e.to_string())?;
            if mode == Tls::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Verifier {
                        provider: Arc::new(rustls::crypto::ring::default_provider()),
                        ca: Some(webpki),
                    }))
                    .with_no_client_auth()
            }
        }
    };
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// Whether a connection failed in the TLS handshake (rather than reaching the server at all).
fn is_tls_failure(error: &postgres::Error) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = e.source();
    }
    false
}

/// How the server's certificate is checked: not at all (`prefer`, `require`: the channel is
/// encrypted, as libpq does it) or against a CA for any name (`verify-ca`). Handshake
/// signatures are always verified. (`verify-full` uses rustls's own WebPKI verifier.)
#[derive(Debug)]
struct Verifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// The CA check of `verify-ca`; None: encrypt only.
    ca: Option<Arc<rustls::client::WebPkiServerVerifier>>,
}

impl rustls::client::danger::ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        let Some(ca) = &self.ca else {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        };
        match ca.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
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

fn io_error_kind(error: &postgres::Error) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// The error and its causes on one line.
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

/// Postgres's own words for an error: the message, then its detail and hint.
pub fn db_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        None => chain(error),
    }
}

/// A parameter sent as text, whatever the column's type: the server parses it as it would
/// a literal (`uuid`, `timestamp`, `integer`, …), so a named query takes plain strings.
#[derive(Debug)]
pub struct TextParam<'a>(pub &'a str);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// The list of other sessions on a database, as a table row each.
#[derive(Debug, serde::Serialize)]
pub struct Session {
    pub process_id: i32,
    pub user: Option<String>,
    pub db: Option<String>,
    pub client_addr: Option<String>,
    pub app: Option<String>,
    pub state: Option<String>,
}

pub const SESSION_COLUMNS: &[&str] = &["process_id", "user", "db", "client_addr", "app", "state"];

/// Client sessions other than this one, optionally only those on `dbname`.
pub fn sessions(client: &mut Client, dbname: Option<&str>) -> Result<Vec<Session>> {
    let rows = client.query(
        "SELECT pid, usename::text, datname::text, host(client_addr), application_name, state \
         FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
           AND ($1::text IS NULL OR datname = $1::text) \
         ORDER BY datname, pid",
        &[&dbname],
    )?;
    Ok(rows
        .iter()
        .map(|row| Session {
            process_id: row.get(0),
            user: row.get(1),
            db: row.get(2),
            client_addr: row.get(3),
            app: row.get::<_, Option<String>>(4).filter(|a| !a.is_empty()),
            state: row.get(5),
        })
        .collect())
}

impl Session {
    /// `pid 123 (postgres, psql, 127.0.0.1)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "pid {} ({}, {}, {})",
            self.process_id,
            self.user.as_deref().unwrap_or("?"),
            self.app.as_deref().unwrap_or("no app name"),
            self.client_addr.as_deref().unwrap_or("local socket"),
        )
    }
}

/// What `db schema-load` writes on the database itself: where it belongs.
const MARKER: &str = "cruddur environment: ";

/// The statement that records the environment on the database (a comment on it).
pub fn mark_statement(dbname: &str, target: Target) -> String {
    format!(
        "COMMENT ON DATABASE {} IS '{MARKER}{}'",
        quote_ident(dbname),
        target.name()
    )
}

/// The environment recorded on `dbname`, if any (readable from any database of the server).
pub fn marker(client: &mut Client, dbname: &str) -> Result<Option<String>> {
    let row = client.query_opt(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        &[&dbname],
    )?;
    let comment: Option<String> = row.and_then(|r| r.get(0));
    Ok(comment.and_then(|c| c.strip_prefix(MARKER).map(|env| env.trim().to_string())))
}

/// Double-quote an identifier for SQL (a database name cannot be a bound parameter).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
                        crate::output::cut(&value, 20)
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
pub fn url_password(url: &str) -> Vec<String> {
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
    use crate::cli::PgArgs;

    fn args(local: Option<&str>, prod: Option<&str>) -> PgArgs {
        PgArgs {
            database_url: local.map(String::from),
            prod_database_url: prod.map(String::from),
            connect_timeout: Duration::from_secs(5),
            wait: false,
            wait_timeout: Duration::from_secs(60),
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

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("cruddur"), "\"cruddur\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
