//! Every route, every kind of credential, every way of naming an ID.
//!
//! The routes and what each needs are written out here by hand, apart from
//! the server's `policy::table()`: the test compares the server with this
//! list, so a route the table wrongly marks public (or wrongly opens to a
//! view token) fails it, and a route added to the table but not here fails
//! the coverage check at the end.
//!
//! Each ID-naming route is tried with the ID in plain form, with its key
//! percent-encoded, with its value percent-encoded, with the key given twice
//! (same value, and two values in both orders), and through the aliases.

use std::net::SocketAddr;

use relaydeck_server::auth::{policy, Scope};
use relaydeck_tests::*;
use reqwest::{header, Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error as WsError};

/// What a route needs, as this test (not the server) says.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Public,
    SignedIn,
    /// Watch/listen; the ID (if the route names one) must be in scope.
    View,
    Publish,
    Admin,
    /// The admin, or the phone pairing's pass (which works only on the phone
    /// listener: here, on the main one, it counts for nothing).
    Pairing,
    /// The admin, or a token of scope `metrics`.
    Metrics,
}

/// How a refusal of an unauthenticated caller looks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Api,
    Media,
    Page,
    Ws,
}

/// Where the route names its camera/source.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Names {
    Nothing,
    /// `{id}` in the path.
    Path,
    /// A query key.
    Key(&'static str),
}

struct Route {
    method: Method,
    /// The path, with `{id}` where a path ID goes; may carry a fixed query.
    path: &'static str,
    /// The pattern of the server's table this route is (for the coverage check).
    pattern: &'static str,
    names: Names,
    needs: Needs,
    shape: Shape,
}

