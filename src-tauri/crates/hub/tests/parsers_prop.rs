//! Property tests for the hub's parsers of network input.

use proptest::prelude::*;
use relaydeck_hub::{jpeg, MuxHeader, StreamId};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any bytes: an answer, never a panic; accepted input starts with SOI and ends with EOI.
    #[test]
    fn jpeg_inspection_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if jpeg::inspect(&bytes).is_ok() {
            prop_assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]));
        }
    }

    /// A real-looking JPEG with random bytes spliced in is still judged without panicking.
    #[test]
    fn mutated_jpegs_never_panic(at in 0usize..64, junk in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut j = jpeg::markers_only(0x42);
        let at = at.min(j.len());
        j.splice(at..at, junk);
        let _ = jpeg::inspect(&j);
    }

    #[test]
    fn mux_headers_round_trip(id in "[A-Za-z0-9_-]{1,64}", seq in any::<u32>(), t in any::<u64>(), jpeg in proptest::collection::vec(any::<u8>(), 0..64)) {
        let h = MuxHeader { id: &id, seq, captured_us: t };
        let mut buf = Vec::new();
        h.encode(&mut buf);
        buf.extend_from_slice(&jpeg);
        let (parsed, rest) = MuxHeader::parse(&buf).unwrap();
        prop_assert_eq!(parsed.id, id.as_str());
        prop_assert_eq!((parsed.seq, parsed.captured_us), (seq, t));
        prop_assert_eq!(rest, &jpeg[..]);
    }

    #[test]
    fn mux_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = MuxHeader::parse(&bytes);
    }

    #[test]
    fn stream_ids_accept_exactly_the_documented_alphabet(s in "\\PC{0,80}") {
        let ok = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        prop_assert_eq!(StreamId::new(&s).is_ok(), ok);
    }
}
