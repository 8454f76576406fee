//! One room's Engine.IO sessions on both transports, around the room state machine: the
//! transport seam. The room ([`crate::room`]) sees every session as a [`Peer`] and sends it
//! websocket-style frames; this layer carries them over the session's transport.
//!
//! - A **websocket** session is the socket itself: frames go out as they are.
//! - A **long-polling** session (`transport=polling`, found by its `sid`) has a [`Polling`]
//!   queue: frames wait there until the client's GET takes them, as one payload
//!   ([`crate::engineio::payload`]). A GET finding nothing is held until there is something,
//!   or answered with a noop once it has waited `pingInterval` (the contract's "at the next
//!   heartbeat at the latest"). A POST's payload is handed to the room packet by packet.
//! - The **upgrade** (a websocket with the polling session's `sid`): the probe socket's `2probe`
//!   is answered `3probe` and a pending GET released with a noop, as is any GET after it once it
//!   has waited [`PROBED_POLL_HOLD`]; the client's `5` moves the session (seat, ids, heartbeat, rate
//!   limit) onto the websocket ([`crate::room::Room::rebind`]) and the queue follows over it, so
//!   nothing is lost or sent twice.
//!
//! Everything a polling session needs after the object is evicted is in its [`PollRecord`],
//! which the caller stores ([`Out::Save`]) whenever it changes; a probe socket's attachment
//! names its session ([`Attachment::Probe`]). Requests never outlive the object, so a restored
//! session has no pending GET.
//!
//! `W` is the caller's websocket handle; `String` session ids name polling sessions.
//!
//! # Layout
//! - this file: the types, sessions opening and restored, websocket events, time;
//! - `requests`: long-polling GETs and POSTs;
//! - `upgrade`: the probe and the switch to websocket;
//! - `apply`: the room's actions carried out on each transport;
//! - `polling`: a polling session's transport state ([`Polling`]).

mod apply;
mod polling;
mod requests;
mod upgrade;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use polling::Polling;

use crate::engineio;
use crate::engineio::payload::{self, Body, Frame};
use crate::handshake;
use crate::room::{Action, Cause, Config, Conn, Note, Room, Splice};

/// Milliseconds a poll is held once the upgrade probe is answered: the client pauses polling
/// then and sends `5` once its poll is back, so the poll is released with a noop soon (the
/// reference server checks every 100 ms); a `5` that comes first refuses it instead, as any
/// poll after the upgrade.
pub const PROBED_POLL_HOLD: u64 = 100;

/// A session as the room sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer<W> {
    /// A websocket session.
    Ws(W),
    /// A long-polling session, by its Engine.IO sid.
    Poll(String),
}

/// What a websocket's attachment holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Attachment {
    /// A websocket session's state.
    Conn(Conn),
    /// The probe of an upgrade under way, for the polling session `probe`.
    Probe { probe: String },
}

/// What the caller stores for a long-polling session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    pub conn: Conn,
    pub polling: Polling,
}

/// What the caller must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out<W> {
    /// Send a text frame on a websocket.
    Send(W, String),
    /// Send the text frame being handled (it came in on a websocket), unchanged.
    Forward(W),
    /// Send a frame built around part of the text frame being handled.
    Splice(W, Splice),
    /// Send a binary frame on a websocket.
    SendBinary(W, Vec<u8>),
    /// Close a websocket.
    Close(W, Cause),
    /// Store this as the websocket's attachment.
    Attach(W, Attachment),
    /// Answer the pending GET of this polling session with this body.
    Respond(String, Body),
    /// Answer the pending GET of this polling session with this HTTP error.
    Refuse(String, handshake::Error),
    /// Store this polling session's record (JSON of a [`PollRecord`]).
    Save(String, String),
    /// The polling session is gone: delete its record.
    Forget(String),
    /// A log line's worth, for a session on this transport (`"websocket"`, `"polling"`).
    Note(&'static str, Note),
}

impl<W> Out<W> {
    /// Whether this out leaves the room's timers as they were: a send, or a log line. An event
    /// whose outs all do (a relayed `message`, a frame the rate limit dropped) changed no
    /// session's state but the time it was last heard from, so [`Server::next_alarm`] is the
    /// same or later (an alarm set for the earlier time only fires early, see
    /// `room::alarm_needs_write`) and [`Room::auto_response`] the same: the caller need not sync
    /// them with the platform. Every other out comes with a change that may move them (a socket
    /// seated, pinged, answered, opened or closed; a polling session queued, answered or saved).
    pub fn keeps_timers(&self) -> bool {
        matches!(
            self,
            Out::Send(..) | Out::Forward(_) | Out::Splice(..) | Out::SendBinary(..) | Out::Note(..)
        )
    }

    /// The out with `Forward` and `Splice` spelled out as the `Send` they stand for, given the
    /// text frame that was handled.
    pub fn with_frame(self, frame: &str) -> Out<W> {
        match self {
            Out::Forward(w) => Out::Send(w, frame.to_string()),
            Out::Splice(w, s) => Out::Send(w, s.build(frame)),
            other => other,
        }
    }
}

