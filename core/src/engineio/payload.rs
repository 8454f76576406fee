//! Long-polling payloads: several Engine.IO packets in one HTTP body.
//!
//! From the Engine.IO protocol:
//! - **v4**: packets joined by the record separator `\x1e`; a binary packet is `b` followed by
//!   its data in base64: `42["a"]\x1e2\x1ebAQID`. Request bodies are always text.
//! - **v3**, text payload: each packet as `<length>:<packet>`, the length counted in UTF-16
//!   units as JavaScript counts a string; a binary packet is `b4<base64>` (message type 4):
//!   `7:42["a"]1:2`.
//! - **v3**, binary payload (for clients that can take binary, i.e. did not ask for `b64=1`, and
//!   only when a binary packet is in it): each packet as one byte `0` (text) or `1` (binary), the
//!   length as one byte per decimal digit, the byte 255, then the packet — UTF-8 text, or the
//!   type byte 4 and the data.
//!
//! Packets are handled here as the websocket transport frames them ([`Frame`]): text as is,
//! binary as a websocket binary frame (v3 with its leading type byte 4), so the room sees the
//! same frames on either transport.

use serde::{Deserialize, Serialize};

use super::Protocol;
use crate::base64;

/// The v4 record separator.
pub const SEPARATOR: char = '\x1e';

/// Longest v3 binary-payload length field accepted, in digits (the reference parser's limit).
const MAX_LENGTH_DIGITS: usize = 310;

/// One Engine.IO packet, framed as on a websocket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// A text packet: `<type digit>[<data>]`.
    Text(String),
    /// A binary packet: v4 its data, v3 the type byte 4 then the data.
    Binary(Vec<u8>),
}

/// An HTTP body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// `text/plain; charset=UTF-8`
    Text(String),
    /// `application/octet-stream` (v3 binary payloads only)
    Binary(Vec<u8>),
}

impl Body {
    /// The `Content-Type` to send it with.
    pub fn content_type(&self) -> &'static str {
        match self {
            Body::Text(_) => "text/plain; charset=UTF-8",
            Body::Binary(_) => "application/octet-stream",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Body::Text(t) => t.len(),
            Body::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a request body is not a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No packet at all, or an empty v4 record.
    Empty,
    /// A v3 length that is missing, not a number, or longer than what follows.
    BadLength,
    /// A binary packet whose base64 does not decode.
    BadBase64,
    /// A v3 binary-payload text record that is not UTF-8, or a record type other than 0 or 1.
    BadRecord,
    /// A binary (octet-stream) body from a v4 client.
    BinaryOnV4,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Empty => "empty payload",
            Error::BadLength => "invalid payload length",
            Error::BadBase64 => "invalid base64 in payload",
            Error::BadRecord => "invalid payload record",
            Error::BinaryOnV4 => "binary payload on Engine.IO v4",
        })
    }
}

/// Encodes `frames` (at least one) for a client speaking `protocol`. `base64`: a v3 client that
/// asked for text-only payloads (`b64=1`).
pub fn encode(protocol: Protocol, base64: bool, frames: &[Frame]) -> Body {
    match protocol {
        Protocol::V4 => {
            let mut out = String::new();
            for (k, f) in frames.iter().enumerate() {
                if k > 0 {
                    out.push(SEPARATOR);
                }
                match f {
                    Frame::Text(t) => out.push_str(t),
                    Frame::Binary(b) => {
                        out.push('b');
                        out.push_str(&base64::encode(b));
                    }
                }
            }
            Body::Text(out)
        }
        Protocol::V3 if !base64 && frames.iter().any(|f| matches!(f, Frame::Binary(_))) => {
            let mut out = Vec::new();
            for f in frames {
                let (kind, bytes) = match f {
                    Frame::Text(t) => (0u8, t.as_bytes()),
                    Frame::Binary(b) => (1u8, b.as_slice()),
                };
                out.push(kind);
                out.extend(bytes.len().to_string().bytes().map(|d| d - b'0'));
                out.push(255);
                out.extend_from_slice(bytes);
            }
            Body::Binary(out)
        }
        Protocol::V3 => {
            let mut out = String::new();
            for f in frames {
                let record = match f {
                    Frame::Text(t) => std::borrow::Cow::Borrowed(t.as_str()),
                    Frame::Binary(b) => {
                        let (kind, data) = b.split_first().map_or((4, &[][..]), |(k, d)| (*k, d));
                        let mut r = String::with_capacity(2 + data.len() * 4 / 3 + 4);
                        r.push('b');
                        r.push(char::from(b'0' + kind.min(9)));
                        r.push_str(&base64::encode(data));
                        std::borrow::Cow::Owned(r)
                    }
                };
                out.push_str(&utf16_len(&record).to_string());
                out.push(':');
                out.push_str(&record);
            }
            Body::Text(out)
        }
    }
}

