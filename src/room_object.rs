//! The `Room` Durable Object: one per room name, holding that room's websockets.
//!
//! ## Hibernation
//! Sockets are accepted with the hibernation API (`acceptWebSocket`), so an idle room costs
//! nothing: the platform keeps the connections open, evicts the object from memory, and creates
//! it again (the constructor runs anew) when a message, a close or the alarm arrives. Anything
//! kept only in memory is lost then. So each socket's state (`signal_core::room::Conn`: ids,
//! protocol, seat, heartbeat) is written to the socket's own attachment whenever it changes, and
//! a fresh object rebuilds the room from `getWebSockets()` before handling its first event. Seats
//! are never stored anywhere else.
//!
//! ## Heartbeats without timers
//! `setTimeout` would keep the object awake; an alarm does not. One alarm per room, at the time
//! the state machine asks for (`Room::next_alarm`), sends Engine.IO v4 pings and closes sockets
//! that stayed silent. The platform answers one client frame per object by itself
//! (`setWebSocketAutoResponse`), without waking it, and records when it did for each socket.
//! In a room of v4 clients that frame is the pong `3` (answered with a noop `6`): the alarm that
//! sends a round of pings also checks the previous round's pong times, so an idle room wakes once
//! per ping interval and pongs never wake it. While a v3 client is in the room the frame is the v3
//! ping `2` (answered `3`), the v3 client's sign of life; v4 pongs then arrive as messages, and
//! the last one of a round moves the alarm to the next round.
//!
//! ## A hand-written binding, every handler synchronous
//! The class is exported with plain `#[wasm_bindgen]` rather than workers-rs's
//! `#[durable_object]`, whose handlers are `async` (a Promise, a task and a microtask per call)
//! and copy each frame into a Rust `String` with wasm-bindgen's character-by-character loop.
//! Nothing here needs to wait: the alarm is written without awaiting the write (the platform's
//! output gate holds our outgoing frames until it is stored, and resets the object if it fails)
//! and is not read back after a wake (the first event after a wake writes it again). So every
//! handler runs to completion in one call and returns nothing (or a `Response`). A text frame is
//! copied into a reused buffer with the platform's `TextEncoder.encodeInto`, and a frame the room
//! forwards unchanged (`Action::Forward`: the `message` relay, `42[...]` in, the same bytes out)
//! is sent as the very JS string that arrived, without a copy back out.

use std::cell::{Cell, RefCell};

use signal_core::handshake;
use signal_core::ids;
use signal_core::room::{self, Action, Conn};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{self, JsString, Uint8Array};
use worker::worker_sys::{self, web_sys};
use worker::{console_error, console_log, Env, Error, Response, State, WebSocket, WebSocketPair};

use crate::config;

#[wasm_bindgen]
extern "C" {
    /// A websocket, seen through the one method the relay needs beyond workers-rs's.
    #[wasm_bindgen(js_name = WebSocket)]
    type RawSocket;
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_js_string(this: &RawSocket, frame: &JsString) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = serializeAttachment)]
    fn serialize_attachment(this: &RawSocket, value: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = deserializeAttachment)]
    fn deserialize_attachment(this: &RawSocket) -> Result<JsValue, JsValue>;

    /// The platform's `TextEncoder`.
    #[wasm_bindgen(js_name = TextEncoder)]
    type Utf8Encoder;
    #[wasm_bindgen(constructor, js_class = TextEncoder)]
    fn new() -> Utf8Encoder;
    #[wasm_bindgen(method, js_class = TextEncoder, js_name = encodeInto)]
    fn encode_into(this: &Utf8Encoder, source: &JsString, dest: &Uint8Array) -> EncodeIntoResult;
    type EncodeIntoResult;
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> u32;
}

/// The Durable Object class the platform instantiates (`class_name = "Room"` in wrangler.toml;
/// the core's `room::Room` is the state machine it drives).
#[wasm_bindgen(js_name = Room)]
pub struct RoomObject {
    object: Object,
}

struct Object {
    state: State,
    inner: RefCell<Inner>,
    /// The last text frame, as UTF-8 (reused between frames).
    scratch: RefCell<Vec<u8>>,
    encoder: Utf8Encoder,
    /// Handles a failed alarm write (only reports it: the platform resets the object then).
    on_write_error: Closure<dyn FnMut(JsValue)>,
    /// `LOG_WAKES=1`: log object creation, each handler call and each storage write (tests and
    /// the benchmark count them to prove hibernation, to measure wake-ups and to show that
    /// relaying writes nothing).
    log_wakes: bool,
    /// The handler running (for those log lines).
    handler: Cell<&'static str>,
    /// JS copies of the constant parts of spliced frames.
    statics: RefCell<Vec<(&'static str, JsString)>>,
}

struct Inner {
    room: room::Room<WebSocket>,
    /// The room was rebuilt from the sockets' attachments since this object was created.
    loaded: bool,
    /// The alarm as last written, so it is written only when it must change.
    alarm: Alarm,
    /// The auto-response pair as last set by this object (`None`: not yet).
    auto_response: Option<room::AutoResponse>,
}

/// What this object knows of the room's alarm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alarm {
    /// Not known (after a wake, or a write that failed): the next sync writes it.
    Unknown,
    /// Set for this time (ms since the epoch), or not set.
    Known(Option<u64>),
}

