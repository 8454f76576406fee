//! The `Room` Durable Object: one per room name, holding that room's sessions — websockets, and
//! long-polling sessions with their held requests.
//!
//! ## Hibernation
//! Websockets are accepted with the hibernation API (`acceptWebSocket`), so an idle room costs
//! nothing: the platform keeps the connections open, evicts the object from memory, and creates
//! it again (the constructor runs anew) when a message, a close or the alarm arrives. Anything
//! kept only in memory is lost then. So each websocket's state (`signal_core::room::Conn`: ids,
//! protocol, seat, heartbeat; or, for an upgrade probe, the session it upgrades) is written to
//! the socket's own attachment whenever it changes, and a long-polling session's record (its
//! `Conn` and its queue of packets for the client) to the object's SQLite storage. A fresh
//! object rebuilds the room from both before handling its first event. Seats are never stored
//! anywhere else. A long-polling session keeps the object awake only while one of its requests
//! is pending (a held GET is an open request); between requests it hibernates like the rest.
//!
//! ## Heartbeats without timers
//! `setTimeout` would keep the object awake; an alarm does not. One alarm per room, at the time
//! the core asks for (`Server::next_alarm`), sends Engine.IO v4 pings, closes sockets that stayed
//! silent or never took a seat, and answers held polls that waited a ping interval. The platform
//! answers one client frame per object by itself (`setWebSocketAutoResponse`), without waking
//! it, and records when it did for each socket: in a room of v4 clients that frame is the pong
//! `3` (answered with a noop `6`), so pongs never wake the room; while a v3 client is in the room
//! it is the v3 ping `2` (answered `3`), the v3 client's sign of life. Whatever event wakes the
//! object first does any alarm work already due, so a request never finds a session that should
//! have timed out.
//!
//! ## A hand-written binding, handlers synchronous where they can be
//! The platform's `Room` class is a small JS class (`src/entry.mjs`) around this one, `WasmRoom`,
//! made with [`RoomObject::open`]: it forwards each handler call and, after a crash, resets the
//! Wasm module and makes the room again (as worker-build's export wrapper does, without its new
//! `Proxy` per call). This class is exported with plain `#[wasm_bindgen]` rather than
//! workers-rs's `#[durable_object]`, whose handlers are `async` (a Promise, a task and a
//! microtask per call) and copy each frame into a Rust `String` with wasm-bindgen's
//! character-by-character loop.
//! Websocket handlers, the alarm and GETs need not wait: the alarm is written without awaiting
//! the write (the platform's output gate holds our outgoing frames until it is stored) and is
//! not read back after a wake; SQLite writes are synchronous. Only a long-polling POST waits,
//! for its body. A text frame is copied into a reused buffer with the platform's
//! `TextEncoder.encodeInto`, and a frame the room forwards unchanged (the `message` relay) is
//! sent as the very JS string that arrived.

// # Layout
// - this file: the class, its handlers, accepting websockets, rebuilding after a wake;
// - `polling`: long-polling requests and the sessions' records;
// - `alarm`: the alarm, alarm work due at any event, the auto-response, resetting an empty room;
// - `out`: carrying out the core's decisions on the platform;
// - `js`: the extra JS bindings and small helpers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use signal_core::engineio::payload::Body;
use signal_core::handshake::{self, Method, Transport};
use signal_core::ids;
use signal_core::room::{self, Cause, Conn};
use signal_core::server::{Attachment, Out, Poll, Server};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{self, JsString, Promise, Uint8Array};
use worker::wasm_bindgen_futures::{self, JsFuture};
use worker::worker_sys::{self, web_sys};
use worker::{
    console_error, console_log, Env, Error, Headers, Response, State, WebSocket, WebSocketPair,
};

use crate::config;

mod alarm;
mod js;
mod out;
mod polling;

use js::*;

