//! Malformed and oversize input closes only the sender, with the contract's close code.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::close_code;

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
        let mut t = RoomHarness::seated_pair();
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
    let mut t = RoomHarness::new();
    t.room.open(1, conn(1, Protocol::V4, t.now));
    let a = t.ask(1);
    assert_eq!(closes(&a), vec![(1, close_code::PROTOCOL_ERROR)]);
}

#[test]
fn v3_connect_for_default_namespace_closes() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V3);
    assert_eq!(
        closes(&t.text(1, "40")),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn other_namespace_gets_connect_error_and_socket_stays() {
    let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    let big = format!(r#"42["message","{}"]"#, "x".repeat(70_000));
    assert_eq!(closes(&t.text(1, &big)), vec![(1, close_code::TOO_BIG)]);
}

#[test]
fn oversize_without_the_frame_is_the_same_as_with_it() {
    // The glue reports a frame it knows is too big without copying it in: same outcome, and
    // the seated peer gets `bye` either way.
    let big = format!(r#"42["message","{}"]"#, "x".repeat(70_000));
    let mut a = RoomHarness::seated_pair();
    let mut b = RoomHarness::seated_pair();
    let with_frame = a.text(1, &big);
    let without = b.room.on_oversize(&1, b.now);
    assert_eq!(with_frame, without);
    assert_eq!(closes(&without), vec![(1, close_code::TOO_BIG)]);
    assert_eq!(sent(&without, 2), vec![r#"42["bye","r1"]"#.to_string()]);
    // An unknown socket is closed, as for any frame.
    assert_eq!(
        closes(&b.room.on_oversize(&9, b.now)),
        vec![(9, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn heartbeat_in_the_wrong_direction_closes() {
    let mut t = RoomHarness::new();
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
fn text_frame_while_attachments_are_owed_closes() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    t.text(1, r#"451-["other",{"_placeholder":true,"num":0}]"#);
    assert_eq!(
        closes(&t.text(1, r#"42["x"]"#)),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}

#[test]
fn binary_frame_without_a_binary_packet_closes() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    assert_eq!(
        closes(&t.room.on_binary(&1, &[1], t.now)),
        vec![(1, close_code::PROTOCOL_ERROR)]
    );
}
