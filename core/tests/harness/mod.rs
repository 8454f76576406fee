//! The test harness shared by the room's tests: a [`RoomHarness`] is a room driven by hand with
//! its own clock, sockets named by numbers, and helpers that pick out what each socket got.
#![allow(dead_code)]

use signal_core::engineio::Protocol;
use signal_core::room::{Action, Config, Conn, Room};

/// The room every test socket names.
pub const ROOM: &str = "r1";

/// Both Engine.IO revisions, for tests that hold for either.
pub const BOTH: [Protocol; 2] = [Protocol::V4, Protocol::V3];

/// `42["log",[">>> Message from server: ",parts…]]`, each part a JSON string.
pub fn log(parts: &[&str]) -> String {
    let mut v = vec![">>> Message from server: ".to_string()];
    v.extend(parts.iter().map(|s| s.to_string()));
    format!("42{}", serde_json::json!(["log", v]))
}

/// The state of test socket `id`: Engine.IO sid `eio<id>`, Socket.IO id `sio<id>`, room `r1`.
pub fn conn(id: u32, protocol: Protocol, now: u64) -> Conn {
    Conn::new(
        format!("eio{id}"),
        format!("sio{id}"),
        protocol,
        ROOM.to_string(),
        now,
    )
}

/// The same, with a resume token.
pub fn conn_with_token(id: u32, token: &str, now: u64) -> Conn {
    let mut c = conn(id, Protocol::V4, now);
    c.resume = Some(token.to_string());
    c
}

/// The id test socket `h` sees as `socket.id`.
pub fn id(h: u32, p: Protocol) -> String {
    match p {
        Protocol::V4 => format!("sio{h}"),
        Protocol::V3 => format!("eio{h}"),
    }
}

/// `room.on_text`, with a forwarded or spliced frame shown as the `Send` it stands for.
pub fn relay(room: &mut Room<u32>, h: u32, frame: &str, now: u64) -> Vec<Action<u32>> {
    let out = room.on_text(&h, frame, now);
    out.into_iter().map(|a| a.with_frame(frame)).collect()
}

/// The text frames sent to `h`, in order.
pub fn sent(actions: &[Action<u32>], h: u32) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(to, f) if *to == h => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The sockets closed, with their close codes.
pub fn closes(actions: &[Action<u32>]) -> Vec<(u32, u16)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Close(h, cause) => Some((*h, cause.code())),
            _ => None,
        })
        .collect()
}

/// A room driven by hand, with its own clock.
pub struct RoomHarness {
    pub room: Room<u32>,
    pub now: u64,
}

impl RoomHarness {
    /// An empty room with the default settings at time 1,000,000.
    pub fn new() -> RoomHarness {
        RoomHarness::with(Config::default())
    }

    /// An empty room with `cfg`.
    pub fn with(cfg: Config) -> RoomHarness {
        RoomHarness {
            room: Room::new(cfg),
            now: 1_000_000,
        }
    }

    /// Opens socket `h` (no `40` yet); returns the room's actions.
    pub fn open(&mut self, h: u32, p: Protocol) -> Vec<Action<u32>> {
        self.room.open(h, conn(h, p, self.now))
    }

    /// Opens socket `h` and connects it to `/`; returns the frames it got.
    pub fn connect(&mut self, h: u32, p: Protocol) -> Vec<String> {
        let a = self.open(h, p);
        let mut got = sent(&a, h);
        if p == Protocol::V4 {
            got.extend(sent(&self.room.on_text(&h, "40", self.now), h));
        }
        got
    }

    /// A v4 socket with a resume token, connected to `/`.
    pub fn connect_with_token(&mut self, h: u32, token: &str) {
        self.room.open(h, conn_with_token(h, token, self.now));
        self.room.on_text(&h, "40", self.now);
    }

    /// A text frame; a relay that forwards it shows as the `Send` of the same frame.
    pub fn text(&mut self, h: u32, frame: &str) -> Vec<Action<u32>> {
        relay(&mut self.room, h, frame, self.now)
    }

    /// A binary frame.
    pub fn binary(&mut self, h: u32, frame: &[u8]) -> Vec<Action<u32>> {
        self.room.on_binary(&h, frame, self.now)
    }

    /// `create or join` for the socket's own room.
    pub fn ask(&mut self, h: u32) -> Vec<Action<u32>> {
        self.text(h, r#"42["create or join","r1"]"#)
    }

    /// The sockets, connected in order, then seated in order (the first creates the room).
    pub fn seated(sockets: &[(u32, Protocol)]) -> RoomHarness {
        let mut t = RoomHarness::new();
        t.seat_all(sockets);
        t
    }

    /// Connects, then seats, `sockets` in this room.
    pub fn seat_all(&mut self, sockets: &[(u32, Protocol)]) {
        for &(h, p) in sockets {
            self.connect(h, p);
        }
        for &(h, _) in sockets {
            self.ask(h);
        }
    }

    /// Two v4 sockets, 1 and 2, both seated.
    pub fn seated_pair() -> RoomHarness {
        RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V4)])
    }

    /// Two v4 sockets, 1 and 2, seated in a room with `cfg` at time `now`.
    pub fn seated_pair_with(cfg: Config, now: u64) -> RoomHarness {
        let mut t = RoomHarness::with(cfg);
        t.now = now;
        t.seat_all(&[(1, Protocol::V4), (2, Protocol::V4)]);
        t
    }
}
