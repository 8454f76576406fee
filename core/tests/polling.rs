//! Long-polling sessions and the upgrade to websocket, through `server::Server`, with the exact
//! bodies each request gets: the handshake, held polls, payloads both ways (v4 and v3, binary
//! too), heartbeats, errors, the upgrade with packets in flight, and sessions restored after
//! hibernation.
//!
//! (Long because each test spells out the exact bodies of a whole exchange.)
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::{conn, log, ROOM};
use signal_core::engineio::payload::Body;
use signal_core::engineio::Protocol;
use signal_core::handshake::Error as HttpError;
use signal_core::room::{Cause, Config};
use signal_core::server::{Attachment, Out, Poll, Server};

const T0: u64 = 1_000_000;

fn text(s: &str) -> Body {
    Body::Text(s.to_string())
}

/// The body of every `Respond` to `sid`.
fn responses(outs: &[Out<u32>], sid: &str) -> Vec<Body> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Respond(s, b) if s == sid => Some(b.clone()),
            _ => None,
        })
        .collect()
}

/// The text frames sent to websocket `w`, forwarded frames spelled out.
fn ws_sent(outs: &[Out<u32>], w: u32, frame: &str) -> Vec<String> {
    outs.iter()
        .cloned()
        .filter_map(|o| match o.with_frame(frame) {
            Out::Send(to, f) if to == w => Some(f),
            _ => None,
        })
        .collect()
}

fn forgot(outs: &[Out<u32>], sid: &str) -> bool {
    outs.iter().any(|o| matches!(o, Out::Forget(s) if s == sid))
}

/// A server at time T0 with a default config (or `cfg`).
struct Polls {
    server: Server<u32>,
    now: u64,
}

impl Polls {
    fn new() -> Polls {
        Polls::with(Config::default())
    }

    fn with(cfg: Config) -> Polls {
        Polls {
            server: Server::new(cfg),
            now: T0,
        }
    }

    /// Opens polling session `eio<id>`; returns the handshake body.
    fn open(&mut self, id: u32, p: Protocol, base64: bool) -> Body {
        self.server.open_polling(conn(id, p, self.now), base64).0
    }

    fn get(&mut self, sid: &str) -> (Result<Poll, HttpError>, Vec<Out<u32>>) {
        self.server.poll(sid, self.now)
    }

    fn post(&mut self, sid: &str, body: &str) -> Vec<Out<u32>> {
        let (r, outs) = self.server.post(sid, body.as_bytes(), false, self.now);
        assert_eq!(r, Ok(()), "POST {body:?}");
        outs
    }

    /// A GET that must be answered at once.
    fn get_now(&mut self, sid: &str) -> Body {
        match self.get(sid).0 {
            Ok(Poll::Now(b)) => b,
            other => panic!("GET {sid}: {other:?}"),
        }
    }

    /// A v4 polling session connected to `/` and seated; the poll that brings it the replies.
    fn seat_v4(&mut self, id: u32) -> Body {
        let sid = format!("eio{id}");
        self.open(id, Protocol::V4, false);
        self.post(&sid, "40\u{1e}42[\"create or join\",\"r1\"]");
        self.get_now(&sid)
    }

