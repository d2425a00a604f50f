//! `GET /stream/ws`: viewers.
//!
//! With `?clientId=ID` the socket carries one camera and each binary message
//! is that camera's JPEG, byte for byte. Without it (or with
//! `?clientIds=a,b`) one socket carries several cameras and each binary
//! message is the hub's multi-camera packet (header + JPEG). Text messages
//! announce cameras joining, leaving and going on/offline, and carry `stats`
//! every second. Delivery is latest-wins per camera (see the hub's
//! `ViewerSlot`): a slow viewer skips frames, it never delays anybody.
//!
//! Frames reach the socket by one of two paths. The fast one: the viewer's
//! queue has a [`SocketSink`], so the publisher writes the frame itself with
//! a write that never waits, and the viewer's task is not even woken. When
//! the socket is busy (a message being written, or its buffer full) the frame
//! waits in the slot and the task writes it.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use axum::{extract::State, response::Response, routing::get, Router};
use bytes::Bytes;
use relaydeck_contract::{
    socket::{code, SocketReply},
    viewer_ws::{ViewerCameraStats, ViewerEvent, ViewerMessage},
};
use relaydeck_hub::{
    stream::Subscription, DirectSink, Handoff, HubEvent, StreamId, VideoFrame, VideoStream,
    ViewerQueue, ViewerSlot,
};
use tokio::{
    sync::broadcast::{self, error::RecvError},
    time::Interval,
};

use crate::{
    auth::Access,
    state::{AppState, MediaState},
    wire,
    ws::{
        session::{self, End, SocketEdge, Step},
        ticks, Socket, WsError, WsLimits, WsUpgrade, WsWriter,
    },
};

/// The publisher's direct path to one viewer's socket.
struct SocketSink {
    writer: Arc<WsWriter>,
    mode: Mode,
}

impl DirectSink for SocketSink {
    fn try_send(&self, slot: &Arc<ViewerSlot>, frame: &VideoFrame, ahead: usize) -> Handoff {
        let body = match self.mode {
            Mode::Single => frame.jpeg_bytes(),
            Mode::Multi => &frame.mux_packet()[..],
        };
        self.writer
            .try_send_now(body, || self.mode.payload(frame), slot, frame.seq, ahead)
    }

    fn prefetch(&self) {
        self.writer.prefetch();
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/stream/ws", get(viewer))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// One camera; binary messages are bare JPEGs.
    Single,
    /// Several cameras; binary messages carry the multi-camera header.
    Multi,
}

impl Mode {
    /// What a viewer in this mode receives for `frame` (shared, not copied).
    fn payload(self, frame: &VideoFrame) -> bytes::Bytes {
        match self {
            Mode::Single => frame.jpeg(),
            Mode::Multi => frame.mux_packet().clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum Wanted {
    All,
    Only(BTreeSet<String>),
}

impl Wanted {
    fn contains(&self, id: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Only(ids) => ids.contains(id),
        }
    }
}

async fn viewer(State(state): State<MediaState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: 1024,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| async move {
        let mut socket = Socket::new(conn);
        let end = serve(&state, &access, &mut socket).await;
        tracing::debug!(%end, "viewer left");
        socket.finish(&end).await;
    })
}

async fn serve(state: &MediaState, access: &Access, socket: &mut Socket) -> End {
    if let Err(reason) = access.valid_target() {
        return End::policy(reason);
    }
    // The cameras the guard resolved and checked (`?clientId=` or `?clientIds=`).
    let (mode, wanted) = match (&access.target.id, &access.target.ids) {
        (Some(id), _) => (Mode::Single, Wanted::Only([id.to_string()].into())),
        (None, Some(ids)) => (
            Mode::Multi,
            Wanted::Only(ids.iter().map(StreamId::to_string).collect()),
        ),
        (None, None) => (Mode::Multi, Wanted::All),
    };
    // Asked again here, for every camera this edge will serve (defence in depth).
    if let Wanted::Only(ids) = &wanted {
        if let Some(denied) = ids.iter().find(|id| access.view(id).is_err()) {
            return End::policy(format!(
                "these credentials do not allow watching '{denied}'"
            ));
        }
    }
    let mut viewer = Viewer::new(state.clone(), socket, mode, wanted, access.clone());
    if let Err(e) = viewer.sync_subscriptions(socket).await {
        return e.into();
    }
    session::run(
        socket,
        &mut viewer,
        access,
        &state.shutdown,
        state.keepalive(),
    )
    .await
}

/// One viewer: its cameras, its latest-wins queue, its hub events.
struct Viewer {
    state: MediaState,
    mode: Mode,
    wanted: Wanted,
    queue: Arc<ViewerQueue>,
    subs: BTreeMap<StreamId, Subscription>,
    events: broadcast::Receiver<HubEvent>,
    stats: Interval,
    /// Who is watching: a limited token only ever gets its own cameras.
    access: Access,
}

enum ViewerTick {
    Hub(Result<HubEvent, RecvError>),
    Stats,
    FramesReady,
}

impl SocketEdge for Viewer {
    type Message = ViewerMessage;
    type Event = ViewerTick;

