//! Carrying out what the core decided, on the platform: sends (a relayed frame as the very JS
//! string that arrived), attachments, closes, held-request answers, records, log lines.

use super::*;

impl Object {
    /// Carries out what the core decided. `incoming` is the text frame being handled, which a
    /// forward sends as it is and a splice is cut from. A failed send means the socket is
    /// already gone; its close event follows and is handled there.
    pub(super) fn apply(&self, outs: Vec<Out<WebSocket>>, incoming: Option<&Incoming<'_>>) {
        let mut outs = outs.into_iter().peekable();
        while let Some(out) = outs.next() {
            let _ = match out {
                Out::Send(ws, frame) => ws.send_with_str(frame),
                Out::Forward(to) => match (incoming, outs.peek()) {
                    // The relay: the frame to the other seat, its echo to the sender, in one
                    // call out of the module.
                    (Some(frame), Some(Out::Splice(from, splice))) if frame.ascii => {
                        let sent = with_statics(splice.head, splice.tail, |head, tail| {
                            send_relayed(
                                raw(&to),
                                frame.js,
                                raw(from),
                                head,
                                splice.body.start as u32,
                                splice.body.end as u32,
                                tail,
                            )
                            .map_err(Error::from)
                        });
                        outs.next();
                        sent
                    }
                    (Some(frame), _) => raw(&to).send_js_string(frame.js).map_err(Error::from),
                    // Only a text frame is ever forwarded.
                    (None, _) => Ok(()),
                },
                Out::Splice(ws, splice) => match incoming {
                    // Cut and joined as JS strings: nothing copied out of wasm memory.
                    Some(frame) if frame.ascii => {
                        with_statics(splice.head, splice.tail, |head, tail| {
                            send_spliced(
                                raw(&ws),
                                head,
                                frame.js,
                                splice.body.start as u32,
                                splice.body.end as u32,
                                tail,
                            )
                            .map_err(Error::from)
                        })
                    }
                    Some(frame) => ws.send_with_str(splice.build(frame.utf8)),
                    None => Ok(()),
                },
                Out::SendBinary(ws, data) => ws.send_with_bytes(data),
                Out::Attach(ws, attachment) => persist(&ws, &attachment),
                Out::Close(ws, cause) => {
                    self.server_closed.set(true);
                    close(&ws, cause)
                }
                Out::Respond(sid, body) => body_response(&body).map(|r| self.answer_held(&sid, r)),
                Out::Refuse(sid, err) => http_error(err).map(|r| self.answer_held(&sid, r)),
                Out::Save(sid, record) => self.save_record(&sid, &record),
                Out::Forget(sid) => self.forget_record(&sid),
                Out::Note(transport, note) => {
                    let tag = self.room_tag.borrow();
                    console_log!(
                        "{}",
                        note.log_line(tag.as_deref().unwrap_or("?"), transport)
                    );
                    Ok(())
                }
            };
        }
    }
}
