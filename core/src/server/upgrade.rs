//! The upgrade from long-polling to websocket: the probe websocket, `2probe` → `3probe`, and the
//! client's `5`, which moves the session onto the websocket with its queue.

use super::{Attachment, Out, Outs, Peer, Server};
use crate::engineio;
use crate::engineio::payload::Frame;
use crate::handshake;
use crate::room::Cause;

impl<W: Clone + PartialEq> Server<W> {
    /// The polling session an upgrade probe is for, if `ws` is one.
    pub(super) fn probe_of(&self, ws: &W) -> Option<String> {
        if self.polls.is_empty() {
            return None;
        }
        self.polls
            .iter()
            .find(|(_, s)| s.probe.as_ref() == Some(ws))
            .map(|(sid, _)| sid.clone())
    }

    /// A websocket that asks to take over polling session `sid` (`transport=websocket&sid=…`).
    /// Refused (before it is accepted) for an unknown sid, a session already on a websocket,
    /// or one already being upgraded.
    pub fn check_probe(&self, sid: &str) -> Result<(), handshake::Error> {
        self.polling_session(sid)?;
        match self.polls.get(sid) {
            Some(s) if s.probe.is_none() => Ok(()),
            _ => Err(handshake::Error::BadRequest),
        }
    }

    /// The probe websocket, accepted after [`Server::check_probe`].
    pub fn open_probe(&mut self, sid: &str, ws: W, now: u64) -> Outs<W> {
        let mut outs = Vec::new();
        let Some(s) = self.polls.get_mut(sid) else {
            outs.push(Out::Close(ws, Cause::ProbeFailed));
            return outs;
        };
        s.probe = Some(ws.clone());
        s.polling.probe_since = Some(now);
        s.polling.probed = false;
        outs.push(Out::Attach(
            ws,
            Attachment::Probe {
                probe: sid.to_string(),
            },
        ));
        self.save_changed(&mut outs);
        outs
    }

    /// A text frame on a probe websocket.
    pub(super) fn on_probe_text(&mut self, sid: &str, ws: W, frame: &str) -> Outs<W> {
        let mut outs = Vec::new();
        let Some(s) = self.polls.get_mut(sid) else {
            return outs;
        };
        match frame {
            engineio::PROBE_PING if !s.polling.probed => {
                s.polling.probed = true;
                outs.push(Out::Send(ws, engineio::PROBE_PONG.to_string()));
                // The client pauses polling now: its pending GET must come back.
                if s.polling.waiting_since.take().is_some() {
                    outs.push(Out::Respond(sid.to_string(), s.polling.take_or_noop()));
                }
            }
            "5" if s.polling.probed => {
                let peer = Peer::Poll(sid.to_string());
                let queue = std::mem::take(&mut s.polling.queue);
                let waiting = s.polling.waiting_since.is_some();
                self.polls.remove(sid);
                let actions = self.room.rebind(&peer, Peer::Ws(ws.clone()));
                outs.extend(self.apply(actions, None));
                // A GET still held now is not a real client's (it waits for its poll to end
                // before sending `5`): the session is no longer on polling, as for any GET
                // after the upgrade.
                if waiting {
                    outs.push(Out::Refuse(sid.to_string(), handshake::Error::BadRequest));
                }
                for frame in queue {
                    outs.push(match frame {
                        Frame::Text(t) => Out::Send(ws.clone(), t),
                        Frame::Binary(b) => Out::SendBinary(ws.clone(), b),
                    });
                }
                outs.push(Out::Forget(sid.to_string()));
                return outs;
            }
            _ => {
                s.probe = None;
                s.polling.probe_since = None;
                s.polling.probed = false;
                outs.push(Out::Close(ws, Cause::ProbeFailed));
            }
        }
        self.flush(&mut outs);
        self.save_changed(&mut outs);
        outs
    }
}
