//! The `Room` Durable Object: one per room name, holding that room's websockets.
//!
//! ## Hibernation
//! Sockets are accepted with the hibernation API (`accept_web_socket`), so an idle room costs
//! nothing: the platform keeps the connections open, evicts the object from memory, and creates
//! it again (`new` runs anew) when a message, a close or the alarm arrives. Anything kept only in
//! memory is lost then. So each socket's state (`signal_core::room::Conn`: ids, protocol, seat,
//! heartbeat) is written to the socket's own attachment whenever it changes, and a fresh object
//! rebuilds the room from `get_websockets()` before handling its first event. Seats are never
//! stored anywhere else.
//!
//! ## Heartbeats without timers
//! `setTimeout` would keep the object awake; an alarm does not. One alarm per room, at the time
//! the state machine asks for (`Room::next_alarm`), sends Engine.IO v4 pings and closes sockets
//! that stayed silent. The platform answers one client frame per object by itself
//! (`set_websocket_auto_response`), without waking it, and records when it did for each socket.
//! In a room of v4 clients that frame is the pong `3` (answered with a noop `6`): the alarm that
//! sends a round of pings also checks the previous round's pong times, so an idle room wakes once
//! per ping interval and pongs never wake it. While a v3 client is in the room the frame is the v3
//! ping `2` (answered `3`), the v3 client's sign of life; v4 pongs then arrive as messages, and
//! the last one of a round moves the alarm to the next round.

use std::cell::RefCell;

use signal_core::handshake;
use signal_core::ids;
use signal_core::room::{self, Action, Conn};
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::*;

use crate::config;

#[durable_object]
pub struct Room {
    state: State,
    inner: RefCell<Inner>,
    /// `LOG_WAKES=1`: log object creation and each handler call (tests and the benchmark count
    /// them to prove hibernation and to measure wake-ups).
    log_wakes: bool,
}

struct Inner {
    room: room::Room<WebSocket>,
    /// The room was rebuilt from the sockets' attachments since this object was created.
    loaded: bool,
    /// The alarm as last set or read, so it is written only when it changes.
    alarm: Option<u64>,
    /// The auto-response pair as last set by this object (`None`: not yet).
    auto_response: Option<room::AutoResponse>,
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        let log_wakes = config::log_wakes(&env);
        if log_wakes {
            console_log!("[room] wake: object created");
        }
        Room {
            state,
            inner: RefCell::new(Inner {
                room: room::Room::new(config::room(&env)),
                loaded: false,
                alarm: None,
                auto_response: None,
            }),
            log_wakes,
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        self.trace("fetch");
        // The Worker checked already; the object does not trust its callers blindly.
        let accepted = match crate::judge_handshake(&req)? {
            Ok(a) => a,
            Err(err) => return crate::handshake_error(err),
        };
        self.load().await?;
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
        apply(actions);
        self.sync_platform().await?;
        Response::from_websocket(pair.client)
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        self.trace("websocket_message");
        self.load().await?;
        let actions = {
            let mut inner = self.inner.borrow_mut();
            if inner.room.conn(&ws).is_none() {
                drop(inner);
                let _ = ws.close(
                    Some(room::close_code::PROTOCOL_ERROR),
                    Some("unknown session"),
                );
                return Ok(());
            }
            match &message {
                WebSocketIncomingMessage::String(text) => inner.room.on_text(&ws, text, now()),
                WebSocketIncomingMessage::Binary(bytes) => inner.room.on_binary(&ws, bytes, now()),
            }
        };
        apply(actions);
        self.sync_platform().await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.trace("websocket_close");
        // Answer with the client's own code where one may be sent back.
        let code = u16::try_from(code)
            .ok()
            .filter(|c| is_sendable_close_code(*c))
            .unwrap_or(room::close_code::NORMAL);
        self.client_gone(ws, code, "closed").await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.trace("websocket_error");
        self.client_gone(ws, room::close_code::NORMAL, "socket error")
            .await
    }

