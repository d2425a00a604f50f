//! The audio library: uploads over HTTP as the contract says, and files
//! played over the `fileStream` DataChannel to a webrtc-rs peer on loopback
//! (the relay's peers bind `--webrtc-bind 127.0.0.1`, the player's too).

use std::{collections::BTreeSet, path::PathBuf, process::Command, sync::Arc, time::Duration};

use relaydeck_server::{auth::Scope, RunningServer};
use relaydeck_tests::*;
use rtc::peer_connection::{
    configuration::setting_engine::SettingEngineBuilder, sdp::RTCSessionDescription,
};
use serde_json::{json, Value};
use tokio::sync::watch;
use webrtc::{
    data_channel::{DataChannel, DataChannelEvent},
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    },
};

/// `secs` seconds of a 440 Hz tone, 44.1 kHz stereo, as ffmpeg writes it.
fn tone(name: &str, secs: u32, codec: &[&str]) -> Vec<u8> {
    let out: PathBuf = temp_data_dir().join(name);
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=44100:duration={secs}"
        ))
        .args(["-ac", "2"])
        .args(codec)
        .arg(&out)
        .status()
        .expect("ffmpeg runs (installed by .ci/setup)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn wav(secs: u32) -> Vec<u8> {
    tone("t.wav", secs, &["-c:a", "pcm_s16le", "-bitexact"])
}

/// The samples of a 16-bit WAV: what `pcm` mode must send for it.
fn wav_samples(wav: &[u8]) -> &[u8] {
    let at = wav
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk");
    let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().unwrap()) as usize;
    &wav[at + 8..at + 8 + len]
}

async fn put(
    srv: &RunningServer,
    name: &str,
    body: impl Into<reqwest::Body>,
    bearer: Option<&str>,
) -> (u16, Option<String>, Value) {
    let token = bearer.map_or_else(|| admin_token(srv.addr), str::to_owned);
    let resp = reqwest::Client::new()
        .put(format!("http://{}/api/files/{name}", srv.addr))
        .bearer_auth(token)
        .header("content-type", "audio/wav")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, location, body)
}