fn routes() -> Vec<Route> {
    use Names::*;
    use Needs::*;
    use Shape::*;
    let r = |method: Method, path, pattern, names, needs, shape| Route {
        method,
        path,
        pattern,
        names,
        needs,
        shape,
    };
    vec![
        r(Method::GET, "/login", "/login", Nothing, Public, Page),
        r(
            Method::POST,
            "/api/login",
            "/api/login",
            Nothing,
            Public,
            Api,
        ),
        r(
            Method::GET,
            "/api/health",
            "/api/health",
            Nothing,
            Public,
            Api,
        ),
        r(
            Method::GET,
            "/api/openapi.json",
            "/api/openapi.json",
            Nothing,
            Public,
            Api,
        ),
        r(
            Method::GET,
            "/assets/x.js",
            "/assets/{*}",
            Nothing,
            Public,
            Page,
        ),
        r(
            Method::GET,
            "/api/session",
            "/api/session",
            Nothing,
            SignedIn,
            Api,
        ),
        r(Method::GET, "/metrics", "/metrics", Nothing, Metrics, Api),
        r(
            Method::GET,
            "/api/status/history",
            "/api/status/history",
            Nothing,
            Metrics,
            Api,
        ),
        r(Method::GET, "/", "/", Nothing, View, Page),
        r(
            Method::GET,
            "/index.html",
            "/index.html",
            Nothing,
            View,
            Page,
        ),
        r(
            Method::GET,
            "/api/clients",
            "/api/clients",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/streams",
            "/api/streams",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/sources",
            "/api/sources",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::GET,
            "/stream/ws",
            "/stream/ws",
            Key("clientId"),
            View,
            Ws,
        ),
        r(
            Method::GET,
            "/api/clients/{id}",
            "/api/clients/{id}",
            Path,
            View,
            Api,
        ),
        r(
            Method::PATCH,
            "/api/clients/{id}",
            "/api/clients/{id}",
            Path,
            Admin,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/clients/{id}",
            "/api/clients/{id}",
            Path,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/clients/{id}/stream",
            "/api/clients/{id}/stream",
            Path,
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/clients/{id}/latest",
            "/api/clients/{id}/latest",
            Path,
            View,
            Media,
        ),
        r(
            Method::GET,
            "/api/clients/{id}/frames/1",
            "/api/clients/{id}/frames/{*}",
            Path,
            View,
            Media,
        ),
        r(
            Method::GET,
            "/api/clients/{id}/mjpeg",
            "/api/clients/{id}/mjpeg",
            Path,
            View,
            Media,
        ),
        r(
            Method::GET,
            "/stream",
            "/stream",
            Key("clientId"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/snapshot",
            "/snapshot",
            Key("clientId"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/?action=stream",
            "/",
            Key("clientId"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/?action=snapshot",
            "/",
            Key("clientId"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/api/stream.mjpeg",
            "/api/stream.mjpeg",
            Key("src"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/api/frame.jpeg",
            "/api/frame.jpeg",
            Key("src"),
            View,
            Media,
        ),
        r(
            Method::GET,
            "/audio/ws",
            "/audio/ws",
            Key("source"),
            View,
            Ws,
        ),
        r(
            Method::GET,
            "/api/audio/{id}/live.wav",
            "/api/audio/{id}/live.wav",
            Path,
            View,
            Media,
        ),
        // The source is in the body: the guard asks only for some view right, the edge for the source.
        r(Method::POST, "/api/offer", "/api/offer", Nothing, View, Api),
        r(
            Method::GET,
            "/api/webrtc",
            "/api/webrtc",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::POST,
            "/api/whep/{id}",
            "/api/whep/{id}",
            Path,
            View,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/whep/{id}/0123",
            "/api/whep/{id}/{*}",
            Path,
            View,
            Api,
        ),
        r(
            Method::PATCH,
            "/api/whep/{id}/0123",
            "/api/whep/{id}/{*}",
            Path,
            View,
            Api,
        ),
        // Recording: the lists are filtered; a segment's source is asked for by the handler.
        r(
            Method::GET,
            "/api/recorders",
            "/api/recorders",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::POST,
            "/api/recorders",
            "/api/recorders",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/recorders/{id}",
            "/api/recorders/{id}",
            Path,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/recordings",
            "/api/recordings",
            Key("source"),
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/recordings/clip?kind=camera&from=1&to=2",
            "/api/recordings/clip",
            Key("source"),
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/recordings/a.camera.1",
            "/api/recordings/{*}",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/recordings/a.camera.1",
            "/api/recordings/{*}",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/motion",
            "/api/motion",
            Key("source"),
            View,
            Api,
        ),
        r(
            Method::GET,
            "/api/motion/a.1",
            "/api/motion/{*}",
            Nothing,
            View,
            Api,
        ),
        // The library: the list is filtered, one file is asked for again by the handler.
        r(Method::GET, "/api/files", "/api/files", Nothing, View, Api),
        // library::visible decides: a recording's file ID is not its source's.
        r(
            Method::GET,
            "/api/files/a",
            "/api/files/{id}",
            Nothing,
            View,
            Api,
        ),
        r(
            Method::PUT,
            "/api/files/walk.wav",
            "/api/files/{*}",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/files/{id}",
            "/api/files/{id}",
            Path,
            Admin,
            Api,
        ),
        r(Method::GET, "/capture", "/capture", Nothing, Publish, Page),
        r(Method::GET, "/pair", "/pair", Nothing, Pairing, Page),
        r(Method::GET, "/ws", "/ws", Key("clientId"), Publish, Ws),
        r(
            Method::GET,
            "/audio/publish",
            "/audio/publish",
            Key("source"),
            Publish,
            Ws,
        ),
        r(
            Method::GET,
            "/api/devices",
            "/api/devices",
            Nothing,
            Pairing,
            Api,
        ),
        r(
            Method::POST,
            "/api/devices",
            "/api/devices",
            Nothing,
            Pairing,
            Api,
        ),
        r(
            Method::GET,
            "/api/devices/{id}",
            "/api/devices/{id}",
            Path,
            Pairing,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/devices/{id}",
            "/api/devices/{id}",
            Path,
            Pairing,
            Api,
        ),
        r(
            Method::POST,
            "/api/devices/{id}/commands",
            "/api/devices/{id}/commands",
            Path,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/tokens",
            "/api/tokens",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::POST,
            "/api/tokens",
            "/api/tokens",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/tokens/{id}",
            "/api/tokens/{id}",
            Path,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/settings",
            "/api/settings",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::PUT,
            "/api/settings",
            "/api/settings",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::POST,
            "/api/password",
            "/api/password",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/capture/devices",
            "/api/capture/devices",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::POST,
            "/api/pairing/phone",
            "/api/pairing/phone",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::GET,
            "/api/pairing/phone",
            "/api/pairing/phone",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::DELETE,
            "/api/pairing/phone",
            "/api/pairing/phone",
            Nothing,
            Admin,
            Api,
        ),
        r(
            Method::PUT,
            "/api/pairing/phone/progress",
            "/api/pairing/phone/progress",
            Nothing,
            Pairing,
            Api,
        ),
        // Last: logging out ends the admin cookie's session, and wrong bootstrap
        // codes count against this IP in the sign-in limiter.
        r(
            Method::POST,
            "/api/logout",
            "/api/logout",
            Nothing,
            Public,
            Api,
        ),
        r(
            Method::POST,
            "/api/bootstrap",
            "/api/bootstrap",
            Nothing,
            Public,
            Api,
        ),
    ]
}

#[derive(Debug, Clone)]
enum Cred {
    None,
    Bearer(String),
    Query(String),
    Basic(String, String),
    Cookie(String),
}

/// What a credential may do: `view`/`publish` is None (nothing), Some(None) (everything) or Some(Some(id)).
#[derive(Debug, Clone, Copy)]
struct May {
    view: Option<Option<&'static str>>,
    publish: Option<Option<&'static str>>,
    admin: bool,
    metrics: bool,
}

impl May {
    fn signed_in(&self) -> bool {
        self.view.is_some() || self.publish.is_some() || self.admin || self.metrics
    }

    fn allows(scope: Option<Option<&str>>, id: Option<&str>) -> bool {
        match (scope, id) {
            (None, _) => false,
            (Some(None), _) => true,
            (Some(Some(_)), None) => true,
            (Some(Some(only)), Some(id)) => only == id,
        }
    }

    fn may(&self, needs: Needs, id: Option<&str>) -> bool {
        match needs {
            Needs::Public => true,
            Needs::SignedIn => self.signed_in(),
            Needs::View => Self::allows(self.view, id),
            Needs::Publish => Self::allows(self.publish, id),
            Needs::Admin | Needs::Pairing => self.admin,
            Needs::Metrics => self.admin || self.metrics,
        }
    }
}

/// One way of writing a request that names `id` (in scope `a`, out of scope `b`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Form {
    Plain,
    EncodedKey,
    EncodedValue,
    TwiceSame,
    TwiceInScopeFirst,
    TwiceInScopeLast,
}

const FORMS: [Form; 6] = [
    Form::Plain,
    Form::EncodedKey,
    Form::EncodedValue,
    Form::TwiceSame,
    Form::TwiceInScopeFirst,
    Form::TwiceInScopeLast,
];

/// Every character of `s` percent-encoded (upper-case hex), so the raw
/// query shares no spelling with the key or value at all.
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The IDs the test server has, by the kind of route: `(in scope, out of scope)`.
fn ids_for(route: &Route) -> (&'static str, &'static str) {
    if route.path.contains("/api/audio/") || route.path == "/audio/ws" {
        ("dk-a", "dk-b")
    } else if route.path == "/audio/publish" {
        ("pub-a", "pub-b")
    } else if route.path.contains("/devices/") || route.path.contains("/tokens/") {
        ("zz-none", "zz-none")
    } else {
        ("a", "b")
    }
}

/// The request path for a route, naming `id` in form `form`; and the ID the
/// server must take it to name (None: refused as ambiguous).
fn request(route: &Route, id: &str, other: &str, form: Form) -> (String, Option<String>) {
    let Names::Key(key) = route.names else {
        return (route.path.replace("{id}", id), Some(id.to_owned()));
    };
    let sep = if route.path.contains('?') { '&' } else { '?' };
    let q = match form {
        Form::Plain => format!("{key}={id}"),
        Form::EncodedKey => format!("{}={id}", encode_all(key)),
        Form::EncodedValue => format!("{key}={}", encode_all(id)),
        Form::TwiceSame => format!("{key}={id}&{key}={id}"),
        Form::TwiceInScopeFirst => format!("{key}={id}&{}={other}", encode_all(key)),
        Form::TwiceInScopeLast => format!("{}={other}&{key}={id}", encode_all(key)),
    };
    let named =
        matches!(form, Form::Plain | Form::EncodedKey | Form::EncodedValue).then(|| id.to_owned());
    (format!("{}{sep}{q}", route.path), named)
}

async fn status_of(addr: SocketAddr, route: &Route, path: &str, cred: &Cred) -> StatusCode {
    let path = match cred {
        Cred::Query(t) => format!(
            "{path}{}token={t}",
            if path.contains('?') { '&' } else { '?' }
        ),
        _ => path.to_owned(),
    };
    let basic = |u: &str, p: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    if route.shape == Shape::Ws {
        let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
        let h = req.headers_mut();
        match cred {
            Cred::Bearer(t) => {
                drop(h.insert("authorization", format!("Bearer {t}").parse().unwrap()))
            }
            Cred::Cookie(c) => {
                drop(h.insert("cookie", format!("relaydeck_session={c}").parse().unwrap()))
            }
            Cred::Basic(u, p) => drop(h.insert("authorization", basic(u, p).parse().unwrap())),
            _ => {}
        }
        return match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("handshake answered")
        {
            Ok((_ws, resp)) => resp.status(),
            Err(WsError::Http(resp)) => resp.status(),
            Err(e) => panic!("{path}: {e}"),
        };
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(route.method.clone(), format!("http://{addr}{path}"));
    req = match cred {
        Cred::Bearer(t) => req.bearer_auth(t),
        Cred::Basic(u, p) => req.header(header::AUTHORIZATION, basic(u, p)),
        Cred::Cookie(c) => req.header(header::COOKIE, format!("relaydeck_session={c}")),
        _ => req,
    };
    if route.pattern == "/api/whep/{id}" {
        // A granted caller gets an answer (a peer that never connects and
        // is closed after the connect timeout), or a 404 for a camera's ID.
        req = req
            .header(header::CONTENT_TYPE, "application/sdp")
            .body(AUDIO_OFFER);
    } else if route.method == Method::POST || route.method == Method::PUT {
        let body = match route.path {
            "/api/devices" => json!({ "name": "from the access walk" }),
            "/api/tokens" => json!({ "name": "t", "scope": "view" }),
            // The right password: wrong ones would trip the login limiter for the rest of the walk.
            "/api/login" => json!({ "password": ADMIN_PASSWORD }),
            "/api/password" => json!({ "current": ADMIN_PASSWORD, "new": ADMIN_PASSWORD }),
            "/api/settings" => json!({}),
            "/api/bootstrap" => json!({ "code": "not a code" }),
            "/api/pairing/phone/progress" => json!({ "steps": [] }),
            "/api/recorders" => json!({ "source": "walk", "kind": "camera" }),
            "/api/offer" => {
                json!({ "offer": { "type": "offer", "sdp": DATACHANNEL_OFFER }, "clientId": "walk", "source": "dk-a" })
            }
            _ => json!({ "name": "reboot" }),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_credential_every_spelling_of_an_id() {
    let srv = start_server(|_| {}).await;
    let addr = srv.addr;
    let mut cam_a = camera(addr, "a").await;
    let mut cam_b = camera(addr, "b").await;
    send_frame(&mut cam_a, &jpeg(1, 16, 16)).await;
    send_frame(&mut cam_b, &jpeg(2, 16, 16)).await;
    let dk_a = devkit(&srv, "dk-a").await;
    let dk_b = devkit(&srv, "dk-b").await;
    dk_a.send_audio(1, 0, &pcm(1)).await.unwrap();
    dk_b.send_audio(1, 0, &pcm(1)).await.unwrap();
    eventually(|| srv.hub().stream("b").and_then(|s| s.latest())).await;
    eventually(|| srv.hub().audio_source("dk-b").and_then(|s| s.format())).await;

    let auth = &srv.state.auth;
    let tok = |scope, ids: Option<&[&str]>| {
        auth.create_token(
            "t",
            scope,
            ids.map(|i| i.iter().map(|s| s.to_string()).collect()),
            None,
        )
        .unwrap()
        .1
    };
    let view_all = tok(Scope::View, None);
    let view_a = tok(Scope::View, Some(&["a", "dk-a"]));
    let publish_a = tok(Scope::Publish, Some(&["a", "pub-a"]));
    let admin = tok(Scope::Admin, None);
    let metrics = tok(Scope::Metrics, None);
    let cookie = admin_cookie(addr).await;
    // Credentials that no longer count: expired, revoked, tampered with.
    let expired = auth
        .create_token(
            "old",
            Scope::Admin,
            None,
            Some(std::time::Duration::from_millis(1)),
        )
        .unwrap()
        .1;
    let (revoked_record, revoked) = auth.create_token("gone", Scope::Admin, None, None).unwrap();
    srv.state.revoke_token(&revoked_record.id).unwrap();
    let mut tampered = cookie.clone();
    tampered.replace_range(0..1, if tampered.starts_with('9') { "8" } else { "9" });
    let expired_cookie = auth.cookies.forge_with_expiry("0123", 1);
    let (_, pass) = auth
        .passes
        .issue(relaydeck_server::secrets::now_ms() + 600_000);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let everything = May {
        view: Some(None),
        publish: Some(None),
        admin: true,
        metrics: true,
    };
    let nothing = May {
        view: None,
        publish: None,
        admin: false,
        metrics: false,
    };
    let creds: Vec<(&str, Cred, May)> = vec![
        ("no credential", Cred::None, nothing),
        (
            "view token",
            Cred::Bearer(view_all.clone()),
            May {
                view: Some(None),
                ..nothing
            },
        ),
        (
            "view token limited to a, ?token",
            Cred::Query(view_a.clone()),
            May {
                view: Some(Some("a")),
                ..nothing
            },
        ),
        (
            "view token limited to a, Bearer",
            Cred::Bearer(view_a.clone()),
            May {
                view: Some(Some("a")),
                ..nothing
            },
        ),
        (
            "view token limited to a, Basic",
            Cred::Basic("x".into(), view_a),
            May {
                view: Some(Some("a")),
                ..nothing
            },
        ),
        (
            "publish token for a, ?token",
            Cred::Query(publish_a.clone()),
            May {
                publish: Some(Some("a")),
                ..nothing
            },
        ),
        (
            "publish token for a, Basic",
            Cred::Basic("x".into(), publish_a),
            May {
                publish: Some(Some("a")),
                ..nothing
            },
        ),
        (
            "metrics token",
            Cred::Bearer(metrics),
            May {
                metrics: true,
                ..nothing
            },
        ),
        ("admin token", Cred::Query(admin), everything),
        ("admin cookie", Cred::Cookie(cookie), everything),
        (
            "admin password over Basic",
            Cred::Basic("admin".into(), ADMIN_PASSWORD.into()),
            everything,
        ),
        ("unknown token", Cred::Bearer("rdk_nope".into()), nothing),
        (
            "phone pairing pass, on the main listener",
            Cred::Query(pass),
            nothing,
        ),
        ("expired admin token", Cred::Bearer(expired), nothing),
        ("revoked admin token", Cred::Query(revoked), nothing),
        ("tampered cookie", Cred::Cookie(tampered), nothing),
        ("expired cookie", Cred::Cookie(expired_cookie), nothing),
    ];

    let mut checked = 0;
    for route in routes() {
        let (in_scope, out_of_scope) = ids_for(&route);
        let forms: &[Form] = if matches!(route.names, Names::Key(_)) {
            &FORMS
        } else {
            &[Form::Plain]
        };
        for (id, other) in [(in_scope, out_of_scope), (out_of_scope, in_scope)] {
            for &form in forms {
                let (path, named) = request(&route, id, other, form);
                // `a`/`dk-a`/`pub-a` are in the limited tokens' scopes, the `b`s are not.
                let scoped = named
                    .as_deref()
                    .map(|n| if n.ends_with('a') { "a" } else { "b" });
                let scoped = if route.names == Names::Nothing {
                    None
                } else {
                    scoped
                };
                for (who, cred, may) in &creds {
                    let got = status_of(addr, &route, &path, cred).await;
                    let what = format!("{} {path} as {who}: {got}", route.method);
                    checked += 1;
                    if named.is_none() {
                        assert_eq!(got, 400, "a key given twice is refused: {what}");
                        continue;
                    }
                    if route.needs == Needs::Public {
                        // Open to all: no credential is asked for (a wrong bootstrap code is still a 403).
                        assert!(
                            ![401, 303].contains(&got.as_u16()),
                            "public, yet a credential was asked for: {what}"
                        );
                    } else if may.may(route.needs, scoped) {
                        assert!(
                            ![400, 401, 403, 303, 429].contains(&got.as_u16()),
                            "allowed, yet refused: {what}"
                        );
                        if route.shape == Shape::Ws {
                            assert_eq!(got, 101, "{what}");
                        }
                    } else if may.signed_in() {
                        assert_eq!(got, 403, "{what}");
                    } else if route.shape == Shape::Page {
                        assert_eq!(got, 303, "to the login page: {what}");
                    } else {
                        assert_eq!(got, 401, "{what}");
                    }
                }
            }
        }
    }
    assert!(checked > 1500, "{checked} requests");

    // Coverage: every row of the server's table is in the list above, with the same need.
    let listed = routes();
    for rule in policy::table() {
        let mine = listed
            .iter()
            .find(|r| r.method == rule.method.as_str() && r.pattern == rule.pattern);
        let mine = mine.unwrap_or_else(|| {
            panic!(
                "{} {} is in the policy table but not in this test's list",
                rule.method, rule.pattern
            )
        });
        let same = matches!(
            (mine.needs, rule.need),
            (Needs::Public, policy::Need::Public)
                | (Needs::SignedIn, policy::Need::SignedIn)
                | (Needs::View, policy::Need::View(_))
                | (Needs::Publish, policy::Need::Publish(_))
                | (Needs::Admin, policy::Need::Admin)
                | (Needs::Pairing, policy::Need::Pairing(_))
                | (Needs::Metrics, policy::Need::Metrics)
        );
        assert!(
            same,
            "{} {}: the table says {:?}, this test {:?}",
            rule.method, rule.pattern, rule.need, mine.needs
        );
    }
    drop((dk_a, dk_b));
}