/// The Wasm half of the Durable Object class the platform instantiates (`class_name = "Room"` in
/// wrangler.toml, defined in `src/entry.mjs`; the core's `room::Room` is the state machine it
/// drives, through `server::Server`).
#[wasm_bindgen(js_name = WasmRoom)]
pub struct RoomObject {
    object: Rc<Object>,
}

/// Laid out as declared (`repr(C)`): what every websocket frame reads (the trace flag, the
/// room's borrow flag, then `Inner`'s and the core's per-frame fields, which they lay out first)
/// comes first, on two cache lines after the `Rc`'s counts. With hundreds of rooms relaying at
/// once a room's state is most often out of the CPU's caches when its frame arrives; the
/// compiler's own order spread these fields over four lines.
#[repr(C)]
struct Object {
    /// `LOG_WAKES=1`: log object creation, each handler call and each storage write (tests and
    /// the benchmark count them to prove hibernation, to measure wake-ups and to show that
    /// relaying writes nothing).
    log_wakes: bool,
    /// The room has closed a hibernatable websocket itself (see `abort_if_empty`).
    server_closed: Cell<bool>,
    /// The handler running (for those log lines).
    handler: Cell<&'static str>,
    inner: RefCell<Inner>,
    state: State,
    /// Handles a failed alarm write (only reports it: the platform resets the object then).
    on_write_error: Closure<dyn FnMut(JsValue)>,
    /// Held long-polling GETs: the session id and the function that resolves the request's
    /// promise with its response.
    held: RefCell<Vec<(String, js_sys::Function)>>,
    /// Long-polling POSTs whose bodies are still being read: the session id and when the
    /// request arrived (a pong in it is a pong in time, whatever the alarm does meanwhile).
    posting: RefCell<Vec<(String, u64)>>,
    /// The room's tag in log lines (`ids::room_tag`), once the room's name is known.
    room_tag: RefCell<Option<String>>,
}

/// Laid out as declared (`repr(C)`, see [`Object`]): the per-frame fields first, the core's
/// `Server` (its own per-frame fields first) before the rest.
#[repr(C)]
struct Inner {
    /// The room was rebuilt from storage since this object was created.
    loaded: bool,
    /// The long-polling table exists (made at the first session's first record).
    polling_table: bool,
    /// The alarm as last written, so it is written only when it must change.
    alarm: Alarm,
    server: Server<WebSocket>,
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

/// The conformance profile only: a frame that panics, so that the tests see the module reset
/// and every room's sessions go on (tests/conformance.test.mjs).
#[cfg(feature = "conformance")]
const CRASH_FRAME: &str = "42[\"conformance: crash\"]";

/// Long-polling session records: one row per session.
const CREATE_POLLING: &str =
    "CREATE TABLE IF NOT EXISTS polling (sid TEXT PRIMARY KEY, record TEXT NOT NULL)";

#[wasm_bindgen(js_class = WasmRoom)]
impl RoomObject {
    /// The room object for the platform's object `state` (a static function, not a constructor:
    /// worker-build wraps what an exported class's constructor makes in a `Proxy`).
    pub fn open(state: worker_sys::DurableObjectState, env: Env) -> RoomObject {
        let log_wakes = config::log_wakes(&env);
        if log_wakes {
            console_log!("[room] wake: object created");
        }
        let on_write_error = Closure::new(|err: JsValue| {
            console_error!("[room] alarm write failed: {:?}", err);
        });
        RoomObject {
            object: Rc::new(Object {
                state: State::from(state),
                inner: RefCell::new(Inner {
                    server: Server::new(config::room(&env)),
                    loaded: false,
                    alarm: Alarm::Unknown,
                    auto_response: None,
                    polling_table: false,
                }),
                on_write_error,
                server_closed: Cell::new(false),
                log_wakes,
                handler: Cell::new("constructor"),
                held: RefCell::new(Vec::new()),
                posting: RefCell::new(Vec::new()),
                room_tag: RefCell::new(None),
            }),
        }
    }

