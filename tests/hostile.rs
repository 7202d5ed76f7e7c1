//! A hostile HTTP server on 127.0.0.1 for the tests of what the binary does when the other side
//! misbehaves on purpose: redirects it elsewhere, echoes its credentials back, never answers,
//! inflates a small answer into a huge one. The emulator plays Microsoft faithfully; this one
//! plays an attacker or a broken proxy, answering each request with whatever the test says
//! and recording what arrived.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The header lines, as sent.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl Seen {
    /// Everything that arrived, as text: where a leaked secret would show.
    pub fn text(&self) -> String {
        format!(
            "{} {}\n{}\n\n{}",
            self.method,
            self.target,
            self.headers.join("\n"),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// How to answer one request.
pub enum Answer {
    /// These bytes (a whole HTTP response), then close.
    Raw(Vec<u8>),
    /// Accept and never answer (for as long as a test can run), then close.
    Hang,
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A server on a free loopback port, answering every request with its handler.
pub struct Hostile {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    /// A plain HTTP server.
    pub fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Hostile {
        Hostile::start_with(None, handler)
    }

    /// An HTTPS server whose certificate (for 127.0.0.1 and localhost) is signed by the test CA
    /// in `test_data/certs/test-ca.pem`, which no system trusts.
    pub fn start_tls(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Hostile {
        let certs_dir = crate::support::repo_path("test_data/certs");
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(certs_dir.join("localhost-cert.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(certs_dir.join("localhost-key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Hostile::start_with(Some(Arc::new(config)), handler)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(stream, &*handler, &log),
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(
                            rustls::StreamOwned::new(connection, stream),
                            &*handler,
                            &log,
                        );
                    }
                });
            }
        });
        Hostile { url, seen }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(mut stream: impl Read + Write, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    log.lock().unwrap().push(seen.clone());
    match handler(&seen) {
        Answer::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Answer::Hang => std::thread::sleep(Duration::from_secs(120)),
    }
    let _ = stream.flush();
}

fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end().to_owned();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
        headers.push(header);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

/// A whole response with `Connection: close` and a `Content-Length`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut bytes = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
    for (name, value) in headers {
        bytes.push_str(&format!("{name}: {value}\r\n"));
    }
    bytes.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = bytes.into_bytes();
    bytes.extend_from_slice(body);
    Answer::Raw(bytes)
}

/// A JSON response.
pub fn json(status: u16, body: &serde_json::Value) -> Answer {
    response(
        status,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// A redirect to `location`.
pub fn redirect(status: u16, location: &str) -> Answer {
    response(status, &[("Location", location)], b"")
}
