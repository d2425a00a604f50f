//! `GET /audio/ws?source=ID`: audio listeners.
//!
//! A listener first gets a text `format` message, then binary PCM exactly as
//! the hub forwards it, and every `--audio-stats-interval` a `stats` message
//! with the last sequence forwarded, so a player can show gaps and delay.
//! `?backlogMs=N` replays the last N ms first; `?listenerId=X` makes a new
//! socket with the same ID close the older one, so a reconnecting player
//! never has two live streams.

use std::{sync::Arc, time::Duration};

use axum::{extract::State, response::Response, routing::get, Router};
use bytes::Bytes;
use relaydeck_contract::{
    audio_ws::{ListenerEvent, ListenerMessage},
    socket::{code, SocketReply},
};
use relaydeck_hub::{AudioSource, AudioSubscription, ListenerItem, StreamId};
use tokio::time::Interval;

use crate::{
    auth::Access,
    state::{AppState, MediaState},
    streams::{find_audio_source, parse_backlog},
    wire::{listener_format as format_event, listener_stats as stats_event},
    ws::{
        close,
        session::{self, End, SocketEdge, Step},
        ticks, Socket, WsLimits, WsUpgrade,
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audio/ws", get(listen))
}

/// What a listener asked for, from the guard's parse of its URL.
fn listen_request(
    state: &MediaState,
    access: &Access,
) -> Result<(Arc<AudioSource>, Duration, Option<String>), String> {
    access.valid_target()?;
    let id = access
        .target
        .id
        .as_ref()
        .ok_or("add ?source=ID (a device ID, or an audio source from /api/sources)")?;
    // Asked again here, for the source this edge serves (defence in depth).
    access.view(id.as_str()).map_err(|e| e.to_string())?;
    let source = find_audio_source(state, id.as_str())?;
    let backlog = parse_backlog(state.config.audio_ring, access.param("backlogMs"))?;
    let listener = access
        .param("listenerId")
        .map(|l| {
            StreamId::new(l)
                .map(|_| l.to_owned())
                .map_err(|e| format!("invalid listenerId: {e}"))
        })
        .transpose()?;
    Ok((source, backlog, listener))
}

async fn listen(State(state): State<MediaState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: 1024,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| async move {
        let mut socket = Socket::new(conn);
        let (source, backlog, listener) = match listen_request(&state, &access) {
            Ok(found) => found,
            Err(reason) => return socket.finish(&End::policy(reason)).await,
        };
        let claim = listener.map(|l| {
            let (n, token) = state.listener_ids.claim(&l);
            socket.superseded_when(token, "listenerId");
            (l, n)
        });
        let mut listener = Listener::new(&state, source, backlog);
        socket
            .writer()
            .set_meter(state.meters.open(crate::metrics::Transport::AudioWebSocket));
        let end = session::run(
            &mut socket,
            &mut listener,
            &access,
            &state.shutdown,
            state.keepalive(),
        )
        .await;
        if let Some((l, n)) = claim {
            state.listener_ids.release(&l, n);
        }
        tracing::debug!(source = %listener.source.id(), %end, "listener left");
        // The subscription ends before the closing handshake, not after it.
        drop(listener);
        socket.finish(&end).await;
    })
}

/// One listener: the source's PCM as it arrives, and stats on the grid.
struct Listener {
    source: Arc<AudioSource>,
    sub: AudioSubscription,
    stats: Interval,
    /// The last chunk forwarded: its sequence and when the relay received it.
    last: Option<(u64, u64)>,
}

enum ListenerTick {
    Batch(Option<Vec<ListenerItem>>),
    Stats,
}

impl Listener {
    fn new(state: &MediaState, source: Arc<AudioSource>, backlog: Duration) -> Self {
        Self {
            sub: source.listen(backlog),
            source,
            stats: ticks::on_grid(state.config.audio_stats_interval),
            last: None,
        }
    }

    fn stats(&self) -> ListenerEvent {
        stats_event(&self.source, self.sub.queue().dropped(), self.last)
    }
}

impl SocketEdge for Listener {
    type Message = ListenerMessage;
    type Event = ListenerTick;

    async fn next_event(&mut self) -> ListenerTick {
        tokio::select! {
            biased;
            batch = self.sub.queue().next_batch() => ListenerTick::Batch(batch),
            _ = self.stats.tick() => ListenerTick::Stats,
        }
    }

    async fn on_event(&mut self, socket: &mut Socket, tick: ListenerTick) -> Step {
        match tick {
            ListenerTick::Batch(None) => Err(End::Close(
                close::NORMAL,
                "the audio source was removed".into(),
            )),
            ListenerTick::Batch(Some(batch)) => {
                for item in batch {
                    match item {
                        ListenerItem::Format(f) => {
                            socket
                                .send_json(&format_event(self.source.id().as_str(), f))
                                .await?
                        }
                        ListenerItem::Chunk(c) => {
                            self.last = Some((c.seq, c.received_ms));
                            socket.send_binary(c.pcm).await?;
                        }
                    }
                }
                Ok(())
            }
            ListenerTick::Stats => Ok(socket.send_json(&self.stats()).await?),
        }
    }

    async fn on_message(&mut self, socket: &mut Socket, message: ListenerMessage) -> Step {
        match message {
            ListenerMessage::Ping(p) => Ok(socket.send_json(&SocketReply::pong(p)).await?),
        }
    }

    async fn on_binary(&mut self, socket: &mut Socket, _: Bytes) -> Step {
        let reply = SocketReply::error(
            code::UNEXPECTED_BINARY,
            "listeners send only text messages; binary message ignored",
        );
        Ok(socket.send_json(&reply).await?)
    }
}
