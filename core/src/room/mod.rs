//! The two-seat room as a state machine: socket events in, [`Action`]s out, no I/O.
//!
//! A room holds every open socket of one room name. Each socket's durable state is a [`Conn`],
//! which the Worker stores as the websocket's attachment so that a Durable Object woken from
//! hibernation rebuilds the same room with [`Room::restore`]. The few fields that may be lost
//! (a binary packet in flight, the last time a v3 client pinged) live beside it in memory.
//!
//! `H` is the caller's handle for a socket (the Worker's `WebSocket`, a number in tests); the
//! room only compares and clones it.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::engineio::{self, json_string, Protocol};
use crate::socketio::{self, PacketType};

#[cfg(feature = "conformance")]
mod conformance;

/// Seats in a room: the codelab's video chat is for two.
pub const MAX_SEATS: usize = 2;

/// Event names of the codelab's protocol.
pub mod events {
    pub const CREATE_OR_JOIN: &str = "create or join";
    pub const MESSAGE: &str = "message";
    pub const BYE: &str = "bye";
    pub const LOG: &str = "log";
    pub const CREATED: &str = "created";
    pub const JOINED: &str = "joined";
    pub const JOIN: &str = "join";
    pub const READY: &str = "ready";
    pub const FULL: &str = "full";
    /// Names the reference server reserves; a client emitting one is broken or hostile.
    pub const RESERVED: [&str; 6] = [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ];
}

/// The prefix of every `log` line, as in the codelab's server.
pub const LOG_PREFIX: &str = ">>> Message from server: ";
/// The sender's `log` line for a relayed `message` starts with this (as JSON), then the arguments.
const GOT_MESSAGE: &str = "\"Got message:\"";

/// Websocket close codes the room uses.
pub mod close_code {
    /// Orderly close: the room was full, the client left, or the heartbeat timed out.
    pub const NORMAL: u16 = 1000;
    /// The client broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// The client kept sending past its rate limit.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame larger than `maxPayload`.
    pub const TOO_BIG: u16 = 1009;
}

/// Settings, from wrangler vars in the Worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Milliseconds between server pings (v4) or expected client pings (v3).
    pub ping_interval: u64,
    /// Milliseconds a ping may go unanswered (v4), or added to the interval for v3 silence.
    pub ping_timeout: u64,
    /// Largest frame accepted, in bytes.
    pub max_payload: usize,
    /// Milliseconds a v4 socket may stay open without connecting to the namespace.
    pub connect_timeout: u64,
    /// Socket.IO packets a socket may send in a burst (its token bucket's size).
    pub rate_burst: u32,
    /// Packets per second the bucket refills.
    pub rate_per_sec: u32,
    /// Packets dropped in a row, for lack of tokens, before the socket is closed.
    pub rate_kick_after: u32,
    /// Sockets without a seat a room keeps open at once; more are refused at the door, so a
    /// flood of connections cannot crowd out the two seats or the peers' traffic.
    pub max_pending: usize,
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
            max_pending: 8,
        }
    }
}

impl Config {
    pub fn handshake(&self) -> engineio::Handshake {
        engineio::Handshake {
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: self.max_payload,
        }
    }
}

/// A socket's durable state: everything needed to carry on after hibernation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conn {
    /// Engine.IO session id.
    pub sid: String,
    /// Socket.IO id for the default namespace (v4 only; a v3 socket's id is its `sid`).
    pub sio_sid: String,
    pub protocol: Protocol,
    /// The room in the socket's URL.
    pub room: String,
    /// Connected to the default namespace.
    pub connected: bool,
    /// Holds one of the room's two seats.
    pub seated: bool,
    /// Milliseconds since the epoch when the socket opened.
    pub opened_at: u64,
    /// v4: when the last ping was sent (`opened_at` before the first).
    pub last_ping: u64,
    /// v4: a ping is unanswered.
    pub awaiting_pong: bool,
    /// The server has closed this socket; it only waits to disappear.
    pub closing: bool,
    /// The client's resume token (`resume` in the URL): a secret a page keeps across its own
    /// reconnections, so that a new socket can take over the seat of its stale predecessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// Conformance profile only: connected to the `/custom` namespace.
    #[cfg(feature = "conformance")]
    #[serde(default)]
    pub custom_ns: bool,
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

