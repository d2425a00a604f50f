//! The camera pipeline: MJPEG passthrough (with AVI1 frames completed),
//! YUYV and NV12 through turbojpeg, the capture thread on demand, and a
//! camera that is unplugged and comes back. MJPEG fixtures are made by
//! ffmpeg; every JPEG is decoded again by libjpeg-turbo.

use std::{
    borrow::Cow,
    process::Command,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use relaydeck_capture::camera::{
    mjpeg::complete_jpeg,
    nokhwa_backend::NokhwaBackend,
    synthetic::{nv12_frame, strip_huffman_tables, yuv_pixel, yuyv_frame, SyntheticBackend},
    yuv::YuvEncoder,
    CameraBackend, CameraCapture, CameraCaptureConfig, CameraError, CameraRequest, RawFormat,
};
use relaydeck_hub::{Availability, Hub, HubConfig, ViewerQueue};

/// JPEG frames of an ffmpeg MJPEG stream (`-huffman default|optimal`).
fn ffmpeg_mjpeg(huffman: &str) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-frames:v",
            "3",
        ])
        .args([
            "-c:v", "mjpeg", "-q:v", "3", "-huffman", huffman, "-f", "mjpeg", "-",
        ])
        .output()
        .expect("ffmpeg (the tests make MJPEG fixtures with it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    split_jpegs(&out.stdout)
}

fn split_jpegs(data: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut start = None;
    for i in 0..data.len().saturating_sub(1) {
        match (data[i], data[i + 1]) {
            (0xFF, 0xD8) if start.is_none() => start = Some(i),
            (0xFF, 0xD9) => {
                if let Some(s) = start.take() {
                    frames.push(data[s..i + 2].to_vec());
                }
            }
            _ => {}
        }
    }
    assert_eq!(frames.len(), 3);
    frames
}

fn decode_rgb(jpeg: &[u8]) -> turbojpeg::Image<Vec<u8>> {
    turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB).expect("libjpeg-turbo decodes it")
}

fn has_marker(jpeg: &[u8], marker: u8) -> bool {
    jpeg.windows(2).any(|w| w == [0xFF, marker])
}

#[test]
fn mjpeg_with_its_own_tables_passes_through_byte_for_byte() {
    for frame in ffmpeg_mjpeg("optimal") {
        let out = complete_jpeg(&frame).unwrap();
        assert!(matches!(out, Cow::Borrowed(_)), "no copy");
        assert_eq!(&out[..], &frame[..]);
    }
}

