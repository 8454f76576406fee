//! The Worker: a stateless router in front of one Durable Object per room.
//!
//! # Layout
//! - this file: the Worker's `fetch` handler. It answers what needs no state (the reference
//!   server's HTTP errors, room-page routing, new room ids) and forwards each accepted websocket
//!   upgrade to the room's Durable Object.
//! - [`room_object`]: the `Room` Durable Object's Wasm half, thin glue between the hibernatable
//!   websocket API and the pure state machine in `signal_core::room`; its JS class, which the
//!   platform instantiates, is `src/entry.mjs`.
//! - [`config`]: settings from wrangler vars.
//! - [`ice`]: `/config.json`, the page's ICE servers with TURN credentials minted per answer.
//!
//! Static files (`public/`, plus the socket.io-client bundle copied there at build time) are served
//! by the platform's assets router before this code runs; only paths with no file reach it.
//!
//! ## Why a Durable Object per room
//! `id_from_name(room)` maps every request for one room name to the same single-threaded object,
//! wherever in the world it arrives, so the two peers of a room always meet in one place and the
//! seat count needs no locks. Rooms share nothing, so traffic can never cross between them.
//! Room names are checked here, before an object is addressed (and billed).

use signal_core::{handshake, ids};
use wasm_bindgen::prelude::*;
use worker::js_sys::Promise;
use worker::worker_sys::web_sys;
use worker::*;

pub mod config;
pub mod ice;
pub mod room_object;

/// The binding of the room Durable Object namespace in `wrangler.toml`.
const ROOMS_BINDING: &str = "ROOMS";
/// The binding of the static assets in `wrangler.toml`.
const ASSETS_BINDING: &str = "ASSETS";

#[event(start)]
fn start() {
    // A bug that slips through prints a legible message instead of "unreachable executed".
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
extern "C" {
    /// A Durable Object stub, for its `fetch`.
    type RawStub;
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch_request(
        this: &RawStub,
        req: &web_sys::Request,
    ) -> std::result::Result<Promise, JsValue>;
}

/// The Worker's `fetch` handler, exported by hand (instead of `#[event(fetch)]`): a websocket
/// upgrade for `/socket.io/` is judged and handed to its room's object in one synchronous call
/// that returns the object's own `fetch` promise, with no Rust future in between; the other
/// paths go through the async [`route`].
#[wasm_bindgen(js_name = fetch)]
pub fn fetch_entry(req: web_sys::Request, env: Env, _ctx: JsValue) -> Promise {
    let url = req.url();
    let (_, path, _) = handshake::split_url(&url);
    if path == "/socket.io" || path.starts_with("/socket.io/") {
        return match socket_io(&req, &env) {
            Ok(promise) => promise,
            Err(err) => Promise::resolve(&internal_error(err)),
        };
    }
    wasm_bindgen_futures::future_to_promise(async move {
        Ok(match route(Request::from(req), env).await {
            Ok(response) => web_sys::Response::from(response).into(),
            Err(err) => internal_error(err),
        })
    })
}

/// A failure of the platform (not of the client): logged, answered with a bare 500.
fn internal_error(err: Error) -> JsValue {
    console_error!("{err}");
    match Response::error("Internal server error", 500) {
        Ok(response) => web_sys::Response::from(response).into(),
        Err(err) => err.into(),
    }
}

/// Every path but `/socket.io/`.
async fn route(req: Request, env: Env) -> Result<Response> {
    let url = req.inner().url();
    let (origin, path, _) = handshake::split_url(&url);
    if path == "/new" {
        return new_room(origin);
    }
    if path == "/config.json" {
        return ice::config_json(&req, &env).await;
    }
    if path == "/healthz" {
        return healthz();
    }
    if let Some(room) = path.strip_prefix("/r/") {
        return room_page(room, origin, &env).await;
    }
    not_found()
}

/// `/socket.io/` (websocket upgrades and long-polling requests alike): the reference server's
/// checks, then the room's Durable Object.
fn socket_io(req: &web_sys::Request, env: &Env) -> Result<Promise> {
    match judge_handshake(req)? {
        Ok(accepted) => {
            let stub = env
                .durable_object(ROOMS_BINDING)?
                .id_from_name(&accepted.room)?
                .get_stub()?
                .into_rpc::<RawStub>();
            Ok(stub.fetch_request(req)?)
        }
        Err(err) => {
            let response: web_sys::Response = handshake_error(err)?.into();
            Ok(Promise::resolve(&JsValue::from(response)))
        }
    }
}

/// The contract's checks on a `/socket.io/` request (transport and upgrade, sid, EIO, room,
/// resume token). The outer `Result` is the platform's; the inner one the verdict.
pub fn judge_handshake(
    req: &web_sys::Request,
) -> Result<std::result::Result<handshake::Accepted, handshake::Error>> {
    let url = req.url();
    let (_, _, query) = handshake::split_url(&url);
    let is_upgrade = req
        .headers()
        .get("Upgrade")?
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let pairs = handshake::query_pairs(query);
    let query = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let method = handshake::Method::parse(&req.method());
    Ok(handshake::check(
        query,
        method,
        is_upgrade,
        config::default_room(),
    ))
}

/// HTTP 400 with the reference server's JSON body (429 for a room's connection cap, 413 with
/// no body for a long-polling body over `maxPayload`).
pub fn handshake_error(err: handshake::Error) -> Result<Response> {
    let headers = Headers::new();
    if !err.body().is_empty() {
        headers.set("Content-Type", "application/json")?;
    }
    Ok(Response::ok(err.body())?
        .with_status(err.status())
        .with_headers(headers))
}

/// `/new`: a fresh unguessable room, as a redirect to its page.
fn new_room(origin: &str) -> Result<Response> {
    let mut bytes = [0u8; ids::ROOM_ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::RustError(e.to_string()))?;
    let to = format!("{origin}/r/{}", ids::base64url(&bytes));
    // Built by hand: `Response.redirect` has immutable headers, and this one must not be cached.
    let headers = Headers::new();
    headers.set("Location", &to)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// `/r/<room>`: the video-chat page (one static file for every room; it reads the room from
/// its own URL).
async fn room_page(room: &str, origin: &str, env: &Env) -> Result<Response> {
    if !handshake::valid_room(room) {
        return Response::error("Room names are 1-64 characters of A-Z a-z 0-9 - _ .", 404);
    }
    // The assets router drops `.html` (`/room.html` redirects to `/room`).
    env.assets(ASSETS_BINDING)?
        .fetch(format!("{origin}/room"), None)
        .await
}

/// `/healthz`: the Worker is up. Touches no Durable Object (and so costs none).
fn healthz() -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::ok(r#"{"ok":true}"#)?.with_headers(headers))
}

fn not_found() -> Result<Response> {
    Response::error("Not found", 404)
}
