//! Helpers for the end-to-end tests: a server on an ephemeral port, real
//! JPEG frames, and small WebSocket conveniences over tokio-tungstenite (an
//! implementation independent of the server's).

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use relaydeck_hub::Hub;
use relaydeck_server::{RunningServer, Server, ServerConfig};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{protocol::CloseFrame, Message},
    MaybeTlsStream, WebSocketStream,
};

pub mod nats;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh, empty data directory for one test server.
pub fn temp_data_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("relaydeck-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The admin password of every test server.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// The newest server on each address (a port can be reused after a server stops).
static TOKENS: std::sync::Mutex<Vec<(SocketAddr, String)>> = std::sync::Mutex::new(Vec::new());

/// The admin API token the helpers use for the server at `addr`.
pub fn admin_token(addr: SocketAddr) -> String {
    TOKENS
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(a, _)| *a == addr)
        .map(|(_, t)| t.clone())
        .expect("a server started by start_server")
}

/// `path` with the server's admin token as `?token=` (for helpers and raw requests).
pub fn authed(addr: SocketAddr, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}token={}", admin_token(addr))
}

/// The capture crate's "camera unavailable" picture, wired as the binary
/// wires it (device listing stays the server's default: no hardware here).
pub fn capture_host() -> relaydeck_server::host::Host {
    struct PatternNotice;
    impl relaydeck_server::host::NoticePainter for PatternNotice {
        fn paint(&self, w: usize, h: usize, lines: &[&str]) -> Result<Vec<u8>, String> {
            relaydeck_capture::pattern::notice_jpeg(w, h, lines).map_err(|e| e.to_string())
        }
    }
    struct TurboScaler;
    impl relaydeck_server::host::FrameScaler for TurboScaler {
        fn gray_eighth(&self, jpeg: &[u8]) -> Result<relaydeck_server::host::GrayPicture, String> {
            let (width, height, pixels) =
                relaydeck_capture::scale::gray_eighth(jpeg).map_err(|e| e.to_string())?;
            Ok(relaydeck_server::host::GrayPicture {
                width,
                height,
                pixels,
            })
        }
        fn thumbnail(&self, jpeg: &[u8], max_width: usize) -> Result<Vec<u8>, String> {
            relaydeck_capture::scale::thumbnail(jpeg, max_width).map_err(|e| e.to_string())
        }
    }
    relaydeck_server::host::Host {
        notice: std::sync::Arc::new(PatternNotice),
        frames: std::sync::Arc::new(TurboScaler),
        ..Default::default()
    }
}

/// A server on ephemeral ports (HTTP, devkit TCP and UDP) with its own data
/// directory, a known admin password and an admin token for the helpers.
pub async fn start_server(configure: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        devkit_tcp_port: 0,
        devkit_udp_port: 0,
        data_dir: Some(temp_data_dir()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        // The phone pairing's listener stays on loopback in tests.
        pairing_address: Some([127, 0, 0, 1].into()),
        ..ServerConfig::default()
    };
    configure(&mut config);
    let hub = Hub::new(config.hub_config());
    let srv = Server::bind(config, hub)
        .await
        .expect("bind")
        .with_host(capture_host())
        .spawn();
    let (_, token) = srv
        .state
        .auth
        .create_token("tests", relaydeck_server::auth::Scope::Admin, None, None)
        .unwrap();
    TOKENS.lock().unwrap().push((srv.addr, token));
    srv
}

/// A real JPEG (encoded by libjpeg-turbo) whose pixels depend on `tag`.
pub fn jpeg(tag: u32, width: usize, height: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; width * height * 3];
    for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i % width, i / width);
        px.copy_from_slice(&[
            (x as u32 + tag) as u8,
            (y as u32 * 3 + tag * 7) as u8,
            (tag * 31) as u8,
        ]);
    }
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 85, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

/// A large, noisy JPEG (hundreds of KB), to fill socket buffers quickly.
pub fn big_jpeg(tag: u32) -> Vec<u8> {
    noise_jpeg(tag, 1280, 720)
}

/// A JPEG of random pixels seeded by `tag`: frames with different tags
/// differ in nearly every byte, and noise keeps them large.
pub fn noise_jpeg(tag: u32, width: usize, height: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9u32.wrapping_add(tag);
    let rgb: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 95, turbojpeg::Subsamp::None)
        .unwrap()
        .to_vec()
}

pub async fn connect(addr: SocketAddr, path: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(format!("ws://{addr}{}", authed(addr, path))),
    )
    .await
    .expect("connect timed out")
    .expect("connect");
    ws
}

/// A camera registered by query string, with its `registered` ack consumed.
pub async fn camera(addr: SocketAddr, id: &str) -> Ws {
    let mut ws = connect(addr, &format!("/ws?clientId={id}")).await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "registered", "{ack}");
    assert_eq!(ack["clientId"], id);
    ws
}

pub async fn send_frame(ws: &mut Ws, jpeg: &[u8]) {
    ws.send(Message::binary(jpeg.to_vec()))
        .await
        .expect("send frame");
}

pub async fn send_json(ws: &mut Ws, v: Value) {
    send_text(ws, &v.to_string()).await;
}

/// Sends any text message, JSON or not.
pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text.to_owned()))
        .await
        .expect("send text");
}

/// The next message that is not a ping/pong.
pub async fn next_message(ws: &mut Ws) -> Message {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("timed out waiting for a message");
        match msg.expect("socket ended").expect("socket error") {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return other,
        }
    }
}

