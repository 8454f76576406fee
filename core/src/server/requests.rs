//! Long-polling requests: a session's GETs (answered now, or held) and POSTs (a payload handed
//! to the room packet by packet), with the reference server's HTTP errors.

use super::{Outs, Peer, Poll, Server};
use crate::engineio;
use crate::engineio::payload::{self, Frame};
use crate::handshake;
use crate::room::Cause;

impl<W: Clone + PartialEq> Server<W> {
    /// The session a polling request names: unknown sid → `UnknownSid`; a session that now
    /// lives on a websocket → `BadRequest` (the reference server's transport mismatch).
    pub(super) fn polling_session(&self, sid: &str) -> Result<(), handshake::Error> {
        if self.polls.get(sid).is_some_and(|s| s.closed_at.is_none()) {
            Ok(())
        } else if self.room.handle_of_sid(sid).is_some() {
            Err(handshake::Error::BadRequest)
        } else {
            Err(handshake::Error::UnknownSid)
        }
    }

    /// A GET of session `sid`.
    pub fn poll(&mut self, sid: &str, now: u64) -> (Result<Poll, handshake::Error>, Outs<W>) {
        if let Some(s) = self.polls.get_mut(sid).filter(|s| s.closed_at.is_some()) {
            // A full room's session: its last packets, then the close packet alone.
            let body = match s.polling.take() {
                Some(body) => body,
                None => {
                    let close = [Frame::Text(engineio::CLOSE.to_string())];
                    let body = payload::encode(s.polling.protocol, s.polling.base64, &close);
                    self.polls.remove(sid);
                    body
                }
            };
            return (Ok(Poll::Now(body)), Vec::new());
        }
        if let Err(e) = self.polling_session(sid) {
            return (Err(e), Vec::new());
        }
        let Some(s) = self.polls.get_mut(sid) else {
            return (Err(handshake::Error::UnknownSid), Vec::new());
        };
        if s.polling.waiting_since.is_some() {
            // Two GETs at once: the reference server ends the session.
            let outs = self.kick(sid, Cause::ConcurrentPoll);
            return (Err(handshake::Error::BadRequest), outs);
        }
        let answer = match s.polling.take() {
            Some(body) => Poll::Now(body),
            None => {
                s.polling.waiting_since = Some(now);
                Poll::Wait
            }
        };
        let mut outs = Vec::new();
        self.save_changed(&mut outs);
        (Ok(answer), outs)
    }

    /// A POST of session `sid` with `body` (`binary`: sent as `application/octet-stream`).
    /// Ok means HTTP 200 `ok`: a payload that does not parse closes the session but is still
    /// answered `ok`, as the reference server does.
    pub fn post(
        &mut self,
        sid: &str,
        body: &[u8],
        binary: bool,
        now: u64,
    ) -> (Result<(), handshake::Error>, Outs<W>) {
        if self.polls.get(sid).is_some_and(|s| s.closed_at.is_some()) {
            // A full room's session, told so; whatever its client says now (its close), it is
            // gone.
            self.polls.remove(sid);
            return (Ok(()), Vec::new());
        }
        if let Err(e) = self.polling_session(sid) {
            return (Err(e), Vec::new());
        }
        if body.len() > self.room.config().max_payload {
            let outs = self.kick(sid, Cause::TooBig);
            return (Err(handshake::Error::PayloadTooLarge), outs);
        }
        let Some(protocol) = self.polls.get(sid).map(|s| s.polling.protocol) else {
            return (Err(handshake::Error::UnknownSid), Vec::new());
        };
        let frames = match payload::decode(protocol, body, binary) {
            Ok(frames) => frames,
            Err(_) => return (Ok(()), self.kick(sid, Cause::InvalidPayload)),
        };
        let peer = Peer::Poll(sid.to_string());
        let mut outs = Vec::new();
        for frame in frames {
            if !self.polls.contains_key(sid) {
                break; // closed by an earlier packet of the payload
            }
            let (actions, text) = match &frame {
                Frame::Text(t) => (self.room.on_text(&peer, t, now), Some(t.as_str())),
                Frame::Binary(b) => (self.room.on_binary(&peer, b, now), None),
            };
            let actions = actions.into_iter().map(|a| match text {
                Some(t) => a.with_frame(t),
                None => a,
            });
            outs.extend(self.apply(actions.collect::<Vec<_>>(), None));
        }
        self.flush(&mut outs);
        self.save_changed(&mut outs);
        (Ok(()), outs)
    }

    /// A POST of session `sid` whose body the caller knows (by its `Content-Length`) to be over
    /// `maxPayload`, so it need not read it: the same outcome as [`Server::post`] with it.
    pub fn post_oversize(&mut self, sid: &str) -> (Result<(), handshake::Error>, Outs<W>) {
        if let Err(e) = self.polling_session(sid) {
            return (Err(e), Vec::new());
        }
        let outs = self.kick(sid, Cause::TooBig);
        (Err(handshake::Error::PayloadTooLarge), outs)
    }
}
