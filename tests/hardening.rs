//! Caps and log hygiene.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use relaydeck_server::auth::Scope;
use relaydeck_tests::*;
use serde_json::json;

#[tokio::test]
async fn connections_over_the_per_ip_cap_get_a_503_naming_the_cap() {
    let srv = start_server(|c| c.max_connections_per_ip = 3).await;
    let _held: Vec<Ws> =
        futures_util::future::join_all((0..3).map(|_| connect(srv.addr, "/stream/ws"))).await;
    let r = reqwest::get(http(srv.addr, "/api/health")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_connections");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--max-connections-per-ip"));
    drop(_held);
    // Places are given back when sockets close.
    let ok = async {
        loop {
            if reqwest::get(http(srv.addr, "/api/health"))
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, ok)
        .await
        .expect("places are released");
}

#[tokio::test]
async fn request_bodies_over_the_limit_are_refused() {
    let srv = start_server(|c| c.max_body_bytes = 1024).await;
    let big = json!({ "name": "x".repeat(2000) }).to_string();
    let r = reqwest::Client::new()
        .post(http(srv.addr, "/api/devices"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_log_line_carries_a_token_or_password() {
    let logs = Captured::default();
    let sink = logs.clone();
    // The relay's own crates and the web framework, at the most verbose level
    // (the test's HTTP and WebSocket clients log their own requests; they are not the server).
    let filter = tracing_subscriber::EnvFilter::new(
        "relaydeck_server=trace,relaydeck_hub=trace,axum=trace,fastwebsockets=trace,tower=trace",
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();
    let srv = start_server(|_| {}).await;
    let (_, view) = srv
        .state
        .auth
        .create_token("v", Scope::View, None, None)
        .unwrap();
    let admin = admin_token(srv.addr);
    let bogus = "rdk_0000000000000000000000000000000000000000000000000000000000000000";
    let client = reqwest::Client::new();
    // Every way a secret can arrive, good and bad, including refused requests and failed logins.
    let _ = client
        .get(format!("http://{}/api/clients?token={view}", srv.addr))
        .send()
        .await;
    let _ = client
        .get(format!("http://{}/api/devices?token={view}", srv.addr))
        .send()
        .await;
    let _ = client
        .get(format!("http://{}/api/clients?token={bogus}", srv.addr))
        .send()
        .await;
    let _ = client
        .get(format!("http://{}/snapshot", srv.addr))
        .basic_auth("x", Some(&view))
        .send()
        .await;
    let _ = client
        .get(format!("http://{}/api/devices", srv.addr))
        .bearer_auth(&admin)
        .send()
        .await;
    for _ in 0..6 {
        let _ = client
            .get(format!("http://{}/api/devices", srv.addr))
            .basic_auth("admin", Some("hunter2-wrong"))
            .send()
            .await;
    }
    let _ = client
        .post(format!("http://{}/api/login", srv.addr))
        .header("content-type", "application/json")
        .body(json!({"password": "hunter2-wrong"}).to_string())
        .send()
        .await;
    let token = create_device(srv.addr, "dk-log").await;
    let _dk = relaydeck_devkit_sim::Devkit::connect(devkit_config(&srv, "dk-log", &token))
        .await
        .unwrap();
    let mut ws = connect(srv.addr, "/stream/ws?clientId=nope").await;
    let _ = next_message(&mut ws).await;
    // Values from the network cannot forge a log line: a devkit's deviceId with a newline in it.
    let mut forged = relaydeck_devkit_sim::DevkitConfig::new(
        srv.state.devkits.tcp_addr().unwrap(),
        "dk\nFORGED INFO admin signed in",
        "rdk_x",
    );
    forged.fw = "1.0\r\nFORGED fw".into();
    assert!(relaydeck_devkit_sim::Devkit::connect(forged).await.is_err());
    srv.shutdown().await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        text.lines().count() > 5,
        "the test captured the server's logs:\n{text}"
    );
    for secret in [
        view.as_str(),
        admin.as_str(),
        bogus,
        "hunter2-wrong",
        ADMIN_PASSWORD,
        token.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret reached the logs:\n{text}");
    }
    assert!(
        text.contains("FORGED INFO"),
        "the forged hello was logged:\n{text}"
    );
    // Each answered request is one line, in its request's span, its credential redacted.
    assert!(
        text.lines().any(|l| l.contains("request{request_id=")
            && l.contains("path=/api/clients")
            && l.contains("query=\"token=REDACTED\"")
            && l.contains("status=401")),
        "the refused request's line:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("FORGED")),
        "a network value started a log line of its own:\n{text}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_only_a_plain_one_is_taken_from_the_caller() {
    let srv = start_server(|_| {}).await;
    let client = reqwest::Client::new();
    let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let r = client
        .get(http(srv.addr, "/api/health"))
        .send()
        .await
        .unwrap();
    let first = id_of(&r);
    assert!(
        first.len() == 16 && first.bytes().all(|b| b.is_ascii_hexdigit()),
        "{first}"
    );
    let r = client
        .get(http(srv.addr, "/api/health"))
        .send()
        .await
        .unwrap();
    assert_ne!(id_of(&r), first, "a new ID per request");
    let r = client
        .get(http(srv.addr, "/api/health"))
        .header("x-request-id", "edge-7f3a.1")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r), "edge-7f3a.1", "a proxy's ID is kept");
    let r = client
        .get(http_anon(srv.addr, "/api/clients"))
        .header("x-request-id", "not plain; at all")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "refusals carry one too");
    assert_ne!(id_of(&r), "not plain; at all");
    assert_eq!(id_of(&r).len(), 16);
}
