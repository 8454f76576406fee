//! Long-polling requests on the room object: the handshake, GETs answered now or held (a
//! promise resolved by a later event), POSTs read then handed to the core, and the sessions'
//! records in SQLite.

use super::*;

impl Object {
    /// A long-polling handshake: the open packet.
    pub(super) fn open_polling(&self, accepted: handshake::Accepted) -> Result<JsValue, JsValue> {
        if accepted.method != Method::Get {
            return Ok(js(http_error(handshake::Error::BadHandshakeMethod)?));
        }
        if !self.inner.borrow().server.can_accept() {
            return Ok(js(http_error(handshake::Error::TooManyConnections)?));
        }
        let conn = new_conn(&accepted)?;
        let (body, outs) = self
            .inner
            .borrow_mut()
            .server
            .open_polling(conn, accepted.base64);
        self.apply(outs, None);
        Ok(js(body_response(&body)?))
    }

    /// A long-polling GET: answered now, or held (a promise that a later `Out::Respond`
    /// resolves).
    pub(super) fn poll(&self, sid: String) -> Result<JsValue, JsValue> {
        let (answer, outs) = self.inner.borrow_mut().server.poll(&sid, now());
        self.apply(outs, None);
        Ok(match answer {
            Ok(Poll::Now(body)) => js(body_response(&body)?),
            Ok(Poll::Wait) => {
                let mut resolver = None;
                let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
                if let Some(resolve) = resolver {
                    self.held.borrow_mut().push((sid, resolve));
                }
                promise.into()
            }
            Err(err) => js(http_error(err)?),
        })
    }

    /// A long-polling POST: its body is read (unless its length is already too much), then
    /// handed to the session.
    pub(super) fn post(this: Rc<Object>, sid: String, req: web_sys::Request) -> Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            let max_payload = this.inner.borrow().server.config().max_payload;
            let headers = req.headers();
            let length = headers
                .get("Content-Length")
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<usize>().ok());
            let binary = headers
                .get("Content-Type")
                .ok()
                .flatten()
                .is_some_and(|t| t.starts_with("application/octet-stream"));
            let arrived = now();
            let body = if length.is_some_and(|n| n > max_payload) {
                None
            } else {
                this.posting.borrow_mut().push((sid.clone(), arrived));
                let buffer = JsFuture::from(req.array_buffer()?).await;
                let mut posting = this.posting.borrow_mut();
                if let Some(i) = posting.iter().position(|(s, t)| *s == sid && *t == arrived) {
                    posting.swap_remove(i);
                }
                drop(posting);
                Some(Uint8Array::new(&buffer?).to_vec())
            };
            this.trace("fetch (post body)");
            this.load();
            // The packets count as of the request's arrival.
            this.catch_up_at(arrived);
            let (result, outs) = {
                let mut inner = this.inner.borrow_mut();
                match &body {
                    Some(bytes) => inner.server.post(&sid, bytes, binary, arrived),
                    None => inner.server.post_oversize(&sid),
                }
            };
            this.apply(outs, None);
            this.sync_platform();
            let response = match result {
                Ok(()) => text_response("ok")?,
                Err(err) => http_error(err)?,
            };
            Ok(web_sys::Response::from(response).into())
        })
    }

    /// Answers the held GET of session `sid`.
    pub(super) fn answer_held(&self, sid: &str, response: Response) {
        let resolve = {
            let mut held = self.held.borrow_mut();
            let at = held.iter().position(|(s, _)| s == sid);
            at.map(|i| held.swap_remove(i).1)
        };
        if let Some(resolve) = resolve {
            let response: web_sys::Response = response.into();
            let _ = resolve.call1(&JsValue::NULL, &response);
        }
    }

    /// Stores a long-polling session's record (synchronous SQLite, covered by the output gate).
    pub(super) fn save_record(&self, sid: &str, record: &str) -> worker::Result<()> {
        let sql = self.state.storage().sql();
        let fresh_table = !self.inner.borrow().polling_table;
        if fresh_table {
            sql.exec(CREATE_POLLING, None)?;
            self.inner.borrow_mut().polling_table = true;
        }
        if self.log_wakes {
            console_log!(
                "[room] storage: save polling session (in {})",
                self.handler.get()
            );
        }
        sql.exec(
            "INSERT OR REPLACE INTO polling (sid, record) VALUES (?, ?)",
            vec![sid.into(), record.into()],
        )?;
        Ok(())
    }

    pub(super) fn forget_record(&self, sid: &str) -> worker::Result<()> {
        if !self.inner.borrow().polling_table {
            return Ok(());
        }
        if self.log_wakes {
            console_log!(
                "[room] storage: forget polling session (in {})",
                self.handler.get()
            );
        }
        self.state
            .storage()
            .sql()
            .exec("DELETE FROM polling WHERE sid = ?", vec![sid.into()])?;
        Ok(())
    }
}