/// The one client frame the platform answers on a room's behalf without waking it (a Durable
/// Object has a single auto-response pair). The platform also records when it last did so for
/// each socket, which [`Room::on_alarm`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoResponse {
    /// A v3 client's ping `2` is answered `3`: the v3 client's sign of life. Chosen while the
    /// room has a v3 client; v4 pongs then reach the room as messages.
    V3Ping,
    /// A v4 client's pong `3` is answered with a noop `6` (ignored by clients): heartbeats of an
    /// idle v4 room wake it only for the alarm that sends the pings.
    V4Pong,
}

impl AutoResponse {
    /// The (request, response) frames.
    pub fn pair(self) -> (&'static str, &'static str) {
        match self {
            AutoResponse::V3Ping => ("2", "3"),
            AutoResponse::V4Pong => ("3", "6"),
        }
    }
}

/// Whether a room alarm set for `set` (`None`: none) must be written again for `want`, the time
/// [`Room::next_alarm`] asks for. It must not fire later than wanted, so an earlier `want` is
/// written, and a room with nothing to wait for deletes it. A `want` later than `set` is left
/// alone: the alarm fires early, [`Room::on_alarm`] finds nothing due (it acts on the time, not
/// on being called), and the alarm is moved then. This keeps storage writes off the path of
/// every frame: a v3 client's silence deadline moves later with each frame it sends.
pub fn alarm_needs_write(set: Option<u64>, want: Option<u64>) -> bool {
    match (set, want) {
        (Some(set), Some(want)) => want < set,
        (None, Some(_)) | (Some(_), None) => true,
        (None, None) => false,
    }
}

/// What the caller must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<H> {
    /// Send a text frame.
    Send(H, String),
    /// Send the text frame being handled, unchanged: the relay of a `message` whose frame needs
    /// no rewriting (`42[...]` in, the same bytes out), so the caller can send the frame it holds
    /// rather than a copy. Only [`Room::on_text`] returns it.
    Forward(H),
    /// Send a frame built around part of the text frame being handled: the sender's `log` echo
    /// of its `message`, whose arguments are that message's, so the caller can assemble it from
    /// the frame it holds rather than a copy. Only [`Room::on_text`] returns it.
    Splice(H, Splice),
    /// Send a binary frame (already framed for the receiver's protocol).
    SendBinary(H, Vec<u8>),
    /// Store this state as the socket's attachment.
    Persist(H, Conn),
    /// Close the socket with this code and reason. The room has already forgotten it.
    Close(H, u16, &'static str),
}

impl<H> Action<H> {
    /// The action with [`Action::Forward`] and [`Action::Splice`] spelled out as the
    /// [`Action::Send`] they stand for, given `frame`, the text frame that was handled (for
    /// callers that gain nothing from the difference).
    pub fn with_frame(self, frame: &str) -> Action<H> {
        match self {
            Action::Forward(h) => Action::Send(h, frame.to_string()),
            Action::Splice(h, splice) => Action::Send(h, splice.build(frame)),
            other => other,
        }
    }
}

/// `head` + `frame[body]` + `tail`, where `frame` is the text frame being handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    pub head: &'static str,
    /// Byte offsets into the frame.
    pub body: Range<usize>,
    pub tail: &'static str,
}

impl Splice {
    /// The frame, built from `frame`.
    pub fn build(&self, frame: &str) -> String {
        let body = frame.get(self.body.clone()).unwrap_or_default();
        let mut out = String::with_capacity(self.head.len() + body.len() + self.tail.len());
        out.push_str(self.head);
        out.push_str(body);
        out.push_str(self.tail);
        out
    }
}

/// The sender's echo of its `message` (`Room::log` with `Got message:`) up to the arguments, and
/// after them.
const ECHO_HEAD: &str = "42[\"log\",[\">>> Message from server: \",\"Got message:\",";
const ECHO_TAIL: &str = "]]";

