//! The devkit contract (docs/PROTOCOL.md, "Devkits"), over real TCP and UDP.

use std::time::Duration;

use relaydeck_devkit_sim::{datagram, encode_frame, CommandPolicy, Devkit, SimError};
use relaydeck_tests::*;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
};

/// Reads one length-prefixed frame from a raw socket.
async fn read_frame(tcp: &mut TcpStream) -> Option<Value> {
    let mut len = [0u8; 4];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut len))
        .await
        .expect("timed out")
        .ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    tcp.read_exact(&mut body).await.ok()?;
    Some(serde_json::from_slice(&body).unwrap())
}

async fn expect_eof(tcp: &mut TcpStream) {
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, tcp.read_to_end(&mut rest))
        .await
        .expect("server did not close")
        .unwrap_or(0);
    assert_eq!(n, 0, "nothing after the final message");
}

fn hello(id: &str, token: &str) -> Value {
    json!({"type":"hello","deviceId":id,"token":token,"fw":"1.2.0","audio":{"sampleRate":16000,"channels":1,"format":"s16le","frameMs":20}})
}

#[tokio::test]
async fn frames_split_across_reads_and_coalesced_in_one_are_both_understood() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut tcp = TcpStream::connect(srv.state.devkits.tcp_addr().unwrap())
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    // The hello, one byte at a time.
    for b in encode_frame(&hello("dk-01", &token).to_string()) {
        tcp.write_all(&[b]).await.unwrap();
        tcp.flush().await.unwrap();
    }
    let welcome = read_frame(&mut tcp).await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert!(welcome["sessionId"].as_u64().unwrap() > 0);
    assert_eq!(
        welcome["udpPort"],
        srv.state.devkits.udp_addr().unwrap().port()
    );
    assert_eq!(welcome["keepaliveSec"], 15);
    // Two pings in one write.
    let mut two = encode_frame(r#"{"type":"ping","t":1}"#);
    two.extend(encode_frame(r#"{"type":"ping","t":2}"#));
    tcp.write_all(&two).await.unwrap();
    assert_eq!(
        read_frame(&mut tcp).await.unwrap(),
        json!({"type":"pong","t":1})
    );
    assert_eq!(
        read_frame(&mut tcp).await.unwrap(),
        json!({"type":"pong","t":2})
    );
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_connection_stays() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut tcp = TcpStream::connect(srv.state.devkits.tcp_addr().unwrap())
        .await
        .unwrap();
    tcp.write_all(&encode_frame(&hello("dk-01", &token).to_string()))
        .await
        .unwrap();
    assert_eq!(read_frame(&mut tcp).await.unwrap()["type"], "welcome");
    for (bad, code) in [
        ("{not json", "bad_request"),
        (r#"{"no":"type"}"#, "bad_request"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"type":"ack","id":"x"}"#, "bad_request"),
    ] {
        tcp.write_all(&encode_frame(bad)).await.unwrap();
        let err = read_frame(&mut tcp).await.unwrap();
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some(code)),
            "for {bad}: {err}"
        );
    }
    tcp.write_all(&encode_frame(r#"{"type":"ping","t":9}"#))
        .await
        .unwrap();
    assert_eq!(
        read_frame(&mut tcp).await.unwrap()["type"],
        "pong",
        "still connected"
    );
}

#[tokio::test]
async fn an_oversize_or_empty_frame_is_refused_and_closes() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    for len in [65_537u32, 0] {
        let mut tcp = TcpStream::connect(srv.state.devkits.tcp_addr().unwrap())
            .await
            .unwrap();
        tcp.write_all(&encode_frame(&hello("dk-01", &token).to_string()))
            .await
            .unwrap();
        assert_eq!(read_frame(&mut tcp).await.unwrap()["type"], "welcome");
        tcp.write_all(&len.to_be_bytes()).await.unwrap();
        let err = read_frame(&mut tcp).await.unwrap();
        assert_eq!(err["code"], "bad_request", "{err}");
        assert!(err["message"].as_str().unwrap().contains(&len.to_string()));
        expect_eof(&mut tcp).await;
    }
}

#[tokio::test]
async fn a_bad_token_or_unknown_device_is_unauthorized() {
    let srv = start_server(|_| {}).await;
    create_device(srv.addr, "dk-01").await;
    for (id, token) in [("dk-01", "wrong"), ("dk-99", "wrong")] {
        let err = Devkit::connect(devkit_config(&srv, id, token))
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(&err, SimError::Refused { code, .. } if code == "unauthorized"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn formats_that_do_not_fit_a_datagram_are_refused() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    (cfg.sample_rate, cfg.channels, cfg.frame_ms) = (48_000, 2, 10);
    let err = Devkit::connect(cfg.clone())
        .await
        .err()
        .expect("10 ms of 48 kHz stereo is 1932 bytes");
    assert!(
        matches!(&err, SimError::Refused { code, message } if code == "bad_request" && message.contains("frameMs <= 7")),
        "{err}"
    );
    cfg.frame_ms = 7;
    let ok = Devkit::connect(cfg.clone()).await.expect("7 ms fits");
    drop(ok);
    cfg.sample_rate = 44_100;
    assert!(
        matches!(Devkit::connect(cfg).await, Err(SimError::Refused { code, .. }) if code == "bad_request")
    );
}

#[tokio::test]
async fn no_hello_in_time_closes_with_a_timeout_error() {
    let srv = start_server(|c| c.hello_timeout = Duration::from_millis(300)).await;
    let mut tcp = TcpStream::connect(srv.state.devkits.tcp_addr().unwrap())
        .await
        .unwrap();
    let err = read_frame(&mut tcp).await.unwrap();
    assert_eq!(err["code"], "timeout");
    expect_eof(&mut tcp).await;
}

#[tokio::test]
async fn a_device_silent_for_three_keepalive_periods_is_dropped_and_shown_offline() {
    let srv = start_server(|c| c.devkit_keepalive = Duration::from_secs(1)).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    cfg.answer_pings = false;
    cfg.ping_every = None;
    let dk = Devkit::connect(cfg).await.unwrap();
    assert_eq!(dk.keepalive, Duration::from_secs(1));
    assert_eq!(device_state(srv.addr, "dk-01").await["online"], true);
    let started = std::time::Instant::now();
    let last = tokio::time::timeout(Duration::from_secs(6), dk.closed())
        .await
        .expect("dropped within 3 periods + slack");
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "not before 3 periods"
    );
    assert!(last.unwrap_or_default().starts_with("timeout"));
    assert_eq!(device_state(srv.addr, "dk-01").await["online"], false);
}

#[tokio::test]
async fn a_device_that_pings_stays_connected() {
    let srv = start_server(|c| c.devkit_keepalive = Duration::from_secs(1)).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    cfg.answer_pings = false;
    cfg.ping_every = Some(Duration::from_millis(500));
    let mut dk = Devkit::connect(cfg).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(device_state(srv.addr, "dk-01").await["online"], true);
    // The server pinged too, every keepalive period.
    let mut server_pings = 0;
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(50), dk.next_message()).await
    {
        server_pings += (m["type"] == "ping") as u32;
    }
    assert!(server_pings >= 2, "server pings: {server_pings}");
}

#[tokio::test]
async fn datagrams_for_unknown_sessions_or_from_another_ip_are_dropped_and_counted() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    assert_eq!(next_json(&mut listener).await["type"], "format");
    let udp_addr = srv.state.devkits.udp_addr().unwrap();
    let stranger = UdpSocket::bind("127.0.0.2:0")
        .await
        .expect("the 127/8 loopback range");
    stranger
        .send_to(&datagram(dk.session_id, 1, 0, &pcm(66)), udp_addr)
        .await
        .unwrap();
    let local = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    local
        .send_to(
            &datagram(dk.session_id.wrapping_add(1), 1, 0, &pcm(67)),
            udp_addr,
        )
        .await
        .unwrap();
    local.send_to(&[0u8; 5], udp_addr).await.unwrap();
    local
        .send_to(&datagram(dk.session_id, 1, 0, &[1, 2, 3]), udp_addr)
        .await
        .unwrap();
    dk.send_audio(1, 0, &pcm(1)).await.unwrap();
    assert_eq!(
        read_pcm(&mut listener, 640).await,
        pcm(1),
        "only the real device's audio is forwarded"
    );
    let (_, v) = get_json(srv.addr, "/api/devices").await;
    assert_eq!(
        v["udpDrops"],
        json!({"unknownSession": 1, "wrongPeer": 1, "malformed": 2})
    );
}

#[tokio::test]
async fn lost_packets_become_exactly_as_much_silence() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    assert_eq!(next_json(&mut listener).await["type"], "format");
    for seq in [1u32, 2, 5, 6] {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    let got = read_pcm(&mut listener, 6 * 640).await;
    let mut want = [pcm(1), pcm(2)].concat();
    want.extend(vec![0u8; 2 * 640]);
    want.extend([pcm(5), pcm(6)].concat());
    assert_eq!(got, want);
    let d = eventually_device(&srv, "dk-01", |d| d["lost"] == 2).await;
    assert_eq!(
        (d["filled"].as_u64(), d["packets"].as_u64()),
        (Some(640), Some(4))
    );
}

#[tokio::test]
async fn reordering_inside_the_window_is_repaired() {
    let srv = start_server(|c| c.reorder_window = Duration::from_millis(200)).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    next_json(&mut listener).await;
    for seq in [1u32, 3, 4, 2, 5] {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    let want: Vec<u8> = (1..=5).flat_map(pcm).collect();
    assert_eq!(read_pcm(&mut listener, want.len()).await, want);
    let d = device_state(srv.addr, "dk-01").await;
    assert_eq!((d["lost"].as_u64(), d["late"].as_u64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn late_and_duplicate_packets_are_dropped_and_counted() {
    let srv = start_server(|c| c.reorder_window = Duration::from_millis(30)).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    next_json(&mut listener).await;
    dk.send_audio(1, 320, &pcm(1)).await.unwrap();
    dk.send_audio(3, 960, &pcm(3)).await.unwrap();
    // 2's place is filled with silence once the window passes.
    let got = read_pcm(&mut listener, 3 * 640).await;
    assert_eq!(&got[640..1280], &[0u8; 640][..]);
    dk.send_audio(2, 640, &pcm(2)).await.unwrap();
    dk.send_audio(4, 1280, &pcm(4)).await.unwrap();
    dk.send_audio(4, 1280, &pcm(4)).await.unwrap();
    dk.send_audio(5, 1600, &pcm(5)).await.unwrap();
    assert_eq!(
        read_pcm(&mut listener, 2 * 640).await,
        [pcm(4), pcm(5)].concat(),
        "neither the late 2 nor the second 4"
    );
    let d = eventually_device(&srv, "dk-01", |d| d["duplicates"] == 1).await;
    assert_eq!((d["late"].as_u64(), d["lost"].as_u64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn sequence_numbers_and_timestamps_wrap_around() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    next_json(&mut listener).await;
    let seqs = [u32::MAX - 1, u32::MAX, 0, 1];
    for (i, seq) in seqs.iter().enumerate() {
        dk.send_audio(
            *seq,
            (u32::MAX - 639).wrapping_add(i as u32 * 320),
            &pcm(i as u32),
        )
        .await
        .unwrap();
    }
    let want: Vec<u8> = (0..4).flat_map(pcm).collect();
    assert_eq!(read_pcm(&mut listener, want.len()).await, want);
    let d = device_state(srv.addr, "dk-01").await;
    assert_eq!(
        (d["lost"].as_u64(), d["late"].as_u64(), d["filled"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
}

async fn eventually_device(
    srv: &relaydeck_server::RunningServer,
    id: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let d = device_state(srv.addr, id).await;
        if ok(&d) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "device state never matched: {d}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn commands_round_trip_and_refusals_timeouts_and_offline_devices_have_their_status() {
    let srv = start_server(|c| c.command_timeout = Duration::from_millis(500)).await;
    let _dk = devkit(&srv, "dk-01").await;
    let (status, v) = post_json(
        srv.addr,
        "/api/devices/dk-01/commands",
        json!({"name":"set_gain","args":{"gain":12}}),
    )
    .await;
    assert_eq!((status, &v["ok"]), (200, &json!(true)), "{v}");
    let (status, v) = post_json(
        srv.addr,
        "/api/devices/dk-01/commands",
        json!({"name":"set_gain","args":{}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(v["error"]["code"], "command_refused");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("numeric args.gain"),
        "the device's own error is passed on: {v}"
    );

    let token = create_device(srv.addr, "dk-02").await;
    let mut cfg = devkit_config(&srv, "dk-02", &token);
    cfg.commands = CommandPolicy::Ignore;
    let silent = Devkit::connect(cfg).await.unwrap();
    let (status, v) = post_json(
        srv.addr,
        "/api/devices/dk-02/commands",
        json!({"name":"reboot"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (504, Some("command_timeout"))
    );
    assert_eq!(silent.commands_seen(), 1, "the device did get the command");

    create_device(srv.addr, "dk-03").await;
    let (status, v) = post_json(
        srv.addr,
        "/api/devices/dk-03/commands",
        json!({"name":"reboot"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("device_offline"))
    );
    let (status, _) = post_json(
        srv.addr,
        "/api/devices/nope/commands",
        json!({"name":"reboot"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, v) = post_json(srv.addr, "/api/devices/dk-01/commands", json!({"args":{}})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
}

#[tokio::test]
async fn events_are_kept_as_the_devices_latest_status() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    dk.event("battery", json!({"level": 80})).await.unwrap();
    dk.event("battery", json!({"level": 79})).await.unwrap();
    dk.event("button", json!({"id": 1, "pressed": true}))
        .await
        .unwrap();
    let d = eventually_device(&srv, "dk-01", |d| {
        d["status"]["battery"]["level"] == 79 && d["status"]["button"]["pressed"] == true
    })
    .await;
    assert_eq!(d["fw"], "sim-1.0.0");
    assert_eq!(d["ip"], "127.0.0.1");
    assert_eq!(
        d["format"],
        json!({"sampleRate":16000,"channels":1,"format":"s16le","frameMs":20,"frameSamples":320})
    );
}

#[tokio::test]
async fn revoking_a_device_drops_its_session_and_its_token_stops_working() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let dk = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    let resp = reqwest::Client::new()
        .delete(http(srv.addr, "/api/devices/dk-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let last = tokio::time::timeout(WAIT, dk.closed()).await.unwrap();
    assert!(last.unwrap_or_default().starts_with("revoked"));
    assert!(
        matches!(Devkit::connect(devkit_config(&srv, "dk-01", &token)).await, Err(SimError::Refused { code, .. }) if code == "unauthorized")
    );
    let resp = reqwest::Client::new()
        .delete(http(srv.addr, "/api/devices/dk-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_reconnecting_device_replaces_its_old_session() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let old = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    let new = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    assert_ne!(old.session_id, new.session_id);
    let last = tokio::time::timeout(WAIT, old.closed()).await.unwrap();
    assert!(last.unwrap_or_default().starts_with("replaced"));
    assert_eq!(
        device_state(srv.addr, "dk-01").await["sessionId"],
        new.session_id
    );
}

#[tokio::test]
async fn the_registry_survives_a_restart_and_stores_no_clear_token() {
    let dir = temp_data_dir();
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    let token = create_device(srv.addr, "dk-01").await;
    srv.shutdown().await;
    let file = std::fs::read_to_string(dir.join("devices.json")).unwrap();
    assert!(file.contains("dk-01") && !file.contains(&token));
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .expect("same token after restart");
}

#[tokio::test]
async fn devkit_bind_puts_the_devkit_ports_on_their_own_address_and_the_api_names_it() {
    // Default: the devkit ports follow --bind (loopback here), and no board address is offered.
    let srv = start_server(|_| {}).await;
    assert!(srv.state.devkits.tcp_addr().unwrap().ip().is_loopback());
    let (_, list) = get_json(srv.addr, "/api/devices").await;
    assert_eq!(
        list["hosts"],
        json!({"local": "127.0.0.1", "lanEnabled": false, "lan": []})
    );

    // --devkit-bind 0.0.0.0: every interface for devkits, the web UI still on loopback.
    let srv = start_server(|c| c.devkit_bind = Some([0, 0, 0, 0].into())).await;
    assert!(srv.addr.ip().is_loopback());
    let tcp = srv.state.devkits.tcp_addr().unwrap();
    let udp = srv.state.devkits.udp_addr().unwrap();
    assert!(
        tcp.ip().is_unspecified() && udp.ip().is_unspecified(),
        "{tcp} {udp}"
    );
    let (_, list) = get_json(srv.addr, "/api/devices").await;
    assert_eq!(list["hosts"]["lanEnabled"], true);
    assert_eq!(list["hosts"]["local"], "127.0.0.1");
    let lan = list["hosts"]["lan"].as_array().unwrap();
    assert!(
        lan.iter().all(|h| !h.as_str().unwrap().starts_with("127.")),
        "{lan:?}"
    );
    let token = create_device(srv.addr, "dk-lan").await;
    let (status, created) = post_json(
        srv.addr,
        "/api/devices",
        json!({"deviceId": "dk-lan-2", "name": "Two"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        created["hosts"], list["hosts"],
        "the add answer names the same addresses"
    );
    let config = relaydeck_devkit_sim::DevkitConfig::new(
        ([127, 0, 0, 1], tcp.port()).into(),
        "dk-lan",
        &token,
    );
    Devkit::connect(config)
        .await
        .expect("a devkit reaches the unspecified address");
}

#[tokio::test]
async fn an_unknown_encoding_or_a_hello_without_a_packet_size_is_refused_clearly() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    for (audio, want) in [
        (
            json!({"sampleRate":16000,"channels":1,"format":"u8","frameMs":20}),
            "use s16le, s32le or f32le",
        ),
        (
            json!({"sampleRate":16000,"channels":1,"format":"s16le"}),
            "needs frameMs or frameSamples",
        ),
        (
            json!({"sampleRate":16000,"channels":3,"format":"s16le","frameMs":20}),
            "use 1 or 2",
        ),
    ] {
        let mut tcp = TcpStream::connect(srv.state.devkits.tcp_addr().unwrap())
            .await
            .unwrap();
        let mut h = hello("dk-01", &token);
        h["audio"] = audio;
        tcp.write_all(&encode_frame(&h.to_string())).await.unwrap();
        let err = read_frame(&mut tcp).await.unwrap();
        assert_eq!(err["code"], "bad_request", "{err}");
        assert!(err["message"].as_str().unwrap().contains(want), "{err}");
        expect_eof(&mut tcp).await;
    }
}

#[tokio::test]
async fn a_devkit_over_tls_pins_the_relay_certificate_and_a_wrong_pin_never_sends_its_token() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-tls").await;
    let (_, list) = get_json(srv.addr, "/api/devices").await;
    let fingerprint = list["tlsFingerprint"]
        .as_str()
        .expect("devkit TLS is on by default")
        .to_owned();
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");

    // The right pin: a session over TLS, shown as such, whose audio arrives.
    let mut cfg = devkit_config(&srv, "dk-tls", &token);
    cfg.tls_fingerprint = Some(fingerprint.clone());
    let dk = Devkit::connect(cfg.clone())
        .await
        .expect("TLS with the pinned certificate");
    let d = device_state(srv.addr, "dk-tls").await;
    assert_eq!(
        (d["online"].as_bool(), d["transport"].as_str()),
        (Some(true), Some("tls"))
    );
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-tls").await;
    next_json(&mut listener).await;
    dk.send_audio(1, 320, &pcm(1)).await.unwrap();
    assert_eq!(read_pcm(&mut listener, 640).await, pcm(1));
    drop(dk);

    // A wrong pin: the board refuses the relay before the hello (so before the token).
    let mut other = fingerprint.clone();
    other.replace_range(0..1, if other.starts_with('0') { "1" } else { "0" });
    let mut wrong = cfg.clone();
    wrong.tls_fingerprint = Some(other);
    match Devkit::connect(wrong).await {
        Err(SimError::Tls(message)) => assert!(message.contains("pinned fingerprint"), "{message}"),
        other => panic!(
            "a wrong pin must fail the handshake: {:?}",
            other.map(|_| ())
        ),
    }

    // Plain TCP still works, and says so.
    let plain = Devkit::connect(devkit_config(&srv, "dk-tls", &token))
        .await
        .expect("plain TCP");
    eventually(|| {
        srv.state
            .devkits
            .session_info("dk-tls")
            .filter(|i| i.session_id == plain.session_id)
    })
    .await;
    assert_eq!(device_state(srv.addr, "dk-tls").await["transport"], "tcp");
}

#[tokio::test]
async fn with_tls_required_a_plain_devkit_is_told_why_and_closed() {
    let srv = start_server(|c| c.devkit_require_tls = true).await;
    let token = create_device(srv.addr, "dk-01").await;
    match Devkit::connect(devkit_config(&srv, "dk-01", &token)).await {
        Err(SimError::Refused { code, message }) => {
            assert_eq!(code, "tls_required");
            assert!(message.contains("TLS"), "{message}");
        }
        other => panic!("plain TCP must be refused: {:?}", other.map(|_| ())),
    }
    let (_, list) = get_json(srv.addr, "/api/devices").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    cfg.tls_fingerprint = list["tlsFingerprint"].as_str().map(str::to_owned);
    Devkit::connect(cfg).await.expect("TLS is accepted");
}

#[tokio::test]
async fn the_native_pairing_registrar_hands_a_board_what_lets_it_join_over_tls_and_abandoning_revokes_it(
) {
    use axum::extract::FromRef;
    use relaydeck_server::edges::pairing::{Registrar, RelayRegistrar};
    let srv = start_server(|c| c.devkit_bind = Some([0, 0, 0, 0].into())).await;
    let relay = RelayRegistrar(relaydeck_server::state::DeviceState::from_ref(&srv.state));
    let registered = match relay.register("rdk-native-1", "Native kit").await {
        Ok(r) => r,
        // A machine with no network address at all: the registrar says so.
        Err(e) if relaydeck_server::lan::addresses().is_empty() => {
            assert!(e.to_string().contains("no network address"), "{e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let c = &registered.config;
    assert!(!registered.repaired && !c.hosts.is_empty());
    assert!(
        c.hosts.iter().all(|h| !h.starts_with("127.")),
        "{:?}",
        c.hosts
    );
    assert!(!relay.is_online(&c.device_id).await);
    // The board joins on this computer (loopback reaches the unspecified address) with what it holds.
    let mut cfg = relaydeck_devkit_sim::DevkitConfig::new(
        ([127, 0, 0, 1], c.tcp_port).into(),
        &c.device_id,
        &c.token,
    );
    cfg.tls_fingerprint = c.tls_fingerprint.map(|f| {
        f.iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    });
    let dk = Devkit::connect(cfg)
        .await
        .expect("the registered board joins over TLS");
    assert!(relay.is_online(&c.device_id).await);
    drop(dk);
    // Paired again: the same device; abandoning a new one revokes it.
    assert!(
        relay
            .register("rdk-native-1", "Native kit")
            .await
            .unwrap()
            .repaired
    );
    let other = relay.register("rdk-native-2", "Other").await.unwrap();
    relay.abandon(&other).await;
    let (status, _) = get_json(
        srv.addr,
        &format!("/api/devices/{}", other.config.device_id),
    )
    .await;
    assert_eq!(status, 404, "an abandoned pairing leaves no device behind");
}
