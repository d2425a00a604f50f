//! Relay Deck's provisioning service: after Improv has given the board its
//! Wi-Fi, this tells it which relay to join and as whom.
//!
//! The message, written to the config characteristic in chunks:
//!
//! ```text
//! message = [version = 1] [length: u16 BE] [fields: length bytes] [checksum]
//! field   = [type] [length: u8] [value]
//! chunk   = [index] [flags: bit 0 = last] [up to 18 bytes of the message]
//! ```
//!
//! A chunk fits one 20-byte ATT write. Chunk 0 always starts a message over
//! (a client that retries); any other chunk must be the next one. Unknown
//! field types are skipped, so a version-1 board reads a later version-1
//! message that carries more.

use super::{checksum, CodecError};

pub const SERVICE: &str = "52656c61-7944-6563-6b00-000000000000";
/// Read: the highest message version the board speaks (one byte).
pub const VERSION: &str = "52656c61-7944-6563-6b00-000000000001";
/// Write (with or without response): the message's chunks.
pub const CONFIG: &str = "52656c61-7944-6563-6b00-000000000002";
/// Read, notify: `[state][error]` ([`Status`]).
pub const STATUS: &str = "52656c61-7944-6563-6b00-000000000003";
/// Read: the board's stable ID (UTF-8, at most 64 bytes; the same after a
/// reset, so a board paired again is recognised).
pub const BOARD_ID: &str = "52656c61-7944-6563-6b00-000000000004";

pub const MESSAGE_VERSION: u8 = 1;
/// The largest message (all chunks together).
pub const MAX_MESSAGE: usize = 512;
/// Payload bytes per chunk: a 20-byte write less index and flags.
pub const CHUNK_PAYLOAD: usize = 18;
const LAST: u8 = 0x01;

mod field {
    pub const HOST: u8 = 0x01;
    pub const TCP_PORT: u8 = 0x02;
    pub const UDP_PORT: u8 = 0x03;
    pub const DEVICE_ID: u8 = 0x04;
    pub const TOKEN: u8 = 0x05;
    pub const TLS_FINGERPRINT: u8 = 0x06;
}

/// What a board needs to join a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Addresses of the relay, best first (1 to 4).
    pub hosts: Vec<String>,
    pub tcp_port: u16,
    pub udp_port: u16,
    pub device_id: String,
    pub token: String,
    /// SHA-256 of the relay's certificate: connect with TLS and pin it.
    pub tls_fingerprint: Option<[u8; 32]>,
}