    /// A `/socket.io/` request forwarded by the Worker: a websocket upgrade (a new session, or
    /// the upgrade of a polling session) or a long-polling GET or POST. Answers a `Response`,
    /// or a promise of one (a held GET, a POST whose body is still coming).
    pub fn fetch(&self, req: web_sys::Request) -> Result<JsValue, JsValue> {
        let o = &self.object;
        o.trace("fetch");
        o.load();
        o.catch_up();
        let accepted = match crate::judge_handshake(&req).map_err(JsValue::from)? {
            Ok(a) => a,
            Err(err) => return Ok(js(http_error(err)?)),
        };
        o.know_room(&accepted.room);
        let answer = match (accepted.transport, accepted.sid.clone(), accepted.method) {
            (Transport::WebSocket, None, _) => o.accept_websocket(accepted)?,
            (Transport::WebSocket, Some(sid), _) => o.accept_probe(&sid)?,
            (Transport::Polling, None, _) => o.open_polling(accepted)?,
            (Transport::Polling, Some(sid), Method::Get) => o.poll(sid)?,
            (Transport::Polling, Some(sid), _) => {
                Object::post(self.object.clone(), sid, req).into()
            }
        };
        o.sync_platform();
        Ok(answer)
    }

    /// Does nothing. Called after a crash, before any room is made again: the generated glue
    /// resets a crashed module at the start of a call, which must not be a call with a pointer
    /// into the old module's memory.
    pub fn recover() {}

