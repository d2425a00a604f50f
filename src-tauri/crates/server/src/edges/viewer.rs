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
    time::Instant,
};

use axum::{extract::State, response::Response, routing::get, Router};
use relaydeck_hub::{
    stream::Subscription, DirectSink, Handoff, HubEvent, StreamId, VideoFrame, VideoStream,
    ViewerQueue, ViewerSlot,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use super::control::{self, error_message};
use crate::{
    auth::Access,
    state::AppState,
    ws::{
        close, conn::silent_for_too_long, ticks, Inbound, WsConn, WsError, WsLimits, WsUpgrade,
        WsWriter,
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

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum ViewerMessage {
    Subscribe {
        #[serde(rename = "clientIds")]
        client_ids: Option<Vec<String>>,
    },
    Ping {
        t: Option<Value>,
    },
}

const KNOWN: &[&str] = &["subscribe", "ping"];

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

async fn viewer(State(state): State<AppState>, access: Access, ws: WsUpgrade) -> Response {
    let limits = WsLimits {
        max_binary: 1024,
        max_text: state.config.max_text_bytes,
    };
    ws.on_upgrade(&state.clone(), limits, move |conn| async move {
        if let Err(reason) = access.valid_target() {
            return conn.close(close::POLICY, &reason).await;
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
                return conn
                    .close(
                        close::POLICY,
                        &format!("these credentials do not allow watching '{denied}'"),
                    )
                    .await;
            }
        }
        let mut session = ViewerSession::new(state, conn, mode, wanted, access);
        let (code, reason) = session.run().await;
        tracing::debug!(viewer = session.queue.id(), code, reason = ?reason, "viewer left");
        if code != 0 {
            session.conn.close(code, &reason).await;
        }
    })
}

struct ViewerSession {
    state: AppState,
    conn: WsConn,
    mode: Mode,
    wanted: Wanted,
    queue: Arc<ViewerQueue>,
    subs: BTreeMap<StreamId, Subscription>,
    events: broadcast::Receiver<HubEvent>,
    /// Who is watching: a limited token only ever gets its own cameras.
    access: Access,
}

type End = (u16, String);

fn write_failed(e: WsError) -> End {
    tracing::debug!("viewer write failed: {e}");
    (0, e.to_string())
}

impl ViewerSession {
    fn new(state: AppState, conn: WsConn, mode: Mode, wanted: Wanted, access: Access) -> Self {
        // Subscribe to events before listing cameras, so no join is missed.
        let events = state.hub.events();
        let queue = ViewerQueue::with_sink(Arc::new(SocketSink {
            writer: conn.writer().clone(),
            mode,
        }));
        Self {
            state,
            conn,
            mode,
            wanted,
            queue,
            subs: BTreeMap::new(),
            events,
            access,
        }
    }

    async fn run(&mut self) -> End {
        if let Err(e) = self.sync_subscriptions().await {
            return write_failed(e);
        }
        let cfg = self.state.config.clone();
        let mut ping = ticks::on_grid(cfg.ws_ping_interval);
        let mut stats = ticks::on_grid(cfg.stats_interval);
        let mut last_seen = Instant::now();
        // A child token per viewer: waiting on it does not contend with other
        // viewers. It fires on shutdown and when the viewer's token is revoked.
        let ended = self.access.ended.child_token();
        let queue = self.queue.clone();
        loop {
            let step = tokio::select! {
                biased;
                _ = ended.cancelled() => return close::ended(&self.access, &self.state.shutdown),
                msg = self.conn.recv() => {
                    last_seen = Instant::now();
                    match msg {
                        Some(msg) => self.on_message(msg).await,
                        None => Err((0, "reader ended".into())),
                    }
                }
                ev = self.events.recv() => self.on_event(ev).await.map_err(write_failed),
                _ = ping.tick() => match silent_for_too_long(last_seen, cfg.ws_timeout) {
                    Some(reason) => Err((close::GOING_AWAY, reason)),
                    None => self.conn.send_ping().await.map_err(write_failed),
                },
                _ = stats.tick() => self.send_stats().await.map_err(write_failed),
                _ = queue.ready() => self.write_frames().await.map_err(write_failed),
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Finishes a frame a publisher started, then writes every pending
    /// frame, one per camera, newest only.
    async fn write_frames(&mut self) -> Result<(), WsError> {
        self.conn.flush_unfinished().await?;
        let slots: Vec<Arc<ViewerSlot>> = self.subs.values().map(|s| s.slot().clone()).collect();
        for slot in slots {
            let Some(frame) = slot.take() else { continue };
            self.conn
                .send_frame(self.mode.payload(&frame), slot, frame.seq)
                .await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, msg: Inbound) -> Result<(), End> {
        let reply = match msg {
            Inbound::Text(text) => match control::parse::<ViewerMessage>(&text, KNOWN) {
                Ok(ViewerMessage::Ping { t }) => json!({ "type": "pong", "t": t }),
                Ok(ViewerMessage::Subscribe { .. }) if self.mode == Mode::Single => error_message(
                    "single_camera",
                    "this socket was opened with ?clientId= for one camera; open /stream/ws without it to choose cameras",
                ),
                Ok(ViewerMessage::Subscribe { client_ids }) => match self.resubscribe(client_ids).await {
                    Ok(Some(reply)) => reply,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(write_failed(e)),
                },
                Err(e) => e.to_message(),
            },
            Inbound::Binary(_) => error_message("unexpected_binary", "viewers send only text messages; binary message ignored"),
            Inbound::Reply(frame) => return self.conn.send_reply(frame).await.map_err(write_failed),
            Inbound::Pong => return Ok(()),
            Inbound::Failed(f) => return Err((f.close_code(), f.to_string())),
            Inbound::Closed { .. } => return Err((0, "closed by the viewer".into())),
        };
        self.conn.send_json(&reply).await.map_err(write_failed)
    }

    async fn resubscribe(&mut self, ids: Option<Vec<String>>) -> Result<Option<Value>, WsError> {
        if let Some(bad) = ids.iter().flatten().find(|id| StreamId::new(id).is_err()) {
            return Ok(Some(error_message(
                "invalid_id",
                &format!("invalid clientId '{bad}'; subscription unchanged"),
            )));
        }
        if let Some(denied) = ids
            .iter()
            .flatten()
            .find(|id| self.access.view(id).is_err())
        {
            return Ok(Some(error_message(
                "forbidden",
                &format!(
                    "these credentials do not allow watching '{denied}'; subscription unchanged"
                ),
            )));
        }
        self.wanted = match ids {
            Some(ids) => Wanted::Only(ids.into_iter().collect()),
            None => Wanted::All,
        };
        self.sync_subscriptions().await?;
        let ids: Vec<&str> = self.subs.keys().map(StreamId::as_str).collect();
        Ok(Some(json!({ "type": "subscribed", "clientIds": ids })))
    }

    /// Chosen by the viewer and allowed by its credentials.
    fn wants(&self, id: &str) -> bool {
        self.wanted.contains(id) && self.access.principal.can_view(id)
    }

    /// Makes the subscriptions match `wanted` and the hub's cameras.
    async fn sync_subscriptions(&mut self) -> Result<(), WsError> {
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
            self.conn
                .send_json(&json!({ "type": "left", "clientId": id }))
                .await?;
        }
        let wanted: Vec<_> = streams
            .iter()
            .filter(|s| self.wants(s.id().as_str()))
            .collect();
        for stream in wanted {
            self.subscribe(stream).await?;
        }
        Ok(())
    }

    async fn subscribe(&mut self, stream: &Arc<VideoStream>) -> Result<(), WsError> {
        if self.subs.contains_key(stream.id()) {
            return Ok(());
        }
        let snap = stream.snapshot();
        let joined = json!({
            "type": "joined", "clientId": snap.id, "name": snap.name, "online": snap.online,
            "width": snap.width, "height": snap.height, "availability": snap.availability,
        });
        self.conn.send_json(&joined).await?;
        self.subs
            .insert(stream.id().clone(), stream.subscribe(&self.queue));
        Ok(())
    }

    async fn on_event(&mut self, ev: Result<HubEvent, RecvError>) -> Result<(), WsError> {
        match ev {
            Ok(HubEvent::Joined { id }) => {
                if let Some(stream) = self
                    .wants(id.as_str())
                    .then(|| self.state.hub.stream(id.as_str()))
                    .flatten()
                {
                    self.subscribe(&stream).await?;
                }
            }
            Ok(HubEvent::Online { id, name }) if self.subs.contains_key(&id) => {
                self.conn
                    .send_json(
                        &json!({ "type": "status", "clientId": id, "online": true, "name": name }),
                    )
                    .await?;
            }
            Ok(HubEvent::Offline { id }) if self.subs.contains_key(&id) => {
                self.conn
                    .send_json(&json!({ "type": "status", "clientId": id, "online": false }))
                    .await?;
            }
            Ok(HubEvent::Availability { id }) if self.subs.contains_key(&id) => {
                let Some(stream) = self.state.hub.stream(id.as_str()) else {
                    return Ok(());
                };
                let msg = json!({ "type": "status", "clientId": id, "online": stream.is_online(), "availability": stream.availability() });
                self.conn.send_json(&msg).await?;
            }
            Ok(HubEvent::Left { id }) if self.subs.remove(&id).is_some() => {
                self.conn
                    .send_json(&json!({ "type": "left", "clientId": id }))
                    .await?;
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => self.sync_subscriptions().await?,
            Err(RecvError::Closed) => {}
        }
        Ok(())
    }

    async fn send_stats(&mut self) -> Result<(), WsError> {
        let mut cameras = Map::new();
        for (id, sub) in &self.subs {
            let s = sub.slot().stats();
            cameras.insert(
                id.to_string(),
                json!({ "delivered": s.delivered, "skipped": s.skipped, "lastSeq": s.last_seq }),
            );
        }
        self.conn
            .send_json(&json!({ "type": "stats", "cameras": cameras }))
            .await
    }
}
