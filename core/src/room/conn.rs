//! A socket's durable state ([`Conn`], stored as its attachment) and the room's settings
//! ([`Config`], from wrangler vars in the Worker).

use serde::{Deserialize, Serialize};

use crate::engineio::{self, Protocol};

/// Settings, from wrangler vars in the Worker. The defaults here are the only ones: the Worker
/// falls back to them for a var that is missing or invalid, and `wrangler.toml` shows them.
///
/// Laid out as declared (`repr(C)`): what every frame reads (the payload limit, the rate
/// bucket's) first, near the room's other per-frame state (see [`Conn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Config {
    /// Largest frame accepted, in bytes.
    pub max_payload: usize,
    /// Socket.IO packets a socket may send in a burst (its token bucket's size).
    pub rate_burst: u32,
    /// Packets per second the bucket refills.
    pub rate_per_sec: u32,
    /// Packets dropped in a row, for lack of tokens, before the socket is closed.
    pub rate_kick_after: u32,
    /// Milliseconds between server pings (v4) or expected client pings (v3).
    pub ping_interval: u64,
    /// Milliseconds a ping may go unanswered (v4), or added to the interval for v3 silence.
    pub ping_timeout: u64,
    /// Milliseconds a v4 socket may stay open without connecting to the namespace.
    pub connect_timeout: u64,
    /// Sockets without a seat a room keeps open at once; more are refused at the door (HTTP
    /// 429). Well above a crowd opening a full room's link at once (all of whom must be told
    /// `full`), and harmless because of `seat_grace`.
    pub max_pending: usize,
    /// Milliseconds a socket may stay open without a seat (from its open, or from losing its
    /// seat) before it is closed: idle sockets cannot squat a room. 0: no limit (the conformance
    /// profile, which has no seats).
    pub seat_grace: u64,
    /// Milliseconds an upgrade from long-polling to websocket may take from the probe's open to
    /// the client's `5` (the reference server's `upgradeTimeout`).
    pub upgrade_timeout: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 65_536,
            connect_timeout: 45_000,
            // Trickle ICE sends one offer or answer and a few dozen candidates at once.
            rate_burst: 200,
            rate_per_sec: 50,
            rate_kick_after: 200,
            max_pending: 1000,
            // A socket.io client asks within a round trip or two of opening, long-polling
            // included; a slow phone network is given several seconds more.
            seat_grace: 10_000,
            upgrade_timeout: 10_000,
        }
    }
}

impl Config {
    /// What the open packet announces.
    pub fn handshake(&self) -> engineio::Handshake {
        engineio::Handshake {
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: self.max_payload,
        }
    }
}

/// A socket's durable state: everything needed to carry on after hibernation.
///
/// Laid out as declared (`repr(C)`), the flags every frame reads first: with hundreds of rooms
/// relaying at once a room's state is most often out of the CPU's caches when its frame comes,
/// and each further cache line a frame touches is one more wait (the room's `Entry` puts this
/// struct's start on the line of its other per-frame fields). The attachment's JSON is read by
/// field name, so the order changes nothing stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct Conn {
    pub protocol: Protocol,
    /// Connected to the default namespace.
    pub connected: bool,
    /// Holds one of the room's two seats.
    pub seated: bool,
    /// v4: a ping is unanswered.
    pub awaiting_pong: bool,
    /// The server has closed this socket; it only waits to disappear.
    pub closing: bool,
    /// Conformance profile only: connected to the `/custom` namespace.
    #[cfg(feature = "conformance")]
    #[serde(default)]
    pub custom_ns: bool,
    /// Milliseconds since the epoch when the socket opened.
    pub opened_at: u64,
    /// v4: when the last ping was sent (`opened_at` before the first).
    pub last_ping: u64,
    /// When the socket last lost its seat (0: never had one): the seat grace counts from then
    /// or from `opened_at`, whichever is later.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub free_since: u64,
    /// v4: when the socket last left the default namespace (`41`; 0: never): the connect
    /// timeout counts from then or from `opened_at`, whichever is later.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_at: u64,
    /// Engine.IO session id.
    pub sid: String,
    /// Socket.IO id for the default namespace (v4 only; a v3 socket's id is its `sid`).
    pub sio_sid: String,
    /// The room in the socket's URL.
    pub room: String,
    /// The client's resume token (`resume` in the URL): a secret a page keeps across its own
    /// reconnections, so that a new socket can take over the seat of its stale predecessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

impl Conn {
    /// A socket that has just opened: not connected to any namespace, no seat.
    pub fn new(sid: String, sio_sid: String, protocol: Protocol, room: String, now: u64) -> Conn {
        Conn {
            sid,
            sio_sid,
            protocol,
            room,
            connected: false,
            seated: false,
            opened_at: now,
            last_ping: now,
            awaiting_pong: false,
            closing: false,
            free_since: 0,
            left_at: 0,
            resume: None,
            #[cfg(feature = "conformance")]
            custom_ns: false,
        }
    }

    /// The id the client sees as `socket.id`.
    pub fn socket_id(&self) -> &str {
        match self.protocol {
            Protocol::V4 => &self.sio_sid,
            Protocol::V3 => &self.sid,
        }
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
