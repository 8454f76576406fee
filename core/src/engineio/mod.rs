//! Engine.IO packets (protocol v3 and v4), and their framing on both transports.
//!
//! From the Engine.IO protocol: each websocket frame carries exactly one packet; a long-polling
//! request or response carries a payload of several ([`payload`]). A text packet is
//! `<packet type digit>[<data>]`:
//!
//! | type | id | use here |
//! |---|---|---|
//! | open | 0 | server → client, once, with the handshake JSON |
//! | close | 1 | either side; we only ever receive it |
//! | ping | 2 | v4: server → client; v3: client → server |
//! | pong | 3 | the answer to a ping, with the ping's data echoed |
//! | message | 4 | carries one Socket.IO packet |
//! | upgrade | 5 | the client's switch from long-polling to websocket, after the `2probe`/`3probe` exchange |
//! | noop | 6 | ignored |
//!
//! Binary frames carry a message packet's binary data. Engine.IO v4 sends the raw bytes; v3
//! prefixes them with the message type as a byte (`0x04`).

use std::fmt::Write as _;

pub mod payload;

/// The Engine.IO protocol revision, from the `EIO` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Protocol {
    /// `EIO=3`: socket.io 2.x clients. The client pings, the server pongs.
    V3,
    /// `EIO=4`: socket.io 3.x and 4.x clients. The server pings, the client pongs.
    V4,
}

impl Protocol {
    /// Parses the value of the `EIO` query parameter.
    pub fn from_query(value: &str) -> Option<Protocol> {
        match value {
            "3" => Some(Protocol::V3),
            "4" => Some(Protocol::V4),
            _ => None,
        }
    }
}

/// One decoded Engine.IO text packet. Data is borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0…`: only the server opens a session.
    Open(&'a str),
    /// `1`: the peer is closing the session.
    Close,
    /// `2[data]`: a heartbeat probe.
    Ping(&'a str),
    /// `3[data]`: the answer to a ping.
    Pong(&'a str),
    /// `4<data>`: a Socket.IO packet.
    Message(&'a str),
    /// `5`: transport upgrade.
    Upgrade,
    /// `6`: no operation.
    Noop,
}

/// Why a text frame is not an Engine.IO packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The frame was empty.
    Empty,
    /// The first byte is not a packet type digit `0`–`6`.
    UnknownType,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Empty => "empty Engine.IO packet",
            Error::UnknownType => "unknown Engine.IO packet type",
        })
    }
}

/// Decodes one text frame. Dispatches on the first byte; the rest is the packet's data.
pub fn decode(frame: &str) -> Result<Packet<'_>, Error> {
    let first = *frame.as_bytes().first().ok_or(Error::Empty)?;
    if !(b'0'..=b'6').contains(&first) {
        return Err(Error::UnknownType);
    }
    // The first byte is an ASCII digit, so slicing after it stays on a char boundary.
    let data = &frame[1..];
    Ok(match first {
        b'0' => Packet::Open(data),
        b'1' => Packet::Close,
        b'2' => Packet::Ping(data),
        b'3' => Packet::Pong(data),
        b'4' => Packet::Message(data),
        b'5' => Packet::Upgrade,
        b'6' => Packet::Noop,
        _ => return Err(Error::UnknownType),
    })
}

/// Heartbeat and size settings announced in the open packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    pub ping_interval: u64,
    pub ping_timeout: u64,
    pub max_payload: usize,
}

/// Encodes the open packet:
/// `0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}`.
/// v3 has no `maxPayload`. `upgrades` is `["websocket"]` for a long-polling session, `[]` for a
/// websocket one.
pub fn encode_open(sid: &str, protocol: Protocol, hs: &Handshake, upgrades: &[&str]) -> String {
    let mut out = String::with_capacity(112);
    out.push_str("0{\"sid\":");
    out.push_str(&crate::json::string(sid));
    out.push_str(",\"upgrades\":[");
    for (k, u) in upgrades.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(&crate::json::string(u));
    }
    let _ = write!(
        out,
        "],\"pingInterval\":{},\"pingTimeout\":{}",
        hs.ping_interval, hs.ping_timeout
    );
    if protocol == Protocol::V4 {
        let _ = write!(out, ",\"maxPayload\":{}", hs.max_payload);
    }
    out.push('}');
    out
}

