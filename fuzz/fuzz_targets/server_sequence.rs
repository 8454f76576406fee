//! A room's sessions on both transports (`server::Server`) under arbitrary sequences of events:
//! websocket and long-polling sessions (v3 and v4, text-only or binary payloads), GETs, POSTs
//! of realistic and arbitrary payloads, upgrade probes and their frames, websocket closes,
//! alarms, and hibernation (the server rebuilt from the records and attachments saved so far).
//!
//! Invariants checked after every operation (beyond "never panics"):
//! 1. `seats_taken() <= 2`;
//! 2. a held GET is answered (`Respond` or `Refuse`) at most once, and only a GET that was held;
//!    a session never has two GETs held;
//! 3. every polling body answered decodes as a payload of its session's protocol;
//! 4. `Save` carries a record that parses, for the session it names; after `Forget(sid)` a GET
//!    for it is never answered with a held promise;
//! 5. `next_alarm()` is `None` when the server has no session, and after an alarm at `now` it is
//!    `None` or later than `now` (an alarm that comes due and finds nothing to do would be set
//!    again at once: a wake loop).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use signal_core::engineio::payload::{self, Body};
use signal_core::engineio::Protocol;
use signal_core::room::{Config, Conn};
use signal_core::server::{Attachment, Out, Poll, PollRecord, Server};

const START: u64 = 1_700_000_000_000;
const MAX_OPS: usize = 48;

