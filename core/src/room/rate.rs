//! The per-socket rate limit: a token bucket of Socket.IO packets (heartbeats are free). A packet
//! over the limit is dropped, the first drop of a run says so in a `log` line, and a long run of
//! drops closes the socket.

use super::{Action, Cause, Config, Note, Out, Reply, Room};
use crate::socketio::{self, PacketType};

/// Tokens, in thousandths of a packet, as of the last refill.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bucket {
    milli_tokens: u64,
    refilled_at: u64,
    /// Packets dropped in a row for lack of tokens.
    dropped: u32,
}

impl Bucket {
    /// A full bucket at `now`.
    pub(super) fn full(now: u64, cfg: &Config) -> Bucket {
        Bucket {
            milli_tokens: u64::from(cfg.rate_burst) * 1000,
            refilled_at: now,
            dropped: 0,
        }
    }

    /// Takes one token, refilled for the time since the last call. A packet that gets one ends
    /// any run of drops.
    pub(super) fn take(&mut self, now: u64, cfg: &Config) -> bool {
        let elapsed = now.saturating_sub(self.refilled_at);
        self.refilled_at = self.refilled_at.max(now);
        let full = u64::from(cfg.rate_burst) * 1000;
        self.milli_tokens = full.min(
            self.milli_tokens
                .saturating_add(elapsed.saturating_mul(u64::from(cfg.rate_per_sec))),
        );
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            self.dropped = 0;
            true
        } else {
            false
        }
    }
}

impl<H: Clone + PartialEq> Room<H> {
    /// A packet over the rate limit is dropped (its binary attachments too). The first drop of a
    /// run says so in a `log` line; a long run closes the socket.
    pub(super) fn rate_limited(
        &mut self,
        i: usize,
        packet: &socketio::Packet<'_>,
        out: &mut Out<H>,
    ) {
        let bucket = &mut self.entries[i].bucket;
        bucket.dropped += 1;
        if bucket.dropped >= self.cfg.rate_kick_after {
            return self.close(i, Cause::RateLimit, out);
        }
        let first_drop = bucket.dropped == 1;
        if packet.kind == PacketType::BinaryEvent {
            self.expect_attachments(i, packet.attachments, None);
        }
        if first_drop {
            out.push(Action::Note(
                self.entries[i].handle.clone(),
                Note::RateLimited,
            ));
            self.reply(
                i,
                Reply::Say("Rate limit exceeded: events are being dropped"),
                out,
            );
        }
    }
}
