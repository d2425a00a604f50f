//! "Pair with your phone": the temporary HTTPS listener, its pairing pass
//! and how the pairing ends. The phone here is a TLS client that trusts the
//! relay's certificate, speaking HTTP/1.1 as a browser would; the listener
//! is on loopback (`pairing_address`), the only address a test may use
//! outside a network namespace of its own (the browser test makes one).

use std::{net::SocketAddr, time::Duration};

use relaydeck_server::RunningServer;
use relaydeck_tests::*;
use rustls::pki_types::ServerName;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

/// The phone: trusts exactly the relay's certificate.
struct Phone {
    tls: TlsConnector,
    addr: SocketAddr,
    pass: String,
}

struct Answer {
    status: u16,
    head: String,
    body: Value,
    text: String,
}

impl Phone {
    fn new(dir: &std::path::Path, url: &str) -> Self {
        let pem = std::fs::read(dir.join("tls/cert.pem")).expect("the relay's certificate");
        let rest = url
            .strip_prefix("https://")
            .expect("an https URL: the phone pairs over TLS");
        let (host, query) = rest
            .split_once("/pair?token=")
            .expect("the pairing page and its pass");
        Self {
            tls: TlsConnector::from(trusting(&pem)),
            addr: host.parse().unwrap(),
            pass: query.to_owned(),
        }
    }

    /// One request on its own connection; `auth` is the Authorization header, if any.
    async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let tcp = TcpStream::connect(self.addr)
            .await
            .expect("the listener is open");
        let name = ServerName::try_from(self.addr.ip().to_string()).unwrap();
        let mut s = self
            .tls
            .connect(name, tcp)
            .await
            .expect("the certificate verifies");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(WAIT, s.read_to_end(&mut raw))
            .await
            .expect("answered")
            .ok();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Answer {
            status,
            head: head.to_owned(),
            body: serde_json::from_str(text).unwrap_or(Value::Null),
            text: text.to_owned(),
        }
    }

    /// A request with the pass as a Bearer token, as the page's `fetch` sends it (`?token=`).
    async fn with_pass(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.send(
            method,
            &format!("{path}{sep}token={}", self.pass),
            None,
            body,
        )
        .await
    }

    async fn is_closed(&self) -> bool {
        TcpStream::connect(self.addr).await.is_err()
    }
}

async fn open_pairing(srv: &RunningServer) -> Value {
    let (status, v) = post_json(srv.addr, "/api/pairing/phone", json!({})).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["state"], "open");
    v
}

async fn status(srv: &RunningServer) -> Value {
    get_json(srv.addr, "/api/pairing/phone").await.1
}

