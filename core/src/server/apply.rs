//! Carrying out the room's actions: websocket ones passed on, polling ones queued; held GETs
//! answered and changed session records saved.

use super::{Attachment, Out, Outs, Peer, PollRecord, Server};
use crate::engineio;
use crate::engineio::payload::Frame;
use crate::room::{Action, Cause};

impl<W: Clone + PartialEq> Server<W> {
    /// The server ends polling session `sid` for `cause` (the peer told `bye`).
    pub(super) fn kick(&mut self, sid: &str, cause: Cause) -> Outs<W> {
        let actions = self.room.kick(&Peer::Poll(sid.to_string()), cause);
        let mut outs = self.apply(actions, None);
        self.flush(&mut outs);
        outs
    }

    /// The room's actions carried out: websocket ones passed on, polling ones queued; then
    /// held GETs answered and changed records saved.
    pub(super) fn finish(
        &mut self,
        actions: impl IntoIterator<Item = Action<Peer<W>>, IntoIter: ExactSizeIterator>,
        frame: Option<&str>,
    ) -> Outs<W> {
        let mut outs = self.apply(actions, frame);
        if !self.polls.is_empty() {
            self.flush(&mut outs);
            self.save_changed(&mut outs);
        }
        outs
    }

    pub(super) fn apply(
        &mut self,
        actions: impl IntoIterator<Item = Action<Peer<W>>, IntoIter: ExactSizeIterator>,
        frame: Option<&str>,
    ) -> Outs<W> {
        let actions = actions.into_iter();
        let mut outs = Vec::with_capacity(actions.len());
        for action in actions {
            match action {
                Action::Send(Peer::Ws(w), f) => outs.push(Out::Send(w, f)),
                Action::Forward(Peer::Ws(w)) => outs.push(Out::Forward(w)),
                Action::Splice(Peer::Ws(w), s) => outs.push(Out::Splice(w, s)),
                Action::SendBinary(Peer::Ws(w), b) => outs.push(Out::SendBinary(w, b)),
                Action::Persist(Peer::Ws(w), c) => outs.push(Out::Attach(w, Attachment::Conn(c))),
                Action::Close(Peer::Ws(w), cause) => outs.push(Out::Close(w, cause)),
                Action::Send(Peer::Poll(sid), f) => self.queue(&sid, Frame::Text(f)),
                Action::Forward(Peer::Poll(sid)) => {
                    let f = frame.unwrap_or_default().to_string();
                    self.queue(&sid, Frame::Text(f));
                }
                Action::Splice(Peer::Poll(sid), s) => {
                    let f = s.build(frame.unwrap_or_default());
                    self.queue(&sid, Frame::Text(f));
                }
                Action::SendBinary(Peer::Poll(sid), b) => self.queue(&sid, Frame::Binary(b)),
                // A polling session's state is saved with its queue, once, by `save_changed`.
                Action::Persist(Peer::Poll(_), _) => {}
                Action::Close(Peer::Poll(sid), cause) => self.end_polling(&sid, cause, &mut outs),
                Action::Note(Peer::Ws(_), note) => outs.push(Out::Note("websocket", note)),
                Action::Note(Peer::Poll(_), note) => outs.push(Out::Note("polling", note)),
            }
        }
        outs
    }

    pub(super) fn queue(&mut self, sid: &str, frame: Frame) {
        if let Some(s) = self.polls.get_mut(sid) {
            s.polling.queue.push(frame);
        }
    }

    /// A polling session the room closed: its pending GET gets what was queued and the close
    /// packet (a noop instead when the client closed it), its probe is closed, its record goes.
    pub(super) fn end_polling(&mut self, sid: &str, cause: Cause, outs: &mut Outs<W>) {
        let now = self.room.now();
        let Some(s) = self.polls.get_mut(sid) else {
            return;
        };
        if let Some(ws) = s.probe.take() {
            outs.push(Out::Close(ws, Cause::ProbeFailed));
        }
        let waiting = s.polling.waiting_since.take().is_some();
        if cause == Cause::RoomFull {
            // `full` and `41` must reach the client, or it would reconnect in a loop. As the
            // reference server drains its buffer before such a close, they go first, alone (a
            // socket.io client handles a payload's events a tick after its packets: a close
            // packet in the same payload would get there first and lose them), and the close
            // packet comes with the poll after.
            if waiting {
                outs.push(Out::Respond(sid.to_string(), s.polling.take_or_noop()));
            }
            s.closed_at = Some(now);
        } else {
            if cause == Cause::ClientClosed {
                // The client knows: its pending GET only needs to come back.
                s.polling.queue.clear();
                s.polling
                    .queue
                    .push(Frame::Text(engineio::NOOP.to_string()));
            } else {
                s.polling
                    .queue
                    .push(Frame::Text(engineio::CLOSE.to_string()));
            }
            if waiting {
                outs.push(Out::Respond(sid.to_string(), s.polling.take_or_noop()));
            }
            // Any close but a full room's is at once, as the reference server's: the next
            // request finds no session (HTTP 400).
            self.polls.remove(sid);
        }
        outs.push(Out::Forget(sid.to_string()));
    }

    /// Held GETs with something to send are answered.
    pub(super) fn flush(&mut self, outs: &mut Outs<W>) {
        for (sid, s) in &mut self.polls {
            if s.polling.waiting_since.is_some() && !s.polling.queue.is_empty() {
                s.polling.waiting_since = None;
                if let Some(body) = s.polling.take() {
                    outs.push(Out::Respond(sid.clone(), body));
                }
            }
        }
    }

    /// Saves the record of every polling session that changed since it was last saved.
    ///
    /// Only a seated session is stored: one without a seat is closed by the seat grace before the
    /// object could be evicted (it needs about 10 s idle), so storing it would only cost a write
    /// per handshake, which a flood of handshakes would turn into a bill. A session that loses
    /// its seat has its record deleted.
    pub(super) fn save_changed(&mut self, outs: &mut Outs<W>) {
        for (sid, s) in &mut self.polls {
            let Some(conn) = self.room.conn(&Peer::Poll(sid.clone())) else {
                continue;
            };
            if !conn.seated {
                if s.saved.take().is_some() {
                    outs.push(Out::Forget(sid.clone()));
                }
                continue;
            }
            let record = PollRecord {
                conn: conn.clone(),
                polling: s.polling.clone(),
            };
            let Ok(json) = serde_json::to_string(&record) else {
                continue;
            };
            if s.saved.as_deref() != Some(json.as_str()) {
                s.saved = Some(json.clone());
                outs.push(Out::Save(sid.clone(), json));
            }
        }
    }
}
