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
    /// `TURN_API_ORIGIN` is set but is not an http(s) origin on 127.0.0.1, localhost or [::1]:
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
/// [::1] + an optional `:port`, and nothing else (no path, user or query: so
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

/// The Cloudflare call: the URL (with the key id) and its JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudflareCall {
    pub url: String,
    pub body: String,
}

/// `POST <origin>/v1/turn/keys/<key id>/credentials/generate-ice-servers` with `{"ttl":N}`.
/// (The bearer header is the caller's: the token never passes through a value that could be
/// printed.)
pub fn cloudflare_call(origin: &str, key_id: &str, ttl: u32) -> CloudflareCall {
    CloudflareCall {
        url: format!("{origin}/v1/turn/keys/{key_id}/credentials/generate-ice-servers"),
        body: format!(r#"{{"ttl":{ttl}}}"#),
    }
}

/// Why a provider gave no credentials. Each is logged once ([`Failure::log_line`]) and the
/// page gets the STUN-only answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The request or the body read failed: refused, reset, DNS.
    Network,
    /// No whole answer within [`PROVIDER_TIMEOUT_MS`].
    Timeout,
    /// 401 or 403: the token is wrong or revoked.
    Unauthorized(u16),
    /// Any other status but 200/201.
    Status(u16),
    /// A body longer than [`MAX_PROVIDER_BODY`].
    TooLarge,
    /// Not JSON.
    NotJson,
    /// JSON, but not `{"iceServers": <entry or entries>}` with `urls` strings.
    BadShape,
    /// Well-formed, but no `turn:`/`turns:` URL with a username and credential is left.
    NoRelay,
    /// The platform gave no random bytes (coturn).
    NoRandom,
}

impl Failure {
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Network => "network",
            Failure::Timeout => "timeout",
            Failure::Unauthorized(_) => "unauthorized",
            Failure::Status(_) => "http_status",
            Failure::TooLarge => "too_large",
            Failure::NotJson => "not_json",
            Failure::BadShape => "bad_shape",
            Failure::NoRelay => "no_relay",
            Failure::NoRandom => "no_random",
        }
    }

    /// `{"event":"turn_provider_failed","provider":"cloudflare","reason":"…"[,"status":N]}`.
    /// Only fixed words and the status: nothing the provider sent, nothing secret.
    pub fn log_line(self, provider: &'static str) -> String {
        let status = match self {
            Failure::Unauthorized(s) | Failure::Status(s) => format!(r#","status":{s}"#),
            _ => String::new(),
        };
        format!(
            r#"{{"event":"turn_provider_failed","provider":{},"reason":"{}"{status}}}"#,
            crate::json::string(provider),
            self.reason()
        )
    }
}

/// Cloudflare's answer (status and body) as credentials valid `ttl` seconds. `iceServers` may be
/// one entry or an array of them, each `{"urls": <string or strings>, "username"?, "credential"?}`;
/// other fields are dropped, URLs on port 53 (blocked by browsers, which then wait for a timeout)
/// and URLs that are not `stun:`/`stuns:`/`turn:`/`turns:` are left out, and entries left with no
/// URL go.
pub fn parse_cloudflare(status: u16, body: &str, ttl: u32) -> Result<Credentials, Failure> {
    match status {
        200 | 201 => {}
        401 | 403 => return Err(Failure::Unauthorized(status)),
        _ => return Err(Failure::Status(status)),
    }
    if body.len() > MAX_PROVIDER_BODY {
        return Err(Failure::TooLarge);
    }
    let value: Value = serde_json::from_str(body).map_err(|_| Failure::NotJson)?;
    let entries = match value.get("iceServers") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(Failure::BadShape),
    };
    let mut servers = Vec::new();
    for entry in entries {
        let Value::Object(fields) = entry else {
            return Err(Failure::BadShape);
        };
        let urls = match fields.get("urls") {
            Some(Value::String(u)) => vec![u.as_str()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|u| u.as_str().ok_or(Failure::BadShape))
                .collect::<Result<_, _>>()?,
            _ => return Err(Failure::BadShape),
        };
        let text = |name: &str| match fields.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Failure::BadShape),
        };
        let (username, credential) = (text("username")?, text("credential")?);
        let urls: Vec<String> = urls
            .into_iter()
            .filter(|u| scheme(u).is_some() && url_port(u) != Some(53))
            .map(str::to_string)
            .collect();
        if !urls.is_empty() {
            servers.push(IceServer {
                urls,
                username,
                credential,
            });
        }
    }
    let relays = servers.iter().any(|s| {
        s.username.is_some()
            && s.credential.is_some()
            && s.urls
                .iter()
                .any(|u| matches!(scheme(u), Some(Scheme::Turn | Scheme::Turns)))
    });
    if !relays {
        return Err(Failure::NoRelay);
    }
    Ok(Credentials { servers, ttl })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

