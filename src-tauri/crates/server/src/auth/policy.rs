//! The policy table: what every route needs, in one place.
//!
//! Each row is a method, a path pattern (`{id}` matches one segment, `{*}`
//! the rest), what the caller needs and what kind of route it is (which
//! decides how a refusal looks). A route not in the table needs the admin:
//! new routes are closed until someone decides otherwise. Later issues add
//! their rows here (WebRTC signalling, pairing).

use axum::http::Method;
use relaydeck_hub::StreamId;

use super::{
    query::{self, Params},
    Principal,
};
use crate::error::ApiError;

/// What a route needs. `Param` names the query parameter or path segment
/// holding the camera/source ID, when the route is about one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Public,
    /// Watch or listen; `Some(id)` for one camera/source, `None` for lists
    /// (the handler filters them) or "any camera".
    View(Id),
    /// Publish under an ID (checked by the edge when the ID comes later).
    Publish(Id),
    /// Any valid credential (the caller asks who they are).
    SignedIn,
    /// The admin, or the phone pairing's pass: `Id::Path` names a device,
    /// which for a pass must be the one it registered. These routes are all
    /// the phone pairing's listener serves.
    Pairing(Id),
    /// The admin or a `metrics` token.
    Metrics,
    Admin,
}

/// Where a route's camera/source ID is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    None,
    /// The path segment matched by `{id}`.
    Path,
    /// A query parameter.
    Query(&'static str),
    /// `/stream/ws`: `clientId` (one camera) or `clientIds` (a comma-separated list).
    Cameras,
}

/// How a refusal is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JSON `401`/`403`.
    Api,
    /// `401` with `WWW-Authenticate: Basic` (VLC, Home Assistant, OctoPrint ask for credentials).
    Media,
    /// A redirect to `/login`.
    Page,
    /// The handshake is refused (`401`/`403`).
    WebSocket,
}

pub struct Rule {
    pub method: Method,
    pub pattern: &'static str,
    pub need: Need,
    pub kind: Kind,
}

macro_rules! rules {
    ($($method:ident $pattern:literal => $need:expr, $kind:ident;)*) => {
        vec![$(Rule { method: Method::$method, pattern: $pattern, need: $need, kind: Kind::$kind }),*]
    };
}

