//! The host microphone through real cpal, with no sound card: ALSA's `file`
//! plugin plays a known tone file as the default capture device (the recipe
//! in docs/BENCHMARKS.md's neighbour, ../shared/RECIPES.md). The test hears
//! that tone at an `/audio/ws` listener — device to listener — and sees the
//! device closed again once the listener leaves.

use std::{path::PathBuf, process::Command, time::Duration};

use relaydeck_capture::mic::{MicCapture, MicCaptureConfig};
use relaydeck_tests::*;
use serde_json::Value;

/// Writes a 60 s tone (longer than the test: the file plugin returns stale
/// data after its end) and an ALSA configuration whose default capture
/// device reads it; points this process's ALSA at it.
fn file_backed_microphone(hz: u32) -> PathBuf {
    let dir = temp_data_dir();
    let raw = dir.join("tone.raw");
    let status = Command::new("sox")
        .args([
            "-n",
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
        ])
        .arg(&raw)
        .args(["synth", "60", "sine", &hz.to_string(), "vol", "0.5"])
        .status()
        .expect("sox makes the tone file");
    assert!(status.success());
    let conf = dir.join("asoundrc");
    std::fs::write(
        &conf,
        format!(
            r#"pcm.testmic_raw {{ type file; slave.pcm "null"; file "/dev/null"; infile "{}"; format "raw" }}
pcm.testmic {{ type plug; slave {{ pcm "testmic_raw"; format S16_LE; rate 48000; channels 1 }} hint {{ show on; description "Test mic (file)" }} }}
pcm.!default testmic
"#,
            raw.display()
        ),
    )
    .unwrap();
    // SAFETY: set before any ALSA call, in a test binary with this one test
    // of ALSA; nothing reads the environment concurrently.
    unsafe {
        std::env::set_var(
            "ALSA_CONFIG_PATH",
            format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
        )
    };
    dir
}

/// Goertzel power of `hz` in 16 kHz mono s16le.
fn power(pcm: &[u8], hz: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 16_000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for b in pcm.chunks_exact(2) {
        let x = i16::from_le_bytes([b[0], b[1]]) as f64 / 32768.0;
        let s = x + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let end = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_microphone_is_heard_at_a_listener_and_closed_when_it_leaves() {
    file_backed_microphone(440);
    let srv = start_server(|_| {}).await;
    let mut config = MicCaptureConfig::new("default", 16_000, 1);
    config.linger = Duration::from_millis(300);
    let mic = MicCapture::start(srv.hub(), config).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !mic.is_open(),
        "private by default: closed while nobody listens"
    );

    let mut ws = connect(srv.addr, "/audio/ws?source=mic&backlogMs=0").await;
    let format = next_json_of(&mut ws, "format").await;
    assert_eq!(
        (format["sampleRate"].as_u64(), format["channels"].as_u64()),
        (Some(16_000), Some(1))
    );
    let pcm = read_pcm(&mut ws, 16_000).await; // 0.5 s
    assert!(mic.is_open());
    let (tone, other) = (power(&pcm, 440.0), power(&pcm, 1000.0));
    assert!(
        tone > 100.0 * other,
        "440 Hz is heard: {tone:.1} vs {other:.3} at 1 kHz"
    );
    let (_, sources) = get_json(srv.addr, "/api/sources").await;
    let entry = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "mic")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(entry["availability"]["state"], "live");

    drop(ws);
    let mic_ref = &mic;
    wait_until("the device to close after the listener left", || {
        !mic_ref.is_open()
    })
    .await;
    let (_, sources) = get_json(srv.addr, "/api/sources").await;
    let entry = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "mic")
        .cloned()
        .unwrap();
    assert_eq!(entry["availability"]["state"], "standby");
    drop(mic);

    // A device that does not exist: a clear error, and the edge keeps trying.
    let mut config = MicCaptureConfig::new("No Such Microphone", 16_000, 1);
    config.always_on = true;
    let missing = MicCapture::start(srv.hub(), config).unwrap();
    let src = missing.source().clone();
    wait_until("the error", || {
        matches!(
            src.availability(),
            relaydeck_hub::Availability::Unavailable(_)
        )
    })
    .await;
    let (_, sources) = get_json(srv.addr, "/api/sources").await;
    let entry = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "mic")
        .cloned()
        .unwrap();
    assert_eq!(
        entry["availability"]["message"],
        "microphone \"No Such Microphone\" not found"
    );
}
