//! Heartbeats and timeouts, without timers: one alarm per room, at [`Room::next_alarm`], runs
//! [`Room::on_alarm`], which sends the v4 pings and closes sockets that stayed silent.
//!
//! The platform answers one client frame per object by itself, without waking it, and records
//! when it did for each socket ([`AutoResponse`]). In a room of v4 clients that frame is the pong,
//! so pongs never wake the room: the alarm that sends a round of pings checks the previous round's
//! pong times. While a v3 client is in the room it is the v3 ping (the v3 client's sign of life),
//! and v4 pongs reach the room as frames.

use super::{Action, Cause, Out, Room};
use crate::engineio::{self, Protocol};

/// The one client frame the platform answers on a room's behalf without waking it (a Durable
/// Object has a single auto-response pair). The platform also records when it last did so for
/// each socket, which [`Room::on_alarm`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoResponse {
    /// A v3 client's ping `2` is answered `3`: the v3 client's sign of life. Chosen while the
    /// room has a v3 client; v4 pongs then reach the room as messages.
    V3Ping,
    /// A v4 client's pong `3` is answered with a noop `6` (ignored by clients): heartbeats of an
    /// idle v4 room wake it only for the alarm that sends the pings.
    V4Pong,
}

impl AutoResponse {
    /// The (request, response) frames.
    pub fn pair(self) -> (&'static str, &'static str) {
        match self {
            AutoResponse::V3Ping => ("2", "3"),
            AutoResponse::V4Pong => ("3", "6"),
        }
    }
}

/// Whether a room alarm set for `set` (`None`: none) must be written again for `want`, the time
/// [`Room::next_alarm`] asks for. It must not fire later than wanted, so an earlier `want` is
/// written, and a room with nothing to wait for deletes it. A `want` later than `set` is left
/// alone: the alarm fires early, [`Room::on_alarm`] finds nothing due (it acts on the time, not
/// on being called), and the alarm is moved then. This keeps storage writes off the path of
/// every frame: a v3 client's silence deadline moves later with each frame it sends.
pub fn alarm_needs_write(set: Option<u64>, want: Option<u64>) -> bool {
    match (set, want) {
        (Some(set), Some(want)) => want < set,
        (None, Some(_)) | (Some(_), None) => true,
        (None, None) => false,
    }
}

impl<H: Clone + PartialEq> Room<H> {
    /// Which heartbeat frame the platform should answer for this room without waking it (see
    /// [`AutoResponse`]): the v3 clients' pings if the room has any v3 client, else the v4
    /// clients' pongs. Pongs can be left to the platform only while `pingTimeout` is at most
    /// `pingInterval`: only then do rounds that check the previous round's pongs notice a silent
    /// peer within `pingInterval + pingTimeout` (see [`Room::round`]).
    pub fn auto_response(&self) -> AutoResponse {
        // The conformance suite expects nothing back for a pong.
        if cfg!(feature = "conformance")
            || self.cfg.ping_timeout > self.cfg.ping_interval
            || self.entries.iter().any(|e| e.conn.protocol == Protocol::V3)
        {
            AutoResponse::V3Ping
        } else {
            AutoResponse::V4Pong
        }
    }

    /// Milliseconds between two rounds of v4 pings.
    ///
    /// While the platform takes the pongs (`AutoResponse::V4Pong`) the room sees a pong only at
    /// its next wake, so each round checks the previous round's pongs and then pings again: a
    /// peer whose last sign of life was its pong to round k is pinged at round k + 1 and found
    /// silent at round k + 2, two rounds later. Rounds `(pingInterval + pingTimeout) / 2` apart
    /// keep that within `pingInterval + pingTimeout`, as the reference server does, with one wake
    /// per round (a round is never shorter than `pingTimeout`, since `pingTimeout ≤ pingInterval`
    /// in this mode). Clients accept pings more often than `pingInterval`: they only wait
    /// `pingInterval + pingTimeout` for the next one.
    ///
    /// When pongs reach the room as frames, it pings every `pingInterval` and checks each pong
    /// `pingTimeout` after its ping, as the reference server does.
    pub fn round(&self) -> u64 {
        let cfg = &self.cfg;
        match self.auto_response() {
            AutoResponse::V4Pong => cfg.ping_interval.saturating_add(cfg.ping_timeout) / 2,
            AutoResponse::V3Ping => cfg.ping_interval,
        }
    }

    /// A heartbeat frame that reached the room: a v3 client's ping is answered with the same
    /// data, a v4 client's pong ends its wait; the other directions close the socket.
    pub(super) fn on_heartbeat(
        &mut self,
        i: usize,
        packet: engineio::Packet<'_>,
        out: &mut Out<H>,
    ) {
        let e = &mut self.entries[i];
        match (packet, e.conn.protocol) {
            (engineio::Packet::Ping(data), Protocol::V3) => {
                let mut pong = String::with_capacity(1 + data.len());
                pong.push_str(engineio::PONG);
                pong.push_str(data);
                out.push(Action::Send(e.handle.clone(), pong));
            }
            (engineio::Packet::Pong(_), Protocol::V4) => {
                if e.conn.awaiting_pong {
                    e.conn.awaiting_pong = false;
                    out.push(e.persist());
                }
            }
            _ => self.close(i, Cause::HeartbeatDirection, out),
        }
    }

