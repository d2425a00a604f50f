//! The policy table: what every route needs, in one place.
//!
//! Each row is a method, a path pattern (`{id}` matches one segment, `{*}`
//! the rest), what the caller needs and what kind of route it is (which
//! decides how a refusal looks). A route not in the table needs the admin:
//! new routes are closed until someone decides otherwise. Later issues add
//! their rows here (WebRTC signalling, pairing).

use axum::http::Method;

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
        GET  "/api/session"                    => SignedIn, Api;

        GET  "/"                               => View(None), Page;
        GET  "/index.html"                     => View(None), Page;
        GET  "/assets/{*}"                     => Public, Page;   // the UI's script and styles: no data in them
        GET  "/stream/ws"                      => View(Query("clientId")), WebSocket;
        GET  "/api/clients"                    => View(None), Api;
        GET  "/api/streams"                    => View(None), Api;
        GET  "/api/clients/{id}"               => View(Path), Api;
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

        GET  "/capture"                        => Publish(None), Page;   // the capture page a publish link opens
        GET  "/ws"                             => Publish(Query("clientId")), WebSocket;
        GET  "/audio/publish"                  => Publish(Query("source")), WebSocket;

        GET    "/api/devices"                  => Admin, Api;
        POST   "/api/devices"                  => Admin, Api;
        GET    "/api/devices/{id}"             => Admin, Api;
        DELETE "/api/devices/{id}"             => Admin, Api;
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

/// What a request needs: its rule's `need` with the ID resolved, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub need: Need,
    pub id: Option<String>,
    pub kind: Kind,
}

/// Matches `path` against `pattern`; returns the `{id}` segment if any.
fn matches(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut id = None;
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(id),
            (Some("{*}"), Some(_)) => return Some(id),
            (Some("{id}"), Some(seg)) if !seg.is_empty() => id = Some(percent_decode(seg)),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // On bytes, not `&str` slices: a `%` may be followed by a multi-byte
        // character (found by fuzzing: slicing there panicked).
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The value of query parameter `name`.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

/// Decides what a request needs.
pub fn decide(table: &[Rule], method: &Method, path: &str, query: Option<&str>) -> Decision {
    // mjpg-streamer's `/?action=stream|snapshot` is media, not the UI page.
    if path == "/" && query_param(query, "action").is_some() {
        return Decision {
            need: Need::View(Id::Query("clientId")),
            id: query_param(query, "clientId"),
            kind: Kind::Media,
        };
    }
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    for rule in table.iter().filter(|r| r.method == *method) {
        if let Some(path_id) = matches(rule.pattern, path) {
            let id = match rule.need {
                Need::View(Id::Path) | Need::Publish(Id::Path) => path_id,
                Need::View(Id::Query(q)) | Need::Publish(Id::Query(q)) => query_param(query, q),
                _ => None,
            };
            return Decision {
                need: rule.need,
                id,
                kind: rule.kind,
            };
        }
    }
    // UI files at the root (`/favicon.svg`, …) are pages; anything else is closed.
    let single_segment = path.len() > 1 && !path[1..].contains('/') && path.contains('.');
    if *method == Method::GET && single_segment {
        return Decision {
            need: Need::View(Id::None),
            id: None,
            kind: Kind::Page,
        };
    }
    Decision {
        need: Need::Admin,
        id: None,
        kind: if path.starts_with("/api/") {
            Kind::Api
        } else {
            Kind::Page
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_capture_ids_and_unknown_routes_need_the_admin() {
        let t = table();
        let d = decide(&t, &Method::GET, "/api/clients/cam%2D1/latest", None);
        assert_eq!(
            (d.need, d.id.as_deref(), d.kind),
            (Need::View(Id::Path), Some("cam-1"), Kind::Media)
        );
        let d = decide(&t, &Method::GET, "/stream/ws", Some("clientId=a&x=1"));
        assert_eq!(d.id.as_deref(), Some("a"));
        assert_eq!(
            decide(&t, &Method::GET, "/", Some("action=snapshot")).kind,
            Kind::Media
        );
        assert_eq!(decide(&t, &Method::GET, "/", None).kind, Kind::Page);
        assert_eq!(
            decide(&t, &Method::GET, "/api/secret", None).need,
            Need::Admin
        );
        assert_eq!(
            decide(&t, &Method::DELETE, "/api/clients/x", None).need,
            Need::Admin
        );
        assert_eq!(
            decide(&t, &Method::HEAD, "/api/health", None).need,
            Need::Public
        );
        assert_eq!(
            query_param(Some("a=%Ϲ&b=%41%4"), "a").as_deref(),
            Some("%Ϲ"),
            "a % before a multi-byte character"
        );
        assert_eq!(query_param(Some("b=%41%4"), "b").as_deref(), Some("A%4"));
    }
}
