//! Several relay nodes as one relay over a real NATS cluster (three
//! `nats-server` 2.9 processes with JetStream, on loopback ports), as
//! docs/ARCHITECTURE.md "The cluster" describes: media crosses nodes
//! byte-identically, once per interested node, and the faults it lists
//! behave as it says.
//!
//! Each relay node runs on a runtime of its own, so a test can kill one
//! outright (every task and socket of it gone at once, no goodbye to NATS).

use std::{net::SocketAddr, time::Duration};

use futures_util::StreamExt;
use relaydeck_server::RunningServer;
use relaydeck_tests::{nats::NatsCluster, *};
use serde_json::Value;

/// A relay node on its own runtime.
struct Node {
    srv: Option<RunningServer>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Node {
    fn start(name: &str, cluster: &str, nats: &str) -> Self {
        let (n, cluster, nats) = (name.to_owned(), cluster.to_owned(), nats.to_owned());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let srv = rt.block_on(start_server(|c| {
                c.cluster.nats_urls = nats.split(',').map(String::from).collect();
                c.cluster.cluster_name = cluster;
                c.cluster.node_name = Some(n);
                c.cluster.nats_replicas = 3;
            }));
            Node {
                srv: Some(srv),
                rt: Some(rt),
            }
        })
        .join()
        .unwrap()
    }

    fn srv(&self) -> &RunningServer {
        self.srv.as_ref().expect("running")
    }

    fn addr(&self) -> SocketAddr {
        self.srv().addr
    }

    /// Gone at once: every task and socket of the node, no goodbye to NATS.
    fn kill(&mut self) {
        self.srv = None;
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One cluster at a time: six servers and three relays fill this machine's two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn cluster_name() -> String {
    // RUST_LOG=relaydeck_server::cluster=debug shows what the bridges do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    format!("t{}", nats::free_port())
}

/// Waits (up to 20 s: presence crosses NATS) until `f` holds.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Subscriptions on `subject` held by the connection named `relaydeck NODE`,
/// over every server of the cluster.
async fn subscriptions(nats: &NatsCluster, node: &str, subject: &str) -> usize {
    let mut n = 0;
    for s in nats.servers.iter().filter(|s| s.is_running()) {
        let connz = s.monitor("/connz?subs=1").await;
        for c in connz["connections"].as_array().into_iter().flatten() {
            if c["name"] == format!("relaydeck {node}") {
                n += c["subscriptions_list"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s.as_str() == Some(subject))
                    .count();
            }
        }
    }
    n
}

/// A JPEG of exactly `len` bytes: noise, padded with comment segments
/// (structurally valid: the hub checks its markers).
fn jpeg_of_len(tag: u32, len: usize) -> Vec<u8> {
    let base = noise_jpeg(tag, 1920, 1080);
    assert!(
        base.len() + 4 < len,
        "the noise JPEG is {} bytes",
        base.len()
    );
    let mut out = base[..2].to_vec(); // SOI
    let mut pad = len - base.len();
    while pad > 0 {
        // A COM segment: FF FE, a 2-byte length (itself included), data.
        let seg = pad.min(65_535 + 2);
        let seg = if pad - seg > 0 && pad - seg < 4 {
            seg - 4
        } else {
            seg
        };
        let data = seg - 4;
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((data + 2) as u16).to_be_bytes());
        out.extend(std::iter::repeat_n(b'x', data));
        pad -= seg;
    }
    out.extend_from_slice(&base[2..]);
    assert_eq!(out.len(), len);
    out
}

