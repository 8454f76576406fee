//! The two-seat room state machine under arbitrary sequences of socket events.
//!
//! Input: structured. A config (the default one, or a tiny one that makes timeouts, the
//! payload limit and the rate limit easy to reach) and up to 64 operations on a `Room<u8>`:
//! open a socket (v3 or v4, this room or a mismatched room name; at most 4 live and 8 opened in
//! all, and only when `can_accept` allows), a text frame (a realistic fragment, an arbitrary
//! string, a fragment with an arbitrary tail, an oversized frame, or JSON nested to the depth
//! limit), a binary frame, a client close, an alarm at a
//! later time (optionally with a platform auto-pong time for one socket), an alarm exactly when
//! `next_alarm` says, and a hibernation (the room rebuilt with `restore` from the last persisted
//! states). Time only moves forward. Frames may also target a handle that was never opened.
//!
//! Invariants checked after every operation (beyond "never panics"):
//! 1. `seats_taken() <= MAX_SEATS`, and a seated socket is connected and not closing;
//! 2. every Action names a handle that was opened and that the room still knew when the
//!    operation started (or that this operation opened);
//! 3. after `Close(h)` in an action list, no further action names `h` in that list, the Persist
//!    just before it marks the socket `closing`, and afterwards `room.conn(&h)` is `None`;
//! 4. the room knows exactly the sockets the model says are live (opened, not closed by an
//!    action or the client);
//! 5. for every live socket the last `Persist` equals `room.conn(&h)` (hibernation loses none
//!    of the durable state);
//! 6. every text frame sent is an Engine.IO packet, and every message packet a Socket.IO packet
//!    (allowing only TooDeep, for a log line that wraps an argument already at the limit);
//!    binary frames to a v3 socket carry the 0x04 prefix;
//! 7. `next_alarm()` is `None` exactly for an empty room; an alarm before it (without auto-pongs)
//!    does nothing, and an alarm at or after it does something.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use signal_core::engineio::{self, Protocol};
use signal_core::room::{Action, Cause, Config, Conn, Room, MAX_SEATS};
use signal_core::socketio;

const ROOM: &str = "r";
const MAX_LIVE: usize = 4;
const MAX_OPENED: u8 = 8;
const MAX_OPS: usize = 64;
const START: u64 = 1_700_000_000_000;