#[wasm_bindgen(js_class = Room)]
impl RoomObject {
    #[wasm_bindgen(constructor)]
    pub fn new(state: worker_sys::DurableObjectState, env: Env) -> RoomObject {
        let log_wakes = config::log_wakes(&env);
        if log_wakes {
            console_log!("[room] wake: object created");
        }
        let on_write_error = Closure::new(|err: JsValue| {
            console_error!("[room] alarm write failed: {:?}", err);
        });
        RoomObject {
            object: Object {
                state: State::from(state),
                inner: RefCell::new(Inner {
                    room: room::Room::new(config::room(&env)),
                    loaded: false,
                    alarm: Alarm::Unknown,
                    auto_response: None,
                }),
                scratch: RefCell::new(Vec::new()),
                encoder: Utf8Encoder::new(),
                on_write_error,
                log_wakes,
                handler: Cell::new("constructor"),
                statics: RefCell::new(Vec::new()),
            },
        }
    }

    /// A websocket upgrade forwarded by the Worker.
    pub fn fetch(&self, req: web_sys::Request) -> Result<web_sys::Response, JsValue> {
        let o = &self.object;
        o.trace("fetch");
        o.load();
        let response = o.accept(&req).map_err(JsValue::from)?;
        o.sync_platform();
        Ok(response.into())
    }

    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn web_socket_message(&self, ws: web_sys::WebSocket, message: JsValue) {
        let o = &self.object;
        o.trace("websocket_message");
        o.load();
        o.on_message(WebSocket::from(ws), &message);
        o.sync_platform();
    }

    #[wasm_bindgen(js_name = webSocketClose)]
    pub fn web_socket_close(
        &self,
        ws: web_sys::WebSocket,
        code: u32,
        _reason: JsValue,
        _clean: bool,
    ) {
        self.object.trace("websocket_close");
        // Answer with the client's own code where one may be sent back.
        let code = u16::try_from(code)
            .ok()
            .filter(|c| is_sendable_close_code(*c))
            .unwrap_or(room::close_code::NORMAL);
        self.object.client_gone(WebSocket::from(ws), code, "closed");
    }

    #[wasm_bindgen(js_name = webSocketError)]
    pub fn web_socket_error(&self, ws: web_sys::WebSocket, _error: JsValue) {
        self.object.trace("websocket_error");
        self.object.client_gone(
            WebSocket::from(ws),
            room::close_code::NORMAL,
            "socket error",
        );
    }

    pub fn alarm(&self) {
        let o = &self.object;
        o.trace("alarm");
        o.load();
        let actions = {
            let mut inner = o.inner.borrow_mut();
            // The alarm that woke us is spent.
            inner.alarm = Alarm::Known(None);
            inner.room.on_alarm(now(), |ws| o.auto_response_time(ws))
        };
        o.apply(actions, None);
        o.sync_platform();
    }
}

