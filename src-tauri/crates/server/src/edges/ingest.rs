//! `GET /ws`: cameras publish JPEG frames.
//!
//! A camera names itself with `?clientId=ID` or a first text message
//! (`register`, or SkySentry's `client-registration`), then sends each frame
//! as one binary message. Bad frames are answered with an error message and
//! dropped; the connection stays. A newer connection with the same ID takes
//! the camera over and this one is closed with a reason.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::{extract::State, response::Response, routing::get, Router};
use relaydeck_hub::{HubError, PublisherLease, SourceKind};
use serde::Deserialize;
use serde_json::json;

use super::control::{self, error_message};
use crate::{
    auth::Access,
    limits::Held,
    state::AppState,
    ws::{close, conn::silent_for_too_long, ticks, Inbound, WsConn, WsLimits, WsUpgrade},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(ingest))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum CameraMessage {
    Register {
        #[serde(rename = "clientId")]
        client_id: String,
        name: Option<String>,
    },
    /// SkySentry's capture clients register this way.
    ClientRegistration {
        #[serde(rename = "clientId")]
        client_id: String,
        name: Option<String>,
    },
    Ping {
        t: Option<serde_json::Value>,
    },
}

const KNOWN: &[&str] = &["register", "client-registration", "ping"];

/// Which acknowledgement the camera expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dialect {
    RelayDeck,
    SkySentry,
}

struct Registration {
    id: String,
    name: Option<String>,
    dialect: Dialect,
}

async fn ingest(State(state): State<AppState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: state.config.max_frame_bytes,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| run(state, conn, access))
}

async fn run(state: AppState, mut conn: WsConn, access: Access) {
    if let Err(reason) = access.valid_target() {
        return conn.close(close::POLICY, &reason).await;
    }
    // `?clientId=` as the guard resolved and checked it, or a registration message.
    let registration = match &access.target.id {
        Some(id) => Registration {
            id: id.to_string(),
            name: access.param("name").map(str::to_owned),
            dialect: Dialect::RelayDeck,
        },
        None => match await_registration(&state, &mut conn).await {
            Ok(r) => r,
            Err(Some((code, reason))) => return conn.close(code, &reason).await,
            Err(None) => return,
        },
    };
    // Asked here for the ID this edge accepts (the only check for an ID that
    // came in a registration message).
    if access.publish(&registration.id).is_err() {
        let reason = format!(
            "these credentials do not allow publishing '{}'",
            registration.id
        );
        return conn.close(close::POLICY, &reason).await;
    }
    let streams = state.hub.streams();
    let exists = streams.iter().any(|s| s.id().as_str() == registration.id);
    let _claim = match state.quota.claim(
        Held::Stream,
        &access.principal,
        &registration.id,
        streams.len(),
        exists,
    ) {
        Ok(claim) => claim,
        Err(e) => return conn.close(close::POLICY, &e.to_string()).await,
    };
    drop(streams);
    let lease = match state.hub.publish_as(
        &registration.id,
        registration.name.clone(),
        SourceKind::Remote,
    ) {
        Ok(lease) => lease,
        Err(e) => return conn.close(close::POLICY, &e.to_string()).await,
    };
    let ack = match registration.dialect {
        Dialect::RelayDeck => json!({ "type": "registered", "clientId": registration.id }),
        Dialect::SkySentry => {
            json!({ "type": "registration-success", "clientId": registration.id, "timestamp": unix_ms() })
        }
    };
    if conn.send_json(&ack).await.is_err() {
        return;
    }
    tracing::info!(camera = ?registration.id, "camera connected");
    let (code, reason) = publish_loop(&state, &access, &mut conn, &lease).await;
    tracing::info!(camera = ?registration.id, code, reason = ?reason, "camera disconnected");
    if code != 0 {
        conn.close(code, &reason).await;
    }
}

