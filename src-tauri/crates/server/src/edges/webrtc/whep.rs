//! WHEP (draft-ietf-wish-whep): any WHEP player listens to a live source.
//!
//! ```text
//! POST   /api/whep/{source}            application/sdp offer → 201, the answer,
//!                                      Location: /api/whep/{source}/{session}, ETag
//! DELETE /api/whep/{source}/{session}  ends the session → 200
//! PATCH  /api/whep/{source}/{session}  405: no trickle ICE or ICE restart (the
//!                                      answer already carries every candidate)
//! ```
//!
//! The credential is the app's usual one, normally `Authorization: Bearer
//! TOKEN` with a view token, checked against the source in the path by the
//! policy and again here. The peer is the same as `POST /api/offer` makes
//! (limits, timeouts, the shared Opus feed); its offer must have an audio
//! section that receives Opus.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use http_body_util::{BodyExt, Limited};
use parking_lot::Mutex;
use relaydeck_contract::settings::IceServer;
use tokio_util::sync::CancellationToken;

use super::{open_peer, sdp, PeerRequest, WebRtcState};
use crate::{auth::Access, error::ApiError, state::AppState, streams::find_audio_source};

/// The media type of a WHEP offer and answer.
pub const SDP: &str = "application/sdp";
/// The media type of a trickle-ICE `PATCH` (RFC 8840), refused with `405`.
pub const TRICKLE: &str = "application/trickle-ice-sdpfrag";

pub fn router() -> Router<AppState> {
    Router::new().route("/whep/{id}", post(start)).route(
        "/whep/{id}/{session}",
        axum::routing::delete(stop).patch(no_patch),
    )
}

/// The sessions a `DELETE` can end.
#[derive(Default)]
pub struct WhepSessions {
    inner: Mutex<HashMap<String, Session>>,
}

struct Session {
    source: String,
    /// Cancelled by `DELETE`, and by the peer itself when it ends.
    hangup: CancellationToken,
}

impl WhepSessions {
    fn insert(&self, id: String, source: String, hangup: CancellationToken) {
        let mut sessions = self.inner.lock();
        sessions.retain(|_, s| !s.hangup.is_cancelled());
        sessions.insert(id, Session { source, hangup });
    }

    /// Ends session `id` of `source`; false when there is none (ended, or never).
    fn end(&self, id: &str, source: &str) -> bool {
        let mut sessions = self.inner.lock();
        match sessions.get(id) {
            Some(s) if s.source == source && !s.hangup.is_cancelled() => {
                s.hangup.cancel();
                sessions.remove(id);
                true
            }
            _ => false,
        }
    }

    /// Sessions whose peer is still up.
    pub fn live(&self) -> usize {
        self.inner
            .lock()
            .values()
            .filter(|s| !s.hangup.is_cancelled())
            .count()
    }
}

async fn start(
    State(state): State<WebRtcState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = access.id()?.to_string();
    access.view(&id)?;
    let sdp_text = read_offer(&headers, body).await?;
    let offer = sdp::check_offer("offer", &sdp_text)?;
    if !offer.audio {
        return Err(ApiError::BadSdp(
            "a WHEP offer needs an audio section that receives Opus (recvonly)".into(),
        ));
    }
    let source =
        find_audio_source(&state.media, &id).map_err(|_| ApiError::UnknownSource(id.clone()))?;
    let session = session_id();
    let opened = open_peer(
        &state,
        PeerRequest {
            plays: super::Plays::Live(source),
            client: format!("whep-{session}"),
            ip: peer.ip(),
            offer,
            ended: access.ended.clone(),
        },
    )
    .await?;
    state
        .shared
        .whep
        .insert(session.clone(), id.clone(), opened.hangup);
    let mut resp = (StatusCode::CREATED, opened.answer.sdp).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    let location = format!("/api/whep/{id}/{session}");
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("an ID and hex"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{session}\"")).expect("hex"),
    );
    for link in ice_links(&state.settings.get().ice_servers) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.append(header::LINK, v);
        }
    }
    Ok(resp)
}

/// The offer: `application/sdp`, UTF-8, at most [`sdp::MAX_SDP`] bytes.
async fn read_offer(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = kind.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(SDP) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "a WHEP offer is sent as {SDP}, not '{kind}'"
        )));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let bytes = match Limited::new(body, sdp::MAX_SDP).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::SdpTooLarge(declared.unwrap_or(sdp::MAX_SDP + 1)))
        }
        Err(e) => {
            return Err(ApiError::BadRequest(format!(
                "the offer did not arrive: {e}"
            )))
        }
    };
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::BadSdp("the offer is not UTF-8 text".into()))
}

async fn stop(State(state): State<WebRtcState>, access: Access) -> Result<StatusCode, ApiError> {
    let id = access.id()?.to_string();
    access.view(&id)?;
    let session = access.target.rest.clone().unwrap_or_default();
    if state.shared.whep.end(&session, &id) {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::NotFound(format!(
            "no WHEP session '{session}' of '{id}' (it ended, or never was)"
        )))
    }
}

/// Trickle ICE and ICE restarts are not offered: the answer had every
/// candidate, and a player that lost its connection starts a new session.
async fn no_patch() -> Response {
    let mut resp = (
        StatusCode::METHOD_NOT_ALLOWED,
        "this WHEP endpoint takes no trickle ICE or ICE restart; POST a new offer instead",
    )
        .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    resp
}

/// `Link: <URL>; rel="ice-server"` for each configured STUN/TURN server
/// (the WHEP draft's way of handing them to a player).
fn ice_links(servers: &[IceServer]) -> Vec<String> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    servers
        .iter()
        .flat_map(|s| {
            s.urls.iter().map(move |url| {
                let mut link = format!("<{url}>; rel=\"ice-server\"");
                if let (Some(user), Some(pass)) = (&s.username, &s.credential) {
                    link.push_str(&format!(
                        "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                        quote(user),
                        quote(pass)
                    ));
                }
                link
            })
        })
        .collect()
}

/// 128 random bits, hex: the session's part of its URL.
fn session_id() -> String {
    crate::secrets::random_hex(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_servers_become_link_headers_with_their_credentials_quoted() {
        let servers = vec![
            IceServer {
                urls: vec!["stun:stun.example.net:3478".into()],
                username: None,
                credential: None,
            },
            IceServer {
                urls: vec!["turn:turn.example.net?transport=udp".into()],
                username: Some("ann".into()),
                credential: Some("p\"w".into()),
            },
        ];
        assert_eq!(
            ice_links(&servers),
            vec![
                "<stun:stun.example.net:3478>; rel=\"ice-server\"".to_string(),
                "<turn:turn.example.net?transport=udp>; rel=\"ice-server\"; username=\"ann\"; credential=\"p\\\"w\"; credential-type=\"password\"".to_string(),
            ]
        );
    }

    #[test]
    fn a_session_ends_once_and_only_under_its_own_source() {
        let sessions = WhepSessions::default();
        let hangup = CancellationToken::new();
        sessions.insert("s1".into(), "mic".into(), hangup.clone());
        assert!(
            !sessions.end("s1", "other"),
            "another source's URL does not end it"
        );
        assert!(sessions.end("s1", "mic") && hangup.is_cancelled());
        assert!(!sessions.end("s1", "mic"), "a second DELETE finds nothing");
        assert_eq!(sessions.live(), 0);
    }
}
