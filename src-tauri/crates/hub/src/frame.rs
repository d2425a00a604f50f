//! One video frame as the hub shares it.
//!
//! A frame is stored once, as the multi-camera wire message
//! `u8 version | u8 idLen | id | u32 BE seq | u64 BE capture µs | JPEG`.
//! Single-camera viewers, MJPEG and REST get [`VideoFrame::jpeg`], a view of
//! the tail of the same buffer, so neither kind of viewer costs a copy.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{id::StreamId, jpeg::JpegInfo};

/// Version byte of the multi-camera binary header.
pub const MUX_VERSION: u8 = 1;

#[derive(Clone, Debug)]
pub struct VideoFrame {
    /// Per-stream sequence number, starting at 1 and increasing across publishers.
    pub seq: u64,
    /// When the hub received the frame, in µs since the Unix epoch.
    pub captured_us: u64,
    /// When the hub received the frame, on the monotonic clock.
    pub received_at: Instant,
    pub info: JpegInfo,
    packet: Bytes,
    header_len: usize,
}

impl VideoFrame {
    pub(crate) fn build(
        id: &StreamId,
        seq: u64,
        captured_us: u64,
        info: JpegInfo,
        jpeg: &[u8],
    ) -> Self {
        let header = MuxHeader {
            id: id.as_str(),
            seq: seq as u32,
            captured_us,
        };
        let header_len = header.encoded_len();
        let mut buf = BytesMut::with_capacity(header_len + jpeg.len());
        header.encode(&mut buf);
        buf.put_slice(jpeg);
        Self {
            seq,
            captured_us,
            received_at: Instant::now(),
            info,
            packet: buf.freeze(),
            header_len,
        }
    }

    /// The JPEG, byte-identical to what the publisher sent.
    pub fn jpeg(&self) -> Bytes {
        self.packet.slice(self.header_len..)
    }

    /// The JPEG without touching the reference count.
    pub fn jpeg_bytes(&self) -> &[u8] {
        &self.packet[self.header_len..]
    }

    /// The multi-camera message: header followed by the JPEG.
    pub fn mux_packet(&self) -> &Bytes {
        &self.packet
    }

    pub fn len(&self) -> usize {
        self.packet.len() - self.header_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The header that prefixes every binary message on a multi-camera viewer socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuxHeader<'a> {
    pub id: &'a str,
    /// The stream's sequence number modulo 2³².
    pub seq: u32,
    pub captured_us: u64,
}

impl<'a> MuxHeader<'a> {
    pub fn encoded_len(&self) -> usize {
        2 + self.id.len() + 4 + 8
    }

    pub fn encode(&self, out: &mut impl BufMut) {
        debug_assert!(self.id.len() <= u8::MAX as usize);
        out.put_u8(MUX_VERSION);
        out.put_u8(self.id.len() as u8);
        out.put_slice(self.id.as_bytes());
        out.put_u32(self.seq);
        out.put_u64(self.captured_us);
    }

    /// Splits a multi-camera message into its header and the JPEG.
    pub fn parse(msg: &'a [u8]) -> Option<(MuxHeader<'a>, &'a [u8])> {
        let (&version, rest) = msg.split_first()?;
        if version != MUX_VERSION {
            return None;
        }
        let (&id_len, rest) = rest.split_first()?;
        let id_len = id_len as usize;
        if rest.len() < id_len + 12 {
            return None;
        }
        let id = std::str::from_utf8(&rest[..id_len]).ok()?;
        let rest = &rest[id_len..];
        let seq = u32::from_be_bytes(rest[..4].try_into().ok()?);
        let captured_us = u64::from_be_bytes(rest[4..12].try_into().ok()?);
        Some((
            MuxHeader {
                id,
                seq,
                captured_us,
            },
            &rest[12..],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mux_header_layout_is_the_documented_one() {
        let id = StreamId::new("cam").unwrap();
        let f = VideoFrame::build(
            &id,
            0x1_0000_0002,
            0x0102030405060708,
            JpegInfo::default(),
            b"JPEG",
        );
        assert_eq!(
            &f.mux_packet()[..],
            &[1, 3, b'c', b'a', b'm', 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, b'J', b'P', b'E', b'G']
        );
        assert_eq!(&f.jpeg()[..], b"JPEG");
        let (h, jpeg) = MuxHeader::parse(f.mux_packet()).unwrap();
        assert_eq!(
            (h.id, h.seq, h.captured_us, jpeg),
            ("cam", 2, 0x0102030405060708, &b"JPEG"[..])
        );
    }

    #[test]
    fn parse_refuses_short_or_foreign_messages() {
        assert!(MuxHeader::parse(&[]).is_none());
        assert!(MuxHeader::parse(&[2, 0]).is_none());
        assert!(MuxHeader::parse(&[1, 5, b'a']).is_none());
    }
}
