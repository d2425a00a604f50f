//! Access control: how refusals look, sessions, the login limiter, CORS.
//! (Every route with every credential: `access_walk.rs`.)

use std::time::Duration;

use relaydeck_server::auth::Scope;
use relaydeck_tests::*;
use reqwest::{header, Method};
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError};

#[tokio::test]
async fn refusals_look_right_for_each_kind_of_route() {
    let srv = start_server(|_| {}).await;
    let addr = srv.addr;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // API: JSON 401.
    let r = client
        .get(http_anon(addr, "/api/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    // Media: a Basic challenge, as VLC and Home Assistant expect.
    let r = client.get(http_anon(addr, "/stream")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));
    // Pages: to the login page, coming back afterwards.
    let r = client.get(http_anon(addr, "/?x=1")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/login?next=/%3Fx%3D1");
    // The login page and health are public; the page has security headers.
    let r = client.get(http_anon(addr, "/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(r.headers().contains_key(header::REFERRER_POLICY));
    assert_eq!(
        client
            .get(http_anon(addr, "/api/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn media_urls_take_a_token_as_the_basic_password_like_ustreamer() {
    let srv = start_server(|_| {}).await;
    let mut cam = camera(srv.addr, "cam").await;
    send_frame(&mut cam, &jpeg(3, 16, 16)).await;
    eventually(|| srv.hub().stream("cam").and_then(|s| s.latest())).await;
    let (_, token) = srv
        .state
        .auth
        .create_token("vlc", Scope::View, None, None)
        .unwrap();
    // http://x:TOKEN@host/snapshot, as a player would send it.
    let r = reqwest::Client::new()
        .get(http_anon(srv.addr, "/snapshot"))
        .basic_auth("x", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), jpeg(3, 16, 16));
    if std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok()
    {
        let url = format!("http://viewer:{token}@{}/api/clients/cam/mjpeg", srv.addr);
        let out = tokio::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-f",
                "mpjpeg",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
                &url,
            ])
            .output();
        let out = tokio::time::timeout(Duration::from_secs(20), out)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "mjpeg",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn the_login_limiter_answers_429_with_retry_after_and_a_clear_message() {
    let srv = start_server(|_| {}).await;
    let client = reqwest::Client::new();
    let login = |password: &str| {
        client
            .post(http_anon(srv.addr, "/api/login"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(json!({ "password": password }).to_string())
            .send()
    };
    for _ in 0..5 {
        let r = login("guess").await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = login(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is hit"
    );
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((50..=60).contains(&retry), "{retry}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("try again in"));
    // Basic with the admin password goes through the same limiter.
    let r = client
        .get(http_anon(srv.addr, "/api/devices"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn logging_out_ends_the_session_and_login_rotates_it() {
    let srv = start_server(|_| {}).await;
    let first = admin_cookie(srv.addr).await;
    let second = admin_cookie(srv.addr).await;
    assert_ne!(first, second, "every login gets a new session");
    let client = reqwest::Client::new();
    let with = |c: &str| {
        client
            .get(http_anon(srv.addr, "/api/devices"))
            .header(header::COOKIE, format!("relaydeck_session={c}"))
            .send()
    };
    assert_eq!(with(&first).await.unwrap().status(), 200);
    let r = client
        .post(http_anon(srv.addr, "/api/logout"))
        .header(header::COOKIE, format!("relaydeck_session={first}"))
        .send()
        .await
        .unwrap();
    assert!(r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(with(&first).await.unwrap().status(), 401);
    assert_eq!(with(&second).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_bootstrap_code_is_single_use() {
    let srv = start_server(|_| {}).await;
    let code = srv.state.auth.mint_bootstrap_code();
    let client = reqwest::Client::new();
    let redeem = || {
        client
            .post(http_anon(srv.addr, "/api/bootstrap"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(json!({ "code": code }).to_string())
            .send()
    };
    let r = redeem().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with("relaydeck_session="));
    assert_eq!(
        redeem().await.unwrap().status(),
        403,
        "a second use is refused"
    );
}

#[tokio::test]
async fn a_session_cookie_is_refused_from_another_origin() {
    let srv = start_server(|_| {}).await;
    let cookie = admin_cookie(srv.addr).await;
    let mut req = format!("ws://{}/stream/ws", srv.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "cookie",
        format!("relaydeck_session={cookie}").parse().unwrap(),
    );
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
}

#[tokio::test]
async fn a_limited_viewer_sees_only_its_cameras_in_lists_and_on_the_multi_camera_socket() {
    let srv = start_server(|_| {}).await;
    let _a = camera(srv.addr, "a").await;
    let _b = camera(srv.addr, "b").await;
    let (_, token) = srv
        .state
        .auth
        .create_token("friend", Scope::View, Some(["a".to_string()].into()), None)
        .unwrap();
    let v: serde_json::Value =
        reqwest::get(format!("http://{}/api/clients?token={token}", srv.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let ids: Vec<&str> = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a"]);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/stream/ws?token={token}", srv.addr))
            .await
            .unwrap();
    assert_eq!(next_json(&mut ws).await["clientId"], "a");
    send_json(&mut ws, json!({"type":"subscribe","clientIds":["b"]})).await;
    assert_eq!(next_json_of(&mut ws, "error").await["code"], "forbidden");
}

#[tokio::test]
async fn cors_is_same_origin_unless_an_origin_is_allowed() {
    let srv = start_server(|c| c.cors_allow = vec!["https://deck.example".into()]).await;
    let client = reqwest::Client::new();
    let pre = client
        .request(Method::OPTIONS, http_anon(srv.addr, "/api/clients"))
        .header(header::ORIGIN, "https://deck.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(
        pre.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://deck.example"
    );
    assert_eq!(
        pre.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
    let ok = client
        .get(http(srv.addr, "/api/clients"))
        .header(header::ORIGIN, "https://deck.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://deck.example"
    );
    let other = client
        .get(http(srv.addr, "/api/clients"))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none(),
        "no CORS for other origins"
    );
}

#[tokio::test]
async fn a_publish_link_opens_the_capture_page() {
    let srv = start_server(|_| {}).await;
    let (_, token) = srv
        .state
        .auth
        .create_token(
            "phone",
            Scope::Publish,
            Some(["phone".to_string()].into()),
            None,
        )
        .unwrap();
    let r = reqwest::get(format!("http://{}/capture?token={token}", srv.addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert!(r.text().await.unwrap().contains("<html"));
    let viewer = srv
        .state
        .auth
        .create_token("v", Scope::View, None, None)
        .unwrap()
        .1;
    assert_eq!(
        reqwest::get(format!("http://{}/capture?token={viewer}", srv.addr))
            .await
            .unwrap()
            .status(),
        403
    );
}
