//! The library against real files, made by ffmpeg's encoders.

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use relaydeck_contract::api::{AudioFile, FileOrigin, Scope};

use super::{
    decode::{decode, Container, DecodeError},
    visible, FileLibrary,
};
use crate::auth::Principal;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relaydeck-library-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One second of a 440 Hz tone at 44.1 kHz stereo, encoded by ffmpeg.
fn tone(dir: &std::path::Path, file: &str, codec: &[&str]) -> PathBuf {
    let out = dir.join(file);
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:sample_rate=44100:duration=1")
        .args(["-ac", "2"])
        .args(codec)
        .arg(&out)
        .status()
        .expect("ffmpeg runs (installed by .ci/setup)");
    assert!(status.success(), "ffmpeg made {file}");
    out
}

/// The tone's pitch from the left channel's rising zero crossings.
fn pitch(pcm: &[u8], rate: u32, channels: u16) -> f64 {
    let left: Vec<i16> = pcm
        .chunks_exact(2 * channels as usize)
        .map(|f| i16::from_le_bytes([f[0], f[1]]))
        .collect();
    let rising = left.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    rising as f64 * f64::from(rate) / left.len() as f64
}

#[test]
fn every_format_decodes_to_the_tone_it_holds() {
    let dir = scratch("formats");
    let cases: [(&str, &[&str], &str, u32, u64); 5] = [
        ("t.wav", &["-c:a", "pcm_s16le"], "wav", 44_100, 0),
        ("t.flac", &["-c:a", "flac"], "flac", 44_100, 0),
        (
            "t.mp3",
            &["-c:a", "libmp3lame", "-b:a", "128k"],
            "mp3",
            44_100,
            1_200,
        ),
        (
            "t.opus.ogg",
            &["-c:a", "libopus", "-b:a", "96k"],
            "ogg-opus",
            48_000,
            0,
        ),
        // symphonia 0.5 does not trim the start of an Ogg/Vorbis stream:
        // its first block's overlap (~ 500 frames) stays.
        (
            "t.vorbis.ogg",
            &["-c:a", "libvorbis"],
            "ogg-vorbis",
            44_100,
            1_024,
        ),
    ];
    for (file, codec, format, rate, slack) in cases {
        let path = tone(&dir, file, codec);
        let mut pcm = Vec::new();
        let got = decode(&path, &mut pcm, 1 << 30).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (got.format, got.sample_rate, got.channels),
            (format, rate, 2),
            "{file}"
        );
        assert_eq!(got.pcm_bytes(), pcm.len() as u64, "{file}");
        // Gapless: one second exactly (MP3 and Vorbis within a frame).
        let expected = u64::from(rate);
        assert!(
            got.frames.abs_diff(expected) <= slack,
            "{file}: {} frames, expected {expected}",
            got.frames
        );
        let hz = pitch(&pcm, rate, 2);
        assert!((hz - 440.0).abs() < 3.0, "{file}: {hz} Hz");
        assert_eq!(got.skipped, 0, "{file}");
    }
}

#[test]
fn what_is_not_audio_says_so() {
    let dir = scratch("bad");
    let garbage = dir.join("x.bin");
    std::fs::write(&garbage, b"this is a text file, not a song\n").unwrap();
    assert!(matches!(
        decode(&garbage, &mut Vec::new(), 1 << 20),
        Err(DecodeError::Unknown)
    ));
    // A FLAC cut after its signature, and a WAV with a header and no samples.
    let cut = dir.join("cut.flac");
    std::fs::write(&cut, b"fLaC\0\0").unwrap();
    assert!(matches!(
        decode(&cut, &mut Vec::new(), 1 << 20),
        Err(DecodeError::Malformed("flac", _))
    ));
    let wav = tone(&dir, "empty.wav", &["-c:a", "pcm_s16le", "-t", "0"]);
    let e = decode(&wav, &mut Vec::new(), 1 << 20).unwrap_err();
    assert!(matches!(e, DecodeError::Empty("wav")), "{e}");
    // The PCM cap: one second of stereo s16 is 176 400 bytes.
    let ok = tone(&dir, "cap.wav", &["-c:a", "pcm_s16le"]);
    assert!(matches!(
        decode(&ok, &mut Vec::new(), 100_000),
        Err(DecodeError::TooLong(100_000))
    ));
    assert_eq!(
        Container::sniff(&std::fs::read(&ok).unwrap()[..12]),
        Some(Container::Wav)
    );
}

