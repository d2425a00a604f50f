//! Pairing a devkit over Bluetooth LE: the bytes on the air, with no BLE
//! stack in sight (docs/PROTOCOL.md, "Pairing").
//!
//! * [`improv`]: the open Improv Wi-Fi service (the Wi-Fi credentials): RPC
//!   command and result packets, states, errors, capabilities.
//! * [`provision`]: Relay Deck's own provisioning service beside it (relay
//!   hosts, ports, device ID and token, TLS fingerprint): a versioned,
//!   length-prefixed message in chunks that fit a 20-byte ATT write.
//!
//! The TypeScript twin is `ui/src/lib/pairing.ts`; both are run against the
//! same vectors (`tests/vectors/pairing.json`), valid and malformed.

pub mod improv;
pub mod provision;

/// Why bytes are not a valid packet. [`CodecError::code`] is the name the
/// test vectors and the TypeScript codec use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The checksum byte is not the low byte of the sum of the bytes before it.
    Checksum,
    /// Fewer bytes than the packet declares.
    Truncated,
    /// More bytes than the packet declares, or a field over its limit.
    Oversized,
    /// An Improv command ID this codec does not know.
    UnknownCommand(u8),
    /// A provisioning message of a version this codec does not speak.
    UnknownVersion(u8),
    /// A chunk arrived that is not the next one.
    OutOfOrder { expected: u8, got: u8 },
    /// A required field is absent.
    MissingField(&'static str),
    /// A field is present but unusable (not UTF-8, a zero port, a repeated field…).
    BadField(&'static str),
}

impl CodecError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Checksum => "checksum",
            Self::Truncated => "truncated",
            Self::Oversized => "oversized",
            Self::UnknownCommand(_) => "unknown_command",
            Self::UnknownVersion(_) => "unknown_version",
            Self::OutOfOrder { .. } => "out_of_order",
            Self::MissingField(_) => "missing_field",
            Self::BadField(_) => "bad_field",
        }
    }
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Checksum => write!(f, "the checksum does not match"),
            Self::Truncated => write!(f, "the packet is shorter than it declares"),
            Self::Oversized => write!(f, "the packet or a field is longer than allowed"),
            Self::UnknownCommand(c) => write!(f, "unknown command 0x{c:02x}"),
            Self::UnknownVersion(v) => write!(f, "unknown provisioning version {v}"),
            Self::OutOfOrder { expected, got } => {
                write!(f, "chunk {got} arrived where chunk {expected} was expected")
            }
            Self::MissingField(name) => write!(f, "the {name} is missing"),
            Self::BadField(name) => write!(f, "the {name} is not valid"),
        }
    }
}

impl std::error::Error for CodecError {}

/// The low byte of the sum of `bytes`: Improv's checksum, and ours.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// `packet` split into writes of at most `mtu` bytes (a 20-byte ATT payload
/// when nothing larger was negotiated).
pub fn split_writes(packet: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    packet.chunks(mtu.max(1)).map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod vectors;
