//! The video contract over real WebSockets (docs/PROTOCOL.md, "Cameras").

use std::time::Duration;

use futures_util::SinkExt;
use relaydeck_hub::{MuxHeader, SourceKind};
use relaydeck_tests::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

#[tokio::test]
async fn every_viewer_gets_the_cameras_bytes_unchanged() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam1").await;
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(connect(srv.addr, "/stream/ws?clientId=cam1").await);
    }
    eventually(|| (srv.hub().stream("cam1")?.snapshot().viewers == 3).then_some(())).await;
    let frames: Vec<Vec<u8>> = (0..5).map(|i| jpeg(i, 64, 48)).collect();
    for f in &frames {
        send_frame(&mut cam, f).await;
        for v in &mut viewers {
            assert_eq!(
                &next_binary(v).await,
                f,
                "a viewer got different bytes than the camera sent"
            );
        }
    }
}

#[tokio::test]
async fn a_new_viewer_gets_the_newest_frame_at_once() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam1").await;
    for i in 0..3 {
        send_frame(&mut cam, &jpeg(i, 32, 32)).await;
    }
    eventually(|| (srv.hub().stream("cam1")?.latest()?.seq == 3).then_some(())).await;
    let mut v = connect(srv.addr, "/stream/ws?clientId=cam1").await;
    assert_eq!(next_binary(&mut v).await, jpeg(2, 32, 32));
}

#[tokio::test]
async fn a_camera_may_register_by_message_and_skysentry_clients_get_their_ack() {
    let srv = start_server(|_| {}).await;
    let mut a = connect(srv.addr, "/ws").await;
    send_json(
        &mut a,
        json!({"type": "register", "clientId": "porch", "name": "Porch"}),
    )
    .await;
    assert_eq!(
        next_json(&mut a).await,
        json!({"type": "registered", "clientId": "porch"})
    );

    let mut b = connect(srv.addr, "/ws").await;
    send_json(
        &mut b,
        json!({"type": "client-registration", "clientId": "garage"}),
    )
    .await;
    let ack = next_json(&mut b).await;
    assert_eq!(ack["type"], "registration-success");
    assert_eq!(ack["clientId"], "garage");
    assert!(
        ack["timestamp"].as_u64().unwrap() > 1_600_000_000_000,
        "timestamp in ms: {ack}"
    );
    assert_eq!(
        srv.hub().stream("porch").unwrap().name().as_deref(),
        Some("Porch")
    );
}

#[tokio::test]
async fn one_socket_carries_several_cameras_with_the_documented_header() {
    let srv = start_server(|_| {}).await;
    let mut a = camera(srv.addr, "a").await;
    let mut viewer = connect(srv.addr, "/stream/ws").await;
    let joined = next_json(&mut viewer).await;
    assert_eq!(
        (joined["type"].as_str(), joined["clientId"].as_str()),
        (Some("joined"), Some("a"))
    );

    let mut b = camera(srv.addr, "b").await;
    let joined = next_json_of(&mut viewer, "joined").await;
    assert_eq!(
        joined["clientId"], "b",
        "a camera that connects later is announced"
    );

    let (fa, fb) = (jpeg(1, 32, 32), jpeg(2, 48, 32));
    send_frame(&mut a, &fa).await;
    send_frame(&mut b, &fb).await;
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let msg = next_binary(&mut viewer).await;
        let (h, body) = MuxHeader::parse(&msg).expect("a multi-camera header");
        assert_eq!(msg[0], 1, "version byte");
        assert_eq!(msg[1] as usize, h.id.len(), "id length byte");
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        assert!(
            h.captured_us <= now_us && now_us - h.captured_us < 60_000_000,
            "capture time is µs since the epoch"
        );
        seen.insert(h.id.to_owned(), (h.seq, body.to_vec()));
    }
    assert_eq!(seen["a"], (1, fa));
    assert_eq!(seen["b"], (1, fb));

    // Leaving: the camera disconnects (status offline), then is removed (left) by the sweep.
    b.close(None).await.unwrap();
    let status = next_json_of(&mut viewer, "status").await;
    assert_eq!(
        (status["clientId"].as_str(), status["online"].as_bool()),
        (Some("b"), Some(false))
    );
}

