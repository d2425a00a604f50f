import { describe, expect, it } from "vitest";
import { preferStereo } from "../src/audio/webrtc";

describe("preferStereo", () => {
  const offer = "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n";

  it("asks for stereo on the Opus fmtp line only", () => {
    const out = preferStereo(offer);
    expect(out).toContain("a=fmtp:111 minptime=10;useinbandfec=1;stereo=1\r\n");
    expect(out).toContain("a=fmtp:63 111/111\r\n");
  });

  it("does not add it twice, and keeps LF-only SDP as it is", () => {
    expect(preferStereo(preferStereo(offer))).toBe(preferStereo(offer));
    const lf = offer.replaceAll("\r\n", "\n");
    expect(preferStereo(lf)).toBe(preferStereo(offer).replaceAll("\r\n", "\n"));
  });
});
