//! The middleware in front of every route: reads the caller's credentials,
//! looks the route up in the policy table and lets the request through,
//! or answers the way that kind of route should (JSON 401, Basic challenge,
//! redirect to the login page, refused handshake).
//!
//! Credentials, in order: the session cookie; `Authorization: Bearer TOKEN`;
//! `Authorization: Basic` with a token as the password (or `admin` and the
//! admin password, rate-limited like the login); `?token=TOKEN` where a
//! browser cannot set headers (WebSocket, `<img>`, `<audio>`).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;

use super::{
    cookie::COOKIE_NAME,
    policy::{self, Decision, Kind, Need},
    Principal,
};
use crate::{error::ApiError, state::AppState};

/// How the caller proved who they are (the cookie path also checks Origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Header,
    Query,
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

/// Who the request's credentials stand for; `Err` when the caller must wait (login limit).
fn principal(
    state: &AppState,
    req: &Request,
    peer: SocketAddr,
) -> Result<Option<(Principal, Via)>, ApiError> {
    let auth = &state.auth;
    let headers = req.headers();
    if let Some(c) = cookie_value(headers, COOKIE_NAME) {
        if auth.cookies.verify(c).is_some() {
            return Ok(Some((Principal::Admin, Via::Cookie)));
        }
    }
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ").map(str::trim) {
            return Ok(auth.token_principal(token).map(|p| (p, Via::Header)));
        }
        if let Some(b64) = value.strip_prefix("Basic ").map(str::trim) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Ok(None);
            };
            if let Some(p) = auth.token_principal(password) {
                return Ok(Some((p, Via::Header)));
            }
            if user == "admin" {
                return match auth.login(peer.ip(), password) {
                    Ok(true) => Ok(Some((Principal::Admin, Via::Header))),
                    Ok(false) => Ok(None),
                    Err(wait) => Err(ApiError::TooManyAttempts(wait)),
                };
            }
            return Ok(None);
        }
    }
    if let Some(token) = policy::query_param(req.uri().query(), "token") {
        return Ok(auth.token_principal(&token).map(|p| (p, Via::Query)));
    }
    Ok(None)
}

fn allowed(p: &Principal, d: &Decision) -> bool {
    match (d.need, d.id.as_deref()) {
        (Need::Public, _) => true,
        (Need::View(_), Some(id)) => p.can_view(id),
        (Need::View(_), None) => p.can_view_some(),
        (Need::Publish(_), Some(id)) => p.can_publish(id),
        (Need::Publish(_), None) => p.can_publish_some(),
        (Need::SignedIn, _) => true,
        (Need::Admin, _) => p.is_admin(),
    }
}

/// A browser page on another origin must not use the user's session
/// (WebSockets are not covered by CORS; SameSite is the first line, this the second).
fn foreign_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    origin_host != host && !state.config.cors_allow.iter().any(|a| a == origin)
}

fn unauthorized(d: &Decision, req: &Request) -> Response {
    match d.kind {
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

pub async fn guard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let d = policy::decide(
        &state.policy,
        req.method(),
        req.uri().path(),
        req.uri().query(),
    );
    if d.need == Need::Public {
        return next.run(req).await;
    }
    let (p, via) = match principal(&state, &req, peer) {
        Err(e) => return e.into_response(),
        Ok(None) => return unauthorized(&d, &req),
        Ok(Some(found)) => found,
    };
    if via == Via::Cookie && foreign_origin(&state, req.headers()) {
        return ApiError::Forbidden("requests from another origin may not use this session".into())
            .into_response();
    }
    if !allowed(&p, &d) {
        let what =
            d.id.as_deref()
                .map(|id| format!(" for '{id}'"))
                .unwrap_or_default();
        return ApiError::Forbidden(format!("these credentials do not allow this{what}"))
            .into_response();
    }
    req.extensions_mut().insert(p);
    next.run(req).await
}
