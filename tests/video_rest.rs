//! The HTTP side of the video contract: REST shapes, MJPEG, aliases, cleanup.

use std::time::Duration;

use futures_util::StreamExt;
use relaydeck_tests::*;
use serde_json::Value;

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{url}"
    );
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn rest_resources_have_the_documented_shapes() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let frames: Vec<Vec<u8>> = (0..3).map(|i| jpeg(i, 160, 120)).collect();
    for f in &frames {
        send_frame(&mut cam, f).await;
    }
    eventually(|| (srv.hub().stream("cam")?.snapshot().frames == 3).then_some(())).await;

    let (status, health) = get_json(&http(srv.addr, "/api/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["cameras"], 1);
    assert!(health["version"].is_string() && health["uptimeSecs"].is_u64());

    let (_, clients) = get_json(&http(srv.addr, "/api/clients")).await;
    let c = &clients["clients"][0];
    assert_eq!(c["id"], "cam");
    assert_eq!(c["online"], true);
    assert_eq!(c["frames"], 3);
    assert_eq!(c["bytes"], frames.iter().map(Vec::len).sum::<usize>());
    assert_eq!(
        (c["width"].as_u64(), c["height"].as_u64()),
        (Some(160), Some(120)),
        "size from the SOF marker"
    );
    for key in [
        "name",
        "connectedSince",
        "lastFrameTime",
        "fps",
        "viewers",
        "skipped",
    ] {
        assert!(c.get(key).is_some(), "missing {key}: {c}");
    }

    let (_, streams) = get_json(&http(srv.addr, "/api/streams")).await;
    assert_eq!(streams["streams"][0]["ring"]["length"], 3);
    assert_eq!(streams["streams"][0]["ring"]["capacity"], 16);

    // The ring as metadata with one URL per frame; each URL returns that JPEG.
    let (_, ring) = get_json(&http(srv.addr, "/api/clients/cam/stream")).await;
    let listed = ring["frames"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for (meta, sent) in listed.iter().zip(&frames) {
        let body = reqwest::get(http(srv.addr, meta["url"].as_str().unwrap()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], &sent[..]);
        assert_eq!(meta["size"], sent.len());
    }

    let r = reqwest::get(http(srv.addr, "/api/clients/cam/latest"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert_eq!(&r.bytes().await.unwrap()[..], &frames[2][..]);
}

#[tokio::test]
async fn errors_are_json_with_a_code_and_message() {
    let srv = start_server(|_| {}).await;
    for (path, status, code) in [
        ("/api/clients/ghost/latest", 404, "unknown_camera"),
        ("/api/clients/ghost/stream", 404, "unknown_camera"),
        ("/api/clients/ghost/mjpeg", 404, "unknown_camera"),
        ("/api/frame.jpeg?src=ghost", 404, "unknown_camera"),
        ("/api/frame.jpeg", 400, "bad_request"),
        ("/snapshot", 404, "no_cameras"),
        ("/api/nothing-here", 404, "not_found"),
        ("/ws", 426, "upgrade_required"),
    ] {
        let (got, body) = get_json(&http(srv.addr, path)).await;
        assert_eq!(got, status, "{path}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}"
        );
    }
    let mut cam = camera(srv.addr, "cam").await;
    send_frame(&mut cam, &jpeg(1, 16, 16)).await;
    eventually(|| srv.hub().stream("cam")?.latest()).await;
    let (status, body) = get_json(&http(srv.addr, "/api/clients/cam/frames/999")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("frame_gone"))
    );
    let (status, _) = get_json(&http(srv.addr, "/api/clients/cam/mjpeg?fps=0")).await;
    assert_eq!(status, 400);
}

/// Reads `n` parts of a multipart/x-mixed-replace body, checking each part's headers.
async fn read_mjpeg_parts(url: &str, n: usize) -> Vec<Vec<u8>> {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let boundary = ctype
        .strip_prefix("multipart/x-mixed-replace;boundary=")
        .expect("multipart content type")
        .to_owned();
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-cache"));
    let mut body = resp.bytes_stream();
    let mut buf = Vec::new();
    let mut parts = Vec::new();
    while parts.len() < n {
        // Parse as many complete parts as the buffer holds.
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            assert_eq!(lines.next(), Some(format!("--{boundary}").as_str()));
            let headers: Vec<(String, String)> = lines
                .map(|l| {
                    let (k, v) = l.split_once(':').unwrap();
                    (k.trim().to_ascii_lowercase(), v.trim().to_owned())
                })
                .collect();
            let get = |k: &str| headers.iter().find(|(h, _)| h == k).map(|(_, v)| v.clone());
            assert_eq!(get("content-type").as_deref(), Some("image/jpeg"));
            let len: usize = get("content-length")
                .expect("Content-Length per part")
                .parse()
                .unwrap();
            if buf.len() < end + 4 + len + 2 {
                break;
            }
            parts.push(buf[end + 4..end + 4 + len].to_vec());
            assert_eq!(&buf[end + 4 + len..end + 6 + len], b"\r\n");
            buf.drain(..end + 6 + len);
            if parts.len() == n {
                return parts;
            }
        }
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .expect("MJPEG stalled")
            .expect("MJPEG ended")
            .unwrap();
        buf.extend_from_slice(&chunk);
    }
    parts
}

#[tokio::test]
async fn mjpeg_and_its_aliases_deliver_whole_jpegs_part_by_part() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    let mut other = camera(srv.addr, "other").await;
    send_frame(&mut other, &jpeg(99, 16, 16)).await;
    let first = jpeg(0, 64, 48);
    send_frame(&mut cam, &first).await;
    eventually(|| srv.hub().stream("cam")?.latest()).await;
    for path in [
        "/api/clients/cam/mjpeg",
        "/stream",
        "/stream?clientId=cam",
        "/?action=stream",
        "/api/stream.mjpeg?src=cam",
    ] {
        let url = http(srv.addr, path);
        let reader = tokio::spawn(async move { read_mjpeg_parts(&url, 3).await });
        eventually(|| (srv.hub().stream("cam")?.snapshot().viewers == 1).then_some(())).await;
        let next: Vec<Vec<u8>> = (1..=2).map(|i| jpeg(i, 64, 48)).collect();
        for f in &next {
            send_frame(&mut cam, f).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let parts = reader.await.unwrap();
        assert_eq!(parts[0], first, "{path}: the newest frame comes first");
        assert_eq!(&parts[1..], &next[..], "{path}");
        eventually(|| (srv.hub().stream("cam")?.snapshot().viewers == 0).then_some(())).await;
        send_frame(&mut cam, &first).await;
        eventually(|| {
            (srv.hub().stream("cam")?.latest()?.jpeg_bytes() == &first[..]).then_some(())
        })
        .await;
    }
    for path in [
        "/snapshot",
        "/snapshot?clientId=cam",
        "/?action=snapshot",
        "/api/frame.jpeg?src=cam",
    ] {
        let r = reqwest::get(http(srv.addr, path)).await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/jpeg", "{path}");
        assert_eq!(&r.bytes().await.unwrap()[..], &first[..], "{path}");
    }
    let other_snap = reqwest::get(http(srv.addr, "/api/frame.jpeg?src=other"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&other_snap[..], &jpeg(99, 16, 16)[..]);
}

#[tokio::test]
async fn a_departed_camera_is_offline_then_removed_after_the_timeout() {
    let srv = start_server(|c| {
        c.client_timeout = Duration::from_millis(300);
        c.sweep_interval = Duration::from_millis(50);
    })
    .await;
    let mut cam = camera(srv.addr, "cam").await;
    let last = jpeg(5, 32, 32);
    send_frame(&mut cam, &last).await;
    eventually(|| srv.hub().stream("cam")?.latest()).await;
    let mut viewer = connect(srv.addr, "/stream/ws").await;
    drop(cam);
    let status = next_json_of(&mut viewer, "status").await;
    assert_eq!(status["online"], false);
    // Until the sweep, the last frame is still served and the camera shows offline.
    let (_, clients) = get_json(&http(srv.addr, "/api/clients")).await;
    assert_eq!(clients["clients"][0]["online"], false);
    let body = reqwest::get(http(srv.addr, "/api/clients/cam/latest"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], &last[..]);
    let left = next_json_of(&mut viewer, "left").await;
    assert_eq!(left["clientId"], "cam");
    let (status, _) = get_json(&http(srv.addr, "/api/clients/cam/latest")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn ffprobe_reads_the_mjpeg_and_snapshot_urls() {
    if std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!("ffprobe not installed: skipped");
        return;
    }
    let srv = start_server(|_| {}).await;
    let _pattern = relaydeck_capture::TestPattern::start(srv.hub(), Default::default()).unwrap();
    eventually(|| srv.hub().stream("test-pattern")?.latest()).await;
    for (path, extra) in [
        ("/api/clients/test-pattern/mjpeg", &["-f", "mpjpeg"][..]),
        ("/api/clients/test-pattern/latest", &[][..]),
    ] {
        let out = tokio::process::Command::new("ffprobe")
            .args(["-v", "error"])
            .args(extra)
            .args([
                "-show_entries",
                "stream=codec_name,width,height",
                "-of",
                "csv=p=0",
            ])
            .arg(http(srv.addr, path))
            .output();
        let out = tokio::time::timeout(WAIT, out)
            .await
            .expect("ffprobe hung")
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            "mjpeg,640,480",
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `PATCH` or `DELETE` on `path` with an admin token; the status and JSON body.
async fn send(
    method: reqwest::Method,
    addr: std::net::SocketAddr,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, http(addr, path));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_cameras_name_survives_a_restart_and_removing_it_forgets_the_name() {
    let dir = temp_data_dir();
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    let mut cam = connect(srv.addr, "/ws?clientId=porch&name=Phone").await;
    send_frame(&mut cam, &jpeg(1, 64, 48)).await;
    eventually(|| srv.hub().stream("porch")?.latest()).await;
    let (status, renamed) = send(
        reqwest::Method::PATCH,
        srv.addr,
        "/api/clients/porch",
        Some(serde_json::json!({"name": "Front door"})),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Front door"))
    );
    drop(cam);
    srv.shutdown().await;
    let file = std::fs::read_to_string(dir.join("camera-names.json")).unwrap();
    assert!(file.contains("Front door"), "{file}");

    // After the restart the phone reconnects under its own name; the admin's wins.
    let srv = start_server(|c| c.data_dir = Some(dir.clone())).await;
    let mut cam = connect(srv.addr, "/ws?clientId=porch&name=Phone").await;
    send_frame(&mut cam, &jpeg(2, 64, 48)).await;
    eventually(|| srv.hub().stream("porch")?.latest()).await;
    let (_, one) = get_json(&http(srv.addr, "/api/clients/porch")).await;
    assert_eq!(one["name"], "Front door");

    // Removed (once offline), the camera and its name are forgotten.
    drop(cam);
    eventually(|| (!srv.hub().stream("porch")?.is_online()).then_some(())).await;
    let (status, _) = send(
        reqwest::Method::DELETE,
        srv.addr,
        "/api/clients/porch",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let file = std::fs::read_to_string(dir.join("camera-names.json")).unwrap();
    assert!(!file.contains("Front door"), "{file}");
    let mut cam = connect(srv.addr, "/ws?clientId=porch&name=Phone").await;
    send_frame(&mut cam, &jpeg(3, 64, 48)).await;
    eventually(|| srv.hub().stream("porch")?.latest()).await;
    let (_, one) = get_json(&http(srv.addr, "/api/clients/porch")).await;
    assert_eq!(one["name"], "Phone");
}