    async fn next_event(&mut self) -> ViewerTick {
        tokio::select! {
            biased;
            ev = self.events.recv() => ViewerTick::Hub(ev),
            _ = self.stats.tick() => ViewerTick::Stats,
            _ = self.queue.ready() => ViewerTick::FramesReady,
        }
    }

    async fn on_event(&mut self, socket: &mut Socket, tick: ViewerTick) -> Step {
        match tick {
            ViewerTick::Hub(ev) => self.on_hub_event(socket, ev).await?,
            ViewerTick::Stats => socket.send_json(&self.stats()).await?,
            ViewerTick::FramesReady => self.write_frames(socket).await?,
        }
        Ok(())
    }

    async fn on_message(&mut self, socket: &mut Socket, message: ViewerMessage) -> Step {
        let reply = match message {
            ViewerMessage::Ping(p) => SocketReply::pong(p),
            ViewerMessage::Subscribe { .. } if self.mode == Mode::Single => SocketReply::error(
                code::SINGLE_CAMERA,
                "this socket was opened with ?clientId= for one camera; open /stream/ws without it to choose cameras",
            ),
            ViewerMessage::Subscribe { client_ids } => {
                match self.resubscribe(socket, client_ids).await? {
                    Ok(subscribed) => return Ok(socket.send_json(&subscribed).await?),
                    Err(refused) => refused,
                }
            }
        };
        Ok(socket.send_json(&reply).await?)
    }

    async fn on_binary(&mut self, socket: &mut Socket, _: Bytes) -> Step {
        let reply = SocketReply::error(
            code::UNEXPECTED_BINARY,
            "viewers send only text messages; binary message ignored",
        );
        Ok(socket.send_json(&reply).await?)
    }
}

impl Viewer {
    fn new(state: MediaState, socket: &Socket, mode: Mode, wanted: Wanted, access: Access) -> Self {
        socket
            .writer()
            .set_meter(state.meters.open(crate::metrics::Transport::WebSocket));
        // Subscribe to events before listing cameras, so no join is missed.
        let events = state.hub.events();
        let queue = ViewerQueue::with_sink(Arc::new(SocketSink {
            writer: socket.writer().clone(),
            mode,
        }));
        Self {
            stats: ticks::on_grid(state.config.stats_interval),
            state,
            mode,
            wanted,
            queue,
            subs: BTreeMap::new(),
            events,
            access,
        }
    }

    /// Finishes a frame a publisher started, then writes every pending
    /// frame, one per camera, newest only.
    async fn write_frames(&mut self, socket: &mut Socket) -> Result<(), WsError> {
        socket.flush_unfinished().await?;
        let slots: Vec<Arc<ViewerSlot>> = self.subs.values().map(|s| s.slot().clone()).collect();
        for slot in slots {
            let Some(frame) = slot.take() else { continue };
            socket
                .send_frame(self.mode.payload(&frame), slot, frame.seq)
                .await?;
        }
        Ok(())
    }

    /// The answer to `subscribe`: `Ok(subscribed)`, or `Err(error)` with the
    /// subscription unchanged.
    async fn resubscribe(
        &mut self,
        socket: &mut Socket,
        ids: Option<Vec<String>>,
    ) -> Result<Result<ViewerEvent, SocketReply>, WsError> {
        if let Some(bad) = ids.iter().flatten().find(|id| StreamId::new(id).is_err()) {
            return Ok(Err(SocketReply::error(
                code::INVALID_ID,
                format!("invalid clientId '{bad}'; subscription unchanged"),
            )));
        }
        if let Some(denied) = ids
            .iter()
            .flatten()
            .find(|id| self.access.view(id).is_err())
        {
            return Ok(Err(SocketReply::error(
                code::FORBIDDEN,
                format!(
                    "these credentials do not allow watching '{denied}'; subscription unchanged"
                ),
            )));
        }
        self.wanted = match ids {
            Some(ids) => Wanted::Only(ids.into_iter().collect()),
            None => Wanted::All,
        };
        self.sync_subscriptions(socket).await?;
        let client_ids = self.subs.keys().map(StreamId::to_string).collect();
        Ok(Ok(ViewerEvent::Subscribed { client_ids }))
    }