/// The answer to a long-polling GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Answer now with this body.
    Now(Body),
    /// Hold the request: an [`Out::Respond`] answers it later.
    Wait,
}

struct Session<W> {
    polling: Polling,
    /// The room closed the session as full while no GET was pending: the next GET takes the last
    /// packets (`full`, `41`, the close packet), then the session is gone. Since when.
    closed_at: Option<u64>,
    /// The probe websocket of an upgrade under way.
    probe: Option<W>,
    /// The record as last saved.
    saved: Option<String>,
}

/// One room's sessions.
#[repr(C)]
pub struct Server<W> {
    polls: BTreeMap<String, Session<W>>,
    /// The room's actions for a websocket text frame (empty between frames, kept for its room).
    actions: Vec<Action<Peer<W>>>,
    /// Last, its per-frame fields first (see [`Room`]): laid out as declared (`repr(C)`), the
    /// fields every frame reads are on one or two cache lines.
    room: Room<Peer<W>>,
}

type Outs<W> = Vec<Out<W>>;

impl<W: Clone + PartialEq> Server<W> {
    pub fn new(cfg: Config) -> Self {
        Server {
            room: Room::new(cfg),
            polls: BTreeMap::new(),
            actions: Vec::new(),
        }
    }

    pub fn room(&self) -> &Room<Peer<W>> {
        &self.room
    }

    pub fn config(&self) -> &Config {
        self.room.config()
    }

    /// No session at all, on either transport.
    pub fn is_empty(&self) -> bool {
        self.room.is_empty() && self.polls.is_empty()
    }

    /// Whether a new session may come in (see [`Room::can_accept`]).
    pub fn can_accept(&self) -> bool {
        self.room.can_accept()
    }

    /// Whether the room knows this websocket (as a session or as a probe).
    pub fn knows(&self, ws: &W) -> bool {
        self.probe_of(ws).is_some() || self.room.conn(&Peer::Ws(ws.clone())).is_some()
    }

    // -----------------------------------------------------------------------------------------
    // Sessions opening, and coming back after hibernation

    /// A new websocket session.
    pub fn open_websocket(&mut self, ws: W, conn: Conn) -> Outs<W> {
        let actions = self.room.open(Peer::Ws(ws), conn);
        self.finish(actions, None)
    }

    /// A new long-polling session (the handshake GET): the open packet is the answer; anything
    /// else the room sent (v3's `40`) waits for the first poll.
    pub fn open_polling(&mut self, conn: Conn, base64: bool) -> (Body, Outs<W>) {
        let sid = conn.sid.clone();
        let protocol = conn.protocol;
        self.polls.insert(
            sid.clone(),
            Session {
                polling: Polling::new(protocol, base64),
                closed_at: None,
                probe: None,
                saved: None,
            },
        );
        let actions = self
            .room
            .open_offering(Peer::Poll(sid.clone()), conn, &["websocket"]);
        let mut outs = self.apply(actions, None);
        let open = self.polls.get_mut(&sid).and_then(|s| {
            if s.polling.queue.is_empty() {
                None
            } else {
                Some(s.polling.queue.remove(0))
            }
        });
        let body = payload::encode(
            protocol,
            base64,
            &[open.unwrap_or(Frame::Text(engineio::NOOP.into()))],
        );
        self.save_changed(&mut outs);
        (body, outs)
    }

    /// A websocket session back after hibernation, from its attachment. `seen`: the last time
    /// it was heard from, as far as the caller knows.
    pub fn restore_websocket(&mut self, ws: W, attachment: Attachment, seen: u64) -> Outs<W> {
        match attachment {
            Attachment::Conn(conn) if !conn.closing => {
                self.room.restore(Peer::Ws(ws), conn, seen);
                Vec::new()
            }
            Attachment::Conn(_) => Vec::new(),
            Attachment::Probe { probe } => match self.polls.get_mut(&probe) {
                Some(s) if s.probe.is_none() => {
                    s.probe = Some(ws);
                    Vec::new()
                }
                _ => vec![Out::Close(ws, Cause::ProbeFailed)],
            },
        }
    }

    /// A long-polling session back after hibernation, from its record (restore these before
    /// the websockets, whose probes name them). `now` stands in for the last time it was heard
    /// from, which the record does not keep.
    pub fn restore_polling(&mut self, sid: &str, record: &str, now: u64) -> bool {
        let Ok(PollRecord { conn, mut polling }) = serde_json::from_str::<PollRecord>(record)
        else {
            return false;
        };
        if conn.closing || conn.sid != sid {
            return false;
        }
        polling.waiting_since = None;
        self.room.restore(Peer::Poll(sid.to_string()), conn, now);
        self.polls.insert(
            sid.to_string(),
            Session {
                polling,
                closed_at: None,
                probe: None,
                saved: Some(record.to_string()),
            },
        );
        true
    }