/// The scheme of an ICE server URL (RFC 7064/7065; case-insensitive), if it is one of the four.
fn scheme(url: &str) -> Option<Scheme> {
    let (scheme, _) = url.split_once(':')?;
    [
        ("stun", Scheme::Stun),
        ("stuns", Scheme::Stuns),
        ("turn", Scheme::Turn),
        ("turns", Scheme::Turns),
    ]
    .into_iter()
    .find(|(name, _)| scheme.eq_ignore_ascii_case(name))
    .map(|(_, s)| s)
}

/// The port of a `stun:`/`stuns:`/`turn:`/`turns:` URL (`turn:host[:port][?transport=…]`,
/// IPv6 hosts in brackets), the scheme's default when none is written (3478, or 5349 for the
/// TLS schemes); `None` when it is not such a URL or the port is not a number.
pub fn url_port(url: &str) -> Option<u16> {
    let s = scheme(url)?;
    let (_, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let hostport = rest.split(['?', '/']).next().unwrap_or("");
    let port = match hostport.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1.strip_prefix(':'),
        None => hostport.rsplit_once(':').map(|(_, p)| p),
    };
    match port {
        Some(p) => p.parse().ok(),
        None => Some(match s {
            Scheme::Stun | Scheme::Turn => 3478,
            Scheme::Stuns | Scheme::Turns => 5349,
        }),
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

/// The rate limiter's key for a client address (`CF-Connecting-IP`): an IPv4 address as it
/// is, an IPv6 address as its /64 (one subscriber's whole prefix, which they can pick addresses
/// from at will; IPv4-mapped ones as the IPv4 address), anything else `unknown`. (Parsed by hand:
/// `std::net::IpAddr`'s parser and printer cost about 2 KB of gzip upload.)
pub fn client_key(addr: Option<&str>) -> String {
    let addr = addr.map(str::trim).unwrap_or("");
    if let Some([a, b, c, d]) = ipv4(addr) {
        return format!("{a}.{b}.{c}.{d}");
    }
    match ipv6(addr) {
        Some([0, 0, 0, 0, 0, 0xffff, hi, lo]) => {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            format!("{a}.{b}.{c}.{d}")
        }
        Some([a, b, c, d, ..]) => format!("{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        None => "unknown".to_string(),
    }
}

/// Dotted-quad IPv4: four decimal parts of 1–3 digits, each at most 255.
fn ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// IPv6 text (RFC 4291 §2.2): eight groups of 1–4 hex digits, one `::` for a run of zero
/// groups, optionally a dotted IPv4 address as the last 32 bits.
fn ipv6(s: &str) -> Option<[u16; 8]> {
    fn groups(part: &str, out: &mut Vec<u16>, last: bool) -> Option<()> {
        if part.is_empty() {
            return Some(());
        }
        let pieces: Vec<&str> = part.split(':').collect();
        for (i, g) in pieces.iter().enumerate() {
            if last && i + 1 == pieces.len() && g.contains('.') {
                let [a, b, c, d] = ipv4(g)?;
                out.push(u16::from_be_bytes([a, b]));
                out.push(u16::from_be_bytes([c, d]));
            } else if (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(u16::from_str_radix(g, 16).ok()?);
            } else {
                return None;
            }
        }
        Some(())
    }
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    match s.split_once("::") {
        Some((h, t)) => {
            if t.contains("::") {
                return None;
            }
            groups(h, &mut head, false)?;
            groups(t, &mut tail, true)?;
            if head.len() + tail.len() > 7 {
                return None;
            }
        }
        None => {
            groups(s, &mut head, true)?;
            if head.len() != 8 {
                return None;
            }
        }
    }
    let mut out = [0u16; 8];
    out[..head.len()].copy_from_slice(&head);
    out[8 - tail.len()..].copy_from_slice(&tail);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // RFC 2202 §3: the seven HMAC-SHA1 test cases.
    #[test]
    fn hmac_sha1_rfc2202_vectors() {
        let cases: [(&[u8], &[u8], &str); 7] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                &[
                    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                    0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
                ],
                &[0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                &[0x0c; 20],
                b"Test With Truncation",
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hex(&hmac_sha1(key, data)), want);
        }
    }

    // Cross-checked with Python: base64(hmac.new(secret, username, sha1).digest()).
    #[test]
    fn turn_rest_credential_matches_an_independent_computation() {
        assert_eq!(
            credential("north", "1735689600:AAAAAAAAAAAAAAAA"),
            "wRZNaFUR83MgWIDDf66FC2d4Fig="
        );
        let long_key = "k".repeat(100);
        assert_eq!(
            credential(&long_key, "1735689600:AAECAwQFBgcICQoL"),
            "hhUVo4EJSY8nyzqhvsbyBK+lvYU="
        );
    }

    #[test]
    fn username_is_expiry_colon_random_id() {
        let random: [u8; RANDOM_ID_BYTES] = std::array::from_fn(|i| i as u8);
        assert_eq!(username(1735689600, &random), "1735689600:AAECAwQFBgcICQoL");
        // URL-safe base64: never a ':' inside the id (coturn splits on the first one).
        assert_eq!(username(7, &[0xff; RANDOM_ID_BYTES]), "7:________________");
    }

    #[test]
    fn coturn_credentials_expire_ttl_after_now() {
        let urls = vec!["turn:127.0.0.1:3478?transport=udp".to_string()];
        let random: [u8; RANDOM_ID_BYTES] = std::array::from_fn(|i| i as u8);
        let creds = coturn_credentials(&urls, &Secret::new("north"), 600, 1735689000, &random);
        assert_eq!(
            creds,
            Credentials {
                servers: vec![IceServer {
                    urls: urls.clone(),
                    username: Some("1735689600:AAECAwQFBgcICQoL".into()),
                    credential: Some(credential("north", "1735689600:AAECAwQFBgcICQoL")),
                }],
                ttl: 600,
            }
        );
        assert_eq!(
            answer_coturn(r#"[{"urls":"stun:stun.example:3478"}]"#, &creds),
            format!(
                r#"{{"iceServers":[{{"urls":"stun:stun.example:3478"}},{{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1735689600:AAECAwQFBgcICQoL","credential":"{}"}}],"ttl":600}}"#,
                credential("north", "1735689600:AAECAwQFBgcICQoL")
            )
        );
        assert_eq!(
            answer_coturn("[]", &creds),
            format!(
                r#"{{"iceServers":[{{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1735689600:AAECAwQFBgcICQoL","credential":"{}"}}],"ttl":600}}"#,
                credential("north", "1735689600:AAECAwQFBgcICQoL")
            )
        );
    }

    #[test]
    fn stun_only_and_rate_limited_answers() {
        let stun = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;
        assert_eq!(
            answer_stun_only(stun),
            r#"{"iceServers":[{"urls":"stun:stun.l.google.com:19302"}]}"#
        );
        assert_eq!(answer_stun_only("[]"), r#"{"iceServers":[]}"#);
        assert_eq!(
            answer_rate_limited(stun),
            r#"{"iceServers":[{"urls":"stun:stun.l.google.com:19302"}],"error":"Too many requests"}"#
        );
        assert_eq!(
            answer_rate_limited("[]"),
            r#"{"iceServers":[],"error":"Too many requests"}"#
        );
    }

    #[test]
    fn provider_from_vars() {
        assert_eq!(provider(vars(&[])), Ok(Provider::StunOnly));
        assert_eq!(
            provider(vars(&[("TURN_URLS", " "), ("TURN_SECRET", "")])),
            Ok(Provider::StunOnly)
        );
        assert_eq!(
            provider(vars(&[
                (
                    "TURN_URLS",
                    "turn:turn.example:3478?transport=udp, turns:turn.example:5349"
                ),
                ("TURN_SECRET", "s3cret"),
            ])),
            Ok(Provider::Coturn {
                urls: vec![
                    "turn:turn.example:3478?transport=udp".into(),
                    "turns:turn.example:5349".into()
                ],
                secret: Secret::new("s3cret"),
                ttl: DEFAULT_TTL,
            })
        );
        assert_eq!(
            provider(vars(&[
                ("TURN_URLS", "turn:t:3478"),
                ("TURN_SECRET", "s"),
                ("TURN_TTL", "60")
            ])),
            Ok(Provider::Coturn {
                urls: vec!["turn:t:3478".into()],
                secret: Secret::new("s"),
                ttl: 60
            })
        );
        // A TTL that is not a positive number is the default.
        for bad in ["0", "-5", "soon", "99999999999"] {
            assert_eq!(
                provider(vars(&[
                    ("TURN_URLS", "turn:t"),
                    ("TURN_SECRET", "s"),
                    ("TURN_TTL", bad)
                ])),
                Ok(Provider::Coturn {
                    urls: vec!["turn:t".into()],
                    secret: Secret::new("s"),
                    ttl: DEFAULT_TTL
                })
            );
        }
        assert_eq!(
            provider(vars(&[
                ("TURN_KEY_ID", "abc123"),
                ("TURN_KEY_API_TOKEN", "tok")
            ])),
            Ok(Provider::Cloudflare {
                key_id: "abc123".into(),
                token: Secret::new("tok"),
                origin: CLOUDFLARE_ORIGIN.into(),
                ttl: DEFAULT_TTL,
            })
        );
        // Cloudflare caps credentials at 48 hours.
        assert_eq!(
            provider(vars(&[
                ("TURN_KEY_ID", "k"),
                ("TURN_KEY_API_TOKEN", "t"),
                ("TURN_TTL", "604800")
            ])),
            Ok(Provider::Cloudflare {
                key_id: "k".into(),
                token: Secret::new("t"),
                origin: CLOUDFLARE_ORIGIN.into(),
                ttl: 172_800
            })
        );
        // Both complete: Cloudflare's wins.
        assert!(matches!(
            provider(vars(&[
                ("TURN_KEY_ID", "k"),
                ("TURN_KEY_API_TOKEN", "t"),
                ("TURN_URLS", "turn:t"),
                ("TURN_SECRET", "s"),
            ])),
            Ok(Provider::Cloudflare { .. })
        ));
        assert_eq!(
            provider(vars(&[
                ("TURN_KEY_ID", "k"),
                ("TURN_KEY_API_TOKEN", "t"),
                ("TURN_API_ORIGIN", "http://127.0.0.1:8123/")
            ])),
            Ok(Provider::Cloudflare {
                key_id: "k".into(),
                token: Secret::new("t"),
                origin: "http://127.0.0.1:8123".into(),
                ttl: DEFAULT_TTL
            })
        );
    }

    #[test]
    fn half_or_malformed_configurations_are_errors() {
        let cases: &[(&[(&str, &str)], ConfigError)] = &[
            (&[("TURN_URLS", "turn:t")], ConfigError::UrlsWithoutSecret),
            (&[("TURN_SECRET", "s")], ConfigError::SecretWithoutUrls),
            (&[("TURN_KEY_ID", "k")], ConfigError::KeyIdWithoutToken),
            (
                &[("TURN_KEY_API_TOKEN", "t")],
                ConfigError::TokenWithoutKeyId,
            ),
            (
                &[("TURN_URLS", "stun:t:3478"), ("TURN_SECRET", "s")],
                ConfigError::BadTurnUrl,
            ),
            (
                &[("TURN_URLS", "turn:a,,turn:b"), ("TURN_SECRET", "s")],
                ConfigError::BadTurnUrl,
            ),
            (
                &[("TURN_URLS", "turn:"), ("TURN_SECRET", "s")],
                ConfigError::BadTurnUrl,
            ),
            (
                &[("TURN_URLS", "turn:a b"), ("TURN_SECRET", "s")],
                ConfigError::BadTurnUrl,
            ),
            (
                &[("TURN_URLS", "https://t"), ("TURN_SECRET", "s")],
                ConfigError::BadTurnUrl,
            ),
            (
                &[("TURN_KEY_ID", "../x"), ("TURN_KEY_API_TOKEN", "t")],
                ConfigError::BadKeyId,
            ),
            (
                &[
                    ("TURN_KEY_ID", "k"),
                    ("TURN_KEY_API_TOKEN", "t"),
                    ("TURN_API_ORIGIN", "https://evil.example"),
                ],
                ConfigError::ApiOriginNotLoopback,
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(provider(vars(pairs)), Err(*want), "{pairs:?}");
        }
        assert_eq!(
            ConfigError::UrlsWithoutSecret.log_line(),
            r#"{"event":"turn_config_invalid","reason":"TURN_URLS is set but TURN_SECRET is not"}"#
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let p = provider(vars(&[
            ("TURN_URLS", "turn:t"),
            ("TURN_SECRET", "hunter2-secret"),
        ]))
        .unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Secret(<redacted>)"), "{shown}");
    }

    #[test]
    fn api_origin_override_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:1234",
            "http://localhost:1",
            "https://[::1]:65535",
            "http://127.0.0.1",
        ] {
            assert_eq!(loopback_origin(ok).as_deref(), Some(ok), "{ok}");
        }
        assert_eq!(
            loopback_origin("http://localhost:8/").as_deref(),
            Some("http://localhost:8")
        );
        for bad in [
            "http://127.0.0.1.evil.example",
            "http://localhost@evil.example",
            "http://localhost:80@evil.example",
            "http://127.0.0.1:1234/path",
            "http://127.0.0.1:",
            "http://127.0.0.1:x",
            "ftp://127.0.0.1",
            "127.0.0.1:80",
            "https://rtc.live.cloudflare.com",
            "http://[::1]x",
            "http://127.0.0.1:1234?q",
        ] {
            assert_eq!(loopback_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn cloudflare_call_is_the_documented_request() {
        assert_eq!(
            cloudflare_call(CLOUDFLARE_ORIGIN, "key42", 14400),
            CloudflareCall {
                url: "https://rtc.live.cloudflare.com/v1/turn/keys/key42/credentials/generate-ice-servers".into(),
                body: r#"{"ttl":14400}"#.into(),
            }
        );
    }

    #[test]
    fn url_ports() {
        assert_eq!(
            url_port("turn:turn.cloudflare.com:53?transport=udp"),
            Some(53)
        );
        assert_eq!(
            url_port("turn:turn.cloudflare.com:3478?transport=tcp"),
            Some(3478)
        );
        assert_eq!(url_port("stun:stun.cloudflare.com:53"), Some(53));
        assert_eq!(
            url_port("turns:turn.cloudflare.com:443?transport=tcp"),
            Some(443)
        );
        assert_eq!(url_port("turn:turn.example"), Some(3478));
        assert_eq!(url_port("turns:turn.example?transport=tcp"), Some(5349));
        assert_eq!(url_port("STUN:stun.example"), Some(3478));
        assert_eq!(url_port("turn:[2001:db8::1]:53"), Some(53));
        assert_eq!(url_port("turn:[2001:db8::1]"), Some(3478));
        assert_eq!(url_port("turn://host:53"), Some(53));
        assert_eq!(url_port("turn:host:x"), None);
        assert_eq!(url_port("https://host:53"), None);
        assert_eq!(url_port("nonsense"), None);
        assert_eq!(url_port(""), None);
    }

    const CLOUDFLARE_ANSWER: &str = r#"{"iceServers":[{"urls":["stun:stun.cloudflare.com:3478","stun:stun.cloudflare.com:53"]},{"urls":["turn:turn.cloudflare.com:3478?transport=udp","turn:turn.cloudflare.com:53?transport=udp","turn:turn.cloudflare.com:3478?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp","turns:turn.cloudflare.com:443?transport=tcp"],"username":"u1","credential":"c1"}]}"#;

    #[test]
    fn cloudflare_answer_passes_through_without_port_53() {
        let creds = parse_cloudflare(201, CLOUDFLARE_ANSWER, 600).unwrap();
        assert_eq!(
            answer_cloudflare(&creds),
            r#"{"iceServers":[{"urls":["stun:stun.cloudflare.com:3478"]},{"urls":["turn:turn.cloudflare.com:3478?transport=udp","turn:turn.cloudflare.com:3478?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp","turns:turn.cloudflare.com:443?transport=tcp"],"username":"u1","credential":"c1"}],"ttl":600}"#
        );
        // The older shape: one object, `urls` a string; unknown fields dropped; 200 accepted.
        let one = r#"{"iceServers":{"urls":"turn:turn.cloudflare.com:3478","username":"u","credential":"c","extra":1}}"#;
        assert_eq!(
            answer_cloudflare(&parse_cloudflare(200, one, 60).unwrap()),
            r#"{"iceServers":[{"urls":["turn:turn.cloudflare.com:3478"],"username":"u","credential":"c"}],"ttl":60}"#
        );
        // An entry left with only port-53 URLs goes.
        let only53 = r#"{"iceServers":[{"urls":["stun:s:53"]},{"urls":["turn:t:443"],"username":"u","credential":"c"}]}"#;
        assert_eq!(
            answer_cloudflare(&parse_cloudflare(201, only53, 60).unwrap()),
            r#"{"iceServers":[{"urls":["turn:t:443"],"username":"u","credential":"c"}],"ttl":60}"#
        );
    }

    #[test]
    fn cloudflare_failures() {
        assert_eq!(
            parse_cloudflare(401, CLOUDFLARE_ANSWER, 60),
            Err(Failure::Unauthorized(401))
        );
        assert_eq!(
            parse_cloudflare(403, "", 60),
            Err(Failure::Unauthorized(403))
        );
        assert_eq!(
            parse_cloudflare(500, CLOUDFLARE_ANSWER, 60),
            Err(Failure::Status(500))
        );
        assert_eq!(parse_cloudflare(204, "", 60), Err(Failure::Status(204)));
        assert_eq!(
            parse_cloudflare(201, "<html>oops</html>", 60),
            Err(Failure::NotJson)
        );
        assert_eq!(parse_cloudflare(201, "", 60), Err(Failure::NotJson));
        assert_eq!(
            parse_cloudflare(201, &" ".repeat(MAX_PROVIDER_BODY + 1), 60),
            Err(Failure::TooLarge)
        );
        for shape in [
            "{}",
            "[]",
            "null",
            r#"{"iceServers":5}"#,
            r#"{"iceServers":"turn:t"}"#,
            r#"{"iceServers":[5]}"#,
            r#"{"iceServers":[{"url":"turn:t"}]}"#,
            r#"{"iceServers":[{"urls":[1]}]}"#,
            r#"{"iceServers":[{"urls":"turn:t","username":1,"credential":"c"}]}"#,
        ] {
            assert_eq!(
                parse_cloudflare(201, shape, 60),
                Err(Failure::BadShape),
                "{shape}"
            );
        }
        for no_relay in [
            r#"{"iceServers":[]}"#,
            r#"{"iceServers":[{"urls":["stun:s:3478"]}]}"#,
            r#"{"iceServers":[{"urls":["turn:t:3478"]}]}"#,
            r#"{"iceServers":[{"urls":["turn:t:53"],"username":"u","credential":"c"}]}"#,
            r#"{"iceServers":[{"urls":["https://t"],"username":"u","credential":"c"}]}"#,
        ] {
            assert_eq!(
                parse_cloudflare(201, no_relay, 60),
                Err(Failure::NoRelay),
                "{no_relay}"
            );
        }
    }

    #[test]
    fn failure_log_lines() {
        assert_eq!(
            Failure::Timeout.log_line("cloudflare"),
            r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"timeout"}"#
        );
        assert_eq!(
            Failure::Unauthorized(401).log_line("cloudflare"),
            r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"unauthorized","status":401}"#
        );
        assert_eq!(
            Failure::Status(500).log_line("cloudflare"),
            r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"http_status","status":500}"#
        );
        assert_eq!(
            Failure::NotJson.log_line("cloudflare"),
            r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"not_json"}"#
        );
    }

    #[test]
    fn client_keys() {
        assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(Some(" 203.0.113.7 ")), "203.0.113.7");
        assert_eq!(
            client_key(Some("2001:db8:aa:bb:1:2:3:4")),
            "2001:db8:aa:bb::/64"
        );
        assert_eq!(client_key(Some("2001:db8:aa:bb::9")), "2001:db8:aa:bb::/64");
        assert_eq!(client_key(Some("2001:DB8::1")), "2001:db8:0:0::/64");
        assert_eq!(client_key(Some("::ffff:198.51.100.1")), "198.51.100.1");
        assert_eq!(client_key(Some("::")), "0:0:0:0::/64");
        assert_eq!(client_key(Some("fe80::")), "fe80:0:0:0::/64");
        assert_eq!(client_key(Some("1:2:3:4:5:6:7:8")), "1:2:3:4::/64");
        assert_eq!(client_key(Some("1:2:3:4:5:6:1.2.3.4")), "1:2:3:4::/64");
        assert_eq!(client_key(Some("::ffff:c633:6401")), "198.51.100.1");
        for bad in [
            "not an address",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.4 x",
            "+1.2.3.4",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "1:2:3:4:5:6:7::8",
            "12345::",
            "g::",
            ":1:2:3:4:5:6:7",
            "1.2.3.4::",
            "[::1]",
        ] {
            assert_eq!(client_key(Some(bad)), "unknown", "{bad}");
        }
        assert_eq!(client_key(Some("")), "unknown");
        assert_eq!(client_key(None), "unknown");
    }
}