/// Where `part` lies in `whole`, if it is a slice of it.
fn range_in(whole: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The arguments as one span of `frame`, when they stand there separated by bare commas (as a
/// `log` line joins them).
fn args_span(frame: &str, args: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = args.split_first()?;
    let first = range_in(frame, first)?;
    let mut end = first.end;
    for arg in rest {
        let next = range_in(frame, arg)?;
        if next.start != end + 1 || frame.as_bytes().get(end) != Some(&b',') {
            return None;
        }
        end = next.end;
    }
    Some(first.start..end)
}

/// A binary packet on its way: the header for the receiver and the attachments so far. Nothing is
/// sent before the packet is complete, so a sender that breaks off half-way leaves the receiver
/// untouched.
#[derive(Debug)]
struct HeldBinary<H> {
    to: H,
    header: String,
    parts: Vec<Vec<u8>>,
    bytes: usize,
}

impl<H> HeldBinary<H> {
    fn new(to: H, header: String, attachments: usize) -> Self {
        HeldBinary {
            to,
            header,
            parts: Vec::with_capacity(attachments),
            bytes: 0,
        }
    }
}

#[derive(Debug)]
struct Entry<H> {
    handle: H,
    conn: Conn,
    /// Binary frames still owed by the last binary packet.
    pending_binary: usize,
    /// That packet, held until its last attachment is in, if it goes anywhere.
    binary: Option<HeldBinary<H>>,
    /// v3: the last time the client was heard from.
    last_seen: u64,
    /// Rate limit: tokens left, in thousandths of a packet, as of `refilled_at`.
    milli_tokens: u64,
    refilled_at: u64,
    /// Packets dropped in a row for lack of tokens.
    dropped: u32,
}

impl<H: Clone> Entry<H> {
    /// The action that stores this socket's state as its attachment.
    fn persist(&self) -> Action<H> {
        Action::Persist(self.handle.clone(), self.conn.clone())
    }
}

impl<H> Entry<H> {
    fn new(handle: H, conn: Conn, last_seen: u64, cfg: &Config) -> Self {
        Entry {
            handle,
            conn,
            pending_binary: 0,
            binary: None,
            last_seen,
            milli_tokens: u64::from(cfg.rate_burst) * 1000,
            refilled_at: last_seen,
            dropped: 0,
        }
    }

    /// Takes one token from the bucket, refilled for the time since the last call.
    fn take_token(&mut self, now: u64, cfg: &Config) -> bool {
        let elapsed = now.saturating_sub(self.refilled_at);
        self.refilled_at = self.refilled_at.max(now);
        let full = u64::from(cfg.rate_burst) * 1000;
        self.milli_tokens = full.min(
            self.milli_tokens
                .saturating_add(elapsed.saturating_mul(u64::from(cfg.rate_per_sec))),
        );
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// One room's sockets.
#[derive(Debug)]
pub struct Room<H> {
    cfg: Config,
    entries: Vec<Entry<H>>,
}

type Out<H> = Vec<Action<H>>;

impl<H: Clone + PartialEq> Room<H> {
    pub fn new(cfg: Config) -> Self {
        Room {
            cfg,
            entries: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Open sockets (closing ones excluded).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Seats taken.
    pub fn seats_taken(&self) -> usize {
        self.entries.iter().filter(|e| e.conn.seated).count()
    }

    /// The state of a socket, if the room knows it.
    pub fn conn(&self, handle: &H) -> Option<&Conn> {
        self.index(handle).map(|i| &self.entries[i].conn)
    }

    /// A new socket: persists its state and sends the Engine.IO open packet (and, on v3, the
    /// unprompted Socket.IO connect).
    pub fn open(&mut self, handle: H, conn: Conn) -> Out<H> {
        let mut conn = conn;
        conn.last_ping = conn.opened_at;
        let mut out = Vec::with_capacity(3);
        let open = engineio::encode_open(&conn.sid, conn.protocol, &self.cfg.handshake());
        if conn.protocol == Protocol::V3 {
            conn.connected = true;
        }
        out.push(Action::Persist(handle.clone(), conn.clone()));
        out.push(Action::Send(handle.clone(), open));
        if conn.protocol == Protocol::V3 {
            out.push(Action::Send(handle.clone(), "40".to_string()));
        }
        let opened_at = conn.opened_at;
        self.entries
            .push(Entry::new(handle, conn, opened_at, &self.cfg));
        out
    }

    /// Whether a new socket may come in: the seats' holders are never crowded out by sockets
    /// waiting at the door.
    pub fn can_accept(&self) -> bool {
        self.entries.iter().filter(|e| !e.conn.seated).count() < self.cfg.max_pending
    }

    /// Re-adds a socket after hibernation from its stored state. `last_seen` is the last time it
    /// was heard from, as far as the caller knows.
    pub fn restore(&mut self, handle: H, conn: Conn, last_seen: u64) {
        if self.index(&handle).is_some() {
            return;
        }
        let last_seen = last_seen.max(conn.opened_at);
        self.entries
            .push(Entry::new(handle, conn, last_seen, &self.cfg));
    }

    fn index(&self, handle: &H) -> Option<usize> {
        self.entries.iter().position(|e| &e.handle == handle)
    }

    /// What every incoming frame goes through first: the socket must be known (else it is
    /// ignored), counts as heard from, and is closed with 1009 for a frame over `maxPayload`.
    /// Returns the socket's index if the frame is to be handled.
    fn frame_in(&mut self, handle: &H, len: usize, now: u64, out: &mut Out<H>) -> Option<usize> {
        let i = self.index(handle)?;
        self.entries[i].last_seen = now;
        if len > self.cfg.max_payload {
            self.drop_conn(i, close_code::TOO_BIG, "payload too large", out);
            return None;
        }
        Some(i)
    }

    /// A frame the caller already knows to be over `maxPayload` (a binary frame by its length, a
    /// text frame of more UTF-16 units than `maxPayload`, which has at least as many UTF-8
    /// bytes), so it need not copy it in: the same outcome as [`Room::on_text`] or
    /// [`Room::on_binary`] with such a frame.
    pub fn on_oversize(&mut self, handle: &H, now: u64) -> Out<H> {
        let mut out = Vec::new();
        self.frame_in(handle, usize::MAX, now, &mut out);
        out
    }

    /// A text frame from a socket.
    pub fn on_text(&mut self, handle: &H, frame: &str, now: u64) -> Out<H> {
        let mut out = Vec::new();
        let Some(i) = self.frame_in(handle, frame.len(), now, &mut out) else {
            return out;
        };
        if self.entries[i].pending_binary > 0 {
            self.drop_conn(
                i,
                close_code::PROTOCOL_ERROR,
                "expected a binary frame",
                &mut out,
            );
            return out;
        }
        let packet = match engineio::decode(frame) {
            Ok(p) => p,
            Err(_) => {
                self.drop_conn(
                    i,
                    close_code::PROTOCOL_ERROR,
                    "invalid Engine.IO packet",
                    &mut out,
                );
                return out;
            }
        };
        let protocol = self.entries[i].conn.protocol;
        match packet {
            engineio::Packet::Message(sio) => self.on_socketio(i, frame, sio, now, &mut out),
            engineio::Packet::Ping(data) if protocol == Protocol::V3 => {
                let mut pong = String::with_capacity(1 + data.len());
                pong.push_str(engineio::PONG);
                pong.push_str(data);
                out.push(Action::Send(handle.clone(), pong));
            }
            engineio::Packet::Pong(_) if protocol == Protocol::V4 => {
                let e = &mut self.entries[i];
                if e.conn.awaiting_pong {
                    e.conn.awaiting_pong = false;
                    out.push(e.persist());
                }
            }
            engineio::Packet::Ping(_) | engineio::Packet::Pong(_) => self.drop_conn(
                i,
                close_code::PROTOCOL_ERROR,
                "invalid heartbeat direction",
                &mut out,
            ),
            engineio::Packet::Close => {
                self.drop_conn(i, close_code::NORMAL, "client closed", &mut out)
            }
            engineio::Packet::Noop => {}
            engineio::Packet::Open(_) | engineio::Packet::Upgrade => self.drop_conn(
                i,
                close_code::PROTOCOL_ERROR,
                "unexpected Engine.IO packet",
                &mut out,
            ),
        }
        out
    }

    /// A binary frame from a socket: an attachment of the last binary packet.
    pub fn on_binary(&mut self, handle: &H, frame: &[u8], now: u64) -> Out<H> {
        let mut out = Vec::new();
        let Some(i) = self.frame_in(handle, frame.len(), now, &mut out) else {
            return out;
        };
        let e = &self.entries[i];
        let payload = match engineio::binary_payload(e.conn.protocol, frame) {
            Some(p) if e.pending_binary > 0 => p,
            _ => {
                self.drop_conn(
                    i,
                    close_code::PROTOCOL_ERROR,
                    "unexpected binary frame",
                    &mut out,
                );
                return out;
            }
        };
        let max_payload = self.cfg.max_payload;
        let e = &mut self.entries[i];
        e.pending_binary -= 1;
        let Some(held) = e.binary.as_mut() else {
            return out; // swallowed: the packet goes nowhere
        };
        held.bytes += payload.len();
        if held.bytes > max_payload {
            self.drop_conn(i, close_code::TOO_BIG, "payload too large", &mut out);
            return out;
        }
        held.parts.push(payload.to_vec());
        if e.pending_binary > 0 {
            return out;
        }
        let Some(held) = e.binary.take() else {
            return out;
        };
        // The receiver may have gone while the attachments were coming in.
        if let Some(j) = self.index(&held.to) {
            let protocol = self.entries[j].conn.protocol;
            out.push(Action::Send(held.to.clone(), held.header));
            for part in held.parts {
                out.push(Action::SendBinary(
                    held.to.clone(),
                    engineio::encode_binary(protocol, &part),
                ));
            }
        }
        out
    }

    /// The socket closed or failed on the client's side.
    pub fn on_close(&mut self, handle: &H) -> Out<H> {
        let mut out = Vec::new();
        if let Some(i) = self.index(handle) {
            self.depart(i, &mut out);
            self.entries.remove(i);
        }
        out
    }

    /// A Socket.IO packet `sio`, the body of the text `frame`.
    fn on_socketio(&mut self, i: usize, frame: &str, sio: &str, now: u64, out: &mut Out<H>) {
        let packet = match socketio::decode(sio) {
            Ok(p) => p,
            Err(err) => {
                let reason = match err {
                    socketio::Error::TooDeep => "payload nested too deeply",
                    _ => "invalid Socket.IO packet",
                };
                return self.drop_conn(i, close_code::PROTOCOL_ERROR, reason, out);
            }
        };
        if !self.entries[i].take_token(now, &self.cfg) {
            return self.rate_limited(i, &packet, out);
        }
        self.entries[i].dropped = 0;
        #[cfg(feature = "conformance")]
        if self.conformance(i, &packet, out) {
            return;
        }
        let conn = &self.entries[i].conn;
        let default_ns = packet.ns == "/";
        match packet.kind {
            PacketType::Connect if !default_ns => {
                let frame =
                    socketio::invalid_namespace_frame(packet.ns, conn.protocol == Protocol::V4);
                out.push(Action::Send(self.entries[i].handle.clone(), frame));
            }
            PacketType::Connect => {
                if conn.connected || conn.protocol == Protocol::V3 {
                    return self.drop_conn(i, close_code::PROTOCOL_ERROR, "already connected", out);
                }
                let e = &mut self.entries[i];
                e.conn.connected = true;
                out.push(e.persist());
                out.push(Action::Send(
                    e.handle.clone(),
                    socketio::connect_frame(Some(&e.conn.sio_sid)),
                ));
            }
            _ if !default_ns => {
                self.drop_conn(i, close_code::PROTOCOL_ERROR, "unknown namespace", out)
            }
            _ if !conn.connected => {
                self.drop_conn(i, close_code::PROTOCOL_ERROR, "not connected", out)
            }
            PacketType::Disconnect => {
                self.depart(i, out);
                let e = &mut self.entries[i];
                e.conn.connected = false;
                out.push(e.persist());
                if e.conn.protocol == Protocol::V3 {
                    // A v3 socket cannot connect again; nothing is left to do on it.
                    self.drop_conn(i, close_code::NORMAL, "client disconnected", out);
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let event = match socketio::read_event(packet.data) {
                    Ok(ev) => ev,
                    Err(_) => {
                        return self.drop_conn(i, close_code::PROTOCOL_ERROR, "invalid event", out)
                    }
                };
                if events::RESERVED.contains(&event.name.as_str()) {
                    return self.drop_conn(
                        i,
                        close_code::PROTOCOL_ERROR,
                        "reserved event name",
                        out,
                    );
                }
                if packet.kind == PacketType::BinaryEvent {
                    self.on_binary_event(i, packet.attachments, packet.data, &event, out);
                } else {
                    // `data` is what follows the type, no namespace or ack id in between: the
                    // frame is `42` + `data`, exactly what a relay sends.
                    let whole = sio.len() == packet.data.len() + 1;
                    self.on_event(i, frame, packet.data, whole, &event, out);
                }
            }
            PacketType::Ack | PacketType::ConnectError => {
                // The server never asks for acks; the reference server drops unknown ones too.
            }
            PacketType::BinaryAck => {
                self.drop_conn(i, close_code::PROTOCOL_ERROR, "unexpected binary ack", out)
            }
        }
    }

    /// A packet over the rate limit is dropped (its binary attachments too). The first drop of a
    /// run says so in a `log` line; a long run closes the socket.
    fn rate_limited(&mut self, i: usize, packet: &socketio::Packet<'_>, out: &mut Out<H>) {
        let e = &mut self.entries[i];
        e.dropped += 1;
        if e.dropped >= self.cfg.rate_kick_after {
            return self.drop_conn(i, close_code::POLICY_VIOLATION, "rate limit exceeded", out);
        }
        let first_drop = e.dropped == 1;
        if packet.kind == PacketType::BinaryEvent {
            self.hold_binary(i, packet.attachments, None);
        }
        if first_drop {
            self.say(i, "Rate limit exceeded: events are being dropped", out);
        }
    }

    /// An event from the text `frame`. `whole`: the frame is `42` + `data` (a relay may forward
    /// it as it is).
    fn on_event(
        &mut self,
        i: usize,
        frame: &str,
        data: &str,
        whole: bool,
        event: &socketio::Event<'_>,
        out: &mut Out<H>,
    ) {
        match event.name.as_str() {
            events::CREATE_OR_JOIN => self.create_or_join(i, event.args.first().copied(), out),
            events::MESSAGE => {
                if !self.entries[i].conn.seated {
                    return;
                }
                if let Some(j) = self.peer_of(i) {
                    let to = self.entries[j].handle.clone();
                    if whole {
                        out.push(Action::Forward(to));
                    } else {
                        let mut frame = String::with_capacity(2 + data.len());
                        frame.push_str("42");
                        frame.push_str(data);
                        out.push(Action::Send(to, frame));
                    }
                }
                match args_span(frame, &event.args) {
                    Some(body) => out.push(Action::Splice(
                        self.entries[i].handle.clone(),
                        Splice {
                            head: ECHO_HEAD,
                            body,
                            tail: ECHO_TAIL,
                        },
                    )),
                    None => self.log(i, &[GOT_MESSAGE], &event.args, out),
                }
            }
            events::BYE => self.depart(i, out),
            _ => {}
        }
    }

    fn on_binary_event(
        &mut self,
        i: usize,
        attachments: usize,
        data: &str,
        event: &socketio::Event<'_>,
        out: &mut Out<H>,
    ) {
        let mut held = None;
        if event.name == events::MESSAGE && self.entries[i].conn.seated {
            if let Some(j) = self.peer_of(i) {
                let to = self.entries[j].handle.clone();
                held = Some(HeldBinary::new(
                    to,
                    format!("45{attachments}-{data}"),
                    attachments,
                ));
            }
            self.log(i, &[GOT_MESSAGE], &event.args, out);
        }
        self.hold_binary(i, attachments, held);
    }

    /// Expects `attachments` binary frames from socket `i`, for `held` (or for nobody).
    fn hold_binary(&mut self, i: usize, attachments: usize, held: Option<HeldBinary<H>>) {
        let e = &mut self.entries[i];
        e.pending_binary = attachments;
        e.binary = held;
    }

    fn create_or_join(&mut self, i: usize, arg: Option<&str>, out: &mut Out<H>) {
        let room = self.entries[i].conn.room.clone();
        let room_json = json_string(&room);
        let asked: Option<String> = arg.and_then(|a| serde_json::from_str(a).ok());
        if asked.as_deref() != Some(room.as_str()) {
            let line = format!("Ignored create or join: this connection belongs to room {room}");
            return self.say(i, &line, out);
        }
        let i = self.evict_stale_seat(i, out);
        let taken = self.seats_taken();
        self.say(i, &format!("Room {room} has {taken} client(s)"), out);
        self.say(i, &format!("Request to create or join room {room}"), out);
        let me = self.entries[i].handle.clone();
        if self.entries[i].conn.seated {
            let line = format!("You already have a seat in room {room}");
            return self.say(i, &line, out);
        }
        let sid_json = json_string(self.entries[i].conn.socket_id());
        match taken {
            0 => {
                self.seat(i, out);
                out.push(Action::Send(
                    me,
                    socketio::event_frame(events::CREATED, &[&room_json, &sid_json]),
                ));
            }
            n if n < MAX_SEATS => {
                let peer = self.peer_of(i).map(|j| self.entries[j].handle.clone());
                self.seat(i, out);
                out.push(Action::Send(
                    me.clone(),
                    socketio::event_frame(events::JOINED, &[&room_json, &sid_json]),
                ));
                out.push(Action::Send(
                    me,
                    socketio::event_frame(events::READY, &[&room_json]),
                ));
                if let Some(peer) = peer {
                    out.push(Action::Send(
                        peer.clone(),
                        socketio::event_frame(events::JOIN, &[&room_json]),
                    ));
                    out.push(Action::Send(
                        peer,
                        socketio::event_frame(events::READY, &[&room_json]),
                    ));
                }
            }
            _ => {
                out.push(Action::Send(
                    me.clone(),
                    socketio::event_frame(events::FULL, &[&room_json]),
                ));
                out.push(Action::Send(me, socketio::DISCONNECT_FRAME.to_string()));
                self.drop_conn(i, close_code::NORMAL, "room full", out);
            }
        }
    }

    /// A socket that presents the resume token of a seated socket is the same peer back on a new
    /// connection (a network change, a reload) before the heartbeat has noticed the old one is
    /// dead. The old socket goes (its peer gets `bye`, as for any departure) so that the new one is
    /// seated instead of refused as `full`. Returns `i`'s index after the removal.
    fn evict_stale_seat(&mut self, i: usize, out: &mut Out<H>) -> usize {
        let (me, token) = match &self.entries[i].conn {
            Conn {
                seated: false,
                resume: Some(t),
                ..
            } => (self.entries[i].handle.clone(), t.clone()),
            _ => return i,
        };
        let stale = self
            .entries
            .iter()
            .position(|e| e.conn.seated && e.conn.resume.as_deref() == Some(token.as_str()));
        if let Some(j) = stale {
            self.drop_conn(j, close_code::NORMAL, "replaced by a newer connection", out);
        }
        self.index(&me).unwrap_or(i)
    }

    fn seat(&mut self, i: usize, out: &mut Out<H>) {
        let e = &mut self.entries[i];
        e.conn.seated = true;
        out.push(e.persist());
    }

    /// The other seated socket, if `i` is seated and not alone.
    fn peer_of(&self, i: usize) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .position(|(j, e)| j != i && e.conn.seated)
    }

    /// `42["log",[">>> Message from server: ",parts…,args…]]` to socket `i`; every part is JSON.
    fn log(&self, i: usize, parts: &[&str], args: &[&str], out: &mut Out<H>) {
        let mut frame = String::with_capacity(
            48 + parts.iter().chain(args).map(|p| p.len() + 1).sum::<usize>(),
        );
        frame.push_str("42[\"log\",[\"");
        frame.push_str(LOG_PREFIX);
        frame.push('"');
        for p in parts.iter().chain(args) {
            frame.push(',');
            frame.push_str(p);
        }
        frame.push_str("]]");
        out.push(Action::Send(self.entries[i].handle.clone(), frame));
    }

    /// A `log` line of plain text to socket `i`.
    fn say(&self, i: usize, text: &str, out: &mut Out<H>) {
        self.log(i, &[&json_string(text)], &[], out);
    }

    /// Frees socket `i`'s seat, if it has one, and tells the remaining peer `bye`.
    fn depart(&mut self, i: usize, out: &mut Out<H>) {
        if !self.entries[i].conn.seated {
            return;
        }
        let peer = self.peer_of(i);
        let e = &mut self.entries[i];
        e.conn.seated = false;
        out.push(e.persist());
        if let Some(j) = peer {
            let room = json_string(&self.entries[j].conn.room);
            out.push(Action::Send(
                self.entries[j].handle.clone(),
                socketio::event_frame(events::BYE, &[&room]),
            ));
        }
    }

    /// Server-side close: departs, forgets the socket and asks the caller to close it.
    fn drop_conn(&mut self, i: usize, code: u16, reason: &'static str, out: &mut Out<H>) {
        self.depart(i, out);
        let mut e = self.entries.remove(i);
        e.conn.closing = true;
        out.push(Action::Persist(e.handle.clone(), e.conn));
        out.push(Action::Close(e.handle, code, reason));
    }

    /// Which heartbeat frame the platform should answer for this room without waking it (see
    /// [`AutoResponse`]): the v3 clients' pings if the room has any v3 client, else the v4
    /// clients' pongs.
    pub fn auto_response(&self) -> AutoResponse {
        // The conformance suite expects nothing back for a pong.
        if cfg!(feature = "conformance")
            || self.entries.iter().any(|e| e.conn.protocol == Protocol::V3)
        {
            AutoResponse::V3Ping
        } else {
            AutoResponse::V4Pong
        }
    }

    /// Heartbeats and timeouts, due at [`Room::next_alarm`]. `auto_answered` tells when the
    /// platform last answered the socket's [`Room::auto_response`] frame on the room's behalf:
    /// under `V3Ping` a v3 client's sign of life, under `V4Pong` a v4 client's pong.
    pub fn on_alarm(&mut self, now: u64, auto_answered: impl Fn(&H) -> Option<u64>) -> Out<H> {
        let mut out = Vec::new();
        let cfg = self.cfg;
        let mode = self.auto_response();
        let mut i = 0;
        while i < self.entries.len() {
            let e = &mut self.entries[i];
            let auto = auto_answered(&e.handle);
            let c = &e.conn;
            // Under `AutoResponse::V4Pong` the platform took this socket's pong: it counts if it
            // came within pingTimeout of the ping.
            let deadline = c.last_ping.saturating_add(cfg.ping_timeout);
            if c.protocol == Protocol::V4
                && c.awaiting_pong
                && mode == AutoResponse::V4Pong
                && auto.is_some_and(|t| t >= c.last_ping && t <= deadline)
            {
                e.conn.awaiting_pong = false;
                out.push(e.persist());
            }
            let c = &e.conn;
            let reason = match c.protocol {
                Protocol::V4 if c.awaiting_pong && now >= deadline => {
                    Some((close_code::NORMAL, "ping timeout"))
                }
                Protocol::V4
                    if !c.connected && now >= c.opened_at.saturating_add(cfg.connect_timeout) =>
                {
                    Some((close_code::NORMAL, "connect timeout"))
                }
                Protocol::V3 => {
                    e.last_seen = e.last_seen.max(auto.unwrap_or(0));
                    (now >= e
                        .last_seen
                        .saturating_add(cfg.ping_interval)
                        .saturating_add(cfg.ping_timeout))
                    .then_some((close_code::NORMAL, "ping timeout"))
                }
                _ => None,
            };
            match reason {
                Some((code, reason)) => self.drop_conn(i, code, reason, &mut out),
                None => i += 1,
            }
        }
        // Ping every v4 socket together once one is due, so a room wakes once per interval.
        let due = self.entries.iter().any(|e| {
            e.conn.protocol == Protocol::V4
                && !e.conn.awaiting_pong
                && now >= e.conn.last_ping.saturating_add(cfg.ping_interval)
        });
        if due {
            for e in &mut self.entries {
                let c = &mut e.conn;
                if c.protocol == Protocol::V4
                    && !c.awaiting_pong
                    && now >= c.last_ping.saturating_add(cfg.ping_interval / 2)
                {
                    c.awaiting_pong = true;
                    c.last_ping = now;
                    out.push(Action::Persist(e.handle.clone(), c.clone()));
                    out.push(Action::Send(e.handle.clone(), engineio::PING.to_string()));
                }
            }
        }
        out
    }

    /// When [`Room::on_alarm`] next has work, or `None` for an empty room.
    pub fn next_alarm(&self) -> Option<u64> {
        let cfg = &self.cfg;
        let mode = self.auto_response();
        self.entries
            .iter()
            .map(|e| {
                let c = &e.conn;
                match c.protocol {
                    Protocol::V3 => e
                        .last_seen
                        .saturating_add(cfg.ping_interval)
                        .saturating_add(cfg.ping_timeout),
                    Protocol::V4 => {
                        // A pong the platform answered is seen only at the next wake: the check
                        // joins the next round instead of waking the room a second time.
                        let heartbeat = if c.awaiting_pong && mode == AutoResponse::V3Ping {
                            c.last_ping.saturating_add(cfg.ping_timeout)
                        } else {
                            c.last_ping.saturating_add(cfg.ping_interval)
                        };
                        if c.connected {
                            heartbeat
                        } else {
                            heartbeat.min(c.opened_at.saturating_add(cfg.connect_timeout))
                        }
                    }
                }
            })
            .min()
    }
}
