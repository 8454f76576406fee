//! ICE servers for the page's `RTCPeerConnection`: what `GET /config.json` answers (contract,
//! "ICE servers and TURN"). Everything here is decided without I/O; the Worker (`src/ice.rs`)
//! reads the vars, the clock and random bytes, asks the rate limiter, makes the one HTTP call to
//! Cloudflare, and hands the results to these functions.
//!
//! # Providers, chosen by configuration ([`provider`])
//! | vars and secrets | [`Provider`] | `iceServers` answered |
//! |---|---|---|
//! | none of the four | [`Provider::StunOnly`] | `ICE_SERVERS` as is (not rate limited: nothing is minted) |
//! | `TURN_URLS` + `TURN_SECRET` | [`Provider::Coturn`] | `ICE_SERVERS`, then one entry with a fresh TURN REST API credential ([`coturn_credentials`]) |
//! | `TURN_KEY_ID` + `TURN_KEY_API_TOKEN` | [`Provider::Cloudflare`] | Cloudflare's answer ([`parse_cloudflare`]), URLs on port 53 left out |
//!
//! When both pairs are complete, Cloudflare's wins. Half a pair (an id without its token, URLs
//! without the secret) or a malformed value is a [`ConfigError`]: the STUN-only answer and a log
//! line naming the var (never its value). A provider that fails ([`Failure`]) gives the STUN-only
//! answer and one log line too ([`Failure::log_line`]): failure of the relay is not an outage of
//! the service, since most calls need no relay.
//!
//! # TURN REST API credentials (coturn `use-auth-secret`)
//! From draft-uberti-behave-turn-rest-00 §2.2, as coturn implements it: the username is
//! `<unix expiry>:<id>` and the password is `base64(HMAC-SHA1(shared secret, username))`. The TURN
//! server recomputes the HMAC with its `static-auth-secret` and refuses the username once the
//! expiry has passed, so the Worker needs no state and the TURN server no user database. The id
//! is random ([`RANDOM_ID_BYTES`] bytes, URL-safe base64, never a `:`), so two answers never share
//! a username.
//!
//! HMAC-SHA1 comes from the RustCrypto `hmac` + `sha1` crates (tested here against RFC 2202),
//! not a hand-written SHA-1: they cost about 2.6 KB of gzip upload (README, "TURN") and are
//! widely reviewed, and a home-made hash is one more thing to get subtly wrong.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha1::Sha1;

mod client;
mod cloudflare;

pub use client::client_key;
pub use cloudflare::{cloudflare_call, parse_cloudflare, url_port, CloudflareCall, Failure};
use cloudflare::{scheme, Scheme};

/// The var and secret names, one place each.
pub mod vars {
    /// Comma-separated `turn:`/`turns:` URLs of a coturn-style server (var).
    pub const TURN_URLS: &str = "TURN_URLS";
    /// That server's `static-auth-secret` (secret).
    pub const TURN_SECRET: &str = "TURN_SECRET";
    /// The Cloudflare Realtime TURN key id (var).
    pub const TURN_KEY_ID: &str = "TURN_KEY_ID";
    /// The Cloudflare Realtime TURN key's API token (secret).
    pub const TURN_KEY_API_TOKEN: &str = "TURN_KEY_API_TOKEN";
    /// Seconds minted credentials stay valid (var).
    pub const TURN_TTL: &str = "TURN_TTL";
    /// Tests only: another origin for the Cloudflare API, honoured only on loopback.
    pub const TURN_API_ORIGIN: &str = "TURN_API_ORIGIN";
}

/// Seconds minted credentials stay valid when `TURN_TTL` is not set (4 hours).
pub const DEFAULT_TTL: u32 = 14_400;
/// The longest credential lifetime Cloudflare Realtime TURN accepts (48 hours); a longer
/// `TURN_TTL` is cut to this for that provider rather than have every request refused.
pub const CLOUDFLARE_MAX_TTL: u32 = 172_800;
/// Where the Cloudflare Realtime API lives.
pub const CLOUDFLARE_ORIGIN: &str = "https://rtc.live.cloudflare.com";
/// How long the Worker waits for Cloudflare's whole answer (headers and body) before giving
/// the STUN-only answer.
pub const PROVIDER_TIMEOUT_MS: u32 = 3_000;
/// Largest provider answer read as such; anything longer is garbage (a real one is < 1 KB).
pub const MAX_PROVIDER_BODY: usize = 64 * 1024;
/// Random bytes in a minted username's id: 96 bits, 16 characters.
pub const RANDOM_ID_BYTES: usize = 12;
/// The `error` of the rate-limited answer.
pub const RATE_LIMITED_ERROR: &str = "Too many requests";
/// The `Retry-After` of the rate-limited answer, seconds: the limiter's period.
pub const RETRY_AFTER_SECS: u32 = 60;