impl RelayConfig {
    /// The whole message (before chunking).
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        self.check()?;
        let mut fields = Vec::new();
        let mut put = |kind: u8, value: &[u8]| {
            fields.push(kind);
            fields.push(value.len() as u8);
            fields.extend_from_slice(value);
        };
        for h in &self.hosts {
            put(field::HOST, h.as_bytes());
        }
        put(field::TCP_PORT, &self.tcp_port.to_be_bytes());
        put(field::UDP_PORT, &self.udp_port.to_be_bytes());
        put(field::DEVICE_ID, self.device_id.as_bytes());
        put(field::TOKEN, self.token.as_bytes());
        if let Some(fp) = &self.tls_fingerprint {
            put(field::TLS_FINGERPRINT, fp);
        }
        let mut msg = vec![MESSAGE_VERSION];
        msg.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        msg.extend_from_slice(&fields);
        msg.push(checksum(&msg));
        if msg.len() > MAX_MESSAGE {
            return Err(CodecError::Oversized);
        }
        Ok(msg)
    }

    /// The message as chunks of at most 20 bytes.
    pub fn chunks(&self) -> Result<Vec<Vec<u8>>, CodecError> {
        let msg = self.encode()?;
        let parts: Vec<&[u8]> = msg.chunks(CHUNK_PAYLOAD).collect();
        Ok(parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut c = vec![i as u8, if i + 1 == parts.len() { LAST } else { 0 }];
                c.extend_from_slice(part);
                c
            })
            .collect())
    }

    /// One whole message, as a board reads it.
    pub fn decode(msg: &[u8]) -> Result<Self, CodecError> {
        if msg.is_empty() {
            return Err(CodecError::Truncated);
        }
        if msg[0] != MESSAGE_VERSION {
            return Err(CodecError::UnknownVersion(msg[0]));
        }
        if msg.len() > MAX_MESSAGE {
            return Err(CodecError::Oversized);
        }
        if msg.len() < 4 {
            return Err(CodecError::Truncated);
        }
        let whole = u16::from_be_bytes([msg[1], msg[2]]) as usize + 4;
        if msg.len() < whole {
            return Err(CodecError::Truncated);
        }
        if msg.len() > whole {
            return Err(CodecError::Oversized);
        }
        let (body, sum) = msg.split_at(whole - 1);
        if checksum(body) != sum[0] {
            return Err(CodecError::Checksum);
        }
        let config = read_fields(&body[3..])?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), CodecError> {
        if self.hosts.is_empty() {
            return Err(CodecError::MissingField("relay host"));
        }
        if self.hosts.len() > 4 || self.hosts.iter().any(|h| h.is_empty() || h.len() > 253) {
            return Err(CodecError::BadField("relay host"));
        }
        if self.tcp_port == 0 || self.udp_port == 0 {
            return Err(CodecError::MissingField("port"));
        }
        let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if self.device_id.is_empty() {
            return Err(CodecError::MissingField("device ID"));
        }
        if self.device_id.len() > 64 || !self.device_id.chars().all(id_ok) {
            return Err(CodecError::BadField("device ID"));
        }
        if self.token.is_empty() {
            return Err(CodecError::MissingField("device token"));
        }
        if self.token.len() > 128 {
            return Err(CodecError::BadField("device token"));
        }
        Ok(())
    }
}

fn read_fields(mut data: &[u8]) -> Result<RelayConfig, CodecError> {
    let mut c = RelayConfig {
        hosts: Vec::new(),
        tcp_port: 0,
        udp_port: 0,
        device_id: String::new(),
        token: String::new(),
        tls_fingerprint: None,
    };
    let text =
        |v: &[u8], name| String::from_utf8(v.to_vec()).map_err(|_| CodecError::BadField(name));
    let port = |v: &[u8]| -> Result<u16, CodecError> {
        <[u8; 2]>::try_from(v)
            .map(u16::from_be_bytes)
            .map_err(|_| CodecError::BadField("port"))
    };
    let once = |taken: bool, name| {
        if taken {
            Err(CodecError::BadField(name))
        } else {
            Ok(())
        }
    };
    while !data.is_empty() {
        if data.len() < 2 || data.len() < 2 + data[1] as usize {
            return Err(CodecError::Truncated);
        }
        let (kind, value) = (data[0], &data[2..2 + data[1] as usize]);
        data = &data[2 + value.len()..];
        match kind {
            field::HOST => c.hosts.push(text(value, "relay host")?),
            field::TCP_PORT => {
                once(c.tcp_port != 0, "TCP port")?;
                c.tcp_port = port(value)?;
            }
            field::UDP_PORT => {
                once(c.udp_port != 0, "UDP port")?;
                c.udp_port = port(value)?;
            }
            field::DEVICE_ID => {
                once(!c.device_id.is_empty(), "device ID")?;
                c.device_id = text(value, "device ID")?;
            }
            field::TOKEN => {
                once(!c.token.is_empty(), "device token")?;
                c.token = text(value, "device token")?;
            }
            field::TLS_FINGERPRINT => {
                once(c.tls_fingerprint.is_some(), "TLS fingerprint")?;
                c.tls_fingerprint = Some(
                    <[u8; 32]>::try_from(value)
                        .map_err(|_| CodecError::BadField("TLS fingerprint"))?,
                );
            }
            _ => {} // a later field: skipped
        }
    }
    Ok(c)
}

