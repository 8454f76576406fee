//! Heartbeats and timeouts on one alarm, the platform's auto-response, and a room rebuilt from
//! its sockets' stored state after hibernation.
#![cfg(not(feature = "conformance"))]

mod harness;

use harness::*;
use signal_core::engineio::Protocol;
use signal_core::room::{alarm_needs_write, close_code, Action, AutoResponse, Cause, Config, Room};

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
    let mut t = RoomHarness::new();
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
fn the_wake_a_new_sockets_seat_grace_sets_is_the_first_ping_round_not_a_wake_for_nothing() {
    let cfg = Config::default();
    let mut t = RoomHarness::new();
    let t0 = t.now;
    // Its open sets the alarm for the end of its seat grace (it has no seat yet).
    t.connect(1, Protocol::V4);
    let set = t.room.next_alarm();
    assert_eq!(set, Some(t0 + cfg.seat_grace));
    t.ask(1);
    t.now += 40;
    t.connect(2, Protocol::V4);
    t.ask(2);
    // Both seated at once: the alarm stays where it is, and is not a wake for nothing ...
    assert_eq!(t.room.next_alarm(), set);
    assert!(!alarm_needs_write(set, t.room.next_alarm()));
    // ... but the first ping round, for both sockets; the next is a round later.
    let a = t.room.on_alarm(set.unwrap(), |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(sent(&a, 2), vec!["2".to_string()]);
    assert_eq!(t.room.next_alarm(), Some(set.unwrap() + t.room.round()));
}

#[test]
fn a_page_that_hangs_up_moves_the_alarm_once_not_again_when_it_leaves_the_namespace() {
    let cfg = Config::default();
    let mut t = RoomHarness::seated_pair();
    t.now += 600_000;
    t.room.on_alarm(t.now, |_| Some(t.now));
    let set = t.room.next_alarm();
    // `bye`: its seat grace starts, sooner than the next round, so the alarm moves ...
    t.text(1, r#"42["bye","r1"]"#);
    let after_bye = t.room.next_alarm();
    assert_eq!(after_bye, Some(t.now + cfg.seat_grace));
    assert!(alarm_needs_write(set, after_bye));
    // ... and `41` (the page's socket.io disconnect): its connect timeout counts from now,
    // after the seat grace, not from its open ten minutes ago: no second write.
    t.text(1, "41");
    assert_eq!(t.room.next_alarm(), after_bye);
    // Staying open, it is closed at the end of its seat grace.
    let a = t.room.on_alarm(t.now + cfg.seat_grace, |_| Some(t.now));
    assert!(a.contains(&Action::Close(1, Cause::SeatTimeout)), "{a:?}");
}

#[test]
fn a_socket_that_leaves_the_namespace_has_the_connect_timeout_from_then() {
    let cfg = Config {
        seat_grace: 0,
        ..Config::default()
    };
    let mut t = RoomHarness::with(cfg);
    t.connect(1, Protocol::V4);
    t.now += 600_000;
    t.text(1, "41");
    let left = t.now;
    let a = t
        .room
        .on_alarm(left + cfg.connect_timeout - 1, |_| Some(left));
    assert!(
        !a.contains(&Action::Close(1, Cause::ConnectTimeout)),
        "{a:?}"
    );
    // Not connected again by then, it is closed.
    let a = t.room.on_alarm(left + cfg.connect_timeout, |_| Some(left));
    assert!(
        a.contains(&Action::Close(1, Cause::ConnectTimeout)),
        "{a:?}"
    );
}

#[test]
fn v3_ping_is_answered_with_pong_and_data() {
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V3);
    assert_eq!(sent(&t.text(1, "2"), 1), vec!["3".to_string()]);
    assert_eq!(sent(&t.text(1, "2probe"), 1), vec!["3probe".to_string()]);
}

#[test]
fn v4_room_lets_the_platform_take_pongs_and_checks_them_at_the_next_round() {
    let cfg = Config::default();
    let round = (cfg.ping_interval + cfg.ping_timeout) / 2;
    let mut t = RoomHarness::seated_pair();
    assert_eq!(t.room.auto_response(), AutoResponse::V4Pong);
    assert_eq!(AutoResponse::V4Pong.pair(), ("3", "6"));
    assert_eq!(t.room.round(), round);
    // The first ping comes at the end of the seat grace (the wake the sockets' open set).
    let due = t.room.next_alarm().unwrap();
    assert_eq!(due, t.now + cfg.seat_grace.min(round));
    let a = t.room.on_alarm(due, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(sent(&a, 2), vec!["2".to_string()]);
    // The pongs never reach the room: one wake per round checks them and pings again.
    assert_eq!(t.room.next_alarm(), Some(due + round));
    // Socket 1's pong was answered by the platform 5 ms after the ping; socket 2 stayed silent.
    let next = due + round;
    let a = t.room.on_alarm(next, |h| (*h == 1).then_some(due + 5));
    assert_eq!(closes(&a), vec![(2, close_code::NORMAL)]);
    assert_eq!(
        sent(&a, 1),
        vec![r#"42["bye","r1"]"#.to_string(), "2".to_string()]
    );
    // A pong later than pingTimeout after its ping does not count.
    let a = t
        .room
        .on_alarm(next + round, |_| Some(next + cfg.ping_timeout + 1));
    assert_eq!(closes(&a), vec![(1, close_code::NORMAL)]);
    assert_eq!(t.room.next_alarm(), None);
}

#[test]
fn a_silent_v4_peer_is_closed_within_ping_interval_plus_timeout_of_its_last_pong() {
    // Every moment at which the peer may fall silent within a round, for several settings with
    // pingTimeout <= pingInterval (the platform takes the pongs): the close comes no later than
    // pingInterval + pingTimeout after its last pong, and one wake per round does it.
    for (pi, pt) in [
        (25_000, 20_000),
        (25_000, 25_000),
        (1_500, 1_000),
        (300, 200),
        (60_000, 5_000),
    ] {
        let cfg = Config {
            ping_interval: pi,
            ping_timeout: pt,
            ..Config::default()
        };
        for silent_after in [0, 1, pt / 2, pt - 1] {
            let mut t = RoomHarness::seated_pair_with(cfg, 1_000_000);
            assert_eq!(t.room.auto_response(), AutoResponse::V4Pong);
            // Socket 2 answers every ping 5 ms after it; socket 1 answers the first ping
            // `silent_after` ms after it (its last sign of life), then never again.
            let mut first_ping = None;
            let mut wakes = 0;
            let last_pong;
            loop {
                let due = t.room.next_alarm().unwrap();
                wakes += 1;
                let pong1 = first_ping.map(|p: u64| p + silent_after);
                let a = t.room.on_alarm(due, |h| match h {
                    1 => pong1.filter(|&p| p <= due),
                    _ => Some(due.saturating_sub(1)),
                });
                if let Some(&(1, code)) = closes(&a).first() {
                    assert_eq!(code, close_code::NORMAL);
                    last_pong = pong1.unwrap();
                    assert!(
                        due - last_pong <= pi + pt,
                        "pi {pi} pt {pt}: closed {} ms after the last pong",
                        due - last_pong
                    );
                    break;
                }
                if first_ping.is_none() && sent(&a, 1) == vec!["2".to_string()] {
                    first_ping = Some(due);
                }
                assert!(wakes < 10, "never closed");
            }
            assert!(
                wakes <= 3,
                "pi {pi} pt {pt} silent_after {silent_after}: {wakes} wakes"
            );
        }
    }
}

#[test]
fn with_ping_timeout_longer_than_the_interval_pongs_reach_the_room_and_are_checked_exactly() {
    let cfg = Config {
        ping_interval: 1_000,
        ping_timeout: 3_000,
        ..Config::default()
    };
    let mut t = RoomHarness::seated_pair_with(cfg, 1_000_000);
    // Rounds that check the previous round's pongs could not meet pingInterval + pingTimeout.
    assert_eq!(t.room.auto_response(), AutoResponse::V3Ping);
    let due = t.room.next_alarm().unwrap();
    assert_eq!(due, t.now + 1_000);
    t.room.on_alarm(due, |_| None);
    assert_eq!(t.room.next_alarm(), Some(due + 3_000));
    t.room.on_text(&1, "3", due + 10);
    let a = t.room.on_alarm(due + 3_000, |_| None);
    assert_eq!(closes(&a), vec![(2, close_code::NORMAL)]);
}

#[test]
fn with_a_v3_client_in_the_room_v4_pongs_arrive_as_messages_and_move_the_alarm() {
    let cfg = Config::default();
    let mut t = RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V3)]);
    assert_eq!(t.room.auto_response(), AutoResponse::V3Ping);
    assert_eq!(AutoResponse::V3Ping.pair(), ("2", "3"));
    assert_eq!(t.room.round(), cfg.ping_interval);
    let t0 = t.now;
    let due = t.room.next_alarm().unwrap();
    // The v4 socket's first ping, at the end of its seat grace.
    assert_eq!(due, t0 + cfg.seat_grace);
    let a = t.room.on_alarm(due, |_| None);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert_eq!(t.room.next_alarm(), Some(due + cfg.ping_timeout));
    t.room.on_text(&1, "3", due + 1);
    // Pong in: the v4 check is off; what is next is the next ping round, before the v3
    // client's own deadline (last seen + interval + timeout).
    assert_eq!(t.room.next_alarm(), Some(due + cfg.ping_interval));
    assert!(due + cfg.ping_interval < t0 + cfg.ping_interval + cfg.ping_timeout);
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
    let mut t = RoomHarness::new();
    t.connect(1, Protocol::V4);
    t.ask(1);
    t.now += 3_000;
    t.connect(2, Protocol::V4);
    t.ask(2);
    let round = t.room.round();
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
    assert_eq!(t.room.next_alarm(), Some(due + round));
}