/// Reads frames until one equal to `want` arrives; every frame before it
/// must be one of `sent` (byte-identical) and in order.
async fn read_until(ws: &mut Ws, sent: &[Vec<u8>], want: usize) -> usize {
    let mut last = None;
    let mut got = 0;
    loop {
        let f = next_binary(ws).await;
        let i = sent
            .iter()
            .position(|s| *s == f)
            .unwrap_or_else(|| panic!("a frame of {} bytes that no camera sent", f.len()));
        assert!(last.is_none_or(|l| i > l), "frame {i} after frame {last:?}");
        last = Some(i);
        got += 1;
        if i == want {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_crosses_nodes_byte_identically_and_once_per_interested_node() {
    let _one = ONE_AT_A_TIME.lock().await;
    let nats = NatsCluster::start(3).await;
    let name = cluster_name();
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(&format!("n{i}"), &name, &nats.urls()))
        .collect();
    let (n1, n2, n3) = (&nodes[0], &nodes[1], &nodes[2]);

    // A camera on node 1 appears on nodes 2 and 3, named by node 1.
    let mut cam = camera(n1.addr(), "cam").await;
    let frames: Vec<Vec<u8>> = (0..40).map(|i| jpeg(i, 160, 120)).collect();
    send_frame(&mut cam, &frames[0]).await;
    for n in [n2, n3] {
        until("the camera on every node", || n.srv().hub().stream("cam")).await;
    }
    let subject = format!("relaydeck.v1.{name}.video.cam");
    assert_eq!(
        subscriptions(&nats, "n2", &subject).await,
        0,
        "no interest, no subscription"
    );

    // Two viewers on node 2, one on node 3: one subscription per node.
    let mut v2a = connect(n2.addr(), "/stream/ws?clientId=cam").await;
    let mut v2b = connect(n2.addr(), "/stream/ws?clientId=cam").await;
    let mut v3 = connect(n3.addr(), "/stream/ws?clientId=cam").await;
    for (node, want) in [("n2", 1), ("n3", 1), ("n1", 0)] {
        let mut n = 0;
        for _ in 0..100 {
            n = subscriptions(&nats, node, &subject).await;
            if n == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(n, want, "{node}'s subscriptions to {subject}");
    }
    // Frames sent one by one arrive byte-identical and in order on both nodes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, f) in frames.iter().enumerate().skip(1) {
        send_frame(&mut cam, f).await;
        for v in [&mut v2a, &mut v2b, &mut v3] {
            read_until(v, &frames, i).await;
        }
    }
    let (_, clients) = get_json(n2.addr(), "/api/clients").await;
    let entry = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cam")
        .cloned();
    assert_eq!(
        entry.as_ref().map(|c| c["node"].clone()),
        Some("n1".into()),
        "{clients}"
    );

    // A 5 MiB frame (NATS takes 1 MiB per message) is split and joined whole.
    let big = jpeg_of_len(99, 5 * 1024 * 1024);
    send_frame(&mut cam, &big).await;
    for v in [&mut v2a, &mut v3] {
        assert!(next_binary(v).await == big, "the 5 MiB frame arrived whole");
    }
    assert!(next_binary(&mut v2b).await == big);

    // The last viewer on node 3 leaves: node 3 unsubscribes; node 2 keeps its one.
    drop(v3);
    let mut n = 1;
    for _ in 0..100 {
        n = subscriptions(&nats, "n3", &subject).await;
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(n, 0, "node 3 unsubscribed after its last viewer left");
    assert_eq!(subscriptions(&nats, "n2", &subject).await, 1);
    drop((v2a, v2b));

    // A token created on node 2 works on node 1; revoked on node 3, it is
    // refused everywhere (polled: the time it takes is a benchmark, not an assertion).
    let (status, created) = post_json(
        n2.addr(),
        "/api/tokens",
        serde_json::json!({"name": "cluster viewer", "scope": "view"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().expect("the secret").to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let with_token = |n: &Node| format!("http://{}/api/clients?token={secret}", n.addr());
    let started = std::time::Instant::now();
    for n in [n1, n3] {
        until_async(|| async { reqwest::get(with_token(n)).await.unwrap().status() == 200 }).await;
    }
    println!(
        "a token created on node 2 worked on nodes 1 and 3 after {:?}",
        started.elapsed()
    );
    let resp = reqwest::Client::new()
        .delete(http(n3.addr(), &format!("/api/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "revoked on node 3");
    let revoked = std::time::Instant::now();
    for n in [n1, n2, n3] {
        until_async(|| async { reqwest::get(with_token(n)).await.unwrap().status() == 401 }).await;
    }
    println!(
        "the revocation reached every node within {:?}",
        revoked.elapsed()
    );

    // A devkit on node 3 is heard on node 1, byte for byte.
    let kit = devkit(n3.srv(), "kit").await;
    kit.send_audio(1, 320, &pcm(1)).await.unwrap();
    until("the devkit's audio on node 1", || {
        n1.srv().hub().audio_source("kit").filter(|s| s.is_online())
    })
    .await;
    let mut listener = connect(n1.addr(), "/audio/ws?source=kit").await;
    let audio_subject = format!("relaydeck.v1.{name}.audio.kit");
    until_async(|| async { subscriptions(&nats, "n1", &audio_subject).await == 1 }).await;
    let sent: Vec<u8> = (10..30).flat_map(pcm).collect();
    let feeder = tokio::spawn(async move {
        for i in 10..30u32 {
            kit.send_audio(i, i * 320, &pcm(i)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        kit
    });
    let heard = read_pcm(&mut listener, sent.len()).await;
    let _kit = feeder.await.unwrap();
    let at = heard
        .windows(pcm(10).len())
        .position(|w| w == pcm(10).as_slice())
        .expect("the first chunk sent after the listener joined");
    assert_eq!(&heard[at..], &sent[..heard.len() - at], "PCM byte for byte");
}

/// Polls an async condition (up to 10 s).
async fn until_async<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out");
}

/// Frames published steadily by a camera on node 1 while a test breaks things.
fn steady_camera(mut cam: Ws) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut i = 0u32;
        loop {
            i += 1;
            send_frame(&mut cam, &jpeg(i, 96, 64)).await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    })
}

/// Counts valid frames arriving at `ws` for `secs` seconds (panics on a
/// corrupt one: every frame must be a whole JPEG).
async fn frames_for(ws: &mut Ws, secs: f64) -> usize {
    let end = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut n = 0;
    while let Ok(Some(msg)) = tokio::time::timeout_at(end, ws.next()).await {
        if let Ok(tokio_tungstenite::tungstenite::Message::Binary(b)) = msg {
            assert!(
                b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9]),
                "a corrupt frame"
            );
            n += 1;
        }
    }
    n
}

/// Whether more than `n` frames arrive in one half-second within `secs` seconds.
async fn frames_resume(ws: &mut Ws, n: usize, secs: u32) -> bool {
    for _ in 0..secs * 2 {
        if frames_for(ws, 0.5).await > n {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_or_a_relay_node_can_fail_and_nats_can_go_away_entirely() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut nats = NatsCluster::start(3).await;
    let name = cluster_name();
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(&format!("n{i}"), &name, &nats.urls()))
        .collect();
    let cam = camera(nodes[0].addr(), "cam").await;
    let _feed = steady_camera(cam);
    for n in &nodes[1..] {
        until("the camera on every node", || n.srv().hub().stream("cam")).await;
    }
    let mut v2 = connect(nodes[1].addr(), "/stream/ws?clientId=cam").await;
    assert!(frames_for(&mut v2, 1.0).await > 5, "frames reach node 2");

    // One NATS server killed mid-stream (whichever node 2 or 1 talk to): the
    // clients move to another server; frames continue, none corrupt.
    let before = nodes[1]
        .srv()
        .state
        .cluster
        .counters
        .get(&nodes[1].srv().state.cluster.counters.frames_missed);
    nats.kill(0);
    assert!(
        frames_resume(&mut v2, 3, 10).await,
        "frames continue with one NATS server down"
    );
    let c = &nodes[1].srv().state.cluster.counters;
    let missed = c.get(&c.frames_missed) - before;
    println!("frames missed on node 2 while a NATS server failed: {missed}");
    nats.restart(0).await;

    // Relay node 2 killed: its viewer reconnects to node 3 and continues.
    nodes[1].kill();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = v2.next().await {}
    });
    assert!(closed.await.is_ok(), "node 2's viewer sees its node go");
    let mut v3 = connect(nodes[2].addr(), "/stream/ws?clientId=cam").await;
    assert!(
        frames_resume(&mut v3, 5, 5).await,
        "frames reach node 3's new viewer"
    );
    // Node 2's presence lapses within three heartbeats, without a goodbye.
    until("node 2 gone from the cluster", || {
        let nodes = nodes[0].srv().state.cluster.nodes();
        (!nodes.iter().any(|(n, _)| n == "n2")).then_some(())
    })
    .await;

    // NATS entirely down: each node serves its own streams and checks tokens.
    for i in 0..3 {
        nats.kill(i);
    }
    let mut local = connect(nodes[0].addr(), "/stream/ws?clientId=cam").await;
    assert!(
        frames_for(&mut local, 1.0).await > 5,
        "node 1 serves its own camera"
    );
    let resp = reqwest::get(http_anon(nodes[2].addr(), "/api/clients?token=wrong"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a wrong token is refused without NATS");
    let (status, _) = get_json(nodes[2].addr(), "/api/clients").await;
    assert_eq!(status, 200, "a good token works without NATS");
    let (_, health) = get_json(nodes[2].addr(), "/api/health").await;
    assert_eq!(
        health["cluster"]["connected"],
        Value::Bool(false),
        "{health}"
    );

    // NATS back: node 3's viewer gets node 1's frames again, by itself.
    nats.restart_all().await;
    assert!(
        frames_resume(&mut v3, 3, 30).await,
        "frames resume on node 3 when NATS returns"
    );
}

/// Sums a connection's counters (as nats-server sees them) over every server.
async fn conn_counters(nats: &NatsCluster, node: &str) -> (u64, u64) {
    let (mut in_bytes, mut out_bytes) = (0, 0);
    for s in nats.servers.iter().filter(|s| s.is_running()) {
        let connz = s.monitor("/connz").await;
        for c in connz["connections"].as_array().into_iter().flatten() {
            if c["name"] == format!("relaydeck {node}") {
                in_bytes += c["in_bytes"].as_u64().unwrap_or(0);
                out_bytes += c["out_bytes"].as_u64().unwrap_or(0);
            }
        }
    }
    (in_bytes, out_bytes)
}

/// docs/BENCHMARKS.md "The cluster": node 1 → node 2 transfer time and the
/// NATS traffic of one remote camera. Measures, asserts nothing about speed:
/// `cargo test --release -p relaydeck-tests --test cluster -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by hand (docs/BENCHMARKS.md)"]
async fn bench_cluster_latency_and_traffic() {
    let _one = ONE_AT_A_TIME.lock().await;
    let nats = NatsCluster::start(3).await;
    let name = cluster_name();
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(&format!("n{i}"), &name, &nats.urls()))
        .collect();
    let mut cam = camera(nodes[0].addr(), "cam").await;
    let frame = noise_jpeg(1, 320, 240);
    send_frame(&mut cam, &frame).await;
    for n in &nodes[1..] {
        until("the camera on every node", || n.srv().hub().stream("cam")).await;
    }
    let mut viewers = Vec::new();
    for n in &nodes[1..] {
        for _ in 0..2 {
            viewers.push(connect(n.addr(), "/stream/ws?clientId=cam").await);
        }
    }
    let drain: Vec<_> = viewers
        .into_iter()
        .map(|mut v| tokio::spawn(async move { while v.next().await.is_some() {} }))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<(u64, u64)> =
        futures_util::future::join_all(["n1", "n2", "n3"].map(|n| conn_counters(&nats, n))).await;
    let frames = 250u32;
    let mut tick = tokio::time::interval(Duration::from_millis(40));
    for i in 0..frames {
        tick.tick().await;
        send_frame(&mut cam, &noise_jpeg(i, 320, 240)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after: Vec<(u64, u64)> =
        futures_util::future::join_all(["n1", "n2", "n3"].map(|n| conn_counters(&nats, n))).await;
    println!(
        "frame size ~{} bytes, {frames} frames at 25 fps, 2 viewers on each of nodes 2 and 3",
        frame.len()
    );
    for (i, n) in ["n1", "n2", "n3"].iter().enumerate() {
        let sent = (after[i].0 - before[i].0) as f64 / frames as f64;
        let got = (after[i].1 - before[i].1) as f64 / frames as f64;
        println!("{n}: to NATS {sent:.0} B/frame, from NATS {got:.0} B/frame");
    }
    for n in &nodes[1..] {
        let (_, h) = get_json(n.addr(), "/api/health").await;
        let c = &h["cluster"];
        println!(
            "{}: frames in {}, missed {}, transfer p50 {} µs, p99 {} µs",
            c["node"], c["framesIn"], c["missed"], c["latencyP50Us"], c["latencyP99Us"]
        );
    }
    for d in drain {
        d.abort();
    }
}
