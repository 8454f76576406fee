// Realistic WebRTC signalling payloads, shared by the load driver and the call-cost scenario:
// an SDP offer/answer of a given size (as a JSON string body, \r\n escaped) and ICE candidate
// lines as Chrome writes them.

/** An SDP of exactly `size` characters, JSON-escaped (`\\r\\n` line ends). */
export function sdp(size, seed) {
  const lines = [
    "v=0",
    `o=- ${4611731400430051336n + BigInt(seed)} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS stream",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:Xk3a",
    "a=ice-pwd:9h2Jd0Q8pPq1rT6mZbVwYc4n",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CD:87:32:BE:DD:8C:66:D4:0B:8E:1B:6A:DE:3A:52:2E:C1:0A:17:93",
    "a=setup:actpass",
    "a=mid:0",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "a=rtcp-fb:111 transport-cc",
    "a=fmtp:111 minptime=10;useinbandfec=1",
  ];
  const more = [
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 goog-remb",
    "a=rtcp-fb:96 transport-cc",
    "a=rtcp-fb:96 ccm fir",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=ssrc:1511394725 cname:tQ8Kx2pLm0Vd9sA1",
  ];
  let s = lines.join("\\r\\n") + "\\r\\n";
  for (let i = 0; s.length + more[i % more.length].length + 4 <= size - 16; i++) s += more[i % more.length] + "\\r\\n";
  return `${s}a=x-pad:${"p".repeat(Math.max(0, size - s.length - 12))}\\r\\n`; // exactly `size` chars
}
export function candidate(i) {
  const ip = `192.168.${i % 250}.${(i * 7) % 250}`;
  return `candidate:${1000000000 + i * 7919} 1 udp 2122260223 ${ip} ${50000 + i} typ host generation 0 ufrag Xk3a network-id 1 network-cost 10`;
}