fn entry(id: &str, mime: &str, size: u64, pcm_size: u64, added_ms: u64) -> AudioFile {
    AudioFile {
        id: id.into(),
        name: id.into(),
        origin: FileOrigin::Upload,
        source: None,
        format: "wav".into(),
        mime: mime.into(),
        size,
        sample_rate: 8000,
        channels: 1,
        duration_sec: 0.5,
        pcm_size,
        added_ms,
    }
}

fn upload(lib: &FileLibrary, file: AudioFile, original: &[u8], pcm: &[u8]) -> bool {
    let staged = lib.stage();
    std::fs::write(&staged.original, original).unwrap();
    std::fs::write(&staged.pcm, pcm).unwrap();
    lib.commit(&staged, file).unwrap()
}

#[test]
fn the_library_keeps_finished_files_only_and_survives_a_restart() {
    let dir = scratch("store");
    let lib = FileLibrary::open(&dir).unwrap();
    assert!(!upload(
        &lib,
        entry("a", "audio/wav", 3, 2, 1),
        b"abc",
        b"xy"
    ));
    assert!(!upload(&lib, entry("b", "audio/wav", 1, 2, 2), b"b", b"pq"));
    // Replacing "a" with an MP3: the WAV original goes.
    assert!(upload(
        &lib,
        entry("a", "audio/mpeg", 2, 4, 3),
        b"mp",
        b"1234"
    ));
    assert!(!dir.join("a.wav").exists());
    assert_eq!(std::fs::read(dir.join("a.mp3")).unwrap(), b"mp");
    // An upload that never finished, and an entry whose file was truncated.
    let stale = lib.stage();
    std::fs::write(&stale.original, b"half").unwrap();
    std::fs::write(dir.join("b.pcm"), b"p").unwrap();
    drop(lib);

    let lib = FileLibrary::open(&dir).unwrap();
    let ids: Vec<String> = lib.list().into_iter().map(|f| f.id).collect();
    assert_eq!(ids, ["a"], "b's PCM is not the size recorded: not listed");
    assert!(!stale.original.exists(), "staging leftovers are removed");
    assert_eq!(lib.get("a").unwrap().mime, "audio/mpeg");
    let removed = lib.remove("a").unwrap().unwrap();
    assert_eq!(removed.id, "a");
    assert!(lib.remove("a").unwrap().is_none());
    assert!(
        !dir.join("a.mp3").exists() && !dir.join("a.pcm").exists() && !dir.join("a.json").exists()
    );
    assert!(FileLibrary::open(&dir).unwrap().list().is_empty());
}

#[test]
fn uploads_are_private_until_granted_and_recordings_follow_their_source() {
    let token = |scope, ids: Option<&[&str]>| Principal::Token {
        id: "t".into(),
        scope,
        ids: ids.map(|ids| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()),
    };
    let song = entry("song", "audio/wav", 1, 2, 1);
    let mut rec = entry("kitchen-rec", "audio/wav", 1, 2, 1);
    rec.origin = FileOrigin::Recording;
    rec.source = Some("kitchen".into());

    assert!(visible(&Principal::Admin, &song));
    assert!(visible(&token(Scope::View, Some(&["song"])), &song));
    assert!(
        !visible(&token(Scope::View, None), &song),
        "an unlimited view token is not a grant"
    );
    assert!(!visible(&token(Scope::View, Some(&["other"])), &song));
    assert!(!visible(&token(Scope::Publish, Some(&["song"])), &song));

    assert!(visible(&token(Scope::View, None), &rec));
    assert!(visible(&token(Scope::View, Some(&["kitchen"])), &rec));
    assert!(!visible(&token(Scope::View, Some(&["garage"])), &rec));
}
