//! HTTPS and WSS end to end, with a client that trusts the generated certificate.

use relaydeck_tests::*;
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{client::TlsStream, TlsConnector};

/// A TLS client that trusts exactly the server's generated certificate.
fn connector(cert_pem: &[u8]) -> TlsConnector {
    TlsConnector::from(trusting(cert_pem))
}

async fn tls_connect(
    c: &TlsConnector,
    addr: std::net::SocketAddr,
    name: &str,
) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    c.connect(ServerName::try_from(name.to_owned()).unwrap(), tcp)
        .await
        .expect("the certificate verifies for this name")
}

#[tokio::test]
async fn https_and_wss_work_with_the_generated_certificate() {
    let dir = temp_data_dir();
    let srv = start_server(|c| {
        c.tls = true;
        c.data_dir = Some(dir.clone());
    })
    .await;
    let cert = std::fs::read(dir.join("tls/cert.pem"))
        .expect("a certificate was generated in the data directory");
    let c = connector(&cert);
    // The certificate names localhost and the loopback address.
    for name in ["localhost", "127.0.0.1"] {
        let mut s = tls_connect(&c, srv.addr, name).await;
        s.write_all(
            format!("GET /api/health HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).await.unwrap_or_default();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains("\"status\":\"ok\""));
    }
    // Signing in over TLS gives a Secure cookie.
    let mut s = tls_connect(&c, srv.addr, "localhost").await;
    let body = format!(r#"{{"password":"{ADMIN_PASSWORD}"}}"#);
    s.write_all(
        format!("POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap_or_default();
    let set_cookie = resp
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect(&resp);
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    // A camera publishes over WSS and a viewer watches over WSS.
    let publish = tls_connect(&c, srv.addr, "localhost").await;
    let (mut cam, _) = tokio_tungstenite::client_async(
        format!("wss://localhost{}", authed(srv.addr, "/ws?clientId=secure")),
        publish,
    )
    .await
    .unwrap();
    assert_eq!(next_json_tls(&mut cam).await["type"], "registered");
    let view = tls_connect(&c, srv.addr, "localhost").await;
    let (mut viewer, _) = tokio_tungstenite::client_async(
        format!(
            "wss://localhost{}",
            authed(srv.addr, "/stream/ws?clientId=secure")
        ),
        view,
    )
    .await
    .unwrap();
    use futures_util::{SinkExt, StreamExt};
    let frame = jpeg(5, 32, 32);
    cam.send(tokio_tungstenite::tungstenite::Message::Binary(
        frame.clone().into(),
    ))
    .await
    .unwrap();
    let got = loop {
        match tokio::time::timeout(WAIT, viewer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            tokio_tungstenite::tungstenite::Message::Binary(b) => break b.to_vec(),
            _ => continue,
        }
    };
    assert_eq!(got, frame, "byte-identical over WSS");
    // Plain HTTP to the TLS port is not served.
    let mut plain = TcpStream::connect(srv.addr).await.unwrap();
    plain
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("\"status\":\"ok\""));
}

async fn next_json_tls<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                return serde_json::from_str(&t).unwrap()
            }
            _ => continue,
        }
    }
}
