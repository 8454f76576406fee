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

use super::*;

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
        let prefix = if custom { "/custom," } else { "" };
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
                    self.drop_conn(i, close_code::PROTOCOL_ERROR, "already connected", out);
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
                let reply = format!("40{prefix}{{\"sid\":{}}}", json_string(&sid));
                out.push(Action::Send(e.handle.clone(), reply));
                let auth = if packet.data.is_empty() {
                    "{}"
                } else {
                    packet.data
                };
                out.push(Action::Send(
                    e.handle.clone(),
                    format!("42{prefix}[\"auth\",{auth}]"),
                ));
            }
            _ if !connected => {
                self.drop_conn(i, close_code::PROTOCOL_ERROR, "not connected", out);
            }
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
                let event = match socketio::read_event(packet.data) {
                    Ok(ev) if !events::RESERVED.contains(&ev.name.as_str()) => ev,
                    _ => {
                        self.drop_conn(i, close_code::PROTOCOL_ERROR, "invalid event", out);
                        return true;
                    }
                };
                let binary = packet.kind == PacketType::BinaryEvent;
                let n = packet.attachments;
                let head = |kind: char| {
                    if binary {
                        format!("4{kind}{n}-{prefix}")
                    } else {
                        format!("4{kind}{prefix}")
                    }
                };
                let reply = match (event.name.as_str(), packet.ack_id) {
                    ("message", _) => {
                        let mut f = head(if binary { '5' } else { '2' });
                        f.push_str("[\"message-back\"");
                        for a in &event.args {
                            f.push(',');
                            f.push_str(a);
                        }
                        f.push(']');
                        Some(f)
                    }
                    ("message-with-ack", Some(id)) => {
                        let mut f = head(if binary { '6' } else { '3' });
                        f.push_str(&id.to_string());
                        f.push('[');
                        f.push_str(&event.args.join(","));
                        f.push(']');
                        Some(f)
                    }
                    _ => None,
                };
                let me = self.entries[i].handle.clone();
                if binary {
                    let held = reply.map(|header| HeldBinary::new(me, header, n));
                    self.hold_binary(i, n, held);
                } else if let Some(f) = reply {
                    out.push(Action::Send(me, f));
                }
            }
            PacketType::Ack | PacketType::ConnectError => {}
            PacketType::BinaryAck => {
                self.drop_conn(i, close_code::PROTOCOL_ERROR, "unexpected binary ack", out);
            }
        }
        true
    }
}
