//! Access control, route by route: every row of the policy table, with every
//! kind of credential, gets the status the policy promises.

use std::time::Duration;

use relaydeck_server::auth::{
    policy::{self, Kind, Need},
    Scope,
};
use relaydeck_tests::*;
use reqwest::{header, Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError};

#[derive(Debug, Clone)]
enum Cred {
    None,
    Bearer(String),
    Query(String),
    Basic(String, String),
    Cookie(String),
}

/// What a credential may do, as the test expects it (independent of the server's code).
#[derive(Debug, Clone, Copy)]
struct May {
    view: Option<&'static str>, // None: nothing; Some("*"): everything; Some(id): that ID only
    publish: Option<&'static str>,
    admin: bool,
}

const NOTHING: May = May {
    view: None,
    publish: None,
    admin: false,
};

fn allows(scope: Option<&str>, id: &str) -> bool {
    match scope {
        None => false,
        Some("*") => true,
        Some(only) => only == id,
    }
}

/// A concrete path for a pattern; `other` picks the ID outside a limited token's scope.
fn concrete(pattern: &str, other: bool) -> (String, String) {
    let id = if pattern.contains("/api/audio/") {
        if other {
            "dk-b"
        } else {
            "dk-a"
        }
    } else if pattern.contains("/devices/") || pattern.contains("/tokens/") {
        "zz-none"
    } else if other {
        "b"
    } else {
        "a"
    };
    (
        pattern.replace("{id}", id).replace("{*}", "1"),
        id.to_owned(),
    )
}

fn query_for(pattern: &str, other: bool) -> (&'static str, String) {
    let (key, a, b) = match pattern {
        "/stream/ws" | "/stream" | "/snapshot" | "/ws" => ("clientId", "a", "b"),
        "/api/stream.mjpeg" | "/api/frame.jpeg" => ("src", "a", "b"),
        "/audio/ws" => ("source", "dk-a", "dk-b"),
        "/audio/publish" => ("source", "pub-a", "pub-b"),
        _ => return ("", String::new()),
    };
    (key, (if other { b } else { a }).to_owned())
}