    /// A websocket session `w`, connected to `/` and seated.
    fn seat_ws(&mut self, w: u32) -> Vec<Out<u32>> {
        self.server
            .open_websocket(w, conn(w, Protocol::V4, self.now));
        self.server.on_ws_text(w, "40", self.now);
        self.server
            .on_ws_text(w, r#"42["create or join","r1"]"#, self.now)
    }
}

#[test]
fn the_polling_handshake_offers_the_websocket_upgrade() {
    let mut t = Polls::new();
    assert_eq!(
        t.open(1, Protocol::V4, false),
        text(
            r#"0{"sid":"eio1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#
        )
    );
    // v3: a length-prefixed record, no maxPayload; the unprompted `40` waits for the first poll.
    let open3 =
        r#"0{"sid":"eio2","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}"#;
    assert_eq!(
        t.open(2, Protocol::V3, false),
        text(&format!("{}:{open3}", open3.len()))
    );
    assert_eq!(t.get_now("eio2"), text("2:40"));
}

#[test]
fn a_seated_session_is_stored_whenever_it_changes_and_only_then() {
    let mut t = Polls::new();
    let saves = |outs: &[Out<u32>]| outs.iter().filter(|o| matches!(o, Out::Save(..))).count();
    // A handshake writes nothing: a session without a seat is closed by the seat grace before
    // the object could be evicted, and a flood of handshakes must not cost a write each.
    let (_, outs) = t.server.open_polling(conn(1, Protocol::V4, T0), false);
    assert_eq!(saves(&outs), 0, "{outs:?}");
    assert_eq!(saves(&t.post("eio1", "40")), 0);
    // Seated: stored.
    assert_eq!(saves(&t.post("eio1", "42[\"create or join\",\"r1\"]")), 1);
    // A GET that finds packets changes the queue: stored again; one that finds nothing does not.
    let (_, outs) = t.get("eio1");
    assert_eq!(saves(&outs), 1);
    let (r, outs) = t.get("eio1");
    assert_eq!(r, Ok(Poll::Wait));
    assert!(outs.is_empty(), "{outs:?}");
    // Its seat given up: its record is deleted.
    let outs = t.post("eio1", "42[\"bye\",\"r1\"]");
    assert!(forgot(&outs, "eio1"), "{outs:?}");
}

#[test]
fn the_room_table_over_polling_in_one_payload_each_way() {
    let mut t = Polls::new();
    let body = t.seat_v4(1);
    assert_eq!(
        body,
        text(
            &[
                r#"40{"sid":"sio1"}"#.to_string(),
                log(&["Room r1 has 0 client(s)"]),
                log(&["Request to create or join room r1"]),
                r#"42["created","r1","sio1"]"#.to_string(),
            ]
            .join("\u{1e}")
        )
    );
    // The first seat waits in a held poll; the second seat's arrival answers it.
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let outs = t.seat_ws(7);
    assert_eq!(
        responses(&outs, "eio1"),
        vec![text("42[\"join\",\"r1\"]\u{1e}42[\"ready\",\"r1\"]")]
    );
    // A third asker over polling: full, the disconnect and the close in one payload.
    t.open(3, Protocol::V4, false);
    t.post("eio3", "40\u{1e}42[\"create or join\",\"r1\"]");
    let body = t.get_now("eio3");
    let Body::Text(body) = body else { panic!() };
    assert!(body.ends_with("42[\"full\",\"r1\"]\u{1e}41"), "{body:?}");
    // The close packet alone, in the next poll (a client handles events a tick after their
    // payload, so a close packet beside them would lose them).
    assert_eq!(t.get_now("eio3"), text("1"));
    assert_eq!(t.get("eio3").0, Err(HttpError::UnknownSid));
}

#[test]
fn messages_are_relayed_byte_for_byte_between_polling_and_websocket() {
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1"); // join + ready
    let m = r#"42["message",{"type":"offer","sdp":"v=0\r\né ✓"}]"#;
    // websocket → polling: queued until the GET.
    let outs = t.server.on_ws_text(7, m, t.now);
    assert!(responses(&outs, "eio1").is_empty());
    assert_eq!(t.get_now("eio1"), text(m));
    // polling → websocket, two in one POST; the sender's log lines wait for its GET.
    let outs = t.post("eio1", &format!("{m}\u{1e}42[\"message\",2]"));
    assert_eq!(
        ws_sent(&outs, 7, ""),
        vec![m.to_string(), r#"42["message",2]"#.to_string()]
    );
    assert_eq!(
        t.get_now("eio1"),
        text(&format!(
            "{}\u{1e}{}",
            r#"42["log",[">>> Message from server: ","Got message:",{"type":"offer","sdp":"v=0\r\né ✓"}]]"#,
            r#"42["log",[">>> Message from server: ","Got message:",2]]"#
        ))
    );
}

#[test]
fn v3_polling_counts_utf16_and_answers_client_pings() {
    let mut t = Polls::new();
    t.open(1, Protocol::V3, false);
    t.get_now("eio1"); // 40
    t.post("eio1", "25:42[\"create or join\",\"r1\"]1:2");
    let Body::Text(body) = t.get_now("eio1") else {
        panic!()
    };
    assert!(
        body.ends_with("1:3"),
        "the pong comes after the replies: {body:?}"
    );
    assert!(body.contains(r#"42["created","r1","eio1"]"#), "{body:?}");
    t.seat_ws(7);
    t.get_now("eio1");
    t.server.on_ws_text(7, r#"42["message","🎥"]"#, t.now);
    // 🎥 is two UTF-16 units: 2 + 13 + 2 = 17... as JavaScript counts it.
    let m = r#"42["message","🎥"]"#;
    let units: usize = m.chars().map(char::len_utf16).sum();
    assert_eq!(t.get_now("eio1"), text(&format!("{units}:{m}")));
}

#[test]
fn binary_messages_reach_polling_clients_as_base64_or_binary_payloads() {
    let header = r#"451-["message",{"_placeholder":true,"num":0}]"#;
    // v4: `b<base64>` records.
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    t.server.on_ws_text(7, header, t.now);
    t.server.on_ws_binary(7, &[1, 2, 3], t.now);
    assert_eq!(t.get_now("eio1"), text(&format!("{header}\u{1e}bAQID")));
    // ... and back: a binary record in a POST reaches the websocket as a binary frame.
    let (r, outs) = t.server.post(
        "eio1",
        format!("{header}\u{1e}bCQg=").as_bytes(),
        false,
        t.now,
    );
    assert_eq!(r, Ok(()));
    assert!(outs.contains(&Out::SendBinary(7, vec![9, 8])), "{outs:?}");

    // v3 with b64=1: `b4<base64>`; v3 without: a binary payload.
    for base64 in [true, false] {
        let mut t = Polls::new();
        t.open(1, Protocol::V3, base64);
        t.get_now("eio1");
        t.post("eio1", "25:42[\"create or join\",\"r1\"]");
        t.get_now("eio1");
        t.seat_ws(7);
        t.get_now("eio1");
        t.server.on_ws_text(7, header, t.now);
        t.server.on_ws_binary(7, &[1, 2, 3], t.now);
        let body = t.get_now("eio1");
        if base64 {
            assert_eq!(body, text(&format!("{}:{header}6:b4AQID", header.len())));
        } else {
            let mut want = vec![0];
            want.extend(header.len().to_string().bytes().map(|d| d - b'0'));
            want.push(255);
            want.extend(header.as_bytes());
            want.extend([1, 4, 255, 4, 1, 2, 3]);
            assert_eq!(body, Body::Binary(want));
        }
    }
}

#[test]
fn a_held_poll_gets_the_server_ping_and_the_pong_comes_by_post() {
    let cfg = Config::default();
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    // The first ping, at the end of the seat grace.
    let due = t.server.next_alarm().unwrap();
    let round = (cfg.ping_interval + cfg.ping_timeout) / 2;
    assert_eq!(due, T0 + cfg.seat_grace.min(round));
    let outs = t.server.on_alarm(due, |_| None, |_| None);
    assert_eq!(responses(&outs, "eio1"), vec![text("2")]);
    t.now = due + 10;
    t.post("eio1", "3");
    assert!(
        !t.server
            .room()
            .conn(&signal_core::server::Peer::Poll("eio1".into()))
            .unwrap()
            .awaiting_pong
    );
}

#[test]
fn a_poll_with_nothing_to_send_is_answered_with_a_noop_after_ping_interval() {
    let cfg = Config::default();
    let mut t = Polls::new();
    t.open(1, Protocol::V3, true);
    t.get_now("eio1");
    t.post("eio1", "25:42[\"create or join\",\"r1\"]");
    t.get_now("eio1");
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    assert_eq!(t.server.next_alarm(), Some(T0 + cfg.ping_interval));
    let outs = t
        .server
        .on_alarm(T0 + cfg.ping_interval, |_| None, |_| None);
    assert_eq!(responses(&outs, "eio1"), vec![text("1:6")]);
}

#[test]
fn a_silent_polling_peer_is_closed_and_its_partner_gets_bye() {
    let cfg = Config::default();
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    // The polling client stops polling and never answers the ping.
    let mut now = T0;
    let mut outs = Vec::new();
    for _ in 0..4 {
        // The websocket peer answers every ping 5 ms after it.
        let pinged = now;
        now = t.server.next_alarm().unwrap();
        outs = t.server.on_alarm(now, |_| Some(pinged + 5), |_| None);
        if forgot(&outs, "eio1") {
            break;
        }
    }
    assert!(forgot(&outs, "eio1"), "{outs:?}");
    assert!(now - T0 <= cfg.ping_interval + cfg.ping_timeout);
    assert_eq!(
        ws_sent(&outs, 7, ""),
        vec![r#"42["bye","r1"]"#.to_string(), "2".to_string()]
    );
    assert_eq!(t.get("eio1").0, Err(HttpError::UnknownSid));
}

#[test]
fn http_errors_as_the_reference_server() {
    let mut t = Polls::with(Config {
        max_payload: 100,
        ..Config::default()
    });
    assert_eq!(t.get("nosuchsessionAAAAAAA").0, Err(HttpError::UnknownSid));
    // Two GETs at once end the session; the first one gets the close packet.
    t.open(1, Protocol::V4, false);
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let (r, outs) = t.get("eio1");
    assert_eq!(r, Err(HttpError::BadRequest));
    assert_eq!(responses(&outs, "eio1"), vec![text("1")]);
    assert!(forgot(&outs, "eio1"));
    // A body over maxPayload: 413 and the session closed.
    t.open(2, Protocol::V4, false);
    let big = format!("42[\"message\",\"{}\"]", "x".repeat(100));
    let (r, outs) = t.server.post("eio2", big.as_bytes(), false, t.now);
    assert_eq!(r, Err(HttpError::PayloadTooLarge));
    assert!(forgot(&outs, "eio2"));
    // A payload that does not parse: `ok`, and the session closed.
    for (id, bad, binary) in [
        (3, "\u{1e}40", false),
        (4, "bnot-base64", false),
        (5, "40", true),
    ] {
        t.open(id, Protocol::V4, false);
        let sid = format!("eio{id}");
        let (r, outs) = t.server.post(&sid, bad.as_bytes(), binary, t.now);
        assert_eq!(r, Ok(()), "{bad:?}");
        assert!(forgot(&outs, &sid), "{bad:?}: {outs:?}");
        assert_eq!(t.get(&sid).0, Err(HttpError::UnknownSid));
    }
}

#[test]
fn the_client_closing_releases_its_poll_with_a_noop() {
    let mut t = Polls::new();
    t.open(1, Protocol::V4, false);
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let outs = t.post("eio1", "1");
    assert_eq!(responses(&outs, "eio1"), vec![text("6")]);
    assert!(forgot(&outs, "eio1"));
    assert_eq!(t.get("eio1").0, Err(HttpError::UnknownSid));
}

#[test]
fn a_malformed_packet_in_a_payload_closes_only_that_session() {
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    let outs = t.post("eio1", "42[\"message\",1]\u{1e}42{}\u{1e}42[\"message\",2]");
    // The first message is relayed, the bad packet closes the session, the third is never read.
    assert_eq!(
        ws_sent(&outs, 7, ""),
        vec![
            r#"42["message",1]"#.to_string(),
            r#"42["bye","r1"]"#.to_string()
        ]
    );
    assert!(forgot(&outs, "eio1"));
}

/// A seated v4 polling session 1 and a seated websocket 7, mid-upgrade: probe websocket 9 open.
fn mid_upgrade() -> Polls {
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    assert_eq!(t.server.check_probe("eio1"), Ok(()));
    let outs = t.server.open_probe("eio1", 9, t.now);
    assert!(outs.contains(&Out::Attach(
        9,
        Attachment::Probe {
            probe: "eio1".into()
        }
    )));
    t
}

#[test]
fn the_upgrade_keeps_the_seat_and_loses_or_repeats_nothing() {
    let mut t = mid_upgrade();
    // The client's pending poll comes back with a noop once the probe is answered.
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let outs = t.server.on_ws_text(9, "2probe", t.now);
    assert_eq!(ws_sent(&outs, 9, ""), vec!["3probe".to_string()]);
    assert_eq!(responses(&outs, "eio1"), vec![text("6")]);
    // In flight both ways while the client pauses polling: a POST from the client is relayed,
    // the peer's message waits in the session's queue.
    let outs = t.post("eio1", r#"42["message","up-1"]"#);
    assert_eq!(
        ws_sent(&outs, 7, ""),
        vec![r#"42["message","up-1"]"#.to_string()]
    );
    t.server.on_ws_text(7, r#"42["message","down-1"]"#, t.now);
    // `5`: the session moves to the websocket, the queue follows it in order.
    let outs = t.server.on_ws_text(9, "5", t.now);
    let attached: Vec<_> = outs
        .iter()
        .filter_map(|o| match o {
            Out::Attach(9, Attachment::Conn(c)) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(attached.len(), 1);
    assert!(attached[0].seated && attached[0].sid == "eio1" && attached[0].sio_sid == "sio1");
    assert_eq!(
        ws_sent(&outs, 9, ""),
        vec![
            r#"42["log",[">>> Message from server: ","Got message:","up-1"]]"#.to_string(),
            r#"42["message","down-1"]"#.to_string(),
        ]
    );
    assert!(forgot(&outs, "eio1"));
    // From now on the session is the websocket: polling requests and a second upgrade are
    // refused, messages go both ways over the websocket, exactly once.
    assert_eq!(t.get("eio1").0, Err(HttpError::BadRequest));
    assert_eq!(t.server.check_probe("eio1"), Err(HttpError::BadRequest));
    let m = r#"42["message","after"]"#;
    let outs = t.server.on_ws_text(7, m, t.now);
    assert_eq!(ws_sent(&outs, 9, m), vec![m.to_string()]);
    let outs = t.server.on_ws_text(9, m, t.now);
    assert_eq!(ws_sent(&outs, 7, m), vec![m.to_string()]);
    assert_eq!(t.server.room().seats_taken(), 2);
}

#[test]
fn polls_after_the_probe_are_released_soon_or_refused_by_the_switch() {
    use signal_core::server::PROBED_POLL_HOLD;
    let mut t = mid_upgrade();
    t.server.on_ws_text(9, "2probe", t.now);
    // A poll now is held a moment, then released with a noop so that the client can pause.
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    assert_eq!(t.server.next_alarm(), Some(T0 + PROBED_POLL_HOLD));
    let outs = t.server.on_alarm(T0 + PROBED_POLL_HOLD, |_| None, |_| None);
    assert_eq!(responses(&outs, "eio1"), vec![text("6")]);
    // One that the switch overtakes is refused, as any poll after the upgrade.
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let outs = t.server.on_ws_text(9, "5", t.now);
    assert!(
        outs.contains(&Out::Refuse("eio1".into(), HttpError::BadRequest)),
        "{outs:?}"
    );
    assert_eq!(t.get("eio1").0, Err(HttpError::BadRequest));
}

#[test]
fn a_probe_that_breaks_the_exchange_or_times_out_leaves_the_session_on_polling() {
    let cfg = Config::default();
    for bad in ["5", "3probe", r#"42["message",1]"#] {
        let mut t = mid_upgrade();
        let outs = t.server.on_ws_text(9, bad, t.now);
        assert_eq!(
            outs.first(),
            Some(&Out::Close(9, Cause::ProbeFailed)),
            "{bad}: {outs:?}"
        );
        assert_eq!(
            t.server.check_probe("eio1"),
            Ok(()),
            "{bad}: a new upgrade may start"
        );
        assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    }
    let mut t = mid_upgrade();
    t.server.on_ws_text(9, "2probe", t.now);
    let outs = t
        .server
        .on_alarm(T0 + cfg.upgrade_timeout, |_| None, |_| None);
    assert!(
        outs.contains(&Out::Close(9, Cause::UpgradeTimeout)),
        "{outs:?}"
    );
    // The client goes on polling (that alarm, at the end of the seat grace, was also the
    // session's first ping round: the ping waits in its queue).
    assert_eq!(cfg.upgrade_timeout, cfg.seat_grace);
    let m = r#"42["message","still polling"]"#;
    t.server.on_ws_text(7, m, t.now);
    assert_eq!(t.get_now("eio1"), text(&format!("2\u{1e}{m}")));
}

/// The records saved so far, by sid (the last of each).
fn records(outs: &[Out<u32>]) -> std::collections::BTreeMap<String, String> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Save(sid, json) => Some((sid.clone(), json.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_polling_session_survives_eviction_with_its_queue_and_seat() {
    let mut t = Polls::new();
    let mut saved = std::collections::BTreeMap::new();
    t.open(1, Protocol::V4, false);
    saved.extend(records(
        &t.post("eio1", "40\u{1e}42[\"create or join\",\"r1\"]"),
    ));
    let outs = t.seat_ws(7);
    saved.extend(records(&outs));
    // Packets wait for a client that is not polling; then the object is evicted.
    let outs = t
        .server
        .on_ws_text(7, r#"42["message","while away"]"#, t.now);
    saved.extend(records(&outs));
    let mut fresh: Server<u32> = Server::new(Config::default());
    for (sid, json) in &saved {
        assert!(fresh.restore_polling(sid, json, t.now));
    }
    fresh.restore_websocket(
        7,
        Attachment::Conn(
            t.server
                .room()
                .conn(&signal_core::server::Peer::Ws(7))
                .unwrap()
                .clone(),
        ),
        t.now,
    );
    assert_eq!(fresh.room().seats_taken(), 2);
    let Ok(Poll::Now(Body::Text(body))) = fresh.poll("eio1", t.now).0 else {
        panic!()
    };
    assert!(body.ends_with("42[\"message\",\"while away\"]"), "{body:?}");
    assert!(body.starts_with("40{\"sid\":\"sio1\"}"), "{body:?}");
    assert!(
        !fresh.restore_polling("eio2", &saved["eio1"], t.now),
        "a record under another sid"
    );
    assert!(!fresh.restore_polling("eio3", "{not json", t.now));
}

#[test]
fn an_upgrade_survives_eviction_between_probe_and_switch() {
    let mut t = Polls::new();
    let mut saved = std::collections::BTreeMap::new();
    t.open(1, Protocol::V4, false);
    saved.extend(records(
        &t.post("eio1", "40\u{1e}42[\"create or join\",\"r1\"]"),
    ));
    saved.extend(records(&t.server.open_probe("eio1", 9, t.now)));
    saved.extend(records(&t.server.on_ws_text(9, "2probe", t.now)));
    // Evicted now; the probe's attachment names the session.
    let mut fresh: Server<u32> = Server::new(Config::default());
    for (sid, json) in &saved {
        assert!(fresh.restore_polling(sid, json, t.now));
    }
    fresh.restore_websocket(
        9,
        Attachment::Probe {
            probe: "eio1".into(),
        },
        t.now,
    );
    let outs = fresh.on_ws_text(9, "5", t.now);
    assert!(forgot(&outs, "eio1"), "{outs:?}");
    let sent = ws_sent(&outs, 9, "");
    assert_eq!(
        sent.first().map(String::as_str),
        Some(r#"40{"sid":"sio1"}"#)
    );
    assert!(
        sent.iter().any(|f| f.starts_with(r#"42["created","r1""#)),
        "{sent:?}"
    );
    assert_eq!(fresh.room().seats_taken(), 1);
    assert_eq!(ROOM, "r1");
}

#[test]
fn a_pong_still_in_a_posts_body_keeps_the_session_when_the_round_comes_first() {
    let mut t = Polls::new();
    t.seat_v4(1);
    t.seat_ws(7);
    t.get_now("eio1");
    let r1 = t.server.next_alarm().unwrap();
    t.server.on_alarm(r1, |_| None, |_| None); // pings both
    let r2 = t.server.next_alarm().unwrap();
    // The client's POST arrived 10 ms after the ping; its body is still being read.
    let outs = t.server.on_alarm(
        r2,
        |_| Some(r1 + 5),
        |sid| (sid == "eio1").then_some(r1 + 10),
    );
    assert!(!forgot(&outs, "eio1"), "{outs:?}");
    // Without it, the session is closed for the missing pong.
    let mut u = Polls::new();
    u.seat_v4(1);
    u.seat_ws(7);
    u.get_now("eio1");
    let r1 = u.server.next_alarm().unwrap();
    u.server.on_alarm(r1, |_| None, |_| None);
    let r2 = u.server.next_alarm().unwrap();
    let outs = u.server.on_alarm(r2, |_| Some(r1 + 5), |_| None);
    assert!(forgot(&outs, "eio1"), "{outs:?}");
}

#[test]
fn a_poll_held_while_a_probe_waits_for_its_2probe_sets_no_alarm_that_finds_nothing_to_do() {
    // Found by the server_sequence fuzzer: the alarm asked for the poll's release, which the
    // alarm does not do while the probe is open, so it came due again at once: a wake loop.
    let cfg = Config {
        upgrade_timeout: 60_000,
        seat_grace: 0,
        ..Config::default()
    };
    // v3: no server pings to release the poll first.
    let mut t = Polls::with(cfg);
    t.open(1, Protocol::V3, true);
    t.get_now("eio1");
    assert!(!t.server.open_probe("eio1", 9, t.now).is_empty());
    assert_eq!(t.get("eio1").0, Ok(Poll::Wait));
    let now = T0 + cfg.ping_interval;
    t.server.on_alarm(now, |_| None, |_| None);
    let next = t.server.next_alarm();
    assert!(next.is_none_or(|n| n > now), "due again at {next:?}");
    // The probe's `2probe` releases the poll.
    let outs = t.server.on_ws_text(9, "2probe", now);
    assert_eq!(responses(&outs, "eio1"), vec![text("1:6")]);
}