#[test]
fn avi1_frames_without_huffman_tables_get_the_standard_ones_and_decode_identically() {
    for frame in ffmpeg_mjpeg("default") {
        let stripped = strip_huffman_tables(&frame);
        let sos = stripped.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        assert!(
            !has_marker(&stripped[..sos], 0xC4),
            "the fixture has no DHT any more"
        );
        assert!(
            has_marker(&frame[..sos + 500], 0xC4),
            "the original had one"
        );
        let completed = complete_jpeg(&stripped).unwrap();
        let dht = completed
            .windows(2)
            .position(|w| w == [0xFF, 0xC4])
            .expect("a DHT segment");
        let sos = completed
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .unwrap();
        assert!(dht < sos, "the tables come before the scan");
        // The completed frame decodes to exactly the pixels of the original.
        let (a, b) = (decode_rgb(&frame), decode_rgb(&completed));
        assert_eq!((a.width, a.height), (320, 240));
        assert!(a.pixels == b.pixels, "identical pixels");
    }
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Luma and chroma PSNR of a decoded JPEG against the synthetic YUV source.
fn yuv_psnr(jpeg: &[u8], w: usize, h: usize, n: u64) -> (f64, f64) {
    let yuv = turbojpeg::decompress_to_yuv(jpeg).unwrap();
    assert_eq!((yuv.width, yuv.height), (w, h));
    let y_stride = w.next_multiple_of(yuv.align);
    let mut want_y = Vec::new();
    let mut got_y = Vec::new();
    for y in 0..h {
        for x in 0..w {
            want_y.push(yuv_pixel(x, y, n).0);
            got_y.push(yuv.pixels[y * y_stride + x]);
        }
    }
    // U plane: its size depends on the subsampling.
    let (cw, ch) = match yuv.subsamp {
        turbojpeg::Subsamp::Sub2x1 => (w / 2, h),
        turbojpeg::Subsamp::Sub2x2 => (w / 2, h / 2),
        other => panic!("unexpected subsampling {other:?}"),
    };
    let c_stride = cw.next_multiple_of(yuv.align);
    let u_plane = &yuv.pixels[y_stride * h..];
    let (sx, sy) = (w / cw, h / ch);
    let mut want_u = Vec::new();
    let mut got_u = Vec::new();
    for y in 0..ch {
        for x in 0..cw {
            want_u.push(yuv_pixel(x * sx, y * sy, n).1);
            got_u.push(u_plane[y * c_stride + x]);
        }
    }
    (psnr(&want_y, &got_y), psnr(&want_u, &got_u))
}

#[test]
fn yuyv_and_nv12_compress_from_yuv_and_decode_back_faithfully() {
    let (w, h) = (640, 480);
    let mut enc = YuvEncoder::new(90).unwrap();
    let jpeg = enc
        .yuyv(&yuyv_frame(w, h, 3), w, h, w * 2)
        .unwrap()
        .to_vec();
    let (py, pu) = yuv_psnr(&jpeg, w, h, 3);
    assert!(
        py > 38.0 && pu > 38.0,
        "YUYV: luma {py:.1} dB, chroma {pu:.1} dB"
    );
    assert_eq!(
        turbojpeg::read_header(&jpeg).unwrap().subsamp,
        turbojpeg::Subsamp::Sub2x1,
        "4:2:2 kept"
    );

    let jpeg = enc.nv12(&nv12_frame(w, h, 5), w, h, w).unwrap().to_vec();
    let (py, pu) = yuv_psnr(&jpeg, w, h, 5);
    assert!(
        py > 38.0 && pu > 38.0,
        "NV12: luma {py:.1} dB, chroma {pu:.1} dB"
    );

    // Short and odd frames are errors, not panics.
    assert!(enc.yuyv(&[0; 100], w, h, w * 2).is_err());
    assert!(enc.nv12(&nv12_frame(w, h, 1)[..w * h], w, h, w).is_err());
    assert!(enc.yuyv(&[0; 64], 3, 2, 6).is_err());
    assert!(enc.nv12(&[], 0, 0, 0).is_err());
}

#[test]
fn without_a_webcam_nokhwa_finds_none_and_opening_says_so() {
    let backend = NokhwaBackend;
    let listed = backend.list();
    if let Ok(cams) = &listed {
        if !cams.is_empty() {
            eprintln!("this machine has a camera: {cams:?}; the no-device case is not checked");
            return;
        }
    }
    let request = CameraRequest {
        camera: None,
        width: 640,
        height: 480,
        fps: 30,
    };
    match backend.open(&request) {
        Err(CameraError::NoCamera) | Err(CameraError::Open(_)) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("opened a camera that does not exist"),
    }
    assert_eq!(
        CameraError::NoCamera.to_string(),
        "no camera found on this computer"
    );
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn config() -> CameraCaptureConfig {
    let mut c = CameraCaptureConfig::new(CameraRequest {
        camera: None,
        width: 320,
        height: 240,
        fps: 30,
    });
    c.linger = Duration::from_millis(200);
    c.poll_demand = Duration::from_millis(300);
    c.backoff = Duration::from_millis(50);
    c.max_backoff = Duration::from_millis(200);
    c
}

#[test]
fn the_camera_is_open_only_while_somebody_watches() {
    let hub = Hub::new(HubConfig::default());
    let backend = SyntheticBackend::new(RawFormat::Yuyv);
    let control = backend.control.clone();
    let capture = CameraCapture::start(&hub, Arc::new(backend), config()).unwrap();
    let stream = capture.stream().clone();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        control.open_now.load(Ordering::SeqCst),
        0,
        "closed with nobody watching"
    );
    assert_eq!(stream.availability(), Availability::Standby);

    let queue = ViewerQueue::new();
    let sub = stream.subscribe(&queue);
    wait_for("frames for the viewer", || {
        stream.latest().is_some_and(|f| f.seq >= 3)
    });
    assert_eq!(control.open_now.load(Ordering::SeqCst), 1);
    assert_eq!(stream.availability(), Availability::Live);
    let jpeg = stream.latest().unwrap();
    assert_eq!(
        turbojpeg::read_header(jpeg.jpeg_bytes()).unwrap().width,
        320
    );

    drop(sub);
    wait_for("the camera to close after the last viewer", || {
        control.open_now.load(Ordering::SeqCst) == 0
    });
    assert_eq!(stream.availability(), Availability::Standby);

    // Polling the newest frame counts as watching, for a while.
    stream.note_poll();
    wait_for("polling to open it", || {
        control.open_now.load(Ordering::SeqCst) == 1
    });
    wait_for("it to close once polling stops", || {
        control.open_now.load(Ordering::SeqCst) == 0
    });
    assert_eq!(control.opens.load(Ordering::SeqCst), 2);
    drop(capture);
}

#[test]
fn an_unplugged_camera_is_shown_unavailable_and_resumes_on_its_own() {
    let hub = Hub::new(HubConfig::default());
    let mut backend = SyntheticBackend::new(RawFormat::Mjpeg);
    backend.strip_huffman = true; // AVI1 frames, completed on the way
    let control = backend.control.clone();
    let mut cfg = config();
    cfg.always_on = true;
    let capture = CameraCapture::start(&hub, Arc::new(backend), cfg).unwrap();
    let stream = capture.stream().clone();
    wait_for("frames", || stream.latest().is_some_and(|f| f.seq >= 2));
    let frame = stream.latest().unwrap();
    assert!(
        has_marker(frame.jpeg_bytes(), 0xC4),
        "the published frame carries Huffman tables"
    );
    decode_rgb(frame.jpeg_bytes());

    control.unplugged.store(true, Ordering::SeqCst);
    wait_for("unavailable", || {
        matches!(stream.availability(), Availability::Unavailable(_))
    });
    let Availability::Unavailable(why) = stream.availability() else {
        unreachable!()
    };
    assert!(
        why.contains("unplugged") || why.contains("no camera"),
        "{why}"
    );
    assert_eq!(
        control.open_now.load(Ordering::SeqCst),
        0,
        "the device is released"
    );

    let before = stream.latest().unwrap().seq;
    control.unplugged.store(false, Ordering::SeqCst);
    wait_for("frames again", || {
        stream.latest().is_some_and(|f| f.seq > before + 2)
    });
    assert_eq!(stream.availability(), Availability::Live);
}
