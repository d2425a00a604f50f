//! Audio listeners and publishers (docs/PROTOCOL.md, "Audio"), over real
//! WebSocket and HTTP connections.

use std::time::Duration;

use futures_util::StreamExt;
use relaydeck_devkit_sim::Devkit;
use relaydeck_tests::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn a_listener_gets_the_format_then_byte_identical_pcm_and_stats() {
    let srv = start_server(|c| c.audio_stats_interval = Duration::from_millis(100)).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    assert_eq!(
        next_json(&mut listener).await,
        json!({"type":"format","source":"dk-01","sampleRate":16000,"channels":1,"encoding":"s16le"})
    );
    for seq in 100..110u32 {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    let want: Vec<u8> = (100..110).flat_map(pcm).collect();
    assert_eq!(read_pcm(&mut listener, want.len()).await, want);
    let stats = tokio::time::timeout(WAIT, async {
        loop {
            let s = next_json_of(&mut listener, "stats").await;
            if s["seq"] == 109 {
                break s;
            }
        }
    })
    .await
    .expect("a stats message naming the last sequence forwarded");
    assert_eq!(
        (
            stats["lost"].as_u64(),
            stats["late"].as_u64(),
            stats["filled"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    let server_ms = stats["serverTimeMs"].as_u64().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        now_ms.abs_diff(server_ms) < 5_000,
        "serverTimeMs is a Unix time in ms"
    );
}

#[tokio::test]
async fn the_ring_fills_without_listeners_and_a_backlog_replays_it() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    for seq in 1..=10u32 {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    eventually_sources(&srv, |s| s["chunks"] == 10).await;
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01&backlogMs=100").await;
    assert_eq!(next_json(&mut listener).await["type"], "format");
    let want: Vec<u8> = (6..=10).flat_map(pcm).collect();
    assert_eq!(
        read_pcm(&mut listener, want.len()).await,
        want,
        "the last 100 ms = five 20 ms packets"
    );
    dk.send_audio(11, 11 * 320, &pcm(11)).await.unwrap();
    assert_eq!(
        read_pcm(&mut listener, 640).await,
        pcm(11),
        "then live audio"
    );
    let mut bad = connect(srv.addr, "/audio/ws?source=dk-01&backlogMs=99999").await;
    let close = expect_close(&mut bad).await;
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("backlogMs"));
}

async fn eventually_sources(
    srv: &relaydeck_server::RunningServer,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, v) = get_json(srv.addr, "/api/sources").await;
        if let Some(s) = v["sources"]
            .as_array()
            .and_then(|a| a.iter().find(|s| ok(s)))
        {
            return s.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sources never matched: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_new_socket_with_the_same_listener_id_closes_the_old_one() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let mut first = connect(srv.addr, "/audio/ws?source=dk-01&listenerId=kitchen-player").await;
    next_json(&mut first).await;
    let mut second = connect(srv.addr, "/audio/ws?source=dk-01&listenerId=kitchen-player").await;
    next_json(&mut second).await;
    let close = expect_close(&mut first).await;
    assert_eq!(u16::from(close.code), 1000);
    assert!(close.reason.contains("listenerId"), "{}", close.reason);
    dk.send_audio(1, 0, &pcm(1)).await.unwrap();
    assert_eq!(read_pcm(&mut second, 640).await, pcm(1));
    let (_, v) = get_json(srv.addr, "/api/sources").await;
    assert_eq!(
        v["sources"][0]["listeners"], 1,
        "one live stream per listenerId"
    );
}

#[tokio::test]
async fn the_first_offered_subprotocol_is_echoed() {
    let srv = start_server(|_| {}).await;
    let _dk = devkit(&srv, "dk-01").await;
    let mut req = format!(
        "ws://{}{}",
        srv.addr,
        authed(srv.addr, "/audio/ws?source=dk-01")
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "pcm.relaydeck, audio".parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("handshake accepted");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "pcm.relaydeck");
    assert_eq!(next_json(&mut ws).await["type"], "format");
}

#[tokio::test]
async fn unknown_sources_are_refused_but_a_registered_device_can_be_awaited() {
    let srv = start_server(|_| {}).await;
    let mut ws = connect(srv.addr, "/audio/ws?source=nobody").await;
    let close = expect_close(&mut ws).await;
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("unknown audio source"));
    let token = create_device(srv.addr, "dk-01").await;
    let mut waiting = connect(srv.addr, "/audio/ws?source=dk-01").await;
    let dk = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut waiting).await["type"],
        "format",
        "the format arrives when the device connects"
    );
    dk.send_audio(5, 0, &pcm(5)).await.unwrap();
    assert_eq!(read_pcm(&mut waiting, 640).await, pcm(5));
    let (status, v) = get_json(srv.addr, "/api/audio/nobody/live.wav").await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("unknown_source"))
    );
}

