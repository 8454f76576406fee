//! The conformance profile: the frames the official Socket.IO protocol test suite expects, case
//! by case (run with `cargo test -p signal-core --features conformance`).
#![cfg(feature = "conformance")]

use signal_core::engineio::Protocol;
use signal_core::room::{Action, Cause, Config, Conn, Room};

fn room() -> Room<u8> {
    let cfg = Config {
        ping_interval: 300,
        ping_timeout: 200,
        max_payload: 1_000_000,
        connect_timeout: 1_000,
        ..Config::default()
    };
    Room::new(cfg)
}

fn open(r: &mut Room<u8>, h: u8) -> Vec<Action<u8>> {
    r.open(
        h,
        Conn::new(
            format!("e{h}"),
            format!("s{h}"),
            Protocol::V4,
            "conformance".into(),
            0,
        ),
    )
}

fn texts(a: &[Action<u8>]) -> Vec<String> {
    a.iter()
        .filter_map(|x| match x {
            Action::Send(_, f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn closed(a: &[Action<u8>]) -> bool {
    a.iter().any(|x| matches!(x, Action::Close(..)))
}

#[test]
fn open_packet_has_the_suite_settings() {
    let mut r = room();
    assert_eq!(
        texts(&open(&mut r, 1)),
        vec![
            r#"0{"sid":"e1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        ]
    );
}

#[test]
fn connect_replies_with_sid_then_auth() {
    let mut r = room();
    open(&mut r, 1);
    assert_eq!(
        texts(&r.on_text(&1, "40", 0)),
        vec![r#"40{"sid":"s1"}"#, r#"42["auth",{}]"#]
    );
    open(&mut r, 2);
    assert_eq!(
        texts(&r.on_text(&2, r#"40{"token":"123"}"#, 0)),
        vec![r#"40{"sid":"s2"}"#, r#"42["auth",{"token":"123"}]"#]
    );
}

#[test]
fn custom_namespace_connects_with_and_without_payload() {
    let mut r = room();
    open(&mut r, 1);
    assert_eq!(
        texts(&r.on_text(&1, "40/custom,", 0)),
        vec![
            r#"40/custom,{"sid":"s1-custom"}"#,
            r#"42/custom,["auth",{}]"#
        ]
    );
    open(&mut r, 2);
    assert_eq!(
        texts(&r.on_text(&2, r#"40/custom,{"token":"abc"}"#, 0)),
        vec![
            r#"40/custom,{"sid":"s2-custom"}"#,
            r#"42/custom,["auth",{"token":"abc"}]"#
        ]
    );
}

#[test]
fn unknown_namespace_is_refused() {
    let mut r = room();
    open(&mut r, 1);
    assert_eq!(
        texts(&r.on_text(&1, "40/random", 0)),
        vec![r#"44/random,{"message":"Invalid namespace"}"#]
    );
}

#[test]
fn invalid_handshake_and_formats_close() {
    for frame in [
        "4abc",
        "42{}",
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
    ] {
        let mut r = room();
        open(&mut r, 1);
        r.on_text(&1, "40", 0);
        assert!(closed(&r.on_text(&1, frame, 0)), "{frame}");
    }
    let mut r = room();
    open(&mut r, 1);
    assert!(closed(&r.on_text(&1, "4abc", 0)));
}

#[test]
fn no_handshake_closes_after_the_connect_timeout() {
    let mut r = room();
    open(&mut r, 1);
    // Pings every 300 ms, answered; still the socket never connects and goes at 1000 ms.
    for _ in 0..10 {
        let due = r.next_alarm().expect("an alarm while the socket is open");
        let a = r.on_alarm(due, |_| None);
        if closed(&a) {
            assert_eq!(due, 1_000);
            assert!(
                a.iter()
                    .any(|x| matches!(x, Action::Close(1, Cause::ConnectTimeout))),
                "{a:?}"
            );
            assert_eq!(r.next_alarm(), None);
            return;
        }
        assert_eq!(texts(&a), vec!["2"]);
        r.on_text(&1, "3", due + 1);
    }
    panic!("never closed");
}

#[test]
fn disconnect_from_main_namespace_keeps_the_session() {
    let mut r = room();
    open(&mut r, 1);
    r.on_text(&1, "40", 0);
    let a = r.on_text(&1, "41", 0);
    assert!(!closed(&a));
    assert_eq!(texts(&r.on_alarm(300, |_| None)), vec!["2"]);
}

#[test]
fn custom_disconnect_then_main_message_is_echoed() {
    let mut r = room();
    open(&mut r, 1);
    r.on_text(&1, "40", 0);
    r.on_text(&1, "40/custom", 0);
    assert!(texts(&r.on_text(&1, "41/custom", 0)).is_empty());
    assert_eq!(
        texts(&r.on_text(&1, r#"42["message","message to main namespace"]"#, 0)),
        vec![r#"42["message-back","message to main namespace"]"#]
    );
}

#[test]
fn message_is_echoed_as_message_back() {
    let mut r = room();
    open(&mut r, 1);
    r.on_text(&1, "40", 0);
    assert_eq!(
        texts(&r.on_text(&1, r#"42["message",1,"2",{"3":[true]}]"#, 0)),
        vec![r#"42["message-back",1,"2",{"3":[true]}]"#]
    );
}

/// Sends a binary packet and its attachments [1,2,3] and [4,5,6]; returns what the last one
/// released (the reply goes out whole once the attachments are in).
fn binary_round(r: &mut Room<u8>, header: &str) -> Vec<Action<u8>> {
    assert!(r.on_text(&1, header, 0).is_empty());
    assert!(r.on_binary(&1, &[1, 2, 3], 0).is_empty());
    r.on_binary(&1, &[4, 5, 6], 0)
}

#[test]
fn binary_message_is_echoed_with_its_attachments() {
    let mut r = room();
    open(&mut r, 1);
    r.on_text(&1, "40", 0);
    let header = r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let reply =
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(
        binary_round(&mut r, header),
        vec![
            Action::Send(1, reply.to_string()),
            Action::SendBinary(1, vec![1, 2, 3]),
            Action::SendBinary(1, vec![4, 5, 6]),
        ]
    );
}

#[test]
fn message_with_ack_is_acknowledged() {
    let mut r = room();
    open(&mut r, 1);
    r.on_text(&1, "40", 0);
    assert_eq!(
        texts(&r.on_text(&1, r#"42456["message-with-ack",1,"2",{"3":[false]}]"#, 0)),
        vec![r#"43456[1,"2",{"3":[false]}]"#]
    );
    let header = r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let reply = r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(
        binary_round(&mut r, header),
        vec![
            Action::Send(1, reply.to_string()),
            Action::SendBinary(1, vec![1, 2, 3]),
            Action::SendBinary(1, vec![4, 5, 6]),
        ]
    );
}
