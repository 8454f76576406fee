//! The `/socket.io/` request checks and ids: `handshake::check`, `valid_room`, `ids::base64url`.
//!
//! Input: structured (query pairs, upgrade flag, default room, id bytes). Invariants checked
//! (beyond "never panics"):
//! - `check` agrees with the contract's order of checks, the last value of a repeated key
//!   winning: transport (`websocket` with an upgrade, or `polling`), then `EIO` 3 or 4, then a
//!   valid room (the query's, else the default) and resume token, then the method (GET, or POST
//!   for a polling session), then the `sid`'s form; an accepted room is the one chosen;
//! - `valid_room` is exactly "1 to 64 bytes of A-Z a-z 0-9 - _ .";
//! - `base64url` gives ceil(4n/3) characters of the URL-safe alphabet that decode back to the
//!   input, and an id of ROOM_ID_BYTES bytes is a valid room name.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use signal_core::engineio::Protocol;
use signal_core::handshake::{self, Error, Method, Transport, MAX_ROOM_LEN};
use signal_core::ids::{self, ROOM_ID_BYTES};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    query: Vec<(Key<'a>, Value<'a>)>,
    upgrade: bool,
    method: u8,
    default_room: Option<&'a str>,
    id: &'a [u8],
}

#[derive(Arbitrary, Debug)]
enum Key<'a> {
    Transport,
    Eio,
    Room,
    Sid,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
enum Value<'a> {
    Websocket,
    Polling,
    Three,
    Four,
    RoomLike(u8),
    Raw(&'a str),
}

fn key<'a>(k: &Key<'a>) -> &'a str {
    match k {
        Key::Transport => "transport",
        Key::Eio => "EIO",
        Key::Room => "room",
        Key::Sid => "sid",
        Key::Other(s) => s,
    }
}

const ROOMS: [&str; 6] = ["r1", "Room-1_x.y", "", "a b", "é", "a/b"];

fn value<'a>(v: &Value<'a>) -> &'a str {
    match v {
        Value::Websocket => "websocket",
        Value::Polling => "polling",
        Value::Three => "3",
        Value::Four => "4",
        Value::RoomLike(n) => ROOMS[*n as usize % ROOMS.len()],
        Value::Raw(s) => s,
    }
}

fn room_rule(name: &str) -> bool {
    (1..=MAX_ROOM_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn unbase64url(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("{c:?} is not in the URL-safe alphabet"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        assert!(chunk.len() >= 2, "a trailing group of one character in {s:?}");
        let mut n = 0u32;
        for (k, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * k);
        }
        for k in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    out
}

/// The resume-token rule, restated: 16–64 bytes of URL-safe base64.
fn token_rule(t: &str) -> bool {
    (16..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fuzz_target!(|input: Input<'_>| {
    let pairs: Vec<(&str, &str)> = input.query.iter().map(|(k, v)| (key(k), value(v))).collect();
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v);

    let method = match input.method % 3 {
        0 => Method::Get,
        1 => Method::Post,
        _ => Method::Other,
    };
    let sid_rule = |s: &str| s.len() == 20 && token_rule(s);
    let transport = match last("transport") {
        Some("websocket") if input.upgrade => Some(Transport::WebSocket),
        Some("polling") => Some(Transport::Polling),
        _ => None,
    };
    let expected = match transport {
        None => Err(Error::TransportUnknown),
        Some(t) => match last("EIO") {
            Some("3") | Some("4") => match last("room").or(input.default_room) {
                Some(room) if room_rule(room) && last("resume").is_none_or(token_rule) => {
                    match (t, method, last("sid")) {
                        (_, Method::Other, _) | (Transport::Polling, Method::Post, None) => {
                            Err(Error::BadHandshakeMethod)
                        }
                        (Transport::WebSocket, Method::Post, _) => Err(Error::BadRequest),
                        (_, _, Some(sid)) if !sid_rule(sid) => Err(Error::UnknownSid),
                        _ => Ok(room),
                    }
                }
                _ => Err(Error::BadRequest),
            },
            _ => Err(Error::UnsupportedProtocolVersion),
        },
    };
    let got = handshake::check(pairs.iter().copied(), method, input.upgrade, input.default_room);
    match (&got, expected) {
        (Ok(a), Ok(room)) => {
            assert_eq!(a.room, room);
            assert_eq!(Some(a.transport), transport);
            assert_eq!(a.sid.as_deref(), last("sid"));
            assert_eq!(a.resume.as_deref(), last("resume"));
            let eio = if a.protocol == Protocol::V3 { "3" } else { "4" };
            assert_eq!(last("EIO"), Some(eio));
        }
        (Err(e), Err(x)) => assert_eq!(*e, x, "{pairs:?}"),
        (g, x) => panic!("check gave {g:?}, the contract says {x:?}: {pairs:?}"),
    }
    if let Some(r) = input.default_room {
        assert_eq!(handshake::valid_room(r), room_rule(r), "{r:?}");
    }
    for (_, v) in &pairs {
        assert_eq!(handshake::valid_room(v), room_rule(v), "{v:?}");
    }

    let id = ids::base64url(input.id);
    assert_eq!(id.len(), (input.id.len() * 4).div_ceil(3), "{:?}", input.id);
    assert_eq!(unbase64url(&id), input.id);
    if input.id.len() >= ROOM_ID_BYTES {
        assert!(handshake::valid_room(&ids::base64url(&input.id[..ROOM_ID_BYTES])));
    }
});
