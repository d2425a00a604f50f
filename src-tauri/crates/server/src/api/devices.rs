//! Devkit devices: `GET/POST /api/devices`, `DELETE /api/devices/{id}`,
//! `POST /api/devices/{id}/commands`.
//!
//! Admin only (see `auth::policy`).

use axum::{
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    auth::Access,
    body::JsonBody,
    edges::devkit::{messages::code, CommandError},
    error::ApiError,
    state::AppState,
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
            RegistryError::InvalidId(_) | RegistryError::Reserved(_) | RegistryError::BadName => {
                ApiError::BadRequest(e.to_string())
            }
            RegistryError::Corrupt { .. } | RegistryError::Io(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

fn device_json(state: &AppState, record: &DeviceRecord) -> Value {
    let mut v = json!({
        "deviceId": record.device_id, "name": record.name,
        "createdMs": record.created_ms, "lastSeenMs": record.last_seen_ms,
    });
    let obj = v.as_object_mut().expect("an object");
    match state.devkits.device(&record.device_id) {
        Some(session) => {
            obj.insert("online".into(), json!(true));
            if let Value::Object(info) = serde_json::to_value(session.info()).expect("serialisable")
            {
                obj.extend(info);
            }
        }
        None => {
            obj.insert("online".into(), json!(false));
            let listeners = state
                .hub
                .audio_source(&record.device_id)
                .map_or(0, |s| s.listener_count());
            for key in [
                "sessionId",
                "ip",
                "fw",
                "format",
                "connectedMs",
                "lastPacketMs",
            ] {
                obj.insert(key.into(), Value::Null);
            }
            obj.insert("listeners".into(), json!(listeners));
            obj.insert("status".into(), Value::Object(Map::new()));
        }
    }
    v
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let devices: Vec<Value> = state
        .devices
        .list()
        .iter()
        .map(|r| device_json(&state, r))
        .collect();
    Json(json!({ "devices": devices, "udpDrops": state.devkits.drop_counts() }))
}

async fn one(State(state): State<AppState>, access: Access) -> Result<Json<Value>, ApiError> {
    let id = access.id()?.to_string();
    let record = state.devices.get(&id).ok_or(ApiError::UnknownDevice(id))?;
    Ok(Json(device_json(&state, &record)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDevice {
    #[serde(rename = "deviceId")]
    device_id: Option<String>,
    name: String,
}

async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewDevice>,
) -> Result<impl IntoResponse, ApiError> {
    let hub = state.hub.clone();
    let (record, token) = state
        .devices
        .create(new.device_id.as_deref(), &new.name, |id| {
            hub.is_reserved(id)
        })?;
    tracing::info!(device = %record.device_id, "device created");
    let body = json!({
        "deviceId": record.device_id, "name": record.name, "token": token, "createdMs": record.created_ms,
        "tcpPort": state.devkits.tcp_addr().map(|a| a.port()), "udpPort": state.devkits.udp_addr().map(|a| a.port()),
        "note": "the token is shown only now; store it on the device",
    });
    Ok((StatusCode::CREATED, Json(body)))
}

async fn revoke(State(state): State<AppState>, access: Access) -> Result<Json<Value>, ApiError> {
    let id = access.id()?.to_string();
    state.devices.revoke(&id)?;
    state
        .devkits
        .disconnect(&id, code::REVOKED, "this device was revoked");
    state.hub.remove_audio_source(&id);
    tracing::info!(device = %id, "device revoked");
    Ok(Json(json!({ "deviceId": id, "revoked": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCommand {
    name: String,
    #[serde(default)]
    args: Option<Value>,
}

async fn command(
    State(state): State<AppState>,
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