async fn until_closed(phone: &Phone, within: Duration) {
    let end = tokio::time::Instant::now() + within;
    while !phone.is_closed().await {
        assert!(
            tokio::time::Instant::now() < end,
            "the listener is still open after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_listener_serves_only_the_pairing_page_and_only_to_its_pass() {
    let dir = temp_data_dir();
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    let opened = open_pairing(&srv).await;
    let url = opened["url"].as_str().unwrap();
    let phone = Phone::new(&dir, url);
    assert!(phone.pass.starts_with("rdp_"), "{url}");
    let (_, devices) = get_json(srv.addr, "/api/devices").await;
    assert_eq!(
        opened["fingerprint"], devices["tlsFingerprint"],
        "the certificate boards pin is the one the phone is shown"
    );

    // The page, with its pass.
    let page = phone.with_pass("GET", "/pair", None).await;
    assert_eq!(page.status, 200, "{}", page.head);
    assert!(
        page.text.contains("<html") || page.text.contains("<!doctype"),
        "the pairing page"
    );
    // Nothing else is there, whoever asks.
    for path in [
        "/",
        "/api/settings",
        "/api/clients",
        "/api/health",
        "/api/tokens",
        "/login",
        "/stream/ws",
        "/api/pairing/phone",
        "/capture",
    ] {
        let got = phone.with_pass("GET", path, None).await;
        assert_eq!(
            got.status, 404,
            "GET {path} on the phone listener: {}",
            got.head
        );
    }
    // Only the pass counts there: not the admin's token, password or cookie, and nothing is no one.
    let admin = admin_token(srv.addr);
    let basic = {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"))
        )
    };
    for auth in [None, Some(format!("Bearer {admin}")), Some(basic)] {
        let got = phone.send("GET", "/pair", auth.as_deref(), None).await;
        assert_eq!(got.status, 401, "{auth:?}: {}", got.head);
        let got = phone
            .send(
                "POST",
                "/api/devices",
                auth.as_deref(),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(got.status, 401, "{auth:?}: {}", got.head);
    }
    // And the pass counts nowhere else.
    let main = reqwest::Client::new()
        .get(format!(
            "http://{}/api/devices?token={}",
            srv.addr, phone.pass
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 401, "the pass on the main listener");

    // It registers one board, and sees only that one.
    create_device(srv.addr, "someone-else").await;
    let made = phone
        .with_pass(
            "POST",
            "/api/devices",
            Some(json!({"name": "Porch mic", "boardId": "rdk-board-77"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["deviceId"].as_str().unwrap().to_owned();
    let token = made.body["token"].as_str().unwrap().to_owned();
    let listed = phone.with_pass("GET", "/api/devices", None).await;
    let ids: Vec<_> = listed.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].clone())
        .collect();
    assert_eq!(ids, [json!(id)], "a pass lists its own device only");
    assert!(listed.body["tcpPort"].is_u64(), "and where boards connect");
    let again = phone
        .with_pass("POST", "/api/devices", Some(json!({"name": "Another"})))
        .await;
    assert_eq!(again.status, 403, "one board per pass: {}", again.text);
    assert!(again.text.contains(&id), "{}", again.text);
    // Another ID is not its to read or remove.
    for method in ["GET", "DELETE"] {
        let got = phone
            .with_pass(method, "/api/devices/someone-else", None)
            .await;
        assert_eq!(
            got.status, 403,
            "{method} another device with the pass: {}",
            got.head
        );
    }
    assert!(
        device_state(srv.addr, "someone-else").await.is_object(),
        "still there"
    );
    assert_eq!(
        phone
            .with_pass("GET", &format!("/api/devices/{id}"), None)
            .await
            .status,
        200
    );

    // The phone's progress reaches the app, live: a long poll waiting for a newer revision returns with it.
    let rev = status(&srv).await["revision"].as_u64().unwrap();
    let addr = srv.addr;
    let poll =
        tokio::spawn(
            async move { get_json(addr, &format!("/api/pairing/phone?since={rev}")).await },
        );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "the long poll waits for a change");
    let steps = json!({"steps": [{"step": "Find the board", "state": "done", "detail": "Porch mic"}, {"step": "Wi-Fi", "state": "active"}], "message": "Which Wi-Fi?"});
    let put = phone
        .with_pass("PUT", "/api/pairing/phone/progress", Some(steps))
        .await;
    assert_eq!(put.status, 204, "{}", put.text);
    let (_, followed) = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    assert!(followed["revision"].as_u64().unwrap() > rev);
    assert_eq!(followed["steps"][0]["detail"], "Porch mic");
    assert_eq!(followed["steps"][1]["state"], "active");
    assert_eq!(followed["message"], "Which Wi-Fi?");
    assert_eq!(followed["deviceId"], json!(id));
    let bad = phone
        .with_pass(
            "PUT",
            "/api/pairing/phone/progress",
            Some(json!({"steps": [{"step": "x".repeat(41), "state": "done"}]})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let bad = phone
        .with_pass(
            "PUT",
            "/api/pairing/phone/progress",
            Some(json!({"steps": [{"step": "Wi-Fi", "state": "sideways"}]})),
        )
        .await;
    assert!(bad.status == 400 || bad.status == 422, "{}", bad.head);

    // The board joins with its token: the pairing is done, and the listener closes.
    let kit = relaydeck_devkit_sim::Devkit::connect(devkit_config(&srv, &id, &token))
        .await
        .expect("the board connects with the token the phone gave it");
    let paired = eventually(|| {
        let s = serde_json::to_value(srv.state.phone_pairing.status()).unwrap();
        (s["state"] == "paired").then_some(s)
    })
    .await;
    assert_eq!(paired["deviceId"], json!(id));
    until_closed(&phone, Duration::from_secs(15)).await;
    let end = status(&srv).await;
    assert_eq!(end["state"], "paired");
    assert!(end["url"].is_null(), "no URL once closed");
    assert!(
        device_state(srv.addr, &id).await["online"] == true,
        "the paired board stays"
    );
    drop(kit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_that_times_out_revokes_the_board_it_registered() {
    let dir = temp_data_dir();
    let srv = start_server(|c| {
        c.data_dir = Some(dir.clone());
        c.pairing_timeout = Duration::from_secs(2);
    })
    .await;
    let opened = open_pairing(&srv).await;
    let phone = Phone::new(&dir, opened["url"].as_str().unwrap());
    let made = phone
        .with_pass("POST", "/api/devices", Some(json!({"name": "Never joins"})))
        .await;
    assert_eq!(made.status, 201);
    let id = made.body["deviceId"].as_str().unwrap().to_owned();
    assert!(device_state(srv.addr, &id).await.is_object());
    until_closed(&phone, Duration::from_secs(10)).await;
    let end = status(&srv).await;
    assert_eq!(end["state"], "closed");
    assert_eq!(end["reason"], "it timed out after 2 s");
    assert!(
        device_state(srv.addr, &id).await.is_null(),
        "its device was revoked"
    );
    assert!(
        srv.state.auth.passes.principal(&phone.pass).is_none(),
        "the pass is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_closes_the_listener_and_its_open_connections() {
    let dir = temp_data_dir();
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    let opened = open_pairing(&srv).await;
    let phone = Phone::new(&dir, opened["url"].as_str().unwrap());
    // A board the phone registered and then gave up on frees the pass for another.
    let first = phone
        .with_pass("POST", "/api/devices", Some(json!({"name": "Wrong board"})))
        .await;
    let first = first.body["deviceId"].as_str().unwrap().to_owned();
    assert_eq!(
        phone
            .with_pass("DELETE", &format!("/api/devices/{first}"), None)
            .await
            .status,
        200
    );
    let second = phone
        .with_pass("POST", "/api/devices", Some(json!({"name": "Right board"})))
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second = second.body["deviceId"].as_str().unwrap().to_owned();
    // A connection the phone holds open (keep-alive) ends with the pairing too.
    let tcp = TcpStream::connect(phone.addr).await.unwrap();
    let name = ServerName::try_from(phone.addr.ip().to_string()).unwrap();
    let mut held = phone.tls.connect(name, tcp).await.unwrap();
    let resp = reqwest::Client::new()
        .delete(http(srv.addr, "/api/pairing/phone"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    until_closed(&phone, Duration::from_secs(5)).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, held.read(&mut buf))
        .await
        .expect("the held connection ends");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let end = status(&srv).await;
    assert_eq!(
        (end["state"].as_str(), end["reason"].as_str()),
        (Some("closed"), Some("cancelled in the app"))
    );
    assert!(
        device_state(srv.addr, &second).await.is_null(),
        "the unfinished board was revoked"
    );
    // A new pairing is a new pass: the old one stays dead.
    let again = open_pairing(&srv).await;
    assert_ne!(
        Phone::new(&dir, again["url"].as_str().unwrap()).pass,
        phone.pass
    );
    assert!(srv.state.auth.passes.principal(&phone.pass).is_none());
}