#[tokio::test]
async fn a_viewer_can_choose_its_cameras() {
    let srv = start_server(|_| {}).await;
    let mut a = camera(srv.addr, "a").await;
    let mut b = camera(srv.addr, "b").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientIds=b").await;
    assert_eq!(next_json(&mut viewer).await["clientId"], "b");
    send_frame(&mut a, &jpeg(1, 16, 16)).await;
    send_frame(&mut b, &jpeg(2, 16, 16)).await;
    let (h, _) = MuxHeader::parse(&next_binary(&mut viewer).await)
        .map(|(h, j)| (h.id.to_owned(), j.len()))
        .unwrap();
    assert_eq!(h, "b", "only the chosen camera is delivered");

    send_json(
        &mut viewer,
        json!({"type": "subscribe", "clientIds": ["a"]}),
    )
    .await;
    // Expected: `left b`, `joined a`, then a's newest frame at once; the
    // `subscribed` reply may come before or after that frame.
    let (mut got_left, mut joined_a, mut subscribed, mut frame_a) = (false, false, false, false);
    while !(subscribed && frame_a) {
        match next_message(&mut viewer).await {
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str().unwrap() {
                    "left" => {
                        assert_eq!(v["clientId"], "b");
                        got_left = true;
                    }
                    "joined" => {
                        assert_eq!(v["clientId"], "a");
                        joined_a = true;
                    }
                    "subscribed" => {
                        assert_eq!(v["clientIds"], json!(["a"]));
                        subscribed = true;
                    }
                    _ => {}
                }
            }
            Message::Binary(msg) => {
                assert!(
                    joined_a,
                    "a camera's frames come after its `joined` message"
                );
                assert_eq!(
                    MuxHeader::parse(&msg).unwrap().0.id,
                    "a",
                    "only the chosen camera is delivered"
                );
                frame_a = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got_left);
}

#[tokio::test]
async fn a_reconnecting_camera_takes_over_and_the_old_socket_is_told_why() {
    let srv = start_server(|_| {}).await;
    let mut old = camera(srv.addr, "cam").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=cam").await;
    let mut new = camera(srv.addr, "cam").await;
    let close = expect_close(&mut old).await;
    assert_eq!(u16::from(close.code), 1000);
    assert!(
        close.reason.contains("replaced"),
        "reason: {}",
        close.reason
    );
    send_frame(&mut new, &jpeg(9, 32, 32)).await;
    assert_eq!(
        next_binary(&mut viewer).await,
        jpeg(9, 32, 32),
        "the viewer keeps watching across the take-over"
    );
    assert!(srv.hub().stream("cam").unwrap().is_online());
}

#[tokio::test]
async fn reserved_and_invalid_ids_are_refused_with_1008() {
    let srv = start_server(|_| {}).await;
    for path in [
        "/ws?clientId=test-pattern",
        "/ws?clientId=host-camera",
        "/ws?clientId=bad%20id",
        "/ws?clientId=",
    ] {
        let mut ws = connect(srv.addr, path).await;
        let close = expect_close(&mut ws).await;
        assert_eq!(u16::from(close.code), 1008, "{path}");
        assert!(!close.reason.is_empty(), "{path}: a reason is given");
    }
    let mut ws = connect(srv.addr, "/ws").await;
    send_json(
        &mut ws,
        json!({"type": "register", "clientId": "x".repeat(65)}),
    )
    .await;
    assert_eq!(u16::from(expect_close(&mut ws).await.code), 1008);
    // The local test pattern may use its reserved ID.
    assert!(srv
        .hub()
        .publish_as("test-pattern", None, SourceKind::Local)
        .is_ok());
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_connection_stays() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=cam").await;
    for bad in [
        &b"not a jpeg"[..],
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2][..],
        &jpeg(1, 16, 16)[..100],
    ] {
        send_frame(&mut cam, bad).await;
        let err = next_json(&mut cam).await;
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some("invalid_frame")),
            "{err}"
        );
    }
    for (text, code) in [
        ("{nope", "bad_json"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"x":1}"#, "missing_type"),
    ] {
        cam.send(Message::text(text)).await.unwrap();
        let err = next_json(&mut cam).await;
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some(code)),
            "{text}: {err}"
        );
    }
    let good = jpeg(2, 16, 16);
    send_frame(&mut cam, &good).await;
    assert_eq!(
        next_binary(&mut viewer).await,
        good,
        "the camera still publishes after bad input"
    );
    assert_eq!(
        srv.hub().stream("cam").unwrap().snapshot().frames,
        1,
        "bad frames never reach the ring"
    );
}