#[test]
fn v3_silence_times_out_but_auto_answered_pings_keep_it_alive() {
    let cfg = Config::default();
    let mut t = RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V3)]);
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
    // Without a seat grace (the conformance profile), the connect timeout is what closes them.
    let cfg = Config {
        seat_grace: 0,
        ..Config::default()
    };
    let mut t = RoomHarness::with(cfg);
    t.room.open(1, conn(1, Protocol::V4, t.now));
    let round = t.room.round();
    assert_eq!(
        t.room.next_alarm(),
        Some(t.now + round.min(cfg.connect_timeout))
    );
    let a = t.room.on_alarm(t.now + cfg.connect_timeout, |_| None);
    assert_eq!(a.last(), Some(&Action::Close(1, Cause::ConnectTimeout)));
    assert_eq!(t.room.next_alarm(), None, "no alarm for an empty room");
}

#[test]
fn a_socket_without_a_seat_is_closed_after_the_seat_grace() {
    let cfg = Config::default();
    let mut t = RoomHarness::new();
    let t0 = t.now;
    t.connect(1, Protocol::V4); // connected, never asks
    t.open(2, Protocol::V3); // v3: connected unprompted, never asks
    t.room.open(3, conn(3, Protocol::V4, t0)); // never even connects
    t.connect(4, Protocol::V4);
    t.ask(4); // seated: never closed for this
    assert_eq!(t.room.next_alarm(), Some(t0 + cfg.seat_grace));
    let a = t
        .room
        .on_alarm(t0 + cfg.seat_grace - 1, |_| Some(t0 + cfg.seat_grace - 1));
    assert!(closes(&a).is_empty(), "{a:?}");
    let a = t
        .room
        .on_alarm(t0 + cfg.seat_grace, |_| Some(t0 + cfg.seat_grace));
    for h in [1, 2, 3] {
        assert!(
            a.contains(&Action::Close(h, Cause::SeatTimeout)),
            "{h}: {a:?}"
        );
    }
    assert_eq!(closes(&a).len(), 3);
    assert!(
        sent(&a, 4).iter().all(|f| f == "2"),
        "the seat is not told: {a:?}"
    );
    assert!(t.room.conn(&4).is_some());
}

