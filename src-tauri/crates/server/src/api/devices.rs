//! Devkit devices: `GET/POST /api/devices`, `DELETE /api/devices/{id}`,
//! `POST /api/devices/{id}/commands`.
//!
//! The admin, and the phone pairing's pass for the one device it registers
//! (see `auth::policy`).

use axum::{
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, post},
    Json, Router,
};
use relaydeck_contract::api::{
    CreatedDevice, Device, DeviceList, DeviceSessionStats, DevkitHosts, NewCommand, NewDevice,
    RevokedDevice,
};
use serde_json::{json, Value};

use crate::{
    auth::{Access, Caller, Principal},
    body::JsonBody,
    devkit_service::CommandError,
    edges::devkit::messages::code,
    error::ApiError,
    state::{AppState, DeviceState},
    store::devices::{DeviceRecord, RegistryError},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(create))
        .route("/devices/{id}", delete(revoke).get(one))
        .route("/devices/{id}/commands", post(command))
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(id) => ApiError::UnknownDevice(id),
            RegistryError::Exists(_) => ApiError::Conflict(e.to_string()),
            RegistryError::InvalidId(_)
            | RegistryError::Reserved(_)
            | RegistryError::BadName
            | RegistryError::BadBoardId => ApiError::BadRequest(e.to_string()),
            RegistryError::Corrupt { .. } | RegistryError::Io(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

fn device(state: &DeviceState, record: &DeviceRecord) -> Device {
    let session = state.devkits.session_info(&record.device_id);
    let listeners = match &session {
        Some(info) => info.listeners,
        None => state
            .hub
            .audio_source(&record.device_id)
            .map_or(0, |s| s.listener_count()),
    };
    Device {
        device_id: record.device_id.clone(),
        name: record.name.clone(),
        created_ms: record.created_ms,
        last_seen_ms: record.last_seen_ms,
        online: session.is_some(),
        session_id: session.as_ref().map(|i| i.session_id),
        ip: session.as_ref().map(|i| i.ip.clone()),
        fw: session.as_ref().and_then(|i| i.fw.clone()),
        board_id: record.board_id.clone(),
        format: session.as_ref().map(|i| i.format.clone()),
        transport: session.as_ref().map(|i| i.transport.to_owned()),
        connected_ms: session.as_ref().map(|i| i.connected_ms),
        last_packet_ms: session.as_ref().and_then(|i| i.last_packet_ms),
        listeners,
        status: session
            .as_ref()
            .map(|i| i.status.clone())
            .unwrap_or_default(),
        session: session
            .map(|i| DeviceSessionStats {
                packets: Some(i.packets),
                bytes: Some(i.bytes),
                lost: Some(i.lost),
                late: Some(i.late),
                duplicates: Some(i.duplicates),
                filled: Some(i.filled),
                jitter_ms: Some(i.jitter_ms),
            })
            .unwrap_or_default(),
    }
}

async fn list(State(state): State<DeviceState>, Caller(p): Caller) -> Json<DeviceList> {
    // A pairing pass sees the one device it registered (and where boards connect).
    let mine = |r: &&DeviceRecord| p.is_admin() || p.pairing_device() == Some(&r.device_id);
    let devices = state
        .devices
        .list()
        .iter()
        .filter(mine)
        .map(|r| device(&state, r))
        .collect();
    Json(DeviceList {
        devices,
        udp_drops: state.devkits.drop_counts(),
        tcp_port: state.devkits.tcp_addr().map(|a| a.port()),
        udp_port: state.devkits.udp_addr().map(|a| a.port()),
        hosts: devkit_hosts(&state),
        tls_fingerprint: state.devkits.tls_fingerprint(),
    })
}

pub(crate) fn devkit_hosts(state: &DeviceState) -> DevkitHosts {
    let ip = state
        .devkits
        .tcp_addr()
        .map_or(state.config.devkit_ip(), |a| a.ip());
    crate::lan::devkit_hosts(ip, &crate::lan::addresses())
}

async fn one(State(state): State<DeviceState>, access: Access) -> Result<Json<Device>, ApiError> {
    let id = access.id()?.to_string();
    let record = state.devices.get(&id).ok_or(ApiError::UnknownDevice(id))?;
    Ok(Json(device(&state, &record)))
}

async fn create(
    State(app): State<AppState>,
    Caller(p): Caller,
    JsonBody(new): JsonBody<NewDevice>,
) -> Result<impl IntoResponse, ApiError> {
    let state = app.device_state();
    // A pairing pass registers one board: its registration is taken before
    // anything is made, so two requests at the same moment cannot both.
    let pass = match &p {
        Principal::Pairing { pass, .. } => {
            let registration = app
                .auth
                .passes
                .begin(pass)
                .map_err(|e| ApiError::Forbidden(e.to_string()))?;
            Some((pass.as_str(), registration))
        }
        _ => None,
    };
    let hub = state.hub.clone();
    let reserved = |id: &str| hub.is_reserved(id);
    let (record, token, repaired) = match &new.board_id {
        Some(board) => state
            .devices
            .pair(board, new.device_id.as_deref(), &new.name, reserved)?,
        None => {
            let (r, t) = state
                .devices
                .create(new.device_id.as_deref(), &new.name, reserved)?;
            (r, t, false)
        }
    };
    if repaired {
        // Its old token is gone: a session still open on it ends now.
        state.devkits.disconnect(
            &record.device_id,
            code::REVOKED,
            "the board was paired again with a new token",
        );
        tracing::info!(device = %record.device_id, "device re-paired");
    } else {
        tracing::info!(device = %record.device_id, "device created");
    }
    if let Some((pass, registration)) = pass {
        if let Err(e) = app
            .phone_pairing
            .claimed(registration, pass, &record.device_id, repaired)
        {
            // The pairing ended while this request ran: undo what it made.
            if !repaired {
                let _ = revoke_device(&state, &record.device_id);
            }
            return Err(ApiError::Forbidden(e.to_string()));
        }
    }
    let body = CreatedDevice {
        device_id: record.device_id,
        name: record.name,
        token,
        created_ms: record.created_ms,
        tcp_port: state.devkits.tcp_addr().map(|a| a.port()),
        udp_port: state.devkits.udp_addr().map(|a| a.port()),
        hosts: devkit_hosts(&state),
        tls_fingerprint: state.devkits.tls_fingerprint(),
        repaired,
        note: "the token is shown only now; store it on the device".into(),
    };
    let status = if repaired {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(body)))
}

