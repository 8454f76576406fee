//! The two-seat room as a state machine: socket events in, [`Action`]s out, no I/O.
//!
//! A room holds every open socket of one room name. Each socket's durable state is a [`Conn`],
//! which the Worker stores as the websocket's attachment so that a Durable Object woken from
//! hibernation rebuilds the same room with [`Room::restore`]. The few fields that may be lost
//! (binary attachments in flight, the rate-limit bucket, the last time a v3 client pinged) live
//! beside it in memory.
//!
//! `H` is the caller's handle for a socket (the Worker's `WebSocket`, a number in tests); the
//! room only compares and clones it.
//!
//! # The contract's room table, as this module answers it
//!
//! | event in (from socket S) | frames out |
//! |---|---|
//! | `42["create or join",R]`, 0 seats taken | S: `log` "Room R has 0 client(s)", `log` "Request to create or join room R", `created` (R, S's id) |
//! | the same, 1 seat taken | S: the two `log` lines, `joined` (R, id), `ready` (R); the seated socket: `join` (R), `ready` (R) |
//! | the same, 2 seats taken | S: the two `log` lines, `full` (R), `41`, then close (1000) |
//! | the same, S already seated | S: the two `log` lines, `log` "You already have a seat in room R" |
//! | the same, another room's name | S: `log` "Ignored create or join: …"; nothing changes |
//! | `42["message",…]` from a seat | the other seat: the frame byte for byte; S: `log` "Got message:", … |
//! | `42["bye",…]`, a close, an error, a heartbeat timeout, a protocol error of a seat | the other seat: `42["bye",R]` |
//! | malformed input (see [`Cause`]) | S closed (1002, 1008 or 1009); nobody else hears of it but by `bye` |
//!
//! # Layout
//! - this file: the room, its sockets, and the dispatch of frames to the jobs below;
//! - `conn`: a socket's durable state ([`Conn`]) and the settings ([`Config`]);
//! - `action`: what the caller must do ([`Action`]) and why a socket closes ([`Cause`]);
//! - [`reply`]: the room's own events ([`Reply`]) as frames, and the `log` lines;
//! - `seats`: the room table, departures, the resume token;
//! - `relay`: events from connected sockets and the `message` relay;
//! - `binary`: binary packets held until their attachments are in;
//! - `rate`: the per-socket rate limit;
//! - [`heartbeat`]: pings, timeouts and the alarm;
//! - `conformance` (feature `conformance`): what the official Socket.IO test suite expects.

mod action;
mod binary;
mod conn;
pub mod heartbeat;
mod rate;
mod relay;
pub mod reply;
mod seats;

#[cfg(feature = "conformance")]
mod conformance;

pub use action::{close_code, Action, Cause, Leave, Note, Splice};
pub use conn::{Config, Conn};
pub use heartbeat::{alarm_needs_write, AutoResponse};
pub use reply::{events, Reply, LOG_PREFIX};

use crate::engineio::{self, Protocol};
use crate::socketio::{self, PacketType};
use smallvec::SmallVec;

/// Seats in a room: the codelab's video chat is for two.
pub const MAX_SEATS: usize = 2;

/// One socket of the room.
///
/// Laid out as declared (`repr(C)`), so that what a frame reads and writes of its socket and of
/// the other seat (the handle, attachments owed, the time heard from, the rate bucket, then
/// [`Conn`]'s flags, which it lays out first) is the entry's first 64 bytes, not spread over its
/// three cache lines as the compiler's order had it: with hundreds of rooms relaying at once,
/// each line is most often a cache miss.
#[derive(Debug)]
#[repr(C)]
struct Entry<H> {
    handle: H,
    /// Binary attachments owed by the socket's last binary packet.
    binary: binary::Attachments<H>,
    /// v3: the last time the client was heard from.
    last_seen: u64,
    bucket: rate::Bucket,
    conn: Conn,
}

// Where the Worker runs (wasm32): the fields a frame reads of its entry, `Conn`'s flags last,
// in the entry's first 64 bytes (the entries are 8-aligned, so they span one or two
// cache lines however it falls).
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    std::mem::offset_of!(Entry<crate::server::Peer<u32>>, conn)
        + std::mem::offset_of!(Conn, opened_at)
        <= 64
);

impl<H: Clone> Entry<H> {
    fn new(handle: H, conn: Conn, last_seen: u64, cfg: &Config) -> Self {
        Entry {
            handle,
            conn,
            binary: binary::Attachments::default(),
            last_seen,
            bucket: rate::Bucket::full(last_seen, cfg),
        }
    }

    /// The action that stores this socket's state as its attachment.
    fn persist(&self) -> Action<H> {
        Action::Persist(self.handle.clone(), self.conn.clone())
    }
}

