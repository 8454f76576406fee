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
    #[wasm_bindgen(method, js_class = TextEncoder, js_name = encodeInto)]
    pub(super) fn encode_into(
        this: &Utf8Encoder,
        source: &JsString,
        dest: &Uint8Array,
    ) -> EncodeIntoResult;
    pub(super) type EncodeIntoResult;
    #[wasm_bindgen(method, getter)]
    pub(super) fn written(this: &EncodeIntoResult) -> u32;
}

#[wasm_bindgen(
    inline_js = "export function sendSpliced(ws, head, frame, start, end, tail) { ws.send(head + frame.slice(start, end) + tail); }"
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
