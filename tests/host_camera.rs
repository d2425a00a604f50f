//! The host camera through the relay's edges (a synthetic camera behind the
//! same traits as a webcam): a WebSocket viewer opens it, leaving closes
//! it, `/latest` polling keeps it open, and while unplugged its MJPEG
//! stream shows a picture that says so.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use futures_util::StreamExt;
use relaydeck_capture::camera::{
    synthetic::SyntheticBackend, CameraCapture, CameraCaptureConfig, CameraRequest, RawFormat,
};
use relaydeck_tests::*;

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

fn config() -> CameraCaptureConfig {
    let mut c = CameraCaptureConfig::new(CameraRequest {
        camera: None,
        width: 320,
        height: 240,
        fps: 30,
    });
    c.linger = Duration::from_millis(200);
    c.poll_demand = Duration::from_millis(500);
    c.backoff = Duration::from_millis(50);
    c.max_backoff = Duration::from_millis(100);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_opens_the_camera_and_leaving_closes_it() {
    let srv = start_server(|_| {}).await;
    let backend = SyntheticBackend::new(RawFormat::Nv12);
    let control = backend.control.clone();
    let capture = CameraCapture::start(srv.hub(), Arc::new(backend), config()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(control.open_now.load(Ordering::SeqCst), 0);

    let mut ws = connect(srv.addr, "/stream/ws?clientId=host-camera").await;
    let jpeg = next_binary(&mut ws).await;
    let header = turbojpeg::read_header(&jpeg).expect("a JPEG");
    assert_eq!((header.width, header.height), (320, 240));
    assert_eq!(control.open_now.load(Ordering::SeqCst), 1);
    drop(ws);
    let c = control.clone();
    wait_until("the camera to close", move || {
        c.open_now.load(Ordering::SeqCst) == 0
    })
    .await;

    // Polling /latest counts as watching for a while.
    let status = reqwest::get(http(srv.addr, "/api/clients/host-camera/latest"))
        .await
        .unwrap()
        .status();
    assert!(status == 200 || status == 404, "{status}");
    let c = control.clone();
    wait_until("polling to open it", move || {
        c.open_now.load(Ordering::SeqCst) == 1
    })
    .await;
    let c = control.clone();
    wait_until("it to close when polling stops", move || {
        c.open_now.load(Ordering::SeqCst) == 0
    })
    .await;
    drop(capture);
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_counts_as_needing_the_camera_and_watching_for_motion_too() {
    let srv = start_server(|_| {}).await;
    let backend = SyntheticBackend::new(RawFormat::Nv12);
    let control = backend.control.clone();
    let capture = CameraCapture::start(srv.hub(), Arc::new(backend), config()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(control.open_now.load(Ordering::SeqCst), 0);
    for motion in [
        serde_json::Value::Null,
        serde_json::json!({"postRollSec": 1}),
    ] {
        let mut body = serde_json::json!({"source": "host-camera", "kind": "camera"});
        if !motion.is_null() {
            body["motion"] = motion;
        }
        let (status, reply) = post_json(srv.addr, "/api/recorders", body).await;
        assert_eq!(status, 201, "{reply}");
        let c = control.clone();
        wait_until("recording to open the camera", move || {
            c.open_now.load(Ordering::SeqCst) == 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            control.open_now.load(Ordering::SeqCst),
            1,
            "open for as long as it records, past the linger"
        );
        let stopped = reqwest::Client::new()
            .delete(http(srv.addr, "/api/recorders/host-camera"))
            .send()
            .await
            .unwrap();
        assert_eq!(stopped.status(), 200);
        let c = control.clone();
        wait_until("the camera to close when recording stops", move || {
            c.open_now.load(Ordering::SeqCst) == 0
        })
        .await;
    }
    drop(capture);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unplugged_camera_shows_a_notice_picture_over_mjpeg() {
    let srv = start_server(|_| {}).await;
    let backend = SyntheticBackend::new(RawFormat::Yuyv);
    let control = backend.control.clone();
    control.unplugged.store(true, Ordering::SeqCst);
    let mut cfg = config();
    cfg.always_on = true;
    let capture = CameraCapture::start(srv.hub(), Arc::new(backend), cfg).unwrap();
    let stream = capture.stream().clone();
    wait_until("unavailable", move || {
        matches!(
            stream.availability(),
            relaydeck_hub::Availability::Unavailable(_)
        )
    })
    .await;

    let latest = reqwest::get(http(srv.addr, "/api/clients/host-camera/latest"))
        .await
        .unwrap();
    assert_eq!(latest.status(), 503);
    let body: serde_json::Value = latest.json().await.unwrap();
    assert_eq!(body["error"]["code"], "camera_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no camera found"),
        "{body}"
    );

    let resp = reqwest::get(http(srv.addr, "/api/clients/host-camera/mjpeg"))
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut buf = Vec::new();
    let jpeg = tokio::time::timeout(WAIT, async {
        loop {
            buf.extend_from_slice(&body.next().await.unwrap().unwrap());
            if let (Some(s), Some(e)) = (
                buf.windows(2).position(|w| w == [0xFF, 0xD8]),
                buf.windows(2).rposition(|w| w == [0xFF, 0xD9]),
            ) {
                if e > s {
                    return buf[s..e + 2].to_vec();
                }
            }
        }
    })
    .await
    .expect("a picture arrives");
    let img = turbojpeg::decompress(&jpeg, turbojpeg::PixelFormat::GRAY).expect("it decodes");
    assert!((img.width, img.height) >= (160, 120));
    // A dark-grey card with white text: mostly grey, some near-white pixels.
    let white = img.pixels.iter().filter(|&&p| p > 200).count();
    assert!(white > 200, "text is drawn ({white} white pixels)");

    // Plugged back in: frames flow again.
    control.unplugged.store(false, Ordering::SeqCst);
    let stream = capture.stream().clone();
    wait_until("frames again", move || stream.latest().is_some()).await;
    assert_eq!(
        capture.stream().availability(),
        relaydeck_hub::Availability::Live
    );
}