#[tokio::test]
async fn a_device_that_reconnects_in_another_format_is_announced_and_wav_streams_end() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let first = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    let mut listener = connect(srv.addr, "/audio/ws?source=dk-01").await;
    assert_eq!(next_json(&mut listener).await["sampleRate"], 16000);
    let mut wav = reqwest::get(http(srv.addr, "/api/audio/dk-01/live.wav"))
        .await
        .unwrap()
        .bytes_stream();
    let header = wav.next().await.unwrap().unwrap();
    assert_eq!(&header[..4], b"RIFF");
    first.send_audio(1, 0, &pcm(1)).await.unwrap();
    assert_eq!(read_pcm(&mut listener, 640).await, pcm(1));

    let mut cfg = devkit_config(&srv, "dk-01", &token);
    (cfg.sample_rate, cfg.channels, cfg.frame_ms) = (48_000, 2, 5);
    let second = Devkit::connect(cfg).await.unwrap();
    assert_eq!(
        next_json_of(&mut listener, "format").await,
        json!({"type":"format","source":"dk-01","sampleRate":48000,"channels":2,"encoding":"s16le"})
    );
    let stereo = vec![7u8; 960];
    second.send_audio(1, 0, &stereo).await.unwrap();
    assert_eq!(read_pcm(&mut listener, 960).await, stereo);
    // The WAV stream gets the old format's audio, then ends.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(chunk) = wav.next().await {
            rest.extend_from_slice(&chunk.unwrap());
        }
    })
    .await;
    assert!(ended.is_ok(), "the WAV stream ended");
    assert_eq!(rest, pcm(1));
}

#[tokio::test]
async fn published_audio_is_heard_by_a_listener() {
    let srv = start_server(|_| {}).await;
    let mut publisher = connect(srv.addr, "/audio/publish?source=browser-mic").await;
    send_frame(&mut publisher, &pcm(1)).await;
    let err = next_json(&mut publisher).await;
    assert_eq!(
        err["code"], "no_format",
        "audio before a format is refused and dropped: {err}"
    );
    send_json(
        &mut publisher,
        json!({"type":"format","sampleRate":96000,"channels":1,"encoding":"s16le"}),
    )
    .await;
    assert_eq!(next_json(&mut publisher).await["code"], "bad_format");
    send_json(
        &mut publisher,
        json!({"type":"format","sampleRate":16000,"channels":1,"encoding":"s24le"}),
    )
    .await;
    let err = next_json(&mut publisher).await;
    assert_eq!(err["code"], "bad_format");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("s16le, s32le or f32le"),
        "{err}"
    );
    send_json(
        &mut publisher,
        json!({"type":"format","sampleRate":16000,"channels":1,"encoding":"s16le"}),
    )
    .await;
    assert_eq!(next_json(&mut publisher).await["type"], "registered");
    let mut listener = connect(srv.addr, "/audio/ws?source=browser-mic").await;
    assert_eq!(next_json(&mut listener).await["sampleRate"], 16000);
    for tag in 1..=3 {
        send_frame(&mut publisher, &pcm(tag)).await;
    }
    let want: Vec<u8> = (1..=3).flat_map(pcm).collect();
    assert_eq!(read_pcm(&mut listener, want.len()).await, want);
    // Half a sample is refused with an error; the connection stays.
    send_frame(&mut publisher, &[1]).await;
    assert_eq!(next_json(&mut publisher).await["code"], "bad_audio");
    send_frame(&mut publisher, &pcm(4)).await;
    assert_eq!(read_pcm(&mut listener, 640).await, pcm(4));
}