    /// Chosen by the viewer and allowed by its credentials.
    fn wants(&self, id: &str) -> bool {
        self.wanted.contains(id) && self.access.principal.can_view(id)
    }

    /// Makes the subscriptions match `wanted` and the hub's cameras.
    async fn sync_subscriptions(&mut self, socket: &mut Socket) -> Result<(), WsError> {
        let streams = self.state.hub.streams();
        let present: BTreeSet<&str> = streams.iter().map(|s| s.id().as_str()).collect();
        let stale: Vec<StreamId> = self
            .subs
            .keys()
            .filter(|id| !self.wants(id.as_str()) || !present.contains(id.as_str()))
            .cloned()
            .collect();
        for id in stale {
            self.subs.remove(&id);
            socket.send_json(&left(&id)).await?;
        }
        let wanted: Vec<_> = streams
            .iter()
            .filter(|s| self.wants(s.id().as_str()))
            .collect();
        for stream in wanted {
            self.subscribe(socket, stream).await?;
        }
        Ok(())
    }

    async fn subscribe(
        &mut self,
        socket: &mut Socket,
        stream: &Arc<VideoStream>,
    ) -> Result<(), WsError> {
        if self.subs.contains_key(stream.id()) {
            return Ok(());
        }
        let snap = stream.snapshot();
        let joined = ViewerEvent::Joined {
            client_id: snap.id.to_string(),
            name: snap.name,
            online: snap.online,
            width: snap.width,
            height: snap.height,
            availability: wire::availability(&snap.availability),
        };
        socket.send_json(&joined).await?;
        self.subs
            .insert(stream.id().clone(), stream.subscribe(&self.queue));
        Ok(())
    }

    async fn on_hub_event(
        &mut self,
        socket: &mut Socket,
        ev: Result<HubEvent, RecvError>,
    ) -> Result<(), WsError> {
        let status = |id: &StreamId, online, name, availability| ViewerEvent::Status {
            client_id: id.to_string(),
            online,
            name,
            availability,
        };
        match ev {
            Ok(HubEvent::Joined { id }) => {
                if let Some(stream) = self
                    .wants(id.as_str())
                    .then(|| self.state.hub.stream(id.as_str()))
                    .flatten()
                {
                    self.subscribe(socket, &stream).await?;
                }
            }
            Ok(HubEvent::Online { id, name }) if self.subs.contains_key(&id) => {
                socket
                    .send_json(&status(&id, true, Some(name), None))
                    .await?;
            }
            Ok(HubEvent::Offline { id }) if self.subs.contains_key(&id) => {
                socket.send_json(&status(&id, false, None, None)).await?;
            }
            Ok(HubEvent::Availability { id }) if self.subs.contains_key(&id) => {
                let Some(stream) = self.state.hub.stream(id.as_str()) else {
                    return Ok(());
                };
                let availability = wire::availability(&stream.availability());
                socket
                    .send_json(&status(&id, stream.is_online(), None, Some(availability)))
                    .await?;
            }
            Ok(HubEvent::Renamed { id }) if self.subs.contains_key(&id) => {
                let Some(stream) = self.state.hub.stream(id.as_str()) else {
                    return Ok(());
                };
                socket
                    .send_json(&status(&id, stream.is_online(), Some(stream.name()), None))
                    .await?;
            }
            Ok(HubEvent::Left { id }) if self.subs.remove(&id).is_some() => {
                socket.send_json(&left(&id)).await?;
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => self.sync_subscriptions(socket).await?,
            Err(RecvError::Closed) => {}
        }
        Ok(())
    }

    fn stats(&self) -> ViewerEvent {
        let cameras = self
            .subs
            .iter()
            .map(|(id, sub)| {
                let s = sub.slot().stats();
                let stats = ViewerCameraStats {
                    delivered: s.delivered,
                    skipped: s.skipped,
                    last_seq: s.last_seq,
                };
                (id.to_string(), stats)
            })
            .collect();
        ViewerEvent::Stats { cameras }
    }
}

fn left(id: &StreamId) -> ViewerEvent {
    ViewerEvent::Left {
        client_id: id.to_string(),
    }
}
