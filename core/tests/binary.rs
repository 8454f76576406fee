//! Binary `message`s held until their attachments are in, and re-framed per protocol.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::{close_code, Action, Config, Room};

#[test]
fn binary_message_is_relayed_whole_once_its_attachments_are_in_reframed_per_protocol() {
    let mut t = RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V3)]);
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
    let mut t = RoomHarness::seated_pair();
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
    let mut t = RoomHarness::seated_pair();
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
