//! Socket.IO packets (protocol v5 over Engine.IO v4, protocol v4 over Engine.IO v3).
//!
//! From the Socket.IO protocol, a packet is encoded as
//!
//! ```text
//! <packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON-stringified payload]
//! ```
//!
//! | type | id | payload |
//! |---|---|---|
//! | CONNECT | 0 | v5: optional auth object (client), `{"sid":…}` (server); v4: none |
//! | DISCONNECT | 1 | none |
//! | EVENT | 2 | non-empty array, event name first |
//! | ACK | 3 | array |
//! | CONNECT_ERROR | 4 | v5: `{"message":…}`; v4: a string |
//! | BINARY_EVENT | 5 | like EVENT, binary parts replaced by `{"_placeholder":true,"num":n}` |
//! | BINARY_ACK | 6 | like ACK, with placeholders |
//!
//! The namespace is present only when it is not `/`; v4 clients may append a query (`/x?a=b`).
//! The decoder keeps the payload as a raw slice of the frame: relaying never re-serialises it.
//! The encoders return whole websocket frames, Engine.IO message prefix `4` included.
//!
//! (Over 400 lines with its unit tests, which stay beside the codec they pin down: the code itself
//! is about 370.)

use std::borrow::Cow;

use crate::json;

/// Nesting depth allowed in any client JSON payload (arrays and objects both count).
pub const MAX_JSON_DEPTH: usize = json::MAX_DEPTH;
/// Largest acknowledgement id accepted (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;
/// Binary attachments allowed on one packet.
pub const MAX_ATTACHMENTS: usize = 16;

/// The Socket.IO packet types, by their wire digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: connect to a namespace (client) / connected (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event: `["name", args…]`.
    Event,
    /// `3`: the answer to an event sent with an ack id.
    Ack,
    /// `4`: the server refuses a namespace connection.
    ConnectError,
    /// `5`: an event whose arguments hold binary attachments sent as following frames.
    BinaryEvent,
    /// `6`: an ack whose arguments hold binary attachments.
    BinaryAck,
}

/// One decoded packet, borrowing from the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub kind: PacketType,
    /// Number of binary frames that follow (binary packets only).
    pub attachments: usize,
    /// The namespace, `/` by default, without any v4 query string.
    pub ns: &'a str,
    pub ack_id: Option<u64>,
    /// The raw JSON payload, empty when there is none.
    pub data: &'a str,
    /// EVENT and BINARY_EVENT: the payload array's elements, as the raw slices of `data` they
    /// were written as (read in the same pass that checked the payload). Empty otherwise.
    pub items: Items<'a>,
}

/// An event's elements: the few an event has (`["message", {…}]`) need no allocation.
pub type Items<'a> = smallvec::SmallVec<[&'a str; 4]>;

/// Why a text is not a valid Socket.IO packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Empty,
    UnknownType,
    /// Binary packet without a well-formed `<n>-` attachment count, or too many attachments.
    BadAttachments,
    /// An ack id that is too large to be a JavaScript safe integer.
    BadAckId,
    /// The payload is not JSON, or not the shape the packet type requires.
    BadPayload,
    /// The payload nests deeper than [`MAX_JSON_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Empty => "empty Socket.IO packet",
            Error::UnknownType => "unknown Socket.IO packet type",
            Error::BadAttachments => "invalid binary attachment count",
            Error::BadAckId => "invalid acknowledgement id",
            Error::BadPayload => "invalid payload",
            Error::TooDeep => "payload nested too deeply",
        })
    }
}

