//! What an offer must be before a peer is made for it.

use webrtc::peer_connection::RTCSessionDescription;

use crate::error::ApiError;

/// The largest SDP taken (a browser's offer for audio and a DataChannel is
/// 1–4 KiB).
pub const MAX_SDP: usize = 16 * 1024;

/// The offer, parsed; refused with a clear reason otherwise.
pub fn check_offer(kind: &str, sdp: &str) -> Result<RTCSessionDescription, ApiError> {
    if sdp.len() > MAX_SDP {
        return Err(ApiError::SdpTooLarge(sdp.len()));
    }
    if kind != "offer" {
        return Err(ApiError::BadSdp(format!(
            "the description's type is '{kind}'; send an offer"
        )));
    }
    let media = |m: &str| sdp.lines().any(|l| l.trim_end().starts_with(m));
    if !sdp.starts_with("v=0") {
        return Err(ApiError::BadSdp(
            "this is not SDP (it must start with v=0)".into(),
        ));
    }
    if !media("m=application") {
        let why = match media("m=audio") {
            true => "an audio track alone is not served yet: open a DataChannel named audioStream (the Opus track is planned)",
            false => "the offer has neither an audio section nor a DataChannel",
        };
        return Err(ApiError::BadSdp(why.into()));
    }
    RTCSessionDescription::offer(sdp.to_owned())
        .map_err(|e| ApiError::BadSdp(format!("the SDP does not parse: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An offer as Chromium makes it for one DataChannel.
    pub const DATACHANNEL_OFFER: &str = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Zm9v\r\na=ice-pwd:YmFyYmFyYmFyYmFyYmFyYmFyYmFy\r\na=ice-options:trickle\r\na=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

    #[test]
    fn a_browsers_datachannel_offer_is_taken() {
        check_offer("offer", DATACHANNEL_OFFER).unwrap();
    }

    #[test]
    fn what_is_refused_says_why() {
        let big = format!("{DATACHANNEL_OFFER}{}", "a=x\r\n".repeat(4000));
        assert!(matches!(
            check_offer("offer", &big),
            Err(ApiError::SdpTooLarge(n)) if n == big.len()
        ));
        assert!(
            matches!(check_offer("answer", DATACHANNEL_OFFER), Err(ApiError::BadSdp(m)) if m.contains("send an offer"))
        );
        assert!(
            matches!(check_offer("offer", "hello"), Err(ApiError::BadSdp(m)) if m.contains("v=0"))
        );
        let video = DATACHANNEL_OFFER.replace(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
        );
        assert!(
            matches!(check_offer("offer", &video), Err(ApiError::BadSdp(m)) if m.contains("neither an audio section nor a DataChannel"))
        );
        let audio = DATACHANNEL_OFFER.replace(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        );
        assert!(
            matches!(check_offer("offer", &audio), Err(ApiError::BadSdp(m)) if m.contains("audioStream"))
        );
        assert!(matches!(
            check_offer("offer", "v=0\r\nm=application garbage\r\n"),
            Err(ApiError::BadSdp(m)) if m.contains("does not parse")
        ));
    }
}
