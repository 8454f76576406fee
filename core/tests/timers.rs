//! `Out::keeps_timers`: the room object skips syncing its alarm and auto-response with the
//! platform after a websocket frame whose outs all keep the timers. That is only right if such a
//! frame never moves the next alarm sooner (or sets one where none was, or leaves one that
//! should go) and never changes the auto-response. Checked here after every frame of whole
//! sessions: v4, v3 and mixed rooms, heartbeats both ways, the rate limit, malformed frames, a
//! third socket told `full`, and the upgrade of a long-polling session.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::conn;
use signal_core::engineio::Protocol;
use signal_core::room::{self, Config};
use signal_core::server::{Out, Server};

const T0: u64 = 1_000_000;

struct Checked {
    server: Server<u32>,
    now: u64,
    /// Frames whose outs all kept the timers (so the check had something to check).
    kept: usize,
}

impl Checked {
    fn new(cfg: Config) -> Checked {
        Checked {
            server: Server::new(cfg),
            now: T0,
            kept: 0,
        }
    }

    fn ws(&mut self, w: u32, p: Protocol) {
        self.server.open_websocket(w, conn(w, p, self.now));
    }

    /// A text frame from websocket `w`, `dt` ms after the last event, with the check.
    fn text(&mut self, w: u32, frame: &str, dt: u64) -> Vec<Out<u32>> {
        self.now += dt;
        self.checked(&format!("{frame:?} from {w}"), |server, now| {
            server.on_ws_text(w, frame, now)
        })
    }

    /// A binary frame from websocket `w`, with the check.
    fn binary(&mut self, w: u32, frame: &[u8]) {
        self.checked(&format!("binary {frame:?} from {w}"), |server, now| {
            server.on_ws_binary(w, frame, now)
        });
    }

    /// Runs `event`; if its outs all keep the timers, checks that they did.
    fn checked(
        &mut self,
        what: &str,
        event: impl FnOnce(&mut Server<u32>, u64) -> Vec<Out<u32>>,
    ) -> Vec<Out<u32>> {
        let alarm = self.server.next_alarm();
        let auto = self.server.room().auto_response();
        let outs = event(&mut self.server, self.now);
        if outs.iter().all(Out::keeps_timers) {
            self.kept += 1;
            let after = self.server.next_alarm();
            assert!(
                !room::alarm_needs_write(alarm, after),
                "{what}: alarm {alarm:?} -> {after:?} with outs {outs:?}"
            );
            assert_eq!(self.server.room().auto_response(), auto, "{what}");
        }
        outs
    }

    /// The alarm, when due: pings sent; every socket's pong taken by the platform at `pong`.
    fn alarm(&mut self, pong: Option<u64>) {
        self.now = self.server.next_alarm().expect("an alarm").max(self.now);
        self.server.on_alarm(self.now, |_| pong, |_| None);
    }

