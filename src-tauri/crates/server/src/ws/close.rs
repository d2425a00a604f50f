//! Close codes (RFC 6455 §7.4.1) as the relay uses them.

/// Normal closure; also sent to a publisher replaced by a newer connection.
pub const NORMAL: u16 = 1000;
/// The server is shutting down, or the peer stopped answering pings.
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the WebSocket protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// A text message that is not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// Refused by policy: an invalid or reserved ID, no registration in time.
pub const POLICY: u16 = 1008;
/// A message larger than the endpoint allows.
pub const TOO_BIG: u16 = 1009;
/// An unexpected condition on the server.
pub const INTERNAL: u16 = 1011;
