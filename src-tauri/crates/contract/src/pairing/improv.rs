//! Improv Wi-Fi over BLE (<https://www.improv-wifi.com/ble/>), the client's
//! and the board's side of its packets. Boards that already speak Improv
//! (ESPHome, the Improv libraries) need nothing new for the Wi-Fi part.

use super::{checksum, CodecError};

pub const SERVICE: &str = "00467768-6228-2272-4663-277478268000";
pub const CURRENT_STATE: &str = "00467768-6228-2272-4663-277478268001";
pub const ERROR_STATE: &str = "00467768-6228-2272-4663-277478268002";
pub const RPC_COMMAND: &str = "00467768-6228-2272-4663-277478268003";
pub const RPC_RESULT: &str = "00467768-6228-2272-4663-277478268004";
pub const CAPABILITIES: &str = "00467768-6228-2272-4663-277478268005";

/// The longest SSID (IEEE 802.11) and WPA passphrase.
pub const MAX_SSID: usize = 32;
pub const MAX_PASSWORD: usize = 64;

/// The current-state characteristic's byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The user must press the board's button first.
    AuthorizationRequired,
    Authorized,
    Provisioning,
    Provisioned,
}

impl State {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0x01 => Self::AuthorizationRequired,
            0x02 => Self::Authorized,
            0x03 => Self::Provisioning,
            0x04 => Self::Provisioned,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        match self {
            Self::AuthorizationRequired => 0x01,
            Self::Authorized => 0x02,
            Self::Provisioning => 0x03,
            Self::Provisioned => 0x04,
        }
    }
}

/// The error-state characteristic's byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorState {
    None,
    InvalidRpc,
    UnknownCommand,
    UnableToConnect,
    NotAuthorized,
    Unknown,
}

impl ErrorState {
    pub fn from_byte(b: u8) -> Self {
        match b {
            0x00 => Self::None,
            0x01 => Self::InvalidRpc,
            0x02 => Self::UnknownCommand,
            0x03 => Self::UnableToConnect,
            0x04 => Self::NotAuthorized,
            _ => Self::Unknown,
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Self::None => 0x00,
            Self::InvalidRpc => 0x01,
            Self::UnknownCommand => 0x02,
            Self::UnableToConnect => 0x03,
            Self::NotAuthorized => 0x04,
            Self::Unknown => 0xFF,
        }
    }
}

/// The capabilities characteristic's bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(pub u8);

impl Capabilities {
    pub fn identify(self) -> bool {
        self.0 & 0b001 != 0
    }
    pub fn device_info(self) -> bool {
        self.0 & 0b010 != 0
    }
    pub fn scan(self) -> bool {
        self.0 & 0b100 != 0
    }
}

/// An RPC command, as the client writes it to the RPC-command characteristic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    WifiSettings { ssid: String, password: String },
    Identify,
    DeviceInfo,
    Scan,
}

impl Command {
    pub fn id(&self) -> u8 {
        match self {
            Self::WifiSettings { .. } => 0x01,
            Self::Identify => 0x02,
            Self::DeviceInfo => 0x03,
            Self::Scan => 0x04,
        }
    }

    /// `[command][length][data][checksum]`; `Oversized` for an SSID over 32
    /// bytes or a password over 64.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let data = match self {
            Self::WifiSettings { ssid, password } => {
                if ssid.is_empty() {
                    return Err(CodecError::MissingField("SSID"));
                }
                if ssid.len() > MAX_SSID || password.len() > MAX_PASSWORD {
                    return Err(CodecError::Oversized);
                }
                let mut d = vec![ssid.len() as u8];
                d.extend_from_slice(ssid.as_bytes());
                d.push(password.len() as u8);
                d.extend_from_slice(password.as_bytes());
                d
            }
            _ => Vec::new(),
        };
        Ok(frame(self.id(), &data))
    }

    /// One whole packet, as a board reads it.
    pub fn decode(packet: &[u8]) -> Result<Self, CodecError> {
        let (id, data) = unframe(packet)?;
        match id {
            0x01 => {
                let mut strings = read_strings(data)?;
                if strings.len() != 2 {
                    return Err(CodecError::BadField("Wi-Fi settings"));
                }
                let password = strings.pop().expect("two");
                let ssid = strings.pop().expect("two");
                if ssid.is_empty() {
                    return Err(CodecError::MissingField("SSID"));
                }
                if ssid.len() > MAX_SSID || password.len() > MAX_PASSWORD {
                    return Err(CodecError::Oversized);
                }
                Ok(Self::WifiSettings { ssid, password })
            }
            0x02..=0x04 if !data.is_empty() => Err(CodecError::BadField("command data")),
            0x02 => Ok(Self::Identify),
            0x03 => Ok(Self::DeviceInfo),
            0x04 => Ok(Self::Scan),
            other => Err(CodecError::UnknownCommand(other)),
        }
    }
}

