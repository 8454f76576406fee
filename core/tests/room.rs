//! The room state machine against the contract's room table, for Engine.IO v4 and v3, with the
//! exact frames each socket receives. (The conformance profile replaces the room events.)
#![cfg(not(feature = "conformance"))]

use signal_core::engineio::Protocol;
use signal_core::room::{alarm_needs_write, close_code, Action, AutoResponse, Config, Conn, Room};

const ROOM: &str = "r1";

fn log(parts: &[&str]) -> String {
    let mut v = vec![">>> Message from server: ".to_string()];
    v.extend(parts.iter().map(|s| s.to_string()));
    format!("42{}", serde_json::json!(["log", v]))
}

fn conn(id: u32, protocol: Protocol, now: u64) -> Conn {
    Conn::new(
        format!("eio{id}"),
        format!("sio{id}"),
        protocol,
        ROOM.to_string(),
        now,
    )
}

/// Frames sent to `h`, in order.
/// `room.on_text`, with a forwarded frame shown as the `Send` of the same frame.
fn relay(room: &mut Room<u32>, h: u32, frame: &str, now: u64) -> Vec<Action<u32>> {
    let out = room.on_text(&h, frame, now);
    out.into_iter().map(|a| a.with_frame(frame)).collect()
}

fn sent(actions: &[Action<u32>], h: u32) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(to, f) if *to == h => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn closes(actions: &[Action<u32>]) -> Vec<(u32, u16)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Close(h, code, _) => Some((*h, *code)),
            _ => None,
        })
        .collect()
}

struct T {
    room: Room<u32>,
    now: u64,
}

impl T {
    fn new() -> T {
        T {
            room: Room::new(Config::default()),
            now: 1_000_000,
        }
    }

    /// Opens socket `h` and connects it to `/`; returns the frames it got.
    fn connect(&mut self, h: u32, p: Protocol) -> Vec<String> {
        let a = self.room.open(h, conn(h, p, self.now));
        let mut got = sent(&a, h);
        if p == Protocol::V4 {
            got.extend(sent(&self.room.on_text(&h, "40", self.now), h));
        }
        got
    }

    /// A text frame; a relay that forwards it shows as the `Send` of the same frame.
    fn text(&mut self, h: u32, frame: &str) -> Vec<Action<u32>> {
        relay(&mut self.room, h, frame, self.now)
    }

