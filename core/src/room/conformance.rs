//! The conformance profile (cargo feature `conformance`): the server the official Socket.IO
//! protocol test suite expects to find on the other end. It is never part of a production build.
//!
//! What the suite expects of its server under test, beyond the protocol itself:
//! - the namespaces `/` and `/custom`;
//! - on connect, the connect reply, then `auth` emitted back with the connect payload (`{}` if none);
//! - `message` emitted back as `message-back` with the same arguments (binary attachments too);
//! - `message-with-ack` acknowledged with its own arguments.
//!
//! The codelab's room events do not exist in this profile.

use super::reply::events;
use super::{Action, Cause, Out, Room};
use crate::engineio::Protocol;
use crate::socketio::{self, Head, PacketType};

const CUSTOM_NS: &str = "/custom";

impl<H: Clone + PartialEq> Room<H> {
    /// Handles `packet` the way the suite expects. Returns `false` for packets left to the
    /// ordinary code path (namespaces other than `/` and `/custom`, v3 connects to `/`).
    pub(super) fn conformance(
        &mut self,
        i: usize,
        packet: &socketio::Packet<'_>,
        out: &mut Out<H>,
    ) -> bool {
        let custom = packet.ns == CUSTOM_NS;
        if packet.ns != "/" && !custom {
            return false;
        }
        let ns = packet.ns;
        let e = &self.entries[i];
        let connected = if custom {
            e.conn.custom_ns
        } else {
            e.conn.connected
        };
        match packet.kind {
            PacketType::Connect => {
                if e.conn.protocol == Protocol::V3 && !custom {
                    return false;
                }
                if connected {
                    self.close(i, Cause::AlreadyConnected, out);
                    return true;
                }
                let e = &mut self.entries[i];
                let sid = if custom {
                    e.conn.custom_ns = true;
                    format!("{}-custom", e.conn.sio_sid)
                } else {
                    e.conn.connected = true;
                    e.conn.sio_sid.clone()
                };
                out.push(e.persist());
                out.push(Action::Send(
                    e.handle.clone(),
                    socketio::connect_frame(ns, Some(&sid)),
                ));
                let auth = if packet.data.is_empty() {
                    "{}"
                } else {
                    packet.data
                };
                out.push(Action::Send(
                    e.handle.clone(),
                    socketio::event_frame_in(ns, "auth", &[auth]),
                ));
            }
            _ if !connected => self.close(i, Cause::NotConnected, out),
            PacketType::Disconnect => {
                let e = &mut self.entries[i];
                if custom {
                    e.conn.custom_ns = false;
                } else {
                    e.conn.connected = false;
                }
                out.push(e.persist());
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let event = match packet.event() {
                    Ok(ev) if !events::RESERVED.contains(&ev.name.as_ref()) => ev,
                    _ => {
                        self.close(i, Cause::InvalidEvent, out);
                        return true;
                    }
                };
                let binary = packet.kind == PacketType::BinaryEvent;
                let n = packet.attachments;
                let head = |plain: PacketType, with_binary: PacketType| {
                    if binary {
                        Head::new(with_binary).attachments(n).ns(ns)
                    } else {
                        Head::new(plain).ns(ns)
                    }
                };
                let reply = match (event.name.as_ref(), packet.ack_id) {
                    ("message", _) => {
                        let mut items = vec!["\"message-back\""];
                        items.extend_from_slice(event.args);
                        Some(head(PacketType::Event, PacketType::BinaryEvent).array(&items))
                    }
                    ("message-with-ack", Some(id)) => Some(
                        head(PacketType::Ack, PacketType::BinaryAck)
                            .ack_id(Some(id))
                            .array(event.args),
                    ),
                    _ => None,
                };
                let me = self.entries[i].handle.clone();
                if binary {
                    let held = reply.map(|header| super::binary::HeldBinary::new(me, header, n));
                    self.expect_attachments(i, n, held);
                } else if let Some(f) = reply {
                    out.push(Action::Send(me, f));
                }
            }
            PacketType::Ack | PacketType::ConnectError => {}
            PacketType::BinaryAck => self.close(i, Cause::BinaryAck, out),
        }
        true
    }
}