/// Decodes a request body from a client speaking `protocol`; `binary`: it came as
/// `application/octet-stream`.
pub fn decode(protocol: Protocol, body: &[u8], binary: bool) -> Result<Vec<Frame>, Error> {
    match (protocol, binary) {
        (Protocol::V4, true) => Err(Error::BinaryOnV4),
        (Protocol::V4, false) => {
            let text = std::str::from_utf8(body).map_err(|_| Error::BadRecord)?;
            text.split(SEPARATOR)
                .map(|record| match record.strip_prefix('b') {
                    _ if record.is_empty() => Err(Error::Empty),
                    Some(b64) => base64::decode(b64)
                        .map(Frame::Binary)
                        .ok_or(Error::BadBase64),
                    None => Ok(Frame::Text(record.to_string())),
                })
                .collect()
        }
        (Protocol::V3, false) => {
            let text = std::str::from_utf8(body).map_err(|_| Error::BadRecord)?;
            decode_v3_text(text)
        }
        (Protocol::V3, true) => decode_v3_binary(body),
    }
}

fn decode_v3_text(mut text: &str) -> Result<Vec<Frame>, Error> {
    let mut frames = Vec::new();
    if text.is_empty() {
        return Err(Error::Empty);
    }
    while !text.is_empty() {
        let colon = text.find(':').ok_or(Error::BadLength)?;
        let digits = &text[..colon];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::BadLength);
        }
        let units: usize = digits.parse().map_err(|_| Error::BadLength)?;
        let rest = &text[colon + 1..];
        let end = utf16_prefix(rest, units).ok_or(Error::BadLength)?;
        let record = &rest[..end];
        text = &rest[end..];
        if record.is_empty() {
            continue;
        }
        frames.push(match record.strip_prefix('b') {
            Some(b64) => {
                let kind = b64.as_bytes().first().copied().ok_or(Error::BadBase64)?;
                if !kind.is_ascii_digit() {
                    return Err(Error::BadBase64);
                }
                let mut frame = vec![kind - b'0'];
                frame.extend(base64::decode(&b64[1..]).ok_or(Error::BadBase64)?);
                Frame::Binary(frame)
            }
            None => Frame::Text(record.to_string()),
        });
    }
    if frames.is_empty() {
        return Err(Error::Empty);
    }
    Ok(frames)
}

fn decode_v3_binary(mut body: &[u8]) -> Result<Vec<Frame>, Error> {
    let mut frames = Vec::new();
    if body.is_empty() {
        return Err(Error::Empty);
    }
    while let Some((&kind, rest)) = body.split_first() {
        if kind > 1 {
            return Err(Error::BadRecord);
        }
        let end = rest
            .iter()
            .position(|&b| b == 255)
            .ok_or(Error::BadLength)?;
        let digits = &rest[..end];
        if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS || digits.iter().any(|&d| d > 9) {
            return Err(Error::BadLength);
        }
        let len = digits.iter().try_fold(0usize, |n, &d| {
            n.checked_mul(10)?.checked_add(usize::from(d))
        });
        let len = len.ok_or(Error::BadLength)?;
        let rest = &rest[end + 1..];
        if rest.len() < len {
            return Err(Error::BadLength);
        }
        let (packet, tail) = rest.split_at(len);
        body = tail;
        frames.push(if kind == 0 {
            Frame::Text(
                std::str::from_utf8(packet)
                    .map_err(|_| Error::BadRecord)?
                    .to_string(),
            )
        } else {
            Frame::Binary(packet.to_vec())
        });
    }
    Ok(frames)
}