/// Decodes one Socket.IO packet with a hand-written cursor: type, attachments, namespace, ack id,
/// then the payload, whose shape is checked against the type.
pub fn decode(s: &str) -> Result<Packet<'_>, Error> {
    let bytes = s.as_bytes();
    let kind = match bytes.first().ok_or(Error::Empty)? {
        b'0' => PacketType::Connect,
        b'1' => PacketType::Disconnect,
        b'2' => PacketType::Event,
        b'3' => PacketType::Ack,
        b'4' => PacketType::ConnectError,
        b'5' => PacketType::BinaryEvent,
        b'6' => PacketType::BinaryAck,
        _ => return Err(Error::UnknownType),
    };
    let mut i = 1;

    let mut attachments = 0;
    if matches!(kind, PacketType::BinaryEvent | PacketType::BinaryAck) {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 2 || bytes.get(i) != Some(&b'-') {
            return Err(Error::BadAttachments);
        }
        attachments = s[start..i].parse().map_err(|_| Error::BadAttachments)?;
        if attachments == 0 || attachments > MAX_ATTACHMENTS {
            return Err(Error::BadAttachments);
        }
        i += 1;
    }

    let mut ns = "/";
    if bytes.get(i) == Some(&b'/') {
        let start = i;
        while i < bytes.len() && bytes[i] != b',' {
            i += 1;
        }
        ns = &s[start..i];
        if i < bytes.len() {
            i += 1; // the comma
        }
        // A v4 client appends its connect query to the namespace.
        if let Some(q) = ns.find('?') {
            ns = &ns[..q];
        }
    }

    let mut ack_id = None;
    let start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i > start {
        let id: u64 = s[start..i].parse().map_err(|_| Error::BadAckId)?;
        if id > MAX_ACK_ID {
            return Err(Error::BadAckId);
        }
        ack_id = Some(id);
    }

    let data = &s[i..];
    let items = check_payload(kind, data)?;
    Ok(Packet {
        kind,
        attachments,
        ns,
        ack_id,
        data,
        items,
    })
}

/// The payload shape each packet type allows (as the reference parser's `isPayloadValid`), and
/// an event's elements.
fn check_payload(kind: PacketType, data: &str) -> Result<Items<'_>, Error> {
    if data.is_empty() {
        return match kind {
            PacketType::Connect | PacketType::Disconnect => Ok(Items::new()),
            _ => Err(Error::BadPayload),
        };
    }
    // One pass over the JSON; too deep is refused before anything else, whatever the shape.
    let mut items = Items::new();
    let checked = match kind {
        PacketType::Event | PacketType::BinaryEvent => json::check_array(data, &mut items),
        _ => json::check(data),
    };
    let checked = match checked {
        Err(json::Refusal::TooDeep) => return Err(Error::TooDeep),
        Err(json::Refusal::Invalid(_)) => Err(Error::BadPayload),
        Ok(()) => Ok(items),
    };
    let first = data.trim_start().as_bytes().first().copied();
    match kind {
        PacketType::Disconnect => Err(Error::BadPayload),
        PacketType::Connect if first == Some(b'{') => checked,
        PacketType::ConnectError if matches!(first, Some(b'{') | Some(b'"')) => checked,
        // An event's name and arguments are checked when the event is read; here the framing.
        PacketType::Event | PacketType::BinaryEvent if first == Some(b'[') => checked,
        PacketType::Ack | PacketType::BinaryAck if first == Some(b'[') => checked,
        _ => Err(Error::BadPayload),
    }
}

/// An event's name and its arguments as raw JSON slices (of the frame `'a`, listed in the
/// packet `'p`).
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'p, 'a> {
    /// Borrowed from the frame unless the name holds escapes.
    pub name: Cow<'a, str>,
    pub args: &'p [&'a str],
}

impl<'a> Packet<'a> {
    /// The EVENT or BINARY_EVENT this packet is, `["name", args…]`, from the elements [`decode`]
    /// read (the payload is not read again). The array must be non-empty and the name a string
    /// or, as the reference parser allows, a number (which names no event we handle).
    pub fn event(&self) -> Result<Event<'_, 'a>, Error> {
        event_of(&self.items)
    }
}

fn event_of<'p, 'a>(items: &'p [&'a str]) -> Result<Event<'p, 'a>, Error> {
    let (name, args) = items.split_first().ok_or(Error::BadPayload)?;
    let name = match name.as_bytes().first() {
        // A checked JSON string without escapes is its text between the quotes.
        Some(b'"') if !name.contains('\\') => {
            Cow::Borrowed(name.get(1..name.len() - 1).ok_or(Error::BadPayload)?)
        }
        Some(b'"') => Cow::Owned(serde_json::from_str(name).map_err(|_| Error::BadPayload)?),
        Some(b'-' | b'0'..=b'9') => Cow::Borrowed(*name),
        _ => return Err(Error::BadPayload),
    };
    Ok(Event { name, args })
}

