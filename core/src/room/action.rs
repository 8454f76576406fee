//! What the room asks its caller to do ([`Action`]), and why a socket is closed ([`Cause`]).

use std::ops::Range;

use super::Conn;

/// What the caller must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<H> {
    /// Send a text frame.
    Send(H, String),
    /// Send the text frame being handled, unchanged: the relay of a `message` whose frame needs
    /// no rewriting (`42[...]` in, the same bytes out), so the caller can send the frame it holds
    /// rather than a copy. Only [`Room::on_text`](super::Room::on_text) returns it.
    Forward(H),
    /// Send a frame built around part of the text frame being handled: the sender's `log` echo
    /// of its `message`, whose arguments are that message's, so the caller can assemble it from
    /// the frame it holds rather than a copy. Only [`Room::on_text`](super::Room::on_text)
    /// returns it.
    Splice(H, Splice),
    /// Send a binary frame (already framed for the receiver's protocol).
    SendBinary(H, Vec<u8>),
    /// Store this state as the socket's attachment.
    Persist(H, Conn),
    /// Close the socket, for this cause. The room has already forgotten it.
    Close(H, Cause),
    /// Something about this socket worth a log line ([`Note::log_line`]).
    Note(H, Note),
}

impl<H> Action<H> {
    /// The action with [`Action::Forward`] and [`Action::Splice`] spelled out as the
    /// [`Action::Send`] they stand for, given `frame`, the text frame that was handled (for
    /// callers that gain nothing from the difference).
    pub fn with_frame(self, frame: &str) -> Action<H> {
        match self {
            Action::Forward(h) => Action::Send(h, frame.to_string()),
            Action::Splice(h, splice) => Action::Send(h, splice.build(frame)),
            other => other,
        }
    }

    /// The socket the action is for.
    pub fn handle(&self) -> &H {
        match self {
            Action::Send(h, _)
            | Action::Forward(h)
            | Action::Splice(h, _)
            | Action::SendBinary(h, _)
            | Action::Persist(h, _)
            | Action::Close(h, _)
            | Action::Note(h, _) => h,
        }
    }
}

/// A room event worth one log line. It names what happened, never what a client sent: no
/// payload, no SDP or ICE candidate, no address, no token, and the room only by a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// The socket took a seat; `seats` are taken now.
    SeatTaken { seats: usize },
    /// The socket asked for a seat in a full room.
    Full,
    /// The socket's seat was freed.
    SeatFreed { why: Leave },
    /// The server closed the socket.
    Closed { cause: Cause },
    /// The first packet of a run dropped by the rate limit.
    RateLimited,
}

/// Why a seat was freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// The client said `bye`.
    Bye,
    /// The client sent Socket.IO's DISCONNECT.
    Disconnect,
    /// The client's connection closed or failed.
    ClientGone,
    /// The server closed the socket.
    Closed(Cause),
}

impl Note {
    /// The JSON log line: `{"event":…,"room":<tag>,"transport":…,…}`.
    pub fn log_line(&self, room_tag: &str, transport: &str) -> String {
        let head = |event: &str| {
            format!(
                "{{\"event\":\"{event}\",\"room\":{},\"transport\":{}",
                crate::json::string(room_tag),
                crate::json::string(transport)
            )
        };
        match *self {
            Note::SeatTaken { seats } => format!("{},\"seats\":{seats}}}", head("seat_taken")),
            Note::Full => format!("{}}}", head("full")),
            Note::SeatFreed { why } => {
                let why = match why {
                    Leave::Bye => "bye",
                    Leave::Disconnect => "disconnect",
                    Leave::ClientGone => "client gone",
                    Leave::Closed(cause) => cause.reason(),
                };
                format!("{},\"why\":\"{why}\"}}", head("seat_freed"))
            }
            Note::Closed { cause } => format!(
                "{},\"code\":{},\"reason\":\"{}\"}}",
                head("closed"),
                cause.code(),
                cause.reason()
            ),
            Note::RateLimited => format!("{}}}", head("rate_limited")),
        }
    }
}

/// `head` + `frame[body]` + `tail`, where `frame` is the text frame being handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    pub head: &'static str,
    /// Byte offsets into the frame.
    pub body: Range<usize>,
    pub tail: &'static str,
}

impl Splice {
    /// The frame, built from `frame`.
    pub fn build(&self, frame: &str) -> String {
        let body = frame.get(self.body.clone()).unwrap_or_default();
        let mut out = String::with_capacity(self.head.len() + body.len() + self.tail.len());
        out.push_str(self.head);
        out.push_str(body);
        out.push_str(self.tail);
        out
    }
}

/// Websocket close codes (RFC 6455 §7.4.1) the room uses.
pub mod close_code {
    /// Orderly close: the room was full, the client left, or the heartbeat timed out.
    pub const NORMAL: u16 = 1000;
    /// The client broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// The client kept sending past its rate limit.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame larger than `maxPayload`.
    pub const TOO_BIG: u16 = 1009;
}