    /// Heartbeats and timeouts, due at [`Room::next_alarm`]. `auto_answered` tells when the
    /// platform last answered the socket's [`Room::auto_response`] frame on the room's behalf:
    /// under `V3Ping` a v3 client's sign of life, under `V4Pong` a v4 client's pong. (A v4
    /// client's answered frame counts as its pong in either mode: under `V3Ping` it can only be
    /// a ping it should not have sent, which the platform answered.)
    pub fn on_alarm(&mut self, now: u64, auto_answered: impl Fn(&H) -> Option<u64>) -> Out<H> {
        let mut out = Vec::new();
        self.now = now;
        let cfg = self.cfg;
        let mut i = 0;
        while i < self.entries.len() {
            let e = &mut self.entries[i];
            let auto = auto_answered(&e.handle);
            let c = &e.conn;
            // Under `AutoResponse::V4Pong` the platform took this socket's pong (or, for a
            // long-polling session, a request that carries it is still being read): it counts
            // if it came within pingTimeout of the ping.
            let deadline = c.last_ping.saturating_add(cfg.ping_timeout);
            if c.protocol == Protocol::V4
                && c.awaiting_pong
                && auto.is_some_and(|t| t >= c.last_ping && t <= deadline)
            {
                e.conn.awaiting_pong = false;
                out.push(e.persist());
            }
            let c = &e.conn;
            let cause = match c.protocol {
                Protocol::V4 if c.awaiting_pong && now >= deadline => Some(Cause::PingTimeout),
                Protocol::V4 if connect_deadline(c, &cfg).is_some_and(|t| now >= t) => {
                    Some(Cause::ConnectTimeout)
                }
                Protocol::V3 => {
                    e.last_seen = e.last_seen.max(auto.unwrap_or(0));
                    (now >= e
                        .last_seen
                        .saturating_add(cfg.ping_interval)
                        .saturating_add(cfg.ping_timeout))
                    .then_some(Cause::PingTimeout)
                }
                _ => None,
            };
            let cause = cause.or_else(|| {
                seat_deadline(c, cfg.seat_grace)
                    .is_some_and(|t| now >= t)
                    .then_some(Cause::SeatTimeout)
            });
            match cause {
                Some(cause) => self.close(i, cause, &mut out),
                None => i += 1,
            }
        }
        // Ping every v4 socket together once one is due, so a room wakes once per round. The
        // round as of now: a socket just closed may have changed it (the last v3 client gone),
        // and a round that came due under the new one is pinged now, not left for an alarm set
        // in the past.
        let round = self.round();
        let due = self.entries.iter().any(|e| {
            e.conn.protocol == Protocol::V4
                && !e.conn.awaiting_pong
                && now
                    >= e.conn
                        .last_ping
                        .saturating_add(ping_gap(&e.conn, round, &cfg))
        });
        if due {
            for e in &mut self.entries {
                let c = &mut e.conn;
                if c.protocol == Protocol::V4
                    && !c.awaiting_pong
                    && now >= c.last_ping.saturating_add(ping_gap(c, round, &cfg) / 2)
                {
                    c.awaiting_pong = true;
                    c.last_ping = now;
                    out.push(Action::Persist(e.handle.clone(), c.clone()));
                    out.push(Action::Send(e.handle.clone(), engineio::PING.to_string()));
                }
            }
        }
        out
    }

    /// When [`Room::on_alarm`] next has work, or `None` for an empty room.
    pub fn next_alarm(&self) -> Option<u64> {
        let cfg = &self.cfg;
        let mode = self.auto_response();
        let round = self.round();
        self.entries
            .iter()
            .map(|e| {
                let c = &e.conn;
                let heartbeat = match c.protocol {
                    Protocol::V3 => e
                        .last_seen
                        .saturating_add(cfg.ping_interval)
                        .saturating_add(cfg.ping_timeout),
                    // A pong the platform answered is seen only at the next wake: the check
                    // joins the next round instead of waking the room a second time.
                    Protocol::V4 if c.awaiting_pong && mode == AutoResponse::V3Ping => {
                        c.last_ping.saturating_add(cfg.ping_timeout)
                    }
                    Protocol::V4 => c.last_ping.saturating_add(ping_gap(c, round, cfg)),
                };
                [
                    Some(heartbeat),
                    connect_deadline(c, cfg),
                    seat_deadline(c, cfg.seat_grace),
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(heartbeat)
            })
            .min()
    }
}

/// How long after its last ping (or its open) v4 socket `c` is due its next one: a `round`. Its
/// first comes at the end of its seat grace instead, when that is sooner: the room's alarm is set
/// for that moment when the socket opens (it has no seat yet), and by then the socket has nearly
/// always taken its seat, so that wake would find nothing to do and the first round would wake
/// the room again seconds later. Started then, the heartbeat spends that wake instead (the rounds
/// after it come that much sooner, so a call saves less than the whole wake; measured in
/// bench/RESULTS.md, "What a call costs"). Clients accept a ping sooner than `pingInterval` (see
/// [`Room::round`]).
fn ping_gap(c: &super::Conn, round: u64, cfg: &super::Config) -> u64 {
    let first = c.last_ping == c.opened_at && cfg.seat_grace > 0;
    if first {
        round.min(cfg.seat_grace)
    } else {
        round
    }
}

/// When a v4 socket not connected to the default namespace is closed for not connecting: the
/// connect timeout from its open, or from when it left the namespace (`41`: a page that hangs up
/// sends it just before it closes, and a deadline long past would move the alarm for nothing).
fn connect_deadline(c: &super::Conn, cfg: &super::Config) -> Option<u64> {
    (c.protocol == Protocol::V4 && !c.connected).then(|| {
        c.left_at
            .max(c.opened_at)
            .saturating_add(cfg.connect_timeout)
    })
}

/// When a socket without a seat is closed for not asking for one (`grace` 0: never).
fn seat_deadline(c: &super::Conn, grace: u64) -> Option<u64> {
    (!c.seated && grace > 0).then(|| c.free_since.max(c.opened_at).saturating_add(grace))
}