#[tokio::test]
async fn publishers_cannot_take_reserved_or_device_ids() {
    let srv = start_server(|_| {}).await;
    create_device(srv.addr, "dk-01").await;
    for id in ["mic", "dk-01", "bad id!"] {
        let mut ws = connect(
            srv.addr,
            &format!("/audio/publish?source={}", id.replace(' ', "%20")),
        )
        .await;
        let close = expect_close(&mut ws).await;
        assert_eq!(u16::from(close.code), 1008, "{id}: {}", close.reason);
    }
}

/// Reads a WAV stream's header and `pcm_bytes` of its data.
async fn read_wav(url: String, pcm_bytes: usize) -> (Vec<u8>, Vec<u8>, reqwest::header::HeaderMap) {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let mut stream = resp.bytes_stream();
    let mut all = Vec::new();
    while all.len() < 44 + pcm_bytes {
        let chunk = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("WAV data")
            .unwrap()
            .unwrap();
        all.extend_from_slice(&chunk);
    }
    (all[..44].to_vec(), all[44..].to_vec(), headers)
}

#[tokio::test]
async fn the_live_wav_stream_is_a_valid_wav_with_the_devices_pcm() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let url = http(srv.addr, "/api/audio/dk-01/live.wav");
    let reader = tokio::spawn(read_wav(url, 5 * 640));
    tokio::time::sleep(Duration::from_millis(200)).await;
    for seq in 1..=5u32 {
        dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
    }
    let (header, data, headers) = reader.await.unwrap();
    assert_eq!(headers["content-type"], "audio/wav");
    assert!(
        headers.get("content-length").is_none(),
        "chunked, no length"
    );
    // An independent parse of the RIFF header.
    assert_eq!(
        (
            &header[0..4],
            &header[8..12],
            &header[12..16],
            &header[36..40]
        ),
        (&b"RIFF"[..], &b"WAVE"[..], &b"fmt "[..], &b"data"[..])
    );
    let le16 = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
    let le32 = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap());
    assert_eq!(
        (le16(20), le16(22), le32(24), le32(28), le16(32), le16(34)),
        (1, 1, 16_000, 32_000, 2, 16)
    );
    assert_eq!(data, (1..=5).flat_map(pcm).collect::<Vec<u8>>());
}

#[tokio::test]
async fn ffprobe_reads_the_live_wav_stream() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    let streaming = tokio::spawn(async move {
        let mut source = relaydeck_devkit_sim::PcmSource::tone(440.0, 16_000, 1, 0.3);
        let _ = relaydeck_devkit_sim::stream_audio(
            &dk,
            &mut source,
            Default::default(),
            1,
            Some(Duration::from_secs(8)),
        )
        .await;
    });
    let probed = ffprobe(&http(srv.addr, "/api/audio/dk-01/live.wav")).await;
    streaming.abort();
    assert_eq!(probed["codec_name"], "pcm_s16le", "{probed}");
    assert_eq!(probed["sample_rate"], "16000");
    assert_eq!(probed["channels"], 1);
}

#[tokio::test]
async fn a_slow_listener_loses_its_oldest_audio_and_nobody_elses() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    (cfg.sample_rate, cfg.channels, cfg.frame_ms) = (48_000, 2, 7);
    let dk = Devkit::connect(cfg).await.unwrap();
    // The slow listener does not read (and has a tiny receive buffer): its
    // socket fills, then its queue drops its oldest audio.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&srv.addr.into()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let slow = tokio::net::TcpStream::from_std(sock.into()).unwrap();
    let (mut slow_ws, _) = tokio_tungstenite::client_async(
        format!(
            "ws://{}{}",
            srv.addr,
            authed(srv.addr, "/audio/ws?source=dk-01")
        ),
        tokio_tungstenite::MaybeTlsStream::Plain(slow),
    )
    .await
    .unwrap();
    assert_eq!(next_json(&mut slow_ws).await["type"], "format");
    let mut fast = connect(srv.addr, "/audio/ws?source=dk-01").await;
    next_json(&mut fast).await;
    // 7 ms packets of 48 kHz stereo (1344 bytes), sent at about 7x real time.
    let packet = vec![3u8; 1344];
    let packets = 1000u32;
    let reading =
        tokio::spawn(async move { read_pcm(&mut fast, packets as usize * 1344).await.len() });
    for seq in 0..packets {
        dk.send_audio(seq, seq * 336, &packet).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let got = tokio::time::timeout(WAIT, reading)
        .await
        .expect("the fast listener is never held up")
        .unwrap();
    assert_eq!(
        got,
        packets as usize * 1344,
        "the fast listener got everything"
    );
    // Now the slow one reads: its stats say what it lost (7 s of audio went
    // by; it may lag 1 s, and the kernel buffers hold well under a second).
    let mut received = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    let dropped = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stats message reported drops"
        );
        match next_message(&mut slow_ws).await {
            tokio_tungstenite::tungstenite::Message::Binary(b) => received += b.len(),
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                let s: serde_json::Value = serde_json::from_str(&t).unwrap();
                let d = s["dropped"].as_u64().unwrap_or(0);
                if d > 0 {
                    break d;
                }
                assert!(
                    received < packets as usize * 1344,
                    "the slow listener got everything and dropped nothing: {s}"
                );
            }
            _ => {}
        }
    };
    assert!(dropped > 500, "dropped {dropped}");
}

