//! Checks on a `/socket.io/` request (either transport) before any Durable Object is touched, with the reference
//! server's HTTP 400 bodies, and the room-name rule.
//!
//! (Over 400 lines with its unit tests beside the checks; the code itself is about 230.)

use crate::engineio::Protocol;

/// Longest room name accepted.
pub const MAX_ROOM_LEN: usize = 64;

/// A room name is 1–64 characters of `A–Z a–z 0–9 - _ .`.
pub fn valid_room(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROOM_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A resume token is 16–64 characters of URL-safe base64 (`A–Z a–z 0–9 - _`).
pub fn valid_resume_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A request URL in the parts the Worker routes by: `(origin, path, query)`, e.g.
/// `https://h:1/p?a=b#f` → `("https://h:1", "/p", "a=b")`. The fragment is dropped.
pub fn split_url(url: &str) -> (&str, &str, &str) {
    let url = url.split('#').next().unwrap_or("");
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_at = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i);
    let (origin, rest) = url.split_at(path_at);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (origin, if path.is_empty() { "/" } else { path }, query)
}

/// The pairs of a query string (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a
/// byte; bytes that are not UTF-8 become U+FFFD), as the reference server reads them.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A session id as this server makes them: 20 characters of URL-safe base64.
pub fn valid_sid(sid: &str) -> bool {
    sid.len() == 20
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Why a `/socket.io/` request is refused, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `transport` neither `websocket` (with an upgrade) nor `polling`.
    TransportUnknown,
    /// `EIO` missing or other than 3 or 4.
    UnsupportedProtocolVersion,
    /// `room` missing or not a valid room name, or a malformed `resume` token; also a request
    /// for a session on the wrong transport, or a second concurrent poll.
    BadRequest,
    /// A long-polling handshake that is not a GET, or a request method other than GET and POST.
    BadHandshakeMethod,
    /// A `sid` for a session this room does not have.
    UnknownSid,
    /// The room already has as many sockets waiting for a seat as it keeps (see
    /// `Config::max_pending`). Not a reference-server error: it has no such limit.
    TooManyConnections,
    /// A long-polling request body larger than `maxPayload` (the session is closed).
    PayloadTooLarge,
}

impl Error {
    /// The reference server's JSON body for this error (empty where it sends none).
    pub fn body(self) -> &'static str {
        match self {
            Error::TransportUnknown => r#"{"code":0,"message":"Transport unknown"}"#,
            Error::UnknownSid => r#"{"code":1,"message":"Session ID unknown"}"#,
            Error::BadHandshakeMethod => r#"{"code":2,"message":"Bad handshake method"}"#,
            Error::UnsupportedProtocolVersion => {
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            }
            Error::BadRequest => r#"{"code":3,"message":"Bad request"}"#,
            Error::TooManyConnections => r#"{"code":3,"message":"Too many connections"}"#,
            Error::PayloadTooLarge => "",
        }
    }

    /// The HTTP status sent with [`Error::body`].
    pub fn status(self) -> u16 {
        match self {
            Error::TooManyConnections => 429,
            Error::PayloadTooLarge => 413,
            _ => 400,
        }
    }
}

/// The Engine.IO transport a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Polling,
}

/// The HTTP method of a request, as far as the checks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