async fn status_of(
    addr: std::net::SocketAddr,
    method: &Method,
    path: &str,
    cred: &Cred,
    websocket: bool,
) -> StatusCode {
    let path = match cred {
        Cred::Query(t) => format!(
            "{path}{}token={t}",
            if path.contains('?') { '&' } else { '?' }
        ),
        _ => path.to_owned(),
    };
    if websocket {
        let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
        let h = req.headers_mut();
        match cred {
            Cred::Bearer(t) => {
                drop(h.insert("authorization", format!("Bearer {t}").parse().unwrap()))
            }
            Cred::Cookie(c) => {
                drop(h.insert("cookie", format!("relaydeck_session={c}").parse().unwrap()))
            }
            Cred::Basic(u, p) => {
                use base64::Engine;
                let v = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                drop(h.insert("authorization", format!("Basic {v}").parse().unwrap()));
            }
            _ => {}
        }
        return match tokio_tungstenite::connect_async(req).await {
            Ok((_ws, resp)) => resp.status(),
            Err(WsError::Http(resp)) => resp.status(),
            Err(e) => panic!("{path}: {e}"),
        };
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method.clone(), format!("http://{addr}{path}"));
    req = match cred {
        Cred::Bearer(t) => req.bearer_auth(t),
        Cred::Basic(u, p) => req.basic_auth(u, Some(p)),
        Cred::Cookie(c) => req.header(header::COOKIE, format!("relaydeck_session={c}")),
        _ => req,
    };
    if *method == Method::POST {
        let body = match path.split('?').next().unwrap() {
            "/api/devices" => json!({ "name": "from the access test" }),
            "/api/tokens" => json!({ "name": "t", "scope": "view" }),
            "/api/login" => json!({ "password": ADMIN_PASSWORD }),
            _ => json!({ "name": "reboot", "code": "nope" }),
        };
        req = req
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    tokio::time::timeout(WAIT, req.send())
        .await
        .expect("answered")
        .unwrap()
        .status()
}

async fn admin_cookie(addr: std::net::SocketAddr) -> String {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(json!({ "password": ADMIN_PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86400"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    set.split(';')
        .next()
        .unwrap()
        .trim_start_matches("relaydeck_session=")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_credential_as_the_policy_says() {
    let srv = start_server(|_| {}).await;
    let addr = srv.addr;
    // Cameras a and b, devkits dk-a and dk-b streaming (so media routes have something to serve).
    let mut cam_a = camera(addr, "a").await;
    let mut cam_b = camera(addr, "b").await;
    send_frame(&mut cam_a, &jpeg(1, 16, 16)).await;
    send_frame(&mut cam_b, &jpeg(2, 16, 16)).await;
    let dk_a = devkit(&srv, "dk-a").await;
    let dk_b = devkit(&srv, "dk-b").await;
    dk_a.send_audio(1, 0, &pcm(1)).await.unwrap();
    dk_b.send_audio(1, 0, &pcm(1)).await.unwrap();
    eventually(|| srv.hub().stream("b").and_then(|s| s.latest())).await;

    let auth = &srv.state.auth;
    let tok = |scope, ids: Option<&[&str]>, ttl| {
        auth.create_token(
            "t",
            scope,
            ids.map(|i| i.iter().map(|s| s.to_string()).collect()),
            ttl,
        )
        .unwrap()
        .1
    };
    let viewer = tok(Scope::View, None, None);
    let viewer_a = tok(Scope::View, Some(&["a", "dk-a"]), None);
    let publisher_a = tok(Scope::Publish, Some(&["a", "pub-a"]), None);
    let admin_token = tok(Scope::Admin, None, None);
    let expired = tok(Scope::Admin, None, Some(Duration::from_millis(1)));
    let (revoked_rec, revoked) = auth.create_token("r", Scope::Admin, None, None).unwrap();
    auth.store.revoke_token(&revoked_rec.id).unwrap();
    let cookie = admin_cookie(addr).await;
    let mut tampered = cookie.clone();
    tampered.replace_range(0..1, if tampered.starts_with('9') { "8" } else { "9" });
    let expired_cookie = auth.cookies.forge_with_expiry("0123", 1);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let all = May {
        view: Some("*"),
        publish: Some("*"),
        admin: true,
    };
    let creds: Vec<(&str, Cred, May)> = vec![
        ("none", Cred::None, NOTHING),
        (
            "viewer bearer",
            Cred::Bearer(viewer.clone()),
            May {
                view: Some("*"),
                ..NOTHING
            },
        ),
        (
            "viewer ?token",
            Cred::Query(viewer),
            May {
                view: Some("*"),
                ..NOTHING
            },
        ),
        (
            "viewer limited to a",
            Cred::Query(viewer_a.clone()),
            May {
                view: Some("a"),
                ..NOTHING
            },
        ),
        (
            "viewer limited to a, Basic",
            Cred::Basic("x".into(), viewer_a),
            May {
                view: Some("a"),
                ..NOTHING
            },
        ),
        (
            "publisher of a",
            Cred::Query(publisher_a.clone()),
            May {
                publish: Some("a"),
                ..NOTHING
            },
        ),
        (
            "publisher of a, bearer",
            Cred::Bearer(publisher_a),
            May {
                publish: Some("a"),
                ..NOTHING
            },
        ),
        ("admin token", Cred::Bearer(admin_token), all),
        ("admin cookie", Cred::Cookie(cookie), all),
        (
            "admin password, Basic",
            Cred::Basic("admin".into(), ADMIN_PASSWORD.into()),
            all,
        ),
        ("expired token", Cred::Bearer(expired), NOTHING),
        ("revoked token", Cred::Query(revoked), NOTHING),
        ("tampered cookie", Cred::Cookie(tampered), NOTHING),
        ("expired cookie", Cred::Cookie(expired_cookie), NOTHING),
    ];

    let mut checked = 0;
    for rule in policy::table() {
        if rule.need == Need::Public {
            continue;
        }
        for other in [false, true] {
            let (mut path, mut id) = concrete(rule.pattern, other);
            let (key, qid) = query_for(rule.pattern, other);
            if !key.is_empty() {
                path = format!("{path}?{key}={qid}");
                id = qid;
            }
            // `a`/`dk-a`/`pub-a` are inside the limited tokens' scopes, the `b`s outside.
            let scoped_id = match id.as_str() {
                "dk-a" | "pub-a" => "a",
                "dk-b" | "pub-b" => "b",
                other => other,
            };
            for (name, cred, may) in &creds {
                let allowed = match rule.need {
                    Need::View(_) => {
                        allows(may.view, scoped_id)
                            || (may.view.is_some()
                                && !rule.pattern.contains("{id}")
                                && key.is_empty())
                    }
                    Need::Publish(_) => {
                        allows(may.publish, scoped_id)
                            || (may.publish.is_some()
                                && !rule.pattern.contains("{id}")
                                && key.is_empty())
                    }
                    Need::Admin => may.admin,
                    Need::SignedIn => may.view.is_some() || may.publish.is_some() || may.admin,
                    Need::Public => true,
                };
                let authenticated = may.view.is_some() || may.publish.is_some() || may.admin;
                let ws = rule.kind == Kind::WebSocket;
                let got = status_of(addr, &rule.method, &path, cred, ws).await;
                let what = format!("{} {path} as {name}: {got}", rule.method);
                if allowed {
                    assert!(
                        ![401, 403, 303].contains(&got.as_u16()),
                        "allowed, yet refused: {what}"
                    );
                    if ws {
                        assert_eq!(got, 101, "{what}");
                    }
                } else if authenticated {
                    assert_eq!(got, 403, "{what}");
                } else {
                    match rule.kind {
                        Kind::Page => assert_eq!(got, 303, "to the login page: {what}"),
                        _ => assert_eq!(got, 401, "{what}"),
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked} checks");
    drop((dk_a, dk_b));
}

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
