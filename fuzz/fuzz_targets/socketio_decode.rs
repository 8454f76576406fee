//! Socket.IO packet grammar and the raw-JSON helpers: `socketio::decode`, `Packet::event`, the
//! server's frame encoders, and `json::check` / `check_array` / `depth` / `validate` / `split_array`.
//!
//! Input: arbitrary bytes, used when they are UTF-8. Invariants checked (beyond "never panics"):
//! - a decoded packet's type is its first digit; the namespace starts with `/` and holds no `,`
//!   or `?`; `ack_id <= MAX_ACK_ID`; binary packets have 1..=MAX_ATTACHMENTS attachments and
//!   others none; `data` is the tail of the input;
//! - its payload is empty only for CONNECT and DISCONNECT, otherwise one JSON value no deeper
//!   than MAX_JSON_DEPTH, of the shape its type allows (`[` for events and acks, `{` for
//!   CONNECT, `{` or `"` for CONNECT_ERROR);
//! - re-encoding the packet in canonical form decodes to the same packet;
//! - for EVENT / BINARY_EVENT, `Packet::event` agrees with serde_json on the name and argument
//!   count, each argument is valid JSON, and `event_frame(name, args)` decodes back to the same
//!   event;
//! - `invalid_namespace_frame` for a decoded namespace decodes to a CONNECT_ERROR for it;
//! - on the whole input: `split_array` succeeds only on valid JSON, gives in-order,
//!   non-overlapping sub-slices of the input that are each valid JSON and shallower than the
//!   whole; whatever serde_json parses as a value, `validate` accepts (and as an array,
//!   `split_array` splits into as many elements);
//! - `json::check` / `check_array` (the one pass the server runs) give the depth scan's verdict
//!   first and then serde_json's, and split an array exactly as `split_array` does;
//! - a decoded event's `items` are its payload's elements as `split_array` gives them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signal_core::json;
use signal_core::socketio::{self, Packet, PacketType, MAX_ACK_ID, MAX_ATTACHMENTS, MAX_JSON_DEPTH};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check_json(s);
    if let Ok(p) = socketio::decode(s) {
        check_packet(s, &p);
    }
});

/// Byte range of `part` within `whole`, which it must be a slice of.
fn range_in(whole: &str, part: &str) -> (usize, usize) {
    let base = whole.as_ptr() as usize;
    let start = part.as_ptr() as usize;
    assert!(start >= base && start + part.len() <= base + whole.len(), "not a sub-slice");
    (start - base, start - base + part.len())
}

fn check_json(s: &str) {
    let depth = json::depth(s);
    let valid = json::validate(s).is_ok();
    // The one-pass check is the depth scan, then serde_json's verdict; its split is serde's.
    let expected = if depth > json::MAX_DEPTH {
        Err(json::Refusal::TooDeep)
    } else if valid {
        Ok(())
    } else {
        Err(json::Refusal::Invalid(json::Invalid))
    };
    assert_eq!(json::check(s), expected, "check: {s:?}");
    let mut items = Vec::new();
    assert_eq!(json::check_array(s, &mut items), expected, "check_array: {s:?}");
    if expected.is_ok() && s.trim_start().starts_with('[') {
        assert_eq!(Some(items), json::split_array(s), "check_array's elements: {s:?}");
    }
    let value: Option<serde_json::Value> = serde_json::from_str(s).ok();
    if value.is_some() {
        assert!(valid, "serde_json parses but validate refuses: {s:?}");
    }
    match json::split_array(s) {
        Some(items) => {
            assert!(valid, "split_array on invalid JSON: {s:?}");
            assert!(depth >= 1, "an array has depth >= 1: {s:?}");
            let mut end = 0;
            for item in &items {
                let (a, b) = range_in(s, item);
                assert!(a >= end, "elements overlap or are out of order: {s:?}");
                end = b;
                assert!(json::validate(item).is_ok(), "element {item:?} is not JSON in {s:?}");
                assert!(json::depth(item) < depth, "element deeper than its array: {s:?}");
                assert_eq!(item.trim(), *item, "element keeps surrounding whitespace: {s:?}");
            }
            if let Some(serde_json::Value::Array(values)) = &value {
                assert_eq!(values.len(), items.len(), "{s:?}");
            }
        }
        None => {
            assert!(
                !matches!(value, Some(serde_json::Value::Array(_))),
                "serde_json reads an array that split_array refuses: {s:?}"
            );
        }
    }
}

fn kind_digit(kind: PacketType) -> u8 {
    match kind {
        PacketType::Connect => b'0',
        PacketType::Disconnect => b'1',
        PacketType::Event => b'2',
        PacketType::Ack => b'3',
        PacketType::ConnectError => b'4',
        PacketType::BinaryEvent => b'5',
        PacketType::BinaryAck => b'6',
    }
}