    fn ask(&mut self, h: u32) -> Vec<Action<u32>> {
        self.text(h, r#"42["create or join","r1"]"#)
    }

    /// A v4 socket with a resume token, connected to `/`.
    fn connect_with_token(&mut self, h: u32, token: &str) {
        self.room.open(h, conn_with_token(h, token, self.now));
        self.room.on_text(&h, "40", self.now);
    }

    /// Two v4 sockets, 1 and 2, both seated.
    fn seated_pair() -> T {
        let mut t = T::new();
        for h in [1, 2] {
            t.connect(h, Protocol::V4);
            t.ask(h);
        }
        t
    }
}

fn id(h: u32, p: Protocol) -> String {
    match p {
        Protocol::V4 => format!("sio{h}"),
        Protocol::V3 => format!("eio{h}"),
    }
}

const BOTH: [Protocol; 2] = [Protocol::V4, Protocol::V3];

#[test]
fn handshake_frames_per_protocol() {
    let mut t = T::new();
    assert_eq!(
        t.connect(1, Protocol::V4),
        vec![
            r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#.to_string(),
            r#"40{"sid":"sio1"}"#.to_string(),
        ]
    );
    assert_eq!(
        t.connect(2, Protocol::V3),
        vec![
            r#"0{"sid":"eio2","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#.to_string(),
            "40".to_string(),
        ]
    );
}

#[test]
fn first_asker_gets_two_log_lines_then_created() {
    for p in BOTH {
        let mut t = T::new();
        t.connect(1, p);
        let a = t.ask(1);
        assert_eq!(
            sent(&a, 1),
            vec![
                log(&["Room r1 has 0 client(s)"]),
                log(&["Request to create or join room r1"]),
                format!(r#"42["created","r1","{}"]"#, id(1, p)),
            ],
            "{p:?}"
        );
        assert_eq!(t.room.seats_taken(), 1);
    }
}

#[test]
fn second_asker_gets_joined_and_ready_and_first_gets_join_and_ready() {
    for p1 in BOTH {
        for p2 in BOTH {
            let mut t = T::new();
            t.connect(1, p1);
            t.connect(2, p2);
            t.ask(1);
            let a = t.ask(2);
            assert_eq!(
                sent(&a, 2),
                vec![
                    log(&["Room r1 has 1 client(s)"]),
                    log(&["Request to create or join room r1"]),
                    format!(r#"42["joined","r1","{}"]"#, id(2, p2)),
                    r#"42["ready","r1"]"#.to_string(),
                ]
            );
            assert_eq!(
                sent(&a, 1),
                vec![
                    r#"42["join","r1"]"#.to_string(),
                    r#"42["ready","r1"]"#.to_string()
                ]
            );
            assert_eq!(t.room.seats_taken(), 2);
        }
    }
}

#[test]
fn third_asker_gets_full_then_disconnect_and_close() {
    for p in BOTH {
        let mut t = T::new();
        t.connect(1, Protocol::V4);
        t.connect(2, Protocol::V4);
        t.connect(3, p);
        t.ask(1);
        t.ask(2);
        let a = t.ask(3);
        assert_eq!(
            sent(&a, 3),
            vec![
                log(&["Room r1 has 2 client(s)"]),
                log(&["Request to create or join room r1"]),
                r#"42["full","r1"]"#.to_string(),
                "41".to_string(),
            ]
        );
        assert!(sent(&a, 1).is_empty() && sent(&a, 2).is_empty());
        assert_eq!(closes(&a), vec![(3, close_code::NORMAL)]);
        assert!(t.room.conn(&3).is_none());
        assert_eq!(t.room.seats_taken(), 2);
    }
}

#[test]
fn message_goes_to_the_other_seat_byte_for_byte_and_sender_gets_log() {
    for p in BOTH {
        let mut t = T::new();
        t.connect(1, p);
        t.connect(2, Protocol::V4);
        t.connect(3, p); // unseated onlooker
        t.ask(1);
        t.ask(2);
        let payload = r#"{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host é ✓"}"#;
        let frame = format!(r#"42["message",{payload}]"#);
        let a = t.text(1, &frame);
        assert_eq!(sent(&a, 2), vec![frame.clone()]);
        assert_eq!(
            sent(&a, 1),
            vec![format!(
                r#"42["log",[">>> Message from server: ","Got message:",{payload}]]"#
            )]
        );
        assert!(sent(&a, 3).is_empty());
    }
}

#[test]
fn message_with_ack_id_is_relayed_without_it() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    let a = t.text(1, r#"4217["message","x"]"#);
    assert_eq!(sent(&a, 2), vec![r#"42["message","x"]"#.to_string()]);
}

#[test]
fn unseated_message_reaches_nobody() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    let a = t.text(2, r#"42["message","sneaky"]"#);
    assert!(a.iter().all(|a| !matches!(a, Action::Send(..))), "{a:?}");
}

#[test]
fn bye_frees_the_seat_and_tells_the_peer_then_a_newcomer_joins() {
    for p in BOTH {
        let mut t = T::new();
        t.connect(1, Protocol::V4);
        t.connect(2, p);
        t.connect(3, Protocol::V4);
        t.ask(1);
        t.ask(2);
        let a = t.text(2, r#"42["bye","r1"]"#);
        assert_eq!(sent(&a, 1), vec![r#"42["bye","r1"]"#.to_string()]);
        assert!(sent(&a, 2).is_empty());
        assert_eq!(t.room.seats_taken(), 1);
        let a = t.ask(3);
        assert_eq!(sent(&a, 3)[2], r#"42["joined","r1","sio3"]"#);
        assert_eq!(
            sent(&a, 1),
            vec![
                r#"42["join","r1"]"#.to_string(),
                r#"42["ready","r1"]"#.to_string()
            ]
        );
    }
}

#[test]
fn close_of_a_seated_socket_sends_bye_once() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    t.ask(1);
    t.ask(2);
    let a = t.room.on_close(&2);
    assert_eq!(sent(&a, 1), vec![r#"42["bye","r1"]"#.to_string()]);
    assert!(t.room.on_close(&2).is_empty());
    assert_eq!(t.room.seats_taken(), 1);
}

#[test]
fn unseated_sockets_never_cause_bye() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    assert!(sent(&t.room.on_close(&2), 1).is_empty());
    t.connect(3, Protocol::V4);
    assert!(sent(&t.text(3, r#"42["bye"]"#), 1).is_empty());
}

#[test]
fn create_or_join_for_another_room_changes_nothing() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    let a = t.text(1, r#"42["create or join","other"]"#);
    assert_eq!(
        sent(&a, 1),
        vec![log(&[
            "Ignored create or join: this connection belongs to room r1"
        ])]
    );
    assert_eq!(t.room.seats_taken(), 0);
    let a = t.text(1, r#"42["create or join"]"#);
    assert_eq!(sent(&a, 1).len(), 1);
    assert_eq!(t.room.seats_taken(), 0);
}

#[test]
fn create_or_join_twice_changes_nothing() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.ask(1);
    let a = t.ask(1);
    assert_eq!(
        sent(&a, 1),
        vec![
            log(&["Room r1 has 1 client(s)"]),
            log(&["Request to create or join room r1"]),
            log(&["You already have a seat in room r1"]),
        ]
    );
    assert_eq!(t.room.seats_taken(), 1);
}

#[test]
fn unknown_events_are_ignored() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    assert!(t.text(1, r#"42["ipaddr"]"#).is_empty());
    assert!(t.text(1, r#"42[7,"x"]"#).is_empty());
    assert!(t.room.conn(&1).is_some());
}

#[test]
fn malformed_input_closes_only_that_socket() {
    let cases = [
        "",
        "7",
        "4",
        "49",
        "42{}",
        "42[]",
        "42[\"message\"",
        "42[null]",
        "42[\"connect\"]",
        "42[\"disconnect\"]",
        "42[\"newListener\",1]",
        "4299999999999999999999[\"x\"]",
        "42/other,[\"message\",1]",
        "46-[]",
        "461-[]",
        "40",
        "5",
        "0{}",
        "2",
        "4Z",
    ];
    for (n, frame) in cases.iter().enumerate() {
        let mut t = T::new();
        t.connect(1, Protocol::V4);
        t.connect(2, Protocol::V4);
        t.ask(1);
        t.ask(2);
        let a = t.text(2, frame);
        assert_eq!(
            closes(&a),
            vec![(2, close_code::PROTOCOL_ERROR)],
            "case {n}: {frame:?} -> {a:?}"
        );
        // The peer learns only that the seat is free.
        assert_eq!(
            sent(&a, 1),
            vec![r#"42["bye","r1"]"#.to_string()],
            "case {n}"
        );
        assert!(sent(&a, 2).is_empty(), "case {n}");
        let a = t.text(1, r#"42["message","still here"]"#);
        assert_eq!(
            sent(&a, 1).len(),
            1,
            "case {n}: the survivor still gets its log line"
        );
    }
}

#[test]
fn event_before_connect_closes_the_socket() {
    let mut t = T::new();
    t.room.open(1, conn(1, Protocol::V4, t.now));
    let a = t.ask(1);
    assert_eq!(closes(&a), vec![(1, close_code::PROTOCOL_ERROR)]);
}

#[test]
fn v3_connect_for_default_namespace_closes() {
    let mut t = T::new();
    t.connect(1, Protocol::V3);
    assert_eq!(
        closes(&t.text(1, "40")),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn other_namespace_gets_connect_error_and_socket_stays() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    assert_eq!(
        sent(&t.text(1, "40/admin,"), 1),
        vec![r#"44/admin,{"message":"Invalid namespace"}"#.to_string()]
    );
    assert_eq!(
        sent(&t.text(2, "40/admin"), 2),
        vec![r#"44/admin,"Invalid namespace""#.to_string()]
    );
    assert!(t.room.conn(&1).is_some() && t.room.conn(&2).is_some());
}

#[test]
fn oversize_frame_closes_with_1009() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    let big = format!(r#"42["message","{}"]"#, "x".repeat(70_000));
    assert_eq!(closes(&t.text(1, &big)), vec![(1, close_code::TOO_BIG)]);
}

#[test]
fn oversize_without_the_frame_is_the_same_as_with_it() {
    // The glue reports a frame it knows is too big without copying it in: same outcome, and
    // the seated peer gets `bye` either way.
    let big = format!(r#"42["message","{}"]"#, "x".repeat(70_000));
    let mut a = T::seated_pair();
    let mut b = T::seated_pair();
    let with_frame = a.text(1, &big);
    let without = b.room.on_oversize(&1, b.now);
    assert_eq!(with_frame, without);
    assert_eq!(closes(&without), vec![(1, close_code::TOO_BIG)]);
    assert_eq!(sent(&without, 2), vec![r#"42["bye","r1"]"#.to_string()]);
    // An unknown socket is ignored, as for any frame.
    assert!(b.room.on_oversize(&9, b.now).is_empty());
}

#[test]
fn a_plain_relay_forwards_the_frame_and_one_with_an_ack_id_is_rewritten() {
    let mut t = T::seated_pair();
    let a = t.room.on_text(&1, r#"42["message","hi"]"#, t.now);
    assert!(a.contains(&Action::Forward(2)), "{a:?}");
    assert!(sent(&a, 2).is_empty());
    // The ack id is not the peer's business: a new frame without it.
    let a = t.room.on_text(&1, r#"4217["message","hi"]"#, t.now);
    assert!(!a.iter().any(|x| matches!(x, Action::Forward(_))), "{a:?}");
    assert_eq!(sent(&a, 2), vec![r#"42["message","hi"]"#.to_string()]);
    // The explicit default namespace too.
    let a = t.room.on_text(&1, r#"42/,["message","hi"]"#, t.now);
    assert!(!a.iter().any(|x| matches!(x, Action::Forward(_))), "{a:?}");
    assert_eq!(sent(&a, 2), vec![r#"42["message","hi"]"#.to_string()]);
}

#[test]
fn the_senders_echo_is_spliced_from_the_frame_when_its_arguments_stand_there_as_joined() {
    let mut t = T::seated_pair();
    let echo =
        |args: &str| format!(r#"42["log",[">>> Message from server: ","Got message:",{args}]]"#);
    // One argument, or several with bare commas: a splice of the frame.
    for (frame, args) in [
        (r#"42["message",{"sdp":"v=0\r\n"}]"#, r#"{"sdp":"v=0\r\n"}"#),
        (r#"42["message",1,"two",[3]]"#, r#"1,"two",[3]"#),
        (r#"42["message","é ✓"]"#, r#""é ✓""#),
    ] {
        let a = t.room.on_text(&1, frame, t.now);
        let splice = a.iter().find_map(|x| match x {
            Action::Splice(1, s) => Some(s.clone()),
            _ => None,
        });
        let splice = splice.unwrap_or_else(|| panic!("no splice for {frame}: {a:?}"));
        assert_eq!(&frame[splice.body.clone()], args);
        assert_eq!(splice.build(frame), echo(args));
    }
    // Spaced arguments: the echo joins them, as the reference server does, so it is built anew.
    let a = t.room.on_text(&1, r#"42["message", 1 , 2 ]"#, t.now);
    assert!(!a.iter().any(|x| matches!(x, Action::Splice(..))), "{a:?}");
    assert_eq!(sent(&a, 1), vec![echo("1,2")]);
}

#[test]
fn alarm_is_rewritten_only_to_fire_sooner_or_not_at_all() {
    assert!(alarm_needs_write(None, Some(5)));
    assert!(alarm_needs_write(Some(10), Some(5)));
    assert!(alarm_needs_write(Some(10), None));
    assert!(!alarm_needs_write(Some(10), Some(10)));
    assert!(!alarm_needs_write(Some(10), Some(20)));
    assert!(!alarm_needs_write(None, None));
}

#[test]
fn a_v3_frame_moves_the_deadline_later_and_an_early_alarm_is_harmless() {
    let mut t = T::new();
    t.connect(1, Protocol::V3);
    t.ask(1);
    let set = t.room.next_alarm();
    t.now += 1_000;
    t.text(1, "2");
    let want = t.room.next_alarm();
    assert!(want > set, "{want:?} {set:?}");
    // So the alarm is not rewritten for every frame; it fires at the old time instead ...
    assert!(!alarm_needs_write(set, want));
    let early = set.unwrap();
    let a = t.room.on_alarm(early, |_| None);
    // ... where nothing is due: no close, no ping; the room asks for the later time.
    assert!(closes(&a).is_empty(), "{a:?}");
    assert!(sent(&a, 1).is_empty(), "{a:?}");
    assert_eq!(t.room.next_alarm(), want);
    assert!(alarm_needs_write(None, want));
}

#[test]
fn heartbeat_in_the_wrong_direction_closes() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    assert_eq!(
        closes(&t.text(1, "2")),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
    assert_eq!(
        closes(&t.text(2, "3")),
        vec![(2, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn v3_ping_is_answered_with_pong_and_data() {
    let mut t = T::new();
    t.connect(1, Protocol::V3);
    assert_eq!(sent(&t.text(1, "2"), 1), vec!["3".to_string()]);
    assert_eq!(sent(&t.text(1, "2probe"), 1), vec!["3probe".to_string()]);
}

#[test]
fn v4_room_lets_the_platform_take_pongs_and_checks_them_at_the_next_round() {
    let cfg = Config::default();
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    assert_eq!(t.room.auto_response(), AutoResponse::V4Pong);
    assert_eq!(AutoResponse::V4Pong.pair(), ("3", "6"));
    let due = t.room.next_alarm().unwrap();
    assert_eq!(due, t.now + cfg.ping_interval);
    let a = t.room.on_alarm(due, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(sent(&a, 2), vec!["2".to_string()]);
    // The pongs never reach the room: one wake per interval checks them and pings again.
    assert_eq!(t.room.next_alarm(), Some(due + cfg.ping_interval));
    // Socket 1's pong was answered by the platform 5 ms after the ping; socket 2 stayed silent.
    let next = due + cfg.ping_interval;
    let a = t.room.on_alarm(next, |h| (*h == 1).then_some(due + 5));
    assert_eq!(closes(&a), vec![(2, close_code::NORMAL)]);
    assert_eq!(
        sent(&a, 1),
        vec![r#"42["bye","r1"]"#.to_string(), "2".to_string()]
    );
    // A pong later than pingTimeout after its ping does not count.
    let a = t.room.on_alarm(next + cfg.ping_interval, |_| {
        Some(next + cfg.ping_timeout + 1)
    });
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(t.room.next_alarm(), None);
}

#[test]
fn with_a_v3_client_in_the_room_v4_pongs_arrive_as_messages_and_move_the_alarm() {
    let cfg = Config::default();
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    assert_eq!(t.room.auto_response(), AutoResponse::V3Ping);
    assert_eq!(AutoResponse::V3Ping.pair(), ("2", "3"));
    let due = t.room.next_alarm().unwrap();
    let a = t.room.on_alarm(due, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(t.room.next_alarm(), Some(due + cfg.ping_timeout));
    t.room.on_text(&1, "3", due + 1);
    // Pong in: the v4 check is off; what is next is the v3 client's own deadline (last seen +
    // interval + timeout), before the next ping round.
    let t0 = due - cfg.ping_interval;
    assert_eq!(
        t.room.next_alarm(),
        Some(t0 + cfg.ping_interval + cfg.ping_timeout)
    );
    // Silent: closed pingTimeout after the ping.
    let a = t.room.on_alarm(due + cfg.ping_interval, |h| {
        (*h == 2).then_some(due + cfg.ping_interval)
    });
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    let a = t
        .room
        .on_alarm(due + cfg.ping_interval + cfg.ping_timeout, |h| {
            (*h == 2).then_some(due + cfg.ping_interval)
        });
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(t.room.auto_response(), AutoResponse::V3Ping);
    t.room.on_close(&2);
    assert_eq!(t.room.auto_response(), AutoResponse::V4Pong);
}

#[test]
fn v4_sockets_opened_at_different_times_are_pinged_together() {
    let cfg = Config::default();
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.now += 3_000;
    t.connect(2, Protocol::V4);
    let due = t.room.next_alarm().unwrap();
    let a = t.room.on_alarm(due, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(
        sent(&a, 2),
        vec!["2".to_string()],
        "pinged early to share the wake"
    );
    t.room.on_text(&1, "3", due + 1);
    t.room.on_text(&2, "3", due + 1);
    assert_eq!(t.room.next_alarm(), Some(due + cfg.ping_interval));
}

#[test]
fn v3_silence_times_out_but_auto_answered_pings_keep_it_alive() {
    let cfg = Config::default();
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    t.ask(1);
    t.ask(2);
    t.room.on_text(&1, "3", t.now); // keep socket 1 healthy
    let deadline = t.now + cfg.ping_interval + cfg.ping_timeout;
    // The platform answered a v3 ping 10 s ago: alive.
    let a = t
        .room
        .on_alarm(deadline, |h| (*h == 2).then_some(deadline - 10_000));
    assert!(closes(&a).is_empty(), "{a:?}");
    // Silent ever since: closed, and the peer gets bye.
    t.room.on_text(&1, "3", deadline);
    let later = deadline - 10_000 + cfg.ping_interval + cfg.ping_timeout;
    let a = t
        .room
        .on_alarm(later, |h| (*h == 2).then_some(deadline - 10_000));
    assert_eq!(closes(&a), vec![(2, close_code::NORMAL)]);
    assert_eq!(sent(&a, 1)[0], r#"42["bye","r1"]"#);
}

#[test]
fn connect_timeout_closes_sockets_that_never_connect() {
    let cfg = Config::default();
    let mut t = T::new();
    t.room.open(1, conn(1, Protocol::V4, t.now));
    assert_eq!(
        t.room.next_alarm(),
        Some(t.now + cfg.ping_interval.min(cfg.connect_timeout))
    );
    let a = t.room.on_alarm(t.now + cfg.connect_timeout, |_| None);
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(t.room.next_alarm(), None, "no alarm for an empty room");
}

#[test]
fn restored_room_keeps_seats_and_relays() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    t.ask(1);
    let a = t.ask(2);
    // Collect the persisted state, as the attachments would hold it.
    let mut stored = std::collections::HashMap::new();
    for h in [1u32, 2] {
        stored.insert(h, t.room.conn(&h).unwrap().clone());
    }
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Persist(2, c) if c.seated)));
    let mut fresh: Room<u32> = Room::new(Config::default());
    for (h, c) in stored {
        fresh.restore(h, c, 0);
    }
    assert_eq!(fresh.seats_taken(), 2);
    let a = relay(&mut fresh, 2, r#"42["message",{"sdp":"v=0"}]"#, t.now);
    assert_eq!(
        sent(&a, 1),
        vec![r#"42["message",{"sdp":"v=0"}]"#.to_string()]
    );
    let a = fresh.on_text(&3, r#"42["create or join","r1"]"#, t.now);
    assert!(a.is_empty(), "unknown handles are ignored");
}

#[test]
fn binary_message_is_relayed_whole_once_its_attachments_are_in_reframed_per_protocol() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V3);
    t.ask(1);
    t.ask(2);
    let header = r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let a = t.text(1, header);
    assert!(sent(&a, 2).is_empty(), "held until complete");
    assert!(t.room.on_binary(&1, &[1, 2, 3], t.now).is_empty());
    let a = t.room.on_binary(&1, &[7], t.now);
    assert_eq!(
        a,
        vec![
            Action::Send(2, header.to_string()),
            Action::SendBinary(2, vec![4, 1, 2, 3]),
            Action::SendBinary(2, vec![4, 7]),
        ]
    );
    // v3 → v4: the type byte is stripped.
    let header = r#"451-["message",{"_placeholder":true,"num":0}]"#;
    assert!(sent(&t.text(2, header), 1).is_empty());
    let a = t.room.on_binary(&2, &[4, 9], t.now);
    assert_eq!(
        a,
        vec![
            Action::Send(1, header.to_string()),
            Action::SendBinary(1, vec![9])
        ]
    );
}

#[test]
fn a_binary_message_broken_off_half_way_reaches_nobody() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    t.text(
        1,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    t.room.on_binary(&1, &[1], t.now);
    let a = t.text(1, r#"42["message","not a binary frame"]"#);
    assert_eq!(closes(&a), vec![(1, close_code::PROTOCOL_ERROR)]);
    assert_eq!(sent(&a, 2), vec![r#"42["bye","r1"]"#.to_string()]);
}

#[test]
fn binary_attachments_larger_than_max_payload_in_total_close() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    t.text(
        1,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    assert!(t.room.on_binary(&1, &vec![0; 40_000], t.now).is_empty());
    let a = t.room.on_binary(&1, &vec![0; 40_000], t.now);
    assert_eq!(closes(&a), vec![(1, close_code::TOO_BIG)]);
    assert_eq!(sent(&a, 2), vec![r#"42["bye","r1"]"#.to_string()]);
}

#[test]
fn binary_frame_without_a_binary_packet_closes() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    assert_eq!(
        closes(&t.room.on_binary(&1, &[1], t.now)),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn text_frame_while_attachments_are_owed_closes() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.text(1, r#"451-["other",{"_placeholder":true,"num":0}]"#);
    assert_eq!(
        closes(&t.text(1, r#"42["x"]"#)),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn client_disconnect_packet_frees_the_seat() {
    let mut t = T::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    let a = t.text(2, "41");
    assert_eq!(sent(&a, 1), vec![r#"42["bye","r1"]"#.to_string()]);
    assert!(!t.room.conn(&2).unwrap().connected);
    // It may connect again, and is a newcomer then.
    assert_eq!(
        sent(&t.text(2, "40"), 2),
        vec![r#"40{"sid":"sio2"}"#.to_string()]
    );
}

#[test]
fn rate_limit_drops_excess_events_with_one_log_line_then_refills() {
    let cfg = Config {
        rate_burst: 5,
        rate_per_sec: 10,
        rate_kick_after: 100,
        ..Config::default()
    };
    let now = 1_000_000;
    let mut room = seated_pair(cfg, now);
    // Two tokens spent on 40 and create or join; three messages pass, the rest are dropped.
    let mut relayed = 0;
    let mut logs = Vec::new();
    for _ in 0..10 {
        let a = relay(&mut room, 1, r#"42["message","x"]"#, now);
        relayed += sent(&a, 2).len();
        logs.extend(sent(&a, 1));
    }
    assert_eq!(relayed, 3);
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("Rate limit exceeded"))
            .count(),
        1
    );
    // 100 ms later one token is back.
    let a = relay(&mut room, 1, r#"42["message","y"]"#, now + 100);
    assert_eq!(sent(&a, 2), vec![r#"42["message","y"]"#.to_string()]);
    // The other peer was never limited.
    let a = relay(&mut room, 2, r#"42["message","z"]"#, now);
    assert_eq!(sent(&a, 1), vec![r#"42["message","z"]"#.to_string()]);
}

#[test]
fn sustained_abuse_closes_with_policy_violation_and_frees_the_seat() {
    let cfg = Config {
        rate_burst: 3,
        rate_per_sec: 1,
        rate_kick_after: 20,
        ..Config::default()
    };
    let now = 5_000;
    let mut room = seated_pair(cfg, now);
    let mut closed = None;
    for n in 0..100 {
        let a = relay(&mut room, 2, r#"42["message","spam"]"#, now);
        if let Some(c) = closes(&a).first() {
            assert_eq!(
                sent(&a, 1).last().map(String::as_str),
                Some(r#"42["bye","r1"]"#)
            );
            closed = Some((n, *c));
            break;
        }
    }
    let (n, c) = closed.expect("the abuser is closed");
    assert_eq!(c, (2, close_code::POLICY_VIOLATION));
    assert_eq!(n, 1 + 20 - 1, "one accepted, then 20 dropped in a row");
    assert_eq!(room.seats_taken(), 1);
}

#[test]
fn dropped_binary_event_swallows_its_attachments() {
    let cfg = Config {
        rate_burst: 2,
        rate_per_sec: 1,
        ..Config::default()
    };
    let mut room: Room<u32> = Room::new(cfg);
    room.open(1, conn(1, Protocol::V4, 0));
    room.on_text(&1, "40", 0);
    room.on_text(&1, r#"42["x"]"#, 0);
    let a = room.on_text(&1, r#"451-["message",{"_placeholder":true,"num":0}]"#, 0);
    assert!(closes(&a).is_empty());
    assert!(
        closes(&room.on_binary(&1, &[1, 2], 0)).is_empty(),
        "attachment consumed, no close"
    );
}

#[test]
fn pending_sockets_are_capped_but_seated_ones_do_not_count() {
    let cfg = Config {
        max_pending: 3,
        ..Config::default()
    };
    let mut room: Room<u32> = Room::new(cfg);
    for h in 1..=2 {
        room.open(h, conn(h, Protocol::V4, 0));
        room.on_text(&h, "40", 0);
        room.on_text(&h, r#"42["create or join","r1"]"#, 0);
    }
    for h in 3..=5 {
        assert!(room.can_accept());
        room.open(h, conn(h, Protocol::V4, 0));
    }
    assert!(!room.can_accept());
    room.on_close(&4);
    assert!(room.can_accept());
}

#[test]
fn a_socket_opened_just_before_a_ping_round_is_not_pinged_early() {
    let cfg = Config::default();
    let mut t = T::new();
    let t0 = t.now;
    t.connect(1, Protocol::V4);
    t.now = t0 + 20_000;
    t.connect(2, Protocol::V4);
    let a = t.room.on_alarm(t0 + cfg.ping_interval, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert!(
        sent(&a, 2).is_empty(),
        "opened 5 s ago: less than half an interval"
    );
    // Its own round comes at open + interval.
    t.room.on_text(&1, "3", t0 + cfg.ping_interval + 1);
    assert_eq!(t.room.next_alarm(), Some(t0 + 20_000 + cfg.ping_interval));
}

/// A room with `cfg` and sockets 1 and 2 (v4) seated at `now`.
fn seated_pair(cfg: Config, now: u64) -> Room<u32> {
    let mut room: Room<u32> = Room::new(cfg);
    for h in [1, 2] {
        room.open(h, conn(h, Protocol::V4, now));
    }
    for h in [1, 2] {
        room.on_text(&h, "40", now);
        room.on_text(&h, r#"42["create or join","r1"]"#, now);
    }
    room
}

fn conn_with_token(id: u32, token: &str, now: u64) -> Conn {
    let mut c = conn(id, Protocol::V4, now);
    c.resume = Some(token.to_string());
    c
}

#[test]
fn a_peer_back_on_a_new_socket_takes_over_its_stale_seat() {
    let mut t = T::new();
    t.connect_with_token(1, "tokenAAAAAAAAAAAA");
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    // Socket 1's network dropped without a close; the same page connects again.
    t.connect_with_token(3, "tokenAAAAAAAAAAAA");
    let a = t.ask(3);
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(
        sent(&a, 2),
        vec![
            r#"42["bye","r1"]"#.to_string(),
            r#"42["join","r1"]"#.to_string(),
            r#"42["ready","r1"]"#.to_string()
        ]
    );
    assert_eq!(
        sent(&a, 3),
        vec![
            log(&["Room r1 has 1 client(s)"]),
            log(&["Request to create or join room r1"]),
            r#"42["joined","r1","sio3"]"#.to_string(),
            r#"42["ready","r1"]"#.to_string(),
        ]
    );
    assert!(t.room.conn(&1).is_none());
    assert_eq!(t.room.seats_taken(), 2);
}

#[test]
fn a_lone_peer_back_on_a_new_socket_creates_the_room_again() {
    let mut t = T::new();
    t.connect_with_token(1, "tokenBBBBBBBBBBBB");
    t.ask(1);
    t.connect_with_token(2, "tokenBBBBBBBBBBBB");
    let a = t.ask(2);
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(sent(&a, 2)[2], r#"42["created","r1","sio2"]"#);
}

#[test]
fn a_different_token_still_finds_the_room_full() {
    let mut t = T::new();
    t.connect_with_token(1, "tokenCCCCCCCCCCCC");
    t.connect(2, Protocol::V4);
    t.ask(1);
    t.ask(2);
    t.connect_with_token(3, "tokenDDDDDDDDDDDD");
    let a = t.ask(3);
    assert_eq!(sent(&a, 3)[2], r#"42["full","r1"]"#);
    assert_eq!(closes(&a), vec![(3, close_code::NORMAL)]);
    assert!(t.room.conn(&1).is_some());
}
