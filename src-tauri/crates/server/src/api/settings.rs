//! `GET/PUT /api/settings`, `POST /api/password` (admin) and `GET /api/session`
//! (anyone signed in: who am I, what may I do).
//!
//! A `PUT` is a merge patch of top-level keys: only the keys sent change.
//! The answer is always the whole settings object, plus `restartRequired`:
//! the keys whose new value waits for the next start (port, LAN access, TLS).

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap},
    routing::{get, post},
    Json, Router,
};
use relaydeck_contract::{
    api::{Ok as OkBody, Role, Session},
    settings::{PasswordChange, SettingsView},
};
use serde_json::Value;
use std::net::SocketAddr;

use crate::{
    auth::{Caller, Principal, Scope},
    body::JsonBody,
    error::ApiError,
    state::{AccountState, AppState},
    store::settings::{SettingsError, SettingsExt},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(read).put(update))
        .route("/password", post(change_password))
        .route("/session", get(session))
}

fn view(state: &AccountState, headers: &HeaderMap) -> Json<SettingsView> {
    let s = &state.settings;
    Json(SettingsView {
        settings: s.get(),
        running: s.running().clone(),
        restart_required: s.pending_restart().iter().map(|k| k.to_string()).collect(),
        urls: urls(state, headers),
        listening_port: state.config.bind.port(),
    })
}

/// Where browsers reach this relay: each LAN address when it listens on all
/// interfaces, else its own address (the port is the one this request used).
fn urls(state: &AccountState, headers: &HeaderMap) -> Vec<String> {
    let scheme = if state.config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let port = host
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(state.config.bind.port());
    let bind = state.config.bind.ip();
    if bind.is_unspecified() {
        crate::lan::ipv4_addresses()
            .iter()
            .map(|ip| format!("{scheme}://{ip}:{port}"))
            .collect()
    } else {
        vec![format!("{scheme}://{bind}:{port}")]
    }
}

async fn read(State(state): State<AccountState>, headers: HeaderMap) -> Json<SettingsView> {
    view(&state, &headers)
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Io { .. } | SettingsError::Backend(_) => {
                ApiError::Internal(e.to_string())
            }
            _ => ApiError::BadRequest(e.to_string()),
        }
    }
}

async fn update(
    State(state): State<AccountState>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<SettingsView>, ApiError> {
    let next = state.settings.get().patched(&patch)?;
    state.settings.update(next)?;
    tracing::info!(settings = %patch, "settings changed");
    Ok(view(&state, &headers))
}

/// The new admin password. The current one is asked again (a borrowed,
/// unlocked session must not be enough to lock the owner out), under the
/// login limiter.
async fn change_password(
    State(state): State<AccountState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<Json<OkBody>, ApiError> {
    if req.new.chars().count() < 8 {
        return Err(ApiError::BadRequest(
            "the new password needs at least 8 characters".into(),
        ));
    }
    match state
        .auth
        .check_admin_password(peer.ip(), &req.current, false)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::WrongPassword),
        Err(wait) => return Err(ApiError::TooManyAttempts(wait)),
    }
    let (auth, new) = (state.auth.clone(), req.new);
    tokio::task::spawn_blocking(move || auth.set_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!("admin password changed");
    Ok(Json(OkBody::YES))
}

async fn session(Caller(p): Caller) -> Json<Session> {
    let (role, scope, ids, token) = match &p {
        Principal::Admin => (Role::Admin, None, None, None),
        Principal::Token { id, scope, ids } => {
            let role = if *scope == Scope::Admin {
                Role::Admin
            } else {
                Role::Token
            };
            (role, Some(*scope), ids.clone(), Some(id.clone()))
        }
        Principal::Pairing { pass, .. } => (Role::Pairing, None, None, Some(pass.clone())),
    };
    Json(Session {
        role,
        admin: p.is_admin(),
        scope,
        ids,
        token,
        can_view: p.can_view_some(),
        can_publish: p.can_publish_some(),
    })
}