// ---------------------------------------------------------------------------------------------
// Encoding: every frame the server sends is built here.

/// The head of a packet the server sends: `<type>[<# of attachments>-][<namespace>,][<ack id>]`.
/// The namespace is written only when it is not `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    pub kind: PacketType,
    pub attachments: usize,
    pub ns: &'a str,
    pub ack_id: Option<u64>,
}

impl<'a> Head<'a> {
    /// A packet of `kind` for the default namespace, no attachments, no ack id.
    pub fn new(kind: PacketType) -> Head<'static> {
        Head {
            kind,
            attachments: 0,
            ns: "/",
            ack_id: None,
        }
    }

    pub fn ns<'b>(self, ns: &'b str) -> Head<'b> {
        Head {
            kind: self.kind,
            attachments: self.attachments,
            ns,
            ack_id: self.ack_id,
        }
    }

    pub fn ack_id(self, id: Option<u64>) -> Head<'a> {
        Head { ack_id: id, ..self }
    }

    pub fn attachments(self, n: usize) -> Head<'a> {
        Head {
            attachments: n,
            ..self
        }
    }

    /// The whole frame: Engine.IO's message prefix `4`, this head, then `data` as it is.
    pub fn frame(&self, data: &str) -> String {
        let mut out = self.start(data.len());
        out.push_str(data);
        out
    }

    /// The whole frame with a JSON array of `items` (each raw JSON) as its payload.
    pub fn array(&self, items: &[&str]) -> String {
        let mut out = self.start(2 + items.iter().map(|a| a.len() + 1).sum::<usize>());
        out.push('[');
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push(']');
        out
    }

    fn start(&self, data_len: usize) -> String {
        let mut out = String::with_capacity(self.ns.len() + data_len + 24);
        out.push('4');
        out.push(char::from(b'0' + self.kind.digit()));
        if self.attachments > 0 {
            out.push_str(&self.attachments.to_string());
            out.push('-');
        }
        if self.ns != "/" {
            out.push_str(self.ns);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            out.push_str(&id.to_string());
        }
        out
    }
}

impl PacketType {
    /// The type's wire digit.
    pub fn digit(self) -> u8 {
        match self {
            PacketType::Connect => 0,
            PacketType::Disconnect => 1,
            PacketType::Event => 2,
            PacketType::Ack => 3,
            PacketType::ConnectError => 4,
            PacketType::BinaryEvent => 5,
            PacketType::BinaryAck => 6,
        }
    }
}

/// An EVENT for the default namespace: `42["name",arg,…]` (Engine.IO prefix included). Each
/// argument is raw JSON, copied as is.
pub fn event_frame(name: &str, args: &[&str]) -> String {
    event_frame_in("/", name, args)
}

/// An EVENT for namespace `ns`: `42<ns,>["name",arg,…]`.
pub fn event_frame_in(ns: &str, name: &str, args: &[&str]) -> String {
    let name = crate::json::string(name);
    let mut items = Vec::with_capacity(1 + args.len());
    items.push(name.as_str());
    items.extend_from_slice(args);
    Head::new(PacketType::Event).ns(ns).array(&items)
}

/// The CONNECT reply: `40<ns,>{"sid":"…"}` (v5), or `40` with no sid (v4).
pub fn connect_frame(ns: &str, sid: Option<&str>) -> String {
    let head = Head::new(PacketType::Connect).ns(ns);
    match sid {
        Some(sid) => head.frame(&format!("{{\"sid\":{}}}", crate::json::string(sid))),
        None => head.frame(""),
    }
}