/// Collects chunks until a message is whole, as a board does.
#[derive(Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    next: u8,
}

impl Reassembler {
    /// Adds one chunk; the decoded config once the last one arrived. On an
    /// error the message starts over.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<RelayConfig>, CodecError> {
        let result = self.take(chunk);
        if !matches!(result, Ok(None)) {
            self.buf.clear();
            self.next = 0;
        }
        result
    }

    fn take(&mut self, chunk: &[u8]) -> Result<Option<RelayConfig>, CodecError> {
        let [index, flags, payload @ ..] = chunk else {
            return Err(CodecError::Truncated);
        };
        if payload.len() > CHUNK_PAYLOAD {
            return Err(CodecError::Oversized);
        }
        if *index == 0 {
            self.buf.clear();
            self.next = 0;
        }
        if *index != self.next {
            return Err(CodecError::OutOfOrder {
                expected: self.next,
                got: *index,
            });
        }
        self.buf.extend_from_slice(payload);
        if self.buf.len() > MAX_MESSAGE {
            return Err(CodecError::Oversized);
        }
        self.next = self.next.wrapping_add(1);
        if flags & LAST == 0 {
            return Ok(None);
        }
        RelayConfig::decode(&self.buf).map(Some)
    }
}

/// The status characteristic: `[state][error]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub state: ProvisionState,
    pub error: ProvisionError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionState {
    Idle = 0,
    Receiving = 1,
    /// The whole config arrived and is kept.
    Stored = 2,
    /// Joining the relay (Wi-Fi up, TCP hello sent).
    Connecting = 3,
    /// The relay welcomed the board.
    Online = 4,
    Failed = 5,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError {
    None = 0x00,
    Checksum = 0x01,
    Truncated = 0x02,
    Oversized = 0x03,
    UnknownVersion = 0x04,
    OutOfOrder = 0x05,
    MissingField = 0x06,
    BadField = 0x07,
    RelayUnreachable = 0x10,
    RelayRefused = 0x11,
    Unknown = 0xFF,
}

impl ProvisionError {
    /// The status byte for a codec error (as a board reports it).
    pub fn of(e: &CodecError) -> Self {
        match e {
            CodecError::Checksum => Self::Checksum,
            CodecError::Truncated => Self::Truncated,
            CodecError::Oversized => Self::Oversized,
            CodecError::UnknownVersion(_) => Self::UnknownVersion,
            CodecError::OutOfOrder { .. } => Self::OutOfOrder,
            CodecError::MissingField(_) => Self::MissingField,
            CodecError::BadField(_) | CodecError::UnknownCommand(_) => Self::BadField,
        }
    }
}

impl Status {
    pub fn encode(self) -> [u8; 2] {
        [self.state as u8, self.error as u8]
    }

    pub fn decode(b: &[u8]) -> Result<Self, CodecError> {
        let [s, e] = b else {
            return Err(if b.len() < 2 {
                CodecError::Truncated
            } else {
                CodecError::Oversized
            });
        };
        use ProvisionError as E;
        use ProvisionState as S;
        let state = [
            S::Idle,
            S::Receiving,
            S::Stored,
            S::Connecting,
            S::Online,
            S::Failed,
        ]
        .into_iter()
        .find(|x| *x as u8 == *s)
        .ok_or(CodecError::BadField("state"))?;
        let error = [
            E::None,
            E::Checksum,
            E::Truncated,
            E::Oversized,
            E::UnknownVersion,
            E::OutOfOrder,
            E::MissingField,
            E::BadField,
            E::RelayUnreachable,
            E::RelayRefused,
        ]
        .into_iter()
        .find(|x| *x as u8 == *e)
        .unwrap_or(E::Unknown);
        Ok(Self { state, error })
    }
}
