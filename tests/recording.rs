//! Recording as one more edge: what the hub carried, on disk, read back by
//! ffprobe and ffmpeg, byte for byte; and what a crash leaves behind.

use std::{path::Path, process::Command, time::Duration};

use relaydeck_server::{auth::Scope, RunningServer};
use relaydeck_tests::*;
use serde_json::{json, Value};

async fn start(srv: &RunningServer, source: &str, kind: &str) -> u16 {
    post_json(
        srv.addr,
        "/api/recorders",
        json!({"source": source, "kind": kind}),
    )
    .await
    .0
}

async fn stop(srv: &RunningServer, source: &str) -> u16 {
    reqwest::Client::new()
        .delete(http(srv.addr, &format!("/api/recorders/{source}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn recordings(srv: &RunningServer, query: &str) -> Vec<Value> {
    let (status, body) = get_json(srv.addr, &format!("/api/recordings{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["recordings"].as_array().unwrap().clone()
}

async fn download(srv: &RunningServer, id: &str, to: &Path) -> Vec<u8> {
    let resp = reqwest::get(http(srv.addr, &format!("/api/recordings/{id}")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap().to_vec();
    std::fs::write(to, &bytes).unwrap();
    bytes
}

fn ffprobe(path: &Path, entries: &str) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_entries", entries])
        .arg(path)
        .output()
        .expect("ffprobe runs (installed by .ci/setup)");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The JPEGs of a Matroska file, as ffmpeg demuxes them (no decoding).
fn frames_of(mkv: &Path) -> Vec<Vec<u8>> {
    let dir = mkv.with_extension("frames");
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(mkv)
        .args(["-c", "copy", "-f", "image2"])
        .arg(dir.join("%05d.jpg"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[tokio::test]
async fn a_camera_is_recorded_frame_for_frame_with_its_timestamps() {
    let srv = start_server(|_| {}).await;
    assert_eq!(start(&srv, "porch", "camera").await, 201);
    assert_eq!(
        start(&srv, "porch", "camera").await,
        200,
        "already recording"
    );
    let mut cam = camera(srv.addr, "porch").await;
    let sent: Vec<Vec<u8>> = (0..45).map(|i| noise_jpeg(i, 64, 48)).collect();
    for f in &sent {
        send_frame(&mut cam, f).await;
        tokio::time::sleep(Duration::from_millis(33)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stop(&srv, "porch").await, 200);
    let list = recordings(&srv, "?source=porch").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let seg = &list[0];
    assert_eq!(
        (&seg["kind"], &seg["live"], &seg["frames"]),
        (&json!("camera"), &json!(false), &json!(45))
    );
    let dir = temp_data_dir();
    let file = dir.join("porch.mkv");
    download(&srv, seg["id"].as_str().unwrap(), &file).await;
    let probe = ffprobe(
        &file,
        "stream=codec_name,width,height:format=format_name,duration",
    );
    assert_eq!(probe["streams"][0]["codec_name"], "mjpeg");
    assert_eq!(
        (
            &probe["streams"][0]["width"],
            &probe["streams"][0]["height"]
        ),
        (&json!(64), &json!(48))
    );
    assert!(probe["format"]["format_name"]
        .as_str()
        .unwrap()
        .contains("matroska"));
    // Every frame byte-identical to what the camera sent, in order.
    assert_eq!(frames_of(&file), sent);
    // Their timestamps: increasing, ~33 ms apart, the last at the segment's end.
    let packets = ffprobe(&file, "packet=pts_time");
    let times: Vec<f64> = packets["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pts_time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 45);
    assert!(
        times.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] < 0.2),
        "{times:?}"
    );
    let span_ms = (times[44] - times[0]) * 1000.0;
    assert!(
        (span_ms - seg["durationMs"].as_f64().unwrap()).abs() <= 1.0,
        "{span_ms} vs {seg}"
    );
    // The frame index serves a frame by time without reading the file.
    let resp = reqwest::get(http(
        srv.addr,
        &format!(
            "/api/recordings/{}/frame?t={}",
            seg["id"].as_str().unwrap(),
            (times[10] - times[0]) * 1000.0 + 1.0
        ),
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), sent[10]);
}

#[tokio::test]
async fn an_audio_source_is_recorded_as_its_own_pcm() {
    let srv = start_server(|_| {}).await;
    assert_eq!(start(&srv, "kitchen", "audio").await, 201);
    let dk = devkit(&srv, "kitchen").await;
    let mut sent = Vec::new();
    for seq in 1..=100u32 {
        let chunk = pcm(seq);
        dk.send_audio(seq, seq * 320, &chunk).await.unwrap();
        sent.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stop(&srv, "kitchen").await, 200);
    let list = recordings(&srv, "").await;
    let seg = list.iter().find(|s| s["source"] == "kitchen").unwrap();
    let file = temp_data_dir().join("kitchen.wav");
    let bytes = download(&srv, seg["id"].as_str().unwrap(), &file).await;
    assert_eq!(bytes.len() - 44, sent.len(), "every chunk");
    assert!(bytes[44..] == sent[..], "byte-identical PCM");
    let probe = ffprobe(
        &file,
        "stream=codec_name,sample_rate,channels:format=duration",
    );
    assert_eq!(probe["streams"][0]["codec_name"], "pcm_s16le");
    assert_eq!(probe["streams"][0]["sample_rate"], "16000");
    let secs: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((secs - 2.0).abs() < 0.02, "{secs} s");
    assert_eq!(seg["durationMs"], 2000);
    let id = seg["id"].as_str().unwrap();
    // A media element seeks with Range; a clip by time is a WAV of its own.
    let part = reqwest::Client::new()
        .get(http(srv.addr, &format!("/api/recordings/{id}")))
        .header("range", "bytes=44-1043")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 44-1043/{}", bytes.len()).as_str()
    );
    assert!(part.bytes().await.unwrap()[..] == sent[..1000]);
    let clip = reqwest::get(http(
        srv.addr,
        &format!("/api/recordings/{id}?from=500&to=1500"),
    ))
    .await
    .unwrap();
    assert_eq!(clip.status(), 200);
    let clip = clip.bytes().await.unwrap().to_vec();
    assert!(clip[44..] == sent[16_000..48_000], "the second from 0.5 s");
    let file = temp_data_dir().join("clip.wav");
    std::fs::write(&file, &clip).unwrap();
    let probe = ffprobe(&file, "format=duration");
    assert_eq!(probe["format"]["duration"], "1.000000");
    assert_eq!(
        get_json(srv.addr, &format!("/api/recordings/{id}?from=9&to=3"))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn what_a_crash_leaves_is_playable_and_found_again() {
    let srv = start_server(|_| {}).await;
    start(&srv, "yard", "camera").await;
    start(&srv, "yard", "audio").await;
    let mut cam = camera(srv.addr, "yard").await;
    let dk = devkit(&srv, "yard").await;
    for i in 0..60u32 {
        send_frame(&mut cam, &noise_jpeg(i, 32, 32)).await;
        dk.send_audio(i + 1, (i + 1) * 320, &pcm(i + 1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // What `kill -9` leaves: the files exactly as they are on disk now, mid-segment.
    let record_dir = srv.state.config.record_dir().join("yard");
    let crashed = temp_data_dir().join("recordings");
    std::fs::create_dir_all(crashed.join("yard")).unwrap();
    for f in std::fs::read_dir(&record_dir).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, crashed.join("yard").join(f.file_name().unwrap())).unwrap();
    }
    // The relay that starts on them lists both segments and repairs the WAV's header.
    let again = start_server(|c| c.record_dir = Some(crashed.clone())).await;
    let list = recordings(&again, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    for seg in &list {
        let file = temp_data_dir().join(format!(
            "seg.{}",
            if seg["kind"] == "camera" {
                "mkv"
            } else {
                "wav"
            }
        ));
        download(&again, seg["id"].as_str().unwrap(), &file).await;
        let probe = ffprobe(&file, "format=duration");
        let secs: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // 60 × 25 ms were sent; at most the last second may be missing.
        assert!(secs > 0.4, "{}: {secs} s", seg["kind"]);
        assert!(seg["durationMs"].as_u64().unwrap() + 1100 >= 1500, "{seg}");
    }
    stop(&srv, "yard").await;
}

#[tokio::test]
async fn recordings_are_seen_as_their_sources_are_and_segments_rotate() {
    let srv = start_server(|c| c.record_segment = Duration::from_millis(700)).await;
    start(&srv, "front", "camera").await;
    let mut cam = camera(srv.addr, "front").await;
    for i in 0..50 {
        send_frame(&mut cam, &noise_jpeg(i, 32, 32)).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    stop(&srv, "front").await;
    let list = recordings(&srv, "?source=front").await;
    assert!(list.len() >= 2, "rotated after 0.7 s: {}", list.len());
    let frames: u64 = list.iter().map(|s| s["frames"].as_u64().unwrap()).sum();
    assert_eq!(frames, 50, "no frame lost at a rotation");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    // A range across the first rotation, as one file: the frames of both
    // segments in it, each once, in order, as the camera sent them.
    let join = list[1]["startMs"].as_u64().unwrap();
    let (from, to) = (join - 300, join + 300);
    let resp = reqwest::get(http(
        srv.addr,
        &format!("/api/recordings/clip?source=front&kind=camera&from={from}&to={to}"),
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "video/x-matroska");
    let clip_start: u64 = resp.headers()["x-clip-start-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        clip_start >= from && clip_start < from + 100,
        "{clip_start}"
    );
    let file = temp_data_dir().join("front-clip.mkv");
    std::fs::write(&file, resp.bytes().await.unwrap()).unwrap();
    let clip = frames_of(&file);
    let sent: Vec<Vec<u8>> = (0..50).map(|i| noise_jpeg(i, 32, 32)).collect();
    let first = sent
        .iter()
        .position(|f| *f == clip[0])
        .expect("a frame the camera sent");
    assert_eq!(
        clip,
        sent[first..first + clip.len()],
        "both sides of the join, in order"
    );
    assert!(
        (12..=16).contains(&clip.len()),
        "600 ms at 25 fps: {}",
        clip.len()
    );
    let probe = ffprobe(&file, "format=duration");
    let secs: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.45..=0.65).contains(&secs), "{secs} s");
    for bad in [
        "kind=camera&from=5&to=1".to_owned(),
        "kind=video&from=1&to=5".to_owned(),
        "kind=camera&from=1".to_owned(),
        format!("kind=camera&from=0&to={}", 25 * 3600 * 1000),
    ] {
        let status = get_json(
            srv.addr,
            &format!("/api/recordings/clip?source=front&{bad}"),
        )
        .await
        .0;
        assert_eq!(status, 400, "{bad}");
    }
    let nothing = "/api/recordings/clip?source=front&kind=camera&from=1&to=2";
    assert_eq!(get_json(srv.addr, nothing).await.0, 404);
    assert_eq!(
        get_json(srv.addr, "/api/recordings/clip?kind=camera&from=1&to=2")
            .await
            .0,
        400
    );

    let tok = |ids: &[&str]| {
        srv.state
            .auth
            .create_token(
                "t",
                Scope::View,
                Some(ids.iter().map(|s| s.to_string()).collect()),
                None,
            )
            .unwrap()
            .1
    };
    let as_token = |t: String, path: String| async move {
        let resp = reqwest::Client::new()
            .get(format!("http://{}{path}", srv.addr))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, body) = as_token(tok(&["back"]), "/api/recordings".into()).await;
    assert_eq!(
        (status, body["total"].as_u64()),
        (200, Some(0)),
        "another camera's token sees none"
    );
    assert_eq!(
        as_token(tok(&["back"]), format!("/api/recordings/{id}"))
            .await
            .0,
        403
    );
    assert_eq!(
        as_token(tok(&["back"]), "/api/recordings?source=front".into())
            .await
            .0,
        403
    );
    let (status, body) = as_token(tok(&["front"]), "/api/recordings".into()).await;
    assert_eq!(
        (status, body["total"].as_u64()),
        (200, Some(list.len() as u64))
    );
    // Paging, and a time range that misses everything.
    let (_, page) = get_json(srv.addr, "/api/recordings?limit=1&offset=1").await;
    assert_eq!(page["recordings"].as_array().unwrap().len(), 1);
    assert_eq!(page["recordings"][0]["id"], list[1]["id"]);
    let (_, none) = get_json(srv.addr, "/api/recordings?from=1&to=2").await;
    assert_eq!(none["total"], 0);
    assert_eq!(
        get_json(srv.addr, "/api/recordings?limit=many").await.0,
        400
    );
    // Only the admin deletes; then it is gone.
    let del = reqwest::Client::new()
        .delete(http(srv.addr, &format!("/api/recordings/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    assert_eq!(
        get_json(srv.addr, &format!("/api/recordings/{id}")).await.0,
        404
    );
}

#[tokio::test]
async fn under_the_disk_reserve_recording_waits_and_live_streaming_goes_on() {
    // A reserve larger than any disk: recording can never start.
    let srv = start_server(|c| c.record_reserve = usize::MAX / 2).await;
    start(&srv, "cam", "camera").await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=cam").await;
    for i in 0..5 {
        send_frame(&mut cam, &jpeg(i, 16, 16)).await;
    }
    let _ = next_binary(&mut viewer).await; // live frames still flow
    let (_, rec) = get_json(srv.addr, "/api/recorders").await;
    assert_eq!(rec["recorders"][0]["state"], "disk_full", "{rec}");
    assert!(rec["recorders"][0]["message"]
        .as_str()
        .unwrap()
        .contains("reserve"));
    assert!(recordings(&srv, "").await.is_empty());
    assert_eq!(
        post_json(
            srv.addr,
            "/api/recorders",
            json!({"source": "cam", "kind": "video"})
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn a_rule_records_until_it_is_taken_away_and_bad_rules_are_refused() {
    let srv = start_server(|_| {}).await;
    let put = |body: Value| async move {
        let resp = reqwest::Client::new()
            .put(http(srv.addr, "/api/settings"))
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, reply) =
        put(json!({"recordRules": [{"source": "gate", "kind": "camera", "mode": "always"}]})).await;
    assert_eq!(status, 200, "{reply}");
    let active = || async {
        let (_, rec) = get_json(srv.addr, "/api/recorders").await;
        rec["recorders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["source"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let t0 = std::time::Instant::now();
    while active().await != ["gate"] {
        assert!(t0.elapsed() < WAIT, "the rule starts a recorder");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A recorder started through the API is not the rules' to stop.
    start(&srv, "porch", "audio").await;
    assert_eq!(put(json!({"recordRules": []})).await.0, 200);
    let t0 = std::time::Instant::now();
    while active().await != ["porch"] {
        assert!(
            t0.elapsed() < WAIT,
            "the rule's recorder stops, the API's stays"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (bad, words) in [
        (
            json!([{"source": "a b", "kind": "camera", "mode": "always"}]),
            "source",
        ),
        (
            json!([{"source": "a", "kind": "video", "mode": "always"}]),
            "kind",
        ),
        (
            json!([{"source": "a", "kind": "camera", "mode": "schedule"}]),
            "at least one span",
        ),
        (
            json!([{"source": "a", "kind": "camera", "mode": "schedule", "schedule": [{"days": [8], "start": "08:00", "end": "09:00"}]}]),
            "days",
        ),
        (
            json!([{"source": "a", "kind": "camera", "mode": "schedule", "schedule": [{"days": [1], "start": "8am", "end": "09:00"}]}]),
            "not a time",
        ),
        (
            json!([{"source": "a", "kind": "camera", "mode": "always"}, {"source": "a", "kind": "camera", "mode": "always"}]),
            "two rules",
        ),
    ] {
        let (status, reply) = put(json!({"recordRules": bad})).await;
        assert_eq!(status, 400, "{bad}: {reply}");
        assert!(
            reply.to_string().contains(words),
            "{reply} should say {words}"
        );
    }
    assert_eq!(put(json!({"recordMaxDiskPercent": 0})).await.0, 400);
}

/// A tmpfs of `mb` MiB mounted for one test (the tests run as root: `.ci/run`), unmounted after.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(mb: u32) -> Self {
        let dir = temp_data_dir().join("small-disk");
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs needs root, as the CI runs"
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_disk_stops_recording_with_an_alert_and_recording_resumes_when_space_returns() {
    let disk = SmallDisk::mount(6);
    let srv = start_server(|c| {
        c.record_dir = Some(disk.0.join("rec"));
        c.record_reserve = 2 << 20;
        c.record_segment_bytes = 1 << 20;
    })
    .await;
    // Retention stays out of it: recordings may fill 95 % of this disk.
    let put = reqwest::Client::new()
        .put(http(srv.addr, "/api/settings"))
        .header("content-type", "application/json")
        .body(json!({"recordMaxDiskPercent": 95}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    start(&srv, "big", "camera").await;
    let mut cam = camera(srv.addr, "big").await;
    let mut viewer = connect(srv.addr, "/stream/ws?clientId=big").await;
    let state = || async {
        let (_, rec) = get_json(srv.addr, "/api/recorders").await;
        rec["recorders"][0]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let mut n = 0;
    let t0 = std::time::Instant::now();
    while state().await != "disk_full" {
        assert!(t0.elapsed() < Duration::from_secs(30), "the disk fills");
        send_frame(&mut cam, &noise_jpeg(n, 320, 240)).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Live streaming and the settings go on.
    send_frame(&mut cam, &noise_jpeg(n, 320, 240)).await;
    let _ = next_binary(&mut viewer).await;
    let (status, _) = get_json(srv.addr, "/api/settings").await;
    assert_eq!(status, 200);
    let (_, rec) = get_json(srv.addr, "/api/recorders").await;
    assert!(rec["freeBytes"].as_u64().unwrap() < 2 << 20, "{rec}");
    // Space returns: every finished recording deleted; the recorder starts a new segment.
    for seg in recordings(&srv, "").await {
        if seg["live"] == false {
            let id = seg["id"].as_str().unwrap();
            let del = reqwest::Client::new()
                .delete(http(srv.addr, &format!("/api/recordings/{id}")))
                .send()
                .await
                .unwrap();
            assert_eq!(del.status(), 200);
        }
    }
    let t0 = std::time::Instant::now();
    while state().await != "recording" {
        assert!(t0.elapsed() < Duration::from_secs(10), "recording resumes");
        n += 1;
        send_frame(&mut cam, &noise_jpeg(n, 320, 240)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(&srv, "big").await;
    let after = recordings(&srv, "").await;
    assert!(!after.is_empty() && after.iter().all(|s| s["live"] == false));
}

#[tokio::test]
async fn a_camera_and_its_audio_source_are_one_file_with_both_tracks_in_sync() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "phone").await;
    let dk = devkit(&srv, "phone").await;
    // The audio is on the air before the segment opens, so it is linked.
    dk.send_audio(1, 320, &pcm(1)).await.unwrap();
    eventually(|| srv.hub().audio_source("phone").and_then(|s| s.format())).await;
    start(&srv, "phone", "camera").await;
    let mut seq = 2u32;
    for i in 0..40u32 {
        // Each 40 ms: a frame and the 40 ms of audio that go with it, at once.
        send_frame(&mut cam, &noise_jpeg(i, 32, 32)).await;
        for _ in 0..2 {
            dk.send_audio(seq, seq * 320, &pcm(seq)).await.unwrap();
            seq += 1;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop(&srv, "phone").await;
    let seg = &recordings(&srv, "?source=phone").await[0];
    let file = temp_data_dir().join("phone.mkv");
    download(&srv, seg["id"].as_str().unwrap(), &file).await;
    let probe = ffprobe(&file, "stream=codec_type,codec_name,sample_rate");
    let streams: Vec<(String, String)> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap().into(),
                s["codec_name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        streams,
        [
            ("video".into(), "mjpeg".into()),
            ("audio".into(), "pcm_s16le".into())
        ]
    );
    // In sync: each frame's audio is within 40 ms of it.
    let packets = ffprobe(&file, "packet=stream_index,pts_time");
    let times = |index: u64| -> Vec<f64> {
        packets["packets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["stream_index"] == index)
            .map(|p| p["pts_time"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let video = times(0);
    assert_eq!(video.len(), 40);
    // Each audio block says which chunk it is (pcm(seq): every sample is seq × 7 + 1000),
    // so which frame it was sent with: chunks 2k + 2 and 2k + 3 go with frame k.
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_packets",
            "-show_data",
            "-of",
            "json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let audio: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut checked = 0;
    for p in audio["packets"].as_array().unwrap() {
        let at: f64 = p["pts_time"].as_str().unwrap().parse().unwrap();
        let hex = p["data"]
            .as_str()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        let sample = i16::from_le_bytes([
            u8::from_str_radix(&hex[0..2], 16).unwrap(),
            u8::from_str_radix(&hex[2..4], 16).unwrap(),
        ]);
        let seq = (i32::from(sample) - 1000) / 7;
        if seq < 2 {
            continue; // sent before the recording began
        }
        let frame = ((seq - 2) / 2) as usize;
        let v = video[frame];
        assert!(
            (at - v).abs() < 0.040,
            "chunk {seq} at {at} s, its frame {frame} at {v} s"
        );
        checked += 1;
    }
    assert!(checked >= 78, "{checked} audio blocks checked");
    // A clip of the middle second keeps both tracks.
    let start = seg["startMs"].as_u64().unwrap();
    let resp = reqwest::get(http(
        srv.addr,
        &format!(
            "/api/recordings/clip?source=phone&kind=camera&from={}&to={}",
            start + 400,
            start + 1200
        ),
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let clip = temp_data_dir().join("phone-clip.mkv");
    std::fs::write(&clip, resp.bytes().await.unwrap()).unwrap();
    let probe = ffprobe(&clip, "stream=codec_type:format=duration");
    let kinds: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["video", "audio"]);
    let secs: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.7..=0.85).contains(&secs), "{secs} s");
    // A view token for another source cuts nothing of this one.
    let (_, other) = srv
        .state
        .auth
        .create_token(
            "t",
            relaydeck_server::auth::Scope::View,
            Some(["door".to_string()].into()),
            None,
        )
        .unwrap();
    let refused = reqwest::Client::new()
        .get(format!(
            "http://{}/api/recordings/clip?source=phone&kind=camera&from={start}&to={}",
            srv.addr,
            start + 1000
        ))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

/// A 320×240 grey yard; from frame 30 to 49 a white 64 px square moves
/// through it (32 px a frame, back and forth), never in its left 30 %.
fn yard(i: usize) -> Vec<u8> {
    let (w, h) = (320, 240);
    let mut rgb = vec![90u8; w * h * 3];
    let at = if (30..50).contains(&i) {
        128 + ((i - 30) % 4) * 32
    } else if i >= 50 {
        128 + (19 % 4) * 32 // where the square stopped
    } else {
        128
    };
    for y in 88..152 {
        for x in at..at + 64 {
            rgb[(y * w + x) * 3..][..3].copy_from_slice(&[240, 240, 240]);
        }
    }
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 85, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

async fn recorder_state(srv: &RunningServer, source: &str) -> Value {
    let (_, body) = get_json(srv.addr, "/api/recorders").await;
    body["recorders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn on_motion_only_the_moving_interval_is_kept_with_its_pre_and_post_roll() {
    let srv = start_server(|_| {}).await;
    let motion = json!({"sensitivity": 50, "preRollSec": 1, "postRollSec": 1});
    for (source, zones) in [
        ("yard", json!([])),
        ("yard-left", json!([{"x": 0, "y": 0, "w": 30, "h": 100}])),
    ] {
        let mut m = motion.clone();
        m["zones"] = zones;
        let (status, body) = post_json(
            srv.addr,
            "/api/recorders",
            json!({"source": source, "kind": "camera", "motion": m}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    // The same source in another mode is a conflict, not a silent restart.
    let (status, body) = post_json(
        srv.addr,
        "/api/recorders",
        json!({"source": "yard", "kind": "camera"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = post_json(
        srv.addr,
        "/api/recorders",
        json!({"source": "mic", "kind": "audio", "motion": motion}),
    )
    .await;
    assert_eq!(status, 400, "motion on audio");
    let mut cams = [
        camera(srv.addr, "yard").await,
        camera(srv.addr, "yard-left").await,
    ];
    let sent: Vec<Vec<u8>> = (0..80).map(yard).collect();
    let mut sent_at = Vec::new();
    for (i, f) in sent.iter().enumerate() {
        for cam in cams.iter_mut() {
            send_frame(cam, f).await;
        }
        sent_at.push(std::time::Instant::now());
        if i == 20 {
            let r = recorder_state(&srv, "yard").await;
            assert_eq!(
                (&r["state"], &r["mode"]),
                (&json!("watching"), &json!("motion")),
                "{r}"
            );
            assert!(
                recordings(&srv, "?source=yard").await.is_empty(),
                "nothing moved yet"
            );
        }
        if i == 40 {
            assert_eq!(recorder_state(&srv, "yard").await["state"], "recording");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The post-roll ran out at frame ~60: the segment is closed, the event over.
    let list = recordings(&srv, "?source=yard").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["live"], false, "{list:?}");
    assert_eq!(recorder_state(&srv, "yard").await["state"], "watching");
    let seg = &list[0];
    assert_eq!(seg["motion"], true);
    let dir = temp_data_dir();
    let file = dir.join("yard.mkv");
    download(&srv, seg["id"].as_str().unwrap(), &file).await;
    let frames = frames_of(&file);
    // One stretch of what the camera sent, byte for byte: from the first
    // frame within 1 s before the motion (frame 31 is the first to differ)
    // to the last within 1 s after it (frame 49 is the last), a frame of
    // slack at each end for the sender's timing.
    // (The still frames are alike, so the moving ones place the stretch.)
    let within = |a: usize, b: usize| sent_at[b] - sent_at[a] <= Duration::from_secs(1);
    let want_first = (0..31).find(|&i| within(i, 31)).unwrap();
    let want_last = (49..80).rev().find(|&i| within(49, i)).unwrap();
    let first = (0..sent.len())
        .find(|i| sent[*i..].starts_with(&frames))
        .expect("the frames as sent, in order");
    assert!(
        first.abs_diff(want_first) <= 1,
        "the recording starts at frame {first}, not {want_first}"
    );
    let last = first + frames.len() - 1;
    assert!(
        last.abs_diff(want_last) <= 1,
        "the recording ends at frame {last}, not {want_last}"
    );
    // One motion event, from the first moving frame to the last, with a thumbnail.
    let (_, events) = get_json(srv.addr, "/api/motion?source=yard").await;
    let events = events["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = &events[0];
    let lasted = ev["endMs"].as_u64().unwrap() - ev["startMs"].as_u64().unwrap();
    assert!(
        (1_700..=2_100).contains(&lasted),
        "the square moved for 1.9 s: {ev}"
    );
    assert!(
        ev["peak"].as_f64().unwrap() > 0.03 && ev["live"] == false,
        "{ev}"
    );
    let thumb = reqwest::get(http(srv.addr, ev["thumbnail"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let head = turbojpeg::read_header(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((head.width, head.height), (320, 240));
    assert!(recordings(&srv, "?source=yard&motion=false")
        .await
        .is_empty());
    // The camera watched only where nothing moved: nothing kept.
    let (_, left) = get_json(srv.addr, "/api/motion?source=yard-left").await;
    assert_eq!(left["total"], 0, "{left}");
    assert!(recordings(&srv, "?source=yard-left").await.is_empty());
    assert_eq!(
        get_json(srv.addr, "/api/recordings?motion=maybe").await.0,
        400
    );
}