/// A secret value. Its `Debug` never shows it, so it cannot leak through a `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (the HMAC key, the bearer header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where relay credentials come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// No TURN configured: `ICE_SERVERS` only.
    StunOnly,
    /// A coturn-style server with a shared secret (`use-auth-secret`).
    Coturn {
        urls: Vec<String>,
        secret: Secret,
        ttl: u32,
    },
    /// Cloudflare Realtime TURN, minted by its API.
    Cloudflare {
        key_id: String,
        token: Secret,
        /// `https://rtc.live.cloudflare.com`, or a loopback origin in tests.
        origin: String,
        ttl: u32,
    },
}

/// A TURN configuration that cannot be used. The STUN-only answer is given and
/// [`ConfigError::log_line`] says which var to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `TURN_URLS` without `TURN_SECRET`.
    UrlsWithoutSecret,
    /// `TURN_SECRET` without `TURN_URLS`.
    SecretWithoutUrls,
    /// A `TURN_URLS` entry that is not a `turn:`/`turns:` URL.
    BadTurnUrl,
    /// `TURN_KEY_ID` without `TURN_KEY_API_TOKEN`.
    KeyIdWithoutToken,
    /// `TURN_KEY_API_TOKEN` without `TURN_KEY_ID`.
    TokenWithoutKeyId,
    /// `TURN_KEY_ID` is not 1–128 characters of `A–Z a–z 0–9 - _`.
    BadKeyId,
    /// `TURN_API_ORIGIN` is set but is not an http(s) origin on 127.0.0.1, localhost or `[::1]`:
    /// the token is never sent anywhere else.
    ApiOriginNotLoopback,
}

impl ConfigError {
    pub fn reason(self) -> &'static str {
        match self {
            ConfigError::UrlsWithoutSecret => "TURN_URLS is set but TURN_SECRET is not",
            ConfigError::SecretWithoutUrls => "TURN_SECRET is set but TURN_URLS is not",
            ConfigError::BadTurnUrl => "TURN_URLS must be comma-separated turn: or turns: URLs",
            ConfigError::KeyIdWithoutToken => "TURN_KEY_ID is set but TURN_KEY_API_TOKEN is not",
            ConfigError::TokenWithoutKeyId => "TURN_KEY_API_TOKEN is set but TURN_KEY_ID is not",
            ConfigError::BadKeyId => "TURN_KEY_ID must be 1-128 characters of A-Z a-z 0-9 - _",
            ConfigError::ApiOriginNotLoopback => {
                "TURN_API_ORIGIN must be an http(s) origin on 127.0.0.1, localhost or [::1]"
            }
        }
    }

    /// `{"event":"turn_config_invalid","reason":"…"}`: names vars, never their values.
    pub fn log_line(self) -> String {
        format!(
            r#"{{"event":"turn_config_invalid","reason":{}}}"#,
            crate::json::string(self.reason())
        )
    }
}

/// Picks the provider from the vars and secrets `var` returns (`None` or blank: not set).
pub fn provider(var: impl Fn(&str) -> Option<String>) -> Result<Provider, ConfigError> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let ttl = get(vars::TURN_TTL)
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_TTL);

    let key_id = get(vars::TURN_KEY_ID);
    let token = get(vars::TURN_KEY_API_TOKEN);
    let urls = get(vars::TURN_URLS);
    let secret = get(vars::TURN_SECRET);
    match (&key_id, &token) {
        (Some(_), None) => return Err(ConfigError::KeyIdWithoutToken),
        (None, Some(_)) => return Err(ConfigError::TokenWithoutKeyId),
        _ => {}
    }
    match (&urls, &secret) {
        (Some(_), None) => return Err(ConfigError::UrlsWithoutSecret),
        (None, Some(_)) => return Err(ConfigError::SecretWithoutUrls),
        _ => {}
    }
    if let (Some(key_id), Some(token)) = (key_id, token) {
        if !valid_key_id(&key_id) {
            return Err(ConfigError::BadKeyId);
        }
        let origin = match get(vars::TURN_API_ORIGIN) {
            None => CLOUDFLARE_ORIGIN.to_string(),
            Some(o) => loopback_origin(&o).ok_or(ConfigError::ApiOriginNotLoopback)?,
        };
        return Ok(Provider::Cloudflare {
            key_id,
            token: Secret::new(token),
            origin,
            ttl: ttl.min(CLOUDFLARE_MAX_TTL),
        });
    }
    if let (Some(urls), Some(secret)) = (urls, secret) {
        return Ok(Provider::Coturn {
            urls: turn_urls(&urls).ok_or(ConfigError::BadTurnUrl)?,
            secret: Secret::new(secret),
            ttl,
        });
    }
    Ok(Provider::StunOnly)
}

