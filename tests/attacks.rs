//! What an outside reviewer tried against the headless relay, with curl and
//! raw sockets, and what must hold: each test is one attack (docs/SECURITY.md
//! lists them) against a real server over real sockets.

use std::{net::SocketAddr, time::Duration};

use axum::extract::FromRef;
use futures_util::SinkExt;
use relaydeck_devkit_sim::{Devkit, SimError};
use relaydeck_server::auth::{Access, Principal, Scope};
use relaydeck_tests::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError, Message};

fn ids(list: &[&str]) -> Option<std::collections::BTreeSet<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

async fn get(addr: SocketAddr, path: &str) -> (StatusCode, Vec<u8>) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// The handshake status of a WebSocket to `path`.
async fn ws_status(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .unwrap()
    {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// Two cameras with different frames, and a view token limited to `camA`.
async fn two_cameras() -> (RunningServer, Ws, Ws, String) {
    let srv = start_server(|_| {}).await;
    let mut a = camera(srv.addr, "camA").await;
    let mut b = camera(srv.addr, "camB").await;
    send_frame(&mut a, &jpeg(1, 16, 16)).await;
    send_frame(&mut b, &jpeg(2, 16, 16)).await;
    eventually(|| srv.hub().stream("camB").and_then(|s| s.latest())).await;
    eventually(|| srv.hub().stream("camA").and_then(|s| s.latest())).await;
    let (_, view_a) = srv
        .state
        .auth
        .create_token("friend", Scope::View, ids(&["camA", "srcA"]), None)
        .unwrap();
    (srv, a, b, view_a)
}

use relaydeck_server::RunningServer;

#[tokio::test]
async fn a_percent_encoded_key_names_the_camera_the_guard_checks() {
    let (srv, _a, _b, view_a) = two_cameras().await;
    // The reported attack: the policy read `clientId` (absent), the handler `client%49d` decoded.
    let (status, _) = get(
        srv.addr,
        &format!("/snapshot?client%49d=camB&token={view_a}"),
    )
    .await;
    assert_eq!(status, 403);
    for path in [
        "/snapshot?client%49d=camA",
        "/snapshot?clientId=cam%41",
        "/stream?%63lientId=camA",
        "/api/frame.jpeg?%73rc=camA",
    ] {
        let r = reqwest::get(format!("http://{}{path}&token={view_a}", srv.addr))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let (status, body) = get(
        srv.addr,
        &format!("/snapshot?client%49d=camA&token={view_a}"),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, jpeg(1, 16, 16)),
        "and it is camA's frame that is served"
    );
    for path in [
        "/snapshot?clientId=cam%42",
        "/?action=snapshot&client%49d=camB",
        "/api/stream.mjpeg?%73rc=camB",
        "/stream/ws?client%49ds=camA,camB",
    ] {
        let status = if path.starts_with("/stream/ws") {
            ws_status(srv.addr, &format!("{path}&token={view_a}"), &[]).await
        } else {
            get(srv.addr, &format!("{path}&token={view_a}"))
                .await
                .0
                .as_u16()
        };
        assert_eq!(status, 403, "{path}");
    }
}

#[tokio::test]
async fn a_key_given_twice_is_refused_in_every_order_and_spelling() {
    let (srv, _a, _b, view_a) = two_cameras().await;
    for q in [
        "clientId=camA&clientId=camB",
        "clientId=camB&clientId=camA",
        "clientId=camA&client%49d=camB",
        "clientId=camA&clientId=camA",
    ] {
        let r = reqwest::get(format!("http://{}/snapshot?{q}&token={view_a}", srv.addr))
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "duplicate_parameter", "{q}");
    }
    // A token twice, even the same one, is ambiguous too.
    let (status, _) = get(
        srv.addr,
        &format!("/snapshot?clientId=camA&token={view_a}&token={view_a}"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = get(
        srv.addr,
        &format!("/snapshot?clientId=camA&token={view_a}&%74oken={view_a}"),
    )
    .await;
    assert_eq!(status, 400);
    // Malformed escapes are refused rather than guessed at.
    let (status, _) = get(
        srv.addr,
        &format!("/snapshot?clientId=cam%4&token={view_a}"),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn two_different_credentials_in_one_request_are_refused() {
    let (srv, _a, _b, view_a) = two_cameras().await;
    let (_, view_all) = srv
        .state
        .auth
        .create_token("all", Scope::View, None, None)
        .unwrap();
    let url = |q: &str| format!("http://{}/snapshot?clientId=camB{q}", srv.addr);
    let client = reqwest::Client::new();
    let r = client
        .get(url(&format!("&token={view_a}")))
        .bearer_auth(&view_all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "conflicting_credentials"
    );
    let r = client
        .get(url(&format!("&token={view_all}")))
        .basic_auth("x", Some(&view_a))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .get(url(""))
        .bearer_auth(&view_a)
        .header(header::AUTHORIZATION, format!("Bearer {view_all}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "two Authorization headers");
    // The same token in two places is one credential.
    let r = client
        .get(url(&format!("&token={view_all}")))
        .bearer_auth(&view_all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The admin's session cookie and a link's token: two callers at once.
    let cookie = admin_cookie(srv.addr).await;
    let r = client
        .get(url(&format!("&token={view_a}")))
        .header(header::COOKIE, format!("relaydeck_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        ws_status(
            srv.addr,
            &format!("/stream/ws?clientId=camA&token={view_a}"),
            &[("authorization", &format!("Bearer {view_all}"))]
        )
        .await,
        400
    );
}

/// A PCM publisher over `/audio/publish`, registered.
async fn audio_publisher(addr: SocketAddr, query: &str) -> Ws {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/audio/publish?{query}"))
            .await
            .expect("publisher connects");
    send_json(
        &mut ws,
        json!({ "type": "format", "sampleRate": 16000, "channels": 1 }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "registered");
    ws
}

#[tokio::test]
async fn audio_sockets_serve_and_accept_only_the_source_the_guard_checked() {
    let srv = start_server(|_| {}).await;
    let admin = admin_token(srv.addr);
    let mut src_b = audio_publisher(srv.addr, &format!("source=srcB&token={admin}")).await;
    src_b.send(Message::binary(pcm(7))).await.unwrap();
    let (_, view_a) = srv
        .state
        .auth
        .create_token("friend", Scope::View, ids(&["camA", "srcA"]), None)
        .unwrap();
    let (_, publish_a) = srv
        .state
        .auth
        .create_token("phone", Scope::Publish, ids(&["srcA"]), None)
        .unwrap();
    // The reported attacks: listening to srcB, and taking srcB over, by spelling the key differently.
    assert_eq!(
        ws_status(
            srv.addr,
            &format!("/audio/ws?sour%63e=srcB&token={view_a}"),
            &[]
        )
        .await,
        403
    );
    assert_eq!(
        ws_status(
            srv.addr,
            &format!("/audio/publish?sour%63e=srcB&token={publish_a}"),
            &[]
        )
        .await,
        403
    );
    assert_eq!(
        ws_status(
            srv.addr,
            &format!("/audio/publish?source=srcA&source=srcB&token={publish_a}"),
            &[]
        )
        .await,
        400
    );
    let r = reqwest::get(format!(
        "http://{}/api/audio/srcB/live.wav?token={view_a}",
        srv.addr
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // srcB's real publisher was never replaced: it still publishes, and is heard.
    let mut listener = connect(srv.addr, "/audio/ws?source=srcB").await;
    assert_eq!(next_json(&mut listener).await["type"], "format");
    src_b.send(Message::binary(pcm(8))).await.unwrap();
    assert_eq!(read_pcm(&mut listener, 640).await, pcm(8));
    // The publish token's own source works, through the same spellings.
    let mut own = audio_publisher(srv.addr, &format!("sour%63e=srcA&token={publish_a}")).await;
    own.send(Message::binary(pcm(9))).await.unwrap();
    eventually(|| srv.hub().audio_source("srcA").filter(|s| s.is_online())).await;
}

#[tokio::test]
async fn an_edge_refuses_an_id_its_caller_may_not_see_even_if_asked_directly() {
    // Defence in depth: the edges check the caller against the ID they serve
    // themselves, so a handler that picked the wrong ID would still be refused.
    let (srv, _a, _b, _) = two_cameras().await;
    let principal = Principal::Token {
        id: "t".into(),
        scope: Scope::View,
        ids: ids(&["camA"]),
    };
    let access = Access {
        principal,
        target: Default::default(),
        params: Default::default(),
        ended: srv.state.shutdown.child_token(),
    };
    let cam_b = srv.hub().stream("camB").unwrap();
    let cam_a = srv.hub().stream("camA").unwrap();
    assert!(relaydeck_server::jpeg_http::snapshot(&access, &cam_b).is_err());
    let cameras = relaydeck_server::state::CameraState::from_ref(&srv.state);
    assert!(
        relaydeck_server::edges::mjpeg::mjpeg_response(&cameras, &access, cam_b, None).is_err()
    );
    assert!(relaydeck_server::jpeg_http::snapshot(&access, &cam_a).is_ok());
    assert!(
        access.publish("camA").is_err(),
        "a view token publishes nothing"
    );
}

#[tokio::test]
async fn basic_credentials_from_a_foreign_origin_are_refused_like_the_cookie() {
    let (srv, _a, _b, view_a) = two_cameras().await;
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x:{view_a}"))
    );
    let admin_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"))
    );
    // A real WebSocket client, as a page on evil.example would open it.
    let evil = [
        ("authorization", basic.as_str()),
        ("origin", "https://evil.example"),
    ];
    assert_eq!(
        ws_status(srv.addr, "/stream/ws?clientId=camA", &evil).await,
        403
    );
    assert_eq!(
        ws_status(
            srv.addr,
            "/stream/ws?clientId=camA",
            &[
                ("authorization", &admin_basic),
                ("origin", "http://evil.example")
            ]
        )
        .await,
        403
    );
    // The same credentials from the relay's own origin, or with no Origin (VLC, curl), work.
    let own = format!("http://{}", srv.addr);
    assert_eq!(
        ws_status(
            srv.addr,
            "/stream/ws?clientId=camA",
            &[("authorization", &basic), ("origin", &own)]
        )
        .await,
        101
    );
    assert_eq!(
        ws_status(
            srv.addr,
            "/stream/ws?clientId=camA",
            &[("authorization", &basic)]
        )
        .await,
        101
    );
    let client = reqwest::Client::new();
    let r = client
        .get(http_anon(srv.addr, "/snapshot?clientId=camA"))
        .header(header::AUTHORIZATION, &basic)
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A Bearer token is not ambient: a page can only send it if it has it.
    let r = client
        .get(http_anon(srv.addr, "/snapshot?clientId=camA"))
        .bearer_auth(&view_a)
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn json_endpoints_take_only_json_and_every_refusal_is_the_json_error() {
    let srv = start_server(|c| c.max_body_bytes = 1024).await;
    let client = reqwest::Client::new();
    let post = |path: &str, ct: Option<&str>, body: String| {
        let mut req = client.post(http(srv.addr, path)).body(body);
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        req.send()
    };
    let token = json!({ "name": "t", "scope": "view" }).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let r = post("/api/tokens", ct, token.clone()).await.unwrap();
        assert_eq!(r.status(), 415, "{ct:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "unsupported_media_type"
        );
    }
    assert_eq!(
        post(
            "/api/tokens",
            Some("application/json; charset=utf-8"),
            token.clone()
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let r = client
        .put(http(srv.addr, "/api/settings"))
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"theme":"dark"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a +json type is JSON");
    // The documented exception: the sign-in form.
    let r = client
        .post(http_anon(srv.addr, "/api/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("password=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(http_anon(srv.addr, "/api/login"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({ "password": ADMIN_PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Too large, unparsable, wrong method, unknown path: all the JSON error shape.
    let big = json!({ "name": "x".repeat(2000), "scope": "view" }).to_string();
    let cases = [
        (
            post("/api/tokens", Some("application/json"), big)
                .await
                .unwrap(),
            413,
            "body_too_large",
        ),
        (
            post("/api/tokens", Some("application/json"), "{".into())
                .await
                .unwrap(),
            400,
            "bad_request",
        ),
        (
            client
                .patch(http(srv.addr, "/api/tokens"))
                .send()
                .await
                .unwrap(),
            405,
            "method_not_allowed",
        ),
        (
            client
                .get(http(srv.addr, "/api/nothing-here"))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        ),
        (
            client
                // Not UTF-8 once decoded: refused by the one parse, before any extractor.
                .get(http(srv.addr, "/assets/%ff%fe"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_request",
        ),
    ];
    for (r, status, code) in cases {
        assert_eq!(r.status(), status, "{code}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/json",
            "{code}"
        );
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], code);
    }
}

#[tokio::test]
async fn revoking_a_token_closes_the_sockets_and_streams_it_opened() {
    let (srv, mut cam_a, _b, view_a) = two_cameras().await;
    let id = srv
        .state
        .auth
        .store
        .tokens()
        .into_iter()
        .find(|t| t.name == "friend")
        .unwrap()
        .id;
    let (mut viewer, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/stream/ws?clientId=camA&token={view_a}",
        srv.addr
    ))
    .await
    .unwrap();
    assert!(next_binary(&mut viewer).await.starts_with(&[0xFF, 0xD8]));
    let mut mjpeg = reqwest::get(format!(
        "http://{}/api/clients/camA/mjpeg?token={view_a}",
        srv.addr
    ))
    .await
    .unwrap();
    assert_eq!(mjpeg.status(), 200);
    assert!(mjpeg.chunk().await.unwrap().is_some());
    // Another token's socket is not touched.
    let (_, other) = srv
        .state
        .auth
        .create_token("other", Scope::View, None, None)
        .unwrap();
    let (mut bystander, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/stream/ws?clientId=camA&token={other}",
        srv.addr
    ))
    .await
    .unwrap();
    next_binary(&mut bystander).await;

    let r = reqwest::Client::new()
        .delete(http(srv.addr, &format!("/api/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let close = expect_close(&mut viewer).await;
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert!(close.reason.contains("revoked"), "{close:?}");
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match mjpeg.chunk().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    });
    ended.await.expect("the MJPEG stream ends");
    send_frame(&mut cam_a, &jpeg(5, 16, 16)).await;
    assert!(
        next_binary(&mut bystander).await.starts_with(&[0xFF, 0xD8]),
        "other tokens keep watching"
    );
    assert_eq!(
        get(srv.addr, &format!("/snapshot?clientId=camA&token={view_a}"))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn an_expiring_token_closes_its_sockets_within_a_second_of_expiry() {
    let (srv, _a, _b, _) = two_cameras().await;
    let (_, brief) = srv
        .state
        .auth
        .create_token("brief", Scope::View, None, Some(Duration::from_secs(2)))
        .unwrap();
    let (mut listener, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/stream/ws?clientId=camA&token={brief}",
        srv.addr
    ))
    .await
    .unwrap();
    next_binary(&mut listener).await;
    let close = expect_close(&mut listener).await;
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_so_it_cannot_hold_the_connection_caps() {
    let srv = start_server(|c| {
        c.body_timeout = Duration::from_millis(800);
        c.max_connections_per_ip = 3;
    })
    .await;
    let admin = admin_token(srv.addr);
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(srv.addr).await.unwrap();
        let head = format!("POST /api/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{");
        tcp.write_all(head.as_bytes()).await.unwrap();
        slow.push(tcp);
    }
    // Keep trickling a byte now and then: only the deadline for the whole body ends it.
    let mut answers = Vec::new();
    for mut tcp in slow {
        answers.push(tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            loop {
                tokio::select! {
                    n = tcp.read(&mut chunk) => match n {
                        Ok(0) | Err(_) => return buf,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    },
                    _ = tokio::time::sleep(Duration::from_millis(200)) => { let _ = tcp.write_all(b" ").await; }
                }
            }
        }));
    }
    for a in answers {
        let text = String::from_utf8(
            tokio::time::timeout(WAIT, a)
                .await
                .expect("cut off in time")
                .unwrap(),
        )
        .unwrap();
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("body_timeout"), "{text}");
    }
    // The places are free again.
    let r = reqwest::get(http(srv.addr, "/api/health")).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn what_a_credential_can_create_is_capped_with_a_clear_error() {
    let srv = start_server(|c| {
        c.max_streams_per_token = 2;
        c.max_sources_per_token = 1;
        c.max_device_status = 3;
    })
    .await;
    let (_, publisher) = srv
        .state
        .auth
        .create_token("cams", Scope::Publish, None, None)
        .unwrap();
    let cam = |id: &str| format!("ws://{}/ws?clientId={id}&token={publisher}", srv.addr);
    let (mut one, _) = tokio_tungstenite::connect_async(cam("one")).await.unwrap();
    assert_eq!(next_json(&mut one).await["type"], "registered");
    let (mut two, _) = tokio_tungstenite::connect_async(cam("two")).await.unwrap();
    assert_eq!(next_json(&mut two).await["type"], "registered");
    let (mut three, _) = tokio_tungstenite::connect_async(cam("three"))
        .await
        .unwrap();
    let close = expect_close(&mut three).await;
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("limit"), "{close:?}");
    drop(two);
    eventually(|| srv.hub().stream("two").filter(|s| !s.is_online())).await;
    let (mut three, _) = tokio_tungstenite::connect_async(cam("three"))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut three).await["type"],
        "registered",
        "a place is given back when its publisher leaves"
    );
    let _src = audio_publisher(srv.addr, &format!("source=s1&token={publisher}")).await;
    assert_eq!(
        ws_status(
            srv.addr,
            &format!("/audio/publish?source=s2&token={publisher}"),
            &[]
        )
        .await,
        101
    );

    // Token lifetimes: at most ten years.
    let (status, v) = post_json(
        srv.addr,
        "/api/tokens",
        json!({ "name": "forever", "scope": "view", "expiresInSec": 400_000_000u64 }),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = post_json(
        srv.addr,
        "/api/tokens",
        json!({ "name": "huge", "scope": "view", "expiresInSec": u64::MAX }),
    )
    .await;
    assert_eq!(status, 400, "{v}");

    // Devkits: a long firmware string, and more status entries than allowed.
    let token = create_device(srv.addr, "dk-01").await;
    let mut cfg = devkit_config(&srv, "dk-01", &token);
    cfg.fw = "x".repeat(129);
    match Devkit::connect(cfg).await {
        Err(SimError::Refused { code, message }) => assert!(
            code == "bad_request" && message.contains("128"),
            "{code}: {message}"
        ),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    let mut dk = Devkit::connect(devkit_config(&srv, "dk-01", &token))
        .await
        .unwrap();
    for name in ["a", "b", "c", "d"] {
        dk.event(name, json!({ "v": 1 })).await.unwrap();
    }
    let refused = tokio::time::timeout(WAIT, async {
        loop {
            let m = dk.next_message().await.expect("connected");
            if m["type"] == "error" {
                return m;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(refused["code"], "too_many_status", "{refused}");
    let status = device_state(srv.addr, "dk-01").await["status"].clone();
    assert_eq!(status.as_object().unwrap().len(), 3, "{status}");
}

#[tokio::test]
async fn wrong_devkit_tokens_are_rate_limited_per_ip() {
    let srv = start_server(|_| {}).await;
    let token = create_device(srv.addr, "dk-01").await;
    for _ in 0..5 {
        match Devkit::connect(devkit_config(&srv, "dk-01", "wrong")).await {
            Err(SimError::Refused { code, .. }) => assert_eq!(code, "unauthorized"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    match Devkit::connect(devkit_config(&srv, "dk-01", &token)).await {
        Err(SimError::Refused { code, message }) => assert!(
            code == "too_many_attempts" && message.contains("try again"),
            "{code}: {message}"
        ),
        other => panic!(
            "even the right token waits once the limit is hit: {:?}",
            other.map(|_| ())
        ),
    }
}

#[tokio::test]
async fn successful_basic_checks_are_cached_until_the_password_changes() {
    let srv = start_server(|_| {}).await;
    let client = reqwest::Client::new();
    let basic = |p: &'static str| {
        client
            .get(http_anon(srv.addr, "/api/devices"))
            .basic_auth("admin", Some(p))
            .send()
    };
    assert_eq!(srv.state.auth.passwords.cached(), 0);
    assert_eq!(basic(ADMIN_PASSWORD).await.unwrap().status(), 200);
    assert_eq!(
        srv.state.auth.passwords.cached(),
        1,
        "a success is remembered (by hash)"
    );
    assert_eq!(basic("wrong password").await.unwrap().status(), 401);
    assert_eq!(srv.state.auth.passwords.cached(), 1, "a failure is not");
    let (status, _) = post_json(
        srv.addr,
        "/api/password",
        json!({ "current": ADMIN_PASSWORD, "new": "a brand new password" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        srv.state.auth.passwords.cached(),
        0,
        "changing the password forgets earlier checks"
    );
    assert_eq!(
        basic(ADMIN_PASSWORD).await.unwrap().status(),
        401,
        "the old password no longer works"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_files_are_private_from_their_first_byte_temporary_files_included() {
    use std::os::unix::fs::PermissionsExt;
    let srv = start_server(|_| {}).await;
    let dir = srv.state.config.data_dir();
    // Watch the directory while the relay writes its files over and over.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (dir, stop) = (dir.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeMap::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let entries = std::fs::read_dir(&dir)
                    .unwrap()
                    .chain(std::fs::read_dir(dir.join("tls")).into_iter().flatten());
                for entry in entries.flatten() {
                    if let Ok(meta) = entry.metadata() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let kind = if name.contains(".tmp.") {
                            "temporary".to_owned()
                        } else {
                            name
                        };
                        seen.entry(kind)
                            .or_insert_with(std::collections::BTreeSet::new)
                            .insert(meta.permissions().mode() & 0o777);
                    }
                }
            }
            seen
        })
    };
    // The TLS key the relay generates for --tls, in the data directory's tls/.
    relaydeck_server::tls::load(&dir, None, None).unwrap();
    for i in 0..60 {
        srv.state
            .auth
            .create_token(&format!("t{i}"), Scope::View, None, None)
            .unwrap();
        let (status, _) =
            post_json(srv.addr, "/api/devices", json!({ "name": format!("d{i}") })).await;
        assert_eq!(status, 201);
        // settings.json through the writer `serve` and the desktop app use (test servers keep settings in memory).
        use relaydeck_server::store::settings::{JsonFileSettings, Settings, SettingsStore};
        JsonFileSettings::in_dir(&dir)
            .save(&Settings {
                ring_frames: 8 + i % 2,
                ..Settings::default()
            })
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watcher.join().unwrap();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700,
        "the data directory"
    );
    for (name, modes) in &seen {
        if name.ends_with(".pem") && !name.contains("key") {
            continue; // the certificate is public by nature
        }
        let octal: Vec<String> = modes.iter().map(|m| format!("{m:o}")).collect();
        assert!(
            modes.iter().all(|m| *m == 0o600
                || (["tls", "library", "recordings"].contains(&name.as_str()) && *m == 0o700)),
            "{name}: modes seen {octal:?}"
        );
    }
    for name in ["auth.json", "devices.json", "settings.json", "temporary"] {
        assert!(
            seen.contains_key(name),
            "{name} was written and watched: {:?}",
            seen.keys()
        );
    }
    assert!(
        seen.contains_key("key.pem"),
        "the TLS key: {:?}",
        seen.keys()
    );
}
