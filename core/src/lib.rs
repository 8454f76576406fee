//! The pure core of the signalling service: everything that can be decided without I/O.
//!
//! It has no dependency on the `worker` crate, so `cargo test` runs it on the host. The Worker
//! and its Durable Object (the crate at the repository root) decode nothing themselves: they hand
//! frames and events to this crate and carry out the [`room::Action`]s it returns.
//!
//! # Layout
//! Layers, each using only those before it: `json`, `base64` → `engineio` → `socketio` → `handshake`,
//! `ids` → `room` → `server`; `ice` uses only `json`, `base64` and `ids`.
//! - [`json`]: one pass that checks raw JSON (with the depth limit) and splits an array into raw
//!   slices; serde_json's verdict, its reference; a depth scan.
//! - [`base64`]: standard and URL-safe base64.
//! - [`engineio`]: Engine.IO packets (v3 and v4): decode, open packet, binary framing, and the
//!   long-polling payloads.
//! - [`socketio`]: Socket.IO packets (protocol v4 and v5): the grammar, payload shape checks,
//!   and every frame the server sends.
//! - [`handshake`]: the `/socket.io/` request checks and the reference server's HTTP errors,
//!   and room-name validation.
//! - [`ids`]: session and room ids as URL-safe base64.
//! - [`ice`]: what `/config.json` answers: the TURN provider from the vars, TURN REST API
//!   credentials (HMAC-SHA1), Cloudflare's answer checked and filtered, the rate limiter's key.
//! - [`room`]: the two-seat room state machine (the codelab's `create or join` protocol),
//!   heartbeats and timeouts; its own `# Layout` names its parts.
//! - [`server`]: one room's Engine.IO sessions on both transports (websocket and long-polling,
//!   and the upgrade between them) around the room: the transport seam.

pub mod base64;
pub mod engineio;
pub mod handshake;
pub mod ice;
pub mod ids;
pub mod json;
pub mod room;
pub mod server;
pub mod socketio;
