//! Long-polling payloads: `engineio::payload::decode` and `encode`.
//!
//! Input: arbitrary bytes as a request body, for each protocol and content type. Invariants
//! checked (beyond "never panics"):
//! - a v4 body decodes only if it is UTF-8 text, and its frames re-encode to a body that
//!   decodes to the same frames;
//! - a v3 text body's frames re-encode (as a text payload) to a body that decodes to the same
//!   frames;
//! - a v3 binary body's frames re-encode (as a binary payload, when one is binary) to a body
//!   that decodes to the same frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signal_core::engineio::payload::{decode, encode, Body, Frame};
use signal_core::engineio::Protocol;

fuzz_target!(|data: &[u8]| {
    if let Ok(frames) = decode(Protocol::V4, data, false) {
        assert!(std::str::from_utf8(data).is_ok());
        let Body::Text(again) = encode(Protocol::V4, false, &frames) else {
            panic!("a v4 payload re-encoded as binary");
        };
        assert_eq!(decode(Protocol::V4, again.as_bytes(), false), Ok(frames), "{data:?}");
    }
    assert!(decode(Protocol::V4, data, true).is_err());
    if let Ok(frames) = decode(Protocol::V3, data, false) {
        let Body::Text(again) = encode(Protocol::V3, true, &frames) else {
            panic!("a v3 text payload re-encoded as binary");
        };
        assert_eq!(decode(Protocol::V3, again.as_bytes(), false), Ok(frames), "{data:?}");
    }
    if let Ok(frames) = decode(Protocol::V3, data, true) {
        if frames.iter().any(|f| matches!(f, Frame::Binary(_))) {
            let Body::Binary(again) = encode(Protocol::V3, false, &frames) else {
                panic!("a v3 binary payload re-encoded as text");
            };
            assert_eq!(decode(Protocol::V3, &again, true), Ok(frames), "{data:?}");
        }
    }
});
