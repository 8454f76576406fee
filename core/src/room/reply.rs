//! The room's own events (the codelab's protocol), as one typed enum with one way to become a
//! frame, and the `log` lines.

use crate::json;
use crate::socketio;

/// Event names of the codelab's protocol.
pub mod events {
    pub const CREATE_OR_JOIN: &str = "create or join";
    pub const MESSAGE: &str = "message";
    pub const BYE: &str = "bye";
    pub const LOG: &str = "log";
    pub const CREATED: &str = "created";
    pub const JOINED: &str = "joined";
    pub const JOIN: &str = "join";
    pub const READY: &str = "ready";
    pub const FULL: &str = "full";
    /// Names the reference server reserves; a client emitting one is broken or hostile.
    pub const RESERVED: [&str; 6] = [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ];
}

/// The prefix of every `log` line, as in the codelab's server (a macro, so that the constant
/// frames below can be spelled with it at compile time).
macro_rules! log_prefix {
    () => {
        ">>> Message from server: "
    };
}

/// The prefix of every `log` line, as in the codelab's server.
pub const LOG_PREFIX: &str = log_prefix!();

/// The sender's echo of its `message` (the `Got message:` log line) up to the message's
/// arguments, and after them: the frame is `ECHO_HEAD` + arguments + `ECHO_TAIL`.
pub const ECHO_HEAD: &str = concat!("42[\"log\",[\"", log_prefix!(), "\",\"Got message:\",");
pub const ECHO_TAIL: &str = "]]";

/// The first part of the sender's echo, as JSON.
const GOT_MESSAGE: &str = "\"Got message:\"";

/// An event the room sends. `room` and `sid` are plain text; args are raw JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// To the first asker: `42["created",room,sid]`.
    Created { room: &'a str, sid: &'a str },
    /// To the second asker: `42["joined",room,sid]`.
    Joined { room: &'a str, sid: &'a str },
    /// To the seated socket when a second one sits down: `42["join",room]`.
    Join { room: &'a str },
    /// To both seats once they are two: `42["ready",room]`.
    Ready { room: &'a str },
    /// To an asker when both seats are taken: `42["full",room]`.
    Full { room: &'a str },
    /// To the remaining seat when the other leaves: `42["bye",room]`.
    Bye { room: &'a str },
    /// A `log` line of plain text: `42["log",[prefix,text]]`.
    Say(&'a str),
    /// The sender's echo of its `message`: `42["log",[prefix,"Got message:",args…]]`.
    GotMessage(&'a [&'a str]),
}

impl Reply<'_> {
    /// The frame.
    pub fn frame(&self) -> String {
        use events::*;
        let event = |name: &str, room: &str, sid: Option<&str>| {
            let room = json::string(room);
            match sid {
                Some(sid) => socketio::event_frame(name, &[&room, &json::string(sid)]),
                None => socketio::event_frame(name, &[&room]),
            }
        };
        match *self {
            Reply::Created { room, sid } => event(CREATED, room, Some(sid)),
            Reply::Joined { room, sid } => event(JOINED, room, Some(sid)),
            Reply::Join { room } => event(JOIN, room, None),
            Reply::Ready { room } => event(READY, room, None),
            Reply::Full { room } => event(FULL, room, None),
            Reply::Bye { room } => event(BYE, room, None),
            Reply::Say(text) => log_line(&[&json::string(text)]),
            Reply::GotMessage(args) => {
                let mut parts = Vec::with_capacity(1 + args.len());
                parts.push(GOT_MESSAGE);
                parts.extend_from_slice(args);
                log_line(&parts)
            }
        }
    }
}

/// `42["log",[">>> Message from server: ",parts…]]`; every part is JSON.
fn log_line(parts: &[&str]) -> String {
    let prefix = concat!("\"", log_prefix!(), "\"");
    let mut items = Vec::with_capacity(1 + parts.len());
    items.push(prefix);
    items.extend_from_slice(parts);
    let list = format!("[{}]", items.join(","));
    socketio::event_frame(events::LOG, &[&list])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_is_the_codelab_frame() {
        let r = "r1";
        assert_eq!(
            Reply::Created { room: r, sid: "s" }.frame(),
            r#"42["created","r1","s"]"#
        );
        assert_eq!(
            Reply::Joined { room: r, sid: "s" }.frame(),
            r#"42["joined","r1","s"]"#
        );
        assert_eq!(Reply::Join { room: r }.frame(), r#"42["join","r1"]"#);
        assert_eq!(Reply::Ready { room: r }.frame(), r#"42["ready","r1"]"#);
        assert_eq!(Reply::Full { room: r }.frame(), r#"42["full","r1"]"#);
        assert_eq!(Reply::Bye { room: r }.frame(), r#"42["bye","r1"]"#);
        assert_eq!(
            Reply::Say("Room r1 has 0 client(s)").frame(),
            r#"42["log",[">>> Message from server: ","Room r1 has 0 client(s)"]]"#
        );
        assert_eq!(
            Reply::GotMessage(&["{\"a\":1}", "2"]).frame(),
            r#"42["log",[">>> Message from server: ","Got message:",{"a":1},2]]"#
        );
        assert_eq!(
            format!("{ECHO_HEAD}1{ECHO_TAIL}"),
            Reply::GotMessage(&["1"]).frame()
        );
    }
}