#[tokio::test]
async fn an_oversize_frame_closes_with_1009_and_a_reason() {
    let srv = start_server(|c| c.max_frame_bytes = 4096).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut big = jpeg(1, 16, 16);
    big.resize(5000, 0);
    let _ = cam.send(Message::binary(big)).await;
    let close = expect_close(&mut cam).await;
    assert_eq!(u16::from(close.code), 1009);
    assert!(
        close.reason.contains("4096"),
        "reason names the limit: {}",
        close.reason
    );
}

#[tokio::test]
async fn a_camera_that_never_registers_is_closed() {
    let srv = start_server(|c| c.register_timeout = Duration::from_millis(200)).await;
    let mut ws = connect(srv.addr, "/ws").await;
    send_frame(&mut ws, &jpeg(1, 16, 16)).await;
    assert_eq!(next_json(&mut ws).await["code"], "not_registered");
    assert_eq!(u16::from(expect_close(&mut ws).await.code), 1008);
}

#[tokio::test]
async fn the_server_answers_with_the_clients_first_subprotocol() {
    let srv = start_server(|_| {}).await;
    for path in ["/ws?clientId=c", "/stream/ws"] {
        let mut req = format!("ws://{}{}", srv.addr, authed(srv.addr, path))
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            "relaydeck.v1, something-else".parse().unwrap(),
        );
        let (_ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("handshake accepted");
        assert_eq!(
            resp.headers()["sec-websocket-protocol"],
            "relaydeck.v1",
            "{path}"
        );
    }
}

/// A viewer that completes the handshake and then never reads, with a tiny
/// receive buffer so the server's writes block at once.
async fn stalled_viewer(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut tcp = sock.connect(addr).await.unwrap();
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        relaydeck_tests::authed(addr, path)
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

#[tokio::test]
async fn a_stalled_viewer_never_holds_more_than_two_frames_or_slows_anyone() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let _stalled = stalled_viewer(srv.addr, "/stream/ws?clientId=cam").await;
    let mut live = connect(srv.addr, "/stream/ws?clientId=cam").await;
    eventually(|| (srv.hub().stream("cam")?.snapshot().viewers == 2).then_some(())).await;

    let base = big_jpeg(1);
    let frames: Vec<Vec<u8>> = (1..=60).map(|i| tagged(&base, i)).collect();
    let total = frames.len() as u64;
    let mut last_seq = 0;
    for f in &frames {
        send_frame(&mut cam, f).await;
        // The live viewer keeps up: everything it gets is newer than before.
        let got = next_binary(&mut live).await;
        let seq = frames
            .iter()
            .position(|f| f == &got)
            .expect("a frame the camera sent") as u64
            + 1;
        assert!(
            seq > last_seq,
            "sequence went backwards: {seq} after {last_seq}"
        );
        last_seq = seq;
    }
    assert_eq!(last_seq, total, "the live viewer reached the newest frame");

    let stream = srv.hub().stream("cam").unwrap();
    let stats = stream.viewer_stats();
    let stalled = stats
        .iter()
        .map(|(_, s)| *s)
        .min_by_key(|s| s.delivered)
        .unwrap();
    assert!(
        stalled.max_held <= 2,
        "the server held {} frames for the stalled viewer",
        stalled.max_held
    );
    assert!(
        stalled.skipped > 0,
        "the stalled viewer skipped frames: {stalled:?}"
    );
    assert!(stalled.delivered + stalled.skipped + stalled.held as u64 <= total);
    assert!(
        stalled.delivered < total / 2,
        "the stalled viewer really is stalled: {stalled:?}"
    );
}

