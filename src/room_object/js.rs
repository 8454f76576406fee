//! The JS side the room object needs beyond workers-rs's bindings (a websocket's raw `send`
//! and attachments, the platform's `TextEncoder`), and small helpers: responses, ids, the clock.

use super::*;

#[wasm_bindgen]
extern "C" {
    /// A websocket, seen through the one method the relay needs beyond workers-rs's.
    #[wasm_bindgen(js_name = WebSocket)]
    pub(super) type RawSocket;
    #[wasm_bindgen(method, catch, js_name = send)]
    pub(super) fn send_js_string(this: &RawSocket, frame: &JsString) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = serializeAttachment)]
    pub(super) fn serialize_attachment(this: &RawSocket, value: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = deserializeAttachment)]
    pub(super) fn deserialize_attachment(this: &RawSocket) -> Result<JsValue, JsValue>;

    /// The platform's `TextEncoder`.
    #[wasm_bindgen(js_name = TextEncoder)]
    pub(super) type Utf8Encoder;
    #[wasm_bindgen(constructor, js_class = TextEncoder)]
    pub(super) fn new() -> Utf8Encoder;
}

#[wasm_bindgen(inline_js = "let view = null;
export function readText(encoder, memory, message, at, room, max) {
  if (typeof message !== 'string') return -1;
  const units = message.length;
  if (units > max) return -2;
  if (units * 3 > room) return -3 - units * 3;
  if (view === null || view.byteOffset !== at || view.length !== room) {
    view = new Uint8Array(memory.buffer, at, room);
  }
  const written = encoder.encodeInto(message, view).written;
  return written * 2 + (written === units ? 1 : 0);
}")]
extern "C" {
    /// A websocket message read in one call: not a string (-1), a string of more than `max`
    /// UTF-16 units (-2), one that needs `n` bytes of room where there are `room` (-3 - n), or
    /// twice the count of UTF-8 bytes it was encoded into at `at` in wasm memory, plus one if
    /// that count is its count of UTF-16 units (then every character is ASCII: any other takes
    /// more bytes than units, a surrogate pair's four against two). The view of those
    /// `room` bytes is kept for the next frame (the shared buffer stays put), and made again when
    /// the buffer moved or grew, or the memory did (growing detaches the memory's old
    /// `ArrayBuffer`, and a view of a detached buffer has length 0: no `memory.buffer` call,
    /// a call into the engine, is needed to see it).
    #[wasm_bindgen(js_name = readText)]
    fn read_text_js(
        encoder: &Utf8Encoder,
        memory: &JsValue,
        message: &JsValue,
        at: u32,
        room: u32,
        max: u32,
    ) -> f64;
}

/// What a websocket message is, for the room.
pub(super) enum Message<'b> {
    /// As UTF-8, and whether it is all ASCII (then UTF-8 offsets are UTF-16 offsets).
    Text(&'b str, bool),
    /// Longer than the largest payload allowed (in UTF-16 units, each at least one UTF-8 byte).
    Oversize,
    Binary,
}

thread_local! {
    static ENCODER: Utf8Encoder = Utf8Encoder::new();
    static MEMORY: JsValue = wasm_bindgen::memory();
    /// Where text frames are read into, for every room object of this isolate: they share the
    /// wasm memory, and a frame is done with before its handler returns. So whichever room is
    /// busy, its frame lands in the same warm bytes (a buffer per room, 500 rooms relaying at
    /// once read each frame into cold memory), and no room keeps a buffer of its largest frame.
    static FRAME: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// JS copies of the constant parts of spliced frames, made at their first use, for every
    /// room object of this isolate.
    static STATICS: RefCell<Vec<(&'static str, JsString)>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with the JS copies of the constant strings `head` and `tail`.
pub(super) fn with_statics<R>(
    head: &'static str,
    tail: &'static str,
    f: impl FnOnce(&JsString, &JsString) -> R,
) -> R {
    STATICS.with(|statics| {
        let mut statics = statics.borrow_mut();
        let mut at = |s: &'static str| match statics.iter().position(|(k, _)| std::ptr::eq(*k, s)) {
            Some(at) => at,
            None => {
                statics.push((s, JsString::from(s)));
                statics.len() - 1
            }
        };
        let (h, t) = (at(head), at(tail));
        f(&statics[h].1, &statics[t].1)
    })
}

/// Calls `f` with websocket message `message` read (a text one as UTF-8, into the shared frame
/// buffer) with the platform's encoder, in one call to JS.
pub(super) fn with_message<R>(
    message: &JsValue,
    max: usize,
    f: impl FnOnce(Message<'_>) -> R,
) -> R {
    FRAME.with(|shared| {
        let mut own = Vec::new();
        let mut shared = shared.try_borrow_mut();
        // Never busy (handlers do not nest); were it, this frame would get a buffer of its own.
        let buf = match shared.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut own,
        };
        let read = ENCODER
            .with(|encoder| MEMORY.with(|memory| read_text(encoder, memory, message, max, buf)));
        f(read)
    })
}

/// Reads a websocket message, a text one as UTF-8 into `buf`, in one call to JS.
fn read_text<'b>(
    encoder: &Utf8Encoder,
    memory: &JsValue,
    message: &JsValue,
    max: usize,
    buf: &'b mut Vec<u8>,
) -> Message<'b> {
    let max = u32::try_from(max).unwrap_or(u32::MAX);
    buf.clear();
    // At most twice: the second time with the room the first asked for.
    for _ in 0..2 {
        let room = buf.capacity();
        // The offset and room of a wasm32 allocation fit in u32.
        let at = buf.as_mut_ptr() as usize as u32;
        let r = read_text_js(encoder, memory, message, at, room as u32, max);
        match r {
            -1.0 => return Message::Binary,
            -2.0 => return Message::Oversize,
            r if r <= -3.0 => buf.reserve(-(r + 3.0) as usize),
            r => {
                let (written, ascii) = ((r as usize) / 2, (r as usize) % 2 == 1);
                // SAFETY: `encodeInto` wrote `written` bytes into the view of `buf`'s own
                // capacity it was given (never more than the view, which fits in `room`);
                // nothing allocated between the view's making and now.
                unsafe { buf.set_len(written.min(room)) };
                if ascii {
                    // SAFETY: as many bytes as UTF-16 units means every unit was one byte,
                    // below 0x80, each a whole UTF-8 character.
                    return Message::Text(unsafe { std::str::from_utf8_unchecked(buf) }, true);
                }
                // `encodeInto` writes well-formed UTF-8 (lone surrogates become U+FFFD), so
                // this never fails; were it to, the empty frame is refused as invalid.
                return Message::Text(std::str::from_utf8(buf).unwrap_or(""), false);
            }
        }
    }
    Message::Text("", true)
}

