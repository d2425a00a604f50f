//! WebSocket plumbing shared by every socket edge.
//!
//! * [`upgrade`]: the handshake, answering a requested subprotocol with the
//!   client's first one (never refusing over it).
//! * [`conn`]: a connected socket split into a reader task (reassembly, size
//!   limits, UTF-8 checks, automatic pongs) and a writer the edge drives with
//!   bounded-time writes.
//! * [`writer`]: the write side, shared between the connection's task and
//!   publishers that write frames directly (never waiting).
//! * [`raw_socket`]: the publisher's direct write to a plain TCP socket,
//!   and [`frame_file`] (Linux): one shared copy of a large frame per
//!   fan-out, given to each socket by `sendfile`.
//! * [`session`]: the loop every socket edge shares (credential end,
//!   supersede, keepalive, app-level ping, typed ending); an edge supplies
//!   only its own messages and events.
//! * [`ticks`]: stats and pings of all sockets on one shared clock grid.
//! * [`close`]: the close codes the relay uses.
//!
//! Reading runs on `fastwebsockets`. Writing is our own: a frame's header
//! and its payload go out with one vectored write, so a shared JPEG goes
//! from the hub to the kernel without being copied into a per-socket buffer.

pub mod close;
pub mod conn;
#[cfg(target_os = "linux")]
pub mod frame_file;
pub mod raw_socket;
pub mod session;
pub mod ticks;
pub mod upgrade;
pub mod writer;

pub use conn::{Inbound, ReadFailure, WsConn, WsError, WsLimits};
pub use session::{End, Keepalive, Socket, SocketEdge, Step};
pub use upgrade::WsUpgrade;
pub use writer::{Opcode, WsWriter};
