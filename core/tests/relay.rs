//! The `message` relay: byte for byte to the other seat, the sender's `log` echo, and when the
//! frame that arrived is forwarded or spliced as it is.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::Action;

#[test]
fn message_goes_to_the_other_seat_byte_for_byte_and_sender_gets_log() {
    for p in BOTH {
        let mut t = RoomHarness::new();
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
    let mut t = RoomHarness::seated_pair();
    let a = t.text(1, r#"4217["message","x"]"#);
    assert_eq!(sent(&a, 2), vec![r#"42["message","x"]"#.to_string()]);
}

#[test]
fn unseated_message_reaches_nobody() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    t.connect(2, Protocol::V4);
    t.ask(1);
    let a = t.text(2, r#"42["message","sneaky"]"#);
    assert!(a.iter().all(|a| !matches!(a, Action::Send(..))), "{a:?}");
}

#[test]
fn a_plain_relay_forwards_the_frame_and_one_with_an_ack_id_is_rewritten() {
    let mut t = RoomHarness::seated_pair();
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
    let mut t = RoomHarness::seated_pair();
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
