//! The seats: the contract's room table (`create or join` → `created`, `joined` + `join` +
//! `ready`, `full`), departures with `bye`, and the resume token's take-over of a stale seat.

use super::{Action, Cause, Leave, Note, Out, Reply, Room, MAX_SEATS};

impl<H: Clone + PartialEq> Room<H> {
    /// `create or join` from socket `i`, with its first argument (raw JSON), if any.
    pub(super) fn create_or_join(&mut self, i: usize, arg: Option<&str>, out: &mut Out<H>) {
        let room = self.entries[i].conn.room.clone();
        let asked: Option<String> = arg.and_then(|a| serde_json::from_str(a).ok());
        if asked.as_deref() != Some(room.as_str()) {
            let line = format!("Ignored create or join: this connection belongs to room {room}");
            return self.reply(i, Reply::Say(&line), out);
        }
        let i = self.take_over_stale_seat(i, out);
        let taken = self.seats_taken();
        self.reply(
            i,
            Reply::Say(&format!("Room {room} has {taken} client(s)")),
            out,
        );
        self.reply(
            i,
            Reply::Say(&format!("Request to create or join room {room}")),
            out,
        );
        if self.entries[i].conn.seated {
            let line = format!("You already have a seat in room {room}");
            return self.reply(i, Reply::Say(&line), out);
        }
        let sid = self.entries[i].conn.socket_id().to_string();
        let room = room.as_str();
        match taken {
            0 => {
                self.seat(i, out);
                self.reply(i, Reply::Created { room, sid: &sid }, out);
            }
            n if n < MAX_SEATS => {
                let peer = self.peer_of(i);
                self.seat(i, out);
                self.reply(i, Reply::Joined { room, sid: &sid }, out);
                self.reply(i, Reply::Ready { room }, out);
                if let Some(j) = peer {
                    self.reply(j, Reply::Join { room }, out);
                    self.reply(j, Reply::Ready { room }, out);
                }
            }
            _ => {
                out.push(Action::Note(self.entries[i].handle.clone(), Note::Full));
                self.reply(i, Reply::Full { room }, out);
                self.disconnect(i, out);
                self.close(i, Cause::RoomFull, out);
            }
        }
    }

    /// A socket that presents the resume token of a seated socket is the same peer back on a new
    /// connection (a network change, a reload) before the heartbeat has noticed the old one is
    /// dead. The old socket goes (its peer gets `bye`, as for any departure) so that the new one is
    /// seated instead of refused as `full`. Returns `i`'s index after the removal.
    fn take_over_stale_seat(&mut self, i: usize, out: &mut Out<H>) -> usize {
        let conn = &self.entries[i].conn;
        let (false, Some(token)) = (conn.seated, conn.resume.clone()) else {
            return i;
        };
        let me = self.entries[i].handle.clone();
        let stale = self
            .entries
            .iter()
            .position(|e| e.conn.seated && e.conn.resume.as_deref() == Some(token.as_str()));
        if let Some(j) = stale {
            self.close(j, Cause::Replaced, out);
        }
        self.index(&me).unwrap_or(i)
    }

    fn seat(&mut self, i: usize, out: &mut Out<H>) {
        let e = &mut self.entries[i];
        e.conn.seated = true;
        out.push(e.persist());
        let seats = self.seats_taken();
        out.push(Action::Note(
            self.entries[i].handle.clone(),
            Note::SeatTaken { seats },
        ));
    }

    /// The other seated socket, if any.
    pub(super) fn peer_of(&self, i: usize) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .position(|(j, e)| j != i && e.conn.seated)
    }

    /// Frees socket `i`'s seat, if it has one, and tells the remaining peer `bye`.
    pub(super) fn free_seat(&mut self, i: usize, why: Leave, out: &mut Out<H>) {
        if !self.entries[i].conn.seated {
            return;
        }
        out.push(Action::Note(
            self.entries[i].handle.clone(),
            Note::SeatFreed { why },
        ));
        let peer = self.peer_of(i);
        let e = &mut self.entries[i];
        e.conn.seated = false;
        e.conn.free_since = self.now;
        out.push(e.persist());
        if let Some(j) = peer {
            let room = self.entries[j].conn.room.clone();
            self.reply(j, Reply::Bye { room: &room }, out);
        }
    }
}