    /// `now`: the clock as the class read it (`Date.now()`), one reading for the whole event.
    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn web_socket_message(&self, ws: web_sys::WebSocket, message: JsValue, now: f64) {
        let o = &self.object;
        o.trace("websocket_message");
        #[cfg(feature = "conformance")]
        if message.as_string().as_deref() == Some(CRASH_FRAME) {
            panic!("the conformance profile's crash frame");
        }
        let rebuilt = o.load();
        let t = now as u64;
        let caught_up = o.catch_up_at(t);
        let changed = o.on_message(WebSocket::from(ws), &message, t);
        // A relayed message leaves the alarm and the auto-response as they were (`keeps_timers`).
        if rebuilt || caught_up || changed {
            o.sync_platform();
        }
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
        // The alarm that woke us is spent.
        o.inner.borrow_mut().alarm = Alarm::Known(None);
        o.run_alarm();
        o.sync_platform();
    }
}

impl Object {
    /// A new websocket session.
    fn accept_websocket(&self, accepted: handshake::Accepted) -> Result<JsValue, JsValue> {
        if !self.inner.borrow().server.can_accept() {
            return Ok(js(http_error(handshake::Error::TooManyConnections)?));
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let conn = new_conn(&accepted)?;
        let outs = self
            .inner
            .borrow_mut()
            .server
            .open_websocket(pair.server, conn);
        self.apply(outs, None);
        Ok(js(Response::from_websocket(pair.client)?))
    }

    /// The websocket that upgrades polling session `sid`.
    fn accept_probe(&self, sid: &str) -> Result<JsValue, JsValue> {
        match self.inner.borrow().server.check_probe(sid) {
            Ok(()) => {}
            // A session that is already on a websocket (or being upgraded): as the reference
            // server, the websocket is accepted and closed at once. Not a hibernatable one:
            // workerd would keep its TCP connection open for about 10 s after the close, since
            // the client never sent anything on it.
            Err(handshake::Error::BadRequest) => {
                let pair = WebSocketPair::new()?;
                pair.server.accept()?;
                close(&pair.server, Cause::UpgradeRefused)?;
                return Ok(js(Response::from_websocket(pair.client)?));
            }
            Err(err) => return Ok(js(http_error(err)?)),
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let outs = self
            .inner
            .borrow_mut()
            .server
            .open_probe(sid, pair.server, now());
        self.apply(outs, None);
        Ok(js(Response::from_websocket(pair.client)?))
    }

    /// A frame from a websocket: text is handed to the core as UTF-8, binary as bytes. Whether
    /// what the room did may have moved its timers (see `Out::keeps_timers`).
    fn on_message(&self, ws: WebSocket, message: &JsValue, now: u64) -> bool {
        let max_payload = self.inner.borrow().server.config().max_payload;
        with_message(message, max_payload, |read| {
            let mut inner = self.inner.borrow_mut();
            let (outs, incoming) = match read {
                Message::Text(utf8, ascii) => {
                    let outs = inner.server.on_ws_text(ws, utf8, now);
                    let js = message.unchecked_ref();
                    (outs, Some(Incoming { js, utf8, ascii }))
                }
                Message::Oversize => (inner.server.on_ws_oversize(ws, now), None),
                Message::Binary => {
                    let bytes = Uint8Array::new(message);
                    let outs = if bytes.length() as usize > max_payload {
                        inner.server.on_ws_oversize(ws, now)
                    } else {
                        inner.server.on_ws_binary(ws, &bytes.to_vec(), now)
                    };
                    (outs, None)
                }
            };
            drop(inner);
            let changed = !outs.iter().all(Out::keeps_timers);
            self.apply(outs, incoming.as_ref());
            changed
        })
    }

    /// The client's side of a socket is gone (closed or failed): the room lets it go, and the
    /// closing handshake is completed now, or the client would wait and then see 1006.
    fn client_gone(&self, ws: WebSocket, code: u16, reason: &str) {
        self.load();
        self.catch_up();
        let outs = self.inner.borrow_mut().server.on_ws_close(ws.clone());
        self.apply(outs, None);
        let _ = ws.close(Some(code), Some(reason));
        self.sync_platform();
        self.abort_if_empty();
    }

    #[inline]
    fn trace(&self, handler: &'static str) {
        if self.log_wakes {
            self.handler.set(handler);
            console_log!("[room] handler: {handler}");
        }
    }

    /// Rebuilds the room from storage after the object was (re)created: long-polling sessions
    /// from their records, then the websockets from their attachments. Whether it did (only the
    /// first event of an object does).
    #[inline]
    fn load(&self) -> bool {
        !self.inner.borrow().loaded && self.rebuild()
    }

    /// [`Object::load`]'s work, out of line: every event asks, only the first does it.
    #[inline(never)]
    fn rebuild(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        inner.loaded = true;
        let t = now();
        let mut sessions = 0;
        // No table yet: no long-polling session was ever stored here.
        if let Ok(cursor) = self
            .state
            .storage()
            .sql()
            .exec("SELECT sid, record FROM polling", None)
        {
            inner.polling_table = true;
            for row in cursor.raw().flatten() {
                if let [worker::SqlStorageValue::String(sid), worker::SqlStorageValue::String(record)] =
                    row.as_slice()
                {
                    if inner.server.restore_polling(sid, record, t) {
                        sessions += 1;
                    }
                }
            }
        }
        let sockets = self.state.get_websockets();
        // A room without sessions has no alarm worth knowing: a stale one only finds the room
        // empty. With sessions, the alarm is unknown and the first sync writes it.
        inner.alarm = if sockets.is_empty() && sessions == 0 {
            Alarm::Known(None)
        } else {
            Alarm::Unknown
        };
        let mut outs = Vec::new();
        for ws in sockets {
            match stored_attachment(&ws) {
                Some(attachment) => {
                    let seen = self.auto_response_time(&ws).unwrap_or(0);
                    outs.extend(inner.server.restore_websocket(ws, attachment, seen));
                }
                // Accepted but never set up (the object died in between): nothing to resume.
                None => outs.push(Out::Close(ws, Cause::SessionLost)),
            }
        }
        let name = inner.server.room().name().map(str::to_string);
        drop(inner);
        if let Some(name) = name {
            self.know_room(&name);
        }
        self.apply(outs, None);
        true
    }

    /// Remembers the room's tag for log lines.
    fn know_room(&self, room: &str) {
        let mut tag = self.room_tag.borrow_mut();
        if tag.is_none() {
            *tag = Some(ids::room_tag(room));
        }
    }
}
