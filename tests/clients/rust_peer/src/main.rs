//! One peer of a room, spoken by the unmodified rust_socketio client (crates.io), for
//! tests/other-clients.test.mjs, as tests/clients/python_peer.py is for python-socketio. It joins
//! ROOM, and once `ready` sends one message; it prints every room event it gets as a JSON line
//! (`["name", ...args]`), and leaves (`bye`, then a disconnect) after it got a message.
//!
//!     rust-peer URL ROOM TRANSPORT [HOLD_MS]    # TRANSPORT: any | polling | websocket | upgrade
//!
//! With HOLD_MS it waits that long after `ready` before it sends its message (the server's
//! heartbeat meanwhile: the client's own pongs must keep it connected).

use rust_socketio::{ClientBuilder, Payload, RawClient, TransportType};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// One whole line at a time: callbacks run on the client's own thread.
fn say(name: &str, args: Vec<Value>) {
    let mut line = vec![Value::from(name)];
    line.extend(args);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", Value::Array(line));
    let _ = out.flush();
}

fn args_of(payload: Payload) -> Vec<Value> {
    match payload {
        Payload::Text(values) => values,
        Payload::Binary(bytes) => vec![json!({ "binary": bytes.len() })],
        #[allow(deprecated)]
        Payload::String(s) => vec![Value::from(s)],
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let (url, room, transport, hold) = match argv.as_slice() {
        [_, url, room, transport] => (url, room, transport, 0),
        [_, url, room, transport, hold] => (url, room, transport, hold.parse::<u64>().unwrap_or(0)),
        _ => {
            eprintln!("usage: rust-peer URL ROOM any|polling|websocket|upgrade [HOLD_MS]");
            std::process::exit(2);
        }
    };
    let transport = match transport.as_str() {
        "any" => TransportType::Any,
        "polling" => TransportType::Polling,
        "websocket" => TransportType::Websocket,
        "upgrade" => TransportType::WebsocketUpgrade,
        other => {
            eprintln!("unknown transport {other}");
            std::process::exit(2);
        }
    };
    let (got, got_rx) = mpsc::channel::<()>();
    let (opened, opened_rx) = mpsc::channel::<()>();
    let mut builder = ClientBuilder::new(format!("{url}?room={room}"))
        .transport_type(transport)
        .reconnect(false)
        .on("open", move |_, _| {
            let _ = opened.send(());
        })
        .on("error", |err, _| eprintln!("rust_socketio error: {err:?}"))
        .on("ready", {
            let room = room.clone();
            move |payload, socket: RawClient| {
                say("ready", args_of(payload));
                // From a thread of its own: the callback's thread also reads the server's
                // packets (its pings among them), which must go on meanwhile.
                if hold > 0 {
                    let socket = socket.clone();
                    let room = room.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(hold));
                        if let Err(e) = socket.emit("message", json!({ "from": "rust", "text": "héllo 🦀" })) {
                            eprintln!("emit message to {room}: {e}");
                        }
                    });
                    return;
                }
                if let Err(e) = socket.emit("message", json!({ "from": "rust", "text": "héllo 🦀" })) {
                    eprintln!("emit message to {room}: {e}");
                }
            }
        })
        .on("message", {
            let room = room.clone();
            move |payload, socket: RawClient| {
                say("message", args_of(payload));
                if let Err(e) = socket.emit("bye", json!(room)) {
                    eprintln!("emit bye: {e}");
                }
                let _ = got.send(());
            }
        });
    for name in ["created", "joined", "join", "full", "bye", "log"] {
        builder = builder.on(name, move |payload, _| say(name, args_of(payload)));
    }
    let client = match builder.connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect: {e}");
            std::process::exit(1);
        }
    };
    if opened_rx.recv_timeout(Duration::from_secs(10)).is_err() {
        eprintln!("no open within 10 s");
        std::process::exit(1);
    }
    say("connect", vec![]);
    if let Err(e) = client.emit("create or join", json!(room)) {
        eprintln!("emit create or join: {e}");
        std::process::exit(1);
    }
    let ok = got_rx.recv_timeout(Duration::from_millis(20_000 + hold)).is_ok();
    // Let the `bye` go out before the disconnect (the client sends each packet as it is emitted).
    let _ = client.disconnect();
    std::process::exit(if ok { 0 } else { 1 });
}
