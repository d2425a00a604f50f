//! One socket session: the loop every socket edge shares.
//!
//! A socket edge (cameras publishing, viewers, audio listeners and
//! publishers) is a [`SocketEdge`]: its own messages, its binary payloads and
//! its own event sources. Everything else is here, once:
//!
//! * the credential's end (server shutdown → 1001, revoked or expired → 1008);
//! * an optional supersede signal: a newer connection with the same ID takes
//!   over and this one closes with 1000 and a reason;
//! * pings on the shared clock grid ([`ticks`]) and the liveness verdict
//!   (silent for longer than the timeout → 1001);
//! * the application-level `ping` every socket accepts, answered with `pong`;
//! * text messages parsed into the edge's typed [`SocketMessage`], with
//!   serde's own errors mapped onto the documented `error` message;
//! * the control frames the protocol obliges us to send back;
//! * how it ended, as one typed [`End`], and the close frame that follows.
//!
//! The loop reads like the protocol: whatever happens first of
//! *credential ended*, *superseded*, *the edge's event*, *a message from the
//! peer* and *the ping tick* is handled, and the first `Err(End)` ends it.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    time::{Duration, Instant},
};

use bytes::Bytes;
use relaydeck_contract::socket::{SocketMessage, SocketReply};
use tokio::{sync::watch, time::Sleep};
use tokio_util::sync::CancellationToken;

use super::{close, conn::silent_for_too_long, ticks, Inbound, WsConn, WsError};
use crate::{auth::Access, edges::control};

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Send this close code and reason, then drop the connection.
    Close(u16, String),
    /// The peer is gone (it closed, or a write failed): nothing more to send.
    PeerGone(String),
    /// The server is stopping: close with 1001.
    Shutdown,
}

impl End {
    /// Refused by policy (1008).
    pub fn policy(reason: impl Into<String>) -> Self {
        Self::Close(close::POLICY, reason.into())
    }

    /// A newer connection took over (1000).
    pub fn replaced(what: &str) -> Self {
        Self::Close(
            close::NORMAL,
            format!("replaced by a newer connection with the same {what}"),
        )
    }
}

impl From<WsError> for End {
    fn from(e: WsError) -> Self {
        Self::PeerGone(e.to_string())
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Close(code, reason) => write!(f, "closed with {code}: {reason}"),
            Self::PeerGone(why) => write!(f, "peer gone: {why}"),
            Self::Shutdown => f.write_str("server shutting down"),
        }
    }
}

/// What one handler step returns: go on, or end the session.
pub type Step = Result<(), End>;

/// What a socket edge supplies: only what is its own.
pub trait SocketEdge: Send {
    /// The text messages the peer may send (with a `ping` variant).
    type Message: SocketMessage;
    /// What the edge's own sources yield (frames ready, hub events, ticks…).
    type Event: Send;

    /// The edge's next event; cancel-safe. Edges without one never resolve.
    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send;

    fn on_event(
        &mut self,
        socket: &mut Socket,
        event: Self::Event,
    ) -> impl Future<Output = Step> + Send;

    /// A text message of the edge's own (pings never get here).
    fn on_message(
        &mut self,
        socket: &mut Socket,
        message: Self::Message,
    ) -> impl Future<Output = Step> + Send;

    fn on_binary(&mut self, socket: &mut Socket, data: Bytes) -> impl Future<Output = Step> + Send;
}

/// Keepalive of a socket: a ping every `interval`, closed when silent for `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct Keepalive {
    pub interval: Duration,
    pub timeout: Duration,
}

/// A socket's deadline for a first message of some kind (a registration, a
/// format): the session ends with 1008 if the deadline passes before it.
pub struct Deadline {
    sleep: Pin<Box<Sleep>>,
    reason: String,
}

impl Deadline {
    /// `what` names the message, as in "no register message within 10s".
    pub fn new(within: Duration, what: &str) -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep(within)),
            reason: format!("no {what} message within {within:?}"),
        }
    }

    /// The ending, once the deadline passes; never, once `met`. Cancel-safe.
    pub async fn missed(&mut self, met: bool) -> End {
        if met {
            return std::future::pending().await;
        }
        self.sleep.as_mut().await;
        End::policy(self.reason.clone())
    }
}

/// A signal that a newer connection took this one's ID.
enum Supersede {
    Watch(watch::Receiver<bool>),
    Token(CancellationToken),
}