/// The length of `s` in UTF-16 units, as JavaScript's `String.length`.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The byte offset in `s` after its first `units` UTF-16 units, if `s` has that many and the
/// cut does not split a character.
fn utf16_prefix(s: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (i, c) in s.char_indices() {
        if counted == units {
            return Some(i);
        }
        counted += c.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Frame {
        Frame::Text(s.to_string())
    }

    #[test]
    fn v4_payloads_join_packets_with_the_record_separator() {
        let frames = [t("42[\"a\"]"), t("2"), Frame::Binary(vec![1, 2, 3])];
        assert_eq!(
            encode(Protocol::V4, false, &frames),
            Body::Text("42[\"a\"]\x1e2\x1ebAQID".to_string())
        );
        assert_eq!(
            encode(Protocol::V4, false, &[t("6")]),
            Body::Text("6".into())
        );
        assert_eq!(
            decode(Protocol::V4, "42[\"a\"]\x1e2\x1ebAQID".as_bytes(), false),
            Ok(frames.to_vec())
        );
        assert_eq!(decode(Protocol::V4, b"3", false), Ok(vec![t("3")]));
    }

    #[test]
    fn v4_rejects_empty_records_bad_base64_and_binary_bodies() {
        assert_eq!(decode(Protocol::V4, b"", false), Err(Error::Empty));
        assert_eq!(decode(Protocol::V4, b"2\x1e", false), Err(Error::Empty));
        assert_eq!(decode(Protocol::V4, b"\x1e2", false), Err(Error::Empty));
        assert_eq!(decode(Protocol::V4, b"b@@", false), Err(Error::BadBase64));
        assert_eq!(decode(Protocol::V4, b"42", true), Err(Error::BinaryOnV4));
        assert_eq!(decode(Protocol::V4, b"4\xff", false), Err(Error::BadRecord));
    }

    #[test]
    fn v3_text_payloads_count_utf16_units() {
        let frames = [t("42[\"a\"]"), t("2"), t("42[\"é🎥\"]")];
        // "42["é🎥"]": 2 + 2 + é (1) + 🎥 (2) + 2 = 9 UTF-16 units, 11 UTF-8 bytes.
        let body = "7:42[\"a\"]1:29:42[\"é🎥\"]";
        assert_eq!(encode(Protocol::V3, true, &frames), Body::Text(body.into()));
        assert_eq!(
            encode(Protocol::V3, false, &frames),
            Body::Text(body.into())
        );
        assert_eq!(
            decode(Protocol::V3, body.as_bytes(), false),
            Ok(frames.to_vec())
        );
    }

    #[test]
    fn v3_binary_packets_go_as_base64_to_clients_that_asked_for_it() {
        let frames = [
            t("451-[\"m\",{\"_placeholder\":true,\"num\":0}]"),
            Frame::Binary(vec![4, 1, 2, 3]),
        ];
        assert_eq!(
            encode(Protocol::V3, true, &frames),
            Body::Text("39:451-[\"m\",{\"_placeholder\":true,\"num\":0}]6:b4AQID".into())
        );
        assert_eq!(
            decode(Protocol::V3, b"6:b4AQID1:6", false),
            Ok(vec![Frame::Binary(vec![4, 1, 2, 3]), t("6")])
        );
    }

    #[test]
    fn v3_binary_payloads_for_clients_that_take_binary() {
        let frames = [t("2é"), Frame::Binary(vec![4, 9, 8])];
        let mut body = vec![0, 3, 255];
        body.extend("2é".as_bytes());
        body.extend([1, 3, 255, 4, 9, 8]);
        assert_eq!(
            encode(Protocol::V3, false, &frames),
            Body::Binary(body.clone())
        );
        assert_eq!(decode(Protocol::V3, &body, true), Ok(frames.to_vec()));
        // A length of more than one digit: one byte per digit.
        let long = "4".repeat(12);
        let mut body = vec![0, 1, 2, 255];
        body.extend(long.as_bytes());
        assert_eq!(decode(Protocol::V3, &body, true), Ok(vec![t(&long)]));
    }

    #[test]
    fn v3_rejects_bad_lengths_and_records() {
        for bad in [
            "", "7:42", "x:2", ":2", "2", "3:2", "1:é🎥", "2:b", "5:bxAQI", "1:2x",
        ] {
            assert!(
                decode(Protocol::V3, bad.as_bytes(), false).is_err(),
                "{bad:?}"
            );
        }
        // "1:🎥" would cut a surrogate pair.
        assert_eq!(
            decode(Protocol::V3, "1:🎥".as_bytes(), false),
            Err(Error::BadLength)
        );
        for bad in [
            &[][..],
            &[2, 1, 255, 50],
            &[0, 1],
            &[0, 10, 255, 50],
            &[0, 5, 255, 50],
            &[0, 1, 255, 0xff],
            &[0, 255],
        ] {
            assert!(decode(Protocol::V3, bad, true).is_err(), "{bad:?}");
        }
        let mut long = vec![0];
        long.extend(std::iter::repeat_n(9, 400));
        long.push(255);
        assert_eq!(decode(Protocol::V3, &long, true), Err(Error::BadLength));
    }

    #[test]
    fn utf16_lengths() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("🎥"), 2);
        assert_eq!(utf16_prefix("a🎥b", 3), Some(5));
        assert_eq!(utf16_prefix("a🎥b", 2), None);
        assert_eq!(utf16_prefix("ab", 3), None);
        assert_eq!(utf16_prefix("", 0), Some(0));
    }
}
