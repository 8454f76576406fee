//! The per-socket rate limit and the cap on sockets waiting for a seat.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::{close_code, Action, Config, Room};

#[test]
fn rate_limit_drops_excess_events_with_one_log_line_then_refills() {
    let cfg = Config {
        rate_burst: 5,
        rate_per_sec: 10,
        rate_kick_after: 100,
        ..Config::default()
    };
    let now = 1_000_000;
    let mut t = RoomHarness::seated_pair_with(cfg, now);
    let room = &mut t.room;
    // Two tokens spent on 40 and create or join; three messages pass, the rest are dropped.
    let mut relayed = 0;
    let mut logs = Vec::new();
    for _ in 0..10 {
        let a = relay(room, 1, r#"42["message","x"]"#, now);
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
    let a = relay(room, 1, r#"42["message","y"]"#, now + 100);
    assert_eq!(sent(&a, 2), vec![r#"42["message","y"]"#.to_string()]);
    // The other peer was never limited.
    let a = relay(room, 2, r#"42["message","z"]"#, now);
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
    let mut t = RoomHarness::seated_pair_with(cfg, now);
    let room = &mut t.room;
    let mut closed = None;
    for n in 0..100 {
        let a = relay(room, 2, r#"42["message","spam"]"#, now);
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
fn the_first_drop_of_a_run_makes_one_log_line() {
    let cfg = Config {
        rate_burst: 3,
        rate_per_sec: 1,
        rate_kick_after: 100,
        ..Config::default()
    };
    let mut t = RoomHarness::seated_pair_with(cfg, 0);
    let mut lines = Vec::new();
    for _ in 0..10 {
        for a in t.text(1, r#"42["message","x"]"#) {
            if let Action::Note(h, n) = a {
                lines.push((h, n.log_line("t", "ws")));
            }
        }
    }
    assert_eq!(
        lines,
        vec![(
            1,
            r#"{"event":"rate_limited","room":"t","transport":"ws"}"#.to_string()
        )]
    );
}