/// Every route of the canonical tree and its aliases.
pub fn table() -> Vec<Rule> {
    use Id::*;
    use Need::*;
    rules! {
        GET  "/login"                          => Public, Page;
        POST "/api/login"                      => Public, Api;
        POST "/api/logout"                     => Public, Api;
        POST "/api/bootstrap"                  => Public, Api;
        GET  "/api/health"                     => Public, Api;
        GET  "/api/openapi.json"               => Public, Api;    // the REST contract: no data in it
        GET  "/api/session"                    => SignedIn, Api;
        GET  "/metrics"                        => Metrics, Api;   // Prometheus
        GET  "/api/status/history"             => Metrics, Api;   // the Status page's charts

        GET  "/"                               => View(None), Page;
        GET  "/index.html"                     => View(None), Page;
        GET  "/assets/{*}"                     => Public, Page;   // the UI's script and styles: no data in them
        GET  "/stream/ws"                      => View(Cameras), WebSocket;
        GET  "/api/clients"                    => View(None), Api;
        GET  "/api/streams"                    => View(None), Api;
        GET  "/api/clients/{id}"               => View(Path), Api;
        PATCH  "/api/clients/{id}"             => Admin, Api;
        DELETE "/api/clients/{id}"             => Admin, Api;
        GET  "/api/clients/{id}/stream"        => View(Path), Api;
        GET  "/api/clients/{id}/latest"        => View(Path), Media;
        GET  "/api/clients/{id}/frames/{*}"    => View(Path), Media;
        GET  "/api/clients/{id}/mjpeg"         => View(Path), Media;
        GET  "/stream"                         => View(Query("clientId")), Media;
        GET  "/snapshot"                       => View(Query("clientId")), Media;
        GET  "/api/stream.mjpeg"               => View(Query("src")), Media;
        GET  "/api/frame.jpeg"                 => View(Query("src")), Media;
        GET  "/audio/ws"                       => View(Query("source")), WebSocket;
        GET  "/api/audio/{id}/live.wav"        => View(Path), Media;
        GET  "/api/sources"                    => View(None), Api;
        POST "/api/offer"                      => View(None), Api;    // the body names the source; the edge asks the policy for it
        GET  "/api/webrtc"                     => View(None), Api;    // the ICE servers a page's peer uses
        POST   "/api/whep/{id}"                => View(Path), Api;    // WHEP: an SDP offer for a live source
        DELETE "/api/whep/{id}/{*}"            => View(Path), Api;    // WHEP: end the session
        PATCH  "/api/whep/{id}/{*}"            => View(Path), Api;    // WHEP: refused (no trickle ICE), 405

        GET    "/api/files"                    => View(None), Api;    // the library: filtered to what the caller may see
        GET    "/api/files/{id}"               => View(None), Api;    // library::visible decides (a recording's ID is not its source's)
        PUT    "/api/files/{*}"                => Admin, Api;         // an upload: the tail is its name, sanitised by the handler
        DELETE "/api/files/{id}"               => Admin, Api;

        GET    "/api/recorders"                => View(None), Api;    // filtered to the caller's sources
        POST   "/api/recorders"                => Admin, Api;
        DELETE "/api/recorders/{id}"           => Admin, Api;
        GET    "/api/recordings"               => View(Query("source")), Api;  // filtered to the caller's sources
        GET    "/api/recordings/clip"          => View(Query("source")), Api;  // a time range of one source, across segments
        GET    "/api/recordings/{*}"           => View(None), Api;    // the tail names a segment; the handler asks for its source
        DELETE "/api/recordings/{*}"           => Admin, Api;
        GET    "/api/motion"                   => View(Query("source")), Api;  // filtered to the caller's sources
        GET    "/api/motion/{*}"               => View(None), Api;    // the tail names an event; the handler asks for its source

        GET  "/capture"                        => Publish(None), Page;   // the capture page a publish link opens
        GET  "/pair"                           => Pairing(None), Page;   // Bluetooth pairing
        GET  "/ws"                             => Publish(Query("clientId")), WebSocket;
        GET  "/audio/publish"                  => Publish(Query("source")), WebSocket;

        GET    "/api/devices"                  => Pairing(None), Api;    // a pass sees its own device only
        POST   "/api/devices"                  => Pairing(None), Api;    // a pass registers one
        GET    "/api/devices/{id}"             => Pairing(Path), Api;
        DELETE "/api/devices/{id}"             => Pairing(Path), Api;
        POST   "/api/pairing/phone"            => Admin, Api;            // open the phone pairing's listener
        GET    "/api/pairing/phone"            => Admin, Api;
        DELETE "/api/pairing/phone"            => Admin, Api;
        PUT    "/api/pairing/phone/progress"   => Pairing(None), Api;    // the phone reports its steps
        POST   "/api/devices/{id}/commands"    => Admin, Api;
        GET    "/api/tokens"                   => Admin, Api;
        POST   "/api/tokens"                   => Admin, Api;
        DELETE "/api/tokens/{id}"              => Admin, Api;
        GET    "/api/settings"                 => Admin, Api;
        PUT    "/api/settings"                 => Admin, Api;
        POST   "/api/password"                 => Admin, Api;
        GET    "/api/capture/devices"          => Admin, Api;
    }
}

/// What a request names, as the guard resolved it: the one parse every
/// handler serves from (through the request's [`crate::auth::Access`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The camera, source, device or token the route is about: the `{id}`
    /// segment, or the rule's query parameter; decoded and validated.
    pub id: Option<StreamId>,
    /// `/stream/ws?clientIds=a,b`: several cameras.
    pub ids: Option<Vec<StreamId>>,
    /// The `{*}` tail of the path (a frame number), decoded.
    pub rest: Option<String>,
    /// On WebSocket routes an invalid ID is not a `400`: the handshake
    /// completes and the edge closes with `1008` and this reason (the
    /// documented socket contract). Nothing is named then.
    pub invalid: Option<String>,
}

