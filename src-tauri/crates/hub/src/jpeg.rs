//! Structural JPEG validation.
//!
//! The relay never decodes images, but it must not forward garbage: a frame is
//! accepted when it starts with SOI (`FF D8`), ends with EOI (`FF D9`), its
//! marker segments before the scan are well formed, and a start-of-frame
//! (SOFn) segment gives its size. That costs a walk over a few hundred header
//! bytes, never over the entropy-coded data.

/// The smallest frame [`inspect`] accepts: a 32×16 baseline header and a
/// one-byte scan holding `tag`. Not a picture (nothing decodes it): for
/// tests and benchmarks that count and compare frames, not look at them.
pub fn markers_only(tag: u8) -> Vec<u8> {
    vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x20, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xDA, 0x00, 0x03, 0x00, tag, 0xFF, 0xD9,
    ]
}

/// What the relay reads from a JPEG header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JpegInfo {
    pub width: u16,
    pub height: u16,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum JpegError {
    #[error("not a JPEG: it does not start with the SOI marker FF D8")]
    MissingSoi,
    #[error("incomplete JPEG: it does not end with the EOI marker FF D9")]
    MissingEoi,
    #[error("malformed JPEG: {0}")]
    Malformed(&'static str),
    #[error("malformed JPEG: no start-of-frame (SOF) marker before the scan")]
    MissingSof,
}

/// Validates `data` as one complete JPEG and reads its size from the SOF marker.
pub fn inspect(data: &[u8]) -> Result<JpegInfo, JpegError> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(JpegError::MissingSoi);
    }
    if data[data.len() - 2] != 0xFF || data[data.len() - 1] != 0xD9 {
        return Err(JpegError::MissingEoi);
    }
    let mut pos = 2;
    loop {
        // A marker is 0xFF followed by a code; any number of 0xFF fill bytes
        // may precede the code (ITU T.81 B.1.1.2).
        if pos >= data.len() || data[pos] != 0xFF {
            return Err(JpegError::Malformed("expected a marker"));
        }
        while pos < data.len() && data[pos] == 0xFF {
            pos += 1;
        }
        let Some(&code) = data.get(pos) else {
            return Err(JpegError::Malformed("truncated marker"));
        };
        pos += 1;
        match code {
            // TEM and RSTn stand alone, without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(JpegError::Malformed("second SOI marker")),
            0xD9 | 0xDA => return Err(JpegError::MissingSof),
            0x00 => return Err(JpegError::Malformed("stray 00 after FF")),
            _ => {}
        }
        let Some(len_bytes) = data.get(pos..pos + 2) else {
            return Err(JpegError::Malformed("truncated segment length"));
        };
        let len = u16::from_be_bytes([len_bytes[0], len_bytes[1]]) as usize;
        // Every segment ends before the EOI: one that reaches into it is cut short.
        if len < 2 || pos + len > data.len() - 2 {
            return Err(JpegError::Malformed("segment length out of bounds"));
        }
        if is_sof(code) {
            // SOF payload: precision (1), height (2), width (2), components...
            if len < 8 {
                return Err(JpegError::Malformed("SOF segment too short"));
            }
            let s = &data[pos + 2..];
            let height = u16::from_be_bytes([s[1], s[2]]);
            let width = u16::from_be_bytes([s[3], s[4]]);
            if width == 0 {
                return Err(JpegError::Malformed("zero width in SOF"));
            }
            return Ok(JpegInfo { width, height });
        }
        pos += len;
    }
}

/// SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
fn is_sof(code: u8) -> bool {
    matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest structurally valid JPEG header this module accepts.
    fn tiny(width: u16, height: u16) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend([0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46]); // APP0, 2 payload bytes
        j.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        j.extend(height.to_be_bytes());
        j.extend(width.to_be_bytes());
        j.extend([0x01, 0x01, 0x11, 0x00]);
        j.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34]);
        j.extend([0xFF, 0xD9]);
        j
    }

    #[test]
    fn reads_the_size_from_sof() {
        assert_eq!(
            inspect(&tiny(640, 480)),
            Ok(JpegInfo {
                width: 640,
                height: 480
            })
        );
    }

    #[test]
    fn fill_bytes_before_a_marker_are_allowed() {
        let mut j = tiny(8, 8);
        j.splice(2..2, [0xFF, 0xFF]);
        assert!(inspect(&j).is_ok());
    }

    #[test]
    fn rejects_what_is_not_a_complete_jpeg() {
        assert_eq!(inspect(b"hello world"), Err(JpegError::MissingSoi));
        assert_eq!(inspect(&[]), Err(JpegError::MissingSoi));
        let j = tiny(8, 8);
        assert_eq!(inspect(&j[..j.len() - 1]), Err(JpegError::MissingEoi));
        // SOI and EOI but nothing in between.
        assert!(inspect(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
        // A segment length that runs past the end.
        let mut bad = tiny(8, 8);
        bad[4..6].copy_from_slice(&[0xFF, 0xF0]);
        assert!(matches!(inspect(&bad), Err(JpegError::Malformed(_))));
    }

    #[test]
    fn every_truncation_of_the_headers_is_an_error_not_a_panic() {
        let j = tiny(320, 240);
        // The structural check reads the headers up to the frame header
        // (SOF, which `tiny` ends just before the scan) and never the
        // entropy-coded data after it: a cut anywhere before is an error.
        let sos = j
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("a scan");
        for end in 0..j.len() - 2 {
            let mut cut = j[..end].to_vec();
            cut.extend([0xFF, 0xD9]);
            let verdict = inspect(&cut);
            if end < sos {
                assert!(verdict.is_err(), "cut at {end} of {} accepted", j.len());
            }
        }
    }
}
