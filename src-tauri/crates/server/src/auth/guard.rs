//! The middleware in front of every route: reads the caller's credentials,
//! looks the route up in the policy table and lets the request through,
//! or answers the way that kind of route should (JSON 401, Basic challenge,
//! redirect to the login page, refused handshake).
//!
//! Credentials: the session cookie; `Authorization: Bearer TOKEN`;
//! `Authorization: Basic` with a token as the password (or `admin` and the
//! admin password, rate-limited like the login); `?token=TOKEN` where a
//! browser cannot set headers (WebSocket, `<img>`, `<audio>`). One request
//! carries one of them: two different ones are a `400`.
//!
//! On the phone pairing's listener (a request carrying [`PairingListener`])
//! only the pairing pass counts, and only its routes (`Need::Pairing`, the
//! UI's assets) exist: everything else is a `404`.
//!
//! The query is parsed here once ([`Params`]); the policy decides on that
//! parse and handlers serve from it ([`Access`]), so the two cannot disagree
//! about which camera a request names.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;

use super::{
    access::Access,
    cookie::COOKIE_NAME,
    policy::{self, Decision, Kind, Need},
    query::Params,
    Principal,
};
use crate::{error::ApiError, state::GuardState};

/// Marks a request that came in on the phone pairing's listener.
#[derive(Debug, Clone, Copy)]
pub struct PairingListener;

/// What the phone pairing's listener serves: the pairing routes and the UI's assets.
fn on_pairing_listener(d: &Decision, path: &str) -> bool {
    matches!(d.need, Need::Pairing(_)) || (d.need == Need::Public && path.starts_with("/assets/"))
}

/// How the caller proved who they are. The cookie and HTTP Basic are
/// *ambient*: a browser sends them on its own, even for another site's page,
/// so a foreign `Origin` may not use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Basic,
    Bearer,
    Query,
}

impl Via {
    fn ambient(self) -> bool {
        matches!(self, Via::Cookie | Via::Basic)
    }
}

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The one credential a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    /// A session cookie that verified.
    Session,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
    Query(String),
    /// An `Authorization` header this server cannot read.
    Unreadable,
}

impl Credential {
    /// What the credential is, for comparing two of them: the same token
    /// sent twice (as Bearer and as `?token=`) is one credential.
    fn identity(&self) -> String {
        match self {
            Credential::Session => "the session cookie".into(),
            Credential::Bearer(t)
            | Credential::Query(t)
            | Credential::Basic { password: t, .. } => format!("token {t}"),
            Credential::Unreadable => "an unreadable Authorization header".into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Credential::Session => "session cookie",
            Credential::Bearer(_) => "Bearer token",
            Credential::Basic { .. } => "HTTP Basic",
            Credential::Query(_) => "?token=",
            Credential::Unreadable => "Authorization header",
        }
    }
}

fn authorization(value: &str) -> Credential {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Credential::Bearer(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            return Credential::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            };
        }
    }
    Credential::Unreadable
}

/// Every credential in the request; more than one different one is refused
/// (the request would mean two callers at once).
fn credential(
    state: &GuardState,
    req: &Request,
    params: &Params,
    phone: bool,
) -> Result<Option<Credential>, ApiError> {
    let headers = req.headers();
    let mut found: Vec<Credential> = Vec::new();
    // The admin's cookie (same host, another port) means nothing to the phone listener.
    if !phone
        && cookie_value(headers, COOKIE_NAME)
            .is_some_and(|c| state.auth.cookies.verify(c).is_some())
    {
        found.push(Credential::Session);
    }
    let mut auth_headers = headers.get_all(header::AUTHORIZATION).iter();
    if let Some(value) = auth_headers.next() {
        if auth_headers.next().is_some() {
            return Err(ApiError::ConflictingCredentials(
                "two Authorization headers".into(),
            ));
        }
        found.push(value.to_str().map_or(Credential::Unreadable, authorization));
    }
    if let Some(token) = params.get("token") {
        found.push(Credential::Query(token.to_owned()));
    }
    let first = found.first().cloned();
    if let Some(other) = found
        .iter()
        .find(|c| first.as_ref().is_some_and(|f| f.identity() != c.identity()))
    {
        let first = first.expect("found is not empty");
        return Err(ApiError::ConflictingCredentials(format!(
            "{} and {}",
            first.kind(),
            other.kind()
        )));
    }
    // The same token twice: the header form names it best.
    Ok(found
        .into_iter()
        .min_by_key(|c| matches!(c, Credential::Query(_))))
}

/// Who a credential stands for, and when it expires; `Err` when the caller must wait (login limit).
async fn principal(
    state: &GuardState,
    cred: Credential,
    peer: SocketAddr,
    phone: bool,
) -> Result<Option<(Principal, Option<u64>, Via)>, ApiError> {
    let auth = &state.auth;
    // The phone listener knows the pairing pass and nothing else; the pass works nowhere else.
    let token = |t: &str, via| match phone {
        true => auth.passes.principal(t).map(|(p, e)| (p, Some(e), via)),
        false => auth
            .token_record(t)
            .map(|r| (Principal::from(&r), r.expires_ms, via)),
    };
    if phone && matches!(cred, Credential::Basic { .. } | Credential::Session) {
        return Ok(None);
    }
    Ok(match cred {
        Credential::Session => Some((Principal::Admin, None, Via::Cookie)),
        Credential::Bearer(t) => token(&t, Via::Bearer),
        Credential::Query(t) => token(&t, Via::Query),
        Credential::Basic { user, password } => match token(&password, Via::Basic) {
            Some(found) => Some(found),
            None if user == "admin" => {
                match auth.check_admin_password(peer.ip(), &password, true).await {
                    Ok(true) => Some((Principal::Admin, None, Via::Basic)),
                    Ok(false) => None,
                    Err(wait) => return Err(ApiError::TooManyAttempts(wait)),
                }
            }
            None => None,
        },
        Credential::Unreadable => None,
    })
}