#[tokio::test]
async fn api_sources_lists_each_source_with_format_and_state() {
    let srv = start_server(|_| {}).await;
    let dk = devkit(&srv, "dk-01").await;
    dk.send_audio(1, 0, &pcm(1)).await.unwrap();
    let s = eventually_sources(&srv, |s| s["chunks"] == 1).await;
    assert_eq!(s["id"], "dk-01");
    assert_eq!(s["online"], true);
    assert_eq!(s["device"], true);
    assert_eq!(s["format"], json!({"sampleRate":16000,"channels":1}));
    assert_eq!(s["encoding"], "s16le");
    assert_eq!(s["wavUrl"], "/api/audio/dk-01/live.wav");
    drop(dk);
    eventually_sources(&srv, |s| s["online"] == false).await;
}

#[tokio::test]
async fn a_publisher_that_never_names_its_format_is_closed() {
    let srv = start_server(|c| c.register_timeout = Duration::from_millis(200)).await;
    let mut publisher = connect(srv.addr, "/audio/publish?source=browser-mic").await;
    // Pings and refused audio do not count as a format.
    send_json(&mut publisher, json!({"type":"ping","t":1})).await;
    assert_eq!(next_json(&mut publisher).await["type"], "pong");
    send_frame(&mut publisher, &pcm(1)).await;
    assert_eq!(next_json(&mut publisher).await["code"], "no_format");
    let close = expect_close(&mut publisher).await;
    assert_eq!(u16::from(close.code), 1008);
    assert!(
        close.reason.contains("no format message"),
        "{}",
        close.reason
    );
}

#[tokio::test]
async fn every_audio_socket_answers_unknown_and_malformed_messages_and_stays_open() {
    let srv = start_server(|_| {}).await;
    let _dk = devkit(&srv, "dk-01").await;
    for path in [
        "/audio/ws?source=dk-01",
        "/audio/publish?source=browser-mic",
    ] {
        let mut ws = connect(srv.addr, path).await;
        if path.starts_with("/audio/ws") {
            assert_eq!(next_json(&mut ws).await["type"], "format");
        }
        for (text, code) in [
            ("not json", "bad_json"),
            (r#"{"t":1}"#, "missing_type"),
            (r#"{"type":"dance"}"#, "unknown_type"),
        ] {
            send_text(&mut ws, text).await;
            let reply = next_json(&mut ws).await;
            assert_eq!(reply["code"], code, "{path}: {text} → {reply}");
        }
        send_json(&mut ws, json!({"type":"ping","t":"x"})).await;
        let pong = next_json(&mut ws).await;
        assert_eq!(pong, json!({"type":"pong","t":"x"}), "{path}");
    }
}

/// ffprobe's view of `url`'s first stream: codec, rate, channels.
async fn ffprobe(url: &str) -> serde_json::Value {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels",
            "-of",
            "json",
            url,
        ])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), out)
        .await
        .expect("ffprobe finished")
        .expect("ffprobe runs (apt install ffmpeg)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        v["streams"][0].is_object(),
        "ffprobe: {v} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v["streams"][0].clone()
}