/// A packet's fields, to compare packets read from different texts (a `Packet` is invariant in
/// its text's lifetime: its elements are a `SmallVec`).
fn parts<'x>(
    p: &'x Packet<'_>,
) -> (PacketType, usize, &'x str, Option<u64>, &'x str, &'x [&'x str]) {
    (p.kind, p.attachments, p.ns, p.ack_id, p.data, &p.items)
}

fn check_packet(s: &str, p: &Packet<'_>) {
    assert_eq!(s.as_bytes()[0], kind_digit(p.kind));
    assert!(p.ns.starts_with('/'), "ns {:?} from {s:?}", p.ns);
    assert!(!p.ns.contains(',') && !p.ns.contains('?'), "ns {:?} from {s:?}", p.ns);
    if let Some(id) = p.ack_id {
        assert!(id <= MAX_ACK_ID, "{s:?}");
    }
    let binary = matches!(p.kind, PacketType::BinaryEvent | PacketType::BinaryAck);
    if binary {
        assert!((1..=MAX_ATTACHMENTS).contains(&p.attachments), "{s:?}");
    } else {
        assert_eq!(p.attachments, 0, "{s:?}");
    }
    let (_, end) = range_in(s, p.data);
    assert_eq!(end, s.len(), "data is not the tail of {s:?}");

    if p.data.is_empty() {
        assert!(matches!(p.kind, PacketType::Connect | PacketType::Disconnect), "{s:?}");
    } else {
        assert!(json::depth(p.data) <= MAX_JSON_DEPTH, "{s:?}");
        assert!(json::validate(p.data).is_ok(), "{s:?}");
        let first = p.data.trim_start().as_bytes()[0];
        let shape_ok = match p.kind {
            PacketType::Connect => first == b'{',
            PacketType::Disconnect => false,
            PacketType::ConnectError => first == b'{' || first == b'"',
            _ => first == b'[',
        };
        assert!(shape_ok, "payload shape for {:?}: {s:?}", p.kind);
    }

    // Canonical re-encoding decodes to the same packet.
    let mut canon = String::new();
    canon.push(kind_digit(p.kind) as char);
    if binary {
        canon.push_str(&format!("{}-", p.attachments));
    }
    if p.ns != "/" {
        canon.push_str(p.ns);
        canon.push(',');
    }
    if let Some(id) = p.ack_id {
        canon.push_str(&id.to_string());
    }
    canon.push_str(p.data);
    let again = socketio::decode(&canon);
    assert_eq!(again.as_ref().map(parts), Ok(parts(p)), "canonical {canon:?} of {s:?}");

    if p.kind == PacketType::Connect && p.ns != "/" {
        for v5 in [true, false] {
            let frame = socketio::invalid_namespace_frame(p.ns, v5);
            let back = socketio::decode(&frame[1..]).expect("invalid_namespace_frame decodes");
            assert_eq!((back.kind, back.ns), (PacketType::ConnectError, p.ns), "{frame:?}");
        }
    }

    if matches!(p.kind, PacketType::Event | PacketType::BinaryEvent) {
        assert_eq!(Some(p.items.to_vec()), json::split_array(p.data), "items of {s:?}");
        check_event(s, p);
    } else {
        assert!(p.items.is_empty(), "{s:?}");
    }
}

fn check_event(s: &str, p: &Packet<'_>) {
    let event = p.event();
    let values: Option<Vec<serde_json::Value>> = serde_json::from_str(p.data).ok();
    if let Some(values) = &values {
        match (values.first(), &event) {
            (Some(serde_json::Value::String(name)), Ok(ev)) => assert_eq!(&ev.name, name, "{s:?}"),
            (Some(serde_json::Value::Number(_)), Ok(_)) => {}
            (None, Err(_)) => {}
            (Some(first), Err(_)) if !first.is_string() && !first.is_number() => {}
            (first, ev) => panic!("event {ev:?} but the first element is {first:?}: {s:?}"),
        }
    }
    let Ok(event) = event else { return };
    if let Some(values) = &values {
        assert_eq!(values.len(), event.args.len() + 1, "{s:?}");
    }
    for a in event.args {
        assert!(json::validate(a).is_ok(), "argument {a:?} of {s:?}");
    }
    let frame = socketio::event_frame(&event.name, &event.args);
    let inner = frame.strip_prefix('4').expect("event_frame has the Engine.IO prefix");
    let back = socketio::decode(inner).unwrap_or_else(|e| panic!("event_frame {frame:?}: {e:?}"));
    assert_eq!(back.kind, PacketType::Event);
    let again = back.event().expect("re-read event");
    assert_eq!(again, event, "{frame:?}");
}