/// Realistic client frames (Engine.IO prefix included).
const FRAGMENTS: &[&str] = &[
    "40",
    "40{\"token\":\"x\"}",
    "40/admin,",
    "40/admin?x=1,{}",
    "41",
    "41/admin,",
    "42[\"create or join\",\"r\"]",
    "42[\"create or join\",\"other\"]",
    "42[\"create or join\"]",
    "42[\"create or join\",1]",
    "42[\"message\",{}]",
    "42[\"message\",\"got user media\"]",
    "42[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}]",
    "42[\"message\",{\"type\":\"candidate\",\"label\":0,\"id\":\"0\",\"candidate\":\"c\"}]",
    "421[\"message\",{}]",
    "42/admin,[\"message\",{}]",
    "42[\"bye\"]",
    "42[\"bye\",\"r\"]",
    "42[\"log\",\"x\"]",
    "42[\"connect\"]",
    "42[\"disconnect\"]",
    "42[7,\"x\"]",
    "42[]",
    "42[{}]",
    "42{}",
    "43[]",
    "431[\"x\"]",
    "44{\"message\":\"x\"}",
    "451-[\"message\",{\"_placeholder\":true,\"num\":0}]",
    "452-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    "451-[\"other\",{\"_placeholder\":true,\"num\":0}]",
    "450-[\"message\"]",
    "461-[{\"_placeholder\":true,\"num\":0}]",
    "2",
    "2probe",
    "3",
    "3probe",
    "1",
    "5",
    "6",
    "0{}",
    "4",
    "",
    "7",
    "é",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    tiny: bool,
    ops: Vec<Op<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Open { v3: bool, other_room: bool },
    Text { sock: u8, frame: Frame<'a>, dt: u16 },
    Binary { sock: u8, v3_prefix: bool, data: &'a [u8], dt: u16 },
    Close { sock: u8 },
    Alarm { dt: u32, auto: Option<(u8, u16)> },
    AlarmDue,
    Hibernate { seen_ago: u16 },
}

#[derive(Arbitrary, Debug)]
enum Frame<'a> {
    Fragment(u8),
    Raw(&'a str),
    Tail(u8, &'a str),
    Oversized(bool),
    Deep { extra: bool, binary: bool },
}

fn frame_text(frame: &Frame<'_>, cfg: &Config) -> String {
    match frame {
        Frame::Fragment(n) => FRAGMENTS[*n as usize % FRAGMENTS.len()].to_string(),
        Frame::Raw(s) => s.to_string(),
        Frame::Tail(n, s) => format!("{}{}", FRAGMENTS[*n as usize % FRAGMENTS.len()], s),
        Frame::Oversized(exact) => {
            // A message of exactly max_payload bytes, or one byte more.
            let target = cfg.max_payload + usize::from(!*exact);
            let head = "42[\"message\",\"";
            let tail = "\"]";
            let fill = target.saturating_sub(head.len() + tail.len());
            format!("{head}{}{tail}", "x".repeat(fill))
        }
        Frame::Deep { extra, binary } => {
            // The event array is level 1: 127 more levels is the limit, 128 is one too many.
            let n = 127 + usize::from(*extra);
            let head = if *binary { "451-" } else { "42" };
            format!("{head}[\"message\",{}{}]", "[".repeat(n), "]".repeat(n))
        }
    }
}

struct Model {
    room: Room<u8>,
    cfg: Config,
    now: u64,
    opened: u8,
    live: BTreeSet<u8>,
    protocol: BTreeMap<u8, Protocol>,
    persisted: BTreeMap<u8, Conn>,
}

impl Model {
    fn new(cfg: Config) -> Self {
        Model {
            room: Room::new(cfg),
            cfg,
            now: START,
            opened: 0,
            live: BTreeSet::new(),
            protocol: BTreeMap::new(),
            persisted: BTreeMap::new(),
        }
    }

    /// A handle for a frame: one that was opened, or the next one, never opened.
    fn pick(&self, sock: u8) -> u8 {
        sock % (self.opened + 1)
    }

    fn step(&mut self, op: &Op<'_>) {
        let mut known: BTreeSet<u8> = self.live.clone();
        let mut client_closed = None;
        let out = match op {
            Op::Open { v3, other_room } => {
                // The Worker asks `can_accept` before it takes a socket in.
                if self.live.len() >= MAX_LIVE || self.opened >= MAX_OPENED || !self.room.can_accept() {
                    return;
                }
                let h = self.opened;
                self.opened += 1;
                let protocol = if *v3 { Protocol::V3 } else { Protocol::V4 };
                let room = if *other_room { "other".into() } else { ROOM.into() };
                let mut conn = Conn::new(format!("sid{h}"), format!("sio{h}"), protocol, room, self.now);
                // Some sockets share a resume token, so seat take-overs happen too.
                conn.resume = match h % 3 {
                    0 => None,
                    1 => Some("tokenAAAAAAAAAAAA".to_string()),
                    _ => Some("tokenBBBBBBBBBBBB".to_string()),
                };
                known.insert(h);
                self.live.insert(h);
                self.protocol.insert(h, protocol);
                self.room.open(h, conn)
            }
            Op::Text { sock, frame, dt } => {
                self.now += u64::from(*dt);
                let text = frame_text(frame, &self.cfg);
                let out = self.room.on_text(&self.pick(*sock), &text, self.now);
                out.into_iter().map(|a| a.with_frame(&text)).collect()
            }
            Op::Binary { sock, v3_prefix, data, dt } => {
                self.now += u64::from(*dt);
                let mut frame = Vec::with_capacity(data.len() + 1);
                if *v3_prefix {
                    frame.push(4);
                }
                frame.extend_from_slice(data);
                self.room.on_binary(&self.pick(*sock), &frame, self.now)
            }
            Op::Close { sock } => {
                let h = self.pick(*sock);
                client_closed = Some(h);
                self.room.on_close(&h)
            }
            Op::Alarm { dt, auto } => {
                self.now += u64::from(*dt % 200_000);
                let now = self.now;
                let auto = auto.map(|(s, ago)| (self.pick(s), now.saturating_sub(u64::from(ago))));
                self.room
                    .on_alarm(now, |h| auto.and_then(|(a, t)| (a == *h).then_some(t)))
            }
            Op::AlarmDue => {
                let Some(due) = self.room.next_alarm() else {
                    return;
                };
                self.now = self.now.max(due);
                let out = self.room.on_alarm(self.now, |_| None);
                assert!(!out.is_empty(), "alarm at {} (due {due}) did nothing", self.now);
                // Nothing due is left behind: an alarm asked for in the past would be lost.
                if let Some(next) = self.room.next_alarm() {
                    assert!(next > self.now, "alarm due at {next} again after running at {}", self.now);
                }
                out
            }
            Op::Hibernate { seen_ago } => {
                let mut room = Room::new(self.cfg);
                for h in &self.live {
                    let conn = self.persisted[h].clone();
                    let seen = self.now.saturating_sub(u64::from(*seen_ago));
                    room.restore(*h, conn, seen);
                }
                self.room = room;
                Vec::new()
            }
        };
        self.check_actions(&known, &out);
        if let Some(h) = client_closed {
            self.live.remove(&h);
        }
        self.check_state();
    }

    fn check_actions(&mut self, known: &BTreeSet<u8>, out: &[Action<u8>]) {
        let mut closed: BTreeSet<u8> = BTreeSet::new();
        let mut last_persist: BTreeMap<u8, &Conn> = BTreeMap::new();
        for action in out {
            let h = *action.handle();
            if !known.contains(&h) {
                // A frame from a socket the room does not know closes it, and nothing else.
                assert_eq!(action, &Action::Close(h, Cause::UnknownSession), "{out:?}");
                assert_eq!(out.len(), 1, "{out:?}");
                continue;
            }
            assert!(h < self.opened, "action for a handle never opened: {action:?}");
            assert!(known.contains(&h), "action for a forgotten handle: {action:?}");
            assert!(!closed.contains(&h), "action after Close in the same list: {action:?} in {out:?}");
            match action {
                Action::Send(_, text) => {
                    let packet = engineio::decode(text)
                        .unwrap_or_else(|e| panic!("sent a bad Engine.IO frame {text:?}: {e:?}"));
                    if let engineio::Packet::Message(sio) = packet {
                        match socketio::decode(sio) {
                            Ok(_) | Err(socketio::Error::TooDeep) => {}
                            Err(e) => panic!("sent a bad Socket.IO frame {text:?}: {e:?}"),
                        }
                    }
                }
                // `with_frame` turned every forward and splice of a text frame into its `Send`.
                Action::Forward(_) | Action::Splice(..) => {
                    panic!("a forward or splice outside on_text: {out:?}")
                }
                Action::SendBinary(_, data) => {
                    if self.protocol[&h] == Protocol::V3 {
                        assert_eq!(data.first(), Some(&4), "v3 binary frame without its prefix");
                    }
                }
                Action::Persist(_, conn) => {
                    last_persist.insert(h, conn);
                    self.persisted.insert(h, conn.clone());
                }
                // A log line: it never carries what a client sent, by its type.
                Action::Note(..) => {}
                Action::Close(..) => {
                    let before = last_persist.get(&h);
                    assert!(
                        before.is_some_and(|c| c.closing),
                        "Close without a closing Persist before it: {out:?}"
                    );
                    closed.insert(h);
                    self.live.remove(&h);
                }
            }
        }
        for h in closed {
            assert!(self.room.conn(&h).is_none(), "closed handle {h} still known");
        }
    }

    fn check_state(&mut self) {
        let room = &self.room;
        assert!(room.seats_taken() <= MAX_SEATS, "{} seats taken", room.seats_taken());
        assert_eq!(room.len(), self.live.len(), "room and model disagree on live sockets");
        for h in 0..=self.opened {
            let conn = room.conn(&h);
            assert_eq!(conn.is_some(), self.live.contains(&h), "handle {h}");
            if let Some(c) = conn {
                assert!(!c.closing, "a live socket is closing: {c:?}");
                assert!(!c.seated || c.connected, "seated but not connected: {c:?}");
                assert_eq!(self.persisted.get(&h), Some(c), "state of {h} not persisted");
            }
        }
        let next = room.next_alarm();
        assert_eq!(next.is_none(), room.is_empty());
        if let Some(t) = next {
            if self.now < t {
                // Woken early (for another socket, say), the room may only close sockets whose
                // pong is already overdue (in a v4 room the pong check waits for the next round
                // unless something else wakes the room): it never pings early.
                let out = self.room.on_alarm(self.now, |_| None);
                for a in &out {
                    match a {
                        Action::Close(_, cause) => assert_eq!(*cause, Cause::PingTimeout, "{out:?}"),
                        Action::Send(_, f) => assert_ne!(f, "2", "pinged before due {t}: {out:?}"),
                        _ => {}
                    }
                }
                if !out.is_empty() {
                    let known = self.live.clone();
                    self.check_actions(&known, &out);
                    self.check_state();
                }
            }
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let cfg = if input.tiny {
        Config {
            ping_interval: 100,
            ping_timeout: 50,
            max_payload: 64,
            connect_timeout: 300,
            rate_burst: 3,
            rate_per_sec: 2,
            rate_kick_after: 4,
            max_pending: 2,
            seat_grace: 200,
            upgrade_timeout: 1_000,
        }
    } else {
        Config::default()
    };
    let mut model = Model::new(cfg);
    for op in input.ops.iter().take(MAX_OPS) {
        model.step(op);
    }
});