/// Revokes device `id`: its token stops working, a live session ends and
/// its audio source goes. (Also what an abandoned phone pairing does.)
pub(crate) fn revoke_device(state: &DeviceState, id: &str) -> Result<(), RegistryError> {
    state.devices.revoke(id)?;
    state
        .devkits
        .disconnect(id, code::REVOKED, "this device was revoked");
    state.hub.remove_audio_source(id);
    tracing::info!(device = %id, "device revoked");
    Ok(())
}

async fn revoke(
    State(state): State<AppState>,
    access: Access,
) -> Result<Json<RevokedDevice>, ApiError> {
    let id = access.id()?.to_string();
    revoke_device(&state.device_state(), &id)?;
    if let Principal::Pairing { pass, .. } = &access.principal {
        // The phone gave up on this board: it may register another.
        state.phone_pairing.released(&state, pass, &id);
    }
    Ok(Json(RevokedDevice {
        device_id: id,
        revoked: true,
    }))
}

async fn command(
    State(state): State<DeviceState>,
    access: Access,
    JsonBody(cmd): JsonBody<NewCommand>,
) -> Result<Json<Value>, ApiError> {
    let id = access.id()?.to_string();
    if cmd.name.is_empty() || cmd.name.len() > 64 {
        return Err(ApiError::BadRequest(
            "a command name must be 1 to 64 characters".into(),
        ));
    }
    if !state.devices.contains(&id) {
        return Err(ApiError::UnknownDevice(id));
    }
    let args = cmd.args.unwrap_or_else(|| json!({}));
    let timeout = state.config.command_timeout;
    match state.devkits.command(&id, &cmd.name, args, timeout).await {
        Ok(ack) if ack.ok => {
            // The device's ack as it sent it, with the device named.
            let mut body = ack.raw;
            body["deviceId"] = json!(id);
            Ok(Json(body))
        }
        Ok(ack) => Err(ApiError::CommandRefused(
            ack.error.unwrap_or_else(|| "no reason given".into()),
        )),
        Err(CommandError::Offline) => Err(ApiError::DeviceOffline(id)),
        Err(CommandError::Timeout(t)) => Err(ApiError::CommandTimeout(t)),
        Err(CommandError::Busy) => Err(ApiError::Conflict(format!(
            "device '{id}' has too many commands in flight"
        ))),
    }
}
