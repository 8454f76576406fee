//! Prints the pure core's cost of relaying a `message` (decode, validate, relay frame, log line),
//! on the host: `cargo run --release -p signal-core --example relay_cost`. The Worker adds the
//! JS↔wasm crossings and the platform's own work on top.

use std::time::Instant;

use signal_core::engineio::Protocol;
use signal_core::room::{Config, Conn, Room};

fn main() {
    let mut room: Room<u32> = Room::new(Config {
        rate_burst: u32::MAX,
        rate_per_sec: u32::MAX,
        ..Config::default()
    });
    for h in [1, 2] {
        room.open(
            h,
            Conn::new(
                format!("e{h}"),
                format!("s{h}"),
                Protocol::V4,
                "r".into(),
                0,
            ),
        );
        room.on_text(&h, "40", 0);
        room.on_text(&h, r#"42["create or join","r"]"#, 0);
    }
    let candidate = r#"42["message",{"type":"candidate","label":0,"id":"0","candidate":"candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw network-cost 999"}]"#.to_string();
    let mut sdp = String::from("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n");
    while sdp.len() < 5000 {
        sdp.push_str("a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0\r\n");
    }
    let offer = format!(
        "42[\"message\",{}]",
        serde_json::json!({ "type": "offer", "sdp": sdp })
    );
    for (name, frame) in [("candidate", &candidate), ("sdp offer", &offer)] {
        let n = 200_000;
        let t = Instant::now();
        let mut bytes = 0;
        for i in 0..n {
            let out = room.on_text(&1, frame, i);
            bytes += out.len();
        }
        let per = t.elapsed().as_nanos() as f64 / n as f64;
        println!(
            "{name:10} {:6} B frame: {:8.2} µs per relayed message ({bytes} actions)",
            frame.len(),
            per / 1000.0
        );
    }
}