/// The reply to a CONNECT for a namespace this server does not have.
/// v5: `44/x,{"message":"Invalid namespace"}`; v4: `44/x,"Invalid namespace"`.
pub fn invalid_namespace_frame(ns: &str, v5: bool) -> String {
    connect_error_frame(ns, "Invalid namespace", v5)
}

/// A CONNECT_ERROR: v5 `44<ns,>{"message":"…"}`, v4 `44<ns,>"…"`.
pub fn connect_error_frame(ns: &str, message: &str, v5: bool) -> String {
    let message = crate::json::string(message);
    let head = Head::new(PacketType::ConnectError).ns(ns);
    if v5 {
        head.frame(&format!("{{\"message\":{message}}}"))
    } else {
        head.frame(&message)
    }
}

/// An ACK: `43<ns,><id>[arg,…]`.
pub fn ack_frame(ns: &str, id: u64, args: &[&str]) -> String {
    Head::new(PacketType::Ack)
        .ns(ns)
        .ack_id(Some(id))
        .array(args)
}

/// The server's DISCONNECT: `41<ns,>`.
pub fn disconnect_frame(ns: &str) -> String {
    Head::new(PacketType::Disconnect).ns(ns).frame("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p<'a>(kind: PacketType, ns: &'a str, ack_id: Option<u64>, data: &'a str) -> Packet<'a> {
        // An event's elements as serde_json splits them.
        let items = match kind {
            PacketType::Event | PacketType::BinaryEvent => {
                json::split_array(data).unwrap_or_default().into()
            }
            _ => Items::new(),
        };
        Packet {
            kind,
            attachments: 0,
            ns,
            ack_id,
            data,
            items,
        }
    }

    #[test]
    fn decodes_connect_forms() {
        assert_eq!(decode("0"), Ok(p(PacketType::Connect, "/", None, "")));
        assert_eq!(
            decode("0{\"token\":\"x\"}"),
            Ok(p(PacketType::Connect, "/", None, "{\"token\":\"x\"}"))
        );
        assert_eq!(
            decode("0/admin,"),
            Ok(p(PacketType::Connect, "/admin", None, ""))
        );
        assert_eq!(
            decode("0/admin"),
            Ok(p(PacketType::Connect, "/admin", None, ""))
        );
        assert_eq!(
            decode("0/admin?a=b,"),
            Ok(p(PacketType::Connect, "/admin", None, ""))
        );
        assert_eq!(decode("0/,"), Ok(p(PacketType::Connect, "/", None, "")));
    }

    #[test]
    fn decodes_events_with_and_without_ack_ids() {
        assert_eq!(
            decode("2[\"message\",{\"a\":1}]"),
            Ok(p(PacketType::Event, "/", None, "[\"message\",{\"a\":1}]"))
        );
        assert_eq!(
            decode("2456[\"x\"]"),
            Ok(p(PacketType::Event, "/", Some(456), "[\"x\"]"))
        );
        assert_eq!(
            decode("2/chat,7[\"x\"]"),
            Ok(p(PacketType::Event, "/chat", Some(7), "[\"x\"]"))
        );
        assert_eq!(
            decode("3456[]"),
            Ok(p(PacketType::Ack, "/", Some(456), "[]"))
        );
    }

    #[test]
    fn decodes_binary_event_attachment_count() {
        let d = decode("51-[\"message\",{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!(d.kind, PacketType::BinaryEvent);
        assert_eq!(d.attachments, 1);
        assert_eq!(d.data, "[\"message\",{\"_placeholder\":true,\"num\":0}]");
        let d = decode("62-/x,9[{\"_placeholder\":true,\"num\":1}]").unwrap();
        assert_eq!(
            (d.kind, d.attachments, d.ns, d.ack_id),
            (PacketType::BinaryAck, 2, "/x", Some(9))
        );
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(decode(""), Err(Error::Empty));
        assert_eq!(decode("7"), Err(Error::UnknownType));
        assert_eq!(decode("a[]"), Err(Error::UnknownType));
        assert_eq!(decode("2{}"), Err(Error::BadPayload));
        assert_eq!(decode("2"), Err(Error::BadPayload));
        assert_eq!(decode("2[\"x\""), Err(Error::BadPayload));
        assert_eq!(decode("2[\"x\"]garbage"), Err(Error::BadPayload));
        assert_eq!(decode("2\"x\""), Err(Error::BadPayload));
        assert_eq!(decode("1{}"), Err(Error::BadPayload));
        assert_eq!(decode("0[]"), Err(Error::BadPayload));
        assert_eq!(decode("5[\"x\"]"), Err(Error::BadAttachments));
        assert_eq!(decode("5-[\"x\"]"), Err(Error::BadAttachments));
        assert_eq!(decode("50-[\"x\"]"), Err(Error::BadAttachments));
        assert_eq!(decode("5999-[\"x\"]"), Err(Error::BadAttachments));
        assert_eq!(decode("299999999999999999999[\"x\"]"), Err(Error::BadAckId));
        assert_eq!(decode("29007199254740992[\"x\"]"), Err(Error::BadAckId));
        assert_eq!(decode("3"), Err(Error::BadPayload));
    }

    #[test]
    fn rejects_json_nested_deeper_than_the_limit() {
        let ok = format!("2[\"x\",{}{}]", "[".repeat(127), "]".repeat(127));
        assert!(decode(&ok).is_ok());
        let deep = format!("2[\"x\",{}{}]", "[".repeat(128), "]".repeat(128));
        assert_eq!(decode(&deep), Err(Error::TooDeep));
    }

    #[test]
    fn reads_event_name_and_raw_args() {
        // The name, and the arguments as they were written.
        let event = |s: &'static str| {
            decode(s).and_then(|p| p.event().map(|e| (e.name.into_owned(), e.args.to_vec())))
        };
        let (name, args) =
            event("2[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"},2]").unwrap();
        assert_eq!(name, "message");
        assert_eq!(
            args,
            vec!["{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}", "2"]
        );
        let (name, args) = event("2[\"create\\u0020or join\", \"r1\" ]").unwrap();
        assert_eq!(name, "create or join");
        assert_eq!(args, vec!["\"r1\""]);
        assert_eq!(event("2[]"), Err(Error::BadPayload));
        assert_eq!(event("2[1,2]").map(|e| e.0), Ok("1".to_string()));
        assert_eq!(event("2[{}]"), Err(Error::BadPayload));
        assert_eq!(event("2[null]"), Err(Error::BadPayload));
    }

    #[test]
    fn encodes_server_frames() {
        assert_eq!(
            event_frame("created", &["\"r\"", "\"s\""]),
            "42[\"created\",\"r\",\"s\"]"
        );
        assert_eq!(event_frame("ready", &[]), "42[\"ready\"]");
        assert_eq!(
            event_frame_in("/custom", "auth", &["{}"]),
            "42/custom,[\"auth\",{}]"
        );
        assert_eq!(connect_frame("/", Some("abc")), "40{\"sid\":\"abc\"}");
        assert_eq!(
            connect_frame("/custom", Some("abc")),
            "40/custom,{\"sid\":\"abc\"}"
        );
        assert_eq!(connect_frame("/", None), "40");
        assert_eq!(disconnect_frame("/"), "41");
        assert_eq!(disconnect_frame("/x"), "41/x,");
        assert_eq!(ack_frame("/", 7, &["1", "\"a\""]), "437[1,\"a\"]");
        assert_eq!(ack_frame("/custom", 0, &[]), "43/custom,0[]");
        assert_eq!(
            Head::new(PacketType::BinaryEvent)
                .attachments(2)
                .ns("/custom")
                .frame("[\"x\"]"),
            "452-/custom,[\"x\"]"
        );
        assert_eq!(
            Head::new(PacketType::BinaryAck)
                .attachments(1)
                .ack_id(Some(12))
                .array(&["{}"]),
            "461-12[{}]"
        );
        assert_eq!(
            invalid_namespace_frame("/x", true),
            "44/x,{\"message\":\"Invalid namespace\"}"
        );
        assert_eq!(
            invalid_namespace_frame("/x", false),
            "44/x,\"Invalid namespace\""
        );
    }
}
