//! Behind a proxy, with profiles: a recording HTTP proxy on loopback (CONNECT for https,
//! absolute-form requests for http) stands between cruddur and the emulators, and a scratch
//! HOME holds AWS profiles that set endpoints. Names under `.internal` resolve only through
//! the proxy (it sends every host to 127.0.0.1), so a request that reached its server went
//! through the proxy.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::harness::{cruddur, ddb_url, http_stub, moto_url, scratch, write, TestTable};

/// A proxy that records each request's first line (and whether it carried credentials) and
/// passes it on to 127.0.0.1 at the same port; `refuse_connect` answers CONNECT with 403.
struct RecordingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start(refuse_connect: bool) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let record = record.clone();
                std::thread::spawn(move || relay(client, &record, refuse_connect));
            }
        });
        RecordingProxy { url, seen }
    }

    /// The first lines seen so far, e.g. `CONNECT dynamodb.us-east-1.amazonaws.com:443`.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn saw(&self, needle: &str) -> bool {
        self.seen().iter().any(|line| line.contains(needle))
    }
}

fn relay(client: TcpStream, record: &Mutex<Vec<String>>, refuse_connect: bool) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let first = head[0].trim_end().to_string();
    let authorised = head
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("proxy-authorization:"));
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    record.lock().unwrap().push(format!(
        "{method} {target}{}",
        if authorised {
            " (with credentials)"
        } else {
            ""
        }
    ));
    let mut client = client;
    let authority = if method == "CONNECT" {
        target.to_string()
    } else {
        target
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let port = authority.rsplit(':').next().unwrap_or("80");
    if method == "CONNECT" && refuse_connect {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let Ok(mut server) = TcpStream::connect(format!("127.0.0.1:{port}")) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if method == "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
        // Servers take absolute-form request lines: the head goes on as it came.
        let _ = server.write_all(head.concat().as_bytes());
    }
    let buffered = reader.buffer().to_vec();
    let _ = server.write_all(&buffered);
    let (mut up_read, mut down_write) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut down_write);
        let _ = down_write.shutdown(std::net::Shutdown::Write);
    });
    let mut rest = reader.into_inner();
    let _ = std::io::copy(&mut rest, &mut server);
    let _ = server.shutdown(std::net::Shutdown::Write);
    let _ = upstream.join();
}

