//! What an offer must be before a peer is made for it.

use webrtc::peer_connection::RTCSessionDescription;

use crate::error::ApiError;

/// The largest SDP taken (a browser's offer for audio and a DataChannel is
/// 1–4 KiB).
pub const MAX_SDP: usize = 16 * 1024;

/// An offer that passed: parsed, and what it asks for.
#[derive(Debug)]
pub struct Offer {
    pub description: RTCSessionDescription,
    /// An audio section that can receive Opus: the relay adds its Opus track.
    pub audio: bool,
    /// A DataChannel section (`audioStream`, and files once served).
    pub data: bool,
}

/// The offer, parsed; refused with a clear reason otherwise.
pub fn check_offer(kind: &str, sdp: &str) -> Result<Offer, ApiError> {
    if sdp.len() > MAX_SDP {
        return Err(ApiError::SdpTooLarge(sdp.len()));
    }
    if kind != "offer" {
        return Err(ApiError::BadSdp(format!(
            "the description's type is '{kind}'; send an offer"
        )));
    }
    if !sdp.starts_with("v=0") {
        return Err(ApiError::BadSdp(
            "this is not SDP (it must start with v=0)".into(),
        ));
    }
    let sections = media_sections(sdp);
    let data = sections.iter().any(|m| m.kind == "application");
    let audio = match sections.iter().find(|m| m.kind == "audio") {
        Some(m) => {
            check_audio(m)?;
            true
        }
        None => false,
    };
    if !audio && !data {
        return Err(ApiError::BadSdp(
            "the offer has neither an audio section nor a DataChannel".into(),
        ));
    }
    let description = RTCSessionDescription::offer(sdp.to_owned())
        .map_err(|e| ApiError::BadSdp(format!("the SDP does not parse: {e}")))?;
    Ok(Offer {
        description,
        audio,
        data,
    })
}

/// One `m=` section: its media kind and its attribute lines.
struct Section<'a> {
    kind: &'a str,
    lines: Vec<&'a str>,
}

fn media_sections(sdp: &str) -> Vec<Section<'_>> {
    let mut sections: Vec<Section<'_>> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let kind = m.split(' ').next().unwrap_or_default();
            sections.push(Section {
                kind,
                lines: Vec::new(),
            });
        } else if let Some(s) = sections.last_mut() {
            s.lines.push(line);
        }
    }
    sections
}

/// The relay sends audio: the section must be able to receive it, in Opus.
fn check_audio(m: &Section<'_>) -> Result<(), ApiError> {
    let has = |a: &str| m.lines.contains(&a);
    if has("a=sendonly") || has("a=inactive") {
        return Err(ApiError::BadSdp(
            "the audio section does not receive (a=sendonly or a=inactive); offer recvonly or sendrecv to listen".into(),
        ));
    }
    let opus = m.lines.iter().any(|l| {
        l.strip_prefix("a=rtpmap:")
            .and_then(|r| r.split_once(' '))
            .is_some_and(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/48000"))
    });
    if !opus {
        return Err(ApiError::BadSdp(
            "the audio section offers no Opus (a=rtpmap:… opus/48000/2), the only codec the relay sends".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An offer as Chromium makes it for one DataChannel.
    pub const DATACHANNEL_OFFER: &str = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Zm9v\r\na=ice-pwd:YmFyYmFyYmFyYmFyYmFyYmFyYmFy\r\na=ice-options:trickle\r\na=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

    #[test]
    fn a_browsers_datachannel_offer_is_taken() {
        let offer = check_offer("offer", DATACHANNEL_OFFER).unwrap();
        assert!(offer.data && !offer.audio);
    }

    /// An audio section as a WHEP player (or `addTransceiver("audio",
    /// {direction: "recvonly"})`) offers it.
    fn audio_offer(direction: &str, codecs: &str) -> String {
        DATACHANNEL_OFFER.replace(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
            &format!("m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na={direction}\r\n{codecs}"),
        )
    }

    #[test]
    fn an_audio_section_that_receives_opus_gets_the_track() {
        let codecs = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n";
        for direction in ["recvonly", "sendrecv"] {
            let offer = check_offer("offer", &audio_offer(direction, codecs)).unwrap();
            assert!(offer.audio && !offer.data, "{direction}");
        }
        let both = format!(
            "{}{}",
            audio_offer("recvonly", codecs),
            &DATACHANNEL_OFFER[DATACHANNEL_OFFER.find("m=application").unwrap()..]
        );
        let offer = check_offer("offer", &both).unwrap();
        assert!(offer.audio && offer.data);
        // An audio section that only sends, or has no Opus, is refused with the reason.
        let e = check_offer("offer", &audio_offer("sendonly", codecs)).unwrap_err();
        assert!(matches!(e, ApiError::BadSdp(m) if m.contains("does not receive")));
        let e = check_offer(
            "offer",
            &audio_offer("recvonly", "a=rtpmap:0 PCMU/8000\r\n"),
        )
        .unwrap_err();
        assert!(matches!(e, ApiError::BadSdp(m) if m.contains("no Opus")));
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
        assert!(matches!(
            check_offer("offer", "v=0\r\nm=application garbage\r\n"),
            Err(ApiError::BadSdp(m)) if m.contains("does not parse")
        ));
    }
}
