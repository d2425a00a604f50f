//! The devkit command channel's framing: a 4-byte big-endian length N
//! (1 ≤ N ≤ 65 536), then N bytes of UTF-8 JSON. Frames may arrive split
//! across reads or several in one read; the reader handles both.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame body, in bytes.
pub const MAX_FRAME: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} is outside 1..=65536")]
    BadLength(u32),
    #[error("frame is not valid UTF-8")]
    NotUtf8,
    #[error("connection closed")]
    Closed,
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads frames from a byte stream. Cancel-safe: bytes read so far stay in
/// the buffer if a `next` future is dropped.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(4096),
        }
    }

    /// The next complete frame's text.
    pub async fn next(&mut self) -> Result<String, FrameError> {
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(frame);
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(if self.buf.is_empty() {
                    FrameError::Closed
                } else {
                    FrameError::Truncated
                });
            }
        }
    }

    fn parse(&mut self) -> Result<Option<String>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if len == 0 || len as usize > MAX_FRAME {
            return Err(FrameError::BadLength(len));
        }
        let len = len as usize;
        if self.buf.len() < 4 + len {
            self.buf.reserve(4 + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        let body = self.buf.split_to(len);
        String::from_utf8(body.to_vec())
            .map(Some)
            .map_err(|_| FrameError::NotUtf8)
    }
}

/// Encodes one frame.
pub fn encode(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(json.as_bytes());
    out
}

/// Writes one frame (one write call, so frames from one writer never interleave).
pub async fn write_frame<W: AsyncWrite + Unpin>(io: &mut W, json: &str) -> std::io::Result<()> {
    io.write_all(&encode(json)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn split_and_coalesced_frames_are_both_read() {
        let mut bytes = encode(r#"{"type":"a"}"#);
        bytes.extend(encode(r#"{"type":"b"}"#));
        // One byte per read: every split point is exercised.
        let (mut tx, rx) = tokio::io::duplex(1);
        tokio::spawn(async move { tx.write_all(&bytes).await });
        let mut r = FrameReader::new(rx);
        assert_eq!(r.next().await.unwrap(), r#"{"type":"a"}"#);
        assert_eq!(r.next().await.unwrap(), r#"{"type":"b"}"#);
        assert!(matches!(r.next().await, Err(FrameError::Closed)));
    }

    #[tokio::test]
    async fn bad_lengths_and_truncation_are_errors() {
        let mut r = FrameReader::new(&[0u8, 0, 0, 0][..]);
        assert!(matches!(r.next().await, Err(FrameError::BadLength(0))));
        let mut r = FrameReader::new(&[0u8, 1, 0, 1][..]);
        assert!(matches!(r.next().await, Err(FrameError::BadLength(65_537))));
        let mut r = FrameReader::new(&[0u8, 0, 0, 5, b'{'][..]);
        assert!(matches!(r.next().await, Err(FrameError::Truncated)));
        let mut r = FrameReader::new(&[0u8, 0, 0, 1, 0xff][..]);
        assert!(matches!(r.next().await, Err(FrameError::NotUtf8)));
    }
}