#[wasm_bindgen(
    inline_js = "export function sendSpliced(ws, head, frame, start, end, tail) {
  ws.send(head + frame.slice(start, end) + tail);
}
export function sendRelayed(to, frame, from, head, start, end, tail) {
  try {
    to.send(frame);
  } finally {
    from.send(head + frame.slice(start, end) + tail);
  }
}"
)]
extern "C" {
    /// Sends `head` + `frame[start..end]` + `tail` (UTF-16 offsets) on `ws`: a frame cut from
    /// the one that arrived and joined with constant parts, as JS strings in one call.
    #[wasm_bindgen(catch, js_name = sendSpliced)]
    pub(super) fn send_spliced(
        ws: &RawSocket,
        head: &JsString,
        frame: &JsString,
        start: u32,
        end: u32,
        tail: &JsString,
    ) -> Result<(), JsValue>;

    /// The relay in one call: `frame` as it is on `to`, then `head` + `frame[start..end]` +
    /// `tail` on `from` (sent even if the first send failed).
    #[wasm_bindgen(catch, js_name = sendRelayed)]
    pub(super) fn send_relayed(
        to: &RawSocket,
        frame: &JsString,
        from: &RawSocket,
        head: &JsString,
        start: u32,
        end: u32,
        tail: &JsString,
    ) -> Result<(), JsValue>;
}

/// A text frame being handled: as it arrived, and as UTF-8.
pub(super) struct Incoming<'a> {
    pub(super) js: &'a JsString,
    pub(super) utf8: &'a str,
    /// Only ASCII characters (UTF-8 offsets are UTF-16 offsets).
    pub(super) ascii: bool,
}

pub(super) fn raw(ws: &WebSocket) -> &RawSocket {
    let socket: &web_sys::WebSocket = ws.as_ref();
    socket.unchecked_ref()
}

/// A new session's state, with fresh ids.
pub(super) fn new_conn(accepted: &handshake::Accepted) -> worker::Result<Conn> {
    let mut conn = Conn::new(
        new_sid()?,
        new_sid()?,
        accepted.protocol,
        accepted.room.clone(),
        now(),
    );
    conn.resume = accepted.resume.clone();
    Ok(conn)
}

/// Stores a websocket's attachment as JSON text: one string crosses to JS, instead of an object
/// built there field by field.
pub(super) fn persist(ws: &WebSocket, attachment: &Attachment) -> worker::Result<()> {
    let json = serde_json::to_string(attachment)?;
    raw(ws)
        .serialize_attachment(&JsValue::from_str(&json))
        .map_err(Error::from)
}

/// The attachment [`persist`] stored for a socket, if any.
pub(super) fn stored_attachment(ws: &WebSocket) -> Option<Attachment> {
    let json = raw(ws).deserialize_attachment().ok()?.as_string()?;
    serde_json::from_str(&json).ok()
}

/// Closes a socket for `cause`, with its code and reason.
pub(super) fn close(ws: &WebSocket, cause: Cause) -> worker::Result<()> {
    ws.close(Some(cause.code()), Some(cause.reason()))
}

/// A long-polling answer.
pub(super) fn body_response(body: &Body) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", body.content_type())?;
    headers.set("Cache-Control", "no-store")?;
    let response = match body {
        Body::Text(text) => Response::ok(text.as_str())?,
        Body::Binary(bytes) => Response::from_bytes(bytes.clone())?,
    };
    Ok(response.with_headers(headers))
}

/// A `Response` as the JS value a handler returns.
pub(super) fn js(response: Response) -> JsValue {
    web_sys::Response::from(response).into()
}

pub(super) fn text_response(text: &str) -> worker::Result<Response> {
    body_response(&Body::Text(text.to_string()))
}

pub(super) fn http_error(err: handshake::Error) -> worker::Result<Response> {
    crate::handshake_error(err)
}

/// Close codes an endpoint may put in a close frame (RFC 6455 §7.4).
pub(super) fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

pub(super) fn new_sid() -> worker::Result<String> {
    let mut bytes = [0u8; ids::SID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::RustError(e.to_string()))?;
    Ok(ids::base64url(&bytes))
}

pub(super) fn now() -> u64 {
    js_sys::Date::now() as u64
}
