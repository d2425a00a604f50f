//! The settings API: one typed object, changed by merge patches, applied live
//! where it can be, refused loudly when wrong; the admin password; "who am I".

use relaydeck_tests::*;
use serde_json::{json, Value};

async fn put_settings(addr: std::net::SocketAddr, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .put(http(addr, "/api/settings"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_patch_changes_only_its_keys_and_live_settings_apply_at_once() {
    let srv = start_server(|_| {}).await;
    let (status, v) = get_json(srv.addr, "/api/settings").await;
    assert_eq!(status, 200);
    assert_eq!(v["settings"]["theme"], "system");
    assert_eq!(v["settings"]["ringFrames"], 16);
    assert_eq!(v["restartRequired"], json!([]));

    let (status, v) = put_settings(srv.addr, r#"{"theme":"dark","ringFrames":3}"#).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["settings"]["theme"], "dark");
    assert_eq!(
        v["settings"]["audioBufferMs"], 150,
        "keys not sent keep their value"
    );
    assert_eq!(
        v["restartRequired"],
        json!([]),
        "theme and ring size apply live"
    );

    // A camera that connects now gets the new ring size.
    let mut cam = camera(srv.addr, "fresh").await;
    for i in 0..6 {
        send_frame(&mut cam, &jpeg(i, 32, 32)).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    let frames = loop {
        let (_, v) = get_json(srv.addr, "/api/clients/fresh/stream").await;
        let frames = v["frames"].as_array().cloned().unwrap_or_default();
        if frames.last().and_then(|f| f["seq"].as_u64()) >= Some(5) {
            break (frames.len(), v);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the camera's frames never arrived: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(frames.0, 3, "{frames:?}");

    let (status, v) = put_settings(srv.addr, r#"{"port":3999}"#).await;
    assert_eq!(status, 200);
    assert_eq!(
        v["restartRequired"],
        json!(["port"]),
        "the port waits for the next start"
    );
}

#[tokio::test]
async fn wrong_settings_are_refused_with_the_reason_and_change_nothing() {
    let srv = start_server(|_| {}).await;
    for (body, needle) in [
        (r#"{"thme":"dark"}"#, "unknown setting 'thme'"),
        (r#"{"theme":"purple"}"#, "purple"),
        (r#"{"ringFrames":0}"#, "ringFrames"),
        (r#"{"audioBufferMs":1}"#, "audioBufferMs"),
        (r#"{"port":"http"}"#, "invalid type"),
        (r#"[1,2]"#, "JSON object"),
        ("not json", "invalid JSON"),
    ] {
        let (status, v) = put_settings(srv.addr, body).await;
        assert_eq!(status, 400, "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let (_, v) = get_json(srv.addr, "/api/settings").await;
    assert_eq!(v["settings"]["theme"], "system");
}

#[tokio::test]
async fn the_admin_password_changes_only_with_the_current_one() {
    let srv = start_server(|_| {}).await;
    let (status, v) = post_json(
        srv.addr,
        "/api/password",
        json!({"current": "wrong", "new": "a new long password"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("wrong_password"))
    );
    let (status, _) = post_json(
        srv.addr,
        "/api/password",
        json!({"current": ADMIN_PASSWORD, "new": "short"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_json(
        srv.addr,
        "/api/password",
        json!({"current": ADMIN_PASSWORD, "new": "a new long password"}),
    )
    .await;
    assert_eq!(status, 200);
    let login = |password: &'static str| async move {
        reqwest::Client::new()
            .post(format!("http://{}/api/login", srv.addr))
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(login("a new long password").await, 200);
    assert_eq!(login(ADMIN_PASSWORD).await, 401);
}

#[tokio::test]
async fn a_caller_learns_what_its_credentials_allow() {
    let srv = start_server(|_| {}).await;
    let (_, v) = get_json(srv.addr, "/api/session").await;
    assert_eq!(
        (v["role"].as_str(), v["admin"].as_bool()),
        (Some("admin"), Some(true))
    );
    let (_, made) = post_json(
        srv.addr,
        "/api/tokens",
        json!({"name": "grandma", "scope": "view", "ids": ["test-pattern"]}),
    )
    .await;
    let secret = made["token"].as_str().unwrap();
    let v: Value = reqwest::get(format!("http://{}/api/session?token={secret}", srv.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["role"], "token");
    assert_eq!(v["scope"], "view");
    assert_eq!(v["ids"], json!(["test-pattern"]));
    assert_eq!(
        (
            v["canView"].as_bool(),
            v["canPublish"].as_bool(),
            v["admin"].as_bool()
        ),
        (Some(true), Some(false), Some(false))
    );
    let anon = reqwest::get(format!("http://{}/api/session", srv.addr))
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}