impl Supersede {
    async fn fired(&mut self) {
        match self {
            // A closed channel means the stream is gone, which ends the lease too.
            Self::Watch(rx) => drop(rx.wait_for(|s| *s).await),
            Self::Token(t) => t.cancelled().await,
        }
    }
}

/// The connection as an edge's handlers see it: the socket to write to, and
/// the session's supersede signal, which an edge may arm once it holds an ID.
pub struct Socket {
    conn: WsConn,
    supersede: Option<(Supersede, String)>,
}

impl std::ops::Deref for Socket {
    type Target = WsConn;
    fn deref(&self) -> &WsConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Socket {
    fn deref_mut(&mut self) -> &mut WsConn {
        &mut self.conn
    }
}

impl Socket {
    pub fn new(conn: WsConn) -> Self {
        Self {
            conn,
            supersede: None,
        }
    }

    /// Ends the session with [`End::replaced`]`(what)` once `signal` turns true
    /// (a hub lease's [`superseded_signal`](relaydeck_hub::PublisherLease::superseded_signal)).
    pub fn superseded_by(&mut self, signal: watch::Receiver<bool>, what: &str) {
        self.supersede = Some((Supersede::Watch(signal), what.to_owned()));
    }

    /// The same for a cancellation token (a `listenerId` taken by a newer socket).
    pub fn superseded_when(&mut self, token: CancellationToken, what: &str) {
        self.supersede = Some((Supersede::Token(token), what.to_owned()));
    }

    /// Sends the close frame `end` calls for (none when the peer is gone).
    pub async fn finish(self, end: &End) {
        match end {
            End::Close(code, reason) => self.conn.close(*code, reason).await,
            End::Shutdown => {
                self.conn
                    .close(close::GOING_AWAY, "server shutting down")
                    .await
            }
            End::PeerGone(_) => {}
        }
    }

    async fn superseded(supersede: &mut Option<(Supersede, String)>) -> End {
        match supersede {
            Some((signal, what)) => {
                signal.fired().await;
                End::replaced(what)
            }
            None => std::future::pending().await,
        }
    }
}

/// Why the credential's `ended` token fired: shutdown, or revoked/expired.
fn credential_ended(access: &Access, shutdown: &CancellationToken) -> End {
    if access.revoked(shutdown) {
        End::policy("the credentials of this connection were revoked or have expired")
    } else {
        End::Shutdown
    }
}

/// Runs `edge` on `socket` until the session ends, and says how.
pub async fn run<E: SocketEdge>(
    socket: &mut Socket,
    edge: &mut E,
    access: &Access,
    shutdown: &CancellationToken,
    keepalive: Keepalive,
) -> End {
    let mut ping = ticks::on_grid(keepalive.interval);
    let mut last_seen = Instant::now();
    // A child token per socket: waiting on it does not contend with other sockets.
    let ended = access.ended.child_token();
    loop {
        let step = tokio::select! {
            biased;
            _ = ended.cancelled() => Err(credential_ended(access, shutdown)),
            end = Socket::superseded(&mut socket.supersede) => Err(end),
            msg = socket.conn.recv() => {
                last_seen = Instant::now();
                on_inbound(socket, edge, msg).await
            }
            event = edge.next_event() => edge.on_event(socket, event).await,
            _ = ping.tick() => match silent_for_too_long(last_seen, keepalive.timeout) {
                Some(reason) => Err(End::Close(close::GOING_AWAY, reason)),
                None => socket.send_ping().await.map_err(End::from),
            },
        };
        if let Err(end) = step {
            return end;
        }
    }
}

async fn on_inbound<E: SocketEdge>(
    socket: &mut Socket,
    edge: &mut E,
    msg: Option<Inbound>,
) -> Step {
    match msg {
        Some(Inbound::Text(text)) => match control::parse::<E::Message>(&text) {
            Ok(message) => match message.into_ping() {
                Ok(ping) => Ok(socket.send_json(&SocketReply::pong(ping)).await?),
                Err(message) => edge.on_message(socket, message).await,
            },
            Err(e) => Ok(socket.send_json(&e.to_reply()).await?),
        },
        Some(Inbound::Binary(data)) => edge.on_binary(socket, data).await,
        Some(Inbound::Reply(frame)) => Ok(socket.send_reply(frame).await?),
        Some(Inbound::Pong) => Ok(()),
        Some(Inbound::Failed(f)) => Err(End::Close(f.close_code(), f.to_string())),
        Some(Inbound::Closed { code, .. }) => {
            Err(End::PeerGone(format!("closed by the peer ({code:?})")))
        }
        None => Err(End::PeerGone("reader ended".into())),
    }
}
