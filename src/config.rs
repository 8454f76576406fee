//! Settings from wrangler vars (`[vars]` in `wrangler.toml`), each with the contract's default.
//!
//! | var | meaning | default |
//! |---|---|---|
//! | `PING_INTERVAL` | ms between heartbeats | 25000 |
//! | `PING_TIMEOUT` | ms a heartbeat may go unanswered | 20000 |
//! | `MAX_PAYLOAD` | largest frame in bytes | 65536 |
//! | `CONNECT_TIMEOUT` | ms a v4 socket may stay open without connecting to `/` | 45000 |
//! | `RATE_BURST` | Socket.IO packets a socket may send at once | 200 |
//! | `RATE_PER_SEC` | packets per second the allowance refills | 50 |
//! | `RATE_KICK_AFTER` | packets dropped in a row before the socket is closed (1008) | 200 |
//! | `MAX_PENDING` | sockets without a seat one room keeps open; more get HTTP 429 | 8 |
//! | `LOG_WAKES` | `1`: the room object logs its creation, handler calls and storage writes | unset |
//! | `ICE_SERVERS` | the page's `RTCPeerConnection` `iceServers`, as JSON | a public STUN server |

use signal_core::room::Config;
use worker::Env;

fn number<T: std::str::FromStr>(env: &Env, name: &str) -> Option<T> {
    env.var(name).ok()?.to_string().trim().parse().ok()
}

/// The room settings, from vars where they are set and valid.
pub fn room(env: &Env) -> Config {
    let d = Config::default();
    // A positive number, or the default.
    fn or<T: std::str::FromStr + PartialOrd + Default>(env: &Env, name: &str, default: T) -> T {
        number(env, name)
            .filter(|v| *v > T::default())
            .unwrap_or(default)
    }
    Config {
        ping_interval: or(env, "PING_INTERVAL", d.ping_interval),
        ping_timeout: or(env, "PING_TIMEOUT", d.ping_timeout),
        max_payload: or(env, "MAX_PAYLOAD", d.max_payload),
        connect_timeout: or(env, "CONNECT_TIMEOUT", d.connect_timeout),
        rate_burst: or(env, "RATE_BURST", d.rate_burst),
        rate_per_sec: or(env, "RATE_PER_SEC", d.rate_per_sec),
        rate_kick_after: or(env, "RATE_KICK_AFTER", d.rate_kick_after),
        max_pending: or(env, "MAX_PENDING", d.max_pending),
    }
}

/// The room for `/socket.io/` connections that name none. Only the conformance profile has one
/// (the official test suite connects without a `room`); in production such connections get
/// `{"code":3,"message":"Bad request"}`.
pub fn default_room() -> Option<&'static str> {
    #[cfg(feature = "conformance")]
    return Some("conformance");
    #[cfg(not(feature = "conformance"))]
    None
}

/// The ICE servers handed to the page, as a JSON array. Used only when `ICE_SERVERS` parses as
/// a JSON array; otherwise the public STUN default.
pub fn ice_servers(env: &Env) -> String {
    const DEFAULT: &str = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;
    env.var("ICE_SERVERS")
        .ok()
        .map(|v| v.to_string())
        .filter(|v| {
            matches!(
                serde_json::from_str::<serde_json::Value>(v),
                Ok(serde_json::Value::Array(_))
            )
        })
        .unwrap_or_else(|| DEFAULT.to_string())
}

/// Whether the room object logs its wake-ups (`LOG_WAKES=1`).
pub fn log_wakes(env: &Env) -> bool {
    env.var("LOG_WAKES").is_ok_and(|v| v.to_string() == "1")
}