/// An RPC result: the command it answers and a list of strings (a redirect
/// URL after Wi-Fi settings; firmware, version, chip, name for device info;
/// SSID, RSSI, auth triples for a scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcResult {
    pub command: u8,
    pub strings: Vec<String>,
}

impl RpcResult {
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut data = Vec::new();
        for s in &self.strings {
            if s.len() > 255 {
                return Err(CodecError::Oversized);
            }
            data.push(s.len() as u8);
            data.extend_from_slice(s.as_bytes());
        }
        if data.len() > 255 {
            return Err(CodecError::Oversized);
        }
        Ok(frame(self.command, &data))
    }

    pub fn decode(packet: &[u8]) -> Result<Self, CodecError> {
        let (command, data) = unframe(packet)?;
        Ok(Self {
            command,
            strings: read_strings(data)?,
        })
    }
}

/// A network a board's scan saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedNetwork {
    pub ssid: String,
    pub rssi: i32,
    /// `WEP`, `WPA`, `WPA2` or `NO`, as the board says it.
    pub auth: String,
}

/// A scan result's strings as networks, strongest first (a malformed RSSI
/// counts as the weakest).
pub fn scanned_networks(result: &RpcResult) -> Result<Vec<ScannedNetwork>, CodecError> {
    if !result.strings.len().is_multiple_of(3) {
        return Err(CodecError::BadField("scan result"));
    }
    let mut nets: Vec<_> = result
        .strings
        .chunks_exact(3)
        .map(|t| ScannedNetwork {
            ssid: t[0].clone(),
            rssi: t[1].parse().unwrap_or(i32::MIN),
            auth: t[2].clone(),
        })
        .collect();
    nets.sort_by_key(|n| std::cmp::Reverse(n.rssi));
    Ok(nets)
}

/// Collects the writes of one RPC packet (split for a small MTU) until it is
/// whole, as a board does.
#[derive(Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
}

impl Reassembler {
    /// Adds one write; the whole packet once it is complete. Bytes beyond the
    /// declared length are `Oversized` (and the buffer starts over).
    pub fn push(&mut self, write: &[u8]) -> Result<Option<Vec<u8>>, CodecError> {
        self.buf.extend_from_slice(write);
        if self.buf.len() < 2 {
            return Ok(None);
        }
        let whole = self.buf[1] as usize + 3;
        match self.buf.len().cmp(&whole) {
            std::cmp::Ordering::Less => Ok(None),
            std::cmp::Ordering::Equal => Ok(Some(std::mem::take(&mut self.buf))),
            std::cmp::Ordering::Greater => {
                self.buf.clear();
                Err(CodecError::Oversized)
            }
        }
    }
}

fn frame(id: u8, data: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(data.len() + 3);
    p.push(id);
    p.push(data.len() as u8);
    p.extend_from_slice(data);
    p.push(checksum(&p));
    p
}

/// `(command, data)` of one whole packet.
fn unframe(packet: &[u8]) -> Result<(u8, &[u8]), CodecError> {
    if packet.len() < 3 {
        return Err(CodecError::Truncated);
    }
    let whole = packet[1] as usize + 3;
    if packet.len() < whole {
        return Err(CodecError::Truncated);
    }
    if packet.len() > whole {
        return Err(CodecError::Oversized);
    }
    let (body, sum) = packet.split_at(whole - 1);
    if checksum(body) != sum[0] {
        return Err(CodecError::Checksum);
    }
    Ok((packet[0], &body[2..]))
}

/// Length-prefixed UTF-8 strings filling `data` exactly.
fn read_strings(mut data: &[u8]) -> Result<Vec<String>, CodecError> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let len = len as usize;
        if rest.len() < len {
            return Err(CodecError::Truncated);
        }
        let (s, rest) = rest.split_at(len);
        out.push(String::from_utf8(s.to_vec()).map_err(|_| CodecError::BadField("string"))?);
        data = rest;
    }
    Ok(out)
}