/// A browser page on another origin must not use the user's ambient
/// credentials (WebSockets are not covered by CORS; SameSite is the first
/// line for the cookie, this the second, and the only one for Basic).
fn foreign_origin(state: &GuardState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    !origin_host.eq_ignore_ascii_case(host) && !state.config.cors_allow.iter().any(|a| a == origin)
}

/// JSON endpoints take only JSON media types (a cross-site `<form>` can post
/// only form encodings and `text/plain`); `POST /api/login` also takes its
/// form, and WHEP its `application/sdp` offers and trickle-ICE fragments
/// (which a form cannot send either).
fn json_only(req: &Request) -> Result<(), ApiError> {
    let path = req.uri().path();
    // Only the methods that carry a body the API reads (a form can send
    // POST only; the others are refused by the router when not offered).
    if !path.starts_with("/api/")
        || !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
    {
        return Ok(());
    }
    let Some(media) = crate::body::media_type(req.headers()) else {
        return Ok(());
    };
    let form_login = path == "/api/login"
        && *req.method() == Method::POST
        && media == "application/x-www-form-urlencoded";
    let whep_offer = path.starts_with("/api/whep/")
        && matches!(
            (req.method(), media.as_str()),
            (&Method::POST, crate::edges::webrtc::whep::SDP)
                | (&Method::PATCH, crate::edges::webrtc::whep::TRICKLE)
        );
    // An audio upload is whatever the file is; the library reads its bytes.
    let upload = crate::body::is_upload(req);
    if crate::body::is_json_media_type(&media) || form_login || whep_offer || upload {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(media))
    }
}

/// `405` with `Allow` for a method the table does not offer at a path it
/// knows (what the router says too, had the media type not stopped it first).
fn not_offered(state: &GuardState, req: &Request) -> Option<Response> {
    let offered = policy::offered(&state.policy, req.uri().path());
    if offered.is_empty() || offered.contains(req.method()) {
        return None;
    }
    let allow = offered
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let mut resp = ApiError::MethodNotAllowed(req.method().to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    Some(resp)
}

/// What a caller without (working) credentials gets. `link_ended`: a page was
/// asked for with a `?token=` that is unknown, revoked or expired — a share
/// link that no longer works, which the sign-in page explains.
fn unauthorized(d: &Decision, req: &Request, link_ended: bool) -> Response {
    match d.kind {
        Kind::Page if link_ended => {
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_static("/login?link=ended"),
            );
            resp
        }
        Kind::Page => {
            let target = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/");
            let next: String = target
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&format!("/login?next={next}")).expect("ASCII"),
            );
            resp
        }
        Kind::Media => {
            let mut resp = ApiError::Unauthorized.into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Relay Deck\", charset=\"UTF-8\""),
            );
            resp
        }
        Kind::Api | Kind::WebSocket => ApiError::Unauthorized.into_response(),
    }
}

/// Parses the request once, decides, authenticates, and hands the decision
/// on as the request's [`Access`].
async fn admit(state: &GuardState, peer: SocketAddr, req: &mut Request) -> Result<(), Response> {
    let params = Params::parse(req.uri().query()).map_err(|e| ApiError::from(e).into_response())?;
    let d = policy::decide(&state.policy, req.method(), req.uri().path(), &params)
        .map_err(IntoResponse::into_response)?;
    let phone = req.extensions().get::<PairingListener>().is_some();
    if phone && !on_pairing_listener(&d, req.uri().path()) {
        return Err(ApiError::NotFound(req.uri().path().to_owned()).into_response());
    }
    if let Err(e) = json_only(req) {
        // A method the path does not offer is a 405, whatever its body.
        return Err(not_offered(state, req).unwrap_or_else(|| e.into_response()));
    }
    let cred = credential(state, req, &params, phone).map_err(IntoResponse::into_response)?;
    let params = params.shared();
    req.extensions_mut().insert(params.clone());
    if d.need == Need::Public {
        return Ok(());
    }
    // The phone listener has no sign-in page to send anyone to.
    let Some(cred) = cred else {
        return Err(match phone {
            true => ApiError::Unauthorized.into_response(),
            false => unauthorized(&d, req, false),
        });
    };
    let link = matches!(cred, Credential::Query(_));
    let (p, expires, via) = match principal(state, cred, peer, phone).await {
        Err(e) => return Err(e.into_response()),
        Ok(None) if phone => return Err(ApiError::Unauthorized.into_response()),
        Ok(None) => return Err(unauthorized(&d, req, link)),
        Ok(Some(found)) => found,
    };
    if via.ambient() && foreign_origin(state, req.headers()) {
        return Err(ApiError::Forbidden("requests from another origin may not use the browser's saved credentials (session cookie or HTTP Basic)".into()).into_response());
    }
    if !policy::permits(&p, d.need, &d.target) {
        let what = d
            .target
            .id
            .as_ref()
            .map(|id| format!(" for '{id}'"))
            .unwrap_or_default();
        return Err(
            ApiError::Forbidden(format!("these credentials do not allow this{what}"))
                .into_response(),
        );
    }
    let ended = state.revocations.ending_for(&p, expires);
    req.extensions_mut().insert(Access {
        principal: p,
        target: d.target,
        params,
        ended,
    });
    Ok(())
}

pub async fn guard(
    State(state): State<GuardState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    match admit(&state, peer, &mut req).await {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal,
    }
}