/// The next text message, parsed; binary messages before it fail the test.
pub async fn next_json(ws: &mut Ws) -> Value {
    match next_message(ws).await {
        Message::Text(t) => serde_json::from_str(&t).expect("server sent invalid JSON"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// The next text message of `kind`, skipping other text and binary messages
/// (within [`WAIT`] in all: periodic stats would keep a per-message timeout from firing).
pub async fn next_json_of(ws: &mut Ws, kind: &str) -> Value {
    let find = async {
        loop {
            if let Message::Text(t) = next_message(ws).await {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
        }
    };
    tokio::time::timeout(WAIT, find)
        .await
        .unwrap_or_else(|_| panic!("no '{kind}' message within {WAIT:?}"))
}

/// The next binary message, skipping text messages (stats, status), within [`WAIT`] in all.
pub async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    let find = async {
        loop {
            match next_message(ws).await {
                Message::Binary(b) => return b.to_vec(),
                Message::Text(_) => continue,
                other => panic!("expected a binary message, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, find)
        .await
        .unwrap_or_else(|_| panic!("no binary message within {WAIT:?}"))
}

/// Reads until the server closes, returning its close frame.
/// Within [`WAIT`] in all, whatever else the server keeps sending meanwhile.
pub async fn expect_close(ws: &mut Ws) -> CloseFrame {
    let find = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return frame,
                Some(Ok(Message::Close(None))) => panic!("closed without a code"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    };
    tokio::time::timeout(WAIT, find)
        .await
        .expect("timed out waiting for close")
}

/// Polls `f` until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The URL of `path`, carrying the admin token.
pub fn http(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{}", authed(addr, path))
}

/// The URL of `path` without credentials.
pub fn http_anon(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// `base` with a COM segment carrying `tag` inserted after SOI: a distinct,
/// still valid JPEG without re-encoding.
pub fn tagged(base: &[u8], tag: u64) -> Vec<u8> {
    let text = format!("relaydeck-test {tag}");
    let mut out = Vec::with_capacity(base.len() + text.len() + 4);
    out.extend_from_slice(&base[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&base[2..]);
    out
}

// ---- WebRTC ----

/// An offer as Chromium makes it for one DataChannel, with no candidates:
/// the relay answers it, and its peer never sends a packet (it has nowhere
/// to send one).
pub const DATACHANNEL_OFFER: &str = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Zm9v\r\na=ice-pwd:YmFyYmFyYmFyYmFyYmFyYmFyYmFy\r\na=ice-options:trickle\r\na=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

/// A WHEP player's offer: one recvonly audio section with Opus (no candidates).
pub const AUDIO_OFFER: &str = "v=0\r\no=- 4215775240449105458 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Zm9w\r\na=ice-pwd:YmFyYmFyYmFyYmFyYmFyYmFyYmFz\r\na=ice-options:trickle\r\na=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";

// ---- devkits and audio ----

/// Creates a device over the REST API; returns its token.
pub async fn create_device(addr: SocketAddr, id: &str) -> String {
    let resp = reqwest::Client::new()
        .post(http(addr, "/api/devices"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "deviceId": id, "name": format!("Test {id}") }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "creating device {id}");
    let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

pub fn devkit_config(
    srv: &RunningServer,
    id: &str,
    token: &str,
) -> relaydeck_devkit_sim::DevkitConfig {
    relaydeck_devkit_sim::DevkitConfig::new(srv.state.devkits.tcp_addr().unwrap(), id, token)
}

/// A registered, connected devkit (16 kHz mono, 20 ms packets).
pub async fn devkit(srv: &RunningServer, id: &str) -> relaydeck_devkit_sim::Devkit {
    let token = create_device(srv.addr, id).await;
    relaydeck_devkit_sim::Devkit::connect(devkit_config(srv, id, &token))
        .await
        .expect("devkit connects")
}

/// 20 ms of 16 kHz mono PCM whose every sample is `tag` (never zero).
pub fn pcm(tag: u32) -> Vec<u8> {
    let v = (tag as i16).wrapping_mul(7).wrapping_add(1000);
    v.to_le_bytes().repeat(320)
}

pub async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let resp = reqwest::get(http(addr, path)).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

pub async fn post_json(addr: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(http(addr, path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// One device's entry in `GET /api/devices`.
pub async fn device_state(addr: SocketAddr, id: &str) -> Value {
    let (_, v) = get_json(addr, "/api/devices").await;
    v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Collects binary PCM from a listener until `bytes` have arrived (within [`WAIT`] in all:
/// stats messages keep coming, so a per-message timeout alone would never fire).
pub async fn read_pcm(ws: &mut Ws, bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let collect = async {
        while out.len() < bytes {
            out.extend(next_binary(ws).await);
        }
    };
    if tokio::time::timeout(WAIT, collect).await.is_err() {
        panic!(
            "only {} of {bytes} PCM bytes arrived within {WAIT:?}",
            out.len()
        );
    }
    out
}

/// Signs in with the admin password; returns the session cookie's value
/// (after checking the attributes the contract promises).
pub async fn admin_cookie(addr: SocketAddr) -> String {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/login"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "password": ADMIN_PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86400"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    set.split(';')
        .next()
        .unwrap()
        .trim_start_matches("relaydeck_session=")
        .to_owned()
}

/// A TLS client config that trusts exactly the certificate(s) in `cert_pem`
/// (the relay's generated one, read from its data directory).
pub fn trusting(cert_pem: &[u8]) -> std::sync::Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &cert_pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    std::sync::Arc::new(config)
}
