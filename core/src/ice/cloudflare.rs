//! Cloudflare Realtime TURN: the one API call (`generate-ice-servers`), its answer checked and
//! filtered, and why a provider gave nothing ([`Failure`]).

use super::*;

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
pub(super) enum Scheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

/// The scheme of an ICE server URL (RFC 7064/7065; case-insensitive), if it is one of the four.
pub(super) fn scheme(url: &str) -> Option<Scheme> {
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