impl Object {
    /// Accepts the websocket of an upgrade the handshake checks let through.
    fn accept(&self, req: &web_sys::Request) -> worker::Result<Response> {
        // The Worker checked already; the object does not trust its callers blindly.
        let accepted = match crate::judge_handshake(req)? {
            Ok(a) => a,
            Err(err) => return crate::handshake_error(err),
        };
        if !self.inner.borrow().room.can_accept() {
            return crate::handshake_error(handshake::Error::TooManyConnections);
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let mut conn = Conn::new(
            new_sid()?,
            new_sid()?,
            accepted.protocol,
            accepted.room,
            now(),
        );
        conn.resume = accepted.resume;
        let actions = self.inner.borrow_mut().room.open(pair.server, conn);
        self.apply(actions, None);
        Response::from_websocket(pair.client)
    }

    /// A frame from a socket: text is handed to the room as UTF-8, binary as bytes.
    fn on_message(&self, ws: WebSocket, message: &JsValue) {
        let mut inner = self.inner.borrow_mut();
        let max_payload = inner.room.config().max_payload;
        let Some(text) = message.dyn_ref::<JsString>() else {
            let bytes = Uint8Array::new(message);
            let actions = if bytes.length() as usize > max_payload {
                inner.room.on_oversize(&ws, now())
            } else {
                inner.room.on_binary(&ws, &bytes.to_vec(), now())
            };
            drop(inner);
            return self.apply(actions, None);
        };
        // Every UTF-16 unit takes at least one UTF-8 byte.
        let units = text.length() as usize;
        if units > max_payload {
            let actions = inner.room.on_oversize(&ws, now());
            drop(inner);
            return self.apply(actions, None);
        }
        let mut scratch = self.scratch.borrow_mut();
        let frame = self.utf8(text, &mut scratch);
        let actions = inner.room.on_text(&ws, frame, now());
        drop(inner);
        let incoming = Incoming {
            js: text,
            utf8: frame,
            // As many UTF-16 units as UTF-8 bytes: all ASCII, so byte offsets are JS offsets.
            ascii: units == frame.len(),
        };
        self.apply(actions, Some(&incoming));
    }

    /// Copies a JS string into `buf` as UTF-8 with the platform's encoder.
    fn utf8<'b>(&self, text: &JsString, buf: &'b mut Vec<u8>) -> &'b str {
        // At most three UTF-8 bytes per UTF-16 unit.
        let room_for = text.length() as usize * 3;
        buf.clear();
        buf.reserve(room_for);
        // SAFETY: the view covers `buf`'s own capacity, nothing allocates (which could move the
        // buffer or grow the memory) before `encodeInto` returns, and only the bytes it reports
        // as written are then counted as initialised.
        let written = unsafe {
            let view = Uint8Array::view_mut_raw(buf.as_mut_ptr(), room_for);
            let written = self.encoder.encode_into(text, &view).written() as usize;
            let written = written.min(room_for);
            buf.set_len(written);
            written
        };
        // `encodeInto` writes well-formed UTF-8 (lone surrogates become U+FFFD), so this never
        // fails; were it to, the empty frame is refused as an invalid packet.
        std::str::from_utf8(&buf[..written]).unwrap_or("")
    }

    /// The client's side of a socket is gone (closed or failed): the room lets it go, and the
    /// closing handshake is completed now, or the client would wait and then see 1006.
    fn client_gone(&self, ws: WebSocket, code: u16, reason: &str) {
        self.load();
        let actions = self.inner.borrow_mut().room.on_close(&ws);
        self.apply(actions, None);
        let _ = ws.close(Some(code), Some(reason));
        self.sync_platform();
    }

    fn trace(&self, handler: &'static str) {
        if self.log_wakes {
            self.handler.set(handler);
            console_log!("[room] handler: {handler}");
        }
    }

    /// Rebuilds the room from the sockets' attachments after the object was (re)created.
    fn load(&self) {
        let mut inner = self.inner.borrow_mut();
        if inner.loaded {
            return;
        }
        let sockets = self.state.get_websockets();
        // A room without sockets has no alarm worth knowing: a stale one only finds the room
        // empty. With sockets, the alarm is unknown and the first sync writes it.
        inner.alarm = if sockets.is_empty() {
            Alarm::Known(None)
        } else {
            Alarm::Unknown
        };
        for ws in sockets {
            match stored_conn(&ws) {
                Some(conn) if !conn.closing => {
                    let seen = self.auto_response_time(&ws).unwrap_or(0);
                    inner.room.restore(ws, conn, seen);
                }
                Some(_) => {}
                // Accepted but never set up (the object died in between): nothing to resume.
                None => {
                    let _ = close(&ws, room::Cause::SessionLost);
                }
            }
        }
        inner.loaded = true;
    }

    /// Brings the platform in line with what the room needs next: the auto-response pair, and
    /// the alarm (set, moved sooner or deleted, never awaited; an alarm that would move later is
    /// left to fire early, see `room::alarm_needs_write`).
    fn sync_platform(&self) {
        self.sync_auto_response();
        let want = {
            let mut inner = self.inner.borrow_mut();
            let want = inner.room.next_alarm();
            let write = match inner.alarm {
                Alarm::Unknown => true,
                Alarm::Known(set) => room::alarm_needs_write(set, want),
            };
            if !write {
                return;
            }
            inner.alarm = Alarm::Known(want);
            want
        };
        if self.log_wakes {
            let op = if want.is_some() {
                "setAlarm"
            } else {
                "deleteAlarm"
            };
            console_log!("[room] storage: {op} (in {})", self.handler.get());
        }
        let storage = self.state.storage();
        let storage = storage.as_raw();
        let written = match want {
            Some(t) => storage.set_alarm(
                js_sys::Date::new(&JsValue::from_f64(t as f64)),
                js_sys::Object::new(),
            ),
            None => storage.delete_alarm(js_sys::Object::new()),
        };
        match written {
            Ok(promise) => {
                let _ = promise.catch(&self.on_write_error);
            }
            Err(err) => {
                console_error!("[room] alarm write refused: {:?}", err);
                self.inner.borrow_mut().alarm = Alarm::Unknown;
            }
        }
    }

    /// Points the platform's auto-response at the heartbeat frame the room wants answered
    /// without waking it (`Room::auto_response`): v4 pongs, or v3 pings while a v3 client is in.
    fn sync_auto_response(&self) {
        let mut inner = self.inner.borrow_mut();
        let want = inner.room.auto_response();
        if inner.auto_response == Some(want) {
            return;
        }
        let (request, response) = want.pair();
        if let Ok(pair) = worker_sys::WebSocketRequestResponsePair::new(request, response) {
            self.state.set_websocket_auto_response(&pair);
            inner.auto_response = Some(want);
        }
    }

    /// Carries out what the state machine decided. `incoming` is the text frame being handled,
    /// which a forward sends as it is and a splice is cut from. A failed send means the socket is
    /// already gone; its close event follows and is handled there.
    fn apply(&self, actions: Vec<Action<WebSocket>>, incoming: Option<&Incoming<'_>>) {
        for action in actions {
            let _ = match action {
                Action::Send(ws, frame) => ws.send_with_str(frame),
                Action::Forward(ws) => match incoming {
                    Some(frame) => raw(&ws).send_js_string(frame.js).map_err(Error::from),
                    // Only a text frame is ever forwarded.
                    None => Ok(()),
                },
                Action::Splice(ws, splice) => match incoming {
                    // Cut and joined as JS strings: nothing copied out of wasm memory.
                    Some(frame) if frame.ascii => {
                        let body = frame
                            .js
                            .slice(splice.body.start as u32, splice.body.end as u32);
                        let whole = self
                            .js_static(splice.head)
                            .concat(&body)
                            .concat(&self.js_static(splice.tail));
                        raw(&ws).send_js_string(&whole).map_err(Error::from)
                    }
                    Some(frame) => ws.send_with_str(splice.build(frame.utf8)),
                    None => Ok(()),
                },
                Action::SendBinary(ws, data) => ws.send_with_bytes(data),
                Action::Persist(ws, conn) => persist(&ws, &conn),
                Action::Close(ws, cause) => close(&ws, cause),
            };
        }
    }

    /// A JS copy of a constant string, made once.
    fn js_static(&self, s: &'static str) -> JsString {
        let mut statics = self.statics.borrow_mut();
        if let Some((_, js)) = statics.iter().find(|(k, _)| std::ptr::eq(*k, s)) {
            return js.clone();
        }
        let js = JsString::from(s);
        statics.push((s, js.clone()));
        js
    }

    /// When the platform last answered this socket's auto-response frame for us.
    /// (No workers-rs binding exists for `getWebSocketAutoResponseTimestamp` yet.)
    fn auto_response_time(&self, ws: &WebSocket) -> Option<u64> {
        let raw: &JsValue = self.state.as_raw().as_ref();
        let f = js_sys::Reflect::get(raw, &JsValue::from_str("getWebSocketAutoResponseTimestamp"))
            .ok()?;
        let f = f.dyn_into::<js_sys::Function>().ok()?;
        let socket: &web_sys::WebSocket = ws.as_ref();
        let socket: &JsValue = socket.as_ref();
        let date = f.call1(raw, socket).ok()?;
        let date = date.dyn_into::<js_sys::Date>().ok()?;
        let t = date.get_time();
        (t.is_finite() && t >= 0.0).then_some(t as u64)
    }
}