/// Waits for `register` / `client-registration`. `Err(Some(..))` closes with
/// that code and reason; `Err(None)` means the peer is already gone.
async fn await_registration(
    state: &AppState,
    conn: &mut WsConn,
) -> Result<Registration, Option<(u16, String)>> {
    let deadline = tokio::time::sleep(state.config.register_timeout);
    tokio::pin!(deadline);
    loop {
        let msg = tokio::select! {
            msg = conn.recv() => msg,
            _ = &mut deadline => return Err(Some((close::POLICY, format!("no register message within {:?}", state.config.register_timeout)))),
            _ = state.shutdown.cancelled() => return Err(Some((close::GOING_AWAY, "server shutting down".into()))),
        };
        let reply = match msg {
            Some(Inbound::Text(text)) => match control::parse::<CameraMessage>(&text, KNOWN) {
                Ok(CameraMessage::Register { client_id, name }) => {
                    return Ok(Registration {
                        id: client_id,
                        name,
                        dialect: Dialect::RelayDeck,
                    })
                }
                Ok(CameraMessage::ClientRegistration { client_id, name }) => {
                    return Ok(Registration {
                        id: client_id,
                        name,
                        dialect: Dialect::SkySentry,
                    })
                }
                Ok(CameraMessage::Ping { t }) => json!({ "type": "pong", "t": t }),
                Err(e) => e.to_message(),
            },
            Some(Inbound::Binary(_)) => error_message(
                "not_registered",
                "send {\"type\":\"register\",\"clientId\":\"…\"} before frames; frame dropped",
            ),
            Some(Inbound::Reply(frame)) => {
                let _ = conn.send_reply(frame).await;
                continue;
            }
            Some(Inbound::Pong) => continue,
            Some(Inbound::Failed(f)) => return Err(Some((f.close_code(), f.to_string()))),
            Some(Inbound::Closed { .. }) | None => return Err(None),
        };
        if conn.send_json(&reply).await.is_err() {
            return Err(None);
        }
    }
}

/// Publishes frames until the connection ends; returns the close code to
/// send (0: none, the peer is gone).
async fn publish_loop(
    state: &AppState,
    access: &Access,
    conn: &mut WsConn,
    lease: &PublisherLease,
) -> (u16, String) {
    let mut ping = ticks::on_grid(state.config.ws_ping_interval);
    let mut last_seen = Instant::now();
    loop {
        let msg = tokio::select! {
            biased;
            _ = access.ended.cancelled() => return close::ended(access, &state.shutdown),
            _ = lease.superseded() => return (close::NORMAL, "replaced by a newer connection with the same clientId".into()),
            _ = ping.tick() => {
                if let Some(reason) = silent_for_too_long(last_seen, state.config.ws_timeout) {
                    return (close::GOING_AWAY, reason);
                }
                if conn.send_ping().await.is_err() { return (0, "write failed".into()); }
                continue;
            }
            msg = conn.recv() => msg,
        };
        last_seen = Instant::now();
        let reply = match msg {
            Some(Inbound::Binary(jpeg)) => match lease.publish(&jpeg) {
                Ok(_) => continue,
                Err(HubError::Superseded) => {
                    return (
                        close::NORMAL,
                        "replaced by a newer connection with the same clientId".into(),
                    )
                }
                Err(e @ HubError::InvalidFrame(_)) => {
                    error_message("invalid_frame", &format!("{e}; frame dropped"))
                }
                Err(e) => error_message("frame_refused", &format!("{e}; frame dropped")),
            },
            Some(Inbound::Text(text)) => match control::parse::<CameraMessage>(&text, KNOWN) {
                Ok(CameraMessage::Ping { t }) => json!({ "type": "pong", "t": t }),
                Ok(
                    CameraMessage::Register { client_id, .. }
                    | CameraMessage::ClientRegistration { client_id, .. },
                ) => error_message(
                    "already_registered",
                    &format!(
                        "this connection already publishes '{}'; reconnect to use '{client_id}'",
                        lease.stream().id()
                    ),
                ),
                Err(e) => e.to_message(),
            },
            Some(Inbound::Reply(frame)) => {
                if conn.send_reply(frame).await.is_err() {
                    return (0, "write failed".into());
                }
                continue;
            }
            Some(Inbound::Pong) => continue,
            Some(Inbound::Failed(f)) => return (f.close_code(), f.to_string()),
            Some(Inbound::Closed { code, .. }) => {
                return (0, format!("closed by the camera ({code:?})"))
            }
            None => return (0, "reader ended".into()),
        };
        if conn.send_json(&reply).await.is_err() {
            return (0, "write failed".into());
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
