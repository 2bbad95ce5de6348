//! Connecting to a Postgres target: TLS as libpq's modes mean it, a bounded login, Ctrl-C
//! that cancels the running statement, and connection errors in plain words.

use std::error::Error as StdError;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{anyhow, Result};
use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use super::target::{PgTarget, Tls};
use crate::poll::{self, Probe, Wait};
use crate::target::Target;

impl PgTarget {
    /// Connect to the target database.
    pub(crate) fn connect(&self) -> Result<Client> {
        self.connect_to(&self.dbname)
            .map_err(|failure| self.explain(failure, &self.dbname))
    }

    /// Connect to the server's maintenance database (`postgres`, else `template1`), for
    /// creating, dropping and listing sessions. The URL's host, user and password are kept:
    /// only the database changes (the old `sed` on the URL mangled users named `cruddur…`).
    pub(crate) fn connect_maintenance(&self) -> Result<Client> {
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
    pub(crate) async fn wait_until_up(&self, deadline: std::time::Instant) -> Result<Duration> {
        let server = self.server();
        let (_, waited) = poll::until(
            Wait::steady(deadline),
            || format!("Postgres at {server} was not up yet"),
            // The blocking driver must not run (nor be dropped) on the async runtime's thread.
            || {
                let pg = self.clone();
                async move {
                    tokio::task::spawn_blocking(move || pg.probe_up())
                        .await
                        .map_err(|e| anyhow!("internal: the login attempt failed to run: {e}"))?
                }
            },
            |last| anyhow!("Postgres at {server} did not come up in time (last: {last})"),
        )
        .await?;
        Ok(waited)
    }

    fn probe_up(&self) -> Result<Probe<()>> {
        match self.connect_to("postgres") {
            Ok(_) => Ok(Probe::Ready(())),
            Err(Failure::Pg(e)) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
                Ok(Probe::Ready(()))
            }
            Err(Failure::Pg(e))
                if e.code().is_some() && e.code() != Some(&SqlState::CANNOT_CONNECT_NOW) =>
            {
                Err(self.explain(Failure::Pg(e), "postgres"))
            }
            Err(failure) => Ok(Probe::NotYet(format!(
                "{:#}",
                self.explain(failure, "postgres")
            ))),
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
            crate::text::duration(self.timeout),
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
pub(crate) fn db_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text.push_str(&format!(" (SQLSTATE {})", db.code().code()));
            text
        }
        None => chain(error),
    }
}