const PACKETS: &[&str] = &[
    "40",
    "41",
    "42[\"create or join\",\"r\"]",
    "42[\"message\",{\"sdp\":\"v=0\"}]",
    "42[\"message\",\"é🎥\"]",
    "42[\"bye\",\"r\"]",
    "451-[\"message\",{\"_placeholder\":true,\"num\":0}]",
    "2",
    "3",
    "1",
    "6",
    "5",
    "2probe",
    "42{}",
];

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    OpenWs { v3: bool },
    OpenPoll { v3: bool, base64: bool },
    Get { session: u8 },
    Post { session: u8, packets: Vec<u8>, raw: Option<&'a [u8]>, binary: bool },
    Probe { session: u8 },
    WsText { ws: u8, packet: u8, raw: Option<&'a str> },
    WsBinary { ws: u8, data: &'a [u8] },
    WsClose { ws: u8 },
    Alarm { dt: u16 },
    AlarmDue,
    Hibernate,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    tiny: bool,
    ops: Vec<Op<'a>>,
}

struct Model {
    server: Server<u8>,
    cfg: Config,
    now: u64,
    next_id: u32,
    /// Polling sessions opened: sid and protocol.
    sessions: Vec<(String, Protocol)>,
    /// Websockets opened (sessions and probes).
    sockets: u8,
    held: BTreeSet<String>,
    records: BTreeMap<String, String>,
    attachments: BTreeMap<u8, Attachment>,
    closed_ws: BTreeSet<u8>,
}

impl Model {
    fn conn(&mut self, v3: bool) -> Conn {
        self.next_id += 1;
        let p = if v3 { Protocol::V3 } else { Protocol::V4 };
        Conn::new(
            format!("sid{:017}", self.next_id),
            format!("sio{:017}", self.next_id),
            p,
            "r".into(),
            self.now,
        )
    }

    fn session(&self, n: u8) -> Option<(String, Protocol)> {
        if self.sessions.is_empty() {
            return None;
        }
        Some(self.sessions[n as usize % self.sessions.len()].clone())
    }

    fn ws(&self, n: u8) -> Option<u8> {
        (self.sockets > 0).then(|| n % self.sockets)
    }

    fn check(&mut self, outs: &[Out<u8>]) {
        for o in outs {
            match o {
                Out::Respond(sid, body) => {
                    assert!(self.held.remove(sid), "an answer for a GET not held: {sid} {outs:?}");
                    let p = self.sessions.iter().find(|(s, _)| s == sid).map(|(_, p)| *p);
                    let p = p.expect("a session we opened");
                    let (bytes, binary) = match body {
                        Body::Text(t) => (t.as_bytes().to_vec(), false),
                        Body::Binary(b) => (b.clone(), true),
                    };
                    assert!(payload::decode(p, &bytes, binary).is_ok(), "bad body {body:?}");
                }
                Out::Refuse(sid, _) => {
                    assert!(self.held.remove(sid), "a refusal for a GET not held: {outs:?}")
                }
                Out::Save(sid, json) => {
                    let record: PollRecord = serde_json::from_str(json).expect("a record that parses");
                    assert_eq!(&record.conn.sid, sid);
                    self.records.insert(sid.clone(), json.clone());
                }
                Out::Forget(sid) => {
                    self.records.remove(sid);
                }
                Out::Attach(w, a) => {
                    self.attachments.insert(*w, a.clone());
                }
                Out::Close(w, _) => {
                    self.closed_ws.insert(*w);
                }
                _ => {}
            }
        }
        assert!(self.server.room().seats_taken() <= 2);
        if self.server.is_empty() {
            assert_eq!(self.server.next_alarm(), None);
        }
    }

    fn step(&mut self, op: &Op<'_>) {
        let outs = match op {
            Op::OpenWs { v3 } => {
                if !self.server.can_accept() || self.sockets >= 8 {
                    return;
                }
                let w = self.sockets;
                self.sockets += 1;
                let c = self.conn(*v3);
                self.server.open_websocket(w, c)
            }
            Op::OpenPoll { v3, base64 } => {
                if !self.server.can_accept() || self.sessions.len() >= 6 {
                    return;
                }
                let c = self.conn(*v3);
                let p = c.protocol;
                self.sessions.push((c.sid.clone(), p));
                let (body, outs) = self.server.open_polling(c, *base64);
                let Body::Text(t) = &body else { panic!("a binary handshake") };
                assert!(payload::decode(p, t.as_bytes(), false).is_ok(), "{body:?}");
                outs
            }
            Op::Get { session } => {
                let Some((sid, p)) = self.session(*session) else { return };
                let was_held = self.held.contains(&sid);
                let (answer, outs) = self.server.poll(&sid, self.now);
                match answer {
                    Ok(Poll::Wait) => {
                        assert!(!was_held, "two GETs held for {sid}");
                        self.held.insert(sid.clone());
                    }
                    Ok(Poll::Now(Body::Text(t))) => assert!(payload::decode(p, t.as_bytes(), false).is_ok()),
                    Ok(Poll::Now(Body::Binary(b))) => assert!(payload::decode(p, &b, true).is_ok()),
                    Err(_) => {}
                }
                outs
            }
            Op::Post { session, packets, raw, binary } => {
                let Some((sid, p)) = self.session(*session) else { return };
                let body = match raw {
                    Some(raw) => raw.to_vec(),
                    None => {
                        let frames: Vec<payload::Frame> = packets
                            .iter()
                            .take(6)
                            .map(|k| payload::Frame::Text(PACKETS[*k as usize % PACKETS.len()].to_string()))
                            .collect();
                        if frames.is_empty() {
                            return;
                        }
                        match payload::encode(p, true, &frames) {
                            Body::Text(t) => t.into_bytes(),
                            Body::Binary(b) => b,
                        }
                    }
                };
                self.server.post(&sid, &body, *binary && raw.is_some(), self.now).1
            }
            Op::Probe { session } => {
                let Some((sid, _)) = self.session(*session) else { return };
                if self.sockets >= 8 || self.server.check_probe(&sid).is_err() {
                    return;
                }
                let w = self.sockets;
                self.sockets += 1;
                self.server.open_probe(&sid, w, self.now)
            }
            Op::WsText { ws, packet, raw } => {
                let Some(w) = self.ws(*ws) else { return };
                let frame = raw.unwrap_or(PACKETS[*packet as usize % PACKETS.len()]);
                let outs = self.server.on_ws_text(w, frame, self.now);
                outs.into_iter().map(|o| o.with_frame(frame)).collect()
            }
            Op::WsBinary { ws, data } => {
                let Some(w) = self.ws(*ws) else { return };
                self.server.on_ws_binary(w, data, self.now)
            }
            Op::WsClose { ws } => {
                let Some(w) = self.ws(*ws) else { return };
                // The platform forgets a socket once its client closed it.
                self.closed_ws.insert(w);
                self.server.on_ws_close(w)
            }
            Op::Alarm { dt } => {
                self.now += u64::from(*dt) * 10;
                let outs = self.server.on_alarm(self.now, |_| None, |_| None);
                if let Some(next) = self.server.next_alarm() {
                    assert!(next > self.now, "alarm due at {next} again after running at {}: {outs:?}", self.now);
                }
                outs
            }
            Op::AlarmDue => {
                let Some(t) = self.server.next_alarm() else { return };
                self.now = self.now.max(t);
                let outs = self.server.on_alarm(self.now, |_| None, |_| None);
                if let Some(next) = self.server.next_alarm() {
                    assert!(next > self.now, "alarm due at {next} again after running at {}: {outs:?}", self.now);
                }
                outs
            }
            Op::Hibernate => {
                // Requests do not outlive the object: held GETs are gone with it.
                self.held.clear();
                let mut fresh = Server::new(self.cfg);
                for (sid, json) in &self.records {
                    assert!(fresh.restore_polling(sid, json, self.now), "a saved record restores");
                }
                let mut outs = Vec::new();
                for (w, a) in &self.attachments {
                    if !self.closed_ws.contains(w) {
                        outs.extend(fresh.restore_websocket(*w, a.clone(), self.now));
                    }
                }
                self.server = fresh;
                outs
            }
        };
        self.check(&outs);
    }
}

fuzz_target!(|input: Input<'_>| {
    let cfg = if input.tiny {
        Config {
            ping_interval: 100,
            ping_timeout: 50,
            max_payload: 256,
            connect_timeout: 300,
            rate_burst: 4,
            rate_per_sec: 2,
            rate_kick_after: 4,
            max_pending: 3,
            seat_grace: 200,
            upgrade_timeout: 150,
        }
    } else {
        Config::default()
    };
    let mut model = Model {
        server: Server::new(cfg),
        cfg,
        now: START,
        next_id: 0,
        sessions: Vec::new(),
        sockets: 0,
        held: BTreeSet::new(),
        records: BTreeMap::new(),
        attachments: BTreeMap::new(),
        closed_ws: BTreeSet::new(),
    };
    for op in input.ops.iter().take(MAX_OPS) {
        model.step(op);
    }
});