    fn join(&mut self, w: u32, p: Protocol) {
        self.ws(w, p);
        if p == Protocol::V4 {
            self.text(w, "40", 5);
        }
        self.text(w, r#"42["create or join","r1"]"#, 5);
    }
}

const CANDIDATE: &str = r#"42["message",{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"}]"#;

fn relay_burst(t: &mut Checked, a: u32, b: u32) {
    t.text(a, r#"42["message","got user media"]"#, 3);
    t.text(b, r#"42["message","got user media"]"#, 3);
    t.text(a, r#"42["message",{"type":"offer","sdp":"v=0\r\n"}]"#, 20);
    t.text(b, r#"42["message",{"type":"answer","sdp":"v=0\r\n"}]"#, 20);
    for k in 0..20 {
        t.text(if k % 2 == 0 { a } else { b }, CANDIDATE, 7);
    }
    // Unknown events, an event without arguments, one with an ack: answered or ignored.
    t.text(a, r#"42["something else",1]"#, 1);
    t.text(a, r#"42["message"]"#, 1);
    t.text(b, r#"421["message","acked"]"#, 1);
}

#[test]
fn frames_that_keep_the_timers_never_need_an_alarm_write_in_v4_rooms() {
    let mut t = Checked::new(Config::default());
    t.join(1, Protocol::V4);
    t.join(2, Protocol::V4);
    relay_burst(&mut t, 1, 2);
    // Heartbeats: a round of pings, the pongs the platform took, then pongs that reach the room.
    t.alarm(None);
    t.text(1, "3", 100);
    t.text(2, "3", 100);
    t.text(1, "3", 100); // a pong nobody asked for
    t.alarm(Some(t.now));
    relay_burst(&mut t, 2, 1);
    // A third socket: `full`, then closed.
    t.join(3, Protocol::V4);
    // The rest of the call much later, past the seat grace and the connect timeout.
    t.text(1, r#"42["message","later"]"#, 60_000);
    t.binary(1, &[1, 2, 3]);
    t.text(2, r#"42["bye","r1"]"#, 10);
    t.text(1, r#"42["message","alone"]"#, 10);
    // Malformed frames close the socket (outs that do not keep the timers).
    t.text(1, "42[\"message\",", 10);
    assert!(t.kept >= 40, "{}", t.kept);
}

#[test]
fn frames_that_keep_the_timers_never_need_an_alarm_write_with_v3_clients() {
    for (a, b) in [
        (Protocol::V3, Protocol::V3),
        (Protocol::V3, Protocol::V4),
        (Protocol::V4, Protocol::V3),
    ] {
        let mut t = Checked::new(Config::default());
        t.join(1, a);
        t.join(2, b);
        relay_burst(&mut t, 1, 2);
        // v3 pings reach the room when the auto-response is not theirs; v4 pongs do in a mixed room.
        for k in 0..5 {
            t.text(1, if a == Protocol::V3 { "2" } else { "3" }, 5_000 + k);
            t.text(2, if b == Protocol::V3 { "2probe" } else { "3" }, 5_000);
        }
        t.alarm(None);
        t.text(1, if a == Protocol::V3 { "2" } else { "3" }, 50);
        t.text(2, if b == Protocol::V3 { "2" } else { "3" }, 50);
        relay_burst(&mut t, 2, 1);
        t.text(1, r#"42["bye","r1"]"#, 10);
        // The v3 client closed by a malformed frame: in a mixed room, the auto-response goes
        // back to v4 pongs, and the rounds get shorter.
        let v3 = if a == Protocol::V3 { 1 } else { 2 };
        t.text(v3, "42[\"message\",", 10);
        assert!(t.kept >= 40, "{a:?}/{b:?}: {}", t.kept);
    }
}

#[test]
fn frames_that_keep_the_timers_never_need_an_alarm_write_under_the_rate_limit() {
    let cfg = Config {
        rate_burst: 5,
        rate_per_sec: 1,
        rate_kick_after: 10,
        ..Config::default()
    };
    let mut t = Checked::new(cfg);
    t.join(1, Protocol::V4);
    t.join(2, Protocol::V4);
    // Dropped frames, then the kick.
    for _ in 0..20 {
        t.text(1, CANDIDATE, 1);
    }
    assert!(t.kept >= 10, "{}", t.kept);
}

#[test]
fn frames_that_keep_the_timers_never_need_an_alarm_write_on_an_upgrade() {
    let mut t = Checked::new(Config::default());
    t.join(1, Protocol::V4);
    t.server.open_polling(conn(2, Protocol::V4, t.now), false);
    let (posted, _) = t
        .server
        .post("eio2", b"40\x1e42[\"create or join\",\"r1\"]", false, t.now);
    assert_eq!(posted, Ok(()));
    assert!(t.server.poll("eio2", t.now).0.is_ok());
    // A GET held while the probe opens; the probe's `2probe`; then the upgrade.
    assert!(t.server.poll("eio2", t.now).0.is_ok());
    t.server.open_probe("eio2", 7, t.now);
    t.text(7, "2probe", 10);
    t.text(1, CANDIDATE, 10);
    let upgraded = t.text(7, "5", 10);
    assert!(
        upgraded
            .iter()
            .any(|o| matches!(o, Out::Forget(s) if s == "eio2")),
        "{upgraded:?}"
    );
    relay_burst(&mut t, 1, 7);
    assert!(t.kept >= 20, "{}", t.kept);
}
