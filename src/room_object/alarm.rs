//! Time and the platform's heartbeat hooks: the alarm (set, moved sooner, never awaited), alarm
//! work done by whichever event comes first, the auto-response pair and its timestamps, and the
//! reset of an empty room.

use super::*;

impl Object {
    /// The last session is gone after the room closed a socket itself: the object resets
    /// itself, so that the TCP connections of the sockets it closed end now. workerd keeps a
    /// closed hibernatable socket's connection open until the object next goes idle (about
    /// 10 s) when the client never sent a data frame (README, "Differences").
    ///
    /// Only then: a reset drops the storage writes still in flight (even one whose promise has
    /// resolved), so the empty room's `deleteAlarm()` was lost and the stale alarm woke a fresh
    /// object for nothing a round later (found by the benchmark's call cost, bench/lib/cost.mjs).
    /// A room its clients left (a hang-up, a reload) keeps its write and simply goes idle. A
    /// reset that waited for `storage.sync()` would race the next request to the room (a
    /// reload's new socket got HTTP 500), so the reset stays immediate.
    pub(super) fn abort_if_empty(&self) {
        if !self.server_closed.get() || !self.is_idle() {
            return;
        }
        if self.log_wakes {
            console_log!("[room] abort: last session gone");
        }
        let raw: &JsValue = self.state.as_raw().as_ref();
        if let Ok(abort) = js_sys::Reflect::get(raw, &JsValue::from_str("abort")) {
            if let Ok(abort) = abort.dyn_into::<js_sys::Function>() {
                let _ = abort.call1(raw, &JsValue::from_str("the last session is gone"));
            }
        }
    }

    /// No session, held request or body being read.
    fn is_idle(&self) -> bool {
        self.inner.borrow().server.is_empty()
            && self.held.borrow().is_empty()
            && self.posting.borrow().is_empty()
    }

    /// Alarm work that is already due when another event wakes the object (the alarm itself
    /// may come a little later): done first, so that no event finds a session that should
    /// have timed out.
    pub(super) fn catch_up(&self) {
        self.catch_up_at(now());
    }

    /// [`Object::catch_up`] as of time `at`. Whether there was alarm work due.
    pub(super) fn catch_up_at(&self, at: u64) -> bool {
        let due = matches!(self.inner.borrow().alarm, Alarm::Known(Some(t)) if at >= t);
        if due {
            self.run_alarm_at(at);
        }
        due
    }

    pub(super) fn run_alarm(&self) {
        self.run_alarm_at(now());
    }

    pub(super) fn run_alarm_at(&self, at: u64) {
        let outs = {
            let posting = self.posting.borrow();
            self.inner.borrow_mut().server.on_alarm(
                at,
                |ws| self.auto_response_time(ws),
                |sid| posting.iter().find(|(s, _)| s == sid).map(|(_, t)| *t),
            )
        };
        self.apply(outs, None);
    }

    /// Brings the platform in line with what the room needs next: the auto-response pair, and
    /// the alarm (set, moved sooner or deleted, never awaited; an alarm that would move later is
    /// left to fire early, see `room::alarm_needs_write`).
    pub(super) fn sync_platform(&self) {
        self.sync_auto_response();
        let want = {
            let mut inner = self.inner.borrow_mut();
            let want = inner.server.next_alarm();
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
            // Never in the past: an alarm handler that sets the alarm earlier than the time the
            // running alarm was scheduled for loses it (the platform takes it for the alarm just
            // handled and deletes it when the handler ends), and the room would have no alarm
            // at all. The core does not ask for a past time after an alarm (tested); this is
            // the platform's side of the same rule. Found by the churn soak (bench/soak.mjs).
            Some(t) => storage.set_alarm(
                js_sys::Date::new(&JsValue::from_f64(t.max(now() + 1) as f64)),
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
    pub(super) fn sync_auto_response(&self) {
        let mut inner = self.inner.borrow_mut();
        let want = inner.server.room().auto_response();
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
    pub(super) fn auto_response_time(&self, ws: &WebSocket) -> Option<u64> {
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
