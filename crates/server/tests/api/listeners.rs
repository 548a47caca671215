//! The appliance's extra listeners: plain HTTP for the web UI and HTTPS
//! with the box's own certificate, serving the same routes as the Immich port.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use crate::common::Server;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A loopback port nobody is using right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn request(method: &str, path: &str, body: &str) -> String {
    let length = body.len();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: shoebox.local\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}"
    )
}

/// A TLS client that trusts only `cert` and offers `alpn` (as browsers
/// offer h2 before http/1.1).
fn tls_client(cert: &CertificateDer<'static>, alpn: &[&[u8]]) -> rustls::ClientConnection {
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("shoebox.local").unwrap()).unwrap()
}

/// Sends one HTTP/1.1 request over TLS, trusting only `cert`, and returns the raw answer.
fn https(port: u16, cert: &CertificateDer<'static>, request: &str) -> String {
    let mut tls = tls_client(cert, &[]);
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut socket);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    // The server closes after answering (Connection: close); rustls reports
    // a close without close_notify as an error, but the answer is complete.
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn plain(port: u16, request: &str) -> String {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    answer
}

#[test]
fn http_and_https_listeners_serve_the_same_api() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["shoebox.local".to_string()]).unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, key.cert.pem()).unwrap();
    std::fs::write(&key_pem, key.signing_key.serialize_pem()).unwrap();
    let (http_port, https_port) = (free_port(), free_port());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "http_port = {http_port}\nhttps_port = {https_port}\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert_pem.display().to_string(),
            key_pem.display().to_string()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let _server = Server::start_with(&data, &["--config", config.to_str().unwrap()]);

    let ping = request("GET", "/api/server/ping", "");
    let over_http = plain(http_port, &ping);
    assert!(over_http.starts_with("HTTP/1.1 200"), "{over_http}");
    let over_tls = https(https_port, key.cert.der(), &ping);
    assert!(
        over_tls.starts_with("HTTP/1.1 200") && over_tls.ends_with(r#"{"res":"pong"}"#),
        "{over_tls}"
    );

    // The login limiter needs the client's address, which TLS connections carry too.
    let wrong = r#"{"email":"nobody@example.com","password":"wrong"}"#;
    let login = https(https_port, key.cert.der(), &request("POST", "/api/auth/login", wrong));
    assert!(
        login.starts_with("HTTP/1.1 401"),
        "a wrong password is a 401, not a server error: {login}"
    );

    // A browser offers h2 first: what the server agrees to, it must speak.
    let mut tls = tls_client(key.cert.der(), &[b"h2", b"http/1.1"]);
    let mut socket = TcpStream::connect(("127.0.0.1", https_port)).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut socket);
    // The HTTP/2 connection preface and an empty SETTINGS frame.
    stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").unwrap();
    let mut frame = [0u8; 9];
    stream.read_exact(&mut frame).unwrap();
    match stream.conn.alpn_protocol() {
        Some(b"h2") => assert_eq!(frame[3], 0x04, "the server's first HTTP/2 frame is its SETTINGS: {frame:?}"),
        other => assert_eq!(other, Some(&b"http/1.1"[..]), "an agreed protocol"),
    }

    let cleartext_on_tls = plain(https_port, &ping);
    assert!(!cleartext_on_tls.contains("pong"), "the HTTPS port does not answer plain HTTP");
}

#[test]
fn a_missing_certificate_turns_https_off_and_keeps_the_server_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "https_port = {}\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n",
            free_port()
        ),
    )
    .unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--config", config.to_str().unwrap()]);
    let (status, body) = crate::common::send(server.get("/api/server/ping"));
    assert_eq!((status, body["res"].as_str()), (200, Some("pong")));
}