impl Method {
    pub fn parse(method: &str) -> Method {
        match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// An accepted `/socket.io/` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub protocol: Protocol,
    pub room: String,
    /// The client's resume token, if it sent one (see `room::Conn::resume`).
    pub resume: Option<String>,
    pub transport: Transport,
    pub method: Method,
    /// The session the request is for (polling requests after the handshake, and the websocket
    /// that upgrades a polling session); `None` for a handshake.
    pub sid: Option<String>,
    /// v3 long-polling: the client asked for text-only payloads (`b64`).
    pub base64: bool,
}

/// Judges a `/socket.io/` request from its query pairs, its method and whether it asks for a
/// websocket upgrade. `default_room` is used when `room` is absent (the conformance profile
/// only). Whether a `sid` names a live session is for the room to say.
pub fn check<'a>(
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    method: Method,
    is_websocket_upgrade: bool,
    default_room: Option<&str>,
) -> Result<Accepted, Error> {
    let (mut transport, mut eio, mut room, mut sid, mut resume, mut b64) =
        (None, None, None, None, None, false);
    for (k, v) in query {
        match k {
            "transport" => transport = Some(v),
            "EIO" => eio = Some(v),
            "room" => room = Some(v),
            "sid" => sid = Some(v),
            "resume" => resume = Some(v),
            "b64" => b64 = true,
            _ => {}
        }
    }
    let transport = match transport {
        Some("websocket") if is_websocket_upgrade => Transport::WebSocket,
        Some("polling") => Transport::Polling,
        _ => return Err(Error::TransportUnknown),
    };
    let protocol = eio
        .and_then(Protocol::from_query)
        .ok_or(Error::UnsupportedProtocolVersion)?;
    let room = room.or(default_room).ok_or(Error::BadRequest)?;
    if !valid_room(room) || resume.is_some_and(|t| !valid_resume_token(t)) {
        return Err(Error::BadRequest);
    }
    match (transport, method, sid) {
        (_, Method::Other, _) | (Transport::Polling, Method::Post, None) => {
            return Err(Error::BadHandshakeMethod)
        }
        (Transport::WebSocket, Method::Post, _) => return Err(Error::BadRequest),
        _ => {}
    }
    if sid.is_some_and(|s| !valid_sid(s)) {
        return Err(Error::UnknownSid);
    }
    Ok(Accepted {
        protocol,
        room: room.to_string(),
        resume: resume.map(str::to_string),
        transport,
        method,
        sid: sid.map(str::to_string),
        base64: b64 && protocol == Protocol::V3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_get<'a>(
        query: Vec<(&'a str, &'a str)>,
        upgrade: bool,
        default_room: Option<&str>,
    ) -> Result<Accepted, Error> {
        check(query, Method::Get, upgrade, default_room)
    }

    fn q(s: &str) -> Vec<(&str, &str)> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect()
    }

    #[test]
    fn urls_split_into_origin_path_and_query() {
        assert_eq!(
            split_url("https://h:1/p/q?a=b&c#f"),
            ("https://h:1", "/p/q", "a=b&c")
        );
        assert_eq!(split_url("http://h"), ("http://h", "/", ""));
        assert_eq!(split_url("http://h?x=1"), ("http://h", "/", "x=1"));
        assert_eq!(
            split_url("http://h/socket.io/?EIO=4"),
            ("http://h", "/socket.io/", "EIO=4")
        );
    }

    #[test]
    fn query_pairs_are_form_decoded() {
        assert_eq!(
            query_pairs("EIO=4&room=a%20b&x&y=1+2&z=%zz&&w=%C3%A9%"),
            vec![
                ("EIO".to_string(), "4".to_string()),
                ("room".into(), "a b".into()),
                ("x".into(), "".into()),
                ("y".into(), "1 2".into()),
                ("z".into(), "%zz".into()),
                ("w".into(), "é%".into()),
            ]
        );
        assert_eq!(
            query_pairs("r=%00%ff"),
            vec![("r".to_string(), "\0\u{fffd}".to_string())]
        );
    }

    #[test]
    fn room_names() {
        assert!(valid_room("a"));
        assert!(valid_room("Room-1_x.y"));
        assert!(valid_room(&"a".repeat(64)));
        assert!(!valid_room(""));
        assert!(!valid_room(&"a".repeat(65)));
        assert!(!valid_room("a b"));
        assert!(!valid_room("a/b"));
        assert!(!valid_room("é"));
        assert!(!valid_room("a%20"));
    }

    #[test]
    fn accepts_v4_and_v3_websocket_upgrades() {
        assert_eq!(
            check_get(q("EIO=4&transport=websocket&room=r1"), true, None),
            Ok(Accepted {
                protocol: Protocol::V4,
                room: "r1".into(),
                resume: None,
                transport: Transport::WebSocket,
                method: Method::Get,
                sid: None,
                base64: false,
            })
        );
        assert_eq!(
            check_get(q("EIO=3&transport=websocket&room=r1&t=N1"), true, None).map(|a| a.protocol),
            Ok(Protocol::V3)
        );
    }

    #[test]
    fn judges_defects_in_contract_order() {
        assert_eq!(
            check_get(q("EIO=4&transport=flash&room=r"), true, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check_get(q("EIO=4&transport=websocket&room=r"), false, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check_get(q("EIO=9&room=bad room"), true, None),
            Err(Error::TransportUnknown)
        );
        assert_eq!(
            check(
                q("EIO=9&transport=polling&room=a b"),
                Method::Other,
                false,
                None
            ),
            Err(Error::UnsupportedProtocolVersion)
        );
        assert_eq!(
            check_get(q("EIO=9&transport=websocket&room=a b"), true, None),
            Err(Error::UnsupportedProtocolVersion)
        );
        assert_eq!(
            check_get(q("transport=websocket&room=r"), true, None),
            Err(Error::UnsupportedProtocolVersion)
        );
        assert_eq!(
            check_get(q("EIO=4&transport=websocket"), true, None),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check_get(q("EIO=4&transport=websocket&room="), true, None),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check(
                q("EIO=4&transport=polling&room=a.b/c&sid=x"),
                Method::Other,
                false,
                None
            ),
            Err(Error::BadRequest)
        );
        assert_eq!(
            check(
                q("EIO=4&transport=polling&room=r&sid=x"),
                Method::Other,
                false,
                None
            ),
            Err(Error::BadHandshakeMethod)
        );
        assert_eq!(
            check_get(q("EIO=4&transport=websocket&room=r&sid=abc"), true, None),
            Err(Error::UnknownSid)
        );
    }

    #[test]
    fn long_polling_requests() {
        let sid = "AAAAAAAAAAAAAAAAAAAA";
        let hs = check_get(q("EIO=4&transport=polling&room=r&t=Nx1"), false, None).unwrap();
        assert_eq!(
            (hs.transport, hs.sid, hs.base64),
            (Transport::Polling, None, false)
        );
        let post = check(
            q(&format!("EIO=3&transport=polling&room=r&sid={sid}&b64=1")),
            Method::Post,
            false,
            None,
        )
        .unwrap();
        assert_eq!(
            (post.protocol, post.method, post.sid.as_deref(), post.base64),
            (Protocol::V3, Method::Post, Some(sid), true)
        );
        // b64 means nothing on v4.
        let v4 = check_get(
            q(&format!("EIO=4&transport=polling&room=r&sid={sid}&b64=1")),
            false,
            None,
        );
        assert_eq!(v4.map(|a| a.base64), Ok(false));
        // The handshake is a GET; other methods are never accepted.
        assert_eq!(
            check(
                q("EIO=4&transport=polling&room=r"),
                Method::Post,
                false,
                None
            ),
            Err(Error::BadHandshakeMethod)
        );
        assert_eq!(
            check(
                q(&format!("EIO=4&transport=polling&room=r&sid={sid}")),
                Method::Other,
                false,
                None
            ),
            Err(Error::BadHandshakeMethod)
        );
        // The upgrade of a polling session: a websocket with its sid.
        let up = check_get(
            q(&format!("EIO=4&transport=websocket&room=r&sid={sid}")),
            true,
            None,
        );
        assert_eq!(
            up.map(|a| (a.transport, a.sid)),
            Ok((Transport::WebSocket, Some(sid.to_string())))
        );
        for bad in ["short", "AAAAAAAAAAAAAAAAAAA!", "AAAAAAAAAAAAAAAAAAAAA"] {
            assert_eq!(
                check_get(
                    q(&format!("EIO=4&transport=polling&room=r&sid={bad}")),
                    false,
                    None
                ),
                Err(Error::UnknownSid),
                "{bad}"
            );
        }
    }

    #[test]
    fn resume_token_is_optional_but_checked() {
        let ok = check_get(
            q("EIO=4&transport=websocket&room=r&resume=abcdefghijklmnop"),
            true,
            None,
        );
        assert_eq!(
            ok.map(|a| a.resume),
            Ok(Some("abcdefghijklmnop".to_string()))
        );
        for bad in ["short", "has space here 123", "x%2Fyyyyyyyyyyyyyyyy", ""] {
            let query = format!("EIO=4&transport=websocket&room=r&resume={bad}");
            assert_eq!(
                check_get(q(&query), true, None),
                Err(Error::BadRequest),
                "{bad:?}"
            );
        }
        let long = "a".repeat(65);
        let query = format!("EIO=4&transport=websocket&room=r&resume={long}");
        assert_eq!(check_get(q(&query), true, None), Err(Error::BadRequest));
    }

    #[test]
    fn default_room_only_when_absent() {
        assert_eq!(
            check_get(q("EIO=4&transport=websocket"), true, Some("conformance")).map(|a| a.room),
            Ok("conformance".to_string())
        );
        assert_eq!(
            check_get(
                q("EIO=4&transport=websocket&room=x y"),
                true,
                Some("conformance")
            ),
            Err(Error::BadRequest)
        );
    }

    #[test]
    fn error_bodies_are_the_reference_strings() {
        assert_eq!(
            Error::TransportUnknown.body(),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
        assert_eq!(
            Error::UnsupportedProtocolVersion.body(),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        assert_eq!(
            Error::BadRequest.body(),
            r#"{"code":3,"message":"Bad request"}"#
        );
        assert_eq!(
            Error::BadHandshakeMethod.body(),
            r#"{"code":2,"message":"Bad handshake method"}"#
        );
        assert_eq!(
            Error::UnknownSid.body(),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(
            (
                Error::PayloadTooLarge.status(),
                Error::PayloadTooLarge.body()
            ),
            (413, "")
        );
    }
}
