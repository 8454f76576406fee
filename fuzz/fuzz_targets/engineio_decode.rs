//! Engine.IO text and binary framing: `engineio::decode`, `binary_payload`, `encode_binary`,
//! `encode_open`.
//!
//! Input: arbitrary bytes. Invariants checked (beyond "never panics"):
//! - `decode` fails with `Empty` exactly on the empty frame, with `UnknownType` exactly when the
//!   first byte is not `0`–`6`, and otherwise returns the packet of that digit whose data is the
//!   rest of the frame;
//! - `binary_payload(V4, f)` is `f`; `binary_payload(V3, f)` is `f[1..]` exactly when `f[0] == 4`;
//!   a payload re-framed with `encode_binary` for the same protocol gives back the frame;
//! - `encode_open` with the input (lossily decoded) as sid is an Open packet whose data is one
//!   JSON object that carries the sid back unchanged, with `maxPayload` only on v4.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signal_core::engineio::{self, Error, Handshake, Packet, Protocol};
use signal_core::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = std::str::from_utf8(data) {
        check_decode(frame);
    }
    check_binary(data);
    check_open(data);
});

fn check_decode(frame: &str) {
    let result = engineio::decode(frame);
    let Some(&first) = frame.as_bytes().first() else {
        assert_eq!(result, Err(Error::Empty));
        return;
    };
    if !(b'0'..=b'6').contains(&first) {
        assert_eq!(result, Err(Error::UnknownType), "{frame:?}");
        return;
    }
    let rest = &frame[1..];
    let expected = match first {
        b'0' => Packet::Open(rest),
        b'1' => Packet::Close,
        b'2' => Packet::Ping(rest),
        b'3' => Packet::Pong(rest),
        b'4' => Packet::Message(rest),
        b'5' => Packet::Upgrade,
        _ => Packet::Noop,
    };
    assert_eq!(result, Ok(expected), "{frame:?}");
}

fn check_binary(frame: &[u8]) {
    assert_eq!(engineio::binary_payload(Protocol::V4, frame), Some(frame));
    match engineio::binary_payload(Protocol::V3, frame) {
        Some(payload) => {
            assert_eq!(frame.first(), Some(&4));
            assert_eq!(payload, &frame[1..]);
            assert_eq!(engineio::encode_binary(Protocol::V3, payload), frame);
        }
        None => assert_ne!(frame.first(), Some(&4)),
    }
    assert_eq!(engineio::encode_binary(Protocol::V4, frame), frame);
}

fn check_open(data: &[u8]) {
    let sid = String::from_utf8_lossy(data);
    let n = data.len() as u64;
    let hs = Handshake {
        ping_interval: n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ping_timeout: n,
        max_payload: data.len(),
    };
    for protocol in [Protocol::V3, Protocol::V4] {
        let open = engineio::encode_open(&sid, protocol, &hs, &[]);
        let Ok(Packet::Open(body)) = engineio::decode(&open) else {
            panic!("encode_open did not give an open packet: {open:?}");
        };
        assert!(json::validate(body).is_ok(), "open packet is not JSON: {open:?}");
        let value: serde_json::Value = serde_json::from_str(body).expect("open packet JSON");
        let obj = value.as_object().expect("open packet is an object");
        assert_eq!(obj.get("sid").and_then(|v| v.as_str()), Some(&*sid));
        assert_eq!(obj.get("pingInterval").and_then(|v| v.as_u64()), Some(hs.ping_interval));
        assert_eq!(obj.get("pingTimeout").and_then(|v| v.as_u64()), Some(hs.ping_timeout));
        assert_eq!(obj.get("upgrades"), Some(&serde_json::json!([])));
        assert_eq!(
            obj.get("maxPayload").and_then(|v| v.as_u64()),
            (protocol == Protocol::V4).then_some(hs.max_payload as u64)
        );
    }
}