#[tokio::test]
async fn every_devkit_format_is_heard_byte_identically_and_its_live_wav_reads_in_ffprobe() {
    use relaydeck_devkit_sim::{Encoding, PcmSource};
    // (encoding, rate, channels, frameMs, frameSamples): every encoding, the
    // rates Opus does not take, and a packet that is no whole millisecond.
    let cases = [
        (Encoding::S32le, 44_100, 2, 0, Some(147)),
        (Encoding::F32le, 22_050, 1, 0, Some(294)),
        (Encoding::S16le, 11_025, 1, 40, None),
        (Encoding::F32le, 32_000, 2, 5, None),
        (Encoding::S32le, 8_000, 1, 20, None),
    ];
    let srv = start_server(|_| {}).await;
    for (i, (encoding, rate, channels, frame_ms, frame_samples)) in cases.into_iter().enumerate() {
        let id = format!("dk-fmt-{i}");
        let token = create_device(srv.addr, &id).await;
        let mut cfg = devkit_config(&srv, &id, &token);
        (cfg.sample_rate, cfg.channels, cfg.encoding) = (rate, channels, encoding);
        (cfg.frame_ms, cfg.frame_samples) = (frame_ms, frame_samples);
        let frames = cfg.frames_per_packet();
        let dk = Devkit::connect(cfg)
            .await
            .unwrap_or_else(|e| panic!("{encoding:?} {rate}: {e}"));
        let mut listener = connect(srv.addr, &format!("/audio/ws?source={id}")).await;
        assert_eq!(
            next_json(&mut listener).await,
            json!({"type":"format","source":id,"sampleRate":rate,"channels":channels,"encoding":encoding.name()})
        );
        // Distinct bytes per packet: any reordering, truncation or conversion shows.
        let packet = |seq: u32| -> Vec<u8> {
            (0..frames * channels as usize * encoding.sample_bytes())
                .map(|b| (b as u32 * 31 + seq * 7) as u8)
                .collect()
        };
        for seq in 1..=5u32 {
            dk.send_audio(seq, seq * frames as u32, &packet(seq))
                .await
                .unwrap();
        }
        let want: Vec<u8> = (1..=5).flat_map(packet).collect();
        assert_eq!(
            read_pcm(&mut listener, want.len()).await,
            want,
            "{encoding:?} at {rate} Hz"
        );
        let (_, sources) = get_json(srv.addr, "/api/sources").await;
        let entry = sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(entry["encoding"], encoding.name());
        let (_, device) = get_json(srv.addr, &format!("/api/devices/{id}")).await;
        assert_eq!(device["format"]["frameSamples"], frames);

        // The live WAV of a playing tone, as ffprobe reads it.
        let streaming = tokio::spawn(async move {
            let mut tone = PcmSource::tone(440.0, rate, channels, 0.3).encoded(encoding);
            let _ = relaydeck_devkit_sim::stream_audio(
                &dk,
                &mut tone,
                Default::default(),
                10,
                Some(Duration::from_secs(8)),
            )
            .await;
        });
        let probed = ffprobe(&http(srv.addr, &format!("/api/audio/{id}/live.wav"))).await;
        streaming.abort();
        assert_eq!(
            probed["codec_name"],
            format!("pcm_{}", encoding.name()),
            "{probed}"
        );
        assert_eq!(probed["sample_rate"], rate.to_string());
        assert_eq!(probed["channels"], channels);
    }
}

#[tokio::test]
async fn a_hello_outside_the_formats_is_refused_naming_what_would_fit() {
    use relaydeck_devkit_sim::{Encoding, SimError};
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-bad").await;
    let refused = |cfg: relaydeck_devkit_sim::DevkitConfig, want: &'static str| async move {
        match Devkit::connect(cfg.clone()).await {
            Err(SimError::Refused { code, message }) => {
                assert_eq!(code, "bad_request");
                assert!(message.contains(want), "{message}");
            }
            other => panic!("{:?}: {:?}", cfg.hello(), other.map(|_| ())),
        }
    };
    let base = devkit_config(&srv, "dk-bad", &token);
    let mut c = base.clone();
    (c.sample_rate, c.channels, c.encoding, c.frame_samples) =
        (48_000, 2, Encoding::F32le, Some(183));
    refused(c, "frameSamples <= 182").await;
    let mut c = base.clone();
    (c.sample_rate, c.frame_ms) = (44_100, 15);
    refused(c, "give frameSamples").await;
    let mut c = base.clone();
    c.sample_rate = 96_000;
    refused(c, "44100 or 48000").await;
}