async fn get_as(srv: &RunningServer, path: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("http://{}{path}", srv.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn token(srv: &RunningServer, scope: Scope, ids: Option<&[&str]>) -> String {
    let ids = ids.map(|ids| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    srv.state
        .auth
        .create_token("t", scope, ids, None)
        .unwrap()
        .1
}

/// The files in the library's directory (nothing staged may be left).
fn on_disk(srv: &RunningServer) -> Vec<String> {
    let dir = srv.state.config.data_dir().join("library");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_upload_is_decoded_listed_and_replaced_whole() {
    let srv = start_server(|_| {}).await;
    let file = wav(2);
    let (status, location, entry) = put(&srv, "Morning%20Tone.wav", file.clone(), None).await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(location.as_deref(), Some("/api/files/Morning-Tone-wav"));
    assert_eq!(entry["name"], "Morning Tone.wav");
    assert_eq!(
        (
            &entry["format"],
            &entry["mime"],
            &entry["sampleRate"],
            &entry["channels"]
        ),
        (
            &json!("wav"),
            &json!("audio/wav"),
            &json!(44_100),
            &json!(2)
        )
    );
    assert_eq!(entry["size"], file.len());
    assert_eq!(entry["durationSec"], 2.0);
    assert_eq!(entry["pcmSize"], wav_samples(&file).len());
    let (_, list) = get_json(srv.addr, "/api/files").await;
    assert_eq!(list["files"][0]["id"], "Morning-Tone-wav");
    assert_eq!(list["maxUploadBytes"], 1u64 << 30);

    // The same name again, as FLAC: 200, the WAV is gone, one entry.
    let flac = tone("t.flac", 1, &["-c:a", "flac"]);
    let (status, _, entry) = put(&srv, "Morning%20Tone.wav", flac.clone(), None).await;
    assert_eq!(
        (status, &entry["format"], &entry["durationSec"]),
        (200, &json!("flac"), &json!(1.0))
    );
    assert_eq!(
        on_disk(&srv),
        [
            "Morning-Tone-wav.flac",
            "Morning-Tone-wav.json",
            "Morning-Tone-wav.pcm"
        ]
    );
    let (_, list) = get_json(srv.addr, "/api/files").await;
    assert_eq!(list["files"].as_array().unwrap().len(), 1);

    // MP3 and Ogg/Opus are read too.
    for (name, codec, format) in [
        ("t.mp3", &["-c:a", "libmp3lame"][..], "mp3"),
        ("t.opus", &["-c:a", "libopus", "-f", "ogg"][..], "ogg-opus"),
    ] {
        let (status, _, entry) = put(&srv, name, tone(name, 1, codec), None).await;
        assert_eq!((status, &entry["format"]), (201, &json!(format)), "{entry}");
        let secs = entry["durationSec"].as_f64().unwrap();
        assert!((secs - 1.0).abs() < 0.03, "{name}: {secs} s");
    }

    // Deleted: gone from the list, the disk, and a second DELETE is 404.
    let del = reqwest::Client::new()
        .delete(http(srv.addr, "/api/files/Morning-Tone-wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let del = reqwest::Client::new()
        .delete(http(srv.addr, "/api/files/Morning-Tone-wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404);
    assert!(!on_disk(&srv).iter().any(|f| f.starts_with("Morning")));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let srv = start_server(|c| c.max_upload_bytes = 256 * 1024).await;
    let before = on_disk(&srv);
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        ("..%2Fescape.wav", wav(1), 400, "cannot contain '/'"),
        ("%2Ehidden.wav", wav(1), 400, "cannot start with '.'"),
        (
            "notes.txt",
            b"shopping: milk, eggs".to_vec(),
            415,
            "not an audio file",
        ),
        ("empty.wav", Vec::new(), 400, "empty"),
        ("big.wav", wav(2), 413, "262144"),
    ];
    for (name, body, status, words) in cases {
        let (got, _, reply) = put(&srv, name, body, None).await;
        assert_eq!(got, status, "{name}: {reply}");
        assert!(
            reply["error"]["message"].as_str().unwrap().contains(words),
            "{name}: {reply}"
        );
    }
    // Over the limit without a Content-Length (chunked): cut off as it streams.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![0u8; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (got, _, reply) = put(&srv, "streamed.wav", body, None).await;
    assert_eq!(got, 413, "{reply}");
    // Only the admin uploads.
    let viewer = token(&srv, Scope::View, None);
    assert_eq!(put(&srv, "v.wav", wav(1), Some(&viewer)).await.0, 403);
    assert_eq!(on_disk(&srv), before, "nothing staged is left");
    let (_, list) = get_json(srv.addr, "/api/files").await;
    assert_eq!(list["files"], json!([]));
}

#[tokio::test]
async fn a_slow_upload_may_take_long_but_a_stalled_one_is_cut_off() {
    let srv = start_server(|c| c.body_timeout = Duration::from_millis(800)).await;
    let file = wav(1);
    // 2.4 s in all, never more than 0.2 s without a byte: taken.
    let pieces: Vec<Vec<u8>> = file
        .chunks(file.len() / 12 + 1)
        .map(<[u8]>::to_vec)
        .collect();
    let slow = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
        let piece = rest.next()?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        Some((Ok::<_, std::io::Error>(piece), rest))
    });
    let (status, _, entry) = put(&srv, "slow.wav", reqwest::Body::wrap_stream(slow), None).await;
    assert_eq!(status, 201, "{entry}");
    // Half the file, then nothing for longer than --body-timeout: 408.
    let half = file[..file.len() / 2].to_vec();
    let stalled = futures_util::stream::unfold(0, move |n| {
        let half = half.clone();
        async move {
            match n {
                0 => Some((Ok::<_, std::io::Error>(half), 1)),
                _ => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    None
                }
            }
        }
    });
    let (status, _, reply) = put(
        &srv,
        "stalled.wav",
        reqwest::Body::wrap_stream(stalled),
        None,
    )
    .await;
    assert_eq!(
        (status, &reply["error"]["code"]),
        (408, &json!("body_timeout"))
    );
    let (_, list) = get_json(srv.addr, "/api/files").await;
    assert_eq!(
        list["files"].as_array().unwrap().len(),
        1,
        "the stalled one is not kept"
    );
}

#[tokio::test]
async fn uploads_are_seen_by_the_admin_and_tokens_granted_them() {
    let srv = start_server(|_| {}).await;
    put(&srv, "song.wav", wav(1), None).await;
    let unlimited = token(&srv, Scope::View, None);
    let granted = token(&srv, Scope::View, Some(&["song-wav"]));
    let other = token(&srv, Scope::View, Some(&["kitchen"]));
    let (_, list) = get_as(&srv, "/api/files", &unlimited).await;
    assert_eq!(
        list["files"],
        json!([]),
        "an unlimited view token is no grant"
    );
    assert_eq!(get_as(&srv, "/api/files/song-wav", &unlimited).await.0, 404);
    let (_, list) = get_as(&srv, "/api/files", &granted).await;
    assert_eq!(list["files"][0]["id"], "song-wav");
    assert_eq!(get_as(&srv, "/api/files/song-wav", &granted).await.0, 200);
    assert_eq!(
        get_as(&srv, "/api/files/song-wav", &other).await.0,
        404,
        "not there, for it"
    );
    // Only the admin deletes.
    let del = reqwest::Client::new()
        .delete(format!("http://{}/api/files/song-wav", srv.addr))
        .bearer_auth(&granted)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 403);
}

// ---------------------------------------------------------------------------
// Playing files over WebRTC.

struct Gathered(watch::Sender<bool>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Gathered {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(true);
        }
    }
}

/// A page's peer: the `fileStream` channel, its offer answered by the relay.
struct FilePeer {
    _pc: Box<dyn PeerConnection>,
    dc: Arc<dyn DataChannel>,
}

enum Got {
    Text(Value),
    Chunk(Vec<u8>),
}

impl FilePeer {
    async fn open(srv: &RunningServer, body: Value, bearer: &str) -> Result<Self, (u16, Value)> {
        let (gathered, mut gathered_rx) = watch::channel(false);
        let pc = PeerConnectionBuilder::new()
            .with_setting_engine(
                SettingEngineBuilder::new()
                    .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                    .build(),
            )
            .with_handler(Arc::new(Gathered(gathered)))
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await
            .unwrap();
        let dc = pc.create_data_channel("fileStream", None).await.unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer).await.unwrap();
        tokio::time::timeout(WAIT, gathered_rx.wait_for(|d| *d))
            .await
            .unwrap()
            .unwrap();
        let mut body = body;
        body["offer"] = json!({"type": "offer", "sdp": pc.local_description().await.unwrap().sdp});
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/offer", srv.addr))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let reply: Value = resp.json().await.unwrap();
        if status != 200 {
            return Err((status, reply));
        }
        let answer =
            RTCSessionDescription::answer(reply["answer"]["sdp"].as_str().unwrap().into()).unwrap();
        pc.set_remote_description(answer).await.unwrap();
        Ok(Self {
            _pc: Box::new(pc),
            dc,
        })
    }

    async fn next(&self) -> Got {
        loop {
            let event = tokio::time::timeout(WAIT, self.dc.poll())
                .await
                .expect("the relay sends");
            match event.expect("the channel stays open") {
                DataChannelEvent::OnMessage(m) if m.is_string => {
                    return Got::Text(serde_json::from_slice(&m.data).unwrap())
                }
                DataChannelEvent::OnMessage(m) => return Got::Chunk(m.data.to_vec()),
                _ => {}
            }
        }
    }

    async fn text(&self) -> Value {
        match self.next().await {
            Got::Text(v) => v,
            Got::Chunk(c) => panic!("a chunk of {} bytes where a message was due", c.len()),
        }
    }

    async fn chunk(&self) -> Vec<u8> {
        match self.next().await {
            Got::Chunk(c) => c,
            Got::Text(v) => panic!("{v} where a chunk was due"),
        }
    }

    async fn send(&self, v: Value) {
        self.dc.send_text(&v.to_string()).await.unwrap();
    }

    /// Chunks until `complete`; messages other than `complete` fail.
    async fn rest(&self) -> Vec<u8> {
        let mut got = Vec::new();
        loop {
            match self.next().await {
                Got::Chunk(c) => got.extend_from_slice(&c),
                Got::Text(v) if v["type"] == "complete" => return got,
                Got::Text(v) => panic!("unexpected {v}"),
            }
        }
    }

    /// After `resume`/`seek`: chunks sent before it, then `seeked`; its chunk.
    async fn seeked(&self) -> Value {
        loop {
            match self.next().await {
                Got::Chunk(_) => {}
                Got::Text(v) if v["type"] == "seeked" => return v,
                Got::Text(v) if v["type"] == "complete" => {}
                Got::Text(v) => panic!("unexpected {v}"),
            }
        }
    }
}

fn play(file: &str, mode: &str, client: &str) -> Value {
    json!({"clientId": client, "file": file, "mode": mode})
}

async fn library_server() -> (RunningServer, Vec<u8>) {
    let srv = start_server(|c| c.webrtc_bind = [127, 0, 0, 1].into()).await;
    let file = wav(3);
    assert_eq!(put(&srv, "tone.wav", file.clone(), None).await.0, 201);
    (srv, file)
}

#[tokio::test]
async fn bytes_mode_sends_the_file_byte_for_byte() {
    let (srv, file) = library_server().await;
    let peer = FilePeer::open(
        &srv,
        play("tone-wav", "bytes", "p1"),
        &admin_token(srv.addr),
    )
    .await
    .unwrap();
    let meta = peer.text().await;
    assert_eq!(meta["type"], "metadata");
    assert_eq!(
        (
            &meta["mode"],
            &meta["mime"],
            &meta["chunkSize"],
            &meta["totalSize"],
            &meta["totalChunks"]
        ),
        (
            &json!("bytes"),
            &json!("audio/wav"),
            &json!(65_536),
            &json!(file.len()),
            &json!(file.len().div_ceil(65_536))
        )
    );
    assert_eq!(meta["durationSec"], 3.0);
    assert_eq!(peer.rest().await, file, "byte-identical");
}

#[tokio::test]
async fn pcm_mode_sends_the_decoded_samples_and_resumes_at_the_right_chunk() {
    let (srv, file) = library_server().await;
    let samples = wav_samples(&file);
    let token = admin_token(srv.addr);
    let peer = FilePeer::open(&srv, play("tone-wav", "pcm", "p2"), &token)
        .await
        .unwrap();
    let meta = peer.text().await;
    assert_eq!(
        meta["format"],
        json!({"sampleRate": 44_100, "channels": 2, "encoding": "s16le"})
    );
    assert_eq!(meta["totalSize"], samples.len());
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(peer.chunk().await);
    }
    drop(peer); // the connection drops mid-file

    // A new peer under the same clientId, resuming from the first chunk it lacks.
    let peer = FilePeer::open(&srv, play("tone-wav", "pcm", "p2"), &token)
        .await
        .unwrap();
    assert_eq!(peer.text().await["type"], "metadata");
    peer.send(json!({"type": "resume", "fromChunk": 3})).await;
    let seeked = peer.seeked().await;
    assert_eq!(seeked["chunk"], 3);
    assert_eq!(seeked["seconds"], 3.0 * 65_536.0 / 176_400.0);
    got.extend(peer.rest().await);
    assert_eq!(
        got, samples,
        "the three chunks before and the rest after: every sample once"
    );

    // A seek lands in the chunk that holds the second, also after `complete`.
    peer.send(json!({"type": "seek", "seconds": 2.5})).await;
    let seeked = peer.seeked().await;
    let chunk = seeked["chunk"].as_u64().unwrap() as usize;
    let at = (2.5 * 176_400.0) as usize;
    assert_eq!(chunk, at / 65_536);
    assert_eq!(
        peer.chunk().await,
        samples[chunk * 65_536..(chunk + 1) * 65_536]
    );
    // Bad requests are answered, and the channel goes on.
    peer.send(json!({"type": "resume", "fromChunk": 99})).await;
    let error = loop {
        let v = peer.text_skipping_chunks().await;
        if v["type"] == "error" {
            break v;
        }
    };
    assert!(
        error["message"].as_str().unwrap().contains("past the end"),
        "{error}"
    );
    peer.send(json!({"type": "ping", "t": 7})).await;
    loop {
        let v = peer.text_skipping_chunks().await;
        if v["type"] == "pong" {
            break;
        }
    }
}

