//! `GET /metrics`, read by the real thing: Debian's Prometheus scrapes the
//! relay with a `metrics` token and is asked what it saw; `promtool check
//! metrics` lints the text. Who may read it is walked in access_walk.rs;
//! here: what a metrics token may not do, and that the counters are right.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use futures_util::StreamExt;
use relaydeck_tests::*;
use serde_json::{json, Value};

async fn token(addr: SocketAddr, body: Value) -> (u16, Value) {
    post_json(addr, "/api/tokens", body).await
}

async fn get_with(addr: SocketAddr, path: &str, bearer: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(http_anon(addr, path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

/// The value of the sample `name{labels}` (labels as the text writes them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_metrics_token_reads_metrics_and_nothing_else() {
    let srv = start_server(|_| {}).await;
    let (status, body) = token(
        srv.addr,
        json!({"name": "prom", "scope": "metrics", "ids": ["a"]}),
    )
    .await;
    assert_eq!(status, 400, "a metrics token names no IDs: {body}");
    let (status, t) = token(srv.addr, json!({"name": "prom", "scope": "metrics"})).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["link"], Value::Null, "no page to open");
    let metrics = t["token"].as_str().unwrap().to_owned();
    let resp = get_with(srv.addr, "/metrics", &metrics).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    for path in [
        "/api/clients",
        "/api/sources",
        "/api/settings",
        "/api/recordings",
        "/",
    ] {
        let status = get_with(srv.addr, path, &metrics).await.status().as_u16();
        assert!(matches!(status, 302 | 403), "{path}: {status}");
    }
    let (_, view) = token(srv.addr, json!({"name": "v", "scope": "view"})).await;
    let resp = get_with(srv.addr, "/metrics", view["token"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 403, "a view token is not a metrics token");
    let resp = reqwest::get(http_anon(srv.addr, "/metrics")).await.unwrap();
    assert_eq!(resp.status(), 401);
}

/// A free loopback port for Prometheus to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Prometheus {
    child: tokio::process::Child,
    api: String,
    _dir: std::path::PathBuf,
}

impl Prometheus {
    /// Debian's `prometheus`, scraping `target` every second with `token`.
    async fn scraping(target: SocketAddr, token: &str) -> Self {
        let dir = temp_data_dir();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: relaydeck\n    authorization:\n      credentials: {token}\n    static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let child = tokio::process::Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("Debian's prometheus (apt install prometheus; .ci/setup installs it)");
        Self {
            child,
            api: format!("http://{listen}/api/v1/query"),
            _dir: dir,
        }
    }

    /// The values of `query` now, by their labels.
    async fn query(&self, query: &str) -> Option<Vec<(Value, f64)>> {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let resp = reqwest::get(format!("{}?query={encoded}", self.api))
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        let result = body["data"]["result"].as_array()?;
        Some(
            result
                .iter()
                .map(|r| {
                    (
                        r["metric"].clone(),
                        r["value"][1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect(),
        )
    }

    /// Waits (up to a minute: Prometheus starts, then scrapes each second)
    /// until `query` has exactly one value and it is `want`.
    async fn until(&self, query: &str, want: f64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            last = self.query(query).await;
            if matches!(last.as_deref(), Some([(_, v)]) if *v == want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("Prometheus never saw {query} == {want}: {last:?}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test]
async fn prometheus_scrapes_what_the_relay_carried() {
    let srv = start_server(|_| {}).await;
    let (_, t) = token(srv.addr, json!({"name": "prom", "scope": "metrics"})).await;
    let metrics = t["token"].as_str().unwrap().to_owned();

    // A camera sends 12 frames to one WebSocket viewer and one MJPEG viewer.
    let mut cam = camera(srv.addr, "yard").await;
    send_frame(&mut cam, &jpeg(0, 64, 48)).await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=yard").await;
    let mut mjpeg = reqwest::get(http(srv.addr, "/api/clients/yard/mjpeg"))
        .await
        .unwrap()
        .bytes_stream();
    let mut sent = 0;
    for i in 1..=11u32 {
        let f = jpeg(i, 64, 48);
        sent += f.len();
        send_frame(&mut cam, &f).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut mjpeg_bytes = 0;
    while mjpeg_bytes < sent {
        mjpeg_bytes += mjpeg.next().await.unwrap().unwrap().len();
    }
    // A devkit loses 2 of 6 packets; a listener hears it.
    let dk = devkit(&srv, "kit").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=kit").await;
    next_json(&mut listener).await;
    for seq in [1u32, 2, 5, 6] {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    read_pcm(&mut listener, 6 * 640).await;
    assert_eq!(
        reqwest::get(http(srv.addr, "/no/such/page"))
            .await
            .unwrap()
            .status(),
        404
    );

    // promtool, Prometheus's own linter, accepts the text as it is.
    let text = get_with(srv.addr, "/metrics", &metrics)
        .await
        .text()
        .await
        .unwrap();
    let mut lint = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package)");
    std::io::Write::write_all(&mut lint.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = lint.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let prom = Prometheus::scraping(srv.addr, &metrics).await;
    prom.until("up{job=\"relaydeck\"}", 1.0).await;
    prom.until("relaydeck_frames_received_total{camera=\"yard\"}", 12.0)
        .await;
    prom.until("relaydeck_viewers{transport=\"websocket\"}", 1.0)
        .await;
    prom.until("relaydeck_viewers{transport=\"mjpeg\"}", 1.0)
        .await;
    prom.until("relaydeck_listeners{transport=\"audio_websocket\"}", 1.0)
        .await;
    prom.until("relaydeck_devkit_packets_lost_total{device=\"kit\"}", 2.0)
        .await;
    prom.until(
        "relaydeck_devkit_packets_received_total{device=\"kit\"}",
        4.0,
    )
    .await;
    // The source carried the 4 packets and one chunk of silence in place of the 2 lost.
    prom.until("relaydeck_audio_chunks_received_total{source=\"kit\"}", 5.0)
        .await;
    prom.until(
        "relaydeck_audio_received_bytes_total{source=\"kit\"}",
        6.0 * 640.0,
    )
    .await;
    prom.until(
        "relaydeck_http_requests_total{route=\"unmatched\",code=\"404\"}",
        1.0,
    )
    .await;
    prom.until(
        "relaydeck_http_requests_total{route=\"/api/clients/{id}/mjpeg\",code=\"200\"}",
        1.0,
    )
    .await;
    let got = prom
        .query("relaydeck_sent_bytes_total{transport=\"mjpeg\"}")
        .await
        .unwrap();
    assert!(got[0].1 >= mjpeg_bytes as f64, "{got:?} < {mjpeg_bytes}");
    let got = prom
        .query("relaydeck_sent_bytes_total{transport=\"websocket\"}")
        .await
        .unwrap();
    assert!(
        got[0].1 >= sent as f64,
        "each frame went to the WebSocket viewer: {got:?}"
    );
    let got = prom.query("process_resident_memory_bytes").await.unwrap();
    assert!(got[0].1 > 1e6, "{got:?}");

    // The viewers leave: the gauges go back to 0 (the counters stay).
    drop(viewer.close(None).await);
    drop(mjpeg);
    drop(listener);
    let text = eventually_text(srv.addr, &metrics, |t| {
        sample(t, "relaydeck_viewers{transport=\"websocket\"}") == Some(0.0)
            && sample(t, "relaydeck_viewers{transport=\"mjpeg\"}") == Some(0.0)
            && sample(t, "relaydeck_listeners{transport=\"audio_websocket\"}") == Some(0.0)
    })
    .await;
    assert_eq!(
        sample(&text, "relaydeck_frames_received_total{camera=\"yard\"}"),
        Some(12.0)
    );
}

async fn eventually_text(addr: SocketAddr, token: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = get_with(addr, "/metrics", token)
            .await
            .text()
            .await
            .unwrap();
        if ok(&text) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_status_history_keeps_samples_of_the_same_counters() {
    let srv = start_server(|c| c.status_interval = Duration::from_millis(100)).await;
    let mut cam = camera(srv.addr, "yard").await;
    for i in 0..7u32 {
        send_frame(&mut cam, &jpeg(i, 64, 48)).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    let samples = loop {
        let (status, h) = get_json(srv.addr, "/api/status/history").await;
        assert_eq!(status, 200, "{h}");
        assert_eq!(
            (h["intervalMs"].as_u64(), h["spanMs"].as_u64()),
            (Some(100), Some(900_000))
        );
        let samples = h["samples"].as_array().unwrap().clone();
        if samples
            .last()
            .is_some_and(|s| s["cameras"]["yard"]["framesIn"] == 7)
        {
            break samples;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never 7 frames: {h}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let last = samples.last().unwrap();
    assert_eq!(
        last["framesIn"], 7,
        "the totals are the cameras' sums: {last}"
    );
    assert!(
        last["rssBytes"].as_u64().unwrap() > 1 << 20 && last["cpuSeconds"].as_f64().unwrap() > 0.0
    );
    let times: Vec<u64> = samples
        .iter()
        .map(|s| s["atMs"].as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "in order: {times:?}");
    // Only what is newer than what the page has.
    let since = times[times.len() - 1];
    let (_, newer) = get_json(srv.addr, &format!("/api/status/history?since={since}")).await;
    assert!(newer["samples"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["atMs"].as_u64().unwrap() > since));
    assert_eq!(
        get_json(srv.addr, "/api/status/history?since=soon").await.0,
        400
    );
    let (_, view) = token(srv.addr, json!({"name": "v", "scope": "view"})).await;
    let resp = get_with(
        srv.addr,
        "/api/status/history",
        view["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        resp.status(),
        403,
        "viewers do not see the relay's counters"
    );
}
