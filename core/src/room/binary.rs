//! Binary packets: a BINARY_EVENT header, then its attachments as binary frames. A binary
//! `message` from a seat is held until its last attachment is in, then relayed whole, re-framed
//! for the receiver's Engine.IO revision; so a sender that breaks off half-way leaves the receiver
//! untouched. Attachments of packets that go nowhere are swallowed.

use super::{Action, Cause, Out, Reply, Room};
use crate::engineio;
use crate::socketio::{self, PacketType};

use super::reply::events;

/// A binary packet on its way: the header for the receiver and the attachments so far.
#[derive(Debug)]
pub(super) struct HeldBinary<H> {
    to: H,
    header: String,
    parts: Vec<Vec<u8>>,
    bytes: usize,
}

impl<H> HeldBinary<H> {
    pub(super) fn new(to: H, header: String, attachments: usize) -> Self {
        HeldBinary {
            to,
            header,
            parts: Vec::with_capacity(attachments),
            bytes: 0,
        }
    }
}

/// The attachments a socket still owes, and where its packet goes.
#[derive(Debug)]
pub(super) struct Attachments<H> {
    /// Binary frames still owed by the last binary packet.
    pub(super) owed: usize,
    /// That packet, held until its last attachment is in, if it goes anywhere (boxed: rare, and
    /// the entry's per-frame fields stay on one cache line).
    pub(super) held: Option<Box<HeldBinary<H>>>,
}

impl<H> Default for Attachments<H> {
    fn default() -> Self {
        Attachments {
            owed: 0,
            held: None,
        }
    }
}

impl<H: Clone + PartialEq> Room<H> {
    /// A BINARY_EVENT from socket `i`: a seat's `message` is held for the other seat (with the
    /// sender's log line now), anything else swallowed.
    pub(super) fn on_binary_event(
        &mut self,
        i: usize,
        attachments: usize,
        data: &str,
        event: &socketio::Event<'_, '_>,
        out: &mut Out<H>,
    ) {
        let mut held = None;
        if event.name == events::MESSAGE && self.entries[i].conn.seated {
            if let Some(j) = self.peer_of(i) {
                let to = self.entries[j].handle.clone();
                let header = socketio::Head::new(PacketType::BinaryEvent)
                    .attachments(attachments)
                    .frame(data);
                held = Some(HeldBinary::new(to, header, attachments));
            }
            self.reply(i, Reply::GotMessage(event.args), out);
        }
        self.expect_attachments(i, attachments, held);
    }

    /// Expects `attachments` binary frames from socket `i`, for `held` (or for nobody).
    pub(super) fn expect_attachments(
        &mut self,
        i: usize,
        attachments: usize,
        held: Option<HeldBinary<H>>,
    ) {
        self.entries[i].binary = Attachments {
            owed: attachments,
            held: held.map(Box::new),
        };
    }

    /// Binary packets held for `from` now go to `to` (the same session on a new transport).
    pub(super) fn retarget_binary(&mut self, from: &H, to: &H) {
        for e in &mut self.entries {
            if let Some(held) = e.binary.held.as_mut() {
                if held.to == *from {
                    held.to = to.clone();
                }
            }
        }
    }

    /// One attachment from socket `i` (its Engine.IO framing still on).
    pub(super) fn on_attachment(&mut self, i: usize, frame: &[u8], out: &mut Out<H>) {
        let e = &self.entries[i];
        let payload = match engineio::binary_payload(e.conn.protocol, frame) {
            Some(p) if e.binary.owed > 0 => p,
            _ => return self.close(i, Cause::UnexpectedBinary, out),
        };
        let max_payload = self.cfg.max_payload;
        let binary = &mut self.entries[i].binary;
        binary.owed -= 1;
        let Some(held) = binary.held.as_mut() else {
            return; // swallowed: the packet goes nowhere
        };
        held.bytes += payload.len();
        if held.bytes > max_payload {
            return self.close(i, Cause::TooBig, out);
        }
        held.parts.push(payload.to_vec());
        if binary.owed > 0 {
            return;
        }
        let Some(held) = binary.held.take().map(|held| *held) else {
            return;
        };
        // The receiver may have gone while the attachments were coming in.
        if let Some(j) = self.index(&held.to) {
            let protocol = self.entries[j].conn.protocol;
            out.push(Action::Send(held.to.clone(), held.header));
            for part in held.parts {
                out.push(Action::SendBinary(
                    held.to.clone(),
                    engineio::encode_binary(protocol, &part),
                ));
            }
        }
    }
}