    async fn alarm(&self) -> Result<Response> {
        self.trace("alarm");
        self.load().await?;
        let actions = {
            let mut inner = self.inner.borrow_mut();
            // The alarm that woke us is spent.
            inner.alarm = None;
            inner.room.on_alarm(now(), |ws| self.auto_response_time(ws))
        };
        apply(actions);
        self.sync_platform().await?;
        Response::empty()
    }
}

impl Room {
    /// The client's side of a socket is gone (closed or failed): the room lets it go, and the
    /// closing handshake is completed now, or the client would wait and then see 1006.
    async fn client_gone(&self, ws: WebSocket, code: u16, reason: &str) -> Result<()> {
        self.load().await?;
        let actions = self.inner.borrow_mut().room.on_close(&ws);
        apply(actions);
        let _ = ws.close(Some(code), Some(reason));
        self.sync_platform().await
    }

    fn trace(&self, handler: &str) {
        if self.log_wakes {
            console_log!("[room] handler: {handler}");
        }
    }

    /// Rebuilds the room from the sockets' attachments after the object was (re)created.
    async fn load(&self) -> Result<()> {
        if self.inner.borrow().loaded {
            return Ok(());
        }
        let sockets = self.state.get_websockets();
        // A room without sockets has no alarm worth knowing: a stale one only finds the room
        // empty. Skipping the read keeps a fresh room's first join free of storage round trips.
        let alarm = if sockets.is_empty() {
            None
        } else {
            self.state.storage().get_alarm().await?
        };
        let mut inner = self.inner.borrow_mut();
        if inner.loaded {
            return Ok(());
        }
        for ws in sockets {
            match ws.deserialize_attachment::<Conn>() {
                Ok(Some(conn)) if !conn.closing => {
                    let seen = self.auto_response_time(&ws).unwrap_or(0);
                    inner.room.restore(ws, conn, seen);
                }
                Ok(Some(_)) => {}
                // Accepted but never set up (the object died in between): nothing to resume.
                _ => {
                    let _ = ws.close(Some(room::close_code::NORMAL), Some("session lost"));
                }
            }
        }
        inner.alarm = alarm.and_then(|t| u64::try_from(t).ok());
        inner.loaded = true;
        Ok(())
    }

    /// Brings the platform in line with what the room needs next: the auto-response pair, and
    /// the alarm (set, moved or deleted; written only when it changes).
    async fn sync_platform(&self) -> Result<()> {
        self.sync_auto_response();
        let want = {
            let mut inner = self.inner.borrow_mut();
            let want = inner.room.next_alarm();
            if want == inner.alarm {
                return Ok(());
            }
            // Recorded before the write, so an event handled meanwhile compares against it.
            inner.alarm = want;
            want
        };
        let storage = self.state.storage();
        let written = match want {
            Some(t) => {
                let at = js_sys::Date::new(&JsValue::from_f64(t as f64));
                storage.set_alarm(ScheduledTime::new(at)).await
            }
            None => storage.delete_alarm().await,
        };
        if written.is_err() {
            // Unknown now: the next event writes it again.
            self.inner.borrow_mut().alarm = Some(u64::MAX);
        }
        written
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

/// Carries out what the state machine decided. A failed send means the socket is already gone;
/// its close event follows and is handled there.
fn apply(actions: Vec<Action<WebSocket>>) {
    for action in actions {
        let _ = match action {
            Action::Send(ws, frame) => ws.send_with_str(frame),
            Action::SendBinary(ws, data) => ws.send_with_bytes(data),
            Action::Persist(ws, conn) => ws.serialize_attachment(conn),
            Action::Close(ws, code, reason) => ws.close(Some(code), Some(reason)),
        };
    }
}

/// Close codes an endpoint may put in a close frame (RFC 6455 §7.4).
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn new_sid() -> Result<String> {
    let mut bytes = [0u8; ids::SID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::RustError(e.to_string()))?;
    Ok(ids::base64url(&bytes))
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}
