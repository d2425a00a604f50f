//! MJPEG passthrough: a webcam's JPEG goes to the hub as it is, unless it
//! lacks Huffman tables.
//!
//! Motion-JPEG from many webcams is the "AVI1" form: each frame omits the
//! DHT segment and relies on the standard tables of ITU-T T.81 Annex K.3.
//! Decoders in browsers do not supply them, so such a frame is completed
//! by inserting the standard tables before the start of scan. Everything
//! else is untouched (no decode, no re-encode).

use std::borrow::Cow;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MjpegError {
    #[error("not a JPEG (no SOI marker)")]
    NotJpeg,
    #[error("truncated JPEG header")]
    Truncated,
    #[error("the JPEG has no start of scan")]
    NoScan,
}

/// The frame as a complete JPEG: borrowed when it has its own Huffman
/// tables, otherwise a copy with the standard tables inserted.
pub fn complete_jpeg(frame: &[u8]) -> Result<Cow<'_, [u8]>, MjpegError> {
    let sos = match header_segments(frame)? {
        Header { has_dht: true, .. } => return Ok(Cow::Borrowed(frame)),
        Header { sos, .. } => sos,
    };
    let dht = standard_dht();
    let mut out = Vec::with_capacity(frame.len() + dht.len());
    out.extend_from_slice(&frame[..sos]);
    out.extend_from_slice(&dht);
    out.extend_from_slice(&frame[sos..]);
    Ok(Cow::Owned(out))
}

struct Header {
    has_dht: bool,
    /// Offset of the SOS marker.
    sos: usize,
}

/// Walks the marker segments up to the start of scan.
fn header_segments(frame: &[u8]) -> Result<Header, MjpegError> {
    if frame.len() < 4 || frame[0] != 0xFF || frame[1] != 0xD8 {
        return Err(MjpegError::NotJpeg);
    }
    let mut i = 2;
    let mut has_dht = false;
    loop {
        // Fill bytes (0xFF padding) may precede a marker.
        while i < frame.len() && frame[i] == 0xFF && frame.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > frame.len() || frame[i] != 0xFF {
            return Err(if i + 4 > frame.len() {
                MjpegError::Truncated
            } else {
                MjpegError::NoScan
            });
        }
        let marker = frame[i + 1];
        match marker {
            0xDA => return Ok(Header { has_dht, sos: i }),
            0xD9 => return Err(MjpegError::NoScan),
            0xC4 => has_dht = true,
            _ => {}
        }
        let len = u16::from_be_bytes([frame[i + 2], frame[i + 3]]) as usize;
        if len < 2 {
            return Err(MjpegError::Truncated);
        }
        i += 2 + len;
    }
}

// ITU-T T.81 Annex K.3, tables K.3 to K.6 (as in libjpeg's jstdhuff.c).
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
#[rustfmt::skip]
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
#[rustfmt::skip]
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// One DHT segment holding the four standard tables.
pub fn standard_dht() -> Vec<u8> {
    // (class << 4 | id, bits, values): DC 0, AC 0 (luminance), DC 1, AC 1 (chrominance).
    let tables: [(u8, &[u8; 16], &[u8]); 4] = [
        (0x00, &DC_LUMA_BITS, &DC_VALUES),
        (0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES),
        (0x01, &DC_CHROMA_BITS, &DC_VALUES),
        (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES),
    ];
    let body: usize = tables.iter().map(|(_, _, v)| 1 + 16 + v.len()).sum();
    let mut out = Vec::with_capacity(4 + body);
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&((body + 2) as u16).to_be_bytes());
    for (tc_th, bits, values) in tables {
        debug_assert_eq!(
            bits.iter().map(|&b| b as usize).sum::<usize>(),
            values.len()
        );
        out.push(tc_th);
        out.extend_from_slice(bits);
        out.extend_from_slice(values);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_tables_are_well_formed() {
        let dht = standard_dht();
        assert_eq!(u16::from_be_bytes([dht[2], dht[3]]) as usize, dht.len() - 2);
        assert_eq!(dht.len(), 4 + 4 * 17 + 12 + 162 + 12 + 162);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(complete_jpeg(b"").unwrap_err(), MjpegError::NotJpeg);
        assert_eq!(
            complete_jpeg(&[0xFF, 0xD8, 0xFF]).unwrap_err(),
            MjpegError::NotJpeg
        );
        assert_eq!(
            complete_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]).unwrap_err(),
            MjpegError::Truncated
        );
        assert_eq!(
            complete_jpeg(&[0xFF, 0xD8, 0xFF, 0xD9, 0, 0]).unwrap_err(),
            MjpegError::NoScan
        );
        assert_eq!(
            complete_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 1, 2]).unwrap_err(),
            MjpegError::Truncated
        );
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 0xD8) as u8).collect();
            let _ = complete_jpeg(&junk);
        }
    }
}