/// Why the server closes a socket. Each cause has one close code and one reason text, sent in
/// the close frame; nothing else decides them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A third asker: it got `full` and `41` first.
    RoomFull,
    /// The client sent Engine.IO's close packet `1`.
    ClientClosed,
    /// A v3 client sent `41`, after which it cannot connect again.
    ClientDisconnected,
    /// No pong (v4) or no ping (v3) in time.
    PingTimeout,
    /// A v4 socket that never connected to `/`.
    ConnectTimeout,
    /// A socket that held no seat for longer than the seat grace.
    SeatTimeout,
    /// The same page (by its resume token) took the seat over on a newer socket.
    Replaced,
    /// A frame from a socket the room does not know (one it closed already, or one whose state
    /// was lost).
    UnknownSession,
    /// A socket accepted but never set up (the object died in between): nothing to resume.
    SessionLost,
    /// A text frame that is not an Engine.IO packet.
    InvalidEngineIoPacket,
    /// A ping from a v4 client or a pong from a v3 one.
    HeartbeatDirection,
    /// An Engine.IO packet a client never sends here (open, upgrade).
    UnexpectedEngineIoPacket,
    /// A text frame while binary attachments are owed.
    ExpectedBinary,
    /// A binary frame with no binary packet waiting for it.
    UnexpectedBinary,
    /// A text that is not a Socket.IO packet.
    InvalidSocketIoPacket,
    /// JSON nested deeper than the limit.
    TooDeep,
    /// A second CONNECT to `/` (any on v3).
    AlreadyConnected,
    /// A packet other than CONNECT for a namespace this server does not have.
    UnknownNamespace,
    /// A packet before CONNECT.
    NotConnected,
    /// An EVENT whose payload is not `["name", …]`.
    InvalidEvent,
    /// An EVENT with a name the reference server reserves.
    ReservedEventName,
    /// A BINARY_ACK from a client (the server never asks for acks).
    BinaryAck,
    /// Too many packets dropped in a row by the rate limit.
    RateLimit,
    /// A frame, or a binary packet's attachments, or a long-polling request body, over
    /// `maxPayload`.
    TooBig,
    /// A long-polling request body that is not a payload.
    InvalidPayload,
    /// A second long-polling GET while one is pending.
    ConcurrentPoll,
    /// An upgrade probe that broke the probe exchange.
    ProbeFailed,
    /// An upgrade probe that did not complete in time.
    UpgradeTimeout,
    /// A websocket naming a session that is already on a websocket, or being upgraded.
    UpgradeRefused,
}

impl Cause {
    /// The close code.
    pub fn code(self) -> u16 {
        use Cause::*;
        match self {
            RoomFull | ClientClosed | ClientDisconnected | PingTimeout | ConnectTimeout
            | SeatTimeout | Replaced | SessionLost => close_code::NORMAL,
            UnknownSession
            | InvalidEngineIoPacket
            | HeartbeatDirection
            | UnexpectedEngineIoPacket
            | ExpectedBinary
            | UnexpectedBinary
            | InvalidSocketIoPacket
            | TooDeep
            | AlreadyConnected
            | UnknownNamespace
            | NotConnected
            | InvalidEvent
            | ReservedEventName
            | BinaryAck => close_code::PROTOCOL_ERROR,
            InvalidPayload | ConcurrentPoll | ProbeFailed | UpgradeRefused => {
                close_code::PROTOCOL_ERROR
            }
            UpgradeTimeout => close_code::NORMAL,
            RateLimit => close_code::POLICY_VIOLATION,
            TooBig => close_code::TOO_BIG,
        }
    }

    /// The reason text of the close frame.
    pub fn reason(self) -> &'static str {
        use Cause::*;
        match self {
            RoomFull => "room full",
            ClientClosed => "client closed",
            ClientDisconnected => "client disconnected",
            PingTimeout => "ping timeout",
            ConnectTimeout => "connect timeout",
            SeatTimeout => "no seat taken",
            Replaced => "replaced by a newer connection",
            UnknownSession => "unknown session",
            SessionLost => "session lost",
            InvalidEngineIoPacket => "invalid Engine.IO packet",
            HeartbeatDirection => "invalid heartbeat direction",
            UnexpectedEngineIoPacket => "unexpected Engine.IO packet",
            ExpectedBinary => "expected a binary frame",
            UnexpectedBinary => "unexpected binary frame",
            InvalidSocketIoPacket => "invalid Socket.IO packet",
            TooDeep => "payload nested too deeply",
            AlreadyConnected => "already connected",
            UnknownNamespace => "unknown namespace",
            NotConnected => "not connected",
            InvalidEvent => "invalid event",
            ReservedEventName => "reserved event name",
            BinaryAck => "unexpected binary ack",
            RateLimit => "rate limit exceeded",
            TooBig => "payload too large",
            InvalidPayload => "invalid payload",
            ConcurrentPoll => "concurrent poll",
            ProbeFailed => "upgrade probe failed",
            UpgradeTimeout => "upgrade timeout",
            UpgradeRefused => "no polling session to upgrade",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}