/// `TURN_URLS` split on commas; `None` unless every entry is a `turn:`/`turns:` URL.
pub fn turn_urls(list: &str) -> Option<Vec<String>> {
    let urls: Vec<String> = list.split(',').map(|u| u.trim().to_string()).collect();
    let ok = urls.iter().all(|u| {
        matches!(scheme(u), Some(Scheme::Turn | Scheme::Turns))
            && u.len() > u.find(':').map_or(0, |i| i + 1)
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    ok.then_some(urls)
}

fn valid_key_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// `origin` without a trailing `/` when it is `http(s)://` + one of 127.0.0.1, localhost,
/// `[::1]` + an optional `:port`, and nothing else (no path, user or query: so
/// `http://localhost@example.com` and `http://127.0.0.1.example.com` are refused).
pub fn loopback_origin(origin: &str) -> Option<String> {
    let o = origin.strip_suffix('/').unwrap_or(origin);
    let rest = o
        .strip_prefix("http://")
        .or_else(|| o.strip_prefix("https://"))?;
    let after_host = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .find_map(|h| rest.strip_prefix(h))?;
    let port_ok = match after_host.strip_prefix(':') {
        None => after_host.is_empty(),
        Some(port) => {
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
        }
    };
    port_ok.then(|| o.to_string())
}

/// One entry of `iceServers` that this service builds or passes on. `urls` is always an array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Minted relay entries and how long they stay valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub servers: Vec<IceServer>,
    pub ttl: u32,
}

/// The TURN REST API username: `<expiry>:<URL-safe base64 of random>`.
pub fn username(expiry: u64, random: &[u8]) -> String {
    format!("{expiry}:{}", crate::ids::base64url(random))
}

/// HMAC-SHA1 (RFC 2104) of `message` under `key`.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
    let mut mac = match <Hmac<Sha1> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The TURN REST API password for `username`: `base64(HMAC-SHA1(secret, username))`, standard
/// alphabet with padding, as coturn compares it.
pub fn credential(secret: &str, username: &str) -> String {
    crate::base64::encode(&hmac_sha1(secret.as_bytes(), username.as_bytes()))
}

/// A fresh coturn credential for `urls`, valid `ttl` seconds from `now` (unix seconds).
pub fn coturn_credentials(
    urls: &[String],
    secret: &Secret,
    ttl: u32,
    now: u64,
    random: &[u8; RANDOM_ID_BYTES],
) -> Credentials {
    let username = username(now + u64::from(ttl), random);
    let credential = credential(secret.expose(), &username);
    Credentials {
        servers: vec![IceServer {
            urls: urls.to_vec(),
            username: Some(username),
            credential: Some(credential),
        }],
        ttl,
    }
}

/// `ICE_SERVERS` (a JSON array, checked by the caller) as its entries; nothing if it is not one.
fn stun_entries(stun: &str) -> impl Iterator<Item = String> + '_ {
    crate::json::split_array(stun)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
}

/// `{"iceServers":[…entries…]<tail>}`.
fn answer(entries: impl Iterator<Item = String>, tail: &str) -> String {
    let list: Vec<String> = entries.collect();
    format!(r#"{{"iceServers":[{}]{tail}}}"#, list.join(","))
}

fn entry_json(server: &IceServer) -> String {
    // Strings only: serialising cannot fail.
    serde_json::to_string(server).unwrap_or_default()
}

/// The STUN-only answer: `{"iceServers":<ICE_SERVERS>}`.
pub fn answer_stun_only(stun: &str) -> String {
    answer(stun_entries(stun), "")
}

/// The answer beyond the rate limit (HTTP 429): the STUN-only servers and
/// `"error":"Too many requests"`, so the page still calls where no relay is needed.
pub fn answer_rate_limited(stun: &str) -> String {
    answer(
        stun_entries(stun),
        &format!(r#","error":{}"#, crate::json::string(RATE_LIMITED_ERROR)),
    )
}

/// The coturn answer: `ICE_SERVERS` followed by the minted entry, and `"ttl"`.
pub fn answer_coturn(stun: &str, creds: &Credentials) -> String {
    answer(
        stun_entries(stun).chain(creds.servers.iter().map(entry_json)),
        &format!(r#","ttl":{}"#, creds.ttl),
    )
}

/// The Cloudflare answer: its (filtered) entries as they are, and `"ttl"`.
pub fn answer_cloudflare(creds: &Credentials) -> String {
    answer(
        creds.servers.iter().map(entry_json),
        &format!(r#","ttl":{}"#, creds.ttl),
    )
}
