//! `GET /audio/publish?source=ID`: any client publishing PCM, such as a
//! browser's microphone. It names the format first (`format`), then sends
//! 16-bit little-endian PCM as binary messages; a newer publisher of the
//! same source takes over.

use axum::{extract::State, response::Response, routing::get, Router};
use bytes::Bytes;
use relaydeck_contract::{
    audio_ws::{PublisherMessage, PublisherReply},
    socket::{code, SocketReply},
};
use relaydeck_hub::{AudioFormat, AudioLease, HubError, SampleEncoding, SourceKind, StreamId};

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
    Router::new().route("/audio/publish", get(publish))
}

/// The source a publisher may take: named, its own, not a devkit's, not reserved, under the quota.
fn publish_request(state: &MediaState, access: &Access) -> Result<(StreamId, QuotaClaim), String> {
    access.valid_target()?;
    let id = access
        .target
        .id
        .clone()
        .ok_or("add ?source=ID to name the audio source")?;
    // Asked again here, for the source this edge accepts (defence in depth).
    access.publish(id.as_str()).map_err(|e| e.to_string())?;
    if state.devices.contains(id.as_str()) {
        return Err(format!(
            "'{id}' belongs to a registered devkit; choose another source ID"
        ));
    }
    if state.hub.is_reserved(id.as_str()) {
        return Err(HubError::ReservedId(id.to_string()).to_string());
    }
    let sources = state.hub.audio_sources();
    let exists = sources.iter().any(|s| s.id() == &id);
    let claim = state
        .quota
        .claim(
            Held::Source,
            &access.principal,
            id.as_str(),
            sources.len(),
            exists,
        )
        .map_err(|e| e.to_string())?;
    Ok((id, claim))
}

async fn publish(State(state): State<MediaState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: state.config.max_frame_bytes,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| async move {
        let mut socket = Socket::new(conn);
        let (id, _claim) = match publish_request(&state, &access) {
            Ok(found) => found,
            Err(reason) => return socket.finish(&End::policy(reason)).await,
        };
        let mut publisher = AudioPublisher {
            name: access.param("name").map(str::to_owned),
            state: state.clone(),
            id,
            lease: None,
            seq: 0,
            format_deadline: Deadline::new(state.config.register_timeout, "format"),
        };
        let end = session::run(
            &mut socket,
            &mut publisher,
            &access,
            &state.shutdown,
            state.keepalive(),
        )
        .await;
        tracing::info!(source = %publisher.id, %end, "audio publisher left");
        // The source goes offline before the closing handshake, not after it.
        drop(publisher);
        socket.finish(&end).await;
    })
}

/// One publisher: no lease until its first `format`, then a lease per format.
struct AudioPublisher {
    state: MediaState,
    id: StreamId,
    name: Option<String>,
    lease: Option<AudioLease>,
    seq: u64,
    format_deadline: Deadline,
}

impl AudioPublisher {
    fn take_format(
        &mut self,
        socket: &mut Socket,
        format: AudioFormat,
    ) -> Result<PublisherReply, End> {
        // A new lease in the new format; the old one (if any) ends first.
        drop(self.lease.take());
        let lease = self
            .state
            .hub
            .publish_audio_as(
                self.id.as_str(),
                self.name.clone(),
                SourceKind::Remote,
                format,
            )
            .map_err(|e| End::policy(e.to_string()))?;
        socket.superseded_by(lease.superseded_signal(), "source");
        self.lease = Some(lease);
        Ok(PublisherReply::Registered {
            source: self.id.to_string(),
            sample_rate: format.sample_rate,
            channels: format.channels,
            encoding: format.encoding.name().to_owned(),
        })
    }
}

impl SocketEdge for AudioPublisher {
    type Message = PublisherMessage;
    type Event = End;

    async fn next_event(&mut self) -> End {
        self.format_deadline.missed(self.lease.is_some()).await
    }

    async fn on_event(&mut self, _: &mut Socket, missed: End) -> Step {
        Err(missed)
    }

    async fn on_message(&mut self, socket: &mut Socket, message: PublisherMessage) -> Step {
        match message {
            PublisherMessage::Ping(p) => Ok(socket.send_json(&SocketReply::pong(p)).await?),
            PublisherMessage::Format {
                sample_rate,
                channels,
                encoding,
            } => match format_from(sample_rate, channels, encoding.as_deref()) {
                Err(message) => Ok(socket
                    .send_json(&SocketReply::error(code::BAD_FORMAT, message))
                    .await?),
                Ok(format) => {
                    let reply = self.take_format(socket, format)?;
                    Ok(socket.send_json(&reply).await?)
                }
            },
        }
    }

    async fn on_binary(&mut self, socket: &mut Socket, pcm: Bytes) -> Step {
        let Some(lease) = &self.lease else {
            let reply = SocketReply::error(
                code::NO_FORMAT,
                "send {\"type\":\"format\",\"sampleRate\":…,\"channels\":…,\"encoding\":\"s16le\"} before audio; dropped",
            );
            return Ok(socket.send_json(&reply).await?);
        };
        self.seq += 1;
        match publish_pcm(lease, self.seq, pcm) {
            Ok(()) => Ok(()),
            Err(HubError::Superseded) => Err(End::replaced("source")),
            Err(e) => Ok(socket
                .send_json(&SocketReply::error(
                    code::BAD_AUDIO,
                    format!("{e}; dropped"),
                ))
                .await?),
        }
    }
}

fn publish_pcm(lease: &AudioLease, seq: u64, pcm: Bytes) -> Result<(), HubError> {
    if pcm.is_empty() {
        return Err(HubError::BadFormat("empty audio message".into()));
    }
    lease.publish(seq, pcm).map(drop)
}

fn format_from(
    sample_rate: u32,
    channels: u16,
    encoding: Option<&str>,
) -> Result<AudioFormat, String> {
    let encoding = match encoding {
        None => SampleEncoding::S16le,
        Some(name) => SampleEncoding::parse(name).map_err(|e| e.to_string())?,
    };
    AudioFormat::with_encoding(sample_rate, channels, encoding).map_err(|e| e.to_string())
}
