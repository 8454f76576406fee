//! The contract's room table for Engine.IO v4 and v3, with the exact frames each socket
//! receives: `created`, `joined` + `join` + `ready`, `full`, departures, and the resume token.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::{close_code, Action};

#[test]
fn handshake_frames_per_protocol() {
    let mut t = RoomHarness::new();
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
        let mut t = RoomHarness::new();
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
            let mut t = RoomHarness::new();
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
        let mut t = RoomHarness::new();
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
fn bye_frees_the_seat_and_tells_the_peer_then_a_newcomer_joins() {
    for p in BOTH {
        let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V3)]);
    let a = t.room.on_close(&2);
    assert_eq!(sent(&a, 1), vec![r#"42["bye","r1"]"#.to_string()]);
    assert!(t.room.on_close(&2).is_empty());
    assert_eq!(t.room.seats_taken(), 1);
}

#[test]
fn unseated_sockets_never_cause_bye() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    assert!(sent(&t.room.on_close(&2), 1).is_empty());
    t.connect(3, Protocol::V4);
    assert!(sent(&t.text(3, r#"42["bye"]"#), 1).is_empty());
}

#[test]
fn create_or_join_for_another_room_changes_nothing() {
    let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    assert!(t.text(1, r#"42["ipaddr"]"#).is_empty());
    assert!(t.text(1, r#"42[7,"x"]"#).is_empty());
    assert!(t.room.conn(&1).is_some());
}

#[test]
fn client_disconnect_packet_frees_the_seat() {
    let mut t = RoomHarness::seated_pair();
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
fn a_peer_back_on_a_new_socket_takes_over_its_stale_seat() {
    let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::new();
    t.connect_with_token(1, "tokenBBBBBBBBBBBB");
    t.ask(1);
    t.connect_with_token(2, "tokenBBBBBBBBBBBB");
    let a = t.ask(2);
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(sent(&a, 2)[2], r#"42["created","r1","sio2"]"#);
}

#[test]
fn a_different_token_still_finds_the_room_full() {
    let mut t = RoomHarness::new();
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

/// The notes in `actions`, as the log lines they make (room tag `t`, transport `ws`).
fn notes(actions: &[Action<u32>]) -> Vec<(u32, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Note(h, n) => Some((*h, n.log_line("t", "ws"))),
            _ => None,
        })
        .collect()
}

#[test]
fn each_room_event_that_matters_makes_one_log_line_with_nothing_a_client_sent() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.connect(3, Protocol::V4);
    assert_eq!(
        notes(&t.ask(1)),
        vec![(
            1,
            r#"{"event":"seat_taken","room":"t","transport":"ws","seats":1}"#.to_string()
        )]
    );
    assert_eq!(
        notes(&t.ask(2)),
        vec![(
            2,
            r#"{"event":"seat_taken","room":"t","transport":"ws","seats":2}"#.to_string()
        )]
    );
    assert_eq!(
        notes(&t.ask(3)),
        vec![
            (3, r#"{"event":"full","room":"t","transport":"ws"}"#.to_string()),
            (3, r#"{"event":"closed","room":"t","transport":"ws","code":1000,"reason":"room full"}"#.to_string()),
        ]
    );
    // A message is no event: no line, and never its content.
    assert_eq!(
        notes(&t.text(1, r#"42["message",{"sdp":"v=0 secret"}]"#)),
        vec![]
    );
    assert_eq!(
        notes(&t.text(2, r#"42["bye","r1"]"#)),
        vec![(
            2,
            r#"{"event":"seat_freed","room":"t","transport":"ws","why":"bye"}"#.to_string()
        )]
    );
    assert_eq!(
        notes(&t.text(1, "42{}")),
        vec![
            (1, r#"{"event":"seat_freed","room":"t","transport":"ws","why":"invalid Socket.IO packet"}"#.to_string()),
            (1, r#"{"event":"closed","room":"t","transport":"ws","code":1002,"reason":"invalid Socket.IO packet"}"#.to_string()),
        ]
    );
    t.ask(2);
    assert_eq!(
        notes(&t.room.on_close(&2)),
        vec![(
            2,
            r#"{"event":"seat_freed","room":"t","transport":"ws","why":"client gone"}"#.to_string()
        )]
    );
}