/// `http://127.0.0.1:PORT` → `http://NAME.internal:PORT`: reachable only through the proxy.
fn internal(url: &str, name: &str) -> String {
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    format!("http://{name}.internal:{port}")
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn every_aws_client_and_the_ip_lookup_go_through_the_proxy() {
    let proxy = RecordingProxy::start(false);
    let table = TestTable::new("proxy-ddb");
    cruddur(&["ddb", "schema-load", "--no-stream"])
        .table(&table)
        .run();
    // DynamoDB, by a name only the proxy resolves.
    let ddb = internal(&ddb_url(), "ddb");
    cruddur(&["ddb", "list-tables", "--json"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", &ddb)
        .env("HTTP_PROXY", &proxy.url)
        .stdout_has(&table.name)
        .run();
    assert!(proxy.saw(&format!("POST {ddb}/")), "{:?}", proxy.seen());

    // Cognito (moto), the same way.
    let moto = internal(&moto_url(), "moto");
    cruddur(&["cognito", "list-users", "--pool-id", "us-east-1_nopool"])
        .env("AWS_ENDPOINT_URL", &moto)
        .aws_credentials()
        .env("http_proxy", &proxy.url)
        .code(1)
        .stderr_has("user pool us-east-1_nopool does not exist in us-east-1")
        .run();
    assert!(proxy.saw(&format!("POST {moto}/")), "{:?}", proxy.seen());

    // EC2 and the public-IP lookup.
    let rule = crate::rds::rule();
    let stub = internal(&http_stub("52.95.110.1\n", 1), "checkip");
    cruddur(&["rds", "update-sg-rule", "--ip-url", &stub])
        .env("AWS_ENDPOINT_URL", &moto)
        .aws_credentials()
        .env("DB_SG_ID", &rule.group)
        .env("DB_SG_RULE_ID", &rule.rule)
        .env("HTTP_PROXY", &proxy.url)
        .run();
    assert_eq!(rule.read().0, "52.95.110.1/32");
    // (ureq tunnels plain http with CONNECT too; either way it went through the proxy)
    assert!(
        proxy.saw(stub.trim_start_matches("http://")),
        "{:?}",
        proxy.seen()
    );
    assert!(
        proxy
            .seen()
            .iter()
            .filter(|l| l.starts_with(&format!("POST {moto}")))
            .count()
            >= 3,
        "EC2's calls went through too: {:?}",
        proxy.seen()
    );
}

#[test]
fn the_local_stack_stays_direct_and_no_proxy_is_honoured() {
    let proxy = RecordingProxy::start(false);
    let table = TestTable::new("proxy-direct");
    // Loopback never goes through a proxy, even one that is down.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    cruddur(&["ddb", "schema-load", "--no-stream"])
        .table(&table)
        .env("HTTP_PROXY", &dead)
        .env("HTTPS_PROXY", &dead)
        .env("ALL_PROXY", &dead)
        .run();
    cruddur(&["ddb", "list-tables"])
        .table(&table)
        .env("HTTP_PROXY", &proxy.url)
        .stdout_has(&table.name)
        .run();
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    // A host NO_PROXY lists is not sent to the proxy (and this one resolves nowhere else).
    let ddb = internal(&ddb_url(), "ddb");
    cruddur(&["ddb", "list-tables"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", &ddb)
        .env("HTTP_PROXY", &proxy.url)
        .env("NO_PROXY", "localhost,.internal")
        .code(1)
        .stderr_has(&format!("cannot reach DynamoDB at {ddb} (ListTables)"))
        .run();
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[test]
fn a_proxy_that_refuses_or_is_down_is_named_without_its_password() {
    let proxy = RecordingProxy::start(true);
    let port = proxy.url.rsplit(':').next().unwrap().to_string();
    let with_password = format!("http://builder:s3cr3t-Pw@127.0.0.1:{port}");
    let done = cruddur(&["--prod", "ddb", "list-tables"])
        .aws_credentials()
        .env("HTTPS_PROXY", &with_password)
        .code(1)
        .stderr_has(&format!(
            "through the proxy http://builder:***@127.0.0.1:{port} (HTTPS_PROXY)"
        ))
        .stderr_lacks("s3cr3t")
        .run();
    assert!(
        proxy.saw("CONNECT dynamodb.us-east-1.amazonaws.com:443 (with credentials)"),
        "{:?}\n{done}",
        proxy.seen()
    );
    let dead = format!("http://127.0.0.1:{}", closed_port());
    cruddur(&["--prod", "ddb", "list-tables"])
        .aws_credentials()
        .env("https_proxy", &dead)
        .code(1)
        .stderr_has(&format!("through the proxy {dead} (https_proxy)"))
        .stderr_has("is up and lets this through, or list the host in NO_PROXY")
        .run();
}

/// A scratch HOME with `~/.aws/config` and `~/.aws/credentials`.
fn home_with(config: &str) -> tempfile::TempDir {
    let home = scratch();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    write(&aws, "config", config);
    write(
        &aws,
        "credentials",
        "[emu]\naws_access_key_id = a\naws_secret_access_key = b\n\
         [svc]\naws_access_key_id = a\naws_secret_access_key = b\n\
         [fips]\naws_access_key_id = a\naws_secret_access_key = b\n",
    );
    home
}

fn prod_in(home: &Path, profile: &str) -> crate::harness::Run {
    cruddur(&["--prod", "--profile", profile, "ddb", "list-tables"]).env("HOME", home)
}

#[test]
fn prod_refuses_an_endpoint_a_profile_or_variable_sets_and_names_an_aws_one_truthfully() {
    let emulator = ddb_url();
    let home = home_with(&format!(
        "[profile emu]\nregion = us-east-1\nendpoint_url = {emulator}\n\n\
         [profile svc]\nregion = us-east-1\nservices = local-ddb\n\n\
         [services local-ddb]\ndynamodb =\n  endpoint_url = {emulator}\n\n\
         [profile fips]\nregion = us-east-1\nendpoint_url = https://dynamodb-fips.us-east-1.amazonaws.com\n"
    ));
    prod_in(home.path(), "emu")
        .code(3)
        .stderr_has(&format!(
            "the AWS profile `emu` sets endpoint_url (or a services section does) for DynamoDB: {emulator}, which is not AWS"
        ))
        .stderr_lacks("PRODUCTION")
        .run();
    prod_in(home.path(), "svc")
        .code(3)
        .stderr_has(
            "the AWS profile `svc` sets endpoint_url (or a services section does) for DynamoDB",
        )
        .run();
    // The streams endpoint is one more way to send production elsewhere.
    cruddur(&["--prod", "ddb", "list-tables"])
        .aws_credentials()
        .env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", &emulator)
        .code(3)
        .stderr_has("AWS_ENDPOINT_URL_DYNAMODB_STREAMS is set for DynamoDB Streams")
        .run();
    // Ignoring configured endpoints, as the SDK does: the region's own endpoint, said so.
    prod_in(home.path(), "emu")
        .env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
        .code(1)
        .stderr_has("PRODUCTION DynamoDB: table cruddur-messages in us-east-1 (https://dynamodb.us-east-1.amazonaws.com)")
        .run();
    // An AWS endpoint in the profile is where the requests go, and the banner says it.
    prod_in(home.path(), "fips")
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
        .code(1)
        .stderr_has("PRODUCTION DynamoDB: table cruddur-messages in us-east-1 (https://dynamodb-fips.us-east-1.amazonaws.com)")
        .stderr_has("cannot reach DynamoDB at https://dynamodb-fips.us-east-1.amazonaws.com")
        .run();
    // An explicit flag still names an emulator on purpose.
    let table = TestTable::new("proxy-flag");
    cruddur(&["ddb", "schema-load", "--no-stream"])
        .table(&table)
        .run();
    cruddur(&[
        "--prod",
        "--profile",
        "emu",
        "ddb",
        "list-tables",
        "--endpoint-url",
        &emulator,
    ])
    .env("HOME", home.path())
    .stdout_has(&table.name)
    .run();
}

#[test]
fn expired_credentials_say_so_and_name_the_command_that_renews_them() {
    let stub = crate::harness::http_stub_answering(
        "400 Bad Request",
        r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#,
        8,
    );
    cruddur(&["--prod", "ddb", "list-tables", "--endpoint-url", &stub])
        .aws_credentials()
        .env("AWS_SESSION_TOKEN", "an-old-session-token")
        .code(1)
        .stderr_has("ExpiredTokenException: your AWS credentials have expired (The security token included in the request is expired)")
        .stderr_has("`aws sso login --profile NAME` for an SSO profile, `aws login` for the console sign-in")
        .stderr_lacks("an-old-session-token")
        .run();
}

/// An HTTPS server on loopback whose certificate a CA of its own signed (made here with
/// openssl, as a TLS-inspecting proxy has one), answering every request with `body`.
/// Its URL and the CA's PEM file.
fn https_stub(dir: &Path, body: &'static str) -> (String, std::path::PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let sh = |script: &str| {
        let done = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-inspecting-proxy-ca \
          -keyout ca.key -out ca.crt 2>/dev/null \
        && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout leaf.key -out leaf.csr 2>/dev/null \
        && printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > leaf.ext \
        && openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
          -extfile leaf.ext -out leaf.crt 2>/dev/null");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("leaf.crt"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return; // the handshake failed: the client did not trust us
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut request = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut request);
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
            });
        }
    });
    (url, dir.join("ca.crt"))
}

#[test]
fn a_proxy_ca_is_trusted_through_aws_ca_bundle_or_ssl_cert_file() {
    let dir = scratch();
    let (url, ca) = https_stub(dir.path(), r#"{"TableNames":["seen-through-the-bundle"]}"#);
    let list = || {
        cruddur(&["--prod", "ddb", "list-tables", "--endpoint-url", &url])
            .aws_credentials()
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
    };
    // Unknown CA: the certificate check holds (and loopback went direct, past the proxy).
    list().code(1).stderr_has("UnknownIssuer").run();
    list()
        .env("AWS_CA_BUNDLE", &ca)
        .stdout_has("seen-through-the-bundle")
        .run();
    list()
        .env("SSL_CERT_FILE", &ca)
        .stdout_has("seen-through-the-bundle")
        .run();
    list()
        .env("AWS_CA_BUNDLE", "/nonexistent/ca.pem")
        .code(1)
        .stderr_has("AWS_CA_BUNDLE /nonexistent/ca.pem: cannot read the file")
        .run();
}