/// The server's ping (v4) and the pong answering a client ping (v3).
pub const PING: &str = "2";
pub const PONG: &str = "3";
/// The close packet, the noop, and the upgrade probe's ping and pong.
pub const CLOSE: &str = "1";
pub const NOOP: &str = "6";
pub const PROBE_PING: &str = "2probe";
pub const PROBE_PONG: &str = "3probe";

/// Strips the transport framing from an incoming binary frame: v3 prefixes the message type byte.
/// Returns `None` when a v3 frame lacks it.
pub fn binary_payload(protocol: Protocol, frame: &[u8]) -> Option<&[u8]> {
    match protocol {
        Protocol::V4 => Some(frame),
        Protocol::V3 => match frame.split_first() {
            Some((4, rest)) => Some(rest),
            _ => None,
        },
    }
}

/// Frames binary data for a peer speaking `protocol`.
pub fn encode_binary(protocol: Protocol, data: &[u8]) -> Vec<u8> {
    match protocol {
        Protocol::V4 => data.to_vec(),
        Protocol::V3 => {
            let mut out = Vec::with_capacity(data.len() + 1);
            out.push(4);
            out.extend_from_slice(data);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HS: Handshake = Handshake {
        ping_interval: 25000,
        ping_timeout: 20000,
        max_payload: 65536,
    };

    #[test]
    fn decodes_every_packet_type() {
        assert_eq!(decode("0{}"), Ok(Packet::Open("{}")));
        assert_eq!(decode("1"), Ok(Packet::Close));
        assert_eq!(decode("2"), Ok(Packet::Ping("")));
        assert_eq!(decode("2probe"), Ok(Packet::Ping("probe")));
        assert_eq!(decode("3"), Ok(Packet::Pong("")));
        assert_eq!(decode("4hello"), Ok(Packet::Message("hello")));
        assert_eq!(decode("42[\"a\"]"), Ok(Packet::Message("2[\"a\"]")));
        assert_eq!(decode("5"), Ok(Packet::Upgrade));
        assert_eq!(decode("6"), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_empty_and_unknown_types() {
        assert_eq!(decode(""), Err(Error::Empty));
        assert_eq!(decode("7abc"), Err(Error::UnknownType));
        assert_eq!(decode("x"), Err(Error::UnknownType));
        assert_eq!(decode("é"), Err(Error::UnknownType));
    }

    #[test]
    fn open_packet_v4_is_the_reference_string() {
        assert_eq!(
            encode_open("abc", Protocol::V4, &HS, &[]),
            r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#
        );
        assert_eq!(
            encode_open("abc", Protocol::V4, &HS, &["websocket"]),
            r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#
        );
    }

    #[test]
    fn open_packet_v3_has_no_max_payload() {
        assert_eq!(
            encode_open("abc", Protocol::V3, &HS, &[]),
            r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#
        );
    }

    #[test]
    fn protocol_from_query() {
        assert_eq!(Protocol::from_query("3"), Some(Protocol::V3));
        assert_eq!(Protocol::from_query("4"), Some(Protocol::V4));
        assert_eq!(Protocol::from_query("5"), None);
        assert_eq!(Protocol::from_query(""), None);
    }

    #[test]
    fn binary_framing_per_protocol() {
        assert_eq!(binary_payload(Protocol::V4, &[1, 2]), Some(&[1u8, 2][..]));
        assert_eq!(
            binary_payload(Protocol::V3, &[4, 1, 2]),
            Some(&[1u8, 2][..])
        );
        assert_eq!(binary_payload(Protocol::V3, &[1, 2]), None);
        assert_eq!(binary_payload(Protocol::V3, &[]), None);
        assert_eq!(encode_binary(Protocol::V3, &[9]), vec![4, 9]);
        assert_eq!(encode_binary(Protocol::V4, &[9]), vec![9]);
    }
}
