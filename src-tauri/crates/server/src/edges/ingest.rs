//! `GET /ws`: cameras publish JPEG frames.
//!
//! A camera names itself with `?clientId=ID` or a first text message
//! (`register`, or SkySentry's `client-registration`), then sends each frame
//! as one binary message. Bad frames are answered with an error message and
//! dropped; the connection stays. A newer connection with the same ID takes
//! the camera over and this one is closed with a reason.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{extract::State, response::Response, routing::get, Router};
use bytes::Bytes;
use relaydeck_contract::{
    camera_ws::{CameraMessage, CameraReply, Registration},
    socket::{code, SocketReply},
};
use relaydeck_hub::{HubError, PublisherLease, SourceKind};

use crate::{
    auth::Access,
    limits::{Held, QuotaClaim},
    state::{AppState, MediaState},
    ws::{
        session::{self, Deadline, End, SocketEdge, Step},
        Socket, WsLimits, WsUpgrade,
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(ingest))
}

async fn ingest(State(state): State<MediaState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: state.config.max_frame_bytes,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| async move {
        let mut socket = Socket::new(conn);
        let end = serve(&state, &access, &mut socket).await;
        tracing::info!(%end, "camera disconnected");
        socket.finish(&end).await;
    })
}

async fn serve(state: &MediaState, access: &Access, socket: &mut Socket) -> End {
    if let Err(reason) = access.valid_target() {
        return End::policy(reason);
    }
    let mut camera = CameraPublisher::new(state.clone(), access.clone());
    // `?clientId=` as the guard resolved and checked it names the camera at once.
    if let Some(id) = &access.target.id {
        let registration = Registration {
            client_id: id.to_string(),
            name: access.param("name").map(str::to_owned),
        };
        if let Err(end) = camera
            .register(socket, registration, Dialect::RelayDeck)
            .await
        {
            return end;
        }
    }
    session::run(
        socket,
        &mut camera,
        access,
        &state.shutdown,
        state.keepalive(),
    )
    .await
}

/// Which acknowledgement the camera expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dialect {
    RelayDeck,
    SkySentry,
}

/// One camera's connection: unregistered until it names itself, then the
/// holder of the stream's lease.
struct CameraPublisher {
    state: MediaState,
    access: Access,
    published: Option<(PublisherLease, QuotaClaim)>,
    register_deadline: Deadline,
}

impl CameraPublisher {
    fn new(state: MediaState, access: Access) -> Self {
        Self {
            register_deadline: Deadline::new(state.config.register_timeout, "register"),
            state,
            access,
            published: None,
        }
    }

    /// Takes the ID (if these credentials may publish it, under the quota),
    /// acknowledges in the camera's dialect and arms the supersede signal.
    async fn register(&mut self, socket: &mut Socket, reg: Registration, dialect: Dialect) -> Step {
        let id = reg.client_id;
        // Asked here for the ID this edge accepts (the only check for an ID that
        // came in a registration message).
        if self.access.publish(&id).is_err() {
            return Err(End::policy(format!(
                "these credentials do not allow publishing '{id}'"
            )));
        }
        let streams = self.state.hub.streams();
        let exists = streams.iter().any(|s| s.id().as_str() == id);
        let claim = self
            .state
            .quota
            .claim(
                Held::Stream,
                &self.access.principal,
                &id,
                streams.len(),
                exists,
            )
            .map_err(|e| End::policy(e.to_string()))?;
        drop(streams);
        let lease = self
            .state
            .hub
            .publish_as(&id, reg.name, SourceKind::Remote)
            .map_err(|e| End::policy(e.to_string()))?;
        let ack = match dialect {
            Dialect::RelayDeck => CameraReply::Registered {
                client_id: id.clone(),
            },
            Dialect::SkySentry => CameraReply::RegistrationSuccess {
                client_id: id.clone(),
                timestamp: unix_ms(),
            },
        };
        socket.send_json(&ack).await?;
        socket.superseded_by(lease.superseded_signal(), "clientId");
        self.published = Some((lease, claim));
        tracing::info!(camera = ?id, "camera connected");
        Ok(())
    }
}

impl SocketEdge for CameraPublisher {
    type Message = CameraMessage;
    type Event = End;

    async fn next_event(&mut self) -> End {
        self.register_deadline
            .missed(self.published.is_some())
            .await
    }

    async fn on_event(&mut self, _: &mut Socket, missed: End) -> Step {
        Err(missed)
    }

    async fn on_message(&mut self, socket: &mut Socket, message: CameraMessage) -> Step {
        let (reg, dialect) = match message {
            CameraMessage::Register(r) => (r, Dialect::RelayDeck),
            CameraMessage::ClientRegistration(r) => (r, Dialect::SkySentry),
            // The session answers pings before they get here.
            CameraMessage::Ping(p) => return Ok(socket.send_json(&SocketReply::pong(p)).await?),
        };
        match &self.published {
            None => self.register(socket, reg, dialect).await,
            Some((lease, _)) => {
                let reply = SocketReply::error(
                    code::ALREADY_REGISTERED,
                    format!(
                        "this connection already publishes '{}'; reconnect to use '{}'",
                        lease.stream().id(),
                        reg.client_id
                    ),
                );
                Ok(socket.send_json(&reply).await?)
            }
        }
    }

    async fn on_binary(&mut self, socket: &mut Socket, jpeg: Bytes) -> Step {
        let Some((lease, _)) = &self.published else {
            let reply = SocketReply::error(
                code::NOT_REGISTERED,
                "send {\"type\":\"register\",\"clientId\":\"…\"} before frames; frame dropped",
            );
            return Ok(socket.send_json(&reply).await?);
        };
        let reply = match lease.publish(&jpeg) {
            Ok(_) => return Ok(()),
            Err(HubError::Superseded) => return Err(End::replaced("clientId")),
            Err(e @ HubError::InvalidFrame(_)) => {
                SocketReply::error(code::INVALID_FRAME, format!("{e}; frame dropped"))
            }
            Err(e) => SocketReply::error(code::FRAME_REFUSED, format!("{e}; frame dropped")),
        };
        Ok(socket.send_json(&reply).await?)
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