impl FilePeer {
    async fn text_skipping_chunks(&self) -> Value {
        loop {
            if let Got::Text(v) = self.next().await {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn file_offers_are_checked_like_every_other_request() {
    let (srv, _) = library_server().await;
    let viewer = token(&srv, Scope::View, None);
    let granted = token(&srv, Scope::View, Some(&["tone-wav"]));
    let (status, reply) = FilePeer::open(&srv, play("tone-wav", "pcm", "v1"), &viewer)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, &reply["error"]["code"]),
        (404, &json!("unknown_file"))
    );
    let (status, _) = FilePeer::open(&srv, play("nope", "pcm", "v2"), &admin_token(srv.addr))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 404);
    let peer = FilePeer::open(&srv, play("tone-wav", "pcm", "v3"), &granted)
        .await
        .unwrap();
    assert_eq!(peer.text().await["file"], "tone-wav");
    // A file plays on its DataChannel only: an audio section is refused.
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/offer", srv.addr))
        .bearer_auth(admin_token(srv.addr))
        .json(&json!({"offer": {"type": "offer", "sdp": AUDIO_OFFER}, "clientId": "v4", "file": "tone-wav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("DataChannel"));
}

#[tokio::test]
async fn audio_recordings_are_files_of_the_library_for_whoever_may_hear_their_source() {
    let srv = start_server(|c| c.webrtc_bind = [127, 0, 0, 1].into()).await;
    post_json(
        srv.addr,
        "/api/recorders",
        json!({"source": "hall", "kind": "audio"}),
    )
    .await;
    let dk = devkit(&srv, "hall").await;
    let mut sent = Vec::new();
    for seq in 1..=60u32 {
        let chunk = pcm(seq);
        dk.send_audio(seq, seq * 320, &chunk).await.unwrap();
        sent.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stop = reqwest::Client::new()
        .delete(http(srv.addr, "/api/recorders/hall"))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 200);

    let hall = token(&srv, Scope::View, Some(&["hall"]));
    let other = token(&srv, Scope::View, Some(&["garage"]));
    let (_, list) = get_as(&srv, "/api/files", &hall).await;
    let rec = &list["files"][0];
    assert_eq!(
        (&rec["origin"], &rec["source"], &rec["format"]),
        (&json!("recording"), &json!("hall"), &json!("wav"))
    );
    assert_eq!(rec["pcmSize"], sent.len());
    let id = rec["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get_as(&srv, &format!("/api/files/{id}"), &hall).await.0,
        200
    );
    let (_, none) = get_as(&srv, "/api/files", &other).await;
    assert_eq!(none["files"], json!([]));
    assert_eq!(
        get_as(&srv, &format!("/api/files/{id}"), &other).await.0,
        404
    );

    // Played over the fileStream channel: its PCM is the recording's samples.
    let peer = FilePeer::open(&srv, play(&id, "pcm", "rec1"), &hall)
        .await
        .unwrap();
    let meta = peer.text().await;
    assert_eq!(
        meta["format"],
        json!({"sampleRate": 16_000, "channels": 1, "encoding": "s16le"})
    );
    assert!(peer.rest().await == sent, "the recorded samples");
    let (status, _) = FilePeer::open(&srv, play(&id, "pcm", "rec2"), &other)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 404);
}