/// What a request needs, what it names, and how a refusal looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub need: Need,
    pub target: Target,
    pub kind: Kind,
}

/// Matches `path` against `pattern`; returns the raw `{id}` and `{*}` parts.
/// Literal segments match the raw path, as the router does.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<(Option<&'p str>, Option<&'p str>)> {
    let (mut id, mut rest) = (None, None);
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    let mut offset = 0;
    loop {
        let seg = s.next();
        match (p.next(), seg) {
            (None, None) => return Some((id, rest)),
            (Some("{*}"), Some(seg)) if !seg.is_empty() => {
                rest = Some(&path[offset..]);
                return Some((id, rest));
            }
            (Some("{id}"), Some(seg)) if !seg.is_empty() => id = Some(seg),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
        offset += seg.map_or(0, |s| s.len() + 1);
    }
}

/// A decoded, validated ID.
fn stream_id(raw: &str, what: &str) -> Result<StreamId, ApiError> {
    StreamId::new(raw).map_err(|e| ApiError::InvalidId {
        what: what.to_owned(),
        id: raw.to_owned(),
        why: e.to_string(),
    })
}

fn path_id(raw: &str) -> Result<StreamId, ApiError> {
    let decoded = query::decode(raw, false).map_err(ApiError::from)?;
    stream_id(&decoded, "ID")
}

/// `/stream/ws`: one camera (`clientId`), a list (`clientIds=a,b`), or every camera the caller may see.
fn cameras(params: &Params) -> Result<Target, ApiError> {
    match (params.get("clientId"), params.get("clientIds")) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "use clientId (one camera) or clientIds (several), not both".into(),
        )),
        (Some(one), None) => Ok(Target {
            id: Some(stream_id(one, "clientId")?),
            ..Target::default()
        }),
        (None, Some(list)) => {
            let ids = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| stream_id(id, "clientIds"))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Target {
                ids: Some(ids),
                ..Target::default()
            })
        }
        (None, None) => Ok(Target::default()),
    }
}

fn resolve(id: Id, raw_path_id: Option<&str>, params: &Params) -> Result<Target, ApiError> {
    let mut target = match id {
        Id::Query(key) => Target {
            id: params.get(key).map(|v| stream_id(v, key)).transpose()?,
            ..Target::default()
        },
        Id::Cameras => cameras(params)?,
        Id::None | Id::Path => Target::default(),
    };
    // A path `{id}` is the route's target whatever it needs (devices and tokens too).
    if let Some(raw) = raw_path_id {
        target.id = Some(path_id(raw)?);
    }
    Ok(target)
}

/// Decides what a request needs and what it names, from the one parse of its
/// query. A malformed or duplicated parameter, or an invalid ID, is a `400`.
pub fn decide(
    table: &[Rule],
    method: &Method,
    path: &str,
    params: &Params,
) -> Result<Decision, ApiError> {
    // mjpg-streamer's `/?action=stream|snapshot` is media, not the UI page.
    if path == "/" && params.get("action").is_some() {
        let target = resolve(Id::Query("clientId"), None, params)?;
        return Ok(Decision {
            need: Need::View(Id::Query("clientId")),
            target,
            kind: Kind::Media,
        });
    }
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    for rule in table.iter().filter(|r| r.method == *method) {
        if let Some((raw_id, rest)) = matches(rule.pattern, path) {
            let id = match rule.need {
                Need::View(id) | Need::Publish(id) => id,
                _ => Id::None,
            };
            let mut target = match resolve(id, raw_id, params) {
                Err(e @ ApiError::InvalidId { .. }) if rule.kind == Kind::WebSocket => Target {
                    invalid: Some(e.to_string()),
                    ..Target::default()
                },
                other => other?,
            };
            target.rest = rest.map(|r| query::decode(r, false)).transpose()?;
            return Ok(Decision {
                need: rule.need,
                target,
                kind: rule.kind,
            });
        }
    }
    // UI files at the root (`/favicon.svg`, …) are pages; anything else is closed.
    let single_segment = path.len() > 1 && !path[1..].contains('/') && path.contains('.');
    if *method == Method::GET && single_segment {
        return Ok(Decision {
            need: Need::View(Id::None),
            target: Target::default(),
            kind: Kind::Page,
        });
    }
    let kind = if path.starts_with("/api/") {
        Kind::Api
    } else {
        Kind::Page
    };
    Ok(Decision {
        need: Need::Admin,
        target: Target::default(),
        kind,
    })
}