/// A viewer with a large receive buffer that it does not read yet.
async fn unread_viewer(addr: std::net::SocketAddr, path: &str, recv_buffer: u32) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(recv_buffer).unwrap();
    let tcp = sock.connect(addr).await.unwrap();
    let url = format!("ws://{addr}{}", relaydeck_tests::authed(addr, path));
    let (ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .unwrap();
    ws
}

/// Large frames fanned out to many viewers are shared with their sockets
/// through frame files (`ws::frame_file`, Linux: from 32 more sockets in the
/// fan-out), and a file is closed a few frames later. Viewers that read
/// nothing meanwhile (the first to subscribe, so the fan-out reaches them
/// with the most sockets still ahead) still have those frames queued: when
/// they read at last, each frame must be byte for byte one the camera
/// sent, in order.
#[tokio::test]
async fn slow_viewers_read_every_shared_frame_intact() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        slow.push(unread_viewer(srv.addr, "/stream/ws?clientId=cam", 1 << 20).await);
    }
    let mut live = Vec::new();
    for _ in 0..34 {
        live.push(connect(srv.addr, "/stream/ws?clientId=cam").await);
    }
    eventually(|| (srv.hub().stream("cam")?.snapshot().viewers == 37).then_some(())).await;

    let frames: Vec<Vec<u8>> = (1..=30).map(|i| noise_jpeg(i, 320, 240)).collect();
    assert!(
        frames.iter().all(|f| f.len() > 64 * 1024),
        "frames large enough to be shared through files"
    );
    for f in &frames {
        send_frame(&mut cam, f).await;
        for v in &mut live {
            assert_eq!(&next_binary(v).await, f);
        }
    }
    #[cfg(target_os = "linux")]
    assert!(
        relaydeck_server::ws::frame_file::sendfile_calls() > 0,
        "the fan-out went through frame files, not a silent fallback to copies"
    );

    for (n, mut viewer) in slow.into_iter().enumerate() {
        let mut last = 0;
        let mut read = 0;
        while let Ok(Some(msg)) = tokio::time::timeout(
            Duration::from_millis(500),
            futures_util::StreamExt::next(&mut viewer),
        )
        .await
        {
            let Message::Binary(got) = msg.unwrap() else {
                continue;
            };
            let index = frames.iter().position(|f| f[..] == got[..]);
            let index = index.unwrap_or_else(|| {
                panic!(
                    "slow viewer {n} read {} bytes that the camera never sent",
                    got.len()
                )
            }) + 1;
            assert!(index > last, "slow viewer {n}: frame {index} after {last}");
            last = index;
            read += 1;
        }
        assert!(
            read >= 2,
            "slow viewer {n} had frames queued and then the newest: read {read}"
        );
        assert_eq!(
            last,
            frames.len(),
            "slow viewer {n} ends on the newest frame"
        );
    }
}

#[tokio::test]
async fn a_viewer_that_stops_answering_pings_is_closed() {
    let srv = start_server(|c| {
        c.ws_ping_interval = Duration::from_millis(100);
        c.ws_timeout = Duration::from_millis(400);
    })
    .await;
    let mut tcp = stalled_viewer(srv.addr, "/stream/ws").await;
    // Read (so writes succeed) but never answer a ping: the server must hang up.
    let mut buf = vec![0u8; 65536];
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server kept a silent viewer open");
}

#[tokio::test]
async fn viewers_get_stats_every_interval() {
    let srv = start_server(|c| c.stats_interval = Duration::from_millis(100)).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=cam").await;
    send_frame(&mut cam, &jpeg(1, 16, 16)).await;
    next_binary(&mut viewer).await;
    let stats = next_json_of(&mut viewer, "stats").await;
    assert_eq!(stats["cameras"]["cam"]["delivered"], 1, "{stats}");
    assert_eq!(stats["cameras"]["cam"]["skipped"], 0);
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut viewer = connect(srv.addr, "/stream/ws").await;
    next_json(&mut viewer).await;
    let stop = tokio::spawn(srv.shutdown());
    assert_eq!(u16::from(expect_close(&mut cam).await.code), 1001);
    assert_eq!(u16::from(expect_close(&mut viewer).await.code), 1001);
    tokio::time::timeout(WAIT, stop)
        .await
        .expect("shutdown finished")
        .unwrap();
}