#[test]
fn the_seat_grace_counts_from_losing_the_seat() {
    let cfg = Config::default();
    let mut t = RoomHarness::seated_pair();
    let t0 = t.now;
    t.now = t0 + 60_000;
    t.room.on_alarm(t.now, |_| Some(t.now)); // heartbeats, nothing else
                                             // Socket 2 says bye and stays: its grace starts now, not at its open.
    t.text(2, r#"42["bye","r1"]"#);
    assert!(!t.room.conn(&2).unwrap().seated);
    let a = t.room.on_alarm(t.now + cfg.seat_grace - 1, |_| Some(t.now));
    assert!(!a.contains(&Action::Close(2, Cause::SeatTimeout)), "{a:?}");
    let a = t.room.on_alarm(t.now + cfg.seat_grace, |_| Some(t.now));
    assert!(a.contains(&Action::Close(2, Cause::SeatTimeout)), "{a:?}");
    assert!(t.room.conn(&1).is_some());
}

#[test]
fn a_socket_opened_just_before_a_ping_round_is_not_pinged_early() {
    let cfg = Config::default();
    let round = RoomHarness::new().room.round();
    // A socket's first ping is due at the end of its seat grace.
    let first = cfg.seat_grace.min(round);
    let t1 = RoomHarness::new().now + first;
    // Socket 1 through its first ping; socket 2 opened at `opened`; socket 1's next round.
    let round_after_opening = |opened: u64| {
        let mut t = RoomHarness::new();
        t.connect(1, Protocol::V4);
        t.ask(1);
        assert_eq!(t.room.next_alarm(), Some(t1));
        t.room.on_alarm(t1, |_| None);
        t.room.on_text(&1, "3", t1 + 1);
        t.now = opened;
        t.connect(2, Protocol::V4);
        t.ask(2);
        let a = t.room.on_alarm(t1 + round, |_| None);
        (t, a)
    };
    // Socket 2 opens less than half its first gap before socket 1's next round.
    let (t, a) = round_after_opening(t1 + round - first / 2 + 1);
    assert_eq!(sent(&a, 1), vec!["2".to_string()]);
    assert!(
        sent(&a, 2).is_empty(),
        "opened less than half its first gap ago"
    );
    // Its own first ping comes at its seat grace.
    assert_eq!(t.room.next_alarm(), Some(t.now + first));
    // Had it opened more than that before the round, it would have been pinged with it.
    let (t, a) = round_after_opening(t1 + round - first / 2);
    assert_eq!(sent(&a, 2), vec!["2".to_string()]);
    assert_eq!(t.room.next_alarm(), Some(t1 + 2 * round));
}

#[test]
fn restored_room_keeps_seats_and_relays() {
    let mut t = RoomHarness::new();
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
    // A socket the room does not know is closed, whatever it sends.
    let a = fresh.on_text(&3, r#"42["create or join","r1"]"#, t.now);
    assert_eq!(a, vec![Action::Close(3, Cause::UnknownSession)]);
    assert_eq!(
        fresh.on_binary(&3, &[1], t.now),
        vec![Action::Close(3, Cause::UnknownSession)]
    );
}

#[test]
fn when_the_last_v3_client_times_out_the_v4_round_due_under_the_new_spacing_is_pinged_at_once() {
    // With the v3 client in, rounds are pingInterval apart; once it is gone, the platform takes
    // the pongs and rounds are (pingInterval + pingTimeout) / 2. Found by the churn soak: the
    // alarm that closed the v3 client asked for a round already past.
    let cfg = Config::default();
    let mut t = RoomHarness::seated(&[(1, Protocol::V4), (2, Protocol::V3)]);
    // Socket 1's first ping, at its seat grace; the rounds after it are what this is about.
    let first = t.now + cfg.seat_grace;
    assert_eq!(t.room.next_alarm(), Some(first));
    t.room.on_alarm(first, |_| None);
    t.room.on_text(&1, "3", first + 5);
    let t0 = first;
    // Socket 2 (v3) pings once, 3 s in, then falls silent: its deadline is 48 s in.
    t.now = t0 + 3_000;
    t.text(2, "2");
    let due = t.room.next_alarm().unwrap();
    assert_eq!(due, t0 + cfg.ping_interval);
    t.room.on_alarm(due, |_| None); // pings socket 1
    t.room.on_text(&1, "3", due + 5);
    // At its deadline socket 2 is closed, and socket 1's round under the new spacing
    // (due + 22.5 s) is already past then.
    let deadline = t0 + 3_000 + cfg.ping_interval + cfg.ping_timeout;
    assert_eq!(t.room.next_alarm(), Some(deadline));
    let a = t.room.on_alarm(deadline, |_| None);
    assert!(a.contains(&Action::Close(2, Cause::PingTimeout)), "{a:?}");
    assert_eq!(t.room.auto_response(), AutoResponse::V4Pong);
    assert!(deadline >= due + t.room.round());
    assert!(
        sent(&a, 1).contains(&"2".to_string()),
        "pinged in the same alarm: {a:?}"
    );
    let next = t.room.next_alarm();
    assert!(next.is_some_and(|n| n > deadline), "{next:?}");
}
