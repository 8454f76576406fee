//! Settings from wrangler vars (`[vars]` in `wrangler.toml`, documented in the README's
//! "Configuration"). A var that is missing or not a positive number falls back to the core's
//! default (`signal_core::room::Config::default`), the one place the defaults are written.
//!
//! | var | `Config` field |
//! |---|---|
//! | `PING_INTERVAL` | `ping_interval` |
//! | `PING_TIMEOUT` | `ping_timeout` |
//! | `MAX_PAYLOAD` | `max_payload` |
//! | `CONNECT_TIMEOUT` | `connect_timeout` |
//! | `RATE_BURST` | `rate_burst` |
//! | `RATE_PER_SEC` | `rate_per_sec` |
//! | `RATE_KICK_AFTER` | `rate_kick_after` |
//! | `MAX_PENDING` | `max_pending` |
//! | `SEAT_GRACE` | `seat_grace` (0 allowed: no limit) |
//! | `UPGRADE_TIMEOUT` | `upgrade_timeout` |
//!
//! Not room settings: `ICE_SERVERS` (the page's STUN servers, [`ice_servers`]), `LOG_WAKES`
//! ([`log_wakes`]), and the TURN settings (`TURN_URLS`, `TURN_SECRET`, `TURN_KEY_ID`,
//! `TURN_KEY_API_TOKEN`, `TURN_TTL`, `TURN_API_ORIGIN`), read by `crate::ice` and decided by
//! `signal_core::ice::provider`.

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
        seat_grace: number(env, "SEAT_GRACE").unwrap_or(d.seat_grace),
        upgrade_timeout: or(env, "UPGRADE_TIMEOUT", d.upgrade_timeout),
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

/// The ICE servers the page gets when `ICE_SERVERS` is not set: a public STUN server. The one
/// place this default is written (`wrangler.toml` does not set `ICE_SERVERS`).
pub const DEFAULT_ICE_SERVERS: &str = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;

/// The ICE servers handed to the page, as a JSON array. Used only when `ICE_SERVERS` parses as
/// a JSON array; otherwise [`DEFAULT_ICE_SERVERS`].
pub fn ice_servers(env: &Env) -> String {
    const DEFAULT: &str = DEFAULT_ICE_SERVERS;
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