/// One room's sockets. Laid out as declared (`repr(C)`, see [`Entry`]): what a frame reads first,
/// then the entries themselves, inline for a room's usual two sockets (a crowd at a full room
/// spills them to the heap until it has gone), so that a frame finds them beside the room's
/// other fields instead of behind one more pointer.
#[derive(Debug)]
#[repr(C)]
pub struct Room<H> {
    /// The time of the event being handled (ms since the epoch).
    now: u64,
    cfg: Config,
    entries: SmallVec<[Entry<H>; MAX_SEATS]>,
}

type Out<H> = Vec<Action<H>>;

impl<H: Clone + PartialEq> Room<H> {
    pub fn new(cfg: Config) -> Self {
        Room {
            cfg,
            entries: SmallVec::new(),
            now: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The time of the latest event the room handled.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Open sockets (closing ones excluded).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The room's name, as its sockets' URLs give it (`None` while it has none).
    pub fn name(&self) -> Option<&str> {
        self.entries.first().map(|e| e.conn.room.as_str())
    }

    /// Seats taken.
    pub fn seats_taken(&self) -> usize {
        self.entries.iter().filter(|e| e.conn.seated).count()
    }

    /// The state of a socket, if the room knows it.
    pub fn conn(&self, handle: &H) -> Option<&Conn> {
        self.index(handle).map(|i| &self.entries[i].conn)
    }

    /// A new websocket session: persists its state and sends the Engine.IO open packet (and, on
    /// v3, the unprompted Socket.IO connect).
    pub fn open(&mut self, handle: H, conn: Conn) -> Out<H> {
        self.open_offering(handle, conn, &[])
    }

    /// A new session whose open packet offers `upgrades` (`["websocket"]` on long-polling).
    pub fn open_offering(&mut self, handle: H, conn: Conn, upgrades: &[&str]) -> Out<H> {
        let mut conn = conn;
        conn.last_ping = conn.opened_at;
        let v3 = conn.protocol == Protocol::V3;
        if v3 {
            conn.connected = true;
        }
        let mut out = Vec::with_capacity(3);
        out.push(Action::Persist(handle.clone(), conn.clone()));
        out.push(Action::Send(
            handle.clone(),
            engineio::encode_open(&conn.sid, conn.protocol, &self.cfg.handshake(), upgrades),
        ));
        if v3 {
            out.push(Action::Send(
                handle.clone(),
                socketio::connect_frame("/", None),
            ));
        }
        let opened_at = conn.opened_at;
        self.now = self.now.max(opened_at);
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

    /// The handle of the socket whose Engine.IO session id is `sid`.
    pub fn handle_of_sid(&self, sid: &str) -> Option<&H> {
        self.entries
            .iter()
            .find(|e| e.conn.sid == sid)
            .map(|e| &e.handle)
    }

    /// The same session goes on under another handle (the transport upgrade from long-polling
    /// to websocket): seat, ids, heartbeat and rate limit carry over. Persists the state for the
    /// new handle. Nothing happens for a handle the room does not know.
    pub fn rebind(&mut self, from: &H, to: H) -> Out<H> {
        let mut out = Vec::new();
        if let Some(i) = self.index(from) {
            self.retarget_binary(from, &to);
            self.entries[i].handle = to;
            out.push(self.entries[i].persist());
        }
        out
    }

    /// The server closes a socket for a reason found outside the room (its transport broke
    /// the rules): the same as any close by the room, the peer told `bye`.
    pub fn kick(&mut self, handle: &H, cause: Cause) -> Out<H> {
        let mut out = Vec::new();
        if let Some(i) = self.index(handle) {
            self.close(i, cause, &mut out);
        }
        out
    }

    fn index(&self, handle: &H) -> Option<usize> {
        self.entries.iter().position(|e| &e.handle == handle)
    }

    /// What every incoming frame goes through first: a frame from a socket the room does not
    /// know closes it (`Cause::UnknownSession`); a known one counts as heard from, and is closed
    /// with 1009 for a frame over `maxPayload`. Returns the socket's index if the frame is to be
    /// handled.
    fn frame_in(&mut self, handle: &H, len: usize, now: u64, out: &mut Out<H>) -> Option<usize> {
        self.now = now;
        let Some(i) = self.index(handle) else {
            out.push(Action::Close(handle.clone(), Cause::UnknownSession));
            return None;
        };
        self.entries[i].last_seen = now;
        if len > self.cfg.max_payload {
            self.close(i, Cause::TooBig, out);
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
        self.on_text_into(handle, frame, now, &mut out);
        out
    }

    /// [`Room::on_text`], its actions added to `out` (a caller handling frame after frame keeps
    /// one vector for all).
    pub fn on_text_into(&mut self, handle: &H, frame: &str, now: u64, out: &mut Out<H>) {
        let Some(i) = self.frame_in(handle, frame.len(), now, out) else {
            return;
        };
        if self.entries[i].binary.owed > 0 {
            return self.close(i, Cause::ExpectedBinary, out);
        }
        let Ok(packet) = engineio::decode(frame) else {
            return self.close(i, Cause::InvalidEngineIoPacket, out);
        };
        match packet {
            engineio::Packet::Message(sio) => self.on_socketio(i, frame, sio, now, out),
            engineio::Packet::Ping(_) | engineio::Packet::Pong(_) => {
                self.on_heartbeat(i, packet, out)
            }
            engineio::Packet::Close => self.close(i, Cause::ClientClosed, out),
            engineio::Packet::Noop => {}
            engineio::Packet::Open(_) | engineio::Packet::Upgrade => {
                self.close(i, Cause::UnexpectedEngineIoPacket, out)
            }
        }
    }

    /// A binary frame from a socket: an attachment of the last binary packet.
    pub fn on_binary(&mut self, handle: &H, frame: &[u8], now: u64) -> Out<H> {
        let mut out = Vec::new();
        if let Some(i) = self.frame_in(handle, frame.len(), now, &mut out) {
            self.on_attachment(i, frame, &mut out);
        }
        out
    }

    /// The client's side of the socket is gone (closed or failed): its seat is freed and the
    /// room forgets it.
    pub fn on_close(&mut self, handle: &H) -> Out<H> {
        let mut out = Vec::new();
        if let Some(i) = self.index(handle) {
            self.free_seat(i, Leave::ClientGone, &mut out);
            self.entries.remove(i);
        }
        out
    }

    /// A Socket.IO packet `sio`, the body of the text `frame`.
    fn on_socketio(&mut self, i: usize, frame: &str, sio: &str, now: u64, out: &mut Out<H>) {
        let packet = match socketio::decode(sio) {
            Ok(p) => p,
            Err(socketio::Error::TooDeep) => return self.close(i, Cause::TooDeep, out),
            Err(_) => return self.close(i, Cause::InvalidSocketIoPacket, out),
        };
        let cfg = self.cfg;
        if !self.entries[i].bucket.take(now, &cfg) {
            return self.rate_limited(i, &packet, out);
        }
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
                    return self.close(i, Cause::AlreadyConnected, out);
                }
                let e = &mut self.entries[i];
                e.conn.connected = true;
                out.push(e.persist());
                out.push(Action::Send(
                    e.handle.clone(),
                    socketio::connect_frame("/", Some(&e.conn.sio_sid)),
                ));
            }
            _ if !default_ns => self.close(i, Cause::UnknownNamespace, out),
            _ if !conn.connected => self.close(i, Cause::NotConnected, out),
            PacketType::Disconnect => {
                self.free_seat(i, Leave::Disconnect, out);
                let e = &mut self.entries[i];
                e.conn.connected = false;
                e.conn.left_at = now;
                out.push(e.persist());
                if e.conn.protocol == Protocol::V3 {
                    // A v3 socket cannot connect again; nothing is left to do on it.
                    self.close(i, Cause::ClientDisconnected, out);
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let Ok(event) = packet.event() else {
                    return self.close(i, Cause::InvalidEvent, out);
                };
                if events::RESERVED.contains(&event.name.as_ref()) {
                    return self.close(i, Cause::ReservedEventName, out);
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
            PacketType::BinaryAck => self.close(i, Cause::BinaryAck, out),
        }
    }

    /// `reply` to socket `i`.
    fn reply(&self, i: usize, reply: Reply<'_>, out: &mut Out<H>) {
        out.push(Action::Send(self.entries[i].handle.clone(), reply.frame()));
    }

    /// The Socket.IO DISCONNECT for `/` to socket `i` (so that its client does not reconnect).
    fn disconnect(&self, i: usize, out: &mut Out<H>) {
        out.push(Action::Send(
            self.entries[i].handle.clone(),
            socketio::disconnect_frame("/"),
        ));
    }

    /// The server closes socket `i`: its seat is freed (the peer gets `bye`), the room forgets
    /// it, and the caller is asked to close it for `cause`.
    fn close(&mut self, i: usize, cause: Cause, out: &mut Out<H>) {
        self.free_seat(i, Leave::Closed(cause), out);
        let mut e = self.entries.remove(i);
        e.conn.closing = true;
        out.push(Action::Persist(e.handle.clone(), e.conn));
        out.push(Action::Note(e.handle.clone(), Note::Closed { cause }));
        out.push(Action::Close(e.handle, cause));
    }
}
