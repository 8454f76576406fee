//! Events from a connected socket: `create or join`, `bye`, and the `message` relay, which sends
//! the frame on byte for byte (as the very frame that arrived where it can) and echoes it to the
//! sender in a `log` line cut from the same frame.

use std::ops::Range;

use super::reply::{events, ECHO_HEAD, ECHO_TAIL};
use super::{Action, Out, Reply, Room, Splice};
use crate::socketio;

impl<H: Clone + PartialEq> Room<H> {
    /// An event from the text `frame`. `whole`: the frame is `42` + `data` (a relay may forward
    /// it as it is).
    pub(super) fn on_event(
        &mut self,
        i: usize,
        frame: &str,
        data: &str,
        whole: bool,
        event: &socketio::Event<'_, '_>,
        out: &mut Out<H>,
    ) {
        match event.name.as_ref() {
            events::CREATE_OR_JOIN => self.create_or_join(i, event.args.first().copied(), out),
            events::MESSAGE => self.relay(i, frame, data, whole, event.args, out),
            events::BYE => self.free_seat(i, super::Leave::Bye, out),
            _ => {}
        }
    }

    /// A seat's `message`: to the other seat, and the `Got message:` echo to the sender.
    fn relay(
        &mut self,
        i: usize,
        frame: &str,
        data: &str,
        whole: bool,
        args: &[&str],
        out: &mut Out<H>,
    ) {
        if !self.entries[i].conn.seated {
            return;
        }
        if let Some(j) = self.peer_of(i) {
            let to = self.entries[j].handle.clone();
            if whole {
                out.push(Action::Forward(to));
            } else {
                out.push(Action::Send(
                    to,
                    socketio::Head::new(socketio::PacketType::Event).frame(data),
                ));
            }
        }
        match args_span(frame, args) {
            Some(body) => out.push(Action::Splice(
                self.entries[i].handle.clone(),
                Splice {
                    head: ECHO_HEAD,
                    body,
                    tail: ECHO_TAIL,
                },
            )),
            None => self.reply(i, Reply::GotMessage(args), out),
        }
    }
}

/// Where `part` lies in `whole`, if it is a slice of it.
fn range_in(whole: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The arguments as one span of `frame`, when they stand there separated by bare commas (as a
/// `log` line joins them).
fn args_span(frame: &str, args: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = args.split_first()?;
    let first = range_in(frame, first)?;
    let mut end = first.end;
    for arg in rest {
        let next = range_in(frame, arg)?;
        if next.start != end + 1 || frame.as_bytes().get(end) != Some(&b',') {
            return None;
        }
        end = next.end;
    }
    Some(first.start..end)
}