/// A text frame being handled: as it arrived, and as UTF-8.
struct Incoming<'a> {
    js: &'a JsString,
    utf8: &'a str,
    /// Only ASCII characters (UTF-8 offsets are UTF-16 offsets).
    ascii: bool,
}

fn raw(ws: &WebSocket) -> &RawSocket {
    let socket: &web_sys::WebSocket = ws.as_ref();
    socket.unchecked_ref()
}

/// Stores a socket's state as its attachment, as the JSON text of its `Conn`: one string crosses
/// to JS, instead of an object built there field by field.
fn persist(ws: &WebSocket, conn: &Conn) -> worker::Result<()> {
    let json = serde_json::to_string(conn)?;
    raw(ws)
        .serialize_attachment(&JsValue::from_str(&json))
        .map_err(Error::from)
}

/// The state [`persist`] stored for a socket, if any.
fn stored_conn(ws: &WebSocket) -> Option<Conn> {
    let json = raw(ws).deserialize_attachment().ok()?.as_string()?;
    serde_json::from_str(&json).ok()
}

/// Closes a socket for `cause`, with its code and reason.
fn close(ws: &WebSocket, cause: room::Cause) -> worker::Result<()> {
    ws.close(Some(cause.code()), Some(cause.reason()))
}

/// Close codes an endpoint may put in a close frame (RFC 6455 §7.4).
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn new_sid() -> worker::Result<String> {
    let mut bytes = [0u8; ids::SID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::RustError(e.to_string()))?;
    Ok(ids::base64url(&bytes))
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}