    // -----------------------------------------------------------------------------------------
    // Websocket events

    /// A text frame from a websocket.
    pub fn on_ws_text(&mut self, ws: W, frame: &str, now: u64) -> Outs<W> {
        if let Some(sid) = self.probe_of(&ws) {
            return self.on_probe_text(&sid, ws, frame);
        }
        let mut actions = std::mem::take(&mut self.actions);
        self.room
            .on_text_into(&Peer::Ws(ws), frame, now, &mut actions);
        let outs = self.finish(actions.drain(..), Some(frame));
        self.actions = actions;
        outs
    }

    /// A binary frame from a websocket.
    pub fn on_ws_binary(&mut self, ws: W, frame: &[u8], now: u64) -> Outs<W> {
        if let Some(sid) = self.probe_of(&ws) {
            return self.on_probe_text(&sid, ws, "");
        }
        let actions = self.room.on_binary(&Peer::Ws(ws), frame, now);
        self.finish(actions, None)
    }

    /// A frame the caller knows is over `maxPayload` without copying it in.
    pub fn on_ws_oversize(&mut self, ws: W, now: u64) -> Outs<W> {
        if let Some(sid) = self.probe_of(&ws) {
            return self.on_probe_text(&sid, ws, "");
        }
        let actions = self.room.on_oversize(&Peer::Ws(ws), now);
        self.finish(actions, None)
    }

    /// The client's side of a websocket is gone (closed or failed).
    pub fn on_ws_close(&mut self, ws: W) -> Outs<W> {
        if let Some(sid) = self.probe_of(&ws) {
            if let Some(s) = self.polls.get_mut(&sid) {
                s.probe = None;
                s.polling.probe_since = None;
                s.polling.probed = false;
            }
            let mut outs = Vec::new();
            self.flush(&mut outs);
            self.save_changed(&mut outs);
            return outs;
        }
        let actions = self.room.on_close(&Peer::Ws(ws));
        self.finish(actions, None)
    }

    // -----------------------------------------------------------------------------------------
    // Time

    /// Heartbeats, timeouts, held polls and upgrade timeouts due by `now`. `auto_answered` is
    /// the platform's auto-response time of a websocket (see [`Room::on_alarm`]); `posting`, when
    /// a polling session's POST arrived whose body is still being read (its pong may be in it).
    pub fn on_alarm(
        &mut self,
        now: u64,
        auto_answered: impl Fn(&W) -> Option<u64>,
        posting: impl Fn(&str) -> Option<u64>,
    ) -> Outs<W> {
        let actions = self.room.on_alarm(now, |p| match p {
            Peer::Ws(w) => auto_answered(w),
            Peer::Poll(sid) => posting(sid),
        });
        let mut outs = self.apply(actions, None);
        let cfg = *self.room.config();
        let (hold, upgrade_timeout) = (cfg.ping_interval, cfg.upgrade_timeout);
        // A closed session whose client never came for its last packets.
        self.polls
            .retain(|_, s| s.closed_at.is_none_or(|t| now < t.saturating_add(hold)));
        for (sid, s) in &mut self.polls {
            if s.polling
                .probe_since
                .is_some_and(|t| now >= t.saturating_add(upgrade_timeout))
            {
                if let Some(ws) = s.probe.take() {
                    outs.push(Out::Close(ws, Cause::UpgradeTimeout));
                }
                s.polling.probe_since = None;
                s.polling.probed = false;
            }
            if release_at(s, &cfg).is_some_and(|t| now >= t) {
                s.polling.waiting_since = None;
                outs.push(Out::Respond(sid.clone(), s.polling.take_or_noop()));
            }
        }
        self.flush(&mut outs);
        self.save_changed(&mut outs);
        outs
    }

    /// When [`Server::on_alarm`] next has work.
    pub fn next_alarm(&self) -> Option<u64> {
        let cfg = self.room.config();
        let polls = self.polls.values().flat_map(|s| {
            [
                release_at(s, cfg),
                s.polling
                    .probe_since
                    .map(|t| t.saturating_add(cfg.upgrade_timeout)),
                s.closed_at.map(|t| t.saturating_add(cfg.ping_interval)),
            ]
        });
        self.room
            .next_alarm()
            .into_iter()
            .chain(polls.flatten())
            .min()
    }
}

/// When a session's held GET is released with what it has (a noop if nothing): `pingInterval`
/// after it arrived; once the probe is answered, [`PROBED_POLL_HOLD`] after; while a probe is
/// open but not yet answered, only by the probe (its `2probe`, its end, or its timeout).
fn release_at<W>(s: &Session<W>, cfg: &Config) -> Option<u64> {
    let t = s.polling.waiting_since?;
    if s.polling.probed {
        Some(t.saturating_add(PROBED_POLL_HOLD))
    } else if s.polling.probe_since.is_some() {
        None
    } else {
        Some(t.saturating_add(cfg.ping_interval))
    }
}
