//! Entry points for the fuzz targets (`src-tauri/fuzz`) and for replaying
//! their regression inputs in CI: each feeds arbitrary bytes to one parser
//! that reads from the network and checks what must always hold.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::edges::{
    control,
    devkit::{
        framing::FrameReader,
        reorder::{Output, Packet, Reorderer},
        udp,
    },
};

/// The devkit TCP codec on an arbitrary byte stream, read in 7-byte pieces.
pub fn devkit_frames(data: &[u8]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let (mut tx, rx) = tokio::io::duplex(7);
        let input = data.to_vec();
        let writer = async move {
            let _ = tokio::io::AsyncWriteExt::write_all(&mut tx, &input).await;
        };
        let reader = async move {
            let mut r = FrameReader::new(rx);
            let mut n = 0;
            while let Ok(frame) = r.next().await {
                assert!(!frame.is_empty() && frame.len() <= 65_536);
                n += 1;
                assert!(
                    n <= data.len() / 5 + 1,
                    "more frames than the input can hold"
                );
            }
        };
        tokio::join!(writer, reader);
    });
}

pub fn udp_datagram(data: &[u8]) {
    if let Ok(d) = udp::parse(data) {
        assert_eq!(d.pcm.len() + 12, data.len());
    }
}

pub fn jpeg_inspect(data: &[u8]) {
    if let Ok(info) = relaydeck_hub::jpeg::inspect(data) {
        let _ = info;
        assert!(data.starts_with(&[0xFF, 0xD8]) && data.ends_with(&[0xFF, 0xD9]));
    }
}

pub fn mux_header(data: &[u8]) {
    if let Some((h, rest)) = relaydeck_hub::MuxHeader::parse(data) {
        assert_eq!(h.encoded_len() + rest.len(), data.len());
    }
}

pub fn control_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = control::parse::<relaydeck_contract::viewer_ws::ViewerMessage>(text);
        let _ = control::parse::<relaydeck_contract::camera_ws::CameraMessage>(text);
        let _ = crate::auth::query::Params::parse(Some(text))
            .map(|p| p.get("token").map(str::to_owned));
    }
}

/// Arbitrary datagram sequences (4 bytes of sequence each, some with a
/// time step): output is ordered, never duplicated, and accounts for time.
pub fn reorder(data: &[u8]) {
    let mut r = Reorderer::new(Duration::from_millis(40), 2, 50);
    let mut now = Instant::now();
    let mut out = Vec::new();
    for chunk in data.chunks_exact(5) {
        let seq = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if chunk[4] & 1 == 1 {
            now += Duration::from_millis(chunk[4] as u64);
            r.flush_due(now, &mut out);
        }
        r.push(
            Packet {
                seq,
                ts: seq.wrapping_mul(160),
                pcm: Bytes::from_static(&[0; 320]),
            },
            now,
            &mut out,
        );
    }
    r.flush_due(now + Duration::from_secs(1), &mut out);
    let audio = out
        .iter()
        .filter(|o| matches!(o, Output::Audio { .. }))
        .count() as u64;
    let stats = r.stats();
    let pushed = (data.len() / 5) as u64;
    assert_eq!(
        audio + stats.late + stats.duplicates,
        pushed,
        "every packet is forwarded, late or a duplicate"
    );
}

/// Replays every saved input of `target` (used by CI).
pub fn replay(target: &str, data: &[u8]) {
    match target {
        "devkit_frames" => devkit_frames(data),
        "udp_datagram" => udp_datagram(data),
        "jpeg_inspect" => jpeg_inspect(data),
        "mux_header" => mux_header(data),
        "control_json" => control_json(data),
        "reorder" => reorder(data),
        other => panic!("unknown fuzz target {other}"),
    }
}
