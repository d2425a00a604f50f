//! "Pair with your phone" (`crate::phone_pairing`): the admin opens, follows
//! and closes it; the phone reports its steps.
//!
//! * `POST /api/pairing/phone`: open the listener (a new one replaces an open one) → `201`.
//! * `GET /api/pairing/phone?since=REV`: the status; with `since`, waits up
//!   to 25 s for a newer revision (a long poll, so the app follows live).
//! * `DELETE /api/pairing/phone`: cancel; a registered board that is not online is revoked.
//! * `PUT /api/pairing/phone/progress`: the phone's steps (with its pass; `409` when none is open).

use std::time::Duration;

use axum::{
    extract::State,
    http::StatusCode,
    routing::{post, put},
    Json, Router,
};
use relaydeck_contract::api::{PhonePairing, PhoneProgress};

use crate::{
    auth::{Access, Principal},
    body::JsonBody,
    error::ApiError,
    phone_pairing::PhonePairingError,
    state::AppState,
};

/// How long `GET ?since=` waits for a change.
const LONG_POLL: Duration = Duration::from_secs(25);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pairing/phone", post(open).get(status).delete(close))
        .route("/pairing/phone/progress", put(progress))
}

impl From<PhonePairingError> for ApiError {
    fn from(e: PhonePairingError) -> Self {
        match e {
            PhonePairingError::NoLanAddress => ApiError::NoLanAddress(e.to_string()),
            PhonePairingError::BadProgress(m) => ApiError::BadRequest(m),
            PhonePairingError::Ended => ApiError::Conflict(e.to_string()),
            PhonePairingError::Tls(_) | PhonePairingError::Bind { .. } => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

async fn open(State(state): State<AppState>) -> Result<(StatusCode, Json<PhonePairing>), ApiError> {
    let status = state.phone_pairing.open(&state).await?;
    Ok((StatusCode::CREATED, Json(status)))
}

async fn status(
    State(state): State<AppState>,
    access: Access,
) -> Result<Json<PhonePairing>, ApiError> {
    let Some(since) = access.param("since") else {
        return Ok(Json(state.phone_pairing.status()));
    };
    let since = since.parse::<u64>().map_err(|_| {
        ApiError::BadRequest(format!("since must be a revision number, not '{since}'"))
    })?;
    Ok(Json(
        state.phone_pairing.status_after(since, LONG_POLL).await,
    ))
}

async fn close(State(state): State<AppState>) -> StatusCode {
    state.phone_pairing.close(&state, "cancelled in the app");
    StatusCode::NO_CONTENT
}

async fn progress(
    State(state): State<AppState>,
    access: Access,
    JsonBody(report): JsonBody<PhoneProgress>,
) -> Result<StatusCode, ApiError> {
    // The phone reports with its pass; the admin may report on the open pairing too.
    let pass = match &access.principal {
        Principal::Pairing { pass, .. } => Some(pass.clone()),
        _ => state.phone_pairing.open_pass(),
    };
    let pass = pass.ok_or_else(|| ApiError::Conflict("no phone pairing is open".into()))?;
    state.phone_pairing.progress(&pass, report)?;
    Ok(StatusCode::NO_CONTENT)
}