/// The methods the table offers at `path` (HEAD with GET), when it offers
/// any: a request with another method is answered `405` with these in
/// `Allow`, before its body's media type or its credential is looked at.
pub fn offered(table: &[Rule], path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = Vec::new();
    for rule in table.iter().filter(|r| matches(r.pattern, path).is_some()) {
        if !methods.contains(&rule.method) {
            methods.push(rule.method.clone());
        }
        if rule.method == Method::GET && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
    }
    methods
}

/// The one policy function: may `p` do what `need` asks for `target`?
/// The guard applies it to every request; edges apply it again to the ID
/// they serve, and routes whose IDs arrive in a body apply it to those.
pub fn permits(p: &Principal, need: Need, target: &Target) -> bool {
    let each = |check: &dyn Fn(&str) -> bool| match (&target.id, &target.ids) {
        (Some(id), _) => check(id.as_str()),
        (None, Some(ids)) => ids.iter().all(|id| check(id.as_str())),
        (None, None) => false,
    };
    let named = target.id.is_some() || target.ids.is_some();
    match need {
        Need::Public | Need::SignedIn => true,
        Need::View(Id::Path | Id::Query(_) | Id::Cameras) if named => each(&|id| p.can_view(id)),
        Need::View(_) => p.can_view_some(),
        Need::Publish(Id::Path | Id::Query(_)) if named => each(&|id| p.can_publish(id)),
        Need::Publish(_) => p.can_publish_some(),
        Need::Metrics => p.can_read_metrics(),
        Need::Admin => p.is_admin(),
        Need::Pairing(_) if p.is_admin() => true,
        Need::Pairing(Id::Path) => match (p.pairing_device(), &target.id) {
            (Some(mine), Some(id)) => mine == id.as_str(),
            _ => false,
        },
        Need::Pairing(_) => matches!(p, Principal::Pairing { .. }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(method: Method, path: &str, q: &str) -> Result<Decision, ApiError> {
        decide(&table(), &method, path, &Params::parse(Some(q)).unwrap())
    }

    #[test]
    fn patterns_capture_ids_and_unknown_routes_need_the_admin() {
        let got = d(Method::GET, "/api/clients/cam%2D1/latest", "").unwrap();
        assert_eq!(
            (
                got.need,
                got.target.id.as_ref().map(StreamId::as_str),
                got.kind
            ),
            (Need::View(Id::Path), Some("cam-1"), Kind::Media)
        );
        assert_eq!(
            d(Method::GET, "/stream/ws", "clientId=a&x=1")
                .unwrap()
                .target
                .id
                .unwrap()
                .as_str(),
            "a"
        );
        let many = d(Method::GET, "/stream/ws", "clientIds=a,%62")
            .unwrap()
            .target
            .ids
            .unwrap();
        assert_eq!(
            many.iter().map(StreamId::as_str).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            d(Method::GET, "/", "action=snapshot").unwrap().kind,
            Kind::Media
        );
        assert_eq!(d(Method::GET, "/", "").unwrap().kind, Kind::Page);
        assert_eq!(d(Method::GET, "/api/secret", "").unwrap().need, Need::Admin);
        assert_eq!(
            d(Method::DELETE, "/api/clients/x", "").unwrap().need,
            Need::Admin
        );
        assert_eq!(
            d(Method::HEAD, "/api/health", "").unwrap().need,
            Need::Public
        );
        let frame = d(Method::GET, "/api/clients/a/frames/12", "")
            .unwrap()
            .target;
        assert_eq!(
            (frame.id.unwrap().as_str(), frame.rest.as_deref()),
            ("a", Some("12"))
        );
        assert_eq!(
            d(Method::DELETE, "/api/devices/dk-1", "")
                .unwrap()
                .target
                .id
                .unwrap()
                .as_str(),
            "dk-1",
            "admin routes name their target too"
        );
    }

    #[test]
    fn invalid_ids_are_refused_before_anything_is_served() {
        assert!(d(Method::GET, "/snapshot", "clientId=a%2Fb").is_err());
        assert!(d(Method::GET, "/snapshot", "clientId=").is_err());
        assert!(
            d(Method::GET, "/api/clients/a+b/latest", "").is_err(),
            "a + in a path is a +, not a space, and not an ID character"
        );
        assert!(d(Method::GET, "/stream/ws", "clientId=a&clientIds=b").is_err());
    }

    #[test]
    fn a_limited_principal_is_permitted_only_its_ids() {
        let p = Principal::Token {
            id: "t".into(),
            scope: super::super::Scope::View,
            ids: Some(["a".to_string()].into()),
        };
        let target = |ids: &[&str]| Target {
            ids: Some(ids.iter().map(|i| StreamId::new(i).unwrap()).collect()),
            ..Target::default()
        };
        assert!(permits(&p, Need::View(Id::Cameras), &target(&["a"])));
        assert!(!permits(&p, Need::View(Id::Cameras), &target(&["a", "b"])));
        assert!(
            permits(&p, Need::View(Id::Cameras), &Target::default()),
            "unnamed: the edge filters"
        );
        assert!(!permits(
            &p,
            Need::Publish(Id::Query("clientId")),
            &target(&["a"])
        ));
    }

    /// The REST contract's access, as the policy says it.
    fn contract_access(need: Need) -> Option<relaydeck_contract::rest::Access> {
        use relaydeck_contract::rest::Access;
        Some(match need {
            Need::Public => Access::Public,
            Need::SignedIn => Access::SignedIn,
            Need::View(_) => Access::View,
            Need::Metrics => Access::Metrics,
            Need::Pairing(_) => Access::Pairing,
            Need::Admin => Access::Admin,
            Need::Publish(_) => return None,
        })
    }

    /// The REST routes of the table: under `/api/` (the WebSocket and media
    /// aliases aside) and `/metrics`.
    fn rest_rules() -> Vec<Rule> {
        let aliases = ["/api/stream.mjpeg", "/api/frame.jpeg"];
        table()
            .into_iter()
            .filter(|r| r.kind != Kind::WebSocket && r.kind != Kind::Page)
            .filter(|r| r.pattern.starts_with("/api/") || r.pattern == "/metrics")
            .filter(|r| !aliases.contains(&r.pattern))
            .collect()
    }

    /// An OpenAPI path template as a request path: every `{param}` a plain segment.
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_documented_route_is_in_the_policy_with_the_access_it_documents() {
        for e in relaydeck_contract::rest::endpoints() {
            let method = Method::from_bytes(e.method.as_str().as_bytes()).unwrap();
            let concrete = concrete(e.path);
            let rule = rest_rules()
                .into_iter()
                .find(|r| r.method == method && matches(r.pattern, &concrete).is_some())
                .unwrap_or_else(|| {
                    panic!(
                        "{} {} is documented but not in the policy",
                        e.method.as_str(),
                        e.path
                    )
                });
            assert_eq!(
                contract_access(rule.need),
                Some(e.access),
                "{} {}: the document says {:?}, the policy {:?}",
                e.method.as_str(),
                e.path,
                e.access,
                rule.need
            );
        }
    }

    #[test]
    fn every_rest_route_of_the_policy_is_documented() {
        let documented = relaydeck_contract::rest::endpoints();
        for rule in rest_rules() {
            let found = documented.iter().any(|e| {
                e.method.as_str() == rule.method.as_str()
                    && matches(rule.pattern, &concrete(e.path)).is_some()
            });
            assert!(
                found,
                "{} {} is not in the REST contract",
                rule.method, rule.pattern
            );
        }
    }
}
